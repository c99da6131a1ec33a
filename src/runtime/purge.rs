//! Which of the packages setup installed (and apt pulled in with them)
//! `teardown --purge-packages` may purge: those no other installed package
//! depends on, worked out from dpkg's status file, and then proven by apt's
//! own simulation to remove nothing else.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use crate::host::{CommandLine, Host};

use super::packages;

/// What may go, and what stays because something else needs it.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Selection {
    pub purge: Vec<String>,
    /// A package kept, and one installed package that needs it.
    pub needed: Vec<(String, String)>,
}

/// The package names of a `Depends:` value, one list per group of
/// alternatives, without versions and architecture qualifiers.
fn groups(value: &str) -> Vec<Vec<String>> {
    value
        .split(',')
        .map(|group| {
            group
                .split('|')
                .filter_map(|alt| {
                    let name = alt.split_whitespace().next()?;
                    Some(name.split(':').next().unwrap_or(name).to_string())
                })
                .collect()
        })
        .filter(|g: &Vec<String>| !g.is_empty())
        .collect()
}

fn field<'a>(stanza: &'a str, name: &str) -> Option<&'a str> {
    stanza.lines().find_map(|l| l.strip_prefix(name)).map(str::trim)
}

/// Choose from `ours` what no other installed package needs.
pub fn select(stanzas: &BTreeMap<String, String>, ours: &[String]) -> Selection {
    let mut candidates: BTreeSet<&str> = ours
        .iter()
        .map(String::as_str)
        .filter(|p| stanzas.contains_key(*p))
        .collect();
    // Who satisfies a name: the package itself, and what provides it.
    let mut satisfiers: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for (package, stanza) in stanzas {
        satisfiers.entry(package.clone()).or_default().push(package);
        for provided in field(stanza, "Provides:").map(groups).unwrap_or_default() {
            for name in provided {
                satisfiers.entry(name).or_default().push(package);
            }
        }
    }
    let mut needed = Vec::new();
    loop {
        let mut keep: Vec<(String, String)> = Vec::new();
        for (package, stanza) in stanzas {
            if candidates.contains(package.as_str()) {
                continue;
            }
            let deps = ["Depends:", "Pre-Depends:"]
                .iter()
                .filter_map(|f| field(stanza, f))
                .flat_map(groups);
            for group in deps {
                let by: Vec<&str> = group
                    .iter()
                    .flat_map(|n| satisfiers.get(n).cloned().unwrap_or_default())
                    .collect();
                if !by.is_empty() && by.iter().all(|p| candidates.contains(p)) {
                    keep.extend(by.iter().map(|p| (p.to_string(), package.clone())));
                }
            }
        }
        if keep.is_empty() {
            break;
        }
        for (p, by) in keep {
            if candidates.remove(p.as_str()) {
                needed.push((p, by));
            }
        }
    }
    Selection {
        // In the record's order.
        purge: ours
            .iter()
            .filter(|p| candidates.contains(p.as_str()))
            .cloned()
            .collect(),
        needed,
    }
}

/// The packages apt's simulation of purging `names` would remove.
pub fn simulated(host: &Host, names: &[String]) -> anyhow::Result<Vec<String>> {
    let cmd = CommandLine::new("apt-get")
        .args(["-s", "purge"])
        .args(names.iter().cloned())
        .env("DEBIAN_FRONTEND", "noninteractive");
    let out = host.query(&cmd)?;
    Ok(out
        .stdout
        .lines()
        .filter_map(|l| l.strip_prefix("Purg ").or_else(|| l.strip_prefix("Remv ")))
        .filter_map(|rest| rest.split_whitespace().next())
        .map(|n| n.split(':').next().unwrap_or(n).to_string())
        .collect())
}

/// Purge `names`, waiting out another holder of the dpkg lock.
pub fn purge(host: &Host, names: &[String], lock_deadline: Instant) -> anyhow::Result<Vec<String>> {
    let cmd = CommandLine::new("apt-get")
        .args(["purge", "-y"])
        .args(names.iter().cloned())
        .env("DEBIAN_FRONTEND", "noninteractive");
    packages::run_with_dpkg_lock(host, &cmd, lock_deadline)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(entries: &[(&str, &str)]) -> BTreeMap<String, String> {
        entries
            .iter()
            .map(|(p, rest)| (p.to_string(), format!("Package: {p}\n{rest}")))
            .collect()
    }

    #[test]
    fn a_package_another_one_needs_stays_and_so_does_what_it_needs() {
        let installed = status(&[
            ("lxd", "Depends: liblxc1 (>= 5), dnsmasq-base | dnsmasq\n"),
            ("liblxc1", "Depends: libc6\n"),
            ("dnsmasq-base", ""),
            ("libc6", ""),
            ("nftables", "Depends: libnftables1\n"),
            ("libnftables1", ""),
            // Not ours: it needs liblxc1, which stays, and with it nothing else.
            ("lxc", "Depends: liblxc1:any\n"),
        ]);
        let ours: Vec<String> = ["lxd", "liblxc1", "dnsmasq-base", "nftables", "libnftables1"]
            .map(String::from)
            .to_vec();
        let chosen = select(&installed, &ours);
        assert_eq!(chosen.purge, ["lxd", "dnsmasq-base", "nftables", "libnftables1"]);
        assert_eq!(chosen.needed, [("liblxc1".to_string(), "lxc".to_string())]);
    }

    #[test]
    fn a_virtual_package_counts_for_what_provides_it_and_an_alternative_outside_frees_it() {
        let installed = status(&[
            ("ours", "Provides: mail-transport-agent\n"),
            ("mailer", "Depends: mail-transport-agent\n"),
            ("dns", ""),
            ("theirs", "Depends: dns | other-dns\n"),
            ("other-dns", ""),
        ]);
        let chosen = select(&installed, &["ours".into(), "dns".into(), "gone".into()]);
        assert_eq!(chosen.purge, ["dns"]);
        assert_eq!(chosen.needed, [("ours".to_string(), "mailer".to_string())]);
    }
}
