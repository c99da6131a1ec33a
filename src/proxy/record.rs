//! What the tool set in snap's and the runtimes' proxy settings, so that a
//! key removed from the manager config removes what the tool set for it,
//! and nothing an operator set by hand. It lives in the teardown record
//! (`crate::record`), as the keys the tool changed there, so that teardown
//! takes them back too; a `proxy.json` of an older version is read once and
//! folded in.

use std::collections::BTreeMap;

use crate::host::{FileChange, Host};
use crate::record::{self as teardown_record, Change};

/// Where an older version kept this record alone.
pub const LEGACY_RECORD: &str = "/var/lib/container-init/proxy.json";

/// Per consumer (`snap`, `lxc`, `incus`): key → the value the tool set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Record(pub BTreeMap<String, BTreeMap<String, String>>);

/// The teardown record's runtime and object for a consumer's keys.
pub fn place(consumer: &str) -> (&'static str, &'static str) {
    match consumer {
        "snap" => ("snap", "system"),
        "incus" => ("incus", "server"),
        _ => ("lxd", "server"),
    }
}

fn is_proxy_key(key: &str) -> bool {
    key.starts_with("proxy.") || key.starts_with("core.proxy_")
}

/// The older version's file: an unreadable or damaged one counts as empty
/// (the tool then forgets what it set, and leaves it in place).
fn legacy(host: &Host) -> anyhow::Result<BTreeMap<String, BTreeMap<String, String>>> {
    let Some(bytes) = host.read_optional(LEGACY_RECORD)? else {
        return Ok(BTreeMap::new());
    };
    Ok(serde_json::from_slice(&bytes).unwrap_or_else(|e| {
        log::warn!("{LEGACY_RECORD} is not what container-init wrote ({e}); forgetting it");
        BTreeMap::new()
    }))
}

impl Record {
    pub fn load(host: &Host) -> anyhow::Result<Record> {
        let mut map = legacy(host)?;
        // A record teardown cannot read is refused where it is written
        // (setup, teardown); reading the proxy keys, it counts as empty.
        let record = teardown_record::Record::load(host).unwrap_or_else(|e| {
            log::warn!("{e:#}");
            teardown_record::Record::default()
        });
        for entry in record.entries() {
            if let Change::RuntimeKey {
                runtime,
                object,
                key,
                after: Some(value),
                ..
            } = &entry.change
                && is_proxy_key(key)
                && let Some(consumer) = ["snap", "lxc", "incus"]
                    .into_iter()
                    .find(|c| place(c) == (runtime.as_str(), object.as_str()))
            {
                map.entry(consumer.to_string())
                    .or_default()
                    .insert(key.clone(), value.clone());
            }
        }
        Ok(Record(map))
    }

    pub fn of(&self, consumer: &str) -> BTreeMap<String, String> {
        self.0.get(consumer).cloned().unwrap_or_default()
    }

    /// Make `set` what the record holds of one consumer's keys: keys the
    /// tool no longer owns leave it, keys an older version's file named
    /// join it. The keys this run changes were noted before the change
    /// ([`note_set`]). Writes only what is news.
    pub fn store(host: &Host, consumer: &str, set: BTreeMap<String, String>) -> anyhow::Result<FileChange> {
        if !host.applies() {
            return Ok(FileChange::Unchanged);
        }
        let (runtime, object) = place(consumer);
        let mut record = teardown_record::Record::load(host)?;
        let loaded = record.clone();
        record.retain(|e| match &e.change {
            Change::RuntimeKey {
                runtime: r,
                object: o,
                key,
                after,
                ..
            } if r == runtime && o == object && is_proxy_key(key) => {
                after.as_ref().is_some_and(|v| set.get(key) == Some(v))
            }
            _ => true,
        });
        if let Some(ty) = host.recording() {
            for (key, value) in &set {
                let target = format!("{runtime} {object} key {key}");
                if !record.entries().iter().any(|e| e.change.target() == target) {
                    // From an older version's file: it set the key over
                    // whatever was there, which that file did not keep.
                    record.add(ty, key_change(consumer, key, None, Some(value.clone())))?;
                }
            }
        }
        if record != loaded {
            record.store(host)?;
        }
        host.remove_file(LEGACY_RECORD)
    }
}

fn key_change(consumer: &str, key: &str, before: Option<String>, after: Option<String>) -> Change {
    let (runtime, object) = place(consumer);
    Change::RuntimeKey {
        runtime: runtime.into(),
        object: object.into(),
        key: key.into(),
        before,
        after,
    }
}

/// Note, before they are set, the keys a plan sets, with their values now.
pub fn note_set(
    host: &Host,
    consumer: &str,
    plan: &KeyPlan,
    current: &BTreeMap<String, String>,
) -> anyhow::Result<()> {
    for (key, value) in &plan.set {
        let before = current.get(key).filter(|v| !v.is_empty()).cloned();
        teardown_record::note(host, key_change(consumer, key, before, Some(value.clone())))?;
    }
    Ok(())
}

/// What to change in one consumer's keys.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyPlan {
    pub set: BTreeMap<String, String>,
    pub unset: Vec<String>,
    /// What the tool will have set once the plan is carried out.
    pub record: BTreeMap<String, String>,
}

impl KeyPlan {
    pub fn is_empty(&self) -> bool {
        self.set.is_empty() && self.unset.is_empty()
    }

    /// `set k=v, unset k` for a step's detail.
    pub fn describe(&self, current: &BTreeMap<String, String>) -> String {
        let mut parts: Vec<String> = self
            .set
            .iter()
            .map(|(k, v)| match current.get(k) {
                Some(old) => format!("{k} {old} -> {v}"),
                None => format!("{k}={v}"),
            })
            .collect();
        parts.extend(self.unset.iter().map(|k| format!("unset {k}")));
        parts.join(", ")
    }
}

/// Converge `managed` keys: a wanted value that differs is set (and recorded);
/// a key no longer wanted is unset only if it still holds what the tool
/// recorded setting. A value someone else changed is left alone and forgotten.
pub fn plan_keys(
    managed: &[&str],
    current: &BTreeMap<String, String>,
    wanted: &BTreeMap<String, String>,
    recorded: &BTreeMap<String, String>,
) -> KeyPlan {
    let mut plan = KeyPlan::default();
    for &key in managed {
        let now = current.get(key).filter(|v| !v.is_empty());
        let ours = recorded.get(key);
        match wanted.get(key) {
            Some(want) if now != Some(want) => {
                plan.set.insert(key.to_string(), want.clone());
                plan.record.insert(key.to_string(), want.clone());
            }
            Some(want) => {
                if ours == Some(want) {
                    plan.record.insert(key.to_string(), want.clone());
                }
            }
            None => {
                if ours.is_some() && now == ours {
                    plan.unset.push(key.to_string());
                }
            }
        }
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    const KEYS: [&str; 3] = ["a", "b", "c"];

    #[test]
    fn a_differing_value_is_set_and_recorded() {
        let plan = plan_keys(&KEYS, &map(&[("a", "old")]), &map(&[("a", "new")]), &map(&[]));
        assert_eq!(plan.set, map(&[("a", "new")]));
        assert_eq!(plan.record, map(&[("a", "new")]));
        assert_eq!(plan.describe(&map(&[("a", "old")])), "a old -> new");
    }

    #[test]
    fn a_converged_key_is_no_change_and_stays_recorded() {
        let plan = plan_keys(
            &KEYS,
            &map(&[("a", "v")]),
            &map(&[("a", "v")]),
            &map(&[("a", "v")]),
        );
        assert!(plan.is_empty());
        assert_eq!(plan.record, map(&[("a", "v")]));
    }

    #[test]
    fn a_value_someone_else_set_is_not_claimed() {
        let plan = plan_keys(&KEYS, &map(&[("a", "v")]), &map(&[("a", "v")]), &map(&[]));
        assert!(plan.is_empty());
        assert!(plan.record.is_empty());
    }

    #[test]
    fn a_removed_key_is_unset_only_when_it_holds_what_we_set() {
        let current = map(&[("a", "ours"), ("b", "changed-by-hand"), ("c", "never-ours")]);
        let recorded = map(&[("a", "ours"), ("b", "ours")]);
        let plan = plan_keys(&KEYS, &current, &map(&[]), &recorded);
        assert_eq!(plan.unset, ["a"]);
        assert!(plan.set.is_empty());
        assert!(plan.record.is_empty());
    }
}
