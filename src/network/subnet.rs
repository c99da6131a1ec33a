//! A private IPv4 /24 for a new bridge that overlaps nothing the host has.
//! LXD's own `lxd init --auto` probes candidates and gives up on some hosts
//! ("Failed to automatically find an unused IPv4 subnet"); this looks only at
//! the host's addresses and routes and sends nothing on the network.

use serde::Deserialize;

use crate::exit::{Exit, coded};
use crate::host::{CommandLine, Host};
use crate::network::addr::{BridgeAddress, Ipv4Net};

/// Networks already in use: every IPv4 address's network and every route
/// other than the default one, from iproute2's JSON (`ip -j`), not its text.
pub fn used_networks(host: &Host) -> anyhow::Result<Vec<Ipv4Net>> {
    used_networks_except(host, None)
}

/// As [`used_networks`], leaving out the addresses and routes of `interface`:
/// a bridge that already exists must not count as a conflict with itself.
pub fn used_networks_except(host: &Host, interface: Option<&str>) -> anyhow::Result<Vec<Ipv4Net>> {
    let addrs = host.query(&addr_show())?;
    let routes = host.query(&CommandLine::new("ip").args(["-j", "-4", "route", "show", "table", "all"]))?;
    parse_used_except(&addrs.stdout, &routes.stdout, interface).map_err(|why| unreadable(&why))
}

/// Every interface with all its addresses: the one listing of the host's
/// interfaces that the subnet choice and the data-path checks share (the
/// IPv4 ones are picked out here; IPv6 needs the same listing).
pub fn addr_show() -> CommandLine {
    CommandLine::new("ip").args(["-j", "addr", "show"])
}

fn unreadable(why: &str) -> anyhow::Error {
    coded(
        Exit::Os,
        format!("cannot read the output of `ip -j`: {why}; is iproute2 recent enough for -j?"),
    )
}

/// The IPv4 addresses (`address/prefix`) the host has on `interface`.
pub fn addresses_of(host: &Host, interface: &str) -> anyhow::Result<Vec<String>> {
    let out = host.query(&addr_show())?;
    let links: Vec<Link> = parse_json(&out.stdout).map_err(|why| unreadable(&why))?;
    Ok(links
        .iter()
        .filter(|l| l.ifname.as_deref() == Some(interface))
        .flat_map(|l| &l.addr_info)
        .filter(|i| i.family.as_deref() == Some("inet"))
        .filter_map(|i| Some(format!("{}/{}", i.local.as_deref()?, i.prefixlen?)))
        .collect())
}

#[derive(Deserialize)]
struct Link {
    ifname: Option<String>,
    #[serde(default)]
    addr_info: Vec<AddrInfo>,
}

#[derive(Deserialize)]
struct AddrInfo {
    family: Option<String>,
    local: Option<String>,
    prefixlen: Option<u8>,
}

#[derive(Deserialize)]
struct Route {
    dst: Option<String>,
    dev: Option<String>,
}

pub fn parse_used(addr_json: &str, route_json: &str) -> Result<Vec<Ipv4Net>, String> {
    parse_used_except(addr_json, route_json, None)
}

pub fn parse_used_except(
    addr_json: &str,
    route_json: &str,
    except: Option<&str>,
) -> Result<Vec<Ipv4Net>, String> {
    let links: Vec<Link> = parse_json(addr_json)?;
    let routes: Vec<Route> = parse_json(route_json)?;
    let others = |name: &Option<String>| except.is_none() || name.as_deref() != except;
    let mut used = Vec::new();
    for info in links
        .iter()
        .filter(|l| others(&l.ifname))
        .flat_map(|l| &l.addr_info)
    {
        if info.family.as_deref() != Some("inet") {
            continue;
        }
        if let (Some(local), Some(prefix)) = (&info.local, info.prefixlen)
            && let Some(net) = network_of(&format!("{local}/{prefix}"))
        {
            used.push(net);
        }
    }
    for dst in routes
        .iter()
        .filter(|r| others(&r.dev))
        .filter_map(|r| r.dst.as_deref())
    {
        if dst == "default" {
            continue;
        }
        let dst = if dst.contains('/') {
            dst.to_string()
        } else {
            format!("{dst}/32")
        };
        if let Some(net) = network_of(&dst) {
            used.push(net);
        }
    }
    Ok(used)
}

/// `ip -j` prints nothing at all when there is nothing to list.
fn parse_json<T: serde::de::DeserializeOwned>(text: &str) -> Result<Vec<T>, String> {
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    serde_json::from_str(text).map_err(|e| e.to_string())
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

    const ADDRS: &str = r#"[{"ifindex":1,"ifname":"lo","addr_info":[{"family":"inet","local":"127.0.0.1","prefixlen":8}]},
        {"ifindex":2,"ifname":"eth0","addr_info":[{"family":"inet","local":"10.147.0.7","prefixlen":20,"broadcast":"10.147.15.255"}]},
        {"ifindex":3,"ifname":"eth1","addr_info":[]}]"#;
    const ROUTES: &str = r#"[{"dst":"default","gateway":"10.147.0.1","dev":"eth0","flags":[]},
        {"dst":"10.147.16.0/24","dev":"tun0","scope":"link","flags":[]},
        {"dst":"10.147.17.5","gateway":"10.147.0.1","dev":"eth0","flags":[]},
        {"type":"local","dst":"127.0.0.1","dev":"lo","table":"local","flags":[]}]"#;

    #[test]
    fn skips_addresses_and_routes_but_not_the_default_route() {
        let used = parse_used(ADDRS, ROUTES).unwrap();
        let free = free_bridge_subnet(&used).unwrap();
        // 10.147.0.0/20 covers .0-.15; .16 is routed; .17.5 is a host route.
        assert_eq!(free.to_string(), "10.147.18.0/24");
    }

    #[test]
    fn nothing_to_list_is_an_empty_answer() {
        assert_eq!(parse_used("", "\n").unwrap(), Vec::new());
        assert!(parse_used("1: lo inet 127.0.0.1/8", "").is_err());
    }

    #[test]
    fn an_interface_can_be_left_out_of_what_is_used() {
        let addrs = r#"[{"ifname":"eth0","addr_info":[{"family":"inet","local":"10.147.0.7","prefixlen":24}]},
            {"ifname":"virbr0","addr_info":[{"family":"inet","local":"192.168.122.1","prefixlen":24}]},
            {"ifname":"veth-x","addr_info":[{"family":"inet","local":"192.168.123.2","prefixlen":24}]}]"#;
        let routes = r#"[{"dst":"192.168.122.0/24","dev":"virbr0","prefsrc":"192.168.122.1"},
            {"type":"local","dst":"192.168.122.1","dev":"virbr0","table":"local"}]"#;
        let all = parse_used(addrs, routes).unwrap();
        assert!(all.iter().any(|n| n.to_string() == "192.168.122.0/24"), "{all:?}");
        let others = parse_used_except(addrs, routes, Some("virbr0")).unwrap();
        let shown: Vec<String> = others.iter().map(ToString::to_string).collect();
        assert_eq!(shown, ["10.147.0.0/24", "192.168.123.0/24"]);
    }

    #[test]
    fn a_fresh_host_gets_the_first_candidate() {
        assert_eq!(free_bridge_subnet(&[]).unwrap().to_string(), "10.147.0.0/24");
    }

    #[test]
    fn a_host_inside_10_slash_8_gets_172_16_then_192_168() {
        const IN_10_8: &str =
            r#"[{"ifname":"eth0","addr_info":[{"family":"inet","local":"10.1.2.3","prefixlen":8}]}]"#;
        const ROUTE_172: &str = r#"[{"dst":"172.16.0.0/12","gateway":"10.0.0.1","dev":"eth0"}]"#;
        const ROUTES_172_192: &str =
            r#"[{"dst":"172.16.0.0/12","dev":"eth0"},{"dst":"192.168.0.0/16","dev":"eth0"}]"#;
        let used = parse_used(IN_10_8, "").unwrap();
        assert_eq!(free_bridge_subnet(&used).unwrap().to_string(), "172.16.0.0/24");
        let used = parse_used(IN_10_8, ROUTE_172).unwrap();
        assert_eq!(free_bridge_subnet(&used).unwrap().to_string(), "192.168.0.0/24");
        let used = parse_used(IN_10_8, ROUTES_172_192).unwrap();
        let err = free_bridge_subnet(&used).unwrap_err();
        assert!(err.to_string().contains("bridge-subnet"), "{err}");
    }

    #[test]
    fn the_low_10_slash_8_networks_come_after_the_high_ones() {
        let used = parse_used(
            r#"[{"ifname":"eth0","addr_info":[{"family":"inet","local":"10.128.0.1","prefixlen":9}]}]"#,
            "",
        )
        .unwrap();
        assert_eq!(free_bridge_subnet(&used).unwrap().to_string(), "10.0.0.0/24");
    }
}
