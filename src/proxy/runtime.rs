//! The runtime's own downloads (images): LXD's and Incus's
//! `core.proxy_http`, `core.proxy_https` and `core.proxy_ignore_hosts`,
//! read from `<client> query /1.0` and changed key by key. The client is
//! `lxc` for LXD and `incus` for Incus; both take the same keys.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::{Kind, ProxySettings, converge};
use crate::exit::{Exit, coded};
use crate::host::{CommandLine, Host};
use crate::report::Outcome;

pub fn key(kind: Kind) -> &'static str {
    match kind {
        Kind::Http => "core.proxy_http",
        Kind::Https => "core.proxy_https",
        Kind::NoProxy => "core.proxy_ignore_hosts",
    }
}

const MANAGED: [&str; 3] = ["core.proxy_http", "core.proxy_https", "core.proxy_ignore_hosts"];

/// The runtime a client talks to, for messages.
pub fn runtime_name(client: &str) -> &'static str {
    match client {
        "incus" => "Incus",
        _ => "LXD",
    }
}

pub fn wanted(settings: &ProxySettings) -> BTreeMap<String, String> {
    settings.keyed(key)
}

#[derive(Deserialize)]
struct Server {
    #[serde(default)]
    config: BTreeMap<String, serde_json::Value>,
}

/// The runtime's client on the system's own daemon, bounded by the runtime
/// timeout.
fn client_command(client: &str, args: &[&str]) -> CommandLine {
    CommandLine::new(client)
        .args(args.iter().copied())
        .on_runtime(runtime_name(client))
}

/// The server's `core.proxy_*` keys now; `None` when it does not answer in a
/// dry run (not installed or not started yet).
pub fn current(host: &Host, client: &str) -> anyhow::Result<Option<BTreeMap<String, String>>> {
    let cmd = client_command(client, &["query", "/1.0"]);
    let out = match host.query(&cmd) {
        Ok(out) => out,
        // A hung daemon is 75 in a dry run too, never an empty plan.
        Err(err) if !host.applies() && crate::exit::exit_for(&err) != Exit::TempFail => return Ok(None),
        Err(err) => return Err(err),
    };
    let server: Server = serde_json::from_str(&out.stdout).map_err(|e| {
        coded(
            Exit::Os,
            format!(
                "{}'s answer to `{cmd}` is not its server document: {e}",
                runtime_name(client)
            ),
        )
    })?;
    Ok(Some(
        server
            .config
            .into_iter()
            .filter(|(k, _)| MANAGED.contains(&k.as_str()))
            .filter_map(|(k, v)| v.as_str().map(|v| (k, v.to_string())))
            .collect(),
    ))
}

/// The `runtime-proxy` step, once the daemon answers.
pub fn step(host: &Host, client: &str, settings: &ProxySettings) -> anyhow::Result<Outcome> {
    let wanted = wanted(settings);
    converge::keys(
        host,
        converge::Consumer {
            name: client,
            shown: runtime_name(client),
            managed: &MANAGED,
        },
        &wanted,
        || Ok(current(host, client)?.unwrap_or_default()),
        |plan| {
            // One key per command: `config set KEY VALUE` is the form every
            // LXD and Incus release takes for server keys.
            let set = plan
                .set
                .iter()
                .map(|(k, v)| client_command(client, &["config", "set", k, v]));
            let unset = plan
                .unset
                .iter()
                .map(|k| client_command(client, &["config", "unset", k]));
            set.chain(unset).collect()
        },
    )
}
