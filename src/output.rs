//! stdout and stderr, written without ever panicking (`println!` and
//! `eprintln!` panic on a full disk, and a panic while reporting one aborts),
//! and a report that did not reach stdout told apart from one that did.

use std::io::{ErrorKind, Write};
use std::sync::Mutex;

/// The first failure to write stdout, if any: kind and words.
static STDOUT_FAILED: Mutex<Option<(ErrorKind, String)>> = Mutex::new(None);

/// Write `bytes` to stdout and flush them. A failure is remembered for the
/// exit status (74, or a quiet end for a closed pipe), and nothing more is
/// written after one.
pub fn stdout(bytes: &[u8]) {
    let mut failed = STDOUT_FAILED.lock().unwrap_or_else(|e| e.into_inner());
    if failed.is_some() {
        return;
    }
    if crate::host::stdout_was_closed() {
        *failed = Some((ErrorKind::Other, "stdout is closed".into()));
        return;
    }
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(bytes).and_then(|()| out.flush()) {
        *failed = Some((e.kind(), e.to_string()));
    }
}

/// Why stdout could not be written, if it could not.
pub fn stdout_failure() -> Option<(ErrorKind, String)> {
    if crate::host::stdout_was_closed() {
        return Some((ErrorKind::Other, "stdout is closed".into()));
    }
    STDOUT_FAILED.lock().unwrap_or_else(|e| e.into_inner()).clone()
}

/// Write `text` to stderr; when stderr itself cannot be written, there is
/// nowhere left to say so, and the exit status still tells.
pub fn stderr(text: &str) {
    let mut err = std::io::stderr().lock();
    let _ = err.write_all(text.as_bytes()).and_then(|()| err.flush());
}
