//! LXD: the daemon up and ready, the bridge `lxdbr0` on a free private /24,
//! a `default` storage pool, and the `default` profile using both. Each part
//! is read first (`lxc query`) and only what differs is changed.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::exit::{Exit, coded};
use crate::host::{CommandLine, Host, Output};
use crate::manager_config::ManagerConfig;
use crate::report::{Outcome, Status};

use super::distro::Distro;
use super::service::Init;
use super::subnet;

pub const BRIDGE: &str = "lxdbr0";
pub const POOL: &str = "default";
const PROFILE: &str = "default";

fn lxc(args: &[&str]) -> CommandLine {
    CommandLine::new("lxc").args(args.iter().copied())
}

fn query(path: &str) -> CommandLine {
    lxc(&["query", path])
}

/// Run a read-only `lxc` query. `None` in a dry run on a host where `lxc`
/// is not installed yet: the plan then creates everything.
fn ask(host: &Host, cmd: &CommandLine) -> anyhow::Result<Option<Output>> {
    match host.query_status(cmd) {
        Ok(out) => Ok(Some(out)),
        Err(_) if !host.applies() => Ok(None),
        Err(err) => Err(err),
    }
}

/// LXD said "not found" (rather than not answering at all).
fn not_found(out: &Output) -> bool {
    out.stderr.to_ascii_lowercase().contains("not found")
}

/// The daemon step. Its probe is the bridge query the network step needs
/// anyway, so a converged run asks LXD once less; the answer is handed on.
pub fn daemon_step(host: &Host, init: Init, distro: Distro) -> anyhow::Result<Outcome<Option<Output>>> {
    let probe = query(&format!("/1.0/networks/{BRIDGE}"));
    let out = ask(host, &probe)?;
    match &out {
        Some(o) if o.success() || not_found(o) => {
            return Ok(Outcome::new(Status::Unchanged, "LXD answers").with_value(out));
        }
        Some(o) => log::info!("LXD does not answer ({}); starting it", o.tail()),
        None => {}
    }
    let start = match (distro, init) {
        (Distro::Ubuntu, _) => CommandLine::new("snap").args(["start", "--enable", "lxd"]),
        (Distro::Debian, Init::Systemd) => {
            CommandLine::new("systemctl").args(["enable", "--now", "lxd.socket", "lxd.service"])
        }
        // Debian's /etc/init.d/lxd raises `ulimit -n` past what many CI VMs and
        // containers allow and then fails; this is its start line without that.
        (Distro::Debian, Init::SysV) => CommandLine::new("start-stop-daemon").args([
            "--start",
            "--quiet",
            "--oknodo",
            "--background",
            "--make-pidfile",
            "--pidfile",
            "/run/lxd.pid",
            "--name",
            "lxd",
            "--startas",
            "/usr/bin/lxd",
            "--",
            "--group",
            "lxd",
            "--logfile=/var/log/lxd/lxd.log",
        ]),
    };
    let wait = CommandLine::new("lxd").args(["waitready", "--timeout=600"]);
    let plan = host.run_all(&[start.clone(), wait])?;
    Ok(Outcome::new(
        Status::of_change(host.applies()),
        format!("started LXD (`{start}`)"),
    )
    .with_plan(plan)
    .with_value(None))
}

#[derive(Debug, Deserialize)]
struct Network {
    #[serde(default)]
    config: BTreeMap<String, String>,
    #[serde(default)]
    managed: bool,
    #[serde(default, rename = "type")]
    kind: String,
}

fn parse<T: for<'de> Deserialize<'de>>(out: &Output, what: &str) -> anyhow::Result<T> {
    serde_json::from_str(&out.stdout).map_err(|e| {
        coded(
            Exit::Os,
            format!("LXD's answer about {what} is not what LXD 5 sends: {e}"),
        )
    })
}

/// What the manager config asks of the bridge, besides its address.
fn wanted_bridge(config: &ManagerConfig) -> BTreeMap<&'static str, String> {
    let mut wanted = BTreeMap::new();
    wanted.insert("ipv4.nat", config.enable_nat.unwrap_or(true).to_string());
    if let Some(mtu) = config.lxc_default_mtu {
        wanted.insert("bridge.mtu", mtu.to_string());
    }
    wanted
}

pub fn network_step(host: &Host, config: &ManagerConfig, probed: Option<Output>) -> anyhow::Result<Outcome> {
    let out = match probed {
        Some(out) => Some(out),
        None => ask(host, &query(&format!("/1.0/networks/{BRIDGE}")))?,
    };
    let wanted = wanted_bridge(config);
    let out = match out {
        Some(out) if out.success() => out,
        other => {
            if let Some(out) = other.filter(|o| !not_found(o) && host.applies()) {
                return Err(crate::host::command_failed(
                    &query(&format!("/1.0/networks/{BRIDGE}")),
                    &out,
                ));
            }
            let used = subnet::used_networks(host)?;
            let net = subnet::free_bridge_subnet(&used)?;
            let address = format!("{}/{}", net.nth(1).expect("a /24 has hosts"), net.prefix());
            let mut create = lxc(&["network", "create", BRIDGE]).arg(format!("ipv4.address={address}"));
            create = create.args(wanted.iter().map(|(k, v)| format!("{k}={v}")));
            create = create.arg("ipv6.address=none");
            let plan = host.run_all(&[create])?;
            let detail = format!("{BRIDGE} {address} nat={} ipv6=none", wanted["ipv4.nat"]);
            return Ok(Outcome::new(Status::of_change(host.applies()), detail).with_plan(plan));
        }
    };
    let network: Network = parse(&out, BRIDGE)?;
    if !network.managed || network.kind != "bridge" {
        return Err(coded(
            Exit::Unavailable,
            format!("{BRIDGE} exists but is not a bridge managed by LXD; remove or rename it and run again"),
        ));
    }
    let mut changes: Vec<String> = Vec::new();
    for (key, value) in &wanted {
        if network.config.get(*key) != Some(value) {
            changes.push(format!("{key}={value}"));
        }
    }
    let address = network.config.get("ipv4.address").cloned().unwrap_or_default();
    let address = if matches!(address.as_str(), "" | "auto" | "none") {
        // An automatic address makes LXD probe other hosts; pick one here.
        let net = subnet::free_bridge_subnet(&subnet::used_networks(host)?)?;
        let chosen = format!("{}/{}", net.nth(1).expect("a /24 has hosts"), net.prefix());
        changes.push(format!("ipv4.address={chosen}"));
        chosen
    } else {
        address
    };
    // IPv6 stays off unless someone configured a real address on purpose.
    if matches!(
        network.config.get("ipv6.address").map(String::as_str),
        None | Some("" | "auto")
    ) {
        changes.push("ipv6.address=none".into());
    }
    let nat = wanted["ipv4.nat"].clone();
    if changes.is_empty() {
        return Ok(Outcome::new(
            Status::Unchanged,
            format!("{BRIDGE} {address} nat={nat}"),
        ));
    }
    let set = lxc(&["network", "set", BRIDGE]).args(changes.iter().cloned());
    let plan = host.run_all(&[set])?;
    Ok(Outcome::new(
        Status::of_change(host.applies()),
        format!("{BRIDGE} {address}: set {}", changes.join(" ")),
    )
    .with_plan(plan))
}

pub fn storage_step(host: &Host) -> anyhow::Result<Outcome> {
    let probe = query(&format!("/1.0/storage-pools/{POOL}"));
    match ask(host, &probe)? {
        Some(out) if out.success() => {
            return Ok(Outcome::new(Status::Unchanged, format!("pool {POOL}")));
        }
        Some(out) if !not_found(&out) && host.applies() => {
            return Err(crate::host::command_failed(&probe, &out));
        }
        _ => {}
    }
    // `dir` works on every file system, needs no extra package, and is the
    // only driver some hosts (no btrfs, lvm or zfs tools) have.
    let plan = host.run_all(&[lxc(&["storage", "create", POOL, "dir"])])?;
    Ok(Outcome::new(
        Status::of_change(host.applies()),
        format!("created pool {POOL} (dir)"),
    )
    .with_plan(plan))
}

#[derive(Debug, Deserialize)]
struct Profile {
    #[serde(default)]
    devices: BTreeMap<String, BTreeMap<String, String>>,
}

pub fn profile_step(host: &Host) -> anyhow::Result<Outcome> {
    let out = host.query(&query(&format!("/1.0/profiles/{PROFILE}")));
    let devices = match out {
        Ok(out) => parse::<Profile>(&out, "the default profile")?.devices,
        // In a dry run on a host where LXD is not up yet, plan from nothing.
        Err(_) if !host.applies() => BTreeMap::new(),
        Err(err) => return Err(err),
    };
    let mut cmds = Vec::new();
    let mut did = Vec::new();
    let dev = |name: &str, key: &str| devices.get(name).and_then(|d| d.get(key)).map(String::as_str);
    let pool = format!("pool={POOL}");
    let root_add = lxc(&[
        "profile", "device", "add", PROFILE, "root", "disk", "path=/", &pool,
    ]);
    match (dev("root", "type"), dev("root", "path"), dev("root", "pool")) {
        (None, _, _) => {
            cmds.push(root_add);
            did.push("added root disk");
        }
        (Some("disk"), Some("/"), Some(POOL)) => {}
        _ => {
            cmds.push(lxc(&["profile", "device", "remove", PROFILE, "root"]));
            cmds.push(root_add);
            did.push("replaced root disk");
        }
    }
    let eth0_add = lxc(&[
        "profile",
        "device",
        "add",
        PROFILE,
        "eth0",
        "nic",
        &format!("network={BRIDGE}"),
        "name=eth0",
    ]);
    match (dev("eth0", "type"), dev("eth0", "network")) {
        (None, _) => {
            cmds.push(eth0_add);
            did.push("added eth0");
        }
        (Some("nic"), Some(BRIDGE)) => {}
        _ => {
            cmds.push(lxc(&["profile", "device", "remove", PROFILE, "eth0"]));
            cmds.push(eth0_add);
            did.push("replaced eth0");
        }
    }
    if cmds.is_empty() {
        return Ok(Outcome::new(
            Status::Unchanged,
            format!("root on {POOL}, eth0 on {BRIDGE}"),
        ));
    }
    let plan = host.run_all(&cmds)?;
    Ok(Outcome::new(Status::of_change(host.applies()), did.join(", ")).with_plan(plan))
}

#[derive(Debug, Deserialize)]
struct NetworkState {
    #[serde(default)]
    state: String,
}

/// Read-only: the API answers and LXD sees its bridge up.
pub fn readiness_step(host: &Host) -> anyhow::Result<Outcome> {
    let out = host.query(&query(&format!("/1.0/networks/{BRIDGE}/state")))?;
    let state: NetworkState = parse(&out, "the bridge's state")?;
    if state.state != "up" {
        return Err(coded(
            Exit::Os,
            format!(
                "LXD answers but reports {BRIDGE} as {:?}; see /var/log/lxd/lxd.log",
                state.state
            ),
        ));
    }
    Ok(Outcome::new(
        Status::Unchanged,
        format!("LXD answers; {BRIDGE} up"),
    ))
}
