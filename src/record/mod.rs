//! The record of what `setup` changed on this host, so that `teardown` can
//! take back exactly that and nothing else: a bridge that was there before,
//! a key an operator set, a rule someone else added are not the tool's.
//!
//! Each change is noted *before* it is made, so that a setup killed half-way
//! leaves a record that names everything it may have touched; teardown then
//! compares the host with what the entry says the tool left, and a change
//! that never happened shows the host still in its `before` state.
//!
//! Entries are keyed by what they change ([`Change::target`]): a second
//! change of the same target keeps the first `before` (the host's original)
//! and moves to the end, so the record is newest last and walking it
//! backwards undoes in reverse order. Each entry lists the container types
//! whose setup needs it; the last of those to be torn down takes it back.
//!
//! Steps call [`note`] before a change and [`needs`] when they find a change
//! of an earlier setup still in place, and know nothing of the file: the
//! type is the one the [`Host`] records for (`Host::recording_for`), and
//! nothing is recorded in a dry run, by a standalone `forwarding` or
//! `lxc-net` command, or by `teardown` itself.

mod noted_writes;
mod take_back;

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::container_type::ContainerType;
use crate::exit::{Exit, coded};
use crate::host::Host;

/// The record's file: one JSON document, written whole and atomically.
pub const RECORD_PATH: &str = "/var/lib/container-init/record.json";

/// What one setup can reasonably change is a few dozen entries; a record
/// this long is not ours, and is refused rather than read without end.
pub const MAX_ENTRIES: usize = 4096;

/// The most bytes of the record that are read.
pub const MAX_BYTES: u64 = 4 << 20;

/// The record's format; a newer one is refused rather than misread.
const VERSION: u32 = 1;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    version: u32,
    /// Oldest first.
    entries: Vec<Entry>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// The types whose setup needs this change.
    pub types: BTreeSet<ContainerType>,
    pub change: Change,
}

/// A file's content and mode as the tool saw or left it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileState {
    pub content: String,
    pub mode: u32,
}

/// Where a firewall rule lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FirewallBackend {
    IptablesNft,
    Ip6tablesNft,
    IptablesLegacy,
    Ip6tablesLegacy,
    Nft,
    Ufw,
    Firewalld,
}

/// What the tool did to a service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ServiceAction {
    Started,
    Enabled,
}

/// One change, with what teardown needs to take it back and to tell whether
/// the host still shows it as the tool left it.
///
/// The names teardown understands (`src/record/take_back.rs`), so that every
/// step that records a change can be taken back without teardown knowing
/// the step:
/// - `RuntimeObject`: `runtime` is `lxd` or `incus` with `object` `network`
///   (`name` the bridge), `storage-pool` (the pool), `profile-device` (`name`
///   is `PROFILE DEVICE`); or `libvirt` with `network` or `pool`.
/// - `RuntimeKey`: `runtime` `lxd`/`incus` with `object` `server`, `network
///   NAME`, `storage-pool NAME`, `profile NAME` or `profile-device PROFILE
///   DEVICE`; `snap` with `system`; `libvirt` with `network NAME` or `pool
///   NAME` and the keys `active` and `autostart` (`yes`/`no`).
/// - `Sysctl`: the dotted key (`net.ipv4.ip_forward`); a key whose parts
///   hold a dot (an interface `eth0.100`) is given with `/` instead
///   (`net/ipv6/conf/eth0.100/accept_ra`).
/// - `FirewallRule`: for `iptables-*`/`ip6tables-*` the words after `-I`/`-A`
///   (`-C` finds it, `-D` takes it back); for `ufw` the words after `ufw`
///   (`route allow in on lxdbr0`); for `firewalld` the words after
///   `firewall-cmd` with `--change-interface=` or `--add-interface=`; for
///   `nft` the family, table and chain and then the rule's words as `nft
///   list` prints them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Change {
    /// A file the tool wrote or removed: `before` is `None` where there was
    /// no file, `after` is `None` where the tool removed it.
    File {
        path: String,
        before: Option<FileState>,
        after: Option<FileState>,
    },
    /// A running kernel value (`/proc/sys`); where it is persisted, that
    /// file is a [`Change::File`] of its own.
    Sysctl {
        key: String,
        before: String,
        after: String,
    },
    /// A firewall rule the tool added: `rule` is the words that added it
    /// after the command and its add verb (`-I DOCKER-USER -i lxdbr0 -j
    /// ACCEPT` is `["DOCKER-USER", "-i", "lxdbr0", "-j", "ACCEPT"]` for
    /// iptables), so the same words with the delete verb take it back.
    FirewallRule {
        backend: FirewallBackend,
        rule: Vec<String>,
    },
    /// A runtime object the tool created (`network lxdbr0`, `storage-pool
    /// default`, `profile-device default eth0`, libvirt's `network default`).
    RuntimeObject {
        runtime: String,
        object: String,
        name: String,
    },
    /// A key of a runtime object: `before` is `None` where it was unset.
    RuntimeKey {
        runtime: String,
        object: String,
        key: String,
        before: Option<String>,
        after: Option<String>,
    },
    Service {
        name: String,
        action: ServiceAction,
    },
    /// Packages this run installed, and those apt pulled in with them.
    Packages {
        installed: Vec<String>,
        pulled_in: Vec<String>,
    },
    /// A kernel module the tool loaded (`br_netfilter`).
    KernelModule {
        name: String,
    },
    /// A snap this run installed (Ubuntu's LXD).
    Snap {
        name: String,
    },
    /// A user this run added to a group (`setup --user`).
    GroupMember {
        group: String,
        user: String,
    },
}

impl Change {
    /// What the change is to: two changes of one target are one entry.
    pub fn target(&self) -> String {
        match self {
            Change::File { path, .. } => format!("file {path}"),
            Change::Sysctl { key, .. } => format!("sysctl {key}"),
            Change::FirewallRule { backend, rule } => {
                format!("firewall {} {}", backend.as_str(), rule.join(" "))
            }
            Change::RuntimeObject {
                runtime,
                object,
                name,
            } => format!("{runtime} {object} {name}"),
            Change::RuntimeKey {
                runtime, object, key, ..
            } => format!("{runtime} {object} key {key}"),
            Change::Service { name, action } => format!("service {name} {}", action.as_str()),
            Change::Packages { installed, .. } => format!("packages {}", installed.join(" ")),
            Change::KernelModule { name } => format!("module {name}"),
            Change::Snap { name } => format!("snap {name}"),
            Change::GroupMember { group, user } => format!("group {group} member {user}"),
        }
    }

    /// A later change of the same target: the host's original state is the
    /// earlier `before`, what the tool left is the later `after`.
    fn merged_after(self, later: Change) -> Change {
        match (self, later) {
            (Change::File { path, before, .. }, Change::File { after, .. }) => {
                Change::File { path, before, after }
            }
            (Change::Sysctl { key, before, .. }, Change::Sysctl { after, .. }) => {
                Change::Sysctl { key, before, after }
            }
            (
                Change::RuntimeKey {
                    runtime,
                    object,
                    key,
                    before,
                    ..
                },
                Change::RuntimeKey { after, .. },
            ) => Change::RuntimeKey {
                runtime,
                object,
                key,
                before,
                after,
            },
            (
                Change::Packages {
                    mut installed,
                    mut pulled_in,
                },
                Change::Packages {
                    installed: more,
                    pulled_in: more_pulled,
                },
            ) => {
                // In their first order: the order is part of the target.
                for (list, more) in [(&mut installed, more), (&mut pulled_in, more_pulled)] {
                    for package in more {
                        if !list.contains(&package) {
                            list.push(package);
                        }
                    }
                }
                Change::Packages { installed, pulled_in }
            }
            (_, later) => later,
        }
    }
}

impl FirewallBackend {
    pub fn as_str(self) -> &'static str {
        match self {
            FirewallBackend::IptablesNft => "iptables-nft",
            FirewallBackend::Ip6tablesNft => "ip6tables-nft",
            FirewallBackend::IptablesLegacy => "iptables-legacy",
            FirewallBackend::Ip6tablesLegacy => "ip6tables-legacy",
            FirewallBackend::Nft => "nft",
            FirewallBackend::Ufw => "ufw",
            FirewallBackend::Firewalld => "firewalld",
        }
    }
}

impl ServiceAction {
    pub fn as_str(self) -> &'static str {
        match self {
            ServiceAction::Started => "started",
            ServiceAction::Enabled => "enabled",
        }
    }
}

impl Record {
    /// The record on `host`; an empty one where there is none (a host that
    /// an older version prepared, or none at all). A damaged or foreign
    /// record is refused, not guessed at: teardown acts on it.
    pub fn load(host: &Host) -> anyhow::Result<Record> {
        let Some(bytes) = host.read_optional(RECORD_PATH)? else {
            return Ok(Record {
                version: VERSION,
                entries: Vec::new(),
            });
        };
        let damaged = |why: String| {
            coded(
                Exit::Data,
                format!(
                    "{RECORD_PATH} is not a record container-init {} can read ({why}); move it away to start a new one, which forgets what earlier setups changed",
                    env!("CARGO_PKG_VERSION")
                ),
            )
        };
        if bytes.len() as u64 > MAX_BYTES {
            return Err(damaged(format!("larger than {MAX_BYTES} bytes")));
        }
        let record: Record = serde_json::from_slice(&bytes).map_err(|e| damaged(e.to_string()))?;
        if record.version != VERSION {
            return Err(damaged(format!("format {}", record.version)));
        }
        if record.entries.len() > MAX_ENTRIES {
            return Err(damaged(format!("more than {MAX_ENTRIES} entries")));
        }
        Ok(record)
    }

    /// Oldest first.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Add `ty`'s `change`, merging with an earlier change of its target.
    pub fn add(&mut self, ty: ContainerType, change: Change) -> anyhow::Result<()> {
        let target = change.target();
        let (types, change) = match self.entries.iter().position(|e| e.change.target() == target) {
            Some(at) => {
                let earlier = self.entries.remove(at);
                let mut types = earlier.types;
                types.insert(ty);
                (types, earlier.change.merged_after(change))
            }
            None => (BTreeSet::from([ty]), change),
        };
        if self.entries.len() >= MAX_ENTRIES {
            return Err(coded(
                Exit::CantCreate,
                format!("{RECORD_PATH} holds {MAX_ENTRIES} changes already; run teardown, or move it away"),
            ));
        }
        self.entries.push(Entry { types, change });
        Ok(())
    }

    /// Mark that `ty` needs the change to `target` too; false when there is
    /// no such entry or `ty` already needs it.
    pub fn add_need(&mut self, ty: ContainerType, target: &str) -> bool {
        self.entries
            .iter_mut()
            .find(|e| e.change.target() == target)
            .is_some_and(|e| e.types.insert(ty))
    }

    /// Replace the entries (teardown, after taking some back).
    pub fn retain(&mut self, keep: impl FnMut(&Entry) -> bool) {
        self.entries.retain(keep);
    }

    /// `ty` no longer needs the change to `target`: the entry goes once no
    /// type needs it (teardown, after taking it back or leaving it).
    pub fn drop_need(&mut self, ty: ContainerType, target: &str) {
        for entry in self.entries.iter_mut().filter(|e| e.change.target() == target) {
            entry.types.remove(&ty);
        }
        self.entries.retain(|e| !e.types.is_empty());
    }

    pub fn entries_mut(&mut self) -> &mut [Entry] {
        &mut self.entries
    }

    /// Write the record back; an empty record removes the file.
    pub fn store(&self, host: &Host) -> anyhow::Result<()> {
        if self.entries.is_empty() {
            host.remove_file(RECORD_PATH)?;
            return Ok(());
        }
        let text = serde_json::to_string_pretty(self).expect("the record serialises") + "\n";
        // 0600: previous file contents may include what an operator would
        // not show every local user.
        host.write_file(RECORD_PATH, text.as_bytes(), 0o600)?;
        Ok(())
    }
}

pub use noted_writes::{
    file_state, proc_path, remove_file, sysctl_converged, write_file, write_file_owned, write_sysctl,
};
pub use take_back::{Context, Taken, take_back};

/// Note `change` in the record before making it, for the type the host
/// records for; nothing in a dry run or outside `setup`.
pub fn note(host: &Host, change: Change) -> anyhow::Result<()> {
    let Some(ty) = host.recording() else {
        return Ok(());
    };
    if !host.applies() {
        return Ok(());
    }
    let mut record = Record::load(host)?;
    record.add(ty, change)?;
    record.store(host)
}

/// A converged step found `target` as an earlier setup left it: the type
/// the host records for needs it too, so tearing down the other type keeps
/// it. Writes only when that is news, so a converged rerun writes nothing.
pub fn needs(host: &Host, target: &str) -> anyhow::Result<()> {
    let Some(ty) = host.recording() else {
        return Ok(());
    };
    if !host.applies() {
        return Ok(());
    }
    let mut record = Record::load(host)?;
    if record.add_need(ty, target) {
        record.store(host)?;
    }
    Ok(())
}

/// This type needs `packages` (installed already): an earlier setup's
/// entry that installed or pulled in any of them is needed by this type too,
/// so that tearing the other type down does not purge them from under it.
pub fn needs_packages(host: &Host, packages: &[&str]) -> anyhow::Result<()> {
    let Some(ty) = host.recording() else {
        return Ok(());
    };
    if !host.applies() {
        return Ok(());
    }
    let mut record = Record::load(host)?;
    let targets: Vec<String> = record
        .entries
        .iter()
        .filter(|e| match &e.change {
            Change::Packages { installed, pulled_in } => installed
                .iter()
                .chain(pulled_in)
                .any(|p| packages.contains(&p.as_str())),
            _ => false,
        })
        .map(|e| e.change.target())
        .collect();
    let mut news = false;
    for target in targets {
        news |= record.add_need(ty, &target);
    }
    if news {
        record.store(host)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sysctl(before: &str, after: &str) -> Change {
        Change::Sysctl {
            key: "net.ipv4.ip_forward".into(),
            before: before.into(),
            after: after.into(),
        }
    }

    fn file(path: &str) -> Change {
        Change::File {
            path: path.into(),
            before: None,
            after: Some(FileState {
                content: "x\n".into(),
                mode: 0o644,
            }),
        }
    }

    #[test]
    fn a_second_change_of_one_target_keeps_the_hosts_original_and_moves_last() {
        let mut record = Record::default();
        record.add(ContainerType::Lxc, sysctl("0", "1")).unwrap();
        record.add(ContainerType::Lxc, file("/etc/a")).unwrap();
        record.add(ContainerType::Lxd, sysctl("1", "2")).unwrap();
        let entries = record.entries();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[1].change, sysctl("0", "2"));
        assert_eq!(
            entries[1].types,
            BTreeSet::from([ContainerType::Lxc, ContainerType::Lxd])
        );
    }

    #[test]
    fn a_need_is_news_only_once_and_only_for_a_recorded_target() {
        let mut record = Record::default();
        record.add(ContainerType::Lxc, sysctl("0", "1")).unwrap();
        let target = sysctl("0", "1").target();
        assert!(record.add_need(ContainerType::Lxd, &target));
        assert!(!record.add_need(ContainerType::Lxd, &target));
        assert!(!record.add_need(ContainerType::Lxd, "sysctl net.ipv6.conf.all.forwarding"));
    }

    #[test]
    fn the_record_round_trips_through_its_json() {
        let mut record = Record {
            version: VERSION,
            entries: Vec::new(),
        };
        record.add(ContainerType::Kvm, file("/etc/b")).unwrap();
        record
            .add(
                ContainerType::Lxd,
                Change::FirewallRule {
                    backend: FirewallBackend::IptablesNft,
                    rule: vec!["DOCKER-USER".into(), "-i".into(), "lxdbr0".into()],
                },
            )
            .unwrap();
        let text = serde_json::to_string(&record).unwrap();
        assert!(text.contains(r#""kind":"firewall-rule""#), "{text}");
        assert!(text.contains(r#""backend":"iptables-nft""#), "{text}");
        assert_eq!(serde_json::from_str::<Record>(&text).unwrap(), record);
    }

    #[test]
    fn a_full_record_refuses_another_change() {
        let mut record = Record::default();
        for i in 0..MAX_ENTRIES {
            record
                .add(ContainerType::Lxc, file(&format!("/etc/{i}")))
                .unwrap();
        }
        let err = record.add(ContainerType::Lxc, file("/etc/more")).unwrap_err();
        assert!(err.to_string().contains("holds 4096 changes"), "{err}");
    }
}
