//! A runner that answers from a table, in process: for step tests that need
//! a host's answers but no real processes. Each command line (program and
//! arguments, as [`CommandLine::argv_line`] shows them) gets the answers
//! given for it in turn, the last one again and again; every line run is
//! recorded, so that a test can say which commands a step ran. What needs
//! real processes (signals, process groups, timeouts, argv and environment
//! reaching the program) stays with the Python fake host (tests/fakes/).

use std::collections::BTreeMap;
use std::sync::Mutex;

use super::Host;
use super::runner::{CommandLine, Output, Runner, not_installed_error, timed_out_error};

/// One answer of the fake host to a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// The program ran and exited with this status and output.
    Exit(Output),
    /// The program is not installed.
    NotInstalled,
    /// The program did not end within its time limit.
    Hangs,
}

impl Answer {
    /// Exit 0 with `stdout`.
    pub fn ok(stdout: &str) -> Answer {
        Answer::Exit(Output {
            code: Some(0),
            stdout: stdout.to_string(),
            stderr: String::new(),
        })
    }

    /// Exit `code` with `stderr`.
    pub fn fails(code: i32, stderr: &str) -> Answer {
        Answer::Exit(Output {
            code: Some(code),
            stdout: String::new(),
            stderr: stderr.to_string(),
        })
    }
}

#[derive(Debug, Default)]
pub struct FakeRunner {
    answers: Mutex<BTreeMap<String, Vec<Answer>>>,
    ran: Mutex<Vec<String>>,
}

impl FakeRunner {
    pub fn new() -> FakeRunner {
        FakeRunner::default()
    }

    /// Answer `line` with `answer` (after any answers given before for it).
    pub fn answer(self, line: &str, answer: Answer) -> FakeRunner {
        self.answers
            .lock()
            .expect("not poisoned")
            .entry(line.to_string())
            .or_default()
            .push(answer);
        self
    }

    /// The command lines run so far, in order.
    pub fn ran(&self) -> Vec<String> {
        self.ran.lock().expect("not poisoned").clone()
    }
}

impl Runner for FakeRunner {
    fn run(&self, host: &Host, cmd: &CommandLine) -> anyhow::Result<Output> {
        let line = cmd.argv_line();
        self.ran.lock().expect("not poisoned").push(line.clone());
        let answer = {
            let mut answers = self.answers.lock().expect("not poisoned");
            match answers.get_mut(&line) {
                Some(queue) if queue.len() > 1 => queue.remove(0),
                Some(queue) if queue.len() == 1 => queue[0].clone(),
                _ => Answer::NotInstalled,
            }
        };
        match answer {
            Answer::Exit(out) => Ok(out),
            Answer::NotInstalled => Err(not_installed_error(cmd)),
            Answer::Hangs => {
                let limit = cmd
                    .limit()
                    .map(|l| (l.runtime.clone(), l.after.unwrap_or(host.runtime_timeout())));
                match limit {
                    Some((runtime, after)) => Err(timed_out_error(cmd, &runtime, after)),
                    None => panic!("`{line}` hangs and has no time limit: the run would hang"),
                }
            }
        }
    }
}
