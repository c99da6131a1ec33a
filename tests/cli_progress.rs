//! Work shown while it happens, on a fake host whose `apt-get install` takes
//! a few seconds: step lines streamed to a pipe, the live line under a
//! pseudo-terminal (`script` from util-linux), one JSON document with
//! `--output json`.

#![allow(clippy::disallowed_methods, clippy::disallowed_types)] // tests build and inspect fake hosts directly

mod support;

use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use support::fake_host::*;

/// Long enough that what is shown before it ends is seen while it runs.
const INSTALL_SECONDS: &str = "8";
const INSTALL: (&str, &str) = ("FAKE_APT_INSTALL_SECONDS", INSTALL_SECONDS);

/// Everything a stream carries so far, read as it comes.
struct Stream {
    chunks: Receiver<Vec<u8>>,
    text: String,
}

impl Stream {
    fn new(mut from: impl Read + Send + 'static) -> Stream {
        let (send, chunks) = channel();
        std::thread::spawn(move || {
            let mut buf = [0; 4096];
            while let Ok(n) = from.read(&mut buf) {
                if n == 0 || send.send(buf[..n].to_vec()).is_err() {
                    break;
                }
            }
        });
        Stream {
            chunks,
            text: String::new(),
        }
    }

    /// Read until the text so far holds every one of `wanted`; panic past
    /// the deadline with what was seen.
    fn wait_for(&mut self, wanted: &[&str], deadline: Instant) -> &str {
        while !wanted.iter().all(|w| self.text.contains(w)) {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.chunks.recv_timeout(left) {
                Ok(chunk) => self.text.push_str(&String::from_utf8_lossy(&chunk)),
                Err(_) => panic!("never saw {wanted:?}; got {:?}", self.text),
            }
        }
        &self.text
    }

    fn rest(mut self) -> String {
        while let Ok(chunk) = self.chunks.recv_timeout(Duration::from_secs(30)) {
            self.text.push_str(&String::from_utf8_lossy(&chunk));
        }
        self.text
    }
}

/// The text with its colors and cursor moves taken out.
fn plain(screen: &str) -> String {
    let mut out = String::new();
    let mut chars = screen.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            chars.by_ref().find(|c| c.is_ascii_alphabetic());
        } else {
            out.push(c);
        }
    }
    out
}

fn still_running(child: &mut Child, what: &str) {
    assert!(
        child.try_wait().unwrap().is_none(),
        "{what}: the tool already exited"
    );
}

fn piped(host: &FakeHost, args: &[&str]) -> (Child, Stream, Stream) {
    let mut child = host
        .command(args, &[INSTALL])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = Stream::new(child.stdout.take().unwrap());
    let stderr = Stream::new(child.stderr.take().unwrap());
    (child, stdout, stderr)
}

#[test]
fn in_a_pipe_finished_steps_and_the_long_command_are_shown_before_the_install_ends() {
    let host = FakeHost::new(DEBIAN_12);
    let (mut child, mut stdout, mut stderr) = piped(&host, &["setup", "lxd"]);
    let deadline = Instant::now() + Duration::from_secs(30);
    let early = stdout
        .wait_for(&["manager-config", "host-lock", "forwarding"], deadline)
        .to_string();
    still_running(&mut child, "the steps before packages");
    assert!(!early.contains("packages"), "{early}");
    assert!(
        early.starts_with("unchanged    manager-config      built-in defaults"),
        "{early}"
    );
    // After LONG_COMMAND (3 s) of an 8 s install: one plain line, not a live one.
    let log = stderr
        .wait_for(&["container-init: packages: waiting for `"], deadline)
        .to_string();
    still_running(&mut child, "the line about apt-get");
    assert!(
        log.contains("waiting for `DEBIAN_FRONTEND=noninteractive apt-get install -y"),
        "{log}"
    );
    assert!(!log.contains('\x1b') && !log.contains('\r'), "{log:?}");

    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
    let all = stdout.rest();
    // Each step once, in order: nothing printed again at exit.
    let names: Vec<&str> = all
        .lines()
        .map(|l| l.split_whitespace().nth(1).unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "manager-config",
            "host-lock",
            "forwarding",
            "packages",
            "dns-dhcp-ports",
            "lxd-daemon",
            "lxd-network",
            "lxd-storage",
            "lxd-profile",
            "nat-forwarding",
            "coexistence",
            "readiness"
        ],
        "{all}"
    );
    let log = stderr.rest();
    assert_eq!(log.matches("waiting for").count(), 1, "{log}");
    // The live line asks apt for its progress; a pipe does not.
    let commands = std::fs::read_to_string(host.state.path().join("log")).unwrap();
    assert!(commands.contains("apt-get install"), "{commands}");
    assert!(!commands.contains("Status-Fd"), "{commands}");
}

#[test]
fn quiet_says_nothing_about_long_commands() {
    let host = FakeHost::new(DEBIAN_12);
    let (mut child, stdout, stderr) = piped(&host, &["-q", "setup", "lxd"]);
    assert_eq!(child.wait().unwrap().code(), Some(0));
    assert_eq!(stderr.rest(), "");
    assert!(stdout.rest().contains("changed      packages"));
}

#[test]
fn json_output_stays_one_document_and_long_commands_go_to_stderr() {
    let host = FakeHost::new(DEBIAN_12);
    let (mut child, stdout, mut stderr) = piped(&host, &["--output", "json", "setup", "lxd"]);
    let deadline = Instant::now() + Duration::from_secs(30);
    stderr.wait_for(&["container-init: packages: waiting for `"], deadline);
    still_running(&mut child, "the line about apt-get");
    assert_eq!(child.wait().unwrap().code(), Some(0));
    let out = stdout.rest();
    let doc: serde_json::Value =
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("not one JSON document ({e}): {out}"));
    assert_eq!(doc["steps"][3]["name"], "packages");
    assert_eq!(doc["steps"][3]["status"], "changed");
}

/// The tool under a pseudo-terminal 200 columns wide, through `script`;
/// its pid is written to `pid` (the shell execs it).
fn under_a_terminal(host: &FakeHost, args: &[&str], pid: &std::path::Path) -> (Child, Stream) {
    under_a_terminal_with(host, args, pid, &[])
}

fn under_a_terminal_with(
    host: &FakeHost,
    args: &[&str],
    pid: &std::path::Path,
    env: &[(&str, &str)],
) -> (Child, Stream) {
    let mut env = env.to_vec();
    env.push(INSTALL);
    let tool = host.command(args, &env);
    let words: Vec<String> = std::iter::once(tool.get_program())
        .chain(tool.get_args())
        .map(|w| format!("'{}'", w.to_str().unwrap()))
        .collect();
    let line = format!(
        "/bin/stty cols 200 rows 40; echo $$ > '{}'; exec {}",
        pid.display(),
        words.join(" ")
    );
    let mut script = Command::new("/usr/bin/script");
    script
        .args(["-qfec", &line, "/dev/null"])
        .env("TERM", "xterm")
        .env("SHELL", "/bin/sh");
    for (k, v) in tool.get_envs() {
        match v {
            Some(v) => script.env(k, v),
            None => script.env_remove(k),
        };
    }
    let mut child = script
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let screen = Stream::new(child.stdout.take().unwrap());
    (child, screen)
}

#[test]
fn on_a_terminal_the_running_step_its_command_and_apt_progress_are_live() {
    let host = FakeHost::new(DEBIAN_12);
    let pid = host.state.path().join("pid");
    let (mut child, mut screen) = under_a_terminal(&host, &["setup", "lxd"], &pid);
    let deadline = Instant::now() + Duration::from_secs(30);
    screen.wait_for(
        &[
            "packages",
            "apt-get install lxd dnsmasq-base nftables",
            "% Unpacking lxd (amd64)",
        ],
        deadline,
    );
    still_running(&mut child, "the live line");
    let seen = plain(screen.wait_for(&[], deadline));
    assert!(!seen.contains("changed      packages"), "{seen:?}");
    assert_eq!(child.wait().unwrap().code(), Some(0));
    let screen = screen.rest();
    // The live line is cleared when the step ends, and the step's own line
    // takes its place.
    let packages_ended = screen.find("changed     \x1b[0m packages").unwrap();
    let last_clear = screen[..packages_ended].rfind("\x1b[2K").unwrap();
    assert!(
        plain(&screen[last_clear..]).starts_with("changed      packages"),
        "{screen:?}"
    );
    // After the last step, nothing live is left.
    let last_clear = screen.rfind("\x1b[2K").unwrap();
    assert!(
        plain(&screen[last_clear..]).starts_with("unchanged    readiness"),
        "{screen:?}"
    );
    // No plain "waiting for" line where a live one is shown.
    assert!(!screen.contains("waiting for"), "{screen:?}");
}

#[test]
fn ctrl_c_during_the_live_line_leaves_the_line_cleared_and_reports_the_interruption() {
    let host = FakeHost::new(DEBIAN_12);
    let pid = host.state.path().join("pid");
    let (mut child, mut screen) = under_a_terminal(&host, &["setup", "lxd"], &pid);
    let deadline = Instant::now() + Duration::from_secs(30);
    screen.wait_for(&["% Unpacking lxd (amd64)"], deadline);
    let tool = std::fs::read_to_string(&pid).unwrap();
    let killed = Command::new("kill").args(["-INT", tool.trim()]).status().unwrap();
    assert!(killed.success());
    assert_eq!(child.wait().unwrap().code(), Some(130));
    let screen = screen.rest();
    // The live line is cleared (erase-line); the failed step and the error
    // follow on lines of their own.
    let last_clear = screen.rfind("\x1b[2K").unwrap_or_else(|| panic!("{screen:?}"));
    assert_eq!(
        plain(&screen[last_clear..]),
        "failed       packages            interrupted by SIGINT; run again to finish\r\n\
         error: interrupted by SIGINT; run again to finish\r\n",
        "{screen:?}"
    );
}

#[test]
fn no_color_on_a_terminal_gets_plain_lines_only() {
    let host = FakeHost::new(DEBIAN_12);
    let pid = host.state.path().join("pid");
    let (mut child, screen) = under_a_terminal(&host, &["--no-color", "setup", "lxd"], &pid);
    assert_eq!(child.wait().unwrap().code(), Some(0));
    let screen = screen.rest();
    assert!(!screen.contains('\x1b'), "{screen:?}");
    assert!(
        screen.contains("container-init: packages: waiting for `"),
        "{screen:?}"
    );
    assert!(screen.contains("changed      packages"), "{screen:?}");
}

#[test]
fn a_dumb_terminal_gets_no_live_line() {
    let host = FakeHost::new(DEBIAN_12);
    let pid = host.state.path().join("pid");
    let (mut child, screen) = under_a_terminal_with(&host, &["setup", "lxd"], &pid, &[("TERM", "dumb")]);
    assert_eq!(child.wait().unwrap().code(), Some(0));
    let screen = plain(&screen.rest());
    assert!(!screen.contains("Unpacking"), "{screen:?}");
    assert!(
        screen.contains("container-init: packages: waiting for `"),
        "{screen:?}"
    );
}
