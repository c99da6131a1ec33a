//! Atomic file writes that skip identical content, and the kernel's
//! `/proc/sys` knobs, which are written in place because they are not files.

use std::fs::{self, File};
use std::io::{ErrorKind, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use atomicwrites::{AllowOverwrite, AtomicFile};
use similar::TextDiff;

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
        let path = self.path(absolute);
        let old = self.read_optional(absolute)?;
        let old_mode = fs::metadata(&path).ok().map(|m| m.mode() & 0o7777);
        if old.as_deref() == Some(content) && old_mode == Some(mode) {
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
        write_atomically(&path, content, mode).map_err(|e| write_error(&path, e))?;
        Ok(FileChange::Changed { diff })
    }

    /// A file's permission bits, or `None` when it does not exist.
    pub fn file_mode(&self, absolute: &str) -> Option<u32> {
        fs::metadata(self.path(absolute)).ok().map(|m| m.mode() & 0o7777)
    }

    /// Remove a file; a missing file is no change.
    pub fn remove_file(&self, absolute: &str) -> anyhow::Result<FileChange> {
        let path = self.path(absolute);
        let Some(old) = self.read_optional(absolute)? else {
            return Ok(FileChange::Unchanged);
        };
        let diff = format!("remove {absolute}\n{}", unified_diff(absolute, &old, b"", false));
        if self.mode == Mode::Apply {
            log::info!("removing {}", path.display());
            fs::remove_file(&path).map_err(|e| write_error(&path, e))?;
        }
        Ok(FileChange::Changed { diff })
    }

    /// Write a kernel parameter under `/proc/sys`. Those are not files that
    /// can be replaced by a rename: the kernel takes the value on write.
    pub fn write_proc(&self, absolute: &str, value: &str) -> anyhow::Result<()> {
        let path = self.path(absolute);
        log::info!("setting {} to {value}", path.display());
        let mut file = fs::OpenOptions::new()
            .write(true)
            .truncate(true)
            .open(&path)
            .map_err(|e| write_error(&path, e))?;
        file.write_all(format!("{value}\n").as_bytes())
            .map_err(|e| write_error(&path, e))
    }
}

fn write_atomically(path: &Path, content: &[u8], mode: u32) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("/"));
    if !dir.exists() {
        fs::create_dir_all(dir)?;
    }
    // A replaced file keeps its owner; a new one belongs to whoever runs us.
    let owner = fs::metadata(path).ok().map(|m| (m.uid(), m.gid()));
    AtomicFile::new(path, AllowOverwrite)
        .write(|f: &mut File| {
            f.set_permissions(fs::Permissions::from_mode(mode))?;
            if let Some((uid, gid)) = owner {
                // Only root can give a file away; anyone else keeps their own.
                let _ = std::os::unix::fs::fchown(&*f, Some(uid), Some(gid));
            }
            f.write_all(content)
        })
        .map_err(|e| match e {
            atomicwrites::Error::Internal(e) | atomicwrites::Error::User(e) => e,
        })
}

/// A file the operator named (`--manager-config`, `--token-file`,
/// `--ca-cert`, `--config`), read as given rather than under `--root`; `-` is
/// standard input.
pub fn read_named(path: &Path) -> std::io::Result<Vec<u8>> {
    if path == Path::new("-") {
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut bytes)?;
        return Ok(bytes);
    }
    fs::read(path)
}

/// The contract's error for a file that could not be written: 77 when it is a
/// matter of permission, 73 otherwise.
pub fn write_error(path: &Path, e: std::io::Error) -> anyhow::Error {
    let shown = path.display();
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

fn unified_diff(absolute: &str, old: &[u8], new: &[u8], created: bool) -> String {
    let old = String::from_utf8_lossy(old);
    let new = String::from_utf8_lossy(new);
    let from = if created {
        "/dev/null".to_string()
    } else {
        absolute.to_string()
    };
    TextDiff::from_lines(old.as_ref(), new.as_ref())
        .unified_diff()
        .header(&from, absolute)
        .to_string()
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
    fn remove_reports_a_missing_file_as_unchanged() {
        let dir = tempfile::tempdir().unwrap();
        let h = host(dir.path(), Mode::Apply);
        assert_eq!(h.remove_file("/nope").unwrap(), FileChange::Unchanged);
        fs::write(dir.path().join("yes"), "x").unwrap();
        assert!(h.remove_file("/yes").unwrap().is_change());
        assert!(!dir.path().join("yes").exists());
    }
}
