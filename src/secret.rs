//! The controller token. It has no `Display`, and its `Debug` shows nothing,
//! so it cannot reach a log line, an error message or a debug dump by accident.

use std::fmt;

#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    /// A token as read from a file or the environment: surrounding whitespace
    /// (a trailing newline, mostly) is not part of it. `None` when empty, or
    /// when it holds bytes no HTTP header can carry.
    pub fn new(raw: &str) -> Result<Token, &'static str> {
        let token = raw.trim();
        if token.is_empty() {
            return Err("is empty");
        }
        if !token.bytes().all(|b| b.is_ascii_graphic()) {
            return Err("holds spaces or characters an HTTP header cannot carry");
        }
        Ok(Token(token.to_string()))
    }

    /// The one place the token is revealed: the Authorization header.
    pub fn bearer(&self) -> String {
        format!("Bearer {}", self.0)
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_token() {
        let t = Token::new("s3cr3t\n").unwrap();
        assert_eq!(format!("{t:?}"), "Token(<redacted>)");
        assert_eq!(t.bearer(), "Bearer s3cr3t");
    }

    #[test]
    fn bad_tokens() {
        assert!(Token::new(" \n").is_err());
        assert!(Token::new("a b").is_err());
        assert!(Token::new("a\u{7f}").is_err());
    }
}
