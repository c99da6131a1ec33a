//! Teardown's side of LXD and Incus: the objects setup created (the bridge,
//! the pool, the profile's devices) removed, and the keys it changed set
//! back, each only while the daemon still shows it as setup left it.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::host::{CommandLine, Host};
use crate::record::Taken;

use super::lxd_family::{self, Runtime};

/// LXD sends `null` for an empty list or map.
fn or_empty<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

#[derive(Debug, Default, Deserialize)]
struct Object {
    /// The server's config has values other than strings.
    #[serde(default, deserialize_with = "or_empty")]
    config: BTreeMap<String, serde_json::Value>,
    #[serde(default, deserialize_with = "or_empty")]
    devices: BTreeMap<String, BTreeMap<String, String>>,
    #[serde(default, deserialize_with = "or_empty")]
    used_by: Vec<String>,
}

/// The object's document, or `None` where the daemon says it does not exist.
fn read(host: &Host, runtime: Runtime, path: &str) -> anyhow::Result<Option<Object>> {
    let cmd = runtime.query(path);
    let out = host.query_status(&cmd)?;
    if out.success() {
        return lxd_family::parse(&out, path).map(Some);
    }
    if lxd_family::absent(host, runtime, path)? {
        return Ok(None);
    }
    Err(crate::host::command_failed(&cmd, &out))
}

fn run(host: &Host, cmds: Vec<CommandLine>, detail: String) -> anyhow::Result<Taken> {
    let plan = host.run_all(&cmds)?;
    Ok(Taken::Back { detail, plan })
}

/// What uses an object besides the profile devices this run takes back
/// (`taken`, `PROFILE DEVICE`): in a dry run those still show.
fn other_users(
    host: &Host,
    runtime: Runtime,
    used_by: Vec<String>,
    key: &str,
    name: &str,
    taken: &[String],
) -> anyhow::Result<Vec<String>> {
    let mut others = Vec::new();
    for user in used_by {
        let Some(profile) = user
            .split('?')
            .next()
            .and_then(|u| u.strip_prefix("/1.0/profiles/"))
        else {
            others.push(user);
            continue;
        };
        let Some(found) = read(host, runtime, &format!("/1.0/profiles/{profile}"))? else {
            continue;
        };
        let using = found
            .devices
            .iter()
            .filter(|(_, keys)| keys.get(key).map(String::as_str) == Some(name))
            .any(|(device, _)| !taken.contains(&format!("{profile} {device}")));
        if using {
            others.push(user);
        }
    }
    Ok(others)
}

/// Remove an object setup created: `network`, `storage-pool` or
/// `profile-device` (`PROFILE DEVICE`).
pub fn remove_object(
    host: &Host,
    runtime: Runtime,
    object: &str,
    name: &str,
    taken: &[String],
) -> anyhow::Result<Taken> {
    let rt = runtime.flavor.name;
    match object {
        "network" => {
            let Some(network) = read(host, runtime, &format!("/1.0/networks/{name}"))? else {
                return Ok(Taken::AlreadyBack(format!("{rt} has no network {name}")));
            };
            let users = other_users(host, runtime, network.used_by, "network", name, taken)?;
            if !users.is_empty() {
                return Ok(Taken::Left(format!(
                    "{rt}'s network {name} is still used by {}; left in place",
                    users.join(", ")
                )));
            }
            run(
                host,
                vec![runtime.client(&["network", "delete", name])],
                format!("deleted {rt}'s network {name}"),
            )
        }
        "storage-pool" => {
            let Some(pool) = read(host, runtime, &format!("/1.0/storage-pools/{name}"))? else {
                return Ok(Taken::AlreadyBack(format!("{rt} has no storage pool {name}")));
            };
            let users = other_users(host, runtime, pool.used_by, "pool", name, taken)?;
            if !users.is_empty() {
                // Setup puts nothing in a pool: whatever is there is someone's.
                return Ok(Taken::Left(format!(
                    "{rt}'s storage pool {name} holds or serves what setup did not put there ({}); left in place with it",
                    users.join(", ")
                )));
            }
            run(
                host,
                vec![runtime.client(&["storage", "delete", name])],
                format!("deleted {rt}'s storage pool {name}"),
            )
        }
        "profile-device" => {
            let (profile, device) = name.split_once(' ').unwrap_or(("default", name));
            let Some(found) = read(host, runtime, &format!("/1.0/profiles/{profile}"))? else {
                return Ok(Taken::AlreadyBack(format!("{rt} has no profile {profile}")));
            };
            if !found.devices.contains_key(device) {
                return Ok(Taken::AlreadyBack(format!(
                    "{rt}'s profile {profile} has no device {device}"
                )));
            }
            run(
                host,
                vec![runtime.client(&["profile", "device", "remove", profile, device])],
                format!("removed device {device} from {rt}'s profile {profile}"),
            )
        }
        other => Ok(Taken::Left(format!(
            "{rt} object {other} {name} is not one this version takes back; left in place"
        ))),
    }
}

/// Where a key of `object` is read, and the words that set and unset it.
struct KeyPlace {
    path: String,
    set: Vec<String>,
    unset: Vec<String>,
    device: Option<String>,
}

fn place(object: &str) -> Option<KeyPlace> {
    let words: Vec<&str> = object.split(' ').collect();
    let owned = |w: &[&str]| w.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    Some(match words[..] {
        ["server"] => KeyPlace {
            path: "/1.0".into(),
            set: owned(&["config", "set"]),
            unset: owned(&["config", "unset"]),
            device: None,
        },
        ["network", name] => KeyPlace {
            path: format!("/1.0/networks/{name}"),
            set: owned(&["network", "set", name]),
            unset: owned(&["network", "unset", name]),
            device: None,
        },
        ["storage-pool", name] => KeyPlace {
            path: format!("/1.0/storage-pools/{name}"),
            set: owned(&["storage", "set", name]),
            unset: owned(&["storage", "unset", name]),
            device: None,
        },
        ["profile", name] => KeyPlace {
            path: format!("/1.0/profiles/{name}"),
            set: owned(&["profile", "set", name]),
            unset: owned(&["profile", "unset", name]),
            device: None,
        },
        ["profile-device", profile, device] => KeyPlace {
            path: format!("/1.0/profiles/{profile}"),
            set: owned(&["profile", "device", "set", profile, device]),
            unset: owned(&["profile", "device", "unset", profile, device]),
            device: Some(device.to_string()),
        },
        _ => return None,
    })
}

/// Set a key back to `before`, while it holds `after`.
pub fn restore_key(
    host: &Host,
    runtime: Runtime,
    object: &str,
    key: &str,
    before: Option<&str>,
    after: Option<&str>,
) -> anyhow::Result<Taken> {
    let rt = runtime.flavor.name;
    let Some(place) = place(object) else {
        return Ok(Taken::Left(format!(
            "{rt} {object} is not an object this version takes keys back on; {key} left as it is"
        )));
    };
    let Some(doc) = read(host, runtime, &place.path)? else {
        return Ok(Taken::AlreadyBack(format!("{rt} has no {object} any more")));
    };
    let values = match &place.device {
        Some(device) => match doc.devices.get(device) {
            Some(keys) => keys.clone(),
            None => return Ok(Taken::AlreadyBack(format!("{rt} has no {object} any more"))),
        },
        None => doc
            .config
            .into_iter()
            .filter_map(|(k, v)| Some((k, v.as_str()?.to_string())))
            .collect(),
    };
    let now = values.get(key).map(String::as_str).filter(|v| !v.is_empty());
    let shown = |v: Option<&str>| v.map_or_else(|| "(unset)".to_string(), str::to_string);
    if now == before {
        return Ok(Taken::AlreadyBack(format!("{object} {key} is {}", shown(now))));
    }
    if now != after {
        return Ok(Taken::ChangedSince(format!(
            "{rt} {object} {key} is {} now, setup left {}; left as it is",
            shown(now),
            shown(after)
        )));
    }
    let mut words = match before {
        Some(value) if place.path == "/1.0" => {
            let mut w = place.set.clone();
            w.extend([key.to_string(), value.to_string()]);
            w
        }
        Some(value) => {
            let mut w = place.set.clone();
            w.push(format!("{key}={value}"));
            w
        }
        None => {
            let mut w = place.unset.clone();
            w.push(key.to_string());
            w
        }
    };
    let args: Vec<&str> = words.iter_mut().map(|w| w.as_str()).collect();
    run(
        host,
        vec![runtime.client(&args)],
        format!("{rt} {object} {key} {} -> {}", shown(after), shown(before)),
    )
}
