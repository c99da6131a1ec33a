//! An extra apt suite (Debian 12's bookworm-backports, for Incus) in a file
//! the tool owns, on the same mirror the host's own Debian sources use. The
//! host's own source files are read, never changed.

use crate::exit::{Exit, coded};
use crate::host::{FileChange, Host};

pub const SOURCES_DIR: &str = "/etc/apt/sources.list.d";
pub const SOURCES_LIST: &str = "/etc/apt/sources.list";
/// The file this tool writes; its name says who wrote it.
pub const OWN_FILE: &str = "/etc/apt/sources.list.d/container-init-backports.sources";
/// Where no Debian source names a mirror.
const DEFAULT_MIRROR: &str = "http://deb.debian.org/debian";
const DEBIAN_KEYRING: &str = "/usr/share/keyrings/debian-archive-keyring.gpg";

/// One `deb` entry of the host's apt sources, in either format.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    file: String,
    uris: Vec<String>,
    suites: Vec<String>,
    signed_by: Option<String>,
}

/// What `ensure` found or did.
#[derive(Debug)]
pub struct Ensured {
    pub change: FileChange,
    pub detail: String,
}

/// Make `suite` (`bookworm-backports`) available to apt: left alone when a
/// source of the host's own or ours already has it, else written to
/// [`OWN_FILE`] with the mirror of the host's `bookworm` entry.
pub fn ensure(host: &Host, suite: &str) -> anyhow::Result<Ensured> {
    let entries = read_entries(host)?;
    if let Some(found) = entries
        .iter()
        .find(|e| e.file != OWN_FILE && e.suites.iter().any(|s| s == suite))
    {
        return Ok(Ensured {
            change: FileChange::Unchanged,
            detail: format!("{suite} from {}", found.file),
        });
    }
    let base = suite.split('-').next().unwrap_or(suite);
    let from_base = entries
        .iter()
        .filter(|e| e.file != OWN_FILE && e.suites.iter().any(|s| s == base))
        .find_map(|e| e.uris.first().map(|uri| (uri.clone(), e)));
    let (mirror, signed_by) = match from_base {
        Some((uri, entry)) => {
            let uri = valid_mirror(&uri).map_err(|why| {
                coded(
                    Exit::Data,
                    format!(
                        "the {base} source in {} has URI {uri:?}, which {why}; add {suite} to apt yourself and run again",
                        entry.file
                    ),
                )
            })?;
            (uri, entry.signed_by.clone().filter(|p| valid_path(p)))
        }
        None => (DEFAULT_MIRROR.to_string(), None),
    };
    let signed_by = signed_by.or_else(|| host.exists(DEBIAN_KEYRING).then(|| DEBIAN_KEYRING.to_string()));
    let content = render(&mirror, suite, signed_by.as_deref());
    let change = crate::record::write_file(host, OWN_FILE, content.as_bytes(), 0o644)?;
    let detail = if change.is_change() {
        format!("added {suite} ({mirror}) in {OWN_FILE}")
    } else {
        format!("{suite} from {OWN_FILE}")
    };
    Ok(Ensured { change, detail })
}

fn render(mirror: &str, suite: &str, signed_by: Option<&str>) -> String {
    let mut text = format!(
        "# Written by container-init: Incus comes from {suite} on this release.\n\
         # Only what `setup incus` installs is taken from it (apt-get install -t {suite}).\n\
         Types: deb\nURIs: {mirror}\nSuites: {suite}\nComponents: main\n"
    );
    if let Some(path) = signed_by {
        text.push_str(&format!("Signed-By: {path}\n"));
    }
    text
}

/// Every `deb` entry in sources.list and sources.list.d (`*.list`, `*.sources`).
fn read_entries(host: &Host) -> anyhow::Result<Vec<Entry>> {
    let mut entries = Vec::new();
    if let Some(text) = host.read_optional(SOURCES_LIST)? {
        entries.extend(parse_one_line(SOURCES_LIST, &String::from_utf8_lossy(&text)));
    }
    for name in host.list_dir(SOURCES_DIR)? {
        let path = format!("{SOURCES_DIR}/{name}");
        let parse: fn(&str, &str) -> Vec<Entry> = if name.ends_with(".list") {
            parse_one_line
        } else if name.ends_with(".sources") {
            parse_deb822
        } else {
            continue;
        };
        if let Some(text) = host.read_optional(&path)? {
            entries.extend(parse(&path, &String::from_utf8_lossy(&text)));
        }
    }
    Ok(entries)
}

/// `deb [signed-by=/k.gpg arch=amd64] http://mirror/debian bookworm main`
fn parse_one_line(file: &str, text: &str) -> Vec<Entry> {
    let mut entries = Vec::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("").trim();
        let Some(rest) = line.strip_prefix("deb ").or_else(|| line.strip_prefix("deb\t")) else {
            continue;
        };
        let mut rest = rest.trim_start();
        let mut signed_by = None;
        if let Some(opened) = rest.strip_prefix('[') {
            let Some((options, after)) = opened.split_once(']') else {
                continue;
            };
            signed_by = options
                .split_whitespace()
                .find_map(|o| o.strip_prefix("signed-by="))
                .map(str::to_string);
            rest = after.trim_start();
        }
        let mut words = rest.split_whitespace();
        let (Some(uri), Some(suite)) = (words.next(), words.next()) else {
            continue;
        };
        entries.push(Entry {
            file: file.to_string(),
            uris: vec![uri.to_string()],
            suites: vec![suite.to_string()],
            signed_by,
        });
    }
    entries
}

/// deb822 stanzas: `Types:`, `URIs:`, `Suites:`, `Signed-By:`, `Enabled:`.
fn parse_deb822(file: &str, text: &str) -> Vec<Entry> {
    let mut entries = Vec::new();
    let mut stanza: Vec<(String, String)> = Vec::new();
    for line in text.lines().chain(std::iter::once("")) {
        if line.starts_with('#') {
            continue;
        }
        if line.trim().is_empty() {
            if let Some(entry) = stanza_entry(file, &stanza) {
                entries.push(entry);
            }
            stanza.clear();
        } else if line.starts_with([' ', '\t']) {
            // A continuation (an inline key in Signed-By): not a path.
            if let Some(last) = stanza.last_mut() {
                last.1.push('\n');
                last.1.push_str(line.trim());
            }
        } else if let Some((key, value)) = line.split_once(':') {
            stanza.push((key.trim().to_ascii_lowercase(), value.trim().to_string()));
        }
    }
    entries
}

fn stanza_entry(file: &str, stanza: &[(String, String)]) -> Option<Entry> {
    let get = |key: &str| stanza.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str());
    let words = |key: &str| -> Vec<String> {
        get(key)
            .map(|v| v.split_whitespace().map(str::to_string).collect())
            .unwrap_or_default()
    };
    if !words("types").iter().any(|t| t == "deb") || get("enabled") == Some("no") {
        return None;
    }
    Some(Entry {
        file: file.to_string(),
        uris: words("uris"),
        suites: words("suites"),
        signed_by: get("signed-by").filter(|v| !v.contains('\n')).map(str::to_string),
    })
}

/// A plain `http`/`https` mirror URI, nothing that could change the meaning
/// of the file it is written into.
fn valid_mirror(uri: &str) -> Result<String, &'static str> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || "-._~/:+%".contains(c);
    if uri.len() > 200 || !uri.chars().all(allowed) {
        return Err("holds characters a mirror URI does not");
    }
    let parsed = url::Url::parse(uri).map_err(|_| "is not a URI")?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none_or(str::is_empty) {
        return Err("is not an http:// or https:// mirror");
    }
    if !parsed.username().is_empty() || parsed.password().is_some() || parsed.query().is_some() {
        return Err("carries credentials or a query");
    }
    Ok(uri.trim_end_matches('/').to_string())
}

fn valid_path(path: &str) -> bool {
    path.starts_with('/')
        && path.len() <= 200
        && path
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._/+".contains(c))
}

#[cfg(test)]
#[allow(clippy::disallowed_methods, clippy::disallowed_types)]
mod tests {
    use super::*;
    use crate::exit::exit_for;
    use crate::host::Mode;

    fn host_with(files: &[(&str, &str)], mode: Mode) -> (tempfile::TempDir, Host) {
        let dir = tempfile::tempdir().unwrap();
        for (path, text) in files {
            let p = dir.path().join(path.trim_start_matches('/'));
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        let host = Host::new(dir.path(), mode);
        (dir, host)
    }

    const DEB822: &str = "Types: deb\n# http://snapshot.debian.org/archive/debian/20250520T000000Z\n\
        URIs: http://mirror.example/debian/\nSuites: bookworm bookworm-updates\nComponents: main\n\
        Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n\n\
        Types: deb\nURIs: http://deb.debian.org/debian-security\nSuites: bookworm-security\nComponents: main\n";

    #[test]
    fn the_mirror_and_key_of_the_hosts_own_bookworm_source_are_used() {
        let (dir, host) = host_with(&[("/etc/apt/sources.list.d/debian.sources", DEB822)], Mode::Apply);
        let done = ensure(&host, "bookworm-backports").unwrap();
        assert!(done.change.is_change());
        assert_eq!(
            std::fs::read_to_string(dir.path().join(OWN_FILE.trim_start_matches('/'))).unwrap(),
            "# Written by container-init: Incus comes from bookworm-backports on this release.\n\
             # Only what `setup incus` installs is taken from it (apt-get install -t bookworm-backports).\n\
             Types: deb\nURIs: http://mirror.example/debian\nSuites: bookworm-backports\nComponents: main\n\
             Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n"
        );
        // Ours is never mistaken for the host's own.
        let again = ensure(&host, "bookworm-backports").unwrap();
        assert!(!again.change.is_change());
        assert_eq!(again.detail, format!("bookworm-backports from {OWN_FILE}"));
    }

    #[test]
    fn a_one_line_source_counts_and_an_existing_backports_entry_is_left_alone() {
        let list =
            "# comment\ndeb [arch=amd64 signed-by=/etc/apt/k.gpg] https://m.example/debian bookworm main\n";
        let (_dir, host) = host_with(&[("/etc/apt/sources.list", list)], Mode::DryRun);
        let done = ensure(&host, "bookworm-backports").unwrap();
        let FileChange::Changed { diff } = &done.change else {
            panic!("{done:?}")
        };
        assert!(diff.contains("+URIs: https://m.example/debian\n"), "{diff}");
        assert!(diff.contains("+Signed-By: /etc/apt/k.gpg\n"), "{diff}");
        let with = format!("{list}deb https://m.example/debian bookworm-backports main\n");
        let (_dir, host) = host_with(&[("/etc/apt/sources.list", &with)], Mode::Apply);
        let done = ensure(&host, "bookworm-backports").unwrap();
        assert!(!done.change.is_change());
        assert!(!host.exists(OWN_FILE));
    }

    #[test]
    fn a_hostile_or_odd_mirror_uri_is_65_and_nothing_is_written() {
        for uri in [
            "ftp://m.example/debian",
            "http://user:pw@m.example/debian",
            "http://m.example/debian?x=1",
            "cdrom:[Debian]/",
        ] {
            let list = format!("deb {uri} bookworm main\n");
            let (_dir, host) = host_with(&[("/etc/apt/sources.list", &list)], Mode::Apply);
            let err = ensure(&host, "bookworm-backports").unwrap_err();
            assert_eq!(exit_for(&err), Exit::Data, "{uri}: {err}");
            assert!(!host.exists(OWN_FILE));
        }
        assert!(valid_mirror("http://m.example/debian\nSuites: sid").is_err());
        assert!(valid_mirror("http://m.example/debian bookworm").is_err());
        assert_eq!(
            valid_mirror("https://m.example:8443/debian/").unwrap(),
            "https://m.example:8443/debian"
        );
    }

    #[test]
    fn with_no_debian_source_the_debian_mirror_is_used() {
        let (_dir, host) = host_with(&[], Mode::DryRun);
        let done = ensure(&host, "bookworm-backports").unwrap();
        assert!(done.detail.contains(DEFAULT_MIRROR), "{}", done.detail);
    }
}
