//! How much hostile input the tool takes: every input it reads is at most
//! [`MAX_INPUT`] bytes, read in bounded memory, and an error message quotes
//! at most [`MAX_QUOTE`] characters of a value, so that a 50 MB value cannot
//! become a 50 MB error line.

use std::io::Read;

/// A manager config, token, CA bundle or config file is a few hundred bytes;
/// anything past this is not one.
pub const MAX_INPUT: u64 = 1024 * 1024;

/// The most characters of a value an error message repeats.
pub const MAX_QUOTE: usize = 200;

/// An input that could not be taken.
#[derive(Debug)]
pub enum ReadError {
    Io(std::io::Error),
    /// More than this many bytes; reading stopped there.
    TooLarge(u64),
    /// A FIFO, socket, device or directory where a file is expected.
    NotAFile(&'static str),
    /// A signal came while the read waited (on a pipe, a FIFO, a terminal).
    Interrupted,
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadError::Io(e) => e.fmt(f),
            ReadError::TooLarge(limit) => write!(f, "it is larger than {}", size(*limit)),
            ReadError::NotAFile(kind) => write!(f, "it is {kind}, not a regular file"),
            ReadError::Interrupted => f.write_str("a signal came while it was read"),
        }
    }
}

/// "1 MiB", for messages.
pub fn size_limit() -> String {
    size(MAX_INPUT)
}

/// A byte count as messages give it: whole MiB or KiB where it is one.
pub fn size(bytes: u64) -> String {
    const MIB: u64 = 1024 * 1024;
    if bytes >= MIB && bytes.is_multiple_of(MIB) {
        format!("{} MiB", bytes / MIB)
    } else if bytes >= 1024 && bytes.is_multiple_of(1024) {
        format!("{} KiB", bytes / 1024)
    } else {
        format!("{bytes} bytes")
    }
}

/// Everything `reader` gives, up to [`MAX_INPUT`] bytes: at most one byte
/// more is read to tell that it is too large, so `/dev/zero` costs 1 MiB.
pub fn read_bounded(reader: impl Read) -> Result<Vec<u8>, ReadError> {
    read_at_most(reader, MAX_INPUT)
}

/// Everything `reader` gives, up to `limit` bytes (one more is read to tell).
pub fn read_at_most(reader: impl Read, limit: u64) -> Result<Vec<u8>, ReadError> {
    let mut bytes = Vec::new();
    reader
        .take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(ReadError::Io)?;
    if bytes.len() as u64 > limit {
        return Err(ReadError::TooLarge(limit));
    }
    Ok(bytes)
}

/// `bytes` without a UTF-8 byte order mark in front: Windows editors write
/// one, and neither YAML nor PEM wants it.
pub fn without_bom(mut bytes: Vec<u8>) -> Vec<u8> {
    if bytes.starts_with(b"\xEF\xBB\xBF") {
        bytes.drain(..3);
    }
    bytes
}

/// A path the operator gave, for a message: at most [`MAX_QUOTE`]
/// characters of it, control characters escaped.
pub fn shown_path(path: &std::path::Path) -> String {
    let text = path.to_string_lossy();
    let escaped: String = text.escape_debug().collect();
    cut(&escaped)
}

/// `value` as a quoted string for an error message: Rust's escaping (so a
/// control character cannot start a new line), and at most [`MAX_QUOTE`]
/// characters of it, saying how much was left out.
pub fn quote(value: &str) -> String {
    let mut chars = value.char_indices();
    match chars.nth(MAX_QUOTE) {
        None => format!("{value:?}"),
        Some((cut, _)) => {
            let rest = value[cut..].chars().count();
            format!("{:?}... ({rest} more characters)", &value[..cut])
        }
    }
}

/// `value` unquoted, at most [`MAX_QUOTE`] characters of it, for text that is
/// a name rather than a value (a distribution's pretty name).
pub fn cut(value: &str) -> String {
    match value.char_indices().nth(MAX_QUOTE) {
        None => value.to_string(),
        Some((end, _)) => format!("{}...", &value[..end]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_values_are_quoted_whole() {
        assert_eq!(quote("a\nb"), r#""a\nb""#);
        assert_eq!(
            quote(&"x".repeat(MAX_QUOTE)),
            format!("{:?}", "x".repeat(MAX_QUOTE))
        );
    }

    #[test]
    fn long_values_are_cut_at_200_characters() {
        let long = "é".repeat(50 * 1024 * 1024 / 2);
        let quoted = quote(&long);
        assert!(quoted.len() < 600, "{}", quoted.len());
        assert!(quoted.starts_with(&format!("{:?}", "é".repeat(MAX_QUOTE))));
        assert!(quoted.ends_with(&format!(
            "... ({} more characters)",
            long.chars().count() - MAX_QUOTE
        )));
    }

    #[test]
    fn a_bom_goes_and_nothing_else() {
        assert_eq!(without_bom(b"\xEF\xBB\xBFa: b\n".to_vec()), b"a: b\n");
        assert_eq!(without_bom(b"a\xEF\xBB\xBF".to_vec()), b"a\xEF\xBB\xBF");
        assert_eq!(size(64 * 1024 * 1024), "64 MiB");
        assert_eq!(size(512), "512 bytes");
    }

    #[test]
    fn paths_are_cut_and_escaped() {
        let long = std::path::PathBuf::from(format!("/{}", "d".repeat(100_000)));
        assert!(shown_path(&long).len() < 300);
        assert_eq!(shown_path(std::path::Path::new("/a\nb")), "/a\\nb");
    }

    #[test]
    fn reading_stops_after_the_limit() {
        let zeros = std::io::repeat(0);
        assert!(matches!(read_bounded(zeros), Err(ReadError::TooLarge(MAX_INPUT))));
        let exact = vec![b'a'; MAX_INPUT as usize];
        assert_eq!(read_bounded(&exact[..]).unwrap().len(), exact.len());
    }
}
