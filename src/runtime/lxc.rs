//! Classic LXC: `lxc-net` running with its bridge up, and the container NIC
//! MTU in /etc/lxc/default.conf.

use crate::commands::lxc_net::{LXC_NET_PATH, assignments};
use crate::host::{CommandLine, Host};
use crate::network::ipv6::BridgeAddress6;
use crate::network::ports::{self, Socket};
use crate::report::{Outcome, Status};

use super::service::{self, Init};

pub const DEFAULT_CONF: &str = "/etc/lxc/default.conf";
/// lxc-net's own record that it started (`$varrun/network_up`).
const NETWORK_UP_FLAG: &str = "/run/lxc/network_up";
const MTU_KEY: &str = "lxc.net.0.mtu";

/// The bridge lxc-net manages, from its defaults file.
pub fn bridge(host: &Host) -> anyhow::Result<String> {
    let text = host.read_optional(LXC_NET_PATH)?.unwrap_or_default();
    let values = assignments(&String::from_utf8_lossy(&text));
    Ok(values
        .into_iter()
        .rev()
        .find(|(k, _)| k == "LXC_BRIDGE")
        .map(|(_, v)| v)
        .filter(|v| v.parse::<crate::network::addr::BridgeName>().is_ok())
        .unwrap_or_else(|| "lxcbr0".to_string()))
}

/// lxc-net running: its bridge up and, where `ss` shows the sockets, its
/// dnsmasq serving DHCP there. A bridge left up without its dnsmasq (a
/// killed dnsmasq, a bridge made by hand or left by an earlier run) would
/// take guests that never get an address; lxc-net is restarted then, as it
/// is when the bridge lacks the wanted `ipv6`: lxc-net reads its file only
/// when it starts.
pub fn lxc_net_step(
    host: &Host,
    init: Init,
    sockets: Option<&[Socket]>,
    ipv6: Option<BridgeAddress6>,
) -> anyhow::Result<Outcome> {
    let bridge = bridge(host)?;
    let up = crate::network::link::is_up(host, &bridge);
    let unserved = up && sockets.is_some_and(|s| !ports::serves(s, &bridge, None, ports::DHCP));
    let stale_v6 = ipv6.filter(|v6| !crate::network::ipv6::has_address(host, &bridge, v6.address));
    if up && !unserved && stale_v6.is_none() {
        return Ok(Outcome::new(
            Status::Unchanged,
            format!("lxc-net running, {bridge} up"),
        ));
    }
    // lxc-net's start refuses while its flag file says it runs, even when
    // its bridge and dnsmasq are long gone (a killed run, an lxc-net in a
    // namespace that shared /run); its restart clears the flag first. So a
    // bridge that is up (whatever serves it), a flag left behind, or a
    // running unit is restarted.
    let flag_left = !up && host.exists(NETWORK_UP_FLAG);
    let plan = if up || flag_left || service::is_active(host, init, "lxc-net")? {
        if flag_left {
            service::note_started(host, init, &["lxc-net"])?;
        }
        let cmd = match init {
            Init::Systemd => CommandLine::new("systemctl").args(["restart", "lxc-net"]),
            Init::SysV => CommandLine::new("service").args(["lxc-net", "restart"]),
        }
        .on_runtime("lxc-net");
        host.run_all(&[cmd])?
    } else {
        service::start(host, init, "lxc-net")?
    };
    let detail = match stale_v6 {
        _ if unserved => format!("restarted lxc-net: {bridge} was up but no DHCP server listened on it"),
        Some(v6) if up => format!("restarted lxc-net so that {bridge} gets {v6}"),
        _ if flag_left => format!("restarted lxc-net for {bridge}: {NETWORK_UP_FLAG} was left without it"),
        _ => format!("started lxc-net for {bridge}"),
    };
    Ok(Outcome::new(Status::of_change(host.applies()), detail).with_plan(plan))
}

/// `/etc/lxc/default.conf` with exactly one `lxc.net.0.mtu` line.
pub fn with_mtu(conf: &str, mtu: u32) -> String {
    let wanted = format!("{MTU_KEY} = {mtu}");
    let mut out = Vec::new();
    let mut placed = false;
    for line in conf.lines() {
        let key = line.split('=').next().unwrap_or("").trim();
        if key == MTU_KEY {
            if !placed {
                out.push(wanted.clone());
                placed = true;
            }
        } else {
            out.push(line.to_string());
        }
    }
    if !placed {
        // Beside the other settings of the first NIC, so a reader finds it.
        let at = out
            .iter()
            .rposition(|l| l.trim_start().starts_with("lxc.net.0."))
            .map_or(out.len(), |i| i + 1);
        out.insert(at, wanted);
    }
    out.join("\n") + "\n"
}

pub fn mtu_step(host: &Host, mtu: Option<u32>) -> anyhow::Result<Outcome> {
    let Some(mtu) = mtu else {
        return Ok(Outcome::new(
            Status::Skipped,
            "no lxc-default-mtu in the manager config",
        ));
    };
    let current = host.read_optional(DEFAULT_CONF)?.unwrap_or_default();
    let wanted = with_mtu(&String::from_utf8_lossy(&current), mtu);
    let change = crate::record::write_file(host, DEFAULT_CONF, wanted.as_bytes(), 0o644)?;
    let status = Status::if_changed(change.is_change(), host.applies());
    Ok(Outcome::new(status, format!("{MTU_KEY} = {mtu} in {DEFAULT_CONF}")).with_plan(change.plan(host)))
}

/// Read-only: the LXC tools answer and the bridge is up.
pub fn readiness_step(host: &Host) -> anyhow::Result<Outcome> {
    host.query(&CommandLine::new("lxc-ls").arg("--version"))?;
    let bridge = bridge(host)?;
    crate::network::link::bridge_up(host, &bridge)?;
    Ok(Outcome::new(
        Status::Unchanged,
        format!("lxc tools answer; bridge {bridge} up"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mtu_line_replaced_or_added_once() {
        let debian = "lxc.net.0.type = veth\nlxc.net.0.link = lxcbr0\nlxc.net.0.flags = up\n\nlxc.apparmor.profile = generated\n";
        let once = with_mtu(debian, 1450);
        assert_eq!(
            once,
            "lxc.net.0.type = veth\nlxc.net.0.link = lxcbr0\nlxc.net.0.flags = up\nlxc.net.0.mtu = 1450\n\nlxc.apparmor.profile = generated\n"
        );
        assert_eq!(with_mtu(&once, 1450), once);
        let changed = with_mtu(&format!("{once}lxc.net.0.mtu=9000\n"), 1500);
        assert_eq!(changed.matches("lxc.net.0.mtu").count(), 1);
        assert!(changed.contains("lxc.net.0.mtu = 1500\n"));
        assert_eq!(with_mtu("", 1500), "lxc.net.0.mtu = 1500\n");
    }
}
