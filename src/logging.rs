//! Logs go to stderr through env_logger; `-v`/`-q` pick the level and
//! `RUST_LOG` overrides both. A log line is written above the live progress
//! line, not through it.

use std::io::Write;

use log::LevelFilter;

pub fn init(verbose: u8, quiet: bool) {
    let level = match (quiet, verbose) {
        (true, _) => LevelFilter::Error,
        (false, 0) => LevelFilter::Warn,
        (false, 1) => LevelFilter::Info,
        (false, 2) => LevelFilter::Debug,
        (false, _) => LevelFilter::Trace,
    };
    let mut builder = env_logger::Builder::new();
    builder
        // Other crates' debug logs are noise to an operator; RUST_LOG reaches them.
        .filter_level(LevelFilter::Warn.min(level))
        .filter_module("container_init", level)
        .format(|buf, record| {
            let level = record.level().as_str().to_ascii_lowercase();
            writeln!(buf, "container-init: {level}: {}", record.args())
        })
        .target(env_logger::Target::Pipe(Box::new(AboveLiveLine)))
        .parse_env("RUST_LOG");
    // A second init (tests calling in twice) keeps the first logger.
    let _ = builder.try_init();
}

/// stderr, with the live line (if any) moved out of the way of each record;
/// env_logger hands over a whole record in one write.
struct AboveLiveLine;

impl Write for AboveLiveLine {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut result = Ok(());
        crate::progress::above_live_line(|| result = std::io::stderr().write_all(buf));
        result.map(|()| buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}
