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

/// The text of `path`, as [`read_named`] reads it; why not, for a message.
pub fn read_named_text(path: &Path) -> Result<String, String> {
    let bytes = read_named(path).map_err(|e| e.to_string())?;
    String::from_utf8(bytes).map_err(|_| "it is not UTF-8 text".to_string())
}
