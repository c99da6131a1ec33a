//! A linear look at a YAML (or JSON) document before the YAML parser sees
//! it. libyaml's scanner does work proportional to the flow depth for every
//! token, so `a: [[[[...]]]]` of a few hundred KB takes tens of seconds; and
//! a block sequence nests one level per two bytes. The documents this tool
//! reads are flat mappings, or one level of mapping inside another (the
//! controller's `{"config": {...}}`, the config file's `controller:`), so
//! anything deeper is refused here, before any parsing, in one pass.

/// The deepest flow nesting (`{...}` and `[...]`) a document may have.
pub const MAX_FLOW_DEPTH: usize = 2;

/// Refuse a document nested deeper than a flat mapping (with one inner
/// mapping) can be. Conservative only where it cannot matter: the text of a
/// block scalar is skipped, and quotes count only where a scalar starts.
pub fn check_flat(text: &str) -> Result<(), String> {
    let bytes = text.as_bytes();
    let mut i = 0;
    let mut depth = 0usize;
    // At the start of a node: where a quote opens a quoted scalar, `[`/`{`
    // opens a collection and `- `/`? ` a block entry.
    let mut node_start = true;
    let mut line_start = true;
    let mut line_indent = 0usize;
    let mut after_space = true;
    let mut line = 1usize;
    while i < bytes.len() {
        let c = bytes[i];
        let next = bytes.get(i + 1).copied();
        let blank_next = matches!(next, None | Some(b' ' | b'\t' | b'\r' | b'\n'));
        if line_start {
            let indent = bytes[i..].iter().take_while(|b| **b == b' ').count();
            line_indent = indent;
            i += indent;
            line_start = false;
            if depth == 0 {
                node_start = true;
            }
            after_space = true;
            continue;
        }
        match c {
            b'\n' => {
                line += 1;
                line_start = true;
                after_space = true;
                i += 1;
                continue;
            }
            b' ' | b'\t' | b'\r' => {
                after_space = true;
                i += 1;
                continue;
            }
            b'#' if after_space => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'"' | b'\'' if node_start => {
                i = skip_quoted(bytes, i, &mut line);
                node_start = false;
                after_space = false;
                continue;
            }
            b'[' | b'{' if node_start || depth > 0 => {
                depth += 1;
                if depth > MAX_FLOW_DEPTH {
                    return Err(format!(
                        "line {line}: it is nested deeper than a flat mapping of keys to values"
                    ));
                }
                node_start = true;
            }
            b']' | b'}' if depth > 0 => {
                depth -= 1;
                node_start = false;
            }
            b',' if depth > 0 => node_start = true,
            b':' if depth > 0 || blank_next => node_start = true,
            b'-' | b'?' if node_start && depth == 0 && blank_next => {
                return Err(format!(
                    "line {line}: it holds a list or a complex key where a flat mapping of keys to values is expected"
                ));
            }
            b'|' | b'>' if node_start && depth == 0 => {
                // A block scalar: its lines are text, indented past its parent.
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
                while i < bytes.len() {
                    let rest = &bytes[i + 1..];
                    let indent = rest.iter().take_while(|b| **b == b' ').count();
                    let blank = matches!(rest.get(indent), None | Some(b'\n' | b'\r'));
                    if rest.is_empty() || (!blank && indent <= line_indent) {
                        break;
                    }
                    line += 1;
                    i += 1;
                    while i < bytes.len() && bytes[i] != b'\n' {
                        i += 1;
                    }
                }
                continue;
            }
            b'&' | b'!' if node_start => {
                // An anchor or a tag: the node still starts after it.
                while i < bytes.len() && !bytes[i].is_ascii_whitespace() {
                    i += 1;
                }
                continue;
            }
            _ => node_start = false,
        }
        after_space = false;
        i += 1;
    }
    Ok(())
}

/// The index just past the quoted scalar that opens at `start`.
fn skip_quoted(bytes: &[u8], start: usize, line: &mut usize) -> usize {
    let quote = bytes[start];
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\n' => *line += 1,
            b'\\' if quote == b'"' => i += 1,
            b'\'' if quote == b'\'' && bytes.get(i + 1) == Some(&b'\'') => i += 1,
            b if b == quote => return i + 1,
            _ => {}
        }
        i += 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flat_documents_pass() {
        for ok in [
            "",
            "a: b\nc: 1\n",
            "{\"config\": {\"a\": \"b\", \"c\": \"[[[\"}}",
            "{\n  \"config\": {\n    \"a\": \"b\"\n  }\n}\n",
            "controller:\n  url: https://x\n  token-file: /t\nmachine: \"4\"\n",
            "a: it's [[[[ fine\nb: 'x''[[[['\n",
            "a: \"\\\"[[[[\"\n",
            "a: b # [[[[\n",
            "a: |\n  [[[[\n  - x\nb: c\n",
            "a: &x v\nb: *x\n",
            "--- \na: -5\nb: x-y\n",
            "a: [x]\n",
            "a: {b: c}\n",
        ] {
            assert_eq!(check_flat(ok), Ok(()), "{ok:?}");
        }
    }

    #[test]
    fn nesting_is_refused_with_the_line() {
        for (bad, line) in [
            ("name: [[[]]]\n", 1),
            ("a: b\nname: [[[[[[[[\n", 2),
            ("{\"config\": {\"a\": {\"b\": \"c\"}}}", 1),
            ("- a\n", 1),
            ("a:\n  - - - x\n", 2),
            ("? a\n: b\n", 1),
            ("a: 'x'\nb: {c: [[d]]}\n", 2),
        ] {
            let err = check_flat(bad).unwrap_err();
            assert!(err.starts_with(&format!("line {line}:")), "{bad:?}: {err}");
        }
    }

    #[test]
    fn a_megabyte_of_brackets_is_refused() {
        let deep = format!("name: {}", "[".repeat(1024 * 1024));
        assert!(check_flat(&deep).unwrap_err().contains("nested deeper"));
    }
}
