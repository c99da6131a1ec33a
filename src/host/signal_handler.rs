//! The one signal handler this program installs (src/signals.rs records
//! which signal came); setting it is the one call std and rustix have no
//! safe door for.

/// Call `handler` when `signal` arrives, from now on, with `blocked` held
/// off while it runs. Without `SA_RESTART`: a blocked `open` or `read` (a
/// FIFO with no writer, a terminal) returns EINTR, so that the signal is
/// seen rather than the kernel restarting the call.
pub fn catch(signal: i32, handler: extern "C" fn(libc::c_int), blocked: &[i32]) {
    // SAFETY: sigaction(2) only stores the handler's address; the handler is
    // a plain function that lives for the whole program, and the caller
    // keeps it async-signal-safe (src/signals.rs: one atomic operation). The
    // struct is zeroed, then filled, before the call reads it.
    #[allow(unsafe_code)]
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = handler as *const () as libc::sighandler_t;
        action.sa_flags = 0;
        libc::sigemptyset(&mut action.sa_mask);
        for other in blocked {
            libc::sigaddset(&mut action.sa_mask, *other);
        }
        libc::sigaction(signal, &action, std::ptr::null_mut());
    }
}
