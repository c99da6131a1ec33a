//! A flat mapping of strings as YAML that every reader takes back as the
//! same strings. YAML 1.1 readers (PyYAML, Ruby's Psych, Go's yaml.v2) read
//! `yes`, `on`, `n`, `~` or `0o17` as booleans, nulls and numbers, so
//! anything that is not plainly a word is single-quoted.

use std::collections::BTreeMap;

/// `key: value` lines, in the map's order.
pub fn flat_mapping(values: &BTreeMap<String, String>) -> String {
    values
        .iter()
        .map(|(k, v)| format!("{}: {}\n", scalar(k), scalar(v)))
        .collect()
}

/// A value as a plain scalar when no reader could take it for anything but
/// a string, otherwise single-quoted (a quote inside is doubled).
fn scalar(value: &str) -> String {
    if is_plain_word(value) {
        value.to_string()
    } else {
        format!("'{}'", value.replace('\'', "''"))
    }
}

/// Starts with a letter, `_` or `/`, holds only letters, digits and
/// `-_./:,@+` (a `:` never last: with no space after it, it is text, as in a
/// URL), and is none of the words a YAML 1.1 or 1.2 reader turns into a
/// boolean or a null. A digit, sign or dot in front could make a number of it.
fn is_plain_word(value: &str) -> bool {
    const SPECIAL: [&str; 12] = [
        "y", "n", "yes", "no", "on", "off", "true", "false", "null", "nan", "inf", "nil",
    ];
    let Some(first) = value.chars().next() else {
        return false;
    };
    (first.is_ascii_alphabetic() || first == '_' || first == '/')
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:,@+".contains(c))
        && !value.ends_with(':')
        && !SPECIAL.contains(&value.to_ascii_lowercase().as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn yaml(pairs: &[(&str, &str)]) -> String {
        flat_mapping(
            &pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn words_stay_plain() {
        assert_eq!(
            yaml(&[
                ("name", "juju-x"),
                ("log-dir", "/var/log/juju"),
                ("channel", "latest/edge"),
                ("proxy", "http://proxy.example.com:3128"),
                ("no-proxy", "localhost,.corp.example,10.0.0.0/8"),
            ]),
            "channel: latest/edge\nlog-dir: /var/log/juju\nname: juju-x\n\
             no-proxy: localhost,.corp.example,10.0.0.0/8\nproxy: http://proxy.example.com:3128\n"
        );
    }

    #[test]
    fn what_a_yaml_1_1_reader_would_not_read_as_a_string_is_quoted() {
        for value in [
            "yes", "Yes", "YES", "no", "on", "On", "off", "OFF", "y", "Y", "n", "N", "true", "False", "null",
            "Null", "~", "", "1450", "0o17", "0x1f", "1_000", "1:20", "+1", "-1", ".5", ".inf", ".NaN",
            "1e3", "a b", "it's", "#x", "a: b", "a:", "a #b", "@x", ",x", "*x", "&x", "!x", "%x", "[x]",
            "{x}",
        ] {
            let line = yaml(&[("k", value)]);
            let quoted = format!("k: '{}'\n", value.replace('\'', "''"));
            assert_eq!(line, quoted, "{value:?}");
        }
        assert_eq!(yaml(&[("on", "x")]), "'on': x\n");
    }
}
