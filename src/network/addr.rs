//! Validated network values. Each type can only hold a value that is safe to
//! write into a file that a root shell sources, or to pass on a command line.

use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

use crate::config::limits::quote;

/// Linux's IFNAMSIZ less the terminating NUL.
const MAX_IFNAME: usize = 15;

/// A network interface name the kernel accepts and a shell cannot misread.
///
/// The kernel allows almost any byte but `/`, `:` and whitespace; `$(reboot)`
/// would be a valid interface name. Since the name ends up in files that a
/// root shell sources, only letters, digits, `-`, `_` and `.` are taken.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct BridgeName(String);

impl FromStr for BridgeName {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        if s.is_empty() {
            return Err("a bridge name cannot be empty".into());
        }
        if s.len() > MAX_IFNAME {
            return Err(format!(
                "bridge name {} is {} bytes long; the kernel allows at most {MAX_IFNAME}",
                quote(s),
                s.len()
            ));
        }
        if s == "." || s == ".." {
            return Err(format!("{} is not a valid interface name", quote(s)));
        }
        if let Some(c) = s
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || "-_.".contains(*c)))
        {
            return Err(format!(
                "bridge name {} contains {c:?}; use only letters, digits, '-', '_' and '.'",
                quote(s)
            ));
        }
        if s.starts_with('-') {
            return Err(format!("bridge name {} cannot start with '-'", quote(s)));
        }
        Ok(BridgeName(s.to_string()))
    }
}

impl fmt::Display for BridgeName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl BridgeName {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An IPv4 address in dotted quad, parsed strictly (no leading zeros, which
/// some tools read as octal).
pub fn parse_ipv4(s: &str) -> Result<Ipv4Addr, String> {
    Ipv4Addr::from_str(s).map_err(|_| format!("{} is not an IPv4 address (like 10.0.3.1)", quote(s)))
}

/// An IPv4 network: an address with its host bits all zero, and a prefix
/// long enough to leave room for a gateway and at least one container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv4Net {
    network: Ipv4Addr,
    prefix: u8,
}

impl FromStr for Ipv4Net {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let (addr, prefix) = s
            .split_once('/')
            .ok_or_else(|| format!("{} is not a network in CIDR form (like 10.0.3.0/24)", quote(s)))?;
        let addr = parse_ipv4(addr)?;
        if prefix.is_empty() || !prefix.bytes().all(|b| b.is_ascii_digit()) || prefix.len() > 2 {
            return Err(format!(
                "{} is not a prefix length; use a number from 8 to 30",
                quote(prefix)
            ));
        }
        let prefix: u8 = prefix
            .parse()
            .map_err(|_| format!("{} is not a prefix length", quote(prefix)))?;
        let net = Ipv4Net::new(addr, prefix)?;
        net.refuse_reserved()?;
        Ok(net)
    }
}

/// Networks no bridge can sit on, whoever asks for one: packets to them
/// never reach a bridge (loopback, "this network", multicast, the reserved
/// 240/4 with the broadcast address), or they are the host's link-local
/// network, where the cloud's metadata service lives.
const RESERVED: [([u8; 4], u8, &str); 5] = [
    ([0, 0, 0, 0], 8, "\"this network\""),
    ([127, 0, 0, 0], 8, "loopback"),
    ([169, 254, 0, 0], 16, "link-local"),
    ([224, 0, 0, 0], 4, "multicast"),
    ([240, 0, 0, 0], 4, "reserved (with the broadcast address)"),
];

impl Ipv4Net {
    pub fn new(addr: Ipv4Addr, prefix: u8) -> Result<Ipv4Net, String> {
        if !(8..=30).contains(&prefix) {
            return Err(format!(
                "prefix /{prefix} is out of range; use 8 to 30 so the network has room for a bridge and containers"
            ));
        }
        let net = Ipv4Net {
            network: addr,
            prefix,
        };
        if net.mask_bits() & u32::from(addr) != u32::from(addr) {
            let base = Ipv4Addr::from(u32::from(addr) & net.mask_bits());
            return Err(format!(
                "{addr}/{prefix} has host bits set; the network is {base}/{prefix}"
            ));
        }
        Ok(net)
    }

    fn mask_bits(&self) -> u32 {
        u32::MAX << (32 - self.prefix)
    }

    /// A network given for a bridge must not be one of [`RESERVED`]; the
    /// networks read from the host's own routes are taken as they are.
    fn refuse_reserved(&self) -> Result<(), String> {
        for (base, len, what) in RESERVED {
            let shorter = self.prefix.min(len);
            let mask = u32::MAX << (32 - shorter);
            if u32::from(self.network) & mask == u32::from(Ipv4Addr::from(base)) & mask {
                return Err(format!(
                    "{self} is in {}/{len}, a {what} network, which no bridge can use; \
                     give a private network such as 10.0.3.0/24",
                    Ipv4Addr::from(base)
                ));
            }
        }
        Ok(())
    }

    pub fn network(&self) -> Ipv4Addr {
        self.network
    }

    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    pub fn netmask(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.mask_bits())
    }

    pub fn broadcast(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.network) | !self.mask_bits())
    }

    /// Whether `ip` is a usable host address: inside, and neither the network
    /// nor the broadcast address.
    pub fn has_host(&self, ip: Ipv4Addr) -> bool {
        let ip = u32::from(ip);
        ip & self.mask_bits() == u32::from(self.network)
            && ip != u32::from(self.network)
            && ip != u32::from(self.broadcast())
    }

    /// The `n`th address of the network (0 is the network address).
    pub fn nth(&self, n: u32) -> Option<Ipv4Addr> {
        let ip = Ipv4Addr::from(u32::from(self.network).checked_add(n)?);
        self.has_host(ip).then_some(ip)
    }

    pub fn last_host(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.broadcast()) - 1)
    }

    /// Whether the two networks share any address.
    pub fn overlaps(&self, other: &Ipv4Net) -> bool {
        let shorter = self.prefix.min(other.prefix);
        let mask = u32::MAX << (32 - shorter);
        u32::from(self.network) & mask == u32::from(other.network) & mask
    }
}

/// A bridge's own address with its network's prefix (`10.20.30.1/24`):
/// a host address of a network `Ipv4Net` can hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BridgeAddress {
    address: Ipv4Addr,
    net: Ipv4Net,
}

impl BridgeAddress {
    /// The first host of `net`, the bridge's address by custom.
    pub fn first_host(net: Ipv4Net) -> BridgeAddress {
        BridgeAddress {
            address: net.nth(1).expect("a network of prefix 30 or shorter has hosts"),
            net,
        }
    }

    pub fn address(&self) -> Ipv4Addr {
        self.address
    }

    pub fn net(&self) -> Ipv4Net {
        self.net
    }
}

impl FromStr for BridgeAddress {
    type Err = String;

    /// The address with its network's prefix; the network is checked as
    /// `Ipv4Net` checks one.
    fn from_str(s: &str) -> Result<Self, String> {
        let (addr, prefix) = s
            .split_once('/')
            .ok_or_else(|| format!("{s:?} is not an address with a prefix (like 10.20.30.1/24)"))?;
        let address = parse_ipv4(addr)?;
        let bits: u8 = prefix.parse().unwrap_or(0).min(32);
        let base =
            Ipv4Addr::from(u32::from(address) & u32::MAX.checked_shl(32 - u32::from(bits)).unwrap_or(0));
        let net: Ipv4Net = format!("{base}/{prefix}").parse()?;
        if !net.has_host(address) {
            return Err(format!(
                "{s} is the network or broadcast address of {net}; give a host address such as {}/{}",
                net.nth(1).expect("hosts"),
                net.prefix()
            ));
        }
        Ok(BridgeAddress { address, net })
    }
}

impl fmt::Display for BridgeAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.address, self.net.prefix())
    }
}

impl fmt::Display for Ipv4Net {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_bridge_address_is_a_host_with_its_prefix() {
        let b: super::BridgeAddress = "10.20.30.1/24".parse().unwrap();
        assert_eq!(b.to_string(), "10.20.30.1/24");
        assert_eq!(b.net().to_string(), "10.20.30.0/24");
        for bad in [
            "10.20.30.0/24",
            "10.20.30.255/24",
            "10.20.30.1",
            "10.20.30.1/31",
            "10.20.30.1/+8",
            "x/24",
        ] {
            assert!(bad.parse::<super::BridgeAddress>().is_err(), "{bad}");
        }
    }

    use super::*;

    #[test]
    fn bridge_names() {
        for good in ["lxcbr0", "br-test", "a", "lxd_br.1", "abcdefghijklmno"] {
            assert!(good.parse::<BridgeName>().is_ok(), "{good}");
        }
        for bad in [
            "",
            ".",
            "..",
            "abcdefghijklmnop",
            "br0;reboot",
            "$(reboot)",
            "`id`",
            "br\"0",
            "br'0",
            "br 0",
            "br\n0",
            "br/0",
            "br:0",
            "-br",
            "brü",
        ] {
            assert!(bad.parse::<BridgeName>().is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn networks() {
        let net: Ipv4Net = "10.0.3.0/24".parse().unwrap();
        assert_eq!(net.netmask(), Ipv4Addr::new(255, 255, 255, 0));
        assert_eq!(net.broadcast(), Ipv4Addr::new(10, 0, 3, 255));
        assert_eq!(net.nth(1), Some(Ipv4Addr::new(10, 0, 3, 1)));
        assert_eq!(net.nth(255), None);
        assert_eq!(net.last_host(), Ipv4Addr::new(10, 0, 3, 254));
        assert!(net.has_host(Ipv4Addr::new(10, 0, 3, 7)));
        assert!(!net.has_host(Ipv4Addr::new(10, 0, 3, 0)));
        assert!(!net.has_host(Ipv4Addr::new(10, 0, 4, 1)));
        assert_eq!(
            "172.16.0.0/12".parse::<Ipv4Net>().unwrap().netmask(),
            Ipv4Addr::new(255, 240, 0, 0)
        );
    }

    #[test]
    fn bad_networks_say_why() {
        for (bad, why) in [
            ("10.0.3.0", "CIDR"),
            ("10.0.3.0/33", "out of range"),
            ("10.0.3.0/31", "out of range"),
            ("10.0.3.0/", "prefix length"),
            ("10.0.3.0/24;id", "prefix length"),
            ("10.0.3.0/+24", "prefix length"),
            ("10.0.3.0/024", "prefix length"),
            ("10.0.3.1/24", "host bits"),
            ("10.0.03.0/24", "IPv4 address"),
            ("10.0.3.0/24\n", "prefix length"),
            ("$(id)/24", "IPv4 address"),
            ("::1/64", "IPv4 address"),
        ] {
            let err = bad.parse::<Ipv4Net>().unwrap_err();
            assert!(err.contains(why), "{bad:?}: {err}");
        }
    }

    #[test]
    fn reserved_networks_are_refused_for_a_bridge() {
        for bad in [
            "127.0.0.0/8",
            "127.1.2.0/24",
            "0.0.0.0/8",
            "224.0.0.0/8",
            "239.1.1.0/24",
            "240.0.0.0/8",
            "255.255.255.0/24",
            "169.254.0.0/16",
            "169.0.0.0/8",
        ] {
            let err = bad.parse::<Ipv4Net>().unwrap_err();
            assert!(err.contains("no bridge can use"), "{bad}: {err}");
        }
        for bad in ["239.1.1.1/24", "0.0.0.1/24", "127.0.0.1/8"] {
            assert!(bad.parse::<BridgeAddress>().is_err(), "{bad}");
        }
        for good in [
            "10.0.3.0/24",
            "172.16.0.0/12",
            "192.168.1.0/24",
            "100.64.0.0/10",
            "198.51.100.0/24",
        ] {
            assert!(good.parse::<Ipv4Net>().is_ok(), "{good}");
        }
        // The host's own networks are what they are.
        assert!(Ipv4Net::new(Ipv4Addr::new(127, 0, 0, 0), 8).is_ok());
    }

    #[test]
    fn overlap() {
        let a: Ipv4Net = "10.0.0.0/8".parse().unwrap();
        let b: Ipv4Net = "10.147.3.0/24".parse().unwrap();
        let c: Ipv4Net = "192.168.1.0/24".parse().unwrap();
        assert!(a.overlaps(&b) && b.overlaps(&a));
        assert!(!a.overlaps(&c));
    }
}
