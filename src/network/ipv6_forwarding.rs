//! IPv6 forwarding without losing the host's own IPv6 route. With
//! forwarding on, the kernel ignores router advertisements on an interface
//! whose `accept_ra` is 1; a host whose default route came from one loses it
//! when the route's lifetime ends (LXD sets `accept_ra=2` for this reason,
//! lxd#12501; libvirt refuses to start an IPv6 network until it is so).
//! Every runtime turns IPv6 forwarding on when it starts a bridge with IPv6,
//! so this step runs before any of them: such interfaces get `accept_ra=2`,
//! now and in a sysctl.d file of our own, and forwarding goes on there too
//! when the bridge has NAT66. Interfaces whose advertisements a daemon
//! handles in user space (systemd-networkd sets `accept_ra=0` and installs
//! the route itself) keep their route through it and are left alone.

use serde::Deserialize;

use crate::exit::{Exit, coded};
use crate::host::{CommandLine, Host};
use crate::network::addr::BridgeName;
use crate::network::nat_forwarding::kernel_value;
use crate::record;
use crate::report::{Outcome, Status};

pub const STEP: &str = "ipv6-forwarding";

/// Ours alone, rewritten whole; apart from `forwarding`'s file, which that
/// command rewrites whole with its own keys. It sorts before that one, so
/// that `accept_ra=2` is in place before forwarding at boot.
pub const PERSIST_PATH: &str = "/etc/sysctl.d/60-container-init-ipv6.conf";

pub const FORWARDING_KEY: &str = "net.ipv6.conf.all.forwarding";
pub const FORWARDING_PROC: &str = "/proc/sys/net/ipv6/conf/all/forwarding";

const HEADER: &str = "# Written by container-init (setup with bridge-ipv6); rewritten whole on each change.\n\
                      # Interfaces whose IPv6 default route comes from router advertisements keep\n\
                      # accepting them with forwarding on (accept_ra = 2).\n";

/// An IPv6 default route as `ip -j -6 route show default` prints it.
#[derive(Debug, Deserialize)]
struct Route {
    #[serde(default)]
    dev: Option<String>,
    #[serde(default)]
    protocol: Option<String>,
    #[serde(default)]
    nexthops: Vec<Nexthop>,
}

#[derive(Debug, Deserialize)]
struct Nexthop {
    #[serde(default)]
    dev: Option<String>,
}

/// Who handles the router advertisements an interface's default route came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RaUplink {
    /// The kernel, with `accept_ra=1`: forwarding would make it stop.
    Kernel(BridgeName),
    /// The kernel, already with `accept_ra=2`.
    KernelKept(BridgeName),
    /// A daemon in user space (`accept_ra=0`): systemd-networkd, NetworkManager.
    UserSpace(BridgeName),
}

/// `net/ipv6/conf/IF/accept_ra`, with slashes: an interface name may hold a dot.
pub fn accept_ra_key(interface: &BridgeName) -> String {
    format!("net/ipv6/conf/{interface}/accept_ra")
}

/// The interfaces whose IPv6 default route came from a router
/// advertisement (`proto ra`), and who handles those.
pub fn ra_uplinks(host: &Host) -> anyhow::Result<Vec<RaUplink>> {
    let out = host.query(&CommandLine::new("ip").args(["-j", "-6", "route", "show", "default"]))?;
    let text = out.stdout.trim();
    let routes: Vec<Route> = if text.is_empty() {
        Vec::new()
    } else {
        serde_json::from_str(text).map_err(|e| {
            coded(
                Exit::Os,
                format!("`ip -j -6 route show default` printed something that is not its JSON: {e}; update iproute2"),
            )
        })?
    };
    let mut devices: Vec<String> = Vec::new();
    for route in routes.iter().filter(|r| r.protocol.as_deref() == Some("ra")) {
        let devs = route
            .dev
            .iter()
            .chain(route.nexthops.iter().filter_map(|n| n.dev.as_ref()));
        for dev in devs {
            if !devices.contains(dev) {
                devices.push(dev.clone());
            }
        }
    }
    let mut out = Vec::new();
    for dev in devices {
        let Ok(name) = dev.parse::<BridgeName>() else {
            log::warn!(
                "leaving accept_ra of the interface {dev:?} alone: its name is not one this tool writes"
            );
            continue;
        };
        let value = kernel_value(host, &record::proc_path(&accept_ra_key(&name)));
        out.push(match value.as_str() {
            "2" => RaUplink::KernelKept(name),
            "0" => RaUplink::UserSpace(name),
            _ => RaUplink::Kernel(name),
        });
    }
    Ok(out)
}

/// Our file: `accept_ra = 2` for each of `interfaces`, then forwarding
/// where it is wanted.
fn persisted_file(interfaces: &[String], forwarding: bool) -> String {
    let mut out = String::from(HEADER);
    for key in interfaces {
        out.push_str(&format!("{key} = 2\n"));
    }
    if forwarding {
        out.push_str(&format!("{FORWARDING_KEY} = 1\n"));
    }
    out
}

/// The `accept_ra` keys our file holds now.
fn persisted_keys(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, _)| k.trim().to_string())
        .filter(|k| k.starts_with("net/ipv6/conf/") && k.ends_with("/accept_ra"))
        .filter(|k| {
            k.trim_start_matches("net/ipv6/conf/")
                .trim_end_matches("/accept_ra")
                .parse::<BridgeName>()
                .is_ok()
        })
        .collect()
}

/// `accept_ra=2` on every interface the kernel takes its IPv6 default route
/// from, then IPv6 forwarding when `nat66`; both now and in our file.
pub fn step(host: &Host, bridge: &str, nat66: bool) -> anyhow::Result<Outcome> {
    if !host.exists(FORWARDING_PROC) {
        return Err(coded(
            Exit::Unavailable,
            format!(
                "bridge-ipv6 is set but IPv6 is disabled on this host ({FORWARDING_PROC} does not exist); enable IPv6 (ipv6.disable=0, net.ipv6.conf.all.disable_ipv6=0) or set bridge-ipv6: none"
            ),
        ));
    }
    let uplinks = ra_uplinks(host)?;
    let mut did = Vec::new();
    let mut kept = Vec::new();
    let mut plan = Vec::new();
    let mut keys: Vec<String> = Vec::new();
    for uplink in &uplinks {
        match uplink {
            RaUplink::Kernel(name) => {
                let key = accept_ra_key(name);
                let proc = record::proc_path(&key);
                let was = kernel_value(host, &proc);
                if host.applies() {
                    record::write_sysctl(host, &key, &was, "2")?;
                } else {
                    plan.push(format!("write 2 to {proc}"));
                }
                did.push(format!("{name} accept_ra=2 (was {was}) so that it keeps its default route from router advertisements"));
                keys.push(key);
            }
            RaUplink::KernelKept(name) => {
                let key = accept_ra_key(name);
                record::sysctl_converged(host, &key)?;
                kept.push(format!("{name} accept_ra=2"));
                keys.push(key);
            }
            RaUplink::UserSpace(name) => kept.push(format!(
                "{name}'s router advertisements are handled in user space (accept_ra=0, systemd-networkd): left alone"
            )),
        }
    }
    if nat66 {
        let now = kernel_value(host, FORWARDING_PROC);
        if now == "1" {
            record::sysctl_converged(host, FORWARDING_KEY)?;
            kept.push(format!("{FORWARDING_KEY}=1"));
        } else {
            if host.applies() {
                record::write_sysctl(host, FORWARDING_KEY, &now, "1")?;
            } else {
                plan.push(format!("write 1 to {FORWARDING_PROC}"));
            }
            did.push(format!("{FORWARDING_KEY}=1 (was {now}) for {bridge}'s NAT66"));
        }
    }
    // Interfaces persisted by an earlier run stay: their route may only be
    // gone for now (a cable out), and comes back through the same advertisements.
    let current = host
        .read_optional(PERSIST_PATH)?
        .map(|b| String::from_utf8_lossy(&b).into_owned());
    let mut all = current.as_deref().map(persisted_keys).unwrap_or_default();
    for key in keys {
        if !all.contains(&key) {
            all.push(key);
        }
    }
    all.sort();
    let forwarding_persisted = nat66
        || current
            .as_deref()
            .and_then(|t| crate::commands::forwarding::persisted_value(t, FORWARDING_KEY))
            .is_some_and(|v| v == "1");
    if !all.is_empty() || forwarding_persisted {
        let change = record::write_file(
            host,
            PERSIST_PATH,
            persisted_file(&all, forwarding_persisted).as_bytes(),
            0o644,
        )?;
        if change.is_change() {
            did.push(format!("persisted in {PERSIST_PATH}"));
        }
        plan.extend(change.plan(host));
    }
    if did.is_empty() {
        let detail = if kept.is_empty() {
            "no IPv6 default route from router advertisements; nothing to keep".to_string()
        } else {
            kept.join("; ")
        };
        return Ok(Outcome::new(Status::Unchanged, detail));
    }
    did.extend(kept);
    Ok(Outcome::new(Status::of_change(host.applies()), did.join("; ")).with_plan(plan))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_lists_accept_ra_before_forwarding_and_reads_back() {
        let keys = vec![
            "net/ipv6/conf/eth0.100/accept_ra".to_string(),
            "net/ipv6/conf/eth1/accept_ra".to_string(),
        ];
        let text = persisted_file(&keys, true);
        assert!(text.ends_with(
            "net/ipv6/conf/eth0.100/accept_ra = 2\nnet/ipv6/conf/eth1/accept_ra = 2\nnet.ipv6.conf.all.forwarding = 1\n"
        ));
        assert_eq!(persisted_keys(&text), keys);
        // A line someone slipped in with a name this tool would not write is not carried on.
        let hostile = format!("{text}net/ipv6/conf/$(id)/accept_ra = 2\nnet/ipv6/conf/../x/accept_ra = 2\n");
        assert_eq!(persisted_keys(&hostile), keys);
        assert!(!persisted_file(&[], false).contains(FORWARDING_KEY));
    }

    #[test]
    fn keys_use_slashes_so_a_dotted_name_stays_one_part() {
        let name: BridgeName = "eth0.100".parse().unwrap();
        assert_eq!(accept_ra_key(&name), "net/ipv6/conf/eth0.100/accept_ra");
        assert_eq!(
            record::proc_path(&accept_ra_key(&name)),
            "/proc/sys/net/ipv6/conf/eth0.100/accept_ra"
        );
    }
}
