//! Work shown while it happens. Each step's line goes to stdout as the step
//! ends; on a terminal, the running step, its command and the time it has
//! taken stay live on stderr (indicatif); elsewhere a command that runs long
//! gets one plain line on stderr, so that a log shows what is waited for.
//! The report and the runner only call in here; app.rs decides what is on.

use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

use crate::host::{CommandLine, CommandWatcher};
use crate::report::{Step, StepObserver};

/// How long a command runs before a log is told what is waited for. Most
/// commands take milliseconds; apt, snap and a daemon's start take seconds
/// to minutes, and those are the ones an operator wonders about.
pub const LONG_COMMAND: Duration = Duration::from_secs(3);

/// What to show; app.rs picks it from the options and where output goes.
#[derive(Debug, Clone, Copy, Default)]
pub struct Show {
    /// Text output: each step's line on stdout as it ends (colored or not).
    pub steps: Option<bool>,
    /// The running step live on stderr, a terminal.
    pub live: bool,
    /// One plain line on stderr for a command that runs [`LONG_COMMAND`].
    pub long_commands: bool,
}

pub struct Progress {
    show: Show,
    /// The step that runs, for the lines about its commands.
    step: Mutex<Option<String>>,
    /// The running command, as the live line shows it.
    command: Mutex<String>,
    announcer: Option<Arc<Announcer>>,
}

/// The live line, shared with the logger so that a log line is written
/// above it rather than through it.
static BAR: Mutex<Option<ProgressBar>> = Mutex::new(None);

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic elsewhere exits the process (see app.rs); the data is still good.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Run `write` with the live line out of the way, then draw it again.
pub fn above_live_line(write: impl FnOnce()) {
    match lock(&BAR).as_ref() {
        Some(bar) => bar.suspend(write),
        None => write(),
    }
}

/// Take the live line off the terminal, if there is one: before the step's
/// own line is printed, and at exit.
pub fn clear_live_line() {
    if let Some(bar) = lock(&BAR).take() {
        bar.finish_and_clear();
    }
}

/// The same from the panic hook, which must not wait: the panicking thread
/// may be the one holding the line.
pub fn clear_live_line_on_panic() {
    if let Ok(mut bar) = BAR.try_lock()
        && let Some(bar) = bar.take()
    {
        bar.finish_and_clear();
    }
}

impl Progress {
    pub fn new(show: Show) -> Progress {
        Progress {
            show,
            step: Mutex::new(None),
            command: Mutex::new(String::new()),
            announcer: show.long_commands.then(|| Arc::new(Announcer::default())),
        }
    }

    /// End the live line, whatever state the run ended in.
    pub fn finish(&self) {
        clear_live_line();
    }
}

impl StepObserver for Progress {
    fn started(&self, name: &str) {
        *lock(&self.step) = Some(name.to_string());
        if self.show.live {
            let bar = ProgressBar::new_spinner()
                .with_style(
                    ProgressStyle::with_template("{spinner} {prefix} {elapsed} {wide_msg}")
                        .expect("the template is valid"),
                )
                .with_prefix(name.to_string());
            bar.enable_steady_tick(Duration::from_millis(100));
            if let Some(old) = lock(&BAR).replace(bar) {
                old.finish_and_clear();
            }
        }
    }

    fn finished(&self, step: &Step) {
        self.finish();
        *lock(&self.step) = None;
        if let Some(color) = self.show.steps {
            // A closed stdout (`| head`) must not stop the work; the exit
            // status tells of a stdout that could not be written.
            crate::output::stdout(step.to_text(color).as_bytes());
        }
    }
}

impl CommandWatcher for Progress {
    fn started(&self, cmd: &CommandLine) {
        if let Some(bar) = lock(&BAR).as_ref() {
            let summary = summary(cmd);
            bar.reset_elapsed();
            bar.set_message(summary.clone());
            *lock(&self.command) = summary;
        }
        if let Some(announcer) = &self.announcer {
            let line = match lock(&self.step).as_deref() {
                Some(step) => format!("{step}: waiting for `{cmd}`"),
                // `check` runs commands outside any step.
                None => format!("waiting for `{cmd}`"),
            };
            announcer.started(line);
        }
    }

    fn status(&self, line: &str) {
        if let (Some(bar), Some(status)) = (lock(&BAR).as_ref(), AptStatus::parse(line)) {
            // Its progress first: a narrow terminal cuts the end of the line.
            bar.set_message(format!("{status} · {}", lock(&self.command)));
        }
    }

    fn finished(&self, _cmd: &CommandLine) {
        if let Some(bar) = lock(&BAR).as_ref() {
            bar.set_message("");
        }
        if let Some(announcer) = &self.announcer {
            announcer.finished();
        }
    }

    fn wants_status(&self) -> bool {
        self.show.live
    }
}

/// A command as the live line shows it: its program and words, without
/// the environment and the options that only say how (`-y`, `-o KEY=VALUE`).
pub fn summary(cmd: &CommandLine) -> String {
    let mut words = vec![cmd.program()];
    let mut args = cmd.arguments().iter().peekable();
    while let Some(arg) = args.next() {
        if arg == "-o" && args.peek().is_some_and(|value| value.contains('=')) {
            args.next();
        } else if arg != "-y" {
            words.push(arg);
        }
    }
    words.join(" ")
}

/// One line of apt's `APT::Status-Fd` report: `dlstatus:ITEM:PERCENT:TEXT`
/// while it downloads, `pmstatus:PACKAGE:PERCENT:TEXT` while dpkg works.
#[derive(Debug, PartialEq)]
struct AptStatus {
    percent: f32,
    text: String,
}

impl AptStatus {
    fn parse(line: &str) -> Option<AptStatus> {
        let mut fields = line.splitn(4, ':');
        let kind = fields.next()?;
        if kind != "dlstatus" && kind != "pmstatus" {
            return None;
        }
        let _item = fields.next()?;
        let percent = fields.next()?.trim().parse::<f32>().ok()?;
        let text: String = fields
            .next()?
            .trim()
            .chars()
            .filter(|c| !c.is_control())
            .collect();
        Some(AptStatus { percent, text })
    }
}

impl std::fmt::Display for AptStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:.0}% {}", self.percent, self.text)
    }
}

/// Writes the one plain line about a long command, from a thread of its
/// own that wakes when a command has run [`LONG_COMMAND`].
#[derive(Default)]
struct Announcer {
    running: Mutex<Option<Running>>,
    wake: Condvar,
    thread: OnceLock<()>,
}

struct Running {
    line: String,
    since: Instant,
    said: bool,
}

impl Announcer {
    fn started(self: &Arc<Self>, line: String) {
        *lock(&self.running) = Some(Running {
            line,
            since: Instant::now(),
            said: false,
        });
        self.wake.notify_one();
        self.thread.get_or_init(|| {
            let me = Arc::clone(self);
            // Without it a long command goes unannounced; nothing else changes.
            let _ = std::thread::Builder::new()
                .name("long-commands".into())
                .spawn(move || me.watch());
        });
    }

    fn finished(&self) {
        *lock(&self.running) = None;
    }

    fn watch(&self) {
        let mut running = lock(&self.running);
        loop {
            let wait = match running.as_mut() {
                Some(r) if !r.said => {
                    let elapsed = r.since.elapsed();
                    if elapsed >= LONG_COMMAND {
                        crate::output::stderr(&format!(
                            "container-init: {} (running for {} s)\n",
                            r.line,
                            elapsed.as_secs()
                        ));
                        r.said = true;
                        None
                    } else {
                        Some(LONG_COMMAND - elapsed)
                    }
                }
                _ => None,
            };
            running = match wait {
                Some(wait) => {
                    self.wake
                        .wait_timeout(running, wait)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0
                }
                None => self.wake.wait(running).unwrap_or_else(PoisonError::into_inner),
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_keeps_what_the_command_does() {
        let cmd = CommandLine::new("apt-get")
            .env("DEBIAN_FRONTEND", "noninteractive")
            .args(["install", "-y", "-o", "Dpkg::Options::=--force-confold"])
            .args(["lxd", "dnsmasq-base", "nftables"]);
        assert_eq!(summary(&cmd), "apt-get install lxd dnsmasq-base nftables");
        let cmd = CommandLine::new("snap").args(["install", "lxd", "--channel=5.21/stable"]);
        assert_eq!(summary(&cmd), "snap install lxd --channel=5.21/stable");
        let cmd = CommandLine::new("ip").args(["-4", "-o", "addr", "show"]);
        assert_eq!(summary(&cmd), "ip -4 -o addr show");
    }

    #[test]
    fn apt_status_lines_give_percent_and_text() {
        assert_eq!(
            AptStatus::parse("pmstatus:lxd:45.4545:Unpacking lxd (amd64)"),
            Some(AptStatus {
                percent: 45.4545,
                text: "Unpacking lxd (amd64)".into()
            })
        );
        assert_eq!(
            AptStatus::parse("dlstatus:3:12.5:Retrieving file 3 of 40")
                .unwrap()
                .to_string(),
            "12% Retrieving file 3 of 40"
        );
        assert_eq!(AptStatus::parse("pmconffile:/etc/x:/etc/x.dpkg-new:1"), None);
        assert_eq!(AptStatus::parse("pmstatus:lxd:lots:x"), None);
        assert_eq!(AptStatus::parse("pmstatus:lxd:1:\x1b[2Jx").unwrap().text, "[2Jx");
    }
}
