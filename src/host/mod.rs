//! The host as the program sees it. Every step reads and changes the machine
//! through a [`Host`]: paths resolved under `--root`, one command runner, atomic
//! file writes, the host lock. Nothing else touches the file system or spawns a
//! process, so `--root`, `--dry-run` and `--check` hold everywhere at once.

#![expect(
    clippy::disallowed_methods,
    reason = "host/ is the one place that touches the file system and starts processes"
)]

mod files;
mod input;
mod lock;
pub mod os_release;
mod root;
mod runner;
mod watch;

use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

pub use files::{FileChange, write_error};
pub use input::{read_named, read_named_text};
pub use lock::{HeldLock, HostLock, LOCK_PATH, deadline_after};
pub use runner::{CommandLine, Output, RUNTIME_PATH, Ran, TimeLimit, command_failed, is_not_installed};
pub use watch::CommandWatcher;

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
}

/// The runtime timeout when none is configured.
pub const DEFAULT_RUNTIME_TIMEOUT: Duration = Duration::from_secs(120);

impl Host {
    pub fn new(root: impl Into<PathBuf>, mode: Mode) -> Host {
        Host {
            root: root.into(),
            mode,
            home: OnceLock::new(),
            runtime_timeout: DEFAULT_RUNTIME_TIMEOUT,
            watcher: watch::Watcher::default(),
        }
    }

    /// Tell `watcher` of every command as it starts and ends.
    pub fn watched_by(mut self, watcher: std::sync::Arc<dyn CommandWatcher>) -> Host {
        self.watcher = watch::Watcher(Some(watcher));
        self
    }

    /// Tell whoever watches `other`'s commands of this one's too.
    pub fn watched_like(mut self, other: &Host) -> Host {
        self.watcher = other.watcher.clone();
        self
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
        // SAFETY: geteuid(2) cannot fail and touches no memory.
        self.root != Path::new("/") || unsafe { libc::geteuid() } == 0
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
    /// outside it. With no `--root` the kernel resolves paths as it always does.
    pub fn path(&self, absolute: &str) -> PathBuf {
        debug_assert!(absolute.starts_with('/'), "{absolute} is not absolute");
        if self.root == Path::new("/") {
            return PathBuf::from(absolute);
        }
        root::resolve_in_root(&self.root, absolute)
    }

    /// A file's content, or `None` when it does not exist.
    pub fn read_optional(&self, absolute: &str) -> anyhow::Result<Option<Vec<u8>>> {
        let path = self.path(absolute);
        match std::fs::read(&path) {
            Ok(bytes) => Ok(Some(bytes)),
            // A path through a non-directory cannot exist either.
            Err(e) if matches!(e.kind(), ErrorKind::NotFound | ErrorKind::NotADirectory) => Ok(None),
            Err(e) => {
                let exit = if e.kind() == ErrorKind::PermissionDenied {
                    Exit::NoPerm
                } else {
                    Exit::Os
                };
                Err(coded(
                    exit,
                    format!(
                        "cannot read {}: {e}; run as root, or check the file",
                        path.display()
                    ),
                ))
            }
        }
    }

    /// The names in a directory, sorted; none when it does not exist.
    pub fn list_dir(&self, absolute: &str) -> anyhow::Result<Vec<String>> {
        let path = self.path(absolute);
        let entries = match std::fs::read_dir(&path) {
            Ok(entries) => entries,
            Err(e) if matches!(e.kind(), ErrorKind::NotFound | ErrorKind::NotADirectory) => {
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
        self.path(absolute).exists()
    }

    /// Whether something accepts connections on the Unix socket at
    /// `absolute`: how a daemon is known to be up, rather than by its pid.
    pub fn socket_answers(&self, absolute: &str) -> bool {
        std::os::unix::net::UnixStream::connect(self.path(absolute)).is_ok()
    }

    /// The names in a directory; none when it cannot be read.
    pub fn entries(&self, absolute: &str) -> Vec<String> {
        std::fs::read_dir(self.path(absolute))
            .map(|dir| {
                dir.filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl Host {
    /// Free bytes for an unprivileged user on the file system holding
    /// `absolute` (or its nearest existing parent).
    pub fn free_bytes(&self, absolute: &str) -> Option<u64> {
        let mut p = self.path(absolute);
        while !p.exists() {
            p = p.parent()?.to_path_buf();
        }
        let c = std::ffi::CString::new(p.as_os_str().as_encoded_bytes()).ok()?;
        let mut st = std::mem::MaybeUninit::<libc::statvfs>::uninit();
        // SAFETY: `c` is a valid C string and `st` is written by statvfs on success.
        let rc = unsafe { libc::statvfs(c.as_ptr(), st.as_mut_ptr()) };
        if rc != 0 {
            return None;
        }
        // SAFETY: statvfs returned 0, so `st` is initialised.
        let st = unsafe { st.assume_init() };
        // The field types are narrower on 32-bit targets.
        #[allow(clippy::unnecessary_cast)]
        Some(st.f_bavail as u64 * st.f_frsize as u64)
    }
}
