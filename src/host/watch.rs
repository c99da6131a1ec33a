//! Who hears about the commands the runner starts and ends, so that a long
//! one can be shown while it runs. The watcher (the progress display, wired
//! by app.rs) lives outside `host/`; the runner only calls it.

use std::borrow::Cow;
use std::fmt;
use std::io::{BufRead, BufReader};
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use super::runner::CommandLine;

pub trait CommandWatcher: Send + Sync {
    fn started(&self, cmd: &CommandLine);
    /// One line of the running command's own progress report (apt's
    /// `pmstatus:`/`dlstatus:` lines), for a command that offers one.
    fn status(&self, line: &str);
    fn finished(&self, cmd: &CommandLine);
    /// Whether the watcher shows such lines: only then is the command asked
    /// for them, so that its command line is otherwise the plain one.
    fn wants_status(&self) -> bool;
}

/// The watcher a [`super::Host`] holds, if any.
#[derive(Clone, Default)]
pub struct Watcher(pub(super) Option<Arc<dyn CommandWatcher>>);

impl fmt::Debug for Watcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_some() {
            "Watcher(Some)"
        } else {
            "Watcher(None)"
        })
    }
}

/// One running command under watch: the watcher hears of its start when this
/// is made and of its end when it is dropped, whatever way the run ends.
pub(super) struct Watch<'a> {
    watcher: &'a Arc<dyn CommandWatcher>,
    cmd: &'a CommandLine,
    status: Option<StatusPipe>,
}

impl<'a> Watch<'a> {
    pub(super) fn start(watcher: &'a Watcher, cmd: &'a CommandLine) -> Option<Watch<'a>> {
        let watcher = watcher.0.as_ref()?;
        watcher.started(cmd);
        let status = match cmd.status_fd_option() {
            Some(_) if watcher.wants_status() => StatusPipe::open()
                .inspect_err(|e| log::debug!("no status pipe for `{cmd}`: {e}"))
                .ok(),
            _ => None,
        };
        Some(Watch { watcher, cmd, status })
    }

    /// The command to spawn: with its status option pointing at our pipe
    /// when there is one.
    pub(super) fn command(&self) -> Cow<'a, CommandLine> {
        match (&self.status, self.cmd.status_fd_option()) {
            (Some(pipe), Some(option)) => Cow::Owned(
                self.cmd
                    .with_leading_args(["-o".to_string(), format!("{option}={}", pipe.child_fd())]),
            ),
            _ => Cow::Borrowed(self.cmd),
        }
    }

    /// The child has started (or failed to): our copy of the pipe's writing
    /// end is closed, and its lines are read as they come.
    pub(super) fn spawned(&mut self) {
        if let Some(pipe) = &mut self.status {
            pipe.read_into(Arc::clone(self.watcher));
        }
    }
}

impl Drop for Watch<'_> {
    fn drop(&mut self) {
        if let Some(pipe) = &self.status {
            pipe.live.store(false, Ordering::SeqCst);
        }
        self.watcher.finished(self.cmd);
    }
}

/// A pipe whose writing end the child inherits under its own number: the
/// reading end is close-on-exec, the writing end is not, and is closed here
/// once the child holds it.
struct StatusPipe {
    read: Option<OwnedFd>,
    write: Option<OwnedFd>,
    child_fd: i32,
    /// Cleared when the command ends: a grandchild (a daemon started by a
    /// package's script) can keep the pipe open long after, and its lines
    /// are no longer this command's.
    live: Arc<AtomicBool>,
}

impl StatusPipe {
    fn open() -> std::io::Result<StatusPipe> {
        // The read end stays here (close-on-exec); the write end is passed
        // on to the child, so it is left inheritable.
        let (read, write) = rustix::pipe::pipe()?;
        rustix::io::fcntl_setfd(&read, rustix::io::FdFlags::CLOEXEC)?;
        let child_fd = write.as_raw_fd();
        Ok(StatusPipe {
            read: Some(read),
            write: Some(write),
            child_fd,
            live: Arc::new(AtomicBool::new(true)),
        })
    }

    fn child_fd(&self) -> i32 {
        self.child_fd
    }

    fn read_into(&mut self, watcher: Arc<dyn CommandWatcher>) {
        self.write = None;
        let Some(read) = self.read.take() else { return };
        let live = Arc::clone(&self.live);
        // Not joined: it ends at end of file, which a lingering grandchild
        // can put off until the process exits.
        let spawned = std::thread::Builder::new()
            .name("status-fd".into())
            .spawn(move || {
                for line in BufReader::new(std::fs::File::from(read)).lines() {
                    let Ok(line) = line else { break };
                    if !live.load(Ordering::SeqCst) {
                        break;
                    }
                    watcher.status(&line);
                }
            });
        if let Err(e) = spawned {
            log::debug!("cannot read a command's status: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::host::{Host, Mode};

    #[derive(Default)]
    struct Heard {
        wants_status: bool,
        events: Mutex<Vec<String>>,
    }

    impl CommandWatcher for Heard {
        fn started(&self, cmd: &CommandLine) {
            self.events.lock().unwrap().push(format!("started {cmd}"));
        }
        fn status(&self, line: &str) {
            self.events.lock().unwrap().push(format!("status {line}"));
        }
        fn finished(&self, cmd: &CommandLine) {
            self.events.lock().unwrap().push(format!("finished {cmd}"));
        }
        fn wants_status(&self) -> bool {
            self.wants_status
        }
    }

    /// A stand-in for apt-get: its status goes to the descriptor that
    /// `-o APT::Status-Fd=N` names (through /proc: dash redirects only 0-9),
    /// and it prints the arguments it got.
    fn fake_apt(dir: &std::path::Path) -> CommandLine {
        let path = dir.join("apt-get");
        std::fs::write(
            &path,
            "#!/bin/sh\nif [ \"$1\" = -o ]; then fd=${2#*=}; echo pmstatus:lxd:50:Unpacking lxd >/proc/self/fd/$fd; \
             sleep 0.3; fi\necho \"$@\"\n",
        )
        .unwrap();
        std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        CommandLine::new(path.to_str().unwrap())
            .args(["install", "lxd"])
            .status_fd("APT::Status-Fd")
    }

    #[test]
    fn the_watcher_hears_start_status_and_end_when_it_shows_status() {
        let dir = tempfile::tempdir().unwrap();
        let cmd = fake_apt(dir.path());
        let heard = Arc::new(Heard {
            wants_status: true,
            ..Heard::default()
        });
        let host = Host::new("/", Mode::Apply).watched_by(heard.clone());
        let out = host.query(&cmd).unwrap();
        assert!(out.stdout.starts_with("-o APT::Status-Fd="), "{}", out.stdout);
        assert_eq!(
            *heard.events.lock().unwrap(),
            [
                format!("started {cmd}"),
                "status pmstatus:lxd:50:Unpacking lxd".to_string(),
                format!("finished {cmd}"),
            ]
        );
    }

    #[test]
    fn without_a_watcher_that_shows_status_the_command_line_is_the_plain_one() {
        let dir = tempfile::tempdir().unwrap();
        let cmd = fake_apt(dir.path());
        let heard = Arc::new(Heard::default());
        let host = Host::new("/", Mode::Apply).watched_by(heard.clone());
        assert_eq!(host.query(&cmd).unwrap().stdout, "install lxd\n");
        assert_eq!(
            *heard.events.lock().unwrap(),
            [format!("started {cmd}"), format!("finished {cmd}")]
        );
        let unwatched = Host::new("/", Mode::Apply);
        assert_eq!(unwatched.query(&cmd).unwrap().stdout, "install lxd\n");
    }

    #[test]
    fn a_failed_start_still_ends_the_watch() {
        let heard = Arc::new(Heard::default());
        let host = Host::new("/", Mode::Apply).watched_by(heard.clone());
        let cmd = CommandLine::new("no-such-program-here").status_fd("APT::Status-Fd");
        assert!(host.query(&cmd).is_err());
        assert_eq!(
            *heard.events.lock().unwrap(),
            [format!("started {cmd}"), format!("finished {cmd}")]
        );
    }
}
