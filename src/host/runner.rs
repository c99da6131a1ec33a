//! The one way this program runs another: argv only, never a shell, through
//! `duct`. A failure names the whole command line and the end of its stderr;
//! in a dry run a command that would change the host is shown, not run.

use std::fmt;

use std::time::Duration;

use super::Host;
use crate::exit::{Exit, coded};
use crate::signals;

/// How often a running child is looked at.
const POLL: Duration = Duration::from_millis(2);

/// How much of a failed command's stderr an error carries.
const STDERR_TAIL_LINES: usize = 8;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandLine {
    program: String,
    args: Vec<String>,
    env: Vec<(String, String)>,
}

impl CommandLine {
    pub fn new(program: &str) -> CommandLine {
        CommandLine {
            program: program.to_string(),
            args: Vec::new(),
            env: Vec::new(),
        }
    }

    pub fn arg(mut self, arg: impl Into<String>) -> CommandLine {
        self.args.push(arg.into());
        self
    }

    pub fn args<I, S>(mut self, args: I) -> CommandLine
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    pub fn env(mut self, key: &str, value: &str) -> CommandLine {
        self.env.push((key.to_string(), value.to_string()));
        self
    }

    pub fn program(&self) -> &str {
        &self.program
    }

    fn expression(&self) -> duct::Expression {
        // Every tool speaks untranslated C: its output is parsed, and its
        // messages are matched (apt's lock errors); a caller's locale must not
        // change what they say.
        let mut expr = duct::cmd(&self.program, &self.args).env("LC_ALL", "C");
        for (k, v) in &self.env {
            expr = expr.env(k, v);
        }
        expr.stdin_null()
            .stdout_capture()
            .stderr_capture()
            .unchecked()
            // Its own process group, so that a signal we pass on reaches the
            // child's children too (dpkg under apt, a shell's sleep), and none
            // is left holding the output pipes.
            .before_spawn(|cmd| {
                std::os::unix::process::CommandExt::process_group(cmd, 0);
                Ok(())
            })
    }
}

impl fmt::Display for CommandLine {
    /// Shell-quoted, so that a user can paste it; it is never given to a shell.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let words = self
            .env
            .iter()
            .map(|(k, v)| format!("{k}={}", quote(v)))
            .chain(std::iter::once(quote(&self.program)))
            .chain(self.args.iter().map(|a| quote(a)));
        f.write_str(&words.collect::<Vec<_>>().join(" "))
    }
}

fn quote(word: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c);
    if !word.is_empty() && word.chars().all(plain) {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Output {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }

    /// The last lines of stderr (or of stdout when stderr is empty).
    pub fn tail(&self) -> String {
        let text = if self.stderr.trim().is_empty() {
            &self.stdout
        } else {
            &self.stderr
        };
        let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
        let start = lines.len().saturating_sub(STDERR_TAIL_LINES);
        lines[start..].join(" | ")
    }
}

/// A command that changes the host: run, or only planned in a dry run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ran {
    Done(Output),
    Planned(String),
}

impl Host {
    /// Run a command that changes the host. In a dry run it is not run: the
    /// command line comes back for the plan.
    pub fn run(&self, cmd: &CommandLine) -> anyhow::Result<Ran> {
        if !self.applies() {
            return Ok(Ran::Planned(format!("run: {cmd}")));
        }
        let out = self.query_status(cmd)?;
        if out.success() {
            Ok(Ran::Done(out))
        } else {
            Err(command_failed(cmd, &out))
        }
    }

    /// Run commands that change the host, in order, stopping at the first
    /// failure; in a dry run, their command lines for the plan.
    pub fn run_all(&self, cmds: &[CommandLine]) -> anyhow::Result<Vec<String>> {
        let mut plan = Vec::new();
        for cmd in cmds {
            if let Ran::Planned(line) = self.run(cmd)? {
                plan.push(line);
            }
        }
        Ok(plan)
    }

    /// Run a read-only command, also in a dry run; non-zero exit is an error.
    pub fn query(&self, cmd: &CommandLine) -> anyhow::Result<Output> {
        let out = self.query_status(cmd)?;
        if out.success() {
            Ok(out)
        } else {
            Err(command_failed(cmd, &out))
        }
    }

    /// Run a read-only command and hand back whatever it said and its status.
    pub fn query_status(&self, cmd: &CommandLine) -> anyhow::Result<Output> {
        log::debug!("running {cmd}");
        let cannot_run = |e: std::io::Error| {
            let advice = if e.kind() == std::io::ErrorKind::NotFound {
                format!("{} is not installed or not on PATH", cmd.program)
            } else {
                e.to_string()
            };
            coded(Exit::Os, format!("cannot run `{cmd}`: {advice}"))
        };
        let handle = cmd.expression().start().map_err(cannot_run)?;
        // Poll rather than block, so that a SIGINT or SIGTERM we caught is
        // passed on to the child, and we still wait for it to finish.
        let mut forwarded = false;
        let out = loop {
            if let Some(out) = handle.try_wait().map_err(cannot_run)? {
                break out.clone();
            }
            if let (Some(signal), false) = (signals::received(), forwarded) {
                log::warn!("passing signal {signal} on to `{cmd}` and waiting for it");
                for pid in handle.pids() {
                    signals::forward_to_group(pid, signal);
                }
                forwarded = true;
            }
            std::thread::sleep(POLL);
        };
        let out = Output {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        };
        log::debug!("`{cmd}` exited {:?}", out.code);
        signals::check()?;
        Ok(out)
    }
}

pub fn command_failed(cmd: &CommandLine, out: &Output) -> anyhow::Error {
    let status = match out.code {
        Some(code) => format!("exit status {code}"),
        None => "killed by a signal".to_string(),
    };
    let tail = out.tail();
    let tail = if tail.is_empty() {
        String::new()
    } else {
        format!(": {tail}")
    };
    coded(Exit::Os, format!("`{cmd}` failed with {status}{tail}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exit::exit_for;
    use crate::host::Mode;

    #[test]
    fn display_quotes_only_what_needs_it() {
        let cmd = CommandLine::new("lxc")
            .args(["config", "set", "x", "a b", "it's", "$(x)"])
            .env("DEBIAN_FRONTEND", "noninteractive");
        assert_eq!(
            cmd.to_string(),
            r#"DEBIAN_FRONTEND=noninteractive lxc config set x 'a b' 'it'\''s' '$(x)'"#
        );
    }

    #[test]
    fn arguments_reach_the_program_verbatim() {
        let host = Host::new("/", Mode::Apply);
        let out = host
            .query(&CommandLine::new("printf").args(["%s|", "$(id)", "a;b", "c d"]))
            .unwrap();
        assert_eq!(out.stdout, "$(id)|a;b|c d|");
    }

    #[test]
    fn commands_run_in_the_c_locale() {
        let host = Host::new("/", Mode::Apply);
        let out = host.query(&CommandLine::new("printenv").arg("LC_ALL")).unwrap();
        assert_eq!(out.stdout, "C\n");
    }

    #[test]
    fn failure_carries_command_line_and_stderr_tail() {
        let host = Host::new("/", Mode::Apply);
        let cmd = CommandLine::new("ls").arg("/definitely/not/here");
        let err = host.run(&cmd).unwrap_err();
        assert_eq!(exit_for(&err), Exit::Os);
        let msg = err.to_string();
        assert!(
            msg.starts_with("`ls /definitely/not/here` failed with exit status 2: "),
            "{msg}"
        );
        assert!(msg.contains("No such file"), "{msg}");
    }

    #[test]
    fn missing_program_is_named() {
        let host = Host::new("/", Mode::Apply);
        let err = host.query(&CommandLine::new("no-such-program-here")).unwrap_err();
        assert_eq!(exit_for(&err), Exit::Os);
        assert!(err.to_string().contains("no-such-program-here is not installed"));
    }

    #[test]
    fn dry_run_plans_instead_of_running() {
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("made");
        let host = Host::new("/", Mode::DryRun);
        let cmd = CommandLine::new("touch").arg(marker.to_str().unwrap());
        assert_eq!(host.run(&cmd).unwrap(), Ran::Planned(format!("run: {cmd}")));
        assert!(!marker.exists());
    }

    #[test]
    fn tail_keeps_the_last_lines() {
        let out = Output {
            code: Some(1),
            stdout: String::new(),
            stderr: (1..=20).map(|i| format!("line {i}\n")).collect(),
        };
        assert_eq!(
            out.tail(),
            (13..=20)
                .map(|i| format!("line {i}"))
                .collect::<Vec<_>>()
                .join(" | ")
        );
    }
}
