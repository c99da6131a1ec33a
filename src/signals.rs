//! SIGHUP, SIGINT, SIGQUIT and SIGTERM, for every command: the handler only
//! records the signal. The runner passes it on to the child that is running
//! and waits for it; the step loop stops at the next step boundary; a read
//! that waits on a pipe looks for it. Files are written by rename, so none is
//! left half-written whenever the signal lands.
//!
//! The handlers are installed without `SA_RESTART`, so that a signal also
//! ends an `open` or `read` that blocks (a FIFO with no writer, a terminal),
//! rather than the kernel restarting it and the signal going unseen.

use std::sync::atomic::{AtomicI32, Ordering};

use crate::exit::{Exit, coded};

static RECEIVED: AtomicI32 = AtomicI32::new(0);

/// What ends a run in order: a closed terminal or SSH session (SIGHUP),
/// Ctrl-C, Ctrl-\ and `kill`.
const ENDING: [libc::c_int; 4] = [libc::SIGHUP, libc::SIGINT, libc::SIGQUIT, libc::SIGTERM];

extern "C" fn record(signal: libc::c_int) {
    // Only async-signal-safe work here: one atomic operation. The first
    // signal decides the exit status; a second one changes nothing.
    let _ = RECEIVED.compare_exchange(0, signal, Ordering::SeqCst, Ordering::SeqCst);
}

/// SIGUSR1 kills a process by default; `dd` users send it to ask for
/// progress. It is caught and dropped rather than ignored with `SIG_IGN`,
/// which the commands we run would inherit.
extern "C" fn drop_signal(_: libc::c_int) {}

/// Catch the ending signals (and SIGUSR1) from now on. Called first thing in
/// `main`, before anything could be left half-done by a signal's default action.
pub fn install() {
    for signal in ENDING {
        crate::host::signal_handler::catch(signal, record, &ENDING);
    }
    crate::host::signal_handler::catch(libc::SIGUSR1, drop_signal, &ENDING);
}

/// The signal received so far, if any.
pub fn received() -> Option<i32> {
    match RECEIVED.load(Ordering::SeqCst) {
        0 => None,
        s => Some(s),
    }
}

/// An error for the signal received, if one was: 128 + the signal (129, 130,
/// 131, 143).
pub fn check() -> anyhow::Result<()> {
    let Some(signal) = received() else {
        return Ok(());
    };
    let (exit, message) = match signal {
        libc::SIGHUP => (
            Exit::HangUp,
            "hung up (SIGHUP: the terminal or SSH session closed); run again to finish, \
             under nohup, screen or systemd-run to outlive the session",
        ),
        libc::SIGINT => (Exit::Interrupted, "interrupted by SIGINT; run again to finish"),
        libc::SIGQUIT => (Exit::Quit, "quit by SIGQUIT; run again to finish"),
        _ => (Exit::Terminated, "terminated by SIGTERM; run again to finish"),
    };
    Err(coded(exit, message))
}

/// Pass a received signal on to a child and its process group (the runner
/// starts every child as the leader of its own group). A hang-up or a quit
/// is passed on as SIGTERM: the child must stop, and SIGQUIT would have it
/// dump core, SIGHUP some programs take for "reload".
pub fn forward_to_group(pid: u32, signal: i32) {
    let signal = match signal {
        libc::SIGHUP | libc::SIGQUIT => libc::SIGTERM,
        other => other,
    };
    let (Some(group), Some(signal)) = (
        i32::try_from(pid).ok().and_then(rustix::process::Pid::from_raw),
        rustix::process::Signal::from_named_raw(signal),
    ) else {
        return;
    };
    // A gone group gives ESRCH, which is fine.
    let _ = rustix::process::kill_process_group(group, signal);
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
