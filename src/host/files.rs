//! Atomic file writes that skip identical content, and the kernel's
//! `/proc/sys` knobs, which are written in place because they are not files.
//!
//! A write leaves nothing behind even when the process is killed: the new
//! content goes into an unnamed file (`O_TMPFILE`) in the target's directory,
//! which vanishes with a kill; it gets a name only for the rename that puts
//! it in place. Where a file system has no `O_TMPFILE`, the temporary file is
//! named from the start. Either way, a name that a killed run left behind
//! (`.<file>.container-init-<pid>.tmp`) is removed by the next write there.

use std::ffi::OsStr;
use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};

use super::{Host, Mode};
use crate::exit::{Exit, coded};

/// What a write did, or would do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileChange {
    Unchanged,
    /// Written (or, in a dry run, would be written); the unified diff.
    Changed {
        diff: String,
    },
}

impl FileChange {
    pub fn is_change(&self) -> bool {
        matches!(self, FileChange::Changed { .. })
    }

    /// The diff to show in a dry run's plan; nothing when applying.
    pub fn plan(&self, host: &Host) -> Vec<String> {
        match self {
            FileChange::Changed { diff } if !host.applies() => vec![diff.clone()],
            _ => Vec::new(),
        }
    }
}

impl Host {
    /// Make `absolute` hold exactly `content` with `mode`, atomically: readers
    /// see the old file or the new one, never a mix, and a failed write leaves
    /// the old file intact. Identical content (and mode) is not rewritten.
    pub fn write_file(&self, absolute: &str, content: &[u8], mode: u32) -> anyhow::Result<FileChange> {
        self.write_file_owned(absolute, content, mode, None)
    }

    /// [`Host::write_file`], with the file given to `owner` (uid, gid) rather
    /// than kept with its current owner: a copy that stands for another file
    /// (lxc-net's `.orig`) has that file's owner, as `cp -p` gives it.
    pub fn write_file_owned(
        &self,
        absolute: &str,
        content: &[u8],
        mode: u32,
        owner: Option<(u32, u32)>,
    ) -> anyhow::Result<FileChange> {
        let path = self.writable_path(absolute)?;
        let old = self.read_optional(absolute)?;
        let old_meta = fs::metadata(&path).ok();
        let old_mode = old_meta.as_ref().map(|m| m.mode() & 0o7777);
        let old_owner = old_meta.as_ref().map(|m| (m.uid(), m.gid()));
        if old.as_deref() == Some(content)
            && old_mode == Some(mode)
            && owner.is_none_or(|o| old_owner == Some(o))
        {
            return Ok(FileChange::Unchanged);
        }
        let diff = unified_diff(
            absolute,
            old.as_deref().unwrap_or_default(),
            content,
            old.is_none(),
        );
        if self.mode != Mode::Apply {
            return Ok(FileChange::Changed { diff });
        }
        log::info!("writing {}", path.display());
        self.forget_prefetched();
        write_atomically(&path, content, mode, owner).map_err(|e| write_error(&path, e))?;
        Ok(FileChange::Changed { diff })
    }

    /// A file's permission bits, or `None` when it does not exist.
    pub fn file_mode(&self, absolute: &str) -> Option<u32> {
        fs::metadata(self.path(absolute).ok()?)
            .ok()
            .map(|m| m.mode() & 0o7777)
    }

    /// A file's owner and group, or `None` when it does not exist.
    pub fn file_owner(&self, absolute: &str) -> Option<(u32, u32)> {
        self.path(absolute)
            .and_then(fs::metadata)
            .ok()
            .map(|m| (m.uid(), m.gid()))
    }

    /// Remove a symbolic link itself (never its target), dangling or not; no
    /// link there is no change.
    pub fn remove_symlink(&self, absolute: &str) -> anyhow::Result<FileChange> {
        // The directory is resolved under the root; the link itself is not
        // followed.
        let (dir, name) = absolute.rsplit_once('/').unwrap_or(("", absolute));
        let path = self
            .writable_path(if dir.is_empty() { "/" } else { dir })?
            .join(name);
        let Ok(target) = fs::read_link(&path) else {
            return Ok(FileChange::Unchanged);
        };
        let diff = format!("remove symlink {absolute} -> {}\n", target.display());
        if self.mode == Mode::Apply {
            log::info!("removing {}", path.display());
            self.forget_prefetched();
            fs::remove_file(&path).map_err(|e| write_error(&path, e))?;
        }
        Ok(FileChange::Changed { diff })
    }

    /// Remove a file; a missing file is no change.
    pub fn remove_file(&self, absolute: &str) -> anyhow::Result<FileChange> {
        let path = self.writable_path(absolute)?;
        let Some(old) = self.read_optional(absolute)? else {
            return Ok(FileChange::Unchanged);
        };
        let diff = format!("remove {absolute}\n{}", unified_diff(absolute, &old, b"", false));
        if self.mode == Mode::Apply {
            log::info!("removing {}", path.display());
            self.forget_prefetched();
            fs::remove_file(&path).map_err(|e| write_error(&path, e))?;
        }
        Ok(FileChange::Changed { diff })
    }

    /// Write a kernel parameter under `/proc/sys`. Those are not files that
    /// can be replaced by a rename: the kernel takes the value on write.
    pub fn write_proc(&self, absolute: &str, value: &str) -> anyhow::Result<()> {
        let path = self.writable_path(absolute)?;
        log::info!("setting {} to {value}", path.display());
        self.forget_prefetched();
        if self.root() != Path::new("/") && !is_procfs(&path) {
            // Under --root, a plain file stands for the knob: replace it whole,
            // so that a kill cannot leave it truncated.
            let mode = fs::metadata(&path).map(|m| m.mode() & 0o7777).unwrap_or(0o644);
            return write_atomically(&path, format!("{value}\n").as_bytes(), mode, None)
                .map_err(|e| write_error(&path, e));
        }
        let mut file = fs::OpenOptions::new()
            .write(true)
            .truncate(true)
            .open(&path)
            .map_err(|e| write_error(&path, e))?;
        file.write_all(format!("{value}\n").as_bytes())
            .map_err(|e| write_error(&path, e))
    }
}

impl Host {
    /// Where a write to `absolute` goes; a path that does not resolve in the
    /// root (a link loop) is an error of the write, as the kernel's ELOOP is.
    pub fn writable_path(&self, absolute: &str) -> anyhow::Result<PathBuf> {
        self.path(absolute)
            .map_err(|e| write_error(&self.shown(absolute), e))
    }
}

fn write_atomically(
    path: &Path,
    content: &[u8],
    mode: u32,
    owner: Option<(u32, u32)>,
) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("/"));
    if !dir.exists() {
        fs::create_dir_all(dir)?;
    }
    let name = path
        .file_name()
        .ok_or_else(|| std::io::Error::new(ErrorKind::InvalidInput, "the path has no file name"))?;
    sweep_leftovers(dir, name);
    // A replaced file keeps its owner; a new one belongs to whoever runs us.
    let owner = owner.or_else(|| fs::metadata(path).ok().map(|m| (m.uid(), m.gid())));
    let fill = |f: &mut File| -> std::io::Result<()> {
        if let Some((uid, gid)) = owner {
            // Only root can give a file away; anyone else keeps their own.
            let _ = std::os::unix::fs::fchown(&*f, Some(uid), Some(gid));
        }
        // After the chown, which clears the setuid and setgid bits.
        f.set_permissions(fs::Permissions::from_mode(mode))?;
        f.write_all(content)?;
        f.sync_all()
    };
    let temp = temp_path(dir, name, std::process::id());
    match OpenOptions::new()
        .write(true)
        .mode(0o600)
        .custom_flags(libc::O_TMPFILE)
        .open(dir)
    {
        Ok(mut unnamed) => {
            fill(&mut unnamed)?;
            link_unnamed(&unnamed, &temp)?;
        }
        Err(e) if tmpfile_unsupported(&e) => {
            let mut named = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&temp)?;
            if let Err(e) = fill(&mut named) {
                let _ = fs::remove_file(&temp);
                return Err(e);
            }
        }
        Err(e) => return Err(e),
    }
    if let Err(e) = fs::rename(&temp, path) {
        let _ = fs::remove_file(&temp);
        return Err(e);
    }
    // The rename itself must survive a crash, not only the content.
    File::open(dir)?.sync_all()
}

fn tmpfile_unsupported(e: &std::io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EOPNOTSUPP | libc::EISDIR | libc::EINVAL | libc::ENOENT)
    )
}

/// `.<name>.container-init-<pid>.tmp` beside the target.
fn temp_path(dir: &Path, name: &OsStr, pid: u32) -> PathBuf {
    let mut temp = std::ffi::OsString::from(".");
    temp.push(name);
    temp.push(format!(".container-init-{pid}.tmp"));
    dir.join(temp)
}

/// Give the unnamed file a name. `AT_EMPTY_PATH` needs CAP_DAC_READ_SEARCH;
/// without it the file is linked through its `/proc/self/fd` entry.
fn link_unnamed(file: &File, to: &Path) -> std::io::Result<()> {
    use rustix::fs::{AtFlags, CWD, linkat};
    if linkat(file, c"", CWD, to, AtFlags::EMPTY_PATH).is_ok() {
        return Ok(());
    }
    let by_proc = format!("/proc/self/fd/{}", file.as_raw_fd());
    Ok(linkat(CWD, by_proc.as_str(), CWD, to, AtFlags::SYMLINK_FOLLOW)?)
}

/// Remove the temporary files of earlier writes of `name` whose process is
/// gone (killed between naming the file and renaming it).
fn sweep_leftovers(dir: &Path, name: &OsStr) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let mut prefix = b".".to_vec();
    prefix.extend_from_slice(name.as_bytes());
    prefix.extend_from_slice(b".container-init-");
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some(pid) = file_name
            .as_bytes()
            .strip_prefix(prefix.as_slice())
            .and_then(|rest| rest.strip_suffix(b".tmp"))
            .and_then(|pid| std::str::from_utf8(pid).ok())
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if pid != std::process::id() && process_alive(pid) {
            continue;
        }
        log::info!(
            "removing {}, left by an interrupted write",
            entry.path().display()
        );
        let _ = fs::remove_file(entry.path());
    }
}

fn process_alive(pid: u32) -> bool {
    let Some(pid) = i32::try_from(pid).ok().and_then(rustix::process::Pid::from_raw) else {
        return false;
    };
    // Signal 0 only asks whether the process exists; EPERM: it does, another user's.
    match rustix::process::test_kill_process(pid) {
        Ok(()) => true,
        Err(e) => e == rustix::io::Errno::PERM,
    }
}

/// Whether `path` is on procfs, where a knob is written in place.
fn is_procfs(path: &Path) -> bool {
    rustix::fs::statfs(path).is_ok_and(|info| info.f_type == rustix::fs::PROC_SUPER_MAGIC)
}

/// The contract's error for a file that could not be written: 77 when it is a
/// matter of permission, 73 otherwise. Root is refused a write (EPERM) only
/// by the file itself, immutable or append-only: no permission helps there.
pub fn write_error(path: &Path, e: std::io::Error) -> anyhow::Error {
    let shown = path.display();
    let root = rustix::process::geteuid().is_root();
    if root && e.raw_os_error() == Some(libc::EPERM) {
        return coded(
            Exit::CantCreate,
            format!(
                "cannot write {shown}: {e} (immutable?); the file or its directory may be immutable or \
                 append-only (`lsattr -d {shown}`); clear that with `chattr -i -a` if it should change"
            ),
        );
    }
    let (exit, advice) = match e.kind() {
        ErrorKind::PermissionDenied => (Exit::NoPerm, "run as root, or use --root to write elsewhere"),
        ErrorKind::ReadOnlyFilesystem => (Exit::CantCreate, "remount it read-write, or use --root"),
        ErrorKind::StorageFull => (Exit::CantCreate, "free some space and run again"),
        _ => (
            Exit::CantCreate,
            "the old file is intact; fix the cause and run again",
        ),
    };
    coded(exit, format!("cannot write {shown}: {e}; {advice}"))
}

/// The most of one file's diff a plan shows: the files the tool writes are
/// a few lines; a huge foreign file it replaces needs no full listing.
const MAX_DIFF: usize = 64 * 1024;

/// The unified diff, cut after [`MAX_DIFF`] bytes with a line saying so.
fn unified_diff(absolute: &str, old: &[u8], new: &[u8], created: bool) -> String {
    let old = String::from_utf8_lossy(old);
    let new = String::from_utf8_lossy(new);
    let from = if created {
        "/dev/null".to_string()
    } else {
        absolute.to_string()
    };
    let diff = similar::TextDiff::configure()
        // Past this, a less minimal diff: still correct, in bounded time.
        .timeout(std::time::Duration::from_secs(1))
        .diff_lines(old.as_ref(), new.as_ref());
    let full = diff.unified_diff().header(&from, absolute).to_string();
    if full.len() <= MAX_DIFF {
        return full;
    }
    let mut end = MAX_DIFF;
    while !full.is_char_boundary(end) {
        end -= 1;
    }
    let cut = full[..end].rfind('\n').map_or(0, |i| i + 1);
    let left = full[cut..].lines().count();
    format!(
        "{}... ({left} more lines of the diff of {absolute} not shown)\n",
        &full[..cut]
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exit::exit_for;

    fn host(dir: &Path, mode: Mode) -> Host {
        Host::new(dir, mode)
    }

    #[test]
    fn writes_then_skips_identical_content() {
        let dir = tempfile::tempdir().unwrap();
        let h = host(dir.path(), Mode::Apply);
        let first = h.write_file("/etc/x.conf", b"a=1\n", 0o644).unwrap();
        assert!(first.is_change());
        let meta = fs::metadata(dir.path().join("etc/x.conf")).unwrap();
        assert_eq!(meta.mode() & 0o7777, 0o644);
        let mtime = meta.modified().unwrap();
        assert_eq!(
            h.write_file("/etc/x.conf", b"a=1\n", 0o644).unwrap(),
            FileChange::Unchanged
        );
        let again = fs::metadata(dir.path().join("etc/x.conf"))
            .unwrap()
            .modified()
            .unwrap();
        assert_eq!(mtime, again);
    }

    #[test]
    fn a_wrong_mode_alone_is_a_change() {
        let dir = tempfile::tempdir().unwrap();
        let h = host(dir.path(), Mode::Apply);
        h.write_file("/x", b"a\n", 0o600).unwrap();
        assert!(h.write_file("/x", b"a\n", 0o644).unwrap().is_change());
        let meta = fs::metadata(dir.path().join("x")).unwrap();
        assert_eq!(meta.mode() & 0o7777, 0o644);
    }

    #[test]
    fn dry_run_shows_a_diff_and_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("x"), "a=1\n").unwrap();
        let h = host(dir.path(), Mode::DryRun);
        let FileChange::Changed { diff } = h.write_file("/x", b"a=2\n", 0o644).unwrap() else {
            panic!("expected a change");
        };
        assert!(diff.contains("-a=1\n+a=2\n"), "{diff}");
        assert_eq!(fs::read_to_string(dir.path().join("x")).unwrap(), "a=1\n");
    }

    #[test]
    fn an_unwritable_place_is_exit_73_and_keeps_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        // A file where the directory should be: nothing can be created below it.
        fs::write(dir.path().join("etc"), "not a directory").unwrap();
        let h = host(dir.path(), Mode::Apply);
        let err = h.write_file("/etc/x.conf", b"a\n", 0o644).unwrap_err();
        assert_eq!(exit_for(&err), Exit::CantCreate);
        assert!(err.to_string().starts_with("cannot write "), "{err}");
        assert_eq!(
            fs::read_to_string(dir.path().join("etc")).unwrap(),
            "not a directory"
        );
    }

    #[test]
    fn a_write_removes_what_a_killed_write_left_and_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let etc = dir.path().join("etc");
        fs::create_dir_all(&etc).unwrap();
        // A process that no longer exists (pid_max is below 2^22).
        let stale = temp_path(&etc, OsStr::new("x.conf"), 4_194_303);
        fs::write(&stale, "half").unwrap();
        let h = host(dir.path(), Mode::Apply);
        h.write_file("/etc/x.conf", b"a\n", 0o644).unwrap();
        let names: Vec<_> = fs::read_dir(&etc)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names, ["x.conf"]);
    }

    #[test]
    fn a_proc_file_under_root_is_replaced_whole() {
        let dir = tempfile::tempdir().unwrap();
        let knob = dir.path().join("proc/sys/net/ipv4/ip_forward");
        fs::create_dir_all(knob.parent().unwrap()).unwrap();
        fs::write(&knob, "0\n").unwrap();
        let inode = fs::metadata(&knob).unwrap().ino();
        let h = host(dir.path(), Mode::Apply);
        h.write_proc("/proc/sys/net/ipv4/ip_forward", "1").unwrap();
        assert_eq!(fs::read_to_string(&knob).unwrap(), "1\n");
        assert_ne!(fs::metadata(&knob).unwrap().ino(), inode, "written in place");
    }

    #[test]
    fn a_huge_diff_is_cut_with_a_line_that_says_so() {
        let old: String = (0..200_000).map(|i| format!("LINE{i}=\"x\"\n")).collect();
        let diff = unified_diff("/etc/default/lxc-net", old.as_bytes(), b"A=1\n", false);
        assert!(diff.len() <= MAX_DIFF + 200, "{}", diff.len());
        assert!(
            diff.ends_with("lines of the diff of /etc/default/lxc-net not shown)\n"),
            "{}",
            &diff[diff.len() - 200..]
        );
    }

    #[test]
    fn a_copy_keeps_the_owner_and_mode_it_is_given_setuid_included() {
        let dir = tempfile::tempdir().unwrap();
        let h = host(dir.path(), Mode::Apply);
        h.write_file_owned("/x.orig", b"a\n", 0o4755, Some((4242, 4343)))
            .unwrap();
        let meta = fs::metadata(dir.path().join("x.orig")).unwrap();
        assert_eq!(meta.mode() & 0o7777, 0o4755);
        if rustix::process::geteuid().is_root() {
            assert_eq!((meta.uid(), meta.gid()), (4242, 4343));
        }
        assert_eq!(
            h.write_file_owned("/x.orig", b"a\n", 0o4755, Some((meta.uid(), meta.gid())))
                .unwrap(),
            FileChange::Unchanged
        );
    }

    #[test]
    fn remove_reports_a_missing_file_as_unchanged() {
        let dir = tempfile::tempdir().unwrap();
        let h = host(dir.path(), Mode::Apply);
        assert_eq!(h.remove_file("/nope").unwrap(), FileChange::Unchanged);
        fs::write(dir.path().join("yes"), "x").unwrap();
        assert!(h.remove_file("/yes").unwrap().is_change());
        assert!(!dir.path().join("yes").exists());
    }
}
