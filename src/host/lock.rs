//! The host-wide lock: one container-init at a time changes a host.

use std::fs::{File, OpenOptions};
use std::time::{Duration, Instant};

use fd_lock::RwLock;

use super::Host;
use crate::exit::{Exit, coded};
use crate::host::write_error;

pub const LOCK_PATH: &str = "/run/lock/container-init.lock";

/// How often a held lock is tried again.
const POLL: Duration = Duration::from_millis(100);

pub struct HostLock {
    lock: RwLock<File>,
    shown: String,
}

/// The lock, held for as long as this lives (for `setup`, until exit).
pub struct HeldLock {
    _lock: RwLock<File>,
    /// How long another holder kept us waiting; `None` when it was free.
    pub waited: Option<Duration>,
}

impl HostLock {
    pub fn open(host: &Host) -> anyhow::Result<HostLock> {
        let path = host.path(LOCK_PATH);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| write_error(dir, e))?;
        }
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| write_error(&path, e))?;
        Ok(HostLock {
            lock: RwLock::new(file),
            shown: path.display().to_string(),
        })
    }

    /// Take the lock, waiting up to `timeout` for whoever holds it (75 then).
    /// It is held until the [`HeldLock`] is dropped, or the process exits.
    pub fn acquire(mut self, timeout: Duration) -> anyhow::Result<HeldLock> {
        let started = Instant::now();
        let deadline = started + timeout;
        let mut logged = false;
        // The borrow checker cannot see that a failed `try_write` releases its
        // borrow, so the loop asks first and takes the guard once it is free.
        loop {
            match self.lock.try_write() {
                Ok(_) => break,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(coded(Exit::Os, format!("cannot lock {}: {e}", self.shown))),
            }
            if Instant::now() >= deadline {
                return Err(coded(
                    Exit::TempFail,
                    format!(
                        "another container-init holds {} after {}s; wait for it to finish, or raise --lock-timeout",
                        self.shown,
                        timeout.as_secs()
                    ),
                ));
            }
            if !logged {
                log::warn!("waiting for {}, held by another container-init", self.shown);
                logged = true;
            }
            crate::signals::sleep(POLL)?;
        }
        let guard = self
            .lock
            .try_write()
            .map_err(|e| coded(Exit::TempFail, format!("cannot lock {}: {e}", self.shown)))?;
        // flock(2) belongs to the open file: dropping the guard would unlock,
        // closing the file (when HeldLock drops) unlocks just the same.
        std::mem::forget(guard);
        Ok(HeldLock {
            _lock: self.lock,
            waited: logged.then(|| started.elapsed()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exit::exit_for;
    use crate::host::Mode;

    #[test]
    fn a_second_holder_times_out_with_75_then_gets_it() {
        let dir = tempfile::tempdir().unwrap();
        let host = Host::new(dir.path(), Mode::Apply);
        let held = HostLock::open(&host).unwrap().acquire(Duration::ZERO).unwrap();

        let started = Instant::now();
        let second = HostLock::open(&host).unwrap();
        let err = second
            .acquire(Duration::from_millis(300))
            .map(|_| ())
            .unwrap_err();
        assert!(started.elapsed() >= Duration::from_millis(300));
        assert_eq!(exit_for(&err), Exit::TempFail);
        assert!(err.to_string().contains("--lock-timeout"), "{err}");

        drop(held);
        assert!(HostLock::open(&host).unwrap().acquire(Duration::ZERO).is_ok());
    }

    #[test]
    fn waits_for_a_holder_in_another_process() {
        let dir = tempfile::tempdir().unwrap();
        let host = Host::new(dir.path(), Mode::Apply);
        let path = host.path(LOCK_PATH);
        // The lock file's directory must exist before flock(1) opens it, or
        // flock fails at once and the loop below would wait for it forever.
        drop(HostLock::open(&host).unwrap());
        // util-linux flock(1) holds the same lock for half a second.
        let mut holder = std::process::Command::new("flock")
            .arg(&path)
            .args(["sleep", "0.5"])
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while HostLock::open(&host).unwrap().acquire(Duration::ZERO).is_ok() {
            // flock(1) has not taken it yet; give it back and look again.
            assert!(
                holder.try_wait().unwrap().is_none() && Instant::now() < deadline,
                "flock(1) never took the lock"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        let started = Instant::now();
        let _held = HostLock::open(&host)
            .unwrap()
            .acquire(Duration::from_secs(10))
            .unwrap();
        assert!(started.elapsed() >= Duration::from_millis(100));
        assert!(_held.waited.is_some_and(|w| w >= Duration::from_millis(100)));
        holder.wait().unwrap();
    }
}
