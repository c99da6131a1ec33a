//! The DNS and DHCP ports a runtime's dnsmasq needs on its bridge, and who
//! else holds them. bind9 binds every address of the host, a new bridge's
//! too; a second dnsmasq or any resolver bound to all addresses takes the
//! port for every interface. Either way the runtime's dnsmasq cannot start
//! and guests get no address (lxd#543, #1948, #4090, #10874).
//!
//! `/proc/net/udp` does not show the device a socket is bound to
//! (`SO_BINDTODEVICE`); `ss` does (`0.0.0.0%virbr0:67`). Every runtime's
//! dnsmasq holds `0.0.0.0:67` bound to its own bridge that way, so LXD,
//! Incus, lxc-net and libvirt side by side are no clash.

use std::fmt;
use std::net::IpAddr;

use crate::exit::{Exit, coded};
use crate::host::{CommandLine, Host};
use crate::report::{Outcome, Status};

/// DNS: UDP and TCP on the bridge's addresses.
pub const DNS: u16 = 53;
/// DHCP: UDP on the wildcard address, bound to the bridge.
pub const DHCP: u16 = 67;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proto {
    Udp,
    Tcp,
}

impl fmt::Display for Proto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Proto::Udp => "UDP",
            Proto::Tcp => "TCP",
        })
    }
}

/// A process holding a socket, as `ss -p` names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    pub name: String,
    pub pid: u32,
}

/// One listening socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Socket {
    pub proto: Proto,
    /// `None`: every address (`0.0.0.0`, `[::]`, `*`).
    pub ip: Option<IpAddr>,
    /// The device it is bound to, if any.
    pub device: Option<String>,
    pub port: u16,
    /// Empty where `ss` could not see the process (not root).
    pub holders: Vec<Holder>,
    /// The local address as `ss` printed it, for messages.
    pub local: String,
}

/// `0.0.0.0%virbr0:67`, `[fe80::1]%br0:53`, `*:53`, `10.0.3.1:53`.
fn local_address(text: &str) -> Option<(Option<IpAddr>, Option<String>, u16)> {
    let (host, port) = text.rsplit_once(':')?;
    let port = port.parse().ok()?;
    let (addr, device) = match host.rsplit_once('%') {
        // An IPv6 address holds no `%` outside its brackets.
        Some((addr, dev)) if !dev.contains(']') => (addr, Some(dev.to_string())),
        _ => (host, None),
    };
    let addr = addr.trim_start_matches('[').trim_end_matches(']');
    let ip = match addr {
        "*" => None,
        other => {
            let ip: IpAddr = other.parse().ok()?;
            (!ip.is_unspecified()).then_some(ip)
        }
    };
    Some((ip, device, port))
}

/// `users:(("dnsmasq",pid=1541,fd=6),("named",pid=9,fd=3))`.
fn holders(text: &str) -> Vec<Holder> {
    let Some(inner) = text.strip_prefix("users:(") else {
        return Vec::new();
    };
    inner
        .split("),(")
        .filter_map(|part| {
            let part = part.trim_matches(|c| c == '(' || c == ')');
            let (name, rest) = part.strip_prefix('"')?.split_once("\",")?;
            let pid = rest
                .split(',')
                .find_map(|kv| kv.strip_prefix("pid="))?
                .parse()
                .ok()?;
            Some(Holder {
                name: name.to_string(),
                pid,
            })
        })
        .collect()
}

/// `ss -H -lnutp` output; lines it cannot read are left out.
pub fn parse(text: &str) -> Vec<Socket> {
    text.lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let (proto, rest) = match *fields.first()? {
                "udp" => (Proto::Udp, &fields[1..]),
                "tcp" => (Proto::Tcp, &fields[1..]),
                _ => return None,
            };
            // State, Recv-Q, Send-Q, local, peer, process.
            let local = rest.get(3)?;
            let (ip, device, port) = local_address(local)?;
            Some(Socket {
                proto,
                ip,
                device,
                port,
                holders: rest.get(5).map(|p| holders(p)).unwrap_or_default(),
                local: local.to_string(),
            })
        })
        .collect()
}

/// The listening UDP and TCP sockets; `None` where `ss` is not installed.
pub fn read(host: &Host) -> anyhow::Result<Option<Vec<Socket>>> {
    let out = host.query_installed(&CommandLine::new("ss").args(["-H", "-lnutp"]))?;
    Ok(out.filter(|o| o.success()).map(|o| parse(&o.stdout)))
}

/// Whether something serves `port` over UDP to guests on `bridge` (whose
/// address is `ip`, where known): a socket bound to the bridge, to its
/// address, or to every address of every device. `/proc/net/udp` cannot tell a dnsmasq
/// bound to another bridge (`0.0.0.0%lxdbr0:67`) from one for this bridge;
/// `ss` can.
pub fn serves(sockets: &[Socket], bridge: &str, ip: Option<IpAddr>, port: u16) -> bool {
    sockets.iter().any(|s| {
        s.proto == Proto::Udp
            && s.port == port
            && match (s.ip, s.device.as_deref()) {
                (_, Some(device)) if device != bridge => false,
                (None, _) => true,
                (Some(bound), _) => Some(bound) == ip,
            }
    })
}

/// A socket that keeps the runtime's dnsmasq off a port of the bridge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clash {
    pub socket: Socket,
    /// The holders' command lines, where /proc shows them.
    pub commands: Vec<String>,
}

impl fmt::Display for Clash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = &self.socket;
        write!(f, "{} {}", s.proto, s.local)?;
        if s.holders.is_empty() {
            return f.write_str(" is held by a process that only root can see");
        }
        let who: Vec<String> = s
            .holders
            .iter()
            .zip(self.commands.iter().map(Some).chain(std::iter::repeat(None)))
            .map(|(h, cmd)| match cmd {
                Some(cmd) if !cmd.is_empty() => format!("{} (pid {}: {cmd})", h.name, h.pid),
                _ => format!("{} (pid {})", h.name, h.pid),
            })
            .collect();
        write!(f, " is held by {}", who.join(", "))
    }
}

/// The command line of `pid`, its arguments joined by spaces, control
/// characters shown as `?`, at most 200 characters of it.
fn command_line(host: &Host, pid: u32) -> String {
    let raw = host
        .read_optional(&format!("/proc/{pid}/cmdline"))
        .ok()
        .flatten()
        .unwrap_or_default();
    let text: String = String::from_utf8_lossy(&raw)
        .split('\0')
        .filter(|a| !a.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    crate::config::limits::cut(&text)
}

/// Whether `holder` is the runtime's own dnsmasq for `bridge`: it holds a
/// socket bound to the bridge (its DHCP socket), or it is a dnsmasq whose
/// command line names the bridge (LXD, Incus, lxc-net: `--interface=`).
fn is_runtimes(sockets: &[Socket], holder: &Holder, command: &str, bridge: &str) -> bool {
    let bound_here = sockets
        .iter()
        .any(|s| s.device.as_deref() == Some(bridge) && s.holders.iter().any(|h| h.pid == holder.pid));
    bound_here || (holder.name == "dnsmasq" && command.split([' ', '=']).any(|word| word == bridge))
}

/// What keeps `bridge`'s dnsmasq off its ports: DNS (UDP or TCP 53) on one of
/// `addresses` held by anything but the runtime's dnsmasq, and a socket on
/// every address for DNS or DHCP (UDP 67) bound to no device.
pub fn clashes(host: &Host, sockets: &[Socket], bridge: &str, addresses: &[IpAddr]) -> Vec<Clash> {
    let mut out = Vec::new();
    for s in sockets {
        let wildcard_clash = s.ip.is_none()
            && s.device.is_none()
            && (s.port == DNS || (s.port == DHCP && s.proto == Proto::Udp));
        let on_bridge = s.port == DNS
            && s.ip.is_some_and(|ip| addresses.contains(&ip))
            && s.device.as_deref().is_none_or(|d| d == bridge);
        if !wildcard_clash && !on_bridge {
            continue;
        }
        let commands: Vec<String> = s.holders.iter().map(|h| command_line(host, h.pid)).collect();
        if on_bridge {
            // Not knowing who holds it (not root), it is most likely the
            // runtime's own: no verdict on a guess.
            if s.holders.is_empty()
                || s.holders
                    .iter()
                    .zip(&commands)
                    .all(|(h, cmd)| is_runtimes(sockets, h, cmd, bridge))
            {
                continue;
            }
        }
        out.push(Clash {
            socket: s.clone(),
            commands,
        });
    }
    out
}

/// How to free the ports, for a message.
pub fn fix(clashes: &[Clash], bridge: &str) -> String {
    let mut names: Vec<&str> = clashes
        .iter()
        .flat_map(|c| c.socket.holders.iter().map(|h| h.name.as_str()))
        .collect();
    names.sort_unstable();
    names.dedup();
    let who = if names.is_empty() {
        "the process (`ss -lnutp` as root names it)".to_string()
    } else {
        names.join(", ")
    };
    format!(
        "stop {who}, or bind it to its own addresses or interfaces only (bind9: `listen-on` without {bridge}'s address; dnsmasq: `bind-interfaces` with `except-interface={bridge}`), then restart the runtime's network"
    )
}

pub const STEP: &str = "dns-dhcp-ports";

/// Before the runtime starts its bridge's dnsmasq: a socket on every
/// address for DNS or DHCP would make that start fail (LXD's `network
/// create` with dnsmasq's "Address already in use"), so it is 69 here,
/// naming the process, rather than the runtime's error later. Its value is
/// the sockets it read, for the data-path checks: what holds the bridge's
/// address before the runtime starts holds it after.
pub fn step(host: &Host, bridge: &str) -> anyhow::Result<Outcome<Option<Vec<Socket>>>> {
    let Some(sockets) = read(host)? else {
        return Ok(Outcome::new(
            Status::Skipped,
            "`ss` is not installed: cannot tell who holds the DNS and DHCP ports",
        )
        .with_value(None));
    };
    let found = clashes(host, &sockets, bridge, &[]);
    if found.is_empty() {
        return Ok(Outcome::new(
            Status::Unchanged,
            format!("no other process holds DNS or DHCP on every address, {bridge}'s included"),
        )
        .with_value(Some(sockets)));
    }
    let said: Vec<String> = found.iter().map(Clash::to_string).collect();
    Err(coded(
        Exit::Unavailable,
        format!(
            "{}: {bridge}'s dnsmasq could not start, so guests would get no address; fix: {}",
            said.join("; "),
            fix(&found, bridge)
        ),
    ))
}

#[cfg(test)]
#[allow(clippy::disallowed_methods, clippy::disallowed_types)] // the test builds a /proc under its root
mod tests {
    use super::*;

    #[test]
    fn a_dnsmasq_bound_to_another_bridge_does_not_serve_this_one() {
        let sockets = parse(SIDE_BY_SIDE);
        let lxc: Option<IpAddr> = "10.0.3.1".parse().ok();
        assert!(serves(&sockets, "lxcbr0", lxc, DHCP));
        assert!(serves(&sockets, "lxcbr0", lxc, DNS));
        // Only LXD's dnsmasq left: lxcbr0 has no DHCP server.
        let lxd_only: Vec<Socket> = sockets
            .iter()
            .filter(|s| s.holders.iter().all(|h| h.pid == 1541))
            .cloned()
            .collect();
        assert!(!serves(&lxd_only, "lxcbr0", lxc, DHCP));
        assert!(!serves(&lxd_only, "lxcbr0", lxc, DNS));
        assert!(serves(&lxd_only, "lxdbr0", "10.147.0.1".parse().ok(), DHCP));
        assert!(serves(&sockets, "lxcbr0", None, DHCP));
        assert!(!serves(&sockets, "lxcbr0", None, DNS));
        // A server on every address of every device serves every bridge.
        let wildcard = parse("udp UNCONN 0 0 0.0.0.0:67 0.0.0.0:* users:((\"dhcpd\",pid=9,fd=4))\n");
        assert!(serves(&wildcard, "lxcbr0", lxc, DHCP));
    }

    /// LXD, lxc-net and libvirt side by side, systemd-resolved on loopback,
    /// and the IPv6 sockets of a dnsmasq with router advertisements.
    const SIDE_BY_SIDE: &str = "\
udp UNCONN 0      0          10.147.0.1:53   0.0.0.0:* users:((\"dnsmasq\",pid=1541,fd=6))
udp UNCONN 0      0      0.0.0.0%lxdbr0:67   0.0.0.0:* users:((\"dnsmasq\",pid=1541,fd=4))
udp UNCONN 0      0            10.0.3.1:53   0.0.0.0:* users:((\"dnsmasq\",pid=2000,fd=6))
udp UNCONN 0      0      0.0.0.0%lxcbr0:67   0.0.0.0:* users:((\"dnsmasq\",pid=2000,fd=4))
udp UNCONN 0      0       192.168.122.1:53   0.0.0.0:* users:((\"dnsmasq\",pid=3000,fd=6))
udp UNCONN 0      0      0.0.0.0%virbr0:67   0.0.0.0:* users:((\"dnsmasq\",pid=3000,fd=4))
udp UNCONN 0      0       127.0.0.53%lo:53   0.0.0.0:* users:((\"systemd-resolve\",pid=400,fd=13))
udp UNCONN 0      0         [fd00:9::1]:53      [::]:* users:((\"dnsmasq\",pid=1541,fd=10))
udp UNCONN 0      0            [::]%lxdbr0:547  [::]:* users:((\"dnsmasq\",pid=1541,fd=7))
udp UNCONN 0      0  [fe80::94b4:4bff:fe9d:6573]%lxdbr0:53 [::]:* users:((\"dnsmasq\",pid=1541,fd=16))
tcp LISTEN 0      32         10.147.0.1:53   0.0.0.0:* users:((\"dnsmasq\",pid=1541,fd=7))
tcp LISTEN 0      128           0.0.0.0:22   0.0.0.0:* users:((\"sshd\",pid=500,fd=3))
";

    fn host() -> (tempfile::TempDir, Host) {
        let dir = tempfile::tempdir().unwrap();
        let host = Host::new(dir.path(), crate::host::Mode::Apply);
        (dir, host)
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn ss_lines_give_address_device_port_and_holders() {
        let sockets = parse(SIDE_BY_SIDE);
        assert_eq!(sockets.len(), 12);
        assert_eq!(sockets[1].ip, None);
        assert_eq!(sockets[1].device.as_deref(), Some("lxdbr0"));
        assert_eq!(sockets[1].port, 67);
        assert_eq!(
            sockets[1].holders,
            vec![Holder {
                name: "dnsmasq".into(),
                pid: 1541
            }]
        );
        assert_eq!(sockets[7].ip, Some(ip("fd00:9::1")));
        assert_eq!(sockets[9].device.as_deref(), Some("lxdbr0"));
        assert_eq!(sockets[10].proto, Proto::Tcp);
        let none = parse("tcp LISTEN 0 4096 *:53 *:*\nnonsense\nudp x\n");
        assert_eq!(none.len(), 1);
        assert!(none[0].holders.is_empty() && none[0].ip.is_none());
        assert_eq!(
            holders("users:((\"named\",pid=9,fd=3),(\"named\",pid=9,fd=4))").len(),
            2
        );
    }

    #[test]
    fn runtimes_side_by_side_do_not_clash() {
        let (_dir, host) = host();
        let sockets = parse(SIDE_BY_SIDE);
        for (bridge, addrs) in [
            ("lxdbr0", ["10.147.0.1", "fd00:9::1"].as_slice()),
            ("lxcbr0", &["10.0.3.1"]),
            ("virbr0", &["192.168.122.1"]),
        ] {
            let addrs: Vec<IpAddr> = addrs.iter().map(|a| ip(a)).collect();
            let found = clashes(&host, &sockets, bridge, &addrs);
            assert!(found.is_empty(), "{bridge}: {found:?}");
        }
        // LXD's dnsmasq on an address lxcbr0 claimed would be another's.
        assert_eq!(clashes(&host, &sockets, "lxcbr0", &[ip("fd00:9::1")]).len(), 1);
    }

    #[test]
    fn a_wildcard_dns_socket_or_bind9_on_the_bridge_clashes() {
        let (dir, host) = host();
        std::fs::create_dir_all(dir.path().join("proc/77")).unwrap();
        std::fs::write(dir.path().join("proc/77/cmdline"), "/usr/sbin/named\0-u\0bind\0").unwrap();
        let text = format!(
            "{SIDE_BY_SIDE}udp UNCONN 0 0 0.0.0.0:53 0.0.0.0:* users:((\"python3\",pid=88,fd=3))\n\
             tcp LISTEN 0 10 10.0.3.1:53 0.0.0.0:* users:((\"named\",pid=77,fd=20))\n\
             udp UNCONN 0 0 0.0.0.0%eth0:67 0.0.0.0:* users:((\"dhcpd\",pid=99,fd=3))\n"
        );
        let sockets = parse(&text);
        let found = clashes(&host, &sockets, "lxcbr0", &[ip("10.0.3.1")]);
        let said: Vec<String> = found.iter().map(Clash::to_string).collect();
        assert_eq!(
            said,
            [
                "UDP 0.0.0.0:53 is held by python3 (pid 88)",
                "TCP 10.0.3.1:53 is held by named (pid 77: /usr/sbin/named -u bind)"
            ]
        );
        assert!(fix(&found, "lxcbr0").starts_with("stop named, python3, "));
        // The wildcard clashes for every bridge; bind9's only for its own.
        assert_eq!(clashes(&host, &sockets, "lxdbr0", &[ip("10.147.0.1")]).len(), 1);
    }

    #[test]
    fn an_unseen_holder_of_the_bridge_address_is_no_verdict() {
        let (_dir, host) = host();
        let sockets = parse("udp UNCONN 0 0 10.0.3.1:53 0.0.0.0:*\nudp UNCONN 0 0 *:67 *:*\n");
        let found = clashes(&host, &sockets, "lxcbr0", &[ip("10.0.3.1")]);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(
            found[0].to_string(),
            "UDP *:67 is held by a process that only root can see"
        );
    }
}
