//! The host as the program sees it. Every step reads and changes the machine
//! through a [`Host`]: paths resolved under `--root`, one command runner, atomic
//! file writes, the host lock. Nothing else touches the file system or spawns a
//! process, so `--root`, `--dry-run` and `--check` hold everywhere at once.

// The crate denies `unsafe`; the few calls that need it live here.
#![allow(unsafe_code)]
#![expect(
    clippy::disallowed_methods,
    clippy::disallowed_types,
    reason = "host/ is the one place that touches the file system and starts processes"
)]

mod fake_runner;
mod files;
mod input;
mod lock;
pub mod os_release;
mod read;
mod root;
mod runner;
pub mod signal_handler;
mod streams;
mod watch;

use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

pub use fake_runner::{Answer, FakeRunner};
pub use files::{FileChange, write_error};
pub use input::{named_file_mode, read_named, read_named_text};
pub use lock::{HeldLock, HostLock, LOCK_PATH, deadline_after};
pub use read::limit_for;
pub use runner::{
    CommandLine, Duct, Output, RUNTIME_PATH, Ran, Runner, TimeLimit, command_failed, is_not_installed,
};
pub use streams::stdout_was_closed;
pub use watch::CommandWatcher;

use crate::config::limits::ReadError;
use crate::container_type::ContainerType;
use crate::exit::{Exit, coded};

/// Whether changes are made, or only shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Apply,
    /// `--dry-run`: show the plan, exit 0.
    DryRun,
    /// `--check`: show the plan, exit 2 when anything would change.
    Check,
}

#[derive(Debug)]
pub struct Host {
    root: PathBuf,
    mode: Mode,
    /// The HOME of runtime commands: made on first use, removed on drop.
    home: OnceLock<tempfile::TempDir>,
    /// The most a runtime command may take (`--runtime-timeout`).
    runtime_timeout: Duration,
    watcher: watch::Watcher,
    /// The type whose setup this run records changes for (`record::note`).
    recording: Option<ContainerType>,
    /// What runs commands: duct, or a table in tests.
    runner: std::sync::Arc<dyn Runner>,
    /// Answers of commands asked ahead ([`Host::prefetch`]).
    prefetched: runner::Prefetched,
}

/// `/tmp/..`, `/./` or a link to `/` as `/` itself: whether a run works on
/// the system (root needed, the fixed runtime PATH) must not hang on how
/// the root is spelt.
fn system_root_as_such(root: PathBuf) -> PathBuf {
    if root != Path::new("/") && std::fs::canonicalize(&root).is_ok_and(|c| c == Path::new("/")) {
        PathBuf::from("/")
    } else {
        root
    }
}

/// The runtime timeout when none is configured.
pub const DEFAULT_RUNTIME_TIMEOUT: Duration = Duration::from_secs(120);

impl Host {
    pub fn new(root: impl Into<PathBuf>, mode: Mode) -> Host {
        Host {
            root: system_root_as_such(root.into()),
            mode,
            home: OnceLock::new(),
            runtime_timeout: DEFAULT_RUNTIME_TIMEOUT,
            watcher: watch::Watcher::default(),
            recording: None,
            runner: std::sync::Arc::new(Duct),
            prefetched: Default::default(),
        }
    }

    /// Run commands with `runner` rather than as processes (tests).
    pub fn with_runner(mut self, runner: std::sync::Arc<dyn Runner>) -> Host {
        self.runner = runner;
        self
    }

    /// Tell `watcher` of every command as it starts and ends.
    pub fn watched_by(mut self, watcher: std::sync::Arc<dyn CommandWatcher>) -> Host {
        self.watcher = watch::Watcher(Some(watcher));
        self
    }

    /// Tell whoever watches `other`'s commands of this one's too, and run
    /// them the way `other` runs its own.
    pub fn watched_like(mut self, other: &Host) -> Host {
        self.watcher = other.watcher.clone();
        self.runner = other.runner.clone();
        self
    }

    /// Record the changes of this run in the teardown record, for `ty`.
    pub fn recording_for(mut self, ty: ContainerType) -> Host {
        self.recording = Some(ty);
        self
    }

    /// The type whose changes this run records, if any.
    pub fn recording(&self) -> Option<ContainerType> {
        self.recording
    }

    pub fn with_runtime_timeout(mut self, timeout: Duration) -> Host {
        self.runtime_timeout = timeout;
        self
    }

    pub fn runtime_timeout(&self) -> Duration {
        self.runtime_timeout
    }

    /// A private, empty directory (mode 0700, in /tmp, gone when the run
    /// ends) for runtime commands' HOME: scratch, not host state, so it is
    /// made in a dry run too and is not under `--root`.
    fn private_home(&self) -> anyhow::Result<PathBuf> {
        if let Some(dir) = self.home.get() {
            return Ok(dir.path().to_path_buf());
        }
        let dir = tempfile::Builder::new()
            .prefix("container-init-home.")
            .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o700))
            .tempdir_in("/tmp")
            .map_err(|e| {
                coded(
                    Exit::CantCreate,
                    format!("cannot make a private HOME in /tmp: {e}; make /tmp writable"),
                )
            })?;
        Ok(self.home.get_or_init(|| dir).path().to_path_buf())
    }

    /// Whether this process may prepare the system's runtimes: root on `/`.
    /// A `--root` tree (tests, a mounted image) is whoever may write it.
    pub fn privileged(&self) -> bool {
        self.root != Path::new("/") || rustix::process::geteuid().is_root()
    }

    pub fn mode(&self) -> Mode {
        self.mode
    }

    pub fn applies(&self) -> bool {
        self.mode == Mode::Apply
    }

    pub fn root_is_dir(&self) -> bool {
        self.root.is_dir()
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// An absolute host path (`/etc/...`) as seen under `--root`: resolved
    /// inside the root, symlinks included, so that nothing is read or written
    /// outside it; a link loop there is ELOOP. With no `--root` the kernel
    /// resolves paths as it always does.
    pub fn path(&self, absolute: &str) -> std::io::Result<PathBuf> {
        debug_assert!(absolute.starts_with('/'), "{absolute} is not absolute");
        if self.root == Path::new("/") {
            return Ok(PathBuf::from(absolute));
        }
        root::resolve_in_root(&self.root, absolute)
    }

    /// `absolute` under the root as a message shows it, unresolved: for an
    /// error about a path that may not resolve.
    pub fn shown(&self, absolute: &str) -> PathBuf {
        self.root.join(absolute.trim_start_matches('/'))
    }

    /// A file's content, or `None` when it does not exist. Only a regular
    /// file is read (a FIFO or a device in its place is an error, at once),
    /// and only up to the bound kept for it ([`limit_for`]).
    pub fn read_optional(&self, absolute: &str) -> anyhow::Result<Option<Vec<u8>>> {
        self.read_file(absolute)
            .map_err(|e| read::read_error(&self.shown(absolute), absolute, e))
    }

    /// [`Host::read_optional`], with the reason it could not read for the
    /// caller to word (the config file's errors are 78, not 71).
    pub fn read_file(&self, absolute: &str) -> Result<Option<Vec<u8>>, ReadError> {
        match self.path(absolute) {
            Ok(path) => read::read_regular(&path, limit_for(absolute)),
            Err(e) if read::is_absent(&e) => Ok(None),
            Err(e) => Err(ReadError::Io(e)),
        }
    }

    /// The names in a directory, sorted; none when it does not exist. What
    /// is there but is not a directory is an error.
    pub fn list_dir(&self, absolute: &str) -> anyhow::Result<Vec<String>> {
        let path = self.shown(absolute);
        let entries = match self.path(absolute).and_then(std::fs::read_dir) {
            Ok(entries) => entries,
            Err(e) if read::is_absent(&e) => {
                if let Ok(meta) = self.path(absolute).and_then(std::fs::metadata) {
                    return Err(coded(
                        Exit::Os,
                        format!(
                            "cannot list {}: it is {}, not a directory; put the directory back, \
                             or remove what is in its place",
                            path.display(),
                            read::kind_of(&meta.file_type())
                        ),
                    ));
                }
                return Ok(Vec::new());
            }
            Err(e) => {
                return Err(coded(
                    if e.kind() == ErrorKind::PermissionDenied {
                        Exit::NoPerm
                    } else {
                        Exit::Os
                    },
                    format!(
                        "cannot read {}: {e}; run as root, or check the directory",
                        path.display()
                    ),
                ));
            }
        };
        let mut names: Vec<String> = entries
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        Ok(names)
    }

    pub fn exists(&self, absolute: &str) -> bool {
        self.path(absolute).is_ok_and(|p| p.exists())
    }

    /// Whether something accepts connections on the Unix socket at
    /// `absolute`: how a daemon is known to be up, rather than by its pid.
    pub fn socket_answers(&self, absolute: &str) -> bool {
        self.path(absolute)
            .and_then(std::os::unix::net::UnixStream::connect)
            .is_ok()
    }

    /// The names in a directory; none when it cannot be read.
    pub fn entries(&self, absolute: &str) -> Vec<String> {
        self.path(absolute)
            .and_then(std::fs::read_dir)
            .map(|dir| {
                dir.filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl Host {
    /// Whether the kernel refuses an exclusive open of the block device at
    /// `absolute` (EBUSY: mounted, or held by LVM, RAID or ZFS). Read-only,
    /// non-blocking; anything else (absent, not a block device) is `false`.
    pub fn block_device_busy(&self, absolute: &str) -> bool {
        use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
        let Ok(path) = self.path(absolute) else {
            return false;
        };
        if !std::fs::metadata(&path).is_ok_and(|m| m.file_type().is_block_device()) {
            return false;
        }
        let opened = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_EXCL | libc::O_NONBLOCK | libc::O_CLOEXEC)
            .open(&path);
        matches!(opened, Err(e) if e.raw_os_error() == Some(libc::EBUSY))
    }

    /// Free bytes for an unprivileged user on the file system holding
    /// `absolute` (or its nearest existing parent).
    pub fn free_bytes(&self, absolute: &str) -> Option<u64> {
        let mut p = self.path(absolute).ok()?;
        while !p.exists() {
            p = p.parent()?.to_path_buf();
        }
        let st = rustix::fs::statvfs(&p).ok()?;
        // The field types are narrower on 32-bit targets.
        #[allow(clippy::unnecessary_cast)]
        Some(st.f_bavail as u64 * st.f_frsize as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_root_that_resolves_to_slash_is_the_system() {
        for spelling in ["/tmp/..", "/./", "//", "/usr/../"] {
            let host = Host::new(spelling, Mode::DryRun);
            assert_eq!(host.root(), Path::new("/"), "{spelling}");
            assert_eq!(host.runtime_env().unwrap()["PATH"], RUNTIME_PATH, "{spelling}");
        }
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(Host::new(dir.path(), Mode::DryRun).root(), dir.path());
    }
}
