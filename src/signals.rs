//! SIGINT and SIGTERM during `setup`: the handler only records the signal.
//! The runner passes it on to the child that is running and waits for it;
//! the step loop stops at the next step boundary. Files are written by
//! rename, so none is left half-written whenever the signal lands.

use std::sync::atomic::{AtomicI32, Ordering};

use crate::exit::{Exit, coded};

static RECEIVED: AtomicI32 = AtomicI32::new(0);

extern "C" fn record(signal: libc::c_int) {
    // Only async-signal-safe work here: one atomic store.
    RECEIVED.store(signal, Ordering::SeqCst);
}

/// Catch SIGINT and SIGTERM from now on.
pub fn install() {
    for signal in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: `record` is async-signal-safe and lives for the whole program.
        unsafe {
            libc::signal(signal, record as *const () as libc::sighandler_t);
        }
    }
}

/// The signal received so far, if any.
pub fn received() -> Option<i32> {
    match RECEIVED.load(Ordering::SeqCst) {
        0 => None,
        s => Some(s),
    }
}

/// An error for the signal received, if one was: 130 for SIGINT, 143 for SIGTERM.
pub fn check() -> anyhow::Result<()> {
    match received() {
        None => Ok(()),
        Some(libc::SIGINT) => Err(coded(
            Exit::Interrupted,
            "interrupted by SIGINT; run again to finish",
        )),
        Some(_) => Err(coded(
            Exit::Terminated,
            "terminated by SIGTERM; run again to finish",
        )),
    }
}

/// Pass a received signal on to a child and its process group (the runner
/// starts every child as the leader of its own group).
pub fn forward_to_group(pid: u32, signal: i32) {
    // SAFETY: kill(2) has no memory effects; a gone group gives ESRCH, which is fine.
    unsafe {
        libc::kill(-(pid as libc::pid_t), signal);
    }
}

/// Sleep, but wake up early for a signal.
pub fn sleep(total: std::time::Duration) -> anyhow::Result<()> {
    let step = std::time::Duration::from_millis(20);
    let deadline = std::time::Instant::now() + total;
    while std::time::Instant::now() < deadline {
        check()?;
        std::thread::sleep(step.min(deadline.saturating_duration_since(std::time::Instant::now())));
    }
    check()
}
