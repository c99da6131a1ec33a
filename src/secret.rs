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

    /// `text` without the token: every whole occurrence, and a piece of it
    /// at the end, where a body cut at a byte limit may have split it. When
    /// `cut` says it was, the last token's length of it goes, whatever it
    /// holds; otherwise a tail of 4 characters or more, or anything right
    /// after `Bearer`, counts (a shorter tail is too common a word ending).
    pub fn redact(&self, text: &str, cut: bool) -> String {
        const MASK: &str = "<redacted>";
        let text = if cut {
            let mut end = text.len().saturating_sub(self.0.len());
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            &text[..end]
        } else {
            text
        };
        let mut out = text.replace(&self.0, MASK);
        let bearer_at = out.rfind("Bearer");
        for len in (1..self.0.len()).rev() {
            let piece = &self.0[..len];
            if !out.ends_with(piece) {
                continue;
            }
            let start = out.len() - len;
            let after_bearer = bearer_at.is_some_and(|b| out[b + "Bearer".len()..start].trim().is_empty());
            if len >= 4 || after_bearer {
                out.truncate(start);
                out.push_str(MASK);
            }
            break;
        }
        out
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
    fn redaction_takes_whole_tokens_and_cut_off_pieces() {
        let t = Token::new("abcdefghijklmnop").unwrap();
        assert_eq!(t.redact("x abcdefghijklmnop y", false), "x <redacted> y");
        assert_eq!(
            t.redact("Authorization: Bearer abcdefghi", false),
            "Authorization: Bearer <redacted>"
        );
        assert_eq!(t.redact("Bearer a", false), "Bearer <redacted>");
        assert_eq!(t.redact("ends with abcd", false), "ends with <redacted>");
        assert_eq!(t.redact("a word: ab", false), "a word: ab");
        // Cut by a read limit: no piece of the token survives at the end.
        let cut = format!("{}token: ab", " ".repeat(40));
        assert!(!t.redact(&cut, true).contains("ab"));
    }

    #[test]
    fn bad_tokens() {
        assert!(Token::new(" \n").is_err());
        assert!(Token::new("a b").is_err());
        assert!(Token::new("a\u{7f}").is_err());
    }
}
