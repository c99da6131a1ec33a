//! A private IPv4 /24 for a new bridge that overlaps nothing the host has.
//! LXD's own `lxd init --auto` probes candidates and gives up on some hosts
//! ("Failed to automatically find an unused IPv4 subnet"); this looks only at
//! the host's addresses and routes and sends nothing on the network.

use crate::exit::{Exit, coded};
use crate::host::{CommandLine, Host};
use crate::net::{BridgeAddress, Ipv4Net};

/// Networks already in use: every IPv4 address's network and every route
/// other than the default one.
pub fn used_networks(host: &Host) -> anyhow::Result<Vec<Ipv4Net>> {
    let addrs = host.query(&CommandLine::new("ip").args(["-4", "-o", "addr", "show"]))?;
    let routes = host.query(&CommandLine::new("ip").args(["-4", "route", "show", "table", "all"]))?;
    Ok(parse_used(&addrs.stdout, &routes.stdout))
}

pub fn parse_used(addr_output: &str, route_output: &str) -> Vec<Ipv4Net> {
    let mut used = Vec::new();
    for line in addr_output.lines() {
        // "2: eth0    inet 10.0.2.15/24 brd ... scope global eth0"
        let mut words = line.split_whitespace();
        if words.any(|w| w == "inet")
            && let Some(cidr) = words.next()
            && let Some(net) = network_of(cidr)
        {
            used.push(net);
        }
    }
    for line in route_output.lines() {
        let mut words = line.split_whitespace();
        let mut first = words.next();
        // "local 10.0.0.1 dev ...", "broadcast ...", "unreachable 10.9.0.0/16"
        if matches!(
            first,
            Some("local" | "broadcast" | "unreachable" | "blackhole" | "prohibit" | "unicast" | "throw")
        ) {
            first = words.next();
        }
        match first {
            None | Some("default") => {}
            Some(dest) => {
                let dest = if dest.contains('/') {
                    dest.to_string()
                } else {
                    format!("{dest}/32")
                };
                if let Some(net) = network_of(&dest) {
                    used.push(net);
                }
            }
        }
    }
    used
}

/// The network of an `address/prefix`, any prefix (a /32 host route too).
fn network_of(cidr: &str) -> Option<Ipv4Net> {
    let (addr, prefix) = cidr.split_once('/')?;
    let addr: std::net::Ipv4Addr = addr.parse().ok()?;
    let prefix: u8 = prefix.parse().ok()?;
    if prefix == 0 || prefix > 32 {
        return None;
    }
    // Ipv4Net holds 8..=30 only; wider or narrower networks are widened to
    // the nearest it can hold, which only ever makes more candidates "used".
    let clamped = prefix.clamp(8, 30);
    let mask = u32::MAX << (32 - clamped);
    Ipv4Net::new(std::net::Ipv4Addr::from(u32::from(addr) & mask), clamped).ok()
}

/// Every candidate /24, in a fixed order so that a rerun on an unchanged
/// host picks the same one: 10.0.0.0/8 from 10.147 on (the low 10.x
/// networks are the ones corporate networks and VPNs take first), then
/// 172.16.0.0/12, then 192.168.0.0/16, for hosts that sit inside a 10/8
/// network.
fn candidates() -> impl Iterator<Item = Ipv4Net> {
    let ten = (147..=255u8)
        .chain(0..147)
        .flat_map(|b| (0..=255u8).map(move |c| [10, b, c]));
    let one_seven_two = (16..=31u8).flat_map(|b| (0..=255u8).map(move |c| [172, b, c]));
    let one_nine_two = (0..=255u8).map(|c| [192, 168, c]);
    ten.chain(one_seven_two)
        .chain(one_nine_two)
        .map(|[a, b, c]| Ipv4Net::new(std::net::Ipv4Addr::new(a, b, c, 0), 24).expect("a valid /24"))
}

/// The first candidate /24 that overlaps no network in `used`.
pub fn free_bridge_subnet(used: &[Ipv4Net]) -> anyhow::Result<Ipv4Net> {
    candidates()
        .find(|candidate| !used.iter().any(|u| u.overlaps(candidate)))
        .ok_or_else(|| {
            coded(
                Exit::Unavailable,
                "every /24 in 10.0.0.0/8, 172.16.0.0/12 and 192.168.0.0/16 overlaps an address or route \
                 on this host; set bridge-subnet in the config file to an address that does not",
            )
        })
}

/// The address for a bridge: `pinned` (the config file's `bridge-subnet`)
/// when given, refused with 65 when it overlaps a network of the host other
/// than `own` (the bridge's current one); else the first free /24's first host.
pub fn bridge_address(
    host: &Host,
    pinned: Option<BridgeAddress>,
    own: Option<Ipv4Net>,
) -> anyhow::Result<BridgeAddress> {
    let used: Vec<Ipv4Net> = used_networks(host)?
        .into_iter()
        .filter(|net| Some(*net) != own)
        .collect();
    match pinned {
        Some(pinned) => match used.iter().find(|u| u.overlaps(&pinned.net())) {
            Some(clash) => Err(coded(
                Exit::Data,
                format!(
                    "bridge-subnet {pinned} overlaps {clash}, an address or route of this host; \
                     pick a network the host does not use, or remove bridge-subnet"
                ),
            )),
            None => Ok(pinned),
        },
        None => Ok(BridgeAddress::first_host(free_bridge_subnet(&used)?)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ADDRS: &str = "1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever\n\
                         2: eth0    inet 10.147.0.7/20 brd 10.147.15.255 scope global eth0\n";
    const ROUTES: &str = "default via 10.147.0.1 dev eth0\n\
                          10.147.16.0/24 dev tun0 scope link\n\
                          10.147.17.5 via 10.147.0.1 dev eth0\n\
                          local 127.0.0.1 dev lo table local proto kernel scope host src 127.0.0.1\n";

    #[test]
    fn skips_addresses_and_routes_but_not_the_default_route() {
        let used = parse_used(ADDRS, ROUTES);
        let free = free_bridge_subnet(&used).unwrap();
        // 10.147.0.0/20 covers .0-.15; .16 is routed; .17.5 is a host route.
        assert_eq!(free.to_string(), "10.147.18.0/24");
    }

    #[test]
    fn a_fresh_host_gets_the_first_candidate() {
        assert_eq!(free_bridge_subnet(&[]).unwrap().to_string(), "10.147.0.0/24");
    }

    #[test]
    fn a_host_inside_10_slash_8_gets_172_16_then_192_168() {
        let used = parse_used("2: eth0 inet 10.1.2.3/8 scope global eth0\n", "");
        assert_eq!(free_bridge_subnet(&used).unwrap().to_string(), "172.16.0.0/24");
        let used = parse_used(
            "2: eth0 inet 10.1.2.3/8 scope global eth0\n",
            "172.16.0.0/12 via 10.0.0.1 dev eth0\n",
        );
        assert_eq!(free_bridge_subnet(&used).unwrap().to_string(), "192.168.0.0/24");
        let used = parse_used(
            "2: eth0 inet 10.1.2.3/8 scope global eth0\n",
            "172.16.0.0/12 via 10.0.0.1 dev eth0\n192.168.0.0/16 via 10.0.0.1 dev eth0\n",
        );
        let err = free_bridge_subnet(&used).unwrap_err();
        assert!(err.to_string().contains("bridge-subnet"), "{err}");
    }

    #[test]
    fn the_low_10_slash_8_networks_come_after_the_high_ones() {
        let used = parse_used("2: eth0 inet 10.128.0.1/9 scope global eth0\n", "");
        assert_eq!(free_bridge_subnet(&used).unwrap().to_string(), "10.0.0.0/24");
    }
}
