//! pow(3), with libm loaded only when it is first called. Its one caller is
//! indicatif's rate estimator, which runs only while the live line is drawn;
//! linking libm.so instead makes every start load it, which cost a converged
//! `forwarding enable` about 6% (benches/progress.py). The answer is libm's
//! own: this only defers finding it.

use std::ffi::{CStr, c_void};
use std::sync::OnceLock;

type Pow = unsafe extern "C" fn(f64, f64) -> f64;

static LIBM_POW: OnceLock<Option<Pow>> = OnceLock::new();

fn libm_pow() -> Option<Pow> {
    *LIBM_POW.get_or_init(|| {
        const LIBM: &CStr = c"libm.so.6";
        const POW: &CStr = c"pow";
        // SAFETY: dlopen and dlsym take valid C strings; a null result is
        // checked. libm's pow has exactly the `Pow` signature.
        unsafe {
            let handle = libc::dlopen(LIBM.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL);
            if handle.is_null() {
                return None;
            }
            let symbol: *mut c_void = libc::dlsym(handle, POW.as_ptr());
            (!symbol.is_null()).then(|| std::mem::transmute::<*mut c_void, Pow>(symbol))
        }
    })
}

/// What `f64::powf` calls.
#[unsafe(no_mangle)]
pub extern "C" fn pow(x: f64, y: f64) -> f64 {
    match libm_pow() {
        // SAFETY: libm's pow, called with plain floats.
        Some(pow) => unsafe { pow(x, y) },
        // Without libm (never on glibc): exact for whole exponents, which is
        // all a spinner's estimate needs to stay finite.
        None => x.powi(y.round() as i32),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn powf_gives_libm_s_answers() {
        assert_eq!(2.0_f64.powf(10.0), 1024.0);
        assert!((0.1_f64.powf(0.5) - 0.316_227_766_016_837_94).abs() < 1e-15);
        assert!((-8.0_f64).powf(1.0 / 3.0).is_nan());
        assert_eq!(super::pow(2.0, 0.5), std::f64::consts::SQRT_2);
    }
}
