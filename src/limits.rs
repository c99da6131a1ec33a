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
    /// More than [`MAX_INPUT`] bytes; reading stopped there.
    TooLarge,
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadError::Io(e) => e.fmt(f),
            ReadError::TooLarge => write!(f, "it is larger than {}", size_limit()),
        }
    }
}

/// "1 MiB", for messages.
pub fn size_limit() -> String {
    format!("{} MiB", MAX_INPUT / (1024 * 1024))
}

/// Everything `reader` gives, up to [`MAX_INPUT`] bytes: at most one byte
/// more is read to tell that it is too large, so `/dev/zero` costs 1 MiB.
pub fn read_bounded(reader: impl Read) -> Result<Vec<u8>, ReadError> {
    let mut bytes = Vec::new();
    reader
        .take(MAX_INPUT + 1)
        .read_to_end(&mut bytes)
        .map_err(ReadError::Io)?;
    if bytes.len() as u64 > MAX_INPUT {
        return Err(ReadError::TooLarge);
    }
    Ok(bytes)
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
    fn reading_stops_after_the_limit() {
        let zeros = std::io::repeat(0);
        assert!(matches!(read_bounded(zeros), Err(ReadError::TooLarge)));
        let exact = vec![b'a'; MAX_INPUT as usize];
        assert_eq!(read_bounded(&exact[..]).unwrap().len(), exact.len());
    }
}
