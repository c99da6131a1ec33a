//! pow(3) for the one caller this binary has: indicatif's rate estimator
//! (through `f64::powf`), which runs only while the live line is drawn.
//! Defined here, from the pure-Rust `libm` crate, so that the binary needs
//! no libm.so: loading it cost every start, a converged `forwarding enable`
//! included, about 6% (benches/progress.py).

/// What `f64::powf` calls.
#[unsafe(no_mangle)]
pub extern "C" fn pow(x: f64, y: f64) -> f64 {
    libm::pow(x, y)
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
