//! A private IPv4 /24 for a new bridge that overlaps nothing the host has.
//! LXD's own `lxd init --auto` probes candidates and gives up on some hosts
//! ("Failed to automatically find an unused IPv4 subnet"); this looks only at
//! the host's addresses and routes and sends nothing on the network.

use crate::exit::{Exit, coded};
use crate::host::{CommandLine, Host};
use crate::net::Ipv4Net;

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

/// The first free /24 in 10.147.0.0/16 onwards, in a fixed order so that a
/// rerun on an unchanged host picks the same one.
pub fn free_bridge_subnet(used: &[Ipv4Net]) -> anyhow::Result<Ipv4Net> {
    for second in (147..=254).chain(100..147) {
        for third in 0..=255u8 {
            let candidate =
                Ipv4Net::new(std::net::Ipv4Addr::new(10, second, third, 0), 24).expect("a valid /24");
            if !used.iter().any(|u| u.overlaps(&candidate)) {
                return Ok(candidate);
            }
        }
    }
    Err(coded(
        Exit::Unavailable,
        "every 10.x.y.0/24 from 10.100.0.0 to 10.254.255.0 overlaps an address or route on this host; \
         create the bridge by hand",
    ))
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
    fn a_host_using_all_of_10_slash_8_cannot_have_one() {
        let used = parse_used("2: eth0 inet 10.1.2.3/8 scope global eth0\n", "");
        assert!(free_bridge_subnet(&used).is_err());
    }
}
