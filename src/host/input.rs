//! Files the operator names by path (`--manager-config`, `--token-file`,
//! `--ca-cert`, `--config`): read as given, not under `--root`, and never
//! more than [`MAX_INPUT`](crate::limits::MAX_INPUT) bytes of them.

use std::path::Path;

use crate::limits::{ReadError, read_bounded};

/// The bytes of `path` (`-` is stdin), bounded.
pub fn read_named(path: &Path) -> Result<Vec<u8>, ReadError> {
    if path == Path::new("-") {
        return read_bounded(std::io::stdin().lock());
    }
    let file = std::fs::File::open(path).map_err(ReadError::Io)?;
    read_bounded(file)
}
