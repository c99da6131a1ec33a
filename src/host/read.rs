//! The host's own files (os-release, dpkg's status, lxc-net, the config file,
//! `/proc` and `/sys` knobs): regular files only, opened without blocking,
//! and never more than a bound kept for each file.
//!
//! A FIFO left where a file belongs would block `open` for ever; a device
//! such as `/dev/zero` would be read for ever. Both are refused, as systemd
//! refuses them under `--root`. `/proc` and `/sys` knobs are regular files
//! of size 0 to `stat`: they pass the same test, and their bound is what
//! stops a runaway one.

use std::fs::{File, FileType, OpenOptions};
use std::io::ErrorKind;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::os::unix::io::AsRawFd;
use std::path::Path;

use crate::config::limits::{MAX_INPUT, ReadError, read_at_most, size};
use crate::exit::{Exit, coded};

const MIB: u64 = 1024 * 1024;

/// Files that are larger than [`MAX_INPUT`] on an ordinary host, by path
/// (or path prefix, ending in `/` or `-`), with their own bound.
const LARGER: [(&str, u64); 6] = [
    // Over 1 MiB on a bare Debian 12; tens of MiB on a desktop.
    ("/var/lib/dpkg/status", 256 * MIB),
    // Every symbol of the kernel and its modules: 5 to 20 MiB.
    ("/proc/kallsyms", 256 * MIB),
    // One line per socket or route: a busy host has many.
    ("/proc/net/", 256 * MIB),
    ("/lib/modules/", 64 * MIB),
    ("/boot/config-", 16 * MIB),
    // The teardown record keeps the earlier content of the files it changed.
    ("/var/lib/container-init/", 64 * MIB),
];

/// The most of `absolute` that is read.
pub fn limit_for(absolute: &str) -> u64 {
    LARGER
        .iter()
        .find(|(path, _)| {
            if path.ends_with('/') || path.ends_with('-') {
                absolute.starts_with(path)
            } else {
                absolute == *path
            }
        })
        .map_or(MAX_INPUT, |(_, limit)| *limit)
}

/// The bytes of the regular file at `path`, at most `limit` of them; `None`
/// when there is nothing there.
pub fn read_regular(path: &Path, limit: u64) -> Result<Option<Vec<u8>>, ReadError> {
    // Looked at before it is opened: opening some devices does something.
    match std::fs::metadata(path) {
        Ok(meta) => refuse_special(&meta.file_type())?,
        Err(e) if is_absent(&e) => return Ok(None),
        Err(e) => return Err(ReadError::Io(e)),
    }
    let file = match OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
    {
        Ok(file) => file,
        Err(e) if is_absent(&e) => return Ok(None),
        Err(e) => return Err(ReadError::Io(e)),
    };
    // What was opened, in case it was swapped since the look.
    refuse_special(&file.metadata().map_err(ReadError::Io)?.file_type())?;
    blocking(&file);
    read_at_most(file, limit).map(Some)
}

/// `Err` naming what the file is when it is not a regular file.
pub fn refuse_special(kind: &FileType) -> Result<(), ReadError> {
    if kind.is_file() {
        Ok(())
    } else {
        Err(ReadError::NotAFile(kind_of(kind)))
    }
}

/// An error (71) when something other than a regular file is at `path`,
/// which the tool is about to open for writing; nothing there is fine.
pub fn must_be_regular(path: &Path) -> anyhow::Result<()> {
    match std::fs::metadata(path) {
        Ok(meta) if !meta.is_file() => Err(coded(
            Exit::Os,
            format!(
                "cannot use {}: it is {}, not a regular file; remove what is in its place",
                path.display(),
                kind_of(&meta.file_type())
            ),
        )),
        _ => Ok(()),
    }
}

/// What a file is, for a message.
pub fn kind_of(kind: &FileType) -> &'static str {
    if kind.is_fifo() {
        "a FIFO"
    } else if kind.is_socket() {
        "a socket"
    } else if kind.is_char_device() {
        "a character device"
    } else if kind.is_block_device() {
        "a block device"
    } else if kind.is_dir() {
        "a directory"
    } else if kind.is_symlink() {
        "a symbolic link"
    } else {
        "a regular file"
    }
}

/// A path through a non-directory cannot exist either.
pub fn is_absent(e: &std::io::Error) -> bool {
    matches!(e.kind(), ErrorKind::NotFound | ErrorKind::NotADirectory)
}

/// Take `O_NONBLOCK` off again: it was there for the `open` only.
pub fn blocking(file: &File) {
    let fd = file.as_raw_fd();
    // SAFETY: fcntl on a descriptor this function's caller owns; no memory is touched.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        if flags >= 0 {
            libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK);
        }
    }
}

/// The contract's error for a host file that could not be read: 77 for a
/// matter of permission, 71 otherwise, naming the file and, past its bound,
/// the bound.
pub fn read_error(path: &Path, absolute: &str, e: ReadError) -> anyhow::Error {
    let shown = path.display();
    match e {
        ReadError::Io(e) if e.kind() == ErrorKind::PermissionDenied => coded(
            Exit::NoPerm,
            format!("cannot read {shown}: {e}; run as root, or check the file"),
        ),
        ReadError::NotAFile(kind) => coded(
            Exit::Os,
            format!(
                "cannot read {shown}: it is {kind}, not a regular file; container-init reads only \
                 regular files there: put the file back, or remove what is in its place"
            ),
        ),
        ReadError::TooLarge(limit) => coded(
            Exit::Os,
            format!(
                "cannot read {shown}: it is larger than {}, the most container-init reads of {absolute}; \
                 check what wrote it",
                size(limit)
            ),
        ),
        e => coded(
            Exit::Os,
            format!("cannot read {shown}: {e}; run as root, or check the file"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn big_files_have_their_own_bound_and_the_rest_1_mib() {
        assert_eq!(limit_for("/var/lib/dpkg/status"), 256 * MIB);
        assert_eq!(limit_for("/var/lib/dpkg/status-old"), MAX_INPUT);
        assert_eq!(limit_for("/proc/net/route"), 256 * MIB);
        assert_eq!(limit_for("/boot/config-6.1.0-18-amd64"), 16 * MIB);
        assert_eq!(limit_for("/etc/os-release"), MAX_INPUT);
        assert_eq!(limit_for("/etc/default/lxc-net"), MAX_INPUT);
    }

    #[test]
    fn a_fifo_or_a_device_is_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let c = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: a NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
        let started = std::time::Instant::now();
        assert!(matches!(
            read_regular(&fifo, MAX_INPUT),
            Err(ReadError::NotAFile("a FIFO"))
        ));
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
        assert!(matches!(
            read_regular(Path::new("/dev/zero"), MAX_INPUT),
            Err(ReadError::NotAFile("a character device"))
        ));
        assert!(matches!(
            read_regular(dir.path(), MAX_INPUT),
            Err(ReadError::NotAFile("a directory"))
        ));
        assert!(
            read_regular(&dir.path().join("none"), MAX_INPUT)
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn a_file_past_its_bound_is_refused_naming_the_bound() {
        let dir = tempfile::tempdir().unwrap();
        let big = dir.path().join("lxc-net");
        let file = File::create(&big).unwrap();
        // Sparse: 400 MB that cost nothing on disk.
        file.set_len(400 * 1000 * 1000).unwrap();
        let err = read_regular(&big, MAX_INPUT).unwrap_err();
        assert!(matches!(err, ReadError::TooLarge(MAX_INPUT)));
        let err = read_error(&big, "/etc/default/lxc-net", err);
        assert_eq!(crate::exit::exit_for(&err), Exit::Os);
        assert!(
            err.to_string()
                .contains("larger than 1 MiB, the most container-init reads of /etc/default/lxc-net"),
            "{err}"
        );
    }
}
