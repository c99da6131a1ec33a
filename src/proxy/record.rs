//! What the tool set in snap's and the runtimes' proxy settings, so that a
//! key removed from the manager config removes what the tool set for it,
//! and nothing an operator set by hand. Kept in a file the tool owns.

use std::collections::BTreeMap;

use crate::host::{FileChange, Host};

pub const RECORD: &str = "/var/lib/container-init/proxy.json";

/// Per consumer (`snap`, `lxc`, `incus`): key → the value the tool set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Record(pub BTreeMap<String, BTreeMap<String, String>>);

impl Record {
    /// An unreadable or damaged record counts as empty: the tool then
    /// forgets what it set (and leaves it in place), which is the safe side.
    pub fn load(host: &Host) -> anyhow::Result<Record> {
        let Some(bytes) = host.read_optional(RECORD)? else {
            return Ok(Record::default());
        };
        match serde_json::from_slice(&bytes) {
            Ok(map) => Ok(Record(map)),
            Err(e) => {
                log::warn!("{RECORD} is not what container-init writes ({e}); starting a new one");
                Ok(Record::default())
            }
        }
    }

    pub fn of(&self, consumer: &str) -> BTreeMap<String, String> {
        self.0.get(consumer).cloned().unwrap_or_default()
    }

    /// Replace one consumer's part and write the file if it changed.
    pub fn store(host: &Host, consumer: &str, set: BTreeMap<String, String>) -> anyhow::Result<FileChange> {
        let mut record = Record::load(host)?;
        if set.is_empty() {
            record.0.remove(consumer);
        } else {
            record.0.insert(consumer.to_string(), set);
        }
        if record.0.is_empty() {
            return host.remove_file(RECORD);
        }
        let text = serde_json::to_string_pretty(&record.0).expect("a map of strings serialises") + "\n";
        host.write_file(RECORD, text.as_bytes(), 0o644)
    }
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
