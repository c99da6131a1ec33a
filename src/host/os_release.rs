//! `/etc/os-release`, read under `--root`.

use std::collections::BTreeMap;

use super::Host;
use crate::exit::{Exit, coded};

pub const OS_RELEASE: &str = "/etc/os-release";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OsRelease {
    pub id: String,
    pub id_like: Vec<String>,
    pub version_id: String,
    pub pretty_name: String,
}

impl OsRelease {
    pub fn read(host: &Host) -> anyhow::Result<OsRelease> {
        let Some(bytes) = host.read_optional(OS_RELEASE)? else {
            return Err(coded(
                Exit::Unavailable,
                format!(
                    "{} does not exist, so the distribution is unknown; only Debian and Ubuntu are supported",
                    host.shown(OS_RELEASE).display()
                ),
            ));
        };
        Ok(OsRelease::parse(&String::from_utf8_lossy(&bytes)))
    }

    pub fn parse(text: &str) -> OsRelease {
        let fields: BTreeMap<&str, String> = text
            .lines()
            .filter_map(|line| line.split_once('='))
            .map(|(k, v)| (k.trim(), unquote(v.trim())))
            .collect();
        let get = |k: &str| fields.get(k).cloned().unwrap_or_default();
        OsRelease {
            id: get("ID"),
            id_like: get("ID_LIKE").split_whitespace().map(str::to_string).collect(),
            version_id: get("VERSION_ID"),
            pretty_name: if fields.contains_key("PRETTY_NAME") {
                get("PRETTY_NAME")
            } else {
                get("ID")
            },
        }
    }

    pub fn is(&self, id: &str) -> bool {
        self.id == id
    }

    /// The release's major number (`12`, `24` of `24.04`); `None` where
    /// there is none (Debian testing and sid).
    pub fn major_version(&self) -> Option<u32> {
        self.version_id.split('.').next()?.parse().ok()
    }

    pub fn is_like(&self, id: &str) -> bool {
        self.id == id || self.id_like.iter().any(|l| l == id)
    }
}

fn unquote(v: &str) -> String {
    let v = v
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .or_else(|| v.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')))
        .unwrap_or(v);
    v.replace("\\\"", "\"").replace("\\\\", "\\")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_debian_and_ubuntu() {
        let debian = OsRelease::parse(
            "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nID=debian\n",
        );
        assert_eq!(debian.id, "debian");
        assert_eq!(debian.version_id, "12");
        assert_eq!(debian.pretty_name, "Debian GNU/Linux 12 (bookworm)");
        let ubuntu = OsRelease::parse("ID=ubuntu\nID_LIKE=debian\nVERSION_ID=\"24.04\"\n");
        assert!(ubuntu.is_like("debian"));
        assert!(ubuntu.is("ubuntu"));
        assert_eq!(ubuntu.pretty_name, "ubuntu");
    }
}
