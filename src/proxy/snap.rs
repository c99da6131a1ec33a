//! snap's own proxy (Ubuntu's LXD comes from the snap store):
//! `snap set system proxy.http=… proxy.https=… proxy.no-proxy=…`, read back
//! with `snap get -d system` and changed only where it differs.

use std::collections::BTreeMap;

use super::{Kind, ProxySettings, converge};
use crate::host::{CommandLine, Host};
use crate::report::Outcome;

/// The consumer's name in the record.
pub const CONSUMER: &str = "snap";

pub fn key(kind: Kind) -> &'static str {
    match kind {
        Kind::Http => "proxy.http",
        Kind::Https => "proxy.https",
        Kind::NoProxy => "proxy.no-proxy",
    }
}

const MANAGED: [&str; 3] = ["proxy.http", "proxy.https", "proxy.no-proxy"];

pub fn wanted(settings: &ProxySettings) -> BTreeMap<String, String> {
    settings.keyed(key)
}

/// snap's proxy settings now. `None` when snap cannot be asked (in a dry run
/// on a host without snapd).
pub fn current(host: &Host) -> anyhow::Result<Option<BTreeMap<String, String>>> {
    // The whole system config, not `proxy`: snapd answers that one with an
    // error (in English) where no proxy option was ever set, and the whole
    // document always, so that its exit status alone tells.
    let cmd = CommandLine::new("snap").args(["get", "-d", "system"]);
    let out = match host.query(&cmd) {
        Ok(out) => out,
        Err(_) if !host.applies() => return Ok(None),
        Err(err) => return Err(err),
    };
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).map_err(|e| {
        crate::exit::coded(
            crate::exit::Exit::Os,
            format!("`{cmd}` did not print a JSON document ({e}); check snapd"),
        )
    })?;
    let mut map = BTreeMap::new();
    if let Some(proxy) = doc.get("proxy").and_then(|p| p.as_object()) {
        for (k, v) in proxy {
            if let Some(v) = v.as_str() {
                map.insert(format!("proxy.{k}"), v.to_string());
            }
        }
    }
    Ok(Some(map))
}

pub fn step(host: &Host, settings: &ProxySettings) -> anyhow::Result<Outcome> {
    let wanted = wanted(settings);
    converge::keys(
        host,
        converge::Consumer {
            name: CONSUMER,
            shown: "snap",
            managed: &MANAGED,
        },
        &wanted,
        || Ok(current(host)?.unwrap_or_default()),
        |plan| {
            let mut cmds = Vec::new();
            if !plan.set.is_empty() {
                cmds.push(
                    CommandLine::new("snap")
                        .args(["set", "system"])
                        .args(plan.set.iter().map(|(k, v)| format!("{k}={v}"))),
                );
            }
            if !plan.unset.is_empty() {
                cmds.push(
                    CommandLine::new("snap")
                        .args(["unset", "system"])
                        .args(plan.unset.iter().cloned()),
                );
            }
            cmds
        },
    )
}
