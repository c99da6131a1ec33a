//! Files the operator names by path (`--manager-config`, `--token-file`,
//! `--ca-cert`, `--config`): read as given, not under `--root`, and never
//! more than [`MAX_INPUT`](crate::config::limits::MAX_INPUT) bytes of them.
//!
//! A pipe is fine here (`--manager-config -`, `<(...)`, a FIFO someone
//! writes to), as it is for `cat`; waiting on one ends when a signal comes:
//! the open does not block, and the read waits in short `poll`s that look
//! for the signal between them.

use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Read};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::os::unix::io::{AsFd, AsRawFd};
use std::path::Path;

use super::read::{blocking, kind_of};
use crate::config::limits::{MAX_INPUT, ReadError, read_bounded, without_bom};

/// How long one wait on a pipe lasts before a signal is looked for.
const POLL_MS: libc::c_int = 100;

/// The bytes of `path` (`-` is stdin), bounded, without a byte order mark.
pub fn read_named(path: &Path) -> Result<Vec<u8>, ReadError> {
    let file = if path == Path::new("-") {
        let stdin = std::io::stdin();
        File::from(stdin.as_fd().try_clone_to_owned().map_err(ReadError::Io)?)
    } else {
        // O_NONBLOCK: opening a FIFO nobody writes to yet would block.
        let file = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
            .open(path)
            .map_err(ReadError::Io)?;
        blocking(&file);
        file
    };
    let kind = file.metadata().map_err(ReadError::Io)?.file_type();
    let bytes = if kind.is_file() {
        read_bounded(file)?
    } else if kind.is_dir() {
        return Err(ReadError::NotAFile(kind_of(&kind)));
    } else {
        read_waiting(file)?
    };
    Ok(without_bom(bytes))
}

/// The text of `path`, as [`read_named`] reads it; why not, for a message.
pub fn read_named_text(path: &Path) -> Result<String, String> {
    let bytes = read_named(path).map_err(|e| e.to_string())?;
    String::from_utf8(bytes).map_err(|_| "it is not UTF-8 text".to_string())
}

/// The permission bits of a named regular file; `None` for a pipe, stdin,
/// or what cannot be looked at.
pub fn named_file_mode(path: &Path) -> Option<u32> {
    if path == Path::new("-") {
        return None;
    }
    let meta = std::fs::metadata(path).ok()?;
    meta.is_file().then(|| meta.permissions().mode() & 0o7777)
}

/// A pipe, terminal or device, read as data comes, in bounded memory,
/// until its end, its bound, or a signal.
fn read_waiting(mut file: File) -> Result<Vec<u8>, ReadError> {
    let mut bytes = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        if crate::signals::received().is_some() {
            return Err(ReadError::Interrupted);
        }
        let mut poll = libc::pollfd {
            fd: file.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one pollfd, owned here, for a descriptor that stays open.
        let ready = unsafe { libc::poll(&mut poll, 1, POLL_MS) };
        if ready == 0 {
            continue;
        }
        if ready < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() == ErrorKind::Interrupted {
                continue;
            }
            return Err(ReadError::Io(e));
        }
        match file.read(&mut chunk) {
            Ok(0) => return Ok(bytes),
            Ok(n) => {
                bytes.extend_from_slice(&chunk[..n]);
                if bytes.len() as u64 > MAX_INPUT {
                    return Err(ReadError::TooLarge(MAX_INPUT));
                }
            }
            Err(e) if matches!(e.kind(), ErrorKind::Interrupted | ErrorKind::WouldBlock) => {}
            Err(e) => return Err(ReadError::Io(e)),
        }
    }
}
