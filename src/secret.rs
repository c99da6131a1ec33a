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
    ///
    /// The token is found however a server echoes it: broken across lines
    /// or spaces, JSON-escaped (`\/`, `\u0041`, a `\n` in the string) or
    /// percent-encoded. Too much redacted is harmless; too little is not.
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
        let token: Vec<char> = self.0.chars().collect();
        // As written (less whitespace), and with escapes decoded: a token
        // may itself hold a `%` or a `\`.
        let mut spans = found(&decoded(text, false), &token, text);
        spans.extend(found(&decoded(text, true), &token, text));
        spans.sort_unstable();
        let mut merged: Vec<(usize, usize)> = Vec::new();
        for (start, end) in spans {
            match merged.last_mut() {
                Some(last) if start <= last.1 => last.1 = last.1.max(end),
                _ => merged.push((start, end)),
            }
        }
        let spans = merged;
        let mut out = String::with_capacity(text.len());
        let mut done = 0;
        for (start, end) in spans {
            out.push_str(&text[done..start]);
            out.push_str(MASK);
            done = end;
        }
        out.push_str(&text[done..]);
        out
    }

    /// The one place the token is revealed: the Authorization header.
    pub fn bearer(&self) -> String {
        format!("Bearer {}", self.0)
    }
}

/// Where `token` is in `read` (see [`decoded`]), as byte ranges of `text`:
/// every whole occurrence, and a piece at the very end after the last (4
/// characters or more, or anything right after `Bearer`).
fn found(read: &[(char, std::ops::Range<usize>)], token: &[char], text: &str) -> Vec<(usize, usize)> {
    let matches_at = |at: usize, len: usize| {
        read[at..at + len]
            .iter()
            .map(|(c, _)| *c)
            .eq(token[..len].iter().copied())
    };
    let mut spans = Vec::new();
    let mut at = 0;
    while at + token.len() <= read.len() {
        if matches_at(at, token.len()) {
            spans.push((read[at].1.start, read[at + token.len() - 1].1.end));
            at += token.len();
        } else {
            at += 1;
        }
    }
    for len in (1..token.len().min(read.len() - at + 1)).rev() {
        let from = read.len() - len;
        if !matches_at(from, len) {
            continue;
        }
        let start = read[from].1.start;
        if len >= 4 || text[..start].trim_end().ends_with("Bearer") {
            spans.push((start, text.len()));
        }
        break;
    }
    spans
}

/// `text` as the characters a token could be made of, each with the bytes
/// of `text` it was read from: whitespace left out and, with `unescape`, a
/// JSON `\n`, `\r` or `\t` too, JSON escapes and `%XX` decoded.
fn decoded(text: &str, unescape: bool) -> Vec<(char, std::ops::Range<usize>)> {
    let bytes = text.as_bytes();
    let hex = |from: usize, len: usize| {
        text.get(from..from + len)
            .filter(|h| h.bytes().all(|b| b.is_ascii_hexdigit()))
            .and_then(|h| u32::from_str_radix(h, 16).ok())
            .and_then(char::from_u32)
    };
    let mut out = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let (read, len) = match (c, bytes.get(i + 1)) {
            (c, _) if c.is_whitespace() => (None, c.len_utf8()),
            (c, _) if !unescape => (Some(c), c.len_utf8()),
            ('\\', Some(b'n' | b'r' | b't')) => (None, 2),
            ('\\', Some(b'/' | b'"' | b'\\')) => (Some(bytes[i + 1] as char), 2),
            ('\\', Some(b'u')) => match hex(i + 2, 4) {
                Some(c) => (Some(c), 6),
                None => (Some('\\'), 1),
            },
            ('%', _) => match hex(i + 1, 2) {
                Some(c) => (Some(c), 3),
                None => (Some('%'), 1),
            },
            (c, _) => (Some(c), c.len_utf8()),
        };
        if let Some(c) = read {
            out.push((c, i..i + len));
        }
        while chars.peek().is_some_and(|(j, _)| *j < i + len) {
            chars.next();
        }
    }
    out
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
    fn a_token_broken_across_lines_or_escaped_is_redacted() {
        let t = Token::new("s3cr3tT0KENvalue").unwrap();
        for echoed in [
            "invalid token s3cr3tT0\n KENvalue for machine 4",
            "invalid token s3cr3t\r\n\tT0KEN value for machine 4",
            r#"{"error": "invalid token s3cr3tT0\n KENvalue for machine 4"}"#,
            "invalid token s3cr3t%54%30KENvalue for machine 4",
            r#"invalid token s3cr3t\u0054\u0030KENvalue for machine 4"#,
        ] {
            let shown = t.redact(echoed, false);
            assert!(shown.contains("<redacted>"), "{echoed:?}: {shown:?}");
            for half in ["s3cr3t", "KENvalue", "T0\n KEN"] {
                assert!(!shown.contains(half), "{echoed:?}: {shown:?}");
            }
            assert!(
                shown.starts_with("invalid token ") || shown.starts_with("{"),
                "{shown:?}"
            );
            assert!(
                shown.ends_with("for machine 4") || shown.ends_with('}'),
                "{shown:?}"
            );
        }
        // Broken at the end of a cut body too.
        assert_eq!(t.redact("Bearer s3cr\n 3t", false), "Bearer <redacted>");
    }

    #[test]
    fn bad_tokens() {
        assert!(Token::new(" \n").is_err());
        assert!(Token::new("a b").is_err());
        assert!(Token::new("a\u{7f}").is_err());
    }
}
