//! The process's own stdout, as the caller left it.
//!
//! Rust's runtime opens `/dev/null` on a standard descriptor that the caller
//! closed (`>&-`), before `main`, so that no file opened later takes its
//! number. A report written there would be lost without an error; coreutils
//! fail such a write (EBADF), and so does this tool (74). Whether descriptor
//! 1 was closed is looked at earlier than the runtime's fix, from the
//! executable's initialisers: afterwards a closed stdout cannot be told from
//! a caller's own `/dev/null` (Python's `subprocess.DEVNULL` opens it
//! read-write, as the runtime does), which is a choice to respect.

use std::sync::atomic::{AtomicBool, Ordering};

static CLOSED_AT_START: AtomicBool = AtomicBool::new(false);

extern "C" fn note_a_closed_stdout() {
    // SAFETY: F_GETFD on descriptor 1 only reads its flags; nothing else
    // runs yet, and no memory is touched.
    if unsafe { libc::fcntl(1, libc::F_GETFD) } == -1 {
        CLOSED_AT_START.store(true, Ordering::SeqCst);
    }
}

/// Run by the dynamic loader with the executable's other initialisers,
/// before Rust's runtime starts.
#[used]
#[unsafe(link_section = ".init_array")]
static NOTE_A_CLOSED_STDOUT: extern "C" fn() = note_a_closed_stdout;

/// Whether stdout was closed when the process started.
pub fn stdout_was_closed() -> bool {
    // Keeps the initialiser in the link wherever this is called from.
    std::hint::black_box(&NOTE_A_CLOSED_STDOUT);
    CLOSED_AT_START.load(Ordering::SeqCst)
}
