//! Readiness is about the data path, not only the daemon: a guest on the
//! bridge gets an address (the bridge is up with its IPv4 address, a DHCP
//! and DNS server listens there) and a way out (forwarding where NAT is, no
//! firewall rule or policy dropping its traffic, an MTU the uplink carries).
//! Read-only: `setup` runs it last, `check` runs it first, so that both
//! judge a host by the same facts.

use std::net::{Ipv4Addr, Ipv6Addr};

use serde::Deserialize;

use crate::check_result::{Check, Verdict, check};
use crate::exit::{Exit, coded};
use crate::host::Host;
use crate::network::addr::Ipv4Net;
use crate::network::firewall::ruleset::Table;
use crate::network::firewall::{self, Blocked, Class, Owner, Scope};
use crate::network::mtu;
use crate::network::ports;

/// A runtime's bridge, as the data-path checks need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bridge {
    pub name: String,
    /// Guests reach the outside through NAT on the host.
    pub nat: bool,
    /// Guests get IPv6 from the bridge's router advertisements (`bridge-ipv6`).
    pub ipv6: bool,
    /// ... and reach the outside through NAT66.
    pub nat66: bool,
}

impl Bridge {
    pub fn new(name: &str, nat: bool) -> Bridge {
        Bridge {
            name: name.to_string(),
            nat,
            ipv6: false,
            nat66: false,
        }
    }

    /// The bridge with IPv6 for its guests, NAT66 or not.
    pub fn with_ipv6(self, nat66: bool) -> Bridge {
        Bridge {
            ipv6: true,
            nat66,
            ..self
        }
    }
}

/// When the checks run: before `setup` a missing bridge or forwarding that
/// the runtime turns on is only a warning; after it, it is a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Preflight,
    Ready,
}

#[derive(Debug, Clone, Deserialize)]
struct Link {
    ifname: String,
    #[serde(default)]
    flags: Vec<String>,
    #[serde(default)]
    mtu: Option<u32>,
    #[serde(default)]
    addr_info: Vec<Addr>,
}

#[derive(Debug, Clone, Deserialize)]
struct Addr {
    #[serde(default)]
    family: String,
    #[serde(default)]
    local: String,
    #[serde(default)]
    prefixlen: u8,
    #[serde(default)]
    scope: String,
}

/// The interfaces and their IPv4 addresses, from `ip -j addr show`.
fn links(host: &Host) -> anyhow::Result<Vec<Link>> {
    let out = host.query(&crate::network::subnet::addr_show())?;
    serde_json::from_str(&out.stdout).map_err(|e| {
        coded(
            Exit::Os,
            format!("`ip -j addr show` printed something that is not its JSON: {e}; update iproute2"),
        )
    })
}

/// What the data-path checks read from processes: the interfaces and the
/// firewall rulesets. Read once by the coexistence step and handed on to
/// readiness when that step changed nothing, so that a converged run asks
/// each tool once.
#[derive(Debug, Clone)]
pub struct Facts {
    links: Vec<Link>,
    pub tables: Vec<Table>,
    /// Listening sockets; `None` where `ss` is not installed.
    sockets: Option<Vec<ports::Socket>>,
}

impl Facts {
    pub fn read(host: &Host) -> anyhow::Result<Facts> {
        let mut facts = Facts::read_with(host, None)?;
        facts.sockets = ports::read(host)?;
        Ok(facts)
    }

    /// The facts, with listening sockets already read.
    pub fn read_with(host: &Host, sockets: Option<Vec<ports::Socket>>) -> anyhow::Result<Facts> {
        Ok(Facts {
            links: links(host)?,
            tables: firewall::read(host)?,
            sockets,
        })
    }

    /// The IPv4 address and prefix of one interface, if it has one.
    pub fn address_of(&self, interface: &str) -> Option<(Ipv4Addr, u8)> {
        self.links.iter().find(|l| l.ifname == interface).and_then(ipv4)
    }

    /// ip6tables' tables too, for a bridge with IPv6.
    pub fn with_v6_for(mut self, host: &Host, bridge: &Bridge) -> anyhow::Result<Facts> {
        if bridge.ipv6 {
            let v6 = firewall::read_v6(host, &self.tables)?;
            self.tables = firewall::with_v6(self.tables, v6);
        }
        Ok(self)
    }
}

/// The interface's IPv6 address guests route through: global or unique
/// local, not link-local.
fn ipv6(link: &Link) -> Option<(Ipv6Addr, u8)> {
    link.addr_info
        .iter()
        .filter(|a| a.family == "inet6" && a.scope != "link")
        .filter_map(|a| Some((a.local.parse::<Ipv6Addr>().ok()?, a.prefixlen)))
        .find(|(ip, _)| ip.segments()[0] & 0xffc0 != 0xfe80)
}

/// What drops `bridge`'s traffic, IPv4 (over `scope`) and, where the bridge
/// has IPv6, IPv6 too.
pub fn blocked_both(host: &Host, bridge: &Bridge, scope: &Scope, tables: &[Table]) -> Vec<Blocked> {
    let br_nf = br_netfilter(host);
    let mut out = firewall::blocked(tables, scope, &Class::all(bridge.nat, br_nf));
    if bridge.ipv6 {
        let v6 = Scope {
            address: None,
            v6: true,
            ..*scope
        };
        let br_nf6 = read_text(host, "/proc/sys/net/bridge/bridge-nf-call-ip6tables").trim() == "1";
        out.extend(firewall::blocked(
            tables,
            &v6,
            &Class::all_v6(bridge.nat66, br_nf6),
        ));
    }
    out
}

fn ipv4(link: &Link) -> Option<(Ipv4Addr, u8)> {
    link.addr_info
        .iter()
        .filter(|a| a.family == "inet")
        .find_map(|a| Some((a.local.parse().ok()?, a.prefixlen)))
}

fn network_of(addr: Ipv4Addr, prefix: u8) -> Option<Ipv4Net> {
    let prefix = prefix.clamp(8, 30);
    let mask = u32::MAX << (32 - prefix);
    Ipv4Net::new(Ipv4Addr::from(u32::from(addr) & mask), prefix).ok()
}

/// UDP sockets bound on this port, to the address or to all addresses
/// (dnsmasq's DHCP socket is bound to 0.0.0.0:67 even with --bind-interfaces).
fn udp_listens(table: &str, addr: Ipv4Addr, port: u16) -> bool {
    table.lines().skip(1).any(|line| {
        let Some(local) = line.split_whitespace().nth(1) else {
            return false;
        };
        let Some((ip, p)) = local.split_once(':') else {
            return false;
        };
        let (Ok(ip), Ok(p)) = (u32::from_str_radix(ip, 16), u16::from_str_radix(p, 16)) else {
            return false;
        };
        // The kernel prints the address as the machine word it holds.
        let ip = Ipv4Addr::from(ip.to_ne_bytes());
        p == port && (ip == addr || ip.is_unspecified())
    })
}

fn read_text(host: &Host, path: &str) -> String {
    host.read_optional(path)
        .ok()
        .flatten()
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default()
}

/// Whether bridged traffic between guests passes through iptables.
pub fn br_netfilter(host: &Host) -> bool {
    read_text(host, "/proc/sys/net/bridge/bridge-nf-call-iptables").trim() == "1"
}

/// Every data-path check for `bridge`, one line each.
pub fn check_bridge(host: &Host, bridge: &Bridge, stage: Stage) -> Vec<Check> {
    match Facts::read(host).and_then(|f| f.with_v6_for(host, bridge)) {
        Ok(facts) => check_with(host, bridge, stage, &facts),
        Err(err) => vec![check(
            "bridge-up",
            Verdict::Fail,
            err.to_string(),
            "install iproute2, and nftables or iptables",
        )],
    }
}

/// [`check_bridge`] over facts already read.
pub fn check_with(host: &Host, bridge: &Bridge, stage: Stage, facts: &Facts) -> Vec<Check> {
    let name = bridge.name.as_str();
    let soft = if stage == Stage::Ready {
        Verdict::Fail
    } else {
        Verdict::Warn
    };
    let mut out = Vec::new();
    let links = &facts.links;
    let uplink = mtu::uplink(host).ok().flatten();
    let link = links.iter().find(|l| l.ifname == name);
    let address = link.and_then(ipv4);
    match (link, address) {
        (None, _) => out.push(check(
            "bridge-up",
            soft,
            format!("{name} does not exist"),
            "run setup; it creates the bridge",
        )),
        (Some(l), _) if !l.flags.iter().any(|f| f == "UP") => out.push(check(
            "bridge-up",
            soft,
            format!("{name} is down"),
            format!("start the runtime's network, or `ip link set {name} up`"),
        )),
        (Some(_), None) => out.push(check(
            "bridge-up",
            soft,
            format!("{name} is up but has no IPv4 address"),
            "restart the runtime's network; see its logs",
        )),
        (Some(_), Some((ip, prefix))) => {
            out.push(check(
                "bridge-up",
                Verdict::Pass,
                format!("{name} is up with {ip}/{prefix}"),
                "",
            ));
            // Without `ss`: any socket on the port, whichever device it is
            // bound to.
            let udp = match facts.sockets {
                Some(_) => String::new(),
                None => read_text(host, "/proc/net/udp"),
            };
            let listens = |port: u16| match &facts.sockets {
                Some(sockets) => ports::serves(sockets, name, Some(ip.into()), port),
                None => udp_listens(&udp, ip, port),
            };
            let missing: Vec<&str> = [("DHCP", ports::DHCP), ("DNS", ports::DNS)]
                .into_iter()
                .filter(|(_, port)| !listens(*port))
                .map(|(what, _)| what)
                .collect();
            out.push(if missing.is_empty() {
                check(
                    "dhcp-dns",
                    Verdict::Pass,
                    format!("a DHCP and DNS server (dnsmasq) listens on {ip}"),
                    "",
                )
            } else {
                check(
                    "dhcp-dns",
                    soft,
                    format!("nothing listens for {} on {ip}", missing.join(" or ")),
                    "restart the runtime's network so that it starts dnsmasq; see its logs",
                )
            });
            out.push(subnet(
                links,
                name,
                ip,
                prefix,
                &read_text(host, "/proc/net/route"),
            ));
        }
    }
    let addresses: Vec<std::net::IpAddr> = address.map(|(ip, _)| ip.into()).into_iter().collect();
    out.push(ports_check(host, name, &addresses, facts.sockets.as_deref()));
    if bridge.nat {
        let on = read_text(host, "/proc/sys/net/ipv4/ip_forward").trim() == "1";
        out.push(if on {
            check("forwarding", Verdict::Pass, "net.ipv4.ip_forward=1 for NAT", "")
        } else if stage == Stage::Preflight {
            check(
                "forwarding",
                Verdict::Warn,
                format!("net.ipv4.ip_forward=0; the runtime turns it on when it starts {name} with NAT"),
                "run setup",
            )
        } else {
            check(
                "forwarding",
                soft,
                format!("net.ipv4.ip_forward=0 while {name} uses NAT: guests cannot get out"),
                "run setup again (it turns forwarding on for a NAT bridge and persists it), or `sysctl -w net.ipv4.ip_forward=1`",
            )
        });
    }
    if bridge.ipv6 {
        out.extend(ipv6_checks(host, bridge, link, soft));
    }
    let scope = Scope {
        bridge: name,
        address,
        uplink: uplink.as_deref(),
        v6: false,
    };
    out.push(firewall_check(host, bridge, &scope, &facts.tables));
    if let Some(l) = link {
        out.push(mtu_check(host, l, uplink.as_deref()));
    }
    out
}

/// Nothing else holds the DNS and DHCP ports the runtime's dnsmasq needs
/// on the bridge.
fn ports_check(
    host: &Host,
    bridge: &str,
    addresses: &[std::net::IpAddr],
    sockets: Option<&[ports::Socket]>,
) -> Check {
    let Some(sockets) = sockets else {
        return check(
            "dns-dhcp-ports",
            Verdict::Warn,
            "`ss` is not installed: cannot tell who holds the DNS and DHCP ports",
            "install iproute2",
        );
    };
    let clashes = ports::clashes(host, sockets, bridge, addresses);
    if clashes.is_empty() {
        return check(
            "dns-dhcp-ports",
            Verdict::Pass,
            format!("no other process holds {bridge}'s DNS or DHCP port"),
            "",
        );
    }
    let said: Vec<String> = clashes.iter().map(ports::Clash::to_string).collect();
    check(
        "dns-dhcp-ports",
        Verdict::Fail,
        format!(
            "{}: {bridge}'s dnsmasq cannot serve DNS and DHCP to guests",
            said.join("; ")
        ),
        ports::fix(&clashes, bridge),
    )
}

/// The bridge's IPv6: its address, router advertisements sent on it, and
/// IPv6 forwarding for guests to get out.
fn ipv6_checks(host: &Host, bridge: &Bridge, link: Option<&Link>, soft: Verdict) -> Vec<Check> {
    let name = &bridge.name;
    let mut out = Vec::new();
    match link.and_then(ipv6) {
        Some((ip, prefix)) => {
            out.push(check(
                "bridge-ipv6",
                Verdict::Pass,
                format!("{name} has {ip}/{prefix}"),
                "",
            ));
            out.push(match ipv6_router_advertisements(host, name) {
                Some(pid) => check(
                    "router-advertisements",
                    Verdict::Pass,
                    format!("dnsmasq (pid {pid}) sends router advertisements on {name}"),
                    "",
                ),
                // Told from dnsmasq's command line and config file: a
                // runtime that sends them another way is not failed for it.
                None => check(
                    "router-advertisements",
                    Verdict::Warn,
                    format!("no dnsmasq found that sends router advertisements on {name}: guests may get no IPv6 address"),
                    "restart the runtime's network; see its logs",
                ),
            });
        }
        None => out.push(check(
            "bridge-ipv6",
            soft,
            format!("{name} has no IPv6 address, though bridge-ipv6 asks for one"),
            "restart the runtime's network so that it adds the address, and run setup again",
        )),
    }
    let forwarding = read_text(host, crate::network::ipv6_forwarding::FORWARDING_PROC);
    out.push(if forwarding.trim() == "1" {
        check(
            "ipv6-forwarding",
            Verdict::Pass,
            "net.ipv6.conf.all.forwarding=1 for IPv6 guests",
            "",
        )
    } else {
        check(
            "ipv6-forwarding",
            soft,
            format!(
                "net.ipv6.conf.all.forwarding={}: IPv6 guests on {name} cannot get out",
                forwarding.trim()
            ),
            "run setup again (it turns IPv6 forwarding on for NAT66 and persists it), or `sysctl -w net.ipv6.conf.all.forwarding=1`",
        )
    });
    out
}

/// The pid of a dnsmasq that serves `bridge` and sends router advertisements
/// (lxc-net's `ra-only` range, LXD's and libvirt's `enable-ra`), from its
/// command line and the config file it names.
fn ipv6_router_advertisements(host: &Host, bridge: &str) -> Option<String> {
    const RA_WORDS: [&str; 4] = ["enable-ra", "ra-only", "ra-stateless", "slaac"];
    for pid in host.entries("/proc") {
        if !pid.chars().all(|c| c.is_ascii_digit()) {
            continue;
        }
        let Some(raw) = host.read_optional(&format!("/proc/{pid}/cmdline")).ok().flatten() else {
            continue;
        };
        let args: Vec<String> = raw
            .split(|b| *b == 0)
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        if !args.first().is_some_and(|a| a.ends_with("dnsmasq")) {
            continue;
        }
        let mut text = args.join("\n");
        for arg in &args {
            if let Some(conf) = arg.strip_prefix("--conf-file=")
                && conf.starts_with('/')
                && let Some(content) = host.read_optional(conf).ok().flatten()
            {
                text.push('\n');
                text.push_str(&String::from_utf8_lossy(&content));
            }
        }
        let serves = text.lines().any(|l| {
            let l = l.trim().trim_start_matches("--");
            l == format!("interface={bridge}")
                || l.starts_with(&format!("dhcp-range=::,constructor:{bridge},"))
        }) || args.windows(2).any(|w| w[0] == "-i" && w[1] == bridge);
        if serves && RA_WORDS.iter().any(|w| text.contains(w)) {
            return Some(pid);
        }
    }
    None
}

fn firewall_check(host: &Host, bridge: &Bridge, scope: &Scope, tables: &[Table]) -> Check {
    let blocked = blocked_both(host, bridge, scope, tables);
    if blocked.is_empty() {
        return check(
            "firewall",
            Verdict::Pass,
            format!("no rule or policy drops {}'s traffic", bridge.name),
            "",
        );
    }
    let (reason, fix) = describe(&bridge.name, &blocked, tables);
    check("firewall", Verdict::Fail, reason, fix)
}

/// What drops the bridge's traffic, grouped by owner, and how to open it.
pub fn describe(bridge: &str, blocked: &[Blocked], tables: &[Table]) -> (String, String) {
    let mut owners: Vec<Owner> = blocked.iter().map(|b| b.owner).collect();
    owners.sort();
    owners.dedup();
    let mut reasons = Vec::new();
    let mut fixes = Vec::new();
    for owner in owners {
        let mine: Vec<&Blocked> = blocked.iter().filter(|b| b.owner == owner).collect();
        let mut classes: Vec<String> = mine.iter().map(|b| b.class.to_string()).collect();
        classes.dedup();
        reasons.push(format!(
            "{owner} drops {bridge}'s {} ({})",
            classes.join(", "),
            mine[0].drop
        ));
        fixes.push(firewall::by_hand(owner, bridge, &mine, tables));
    }
    let auto = if blocked.iter().all(firewall::openable) {
        "let setup open it (manage-firewall: true), or run "
    } else {
        ""
    };
    (reasons.join("; "), format!("{auto}{}", fixes.join(", ")))
}

/// The bridge's network must be its own: an address or route of another
/// interface in it sends guests' or the host's traffic the wrong way.
fn subnet(links: &[Link], bridge: &str, ip: Ipv4Addr, prefix: u8, routes: &str) -> Check {
    let Some(net) = network_of(ip, prefix) else {
        return check("subnet", Verdict::Pass, format!("{ip}/{prefix}"), "");
    };
    let mut clashes = Vec::new();
    for l in links.iter().filter(|l| l.ifname != bridge) {
        if let Some((addr, p)) = ipv4(l)
            && network_of(addr, p).is_some_and(|other| other.overlaps(&net))
            && !addr.is_loopback()
        {
            clashes.push(format!("{} has {addr}/{p}", l.ifname));
        }
    }
    for line in routes.lines().skip(1) {
        let f: Vec<&str> = line.split_whitespace().collect();
        let (Some(iface), Some(dest), Some(mask)) = (f.first(), f.get(1), f.get(7)) else {
            continue;
        };
        let (Ok(dest), Ok(mask)) = (u32::from_str_radix(dest, 16), u32::from_str_radix(mask, 16)) else {
            continue;
        };
        let (dest, mask) = (
            Ipv4Addr::from(dest.to_ne_bytes()),
            Ipv4Addr::from(mask.to_ne_bytes()),
        );
        let bits = u32::from(mask).count_ones() as u8;
        if *iface == bridge || bits == 0 {
            continue;
        }
        if network_of(dest, bits).is_some_and(|other| other.overlaps(&net)) {
            clashes.push(format!("a route to {dest}/{bits} via {iface}"));
        }
    }
    clashes.dedup();
    if clashes.is_empty() {
        check(
            "subnet",
            Verdict::Pass,
            format!("{net} is used by {bridge} alone"),
            "",
        )
    } else {
        check(
            "subnet",
            Verdict::Fail,
            format!("{bridge}'s {net} collides: {}", clashes.join(", ")),
            "move the bridge to a free subnet (bridge-subnet in the config file, or delete it and run setup again)",
        )
    }
}

fn mtu_check(host: &Host, link: &Link, uplink: Option<&str>) -> Check {
    let name = &link.ifname;
    let (Some(bridge_mtu), Some(uplink)) = (link.mtu, uplink) else {
        return check(
            "mtu",
            Verdict::Pass,
            "no default route: no uplink to compare with",
            "",
        );
    };
    let Some(uplink_mtu) = mtu::of(host, uplink) else {
        return check("mtu", Verdict::Warn, format!("cannot read {uplink}'s MTU"), "");
    };
    if bridge_mtu <= uplink_mtu {
        return check(
            "mtu",
            Verdict::Pass,
            format!("{name} MTU {bridge_mtu} <= {uplink} MTU {uplink_mtu}"),
            "",
        );
    }
    // A bridge without ports reports 1500 and takes its ports' MTU once
    // guests join: only the guests' NIC MTU matters then.
    let empty = host.entries(&format!("/sys/class/net/{name}/brif")).is_empty();
    let verdict = if empty { Verdict::Warn } else { Verdict::Fail };
    check(
        "mtu",
        verdict,
        format!(
            "{name} MTU {bridge_mtu} is larger than {uplink}'s {uplink_mtu}: large packets from guests are lost"
        ),
        format!("set lxc-default-mtu: {uplink_mtu} in the manager config and run setup again"),
    )
}

/// `setup`'s verdict on the checks: the first failure is exit 69 with its
/// cause and fix; otherwise a one-line summary.
pub fn verdict(bridge: &str, checks: &[Check]) -> anyhow::Result<String> {
    if let Some(failed) = checks.iter().find(|c| c.result == Verdict::Fail) {
        return Err(coded(
            Exit::Unavailable,
            format!(
                "guests on {bridge} would be cut off: {}: {}; fix: {}",
                failed.name, failed.reason, failed.fix
            ),
        ));
    }
    let mut parts: Vec<String> = checks
        .iter()
        .filter(|c| c.result == Verdict::Pass)
        .map(|c| c.reason.clone())
        .collect();
    parts.extend(
        checks
            .iter()
            .filter(|c| c.result == Verdict::Warn)
            .map(|c| format!("warning: {}", c.reason)),
    );
    Ok(parts.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dnsmasq_sockets_are_found_in_proc_net_udp() {
        let table = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n\
                     1: 0100000A:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 1 2 0000 0\n\
                     2: 00000000:0043 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 1 2 0000 0\n";
        let ip = Ipv4Addr::new(10, 0, 0, 1);
        if cfg!(target_endian = "little") {
            assert!(udp_listens(table, ip, 53));
            assert!(udp_listens(table, ip, 67));
            assert!(!udp_listens(table, Ipv4Addr::new(10, 0, 0, 2), 53));
            assert!(!udp_listens(table, ip, 68));
        }
        assert!(!udp_listens("garbage\nx y\n1: zz:zz\n", ip, 53));
    }

    #[test]
    fn the_bridges_ipv6_is_its_global_or_ula_address_not_link_local() {
        let links: Vec<Link> = serde_json::from_str(
            r#"[{"ifname": "lxdbr0", "addr_info": [
                {"family": "inet", "local": "10.1.2.1", "prefixlen": 24},
                {"family": "inet6", "local": "fe80::1", "prefixlen": 64, "scope": "link"},
                {"family": "inet6", "local": "fd42:7:8:9::1", "prefixlen": 64, "scope": "global"}]},
               {"ifname": "lxcbr0", "addr_info": [
                {"family": "inet6", "local": "fe80::2", "prefixlen": 64, "scope": "link"}]}]"#,
        )
        .unwrap();
        assert_eq!(ipv6(&links[0]), Some(("fd42:7:8:9::1".parse().unwrap(), 64)));
        assert_eq!(ipv6(&links[1]), None);
    }

    #[test]
    fn a_failure_is_69_with_cause_and_fix() {
        let checks = vec![
            check("bridge", Verdict::Pass, "lxdbr0 is up with 10.1.2.1/24", ""),
            check("firewall", Verdict::Fail, "Docker drops it", "run this"),
        ];
        let err = verdict("lxdbr0", &checks).unwrap_err();
        assert_eq!(crate::exit::exit_for(&err), Exit::Unavailable);
        assert_eq!(
            err.to_string(),
            "guests on lxdbr0 would be cut off: firewall: Docker drops it; fix: run this"
        );
        assert_eq!(
            verdict("x", &checks[..1]).unwrap(),
            "lxdbr0 is up with 10.1.2.1/24"
        );
    }
}
