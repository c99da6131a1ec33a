//! `bridge-ipv6`: IPv6 on the runtime's bridge. `none` keeps today's IPv4-only
//! bridge; `auto` takes a unique local /64 (fd00::/8) derived from
//! /etc/machine-id and the bridge's name, so that it is the same on every
//! run and differs between bridges and hosts; or an explicit address/64,
//! validated as strictly as `bridge-subnet` is, since it reaches the
//! runtime's configuration and lxc-net's file, which a root shell sources.

use std::fmt;
use std::net::Ipv6Addr;
use std::str::FromStr;

use crate::config::limits::quote;
use crate::exit::{Exit, coded};
use crate::host::Host;

/// What the config file or `--bridge-ipv6` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BridgeIpv6 {
    #[default]
    None,
    Auto,
    /// The bridge's own address in its /64.
    Address(Ipv6Addr),
}

impl FromStr for BridgeIpv6 {
    type Err = String;

    fn from_str(text: &str) -> Result<BridgeIpv6, String> {
        match text {
            "none" => return Ok(BridgeIpv6::None),
            "auto" => return Ok(BridgeIpv6::Auto),
            _ => {}
        }
        let bad = |why: &str| {
            format!(
                "{} is not none, auto or an IPv6 address/64 such as fd42:7:8:9::1/64: {why}",
                quote(text)
            )
        };
        let (addr, prefix) = text.split_once('/').ok_or_else(|| bad("no /64"))?;
        if prefix != "64" {
            return Err(bad("the bridge's network must be a /64, which SLAAC needs"));
        }
        let addr: Ipv6Addr = addr.parse().map_err(|_| bad("not an IPv6 address"))?;
        let seg = addr.segments();
        if addr.is_unspecified() || addr.is_loopback() || addr.is_multicast() {
            return Err(bad("not a unicast address"));
        }
        if seg[0] & 0xffc0 == 0xfe80 {
            return Err(bad("a link-local address; every interface has its own"));
        }
        if addr.to_ipv4_mapped().is_some() {
            return Err(bad("an IPv4-mapped address"));
        }
        if seg[4..] == [0, 0, 0, 0] {
            return Err(bad("the network's own address (its host part is zero)"));
        }
        Ok(BridgeIpv6::Address(addr))
    }
}

impl fmt::Display for BridgeIpv6 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BridgeIpv6::None => f.write_str("none"),
            BridgeIpv6::Auto => f.write_str("auto"),
            BridgeIpv6::Address(a) => write!(f, "{a}/64"),
        }
    }
}

/// A bridge's IPv6 address and its /64.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BridgeAddress6 {
    pub address: Ipv6Addr,
}

impl BridgeAddress6 {
    pub fn network(&self) -> Ipv6Addr {
        let s = self.address.segments();
        Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0)
    }
}

impl fmt::Display for BridgeAddress6 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/64", self.address)
    }
}

/// FNV-1a: stable across Rust releases and builds, unlike std's hasher, so
/// that `auto` gives the same /64 on every run.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The /64 `auto` picks for `bridge` on the host with `machine_id`, the
/// `attempt`-th choice (a later one where an earlier one is in use): fd00::/8
/// with 40 bits of global ID and 16 of subnet ID from the hash, the bridge
/// on `::1`.
pub fn derived(machine_id: &str, bridge: &str, attempt: u32) -> BridgeAddress6 {
    let seed = format!("container-init {} {bridge} {attempt}", machine_id.trim());
    let h = fnv1a(seed.as_bytes());
    let b = h.to_be_bytes();
    let address = Ipv6Addr::new(
        0xfd00 | u16::from(b[0]),
        u16::from_be_bytes([b[1], b[2]]),
        u16::from_be_bytes([b[3], b[4]]),
        u16::from_be_bytes([b[5], b[6]]),
        0,
        0,
        0,
        1,
    );
    BridgeAddress6 { address }
}

/// Whether two /64s are the same network.
pub fn same_64(a: Ipv6Addr, b: Ipv6Addr) -> bool {
    a.segments()[..4] == b.segments()[..4]
}

/// `auto`'s /64: the first derived one whose network no other interface of
/// the host uses (`used`: their addresses).
pub fn choose(machine_id: &str, bridge: &str, used: &[Ipv6Addr]) -> BridgeAddress6 {
    (0..64)
        .map(|attempt| derived(machine_id, bridge, attempt))
        .find(|c| !used.iter().any(|u| same_64(*u, c.address)))
        .unwrap_or_else(|| derived(machine_id, bridge, 0))
}

/// The IPv6 addresses of every interface, from /proc/net/if_inet6 (one
/// line each: 32 hex digits, index, prefix length, scope, flags, name).
pub fn host_addresses(host: &Host) -> anyhow::Result<Vec<(Ipv6Addr, String)>> {
    let text = host.read_optional("/proc/net/if_inet6")?.unwrap_or_default();
    Ok(String::from_utf8_lossy(&text)
        .lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let hex = fields.first()?;
            let bits = u128::from_str_radix(hex, 16).ok()?;
            Some((Ipv6Addr::from(bits), fields.get(5)?.to_string()))
        })
        .collect())
}

/// Whether `interface` holds `address` now.
pub fn has_address(host: &Host, interface: &str, address: Ipv6Addr) -> bool {
    host_addresses(host)
        .unwrap_or_default()
        .iter()
        .any(|(a, name)| *a == address && name == interface)
}

/// The address `wanted` gives `bridge`: `None` for `none`; for `auto`, the
/// derived /64 that no other interface uses.
pub fn resolve(host: &Host, wanted: BridgeIpv6, bridge: &str) -> anyhow::Result<Option<BridgeAddress6>> {
    match wanted {
        BridgeIpv6::None => Ok(None),
        BridgeIpv6::Address(address) => Ok(Some(BridgeAddress6 { address })),
        BridgeIpv6::Auto => {
            let id = ["/etc/machine-id", "/var/lib/dbus/machine-id"]
                .iter()
                .find_map(|p| host.read_optional(p).ok().flatten())
                .map(|b| String::from_utf8_lossy(&b).trim().to_string())
                .filter(|id| !id.is_empty())
                .ok_or_else(|| {
                    coded(
                        Exit::Unavailable,
                        "bridge-ipv6: auto derives the bridge's /64 from /etc/machine-id, which is missing or empty; run systemd-machine-id-setup, or give bridge-ipv6 an address/64",
                    )
                })?;
            let used: Vec<Ipv6Addr> = host_addresses(host)?
                .into_iter()
                .filter(|(_, name)| name != bridge)
                .map(|(a, _)| a)
                .collect();
            Ok(Some(choose(&id, bridge, &used)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_none_auto_or_a_unicast_address_in_a_64() {
        assert_eq!("none".parse(), Ok(BridgeIpv6::None));
        assert_eq!("auto".parse(), Ok(BridgeIpv6::Auto));
        let ok: BridgeIpv6 = "fd42:7:8:9::1/64".parse().unwrap();
        assert_eq!(ok.to_string(), "fd42:7:8:9::1/64");
        for bad in [
            "fd42:7:8:9::1",
            "fd42:7:8:9::1/48",
            "fd42:7:8:9::/64",
            "fe80::1/64",
            "ff02::1/64",
            "::1/64",
            "::ffff:10.0.0.1/64",
            "10.0.0.1/64",
            "fd42::1/64\nLXC_X=1",
            "$(id)/64",
            "",
        ] {
            let err = bad.parse::<BridgeIpv6>().unwrap_err();
            assert!(err.contains("is not none, auto"), "{bad:?}: {err}");
        }
    }

    #[test]
    fn auto_is_stable_differs_per_bridge_and_host_and_avoids_used_networks() {
        let a = derived("0123456789abcdef0123456789abcdef\n", "lxdbr0", 0);
        assert_eq!(a, derived("0123456789abcdef0123456789abcdef", "lxdbr0", 0));
        assert_eq!(a.address.segments()[0] & 0xff00, 0xfd00);
        assert_eq!(a.address.segments()[4..], [0, 0, 0, 1]);
        assert_ne!(a, derived("0123456789abcdef0123456789abcdef", "incusbr0", 0));
        assert_ne!(a, derived("fedcba9876543210fedcba9876543210", "lxdbr0", 0));
        let used = [a.network(), "2001:db8::5".parse().unwrap()];
        let chosen = choose("0123456789abcdef0123456789abcdef", "lxdbr0", &used);
        assert!(!same_64(chosen.address, a.address));
        assert_eq!(chosen, derived("0123456789abcdef0123456789abcdef", "lxdbr0", 1));
    }
}
