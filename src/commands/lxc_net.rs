//! `lxc-net override|show|restore`: `/etc/default/lxc-net`, which Debian's
//! lxc-net script sources as root. Only validated values reach it.

use std::net::Ipv4Addr;

use crate::exit::{Exit, coded};
use crate::host::Host;
use crate::network::addr::{BridgeName, Ipv4Net};
use crate::network::ipv6::BridgeAddress6;
use crate::record;
use crate::report::{Outcome, Report, Status};

pub const LXC_NET_PATH: &str = "/etc/default/lxc-net";
pub const ORIGINAL_PATH: &str = "/etc/default/lxc-net.orig";

/// The first line of every file we write; how we tell ours from a foreign one.
const MARKER: &str = "# Written by container-init (lxc-net override).";

/// What the user asked for; anything left out takes the LXC default.
#[derive(Debug, Clone, Default)]
pub struct Request {
    pub bridge: Option<BridgeName>,
    pub network: Option<Ipv4Net>,
    pub address: Option<Ipv4Addr>,
    pub dhcp_range: Option<(Ipv4Addr, Ipv4Addr)>,
    pub dhcp_max: Option<u32>,
    /// IPv6 on the bridge (`bridge-ipv6`), router advertisements for SLAAC.
    pub ipv6: Option<BridgeAddress6>,
    /// NAT66 for that /64 (`enable-nat`).
    pub ipv6_nat: bool,
}

/// A complete, consistent lxc-net configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LxcNet {
    bridge: BridgeName,
    network: Ipv4Net,
    address: Ipv4Addr,
    range: (Ipv4Addr, Ipv4Addr),
    dhcp_max: u32,
    ipv6: Option<(BridgeAddress6, bool)>,
}

impl LxcNet {
    /// Fill in the defaults and check that the parts agree: the address and
    /// the range inside the network, the address outside the range.
    pub fn plan(req: &Request) -> Result<LxcNet, String> {
        let bridge = req
            .bridge
            .clone()
            .unwrap_or_else(|| "lxcbr0".parse().expect("valid default"));
        let network = req
            .network
            .unwrap_or_else(|| "10.0.3.0/24".parse().expect("valid default"));
        let address = match req.address {
            Some(a) if !network.has_host(a) => {
                return Err(format!(
                    "--address {a} is not a host address inside --network {network}"
                ));
            }
            Some(a) => a,
            None => network.nth(1).expect("a /30 or larger has a first host"),
        };
        let range = match req.dhcp_range {
            Some((start, end)) => {
                for ip in [start, end] {
                    if !network.has_host(ip) {
                        return Err(format!(
                            "--dhcp-range address {ip} is not a host address inside --network {network}"
                        ));
                    }
                }
                if u32::from(start) > u32::from(end) {
                    return Err(format!("--dhcp-range {start},{end} ends before it starts"));
                }
                (start, end)
            }
            None => {
                let start = Ipv4Addr::from(u32::from(address) + 1);
                if !network.has_host(start) {
                    return Err(format!(
                        "--address {address} leaves no room for a default DHCP range; give --dhcp-range"
                    ));
                }
                (start, network.last_host())
            }
        };
        if (u32::from(range.0)..=u32::from(range.1)).contains(&u32::from(address)) {
            return Err(format!(
                "--address {address} is inside --dhcp-range {},{}; DHCP would hand out the bridge's own address",
                range.0, range.1
            ));
        }
        let size = u32::from(range.1) - u32::from(range.0) + 1;
        let dhcp_max = req.dhcp_max.unwrap_or(size);
        if dhcp_max == 0 {
            return Err("--dhcp-max must be at least 1".into());
        }
        Ok(LxcNet {
            bridge,
            network,
            address,
            range,
            dhcp_max,
            ipv6: req.ipv6.map(|v6| (v6, req.ipv6_nat)),
        })
    }

    pub fn bridge(&self) -> &BridgeName {
        &self.bridge
    }

    pub fn address(&self) -> Ipv4Addr {
        self.address
    }

    pub fn network(&self) -> Ipv4Net {
        self.network
    }

    /// The bridge's IPv6 address, when it is to have one.
    pub fn ipv6(&self) -> Option<BridgeAddress6> {
        self.ipv6.map(|(v6, _)| v6)
    }

    /// The file, byte for byte. Every value interpolated here is one of the
    /// validated types above, so none can carry a quote, `$` or a newline.
    pub fn render(&self) -> String {
        let mut text = self.render_ipv4();
        if let Some((v6, nat)) = self.ipv6 {
            // lxc-net adds the address, sends router advertisements from
            // dnsmasq (`--dhcp-range=ADDR,ra-only`) for SLAAC and, with NAT,
            // masquerades the /64; it also turns IPv6 forwarding on.
            text.push_str(&format!(
                "# IPv6 (bridge-ipv6): router advertisements for SLAAC on the bridge's /64.\n\
                 LXC_IPV6_ADDR=\"{addr}\"\n\
                 LXC_IPV6_MASK=\"64\"\n\
                 LXC_IPV6_NETWORK=\"{net}/64\"\n\
                 LXC_IPV6_NAT=\"{nat}\"\n",
                addr = v6.address,
                net = v6.network(),
            ));
        }
        text
    }

    fn render_ipv4(&self) -> String {
        format!(
            "{MARKER}\n\
             # container-init owns this file and rewrites it whole; `container-init lxc-net restore`\n\
             # puts back the original kept in {ORIGINAL_PATH}.\n\
             USE_LXC_BRIDGE=\"true\"\n\
             LXC_BRIDGE=\"{bridge}\"\n\
             LXC_ADDR=\"{addr}\"\n\
             LXC_NETMASK=\"{mask}\"\n\
             LXC_NETWORK=\"{net}\"\n\
             # An infinite lease keeps containers' static addresses across DHCP renewals.\n\
             LXC_DHCP_RANGE=\"{start},{end},infinite\"\n\
             LXC_DHCP_MAX=\"{max}\"\n",
            bridge = self.bridge,
            addr = self.address,
            mask = self.network.netmask(),
            net = self.network,
            start = self.range.0,
            end = self.range.1,
            max = self.dhcp_max,
        )
    }

    pub fn summary(&self) -> String {
        let mut out = format!(
            "{} {}/{} dhcp {}-{} max {}",
            self.bridge,
            self.address,
            self.network.prefix(),
            self.range.0,
            self.range.1,
            self.dhcp_max
        );
        if let Some((v6, nat)) = self.ipv6 {
            out.push_str(&format!(" ipv6 {v6} nat66={nat}"));
        }
        out
    }
}

fn is_ours(content: &[u8]) -> bool {
    content.starts_with(MARKER.as_bytes())
}

/// `lxc-net override`: keep the first foreign original, then write ours.
pub fn override_file(host: &Host, wanted: &LxcNet, report: &mut Report) -> anyhow::Result<()> {
    let current = host.read_optional(LXC_NET_PATH)?;
    report.run_step("lxc-net-original", || {
        let Some(current) = current.as_deref().filter(|c| !is_ours(c)) else {
            return Ok(Outcome::new(Status::Skipped, "no foreign file to keep"));
        };
        if host.exists(ORIGINAL_PATH) {
            log::warn!(
                "{LXC_NET_PATH} was changed by hand since container-init first replaced it; \
                 {ORIGINAL_PATH} keeps the first original"
            );
            return Ok(Outcome::new(Status::Unchanged, ORIGINAL_PATH));
        }
        // The copy keeps the original's owner and mode, setuid bits included.
        let mode = host.file_mode(LXC_NET_PATH).unwrap_or(0o644);
        let owner = host.file_owner(LXC_NET_PATH);
        let change = record::write_file_owned(host, ORIGINAL_PATH, current, mode, owner)?;
        Ok(Outcome::new(
            Status::if_changed(change.is_change(), host.applies()),
            format!("kept {LXC_NET_PATH} as {ORIGINAL_PATH}"),
        ))
    })?;
    report.run_step("lxc-net", || {
        let change = record::write_file(host, LXC_NET_PATH, wanted.render().as_bytes(), 0o644)?;
        Ok(Outcome::new(
            Status::if_changed(change.is_change(), host.applies()),
            wanted.summary(),
        )
        .with_plan(change.plan(host)))
    })
}

/// `lxc-net restore`: put the kept original back byte for byte, or remove our
/// file when there was none to keep.
pub fn restore(host: &Host, report: &mut Report) -> anyhow::Result<()> {
    report.run_step("lxc-net", || {
        if let Some(original) = host.read_optional(ORIGINAL_PATH)? {
            let mode = host.file_mode(ORIGINAL_PATH).unwrap_or(0o644);
            let owner = host.file_owner(ORIGINAL_PATH);
            let change = host.write_file_owned(LXC_NET_PATH, &original, mode, owner)?;
            // The original is removed only once it is safely back in place.
            let removed = host.remove_file(ORIGINAL_PATH)?;
            let mut plan = change.plan(host);
            plan.extend(removed.plan(host));
            return Ok(Outcome::new(
                Status::of_change(host.applies()),
                format!("restored {LXC_NET_PATH} from {ORIGINAL_PATH}"),
            )
            .with_plan(plan));
        }
        match host.read_optional(LXC_NET_PATH)? {
            Some(current) if is_ours(&current) => {
                let removed = host.remove_file(LXC_NET_PATH)?;
                Ok(Outcome::new(
                    Status::of_change(host.applies()),
                    format!("removed {LXC_NET_PATH}: there was no original before container-init wrote it"),
                )
                .with_plan(removed.plan(host)))
            }
            _ => Ok(Outcome::new(Status::Unchanged, "nothing to restore")),
        }
    })
}

/// `lxc-net show`: the assignments in the current file, as written; the file
/// is read, never sourced.
pub fn show(host: &Host, report: &mut Report) -> anyhow::Result<()> {
    let Some(content) = host.read_optional(LXC_NET_PATH)? else {
        report.fact(
            "file",
            format!("{LXC_NET_PATH} is absent; lxc-net uses its built-in defaults"),
        );
        return Ok(());
    };
    let owner = if is_ours(&content) {
        "container-init"
    } else {
        "not container-init"
    };
    report.fact("file", format!("{LXC_NET_PATH} (written by {owner})"));
    for (key, value) in assignments(&String::from_utf8_lossy(&content)) {
        report.fact(key, value);
    }
    Ok(())
}

/// `KEY="value"` lines of a shell fragment, without evaluating anything.
pub fn assignments(text: &str) -> Vec<(String, String)> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .filter(|(k, _)| !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        .map(|(k, v)| {
            let v = v.trim();
            let v = v.strip_prefix('"').and_then(|s| s.strip_suffix('"')).unwrap_or(v);
            (k.to_string(), v.to_string())
        })
        .collect()
}

/// Turn a validation message into the usage error (64) of a bad option value.
pub fn invalid(message: String) -> anyhow::Error {
    coded(
        Exit::Usage,
        format!("{message}; see `container-init lxc-net override --help`"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    #[test]
    fn defaults_are_lxcs() {
        let net = LxcNet::plan(&Request::default()).unwrap();
        let text = net.render();
        let values = assignments(&text);
        let get = |k: &str| values.iter().find(|(key, _)| key == k).unwrap().1.clone();
        assert_eq!(get("USE_LXC_BRIDGE"), "true");
        assert_eq!(get("LXC_BRIDGE"), "lxcbr0");
        assert_eq!(get("LXC_ADDR"), "10.0.3.1");
        assert_eq!(get("LXC_NETMASK"), "255.255.255.0");
        assert_eq!(get("LXC_NETWORK"), "10.0.3.0/24");
        assert_eq!(get("LXC_DHCP_RANGE"), "10.0.3.2,10.0.3.254,infinite");
        assert_eq!(get("LXC_DHCP_MAX"), "253");
        assert!(is_ours(text.as_bytes()));
    }

    #[test]
    fn a_wider_network_gets_a_wider_range() {
        let req = Request {
            network: Some("10.20.0.0/16".parse().unwrap()),
            ..Request::default()
        };
        let net = LxcNet::plan(&req).unwrap();
        assert!(
            net.render()
                .contains("LXC_DHCP_RANGE=\"10.20.0.2,10.20.255.254,infinite\"")
        );
        assert!(net.render().contains("LXC_DHCP_MAX=\"65533\""));
    }

    #[test]
    fn parts_must_agree() {
        let net: Ipv4Net = "10.0.3.0/24".parse().unwrap();
        let cases = [
            (Some(ip("10.0.4.1")), None, "not a host address inside"),
            (Some(ip("10.0.3.0")), None, "not a host address inside"),
            (Some(ip("10.0.3.255")), None, "not a host address inside"),
            (Some(ip("10.0.3.254")), None, "no room for a default DHCP range"),
            (
                None,
                Some((ip("10.0.3.10"), ip("10.0.4.5"))),
                "--dhcp-range address 10.0.4.5",
            ),
            (
                None,
                Some((ip("10.0.3.50"), ip("10.0.3.10"))),
                "ends before it starts",
            ),
            (
                None,
                Some((ip("10.0.3.1"), ip("10.0.3.10"))),
                "inside --dhcp-range",
            ),
        ];
        for (address, dhcp_range, why) in cases {
            let req = Request {
                network: Some(net),
                address,
                dhcp_range,
                ..Request::default()
            };
            let err = LxcNet::plan(&req).unwrap_err();
            assert!(err.contains(why), "{address:?} {dhcp_range:?}: {err}");
        }
        let req = Request {
            dhcp_max: Some(0),
            ..Request::default()
        };
        assert!(LxcNet::plan(&req).is_err());
    }

    #[test]
    fn ipv6_adds_lxc_nets_four_keys_and_nothing_without_it() {
        assert!(
            !LxcNet::plan(&Request::default())
                .unwrap()
                .render()
                .contains("IPV6")
        );
        let req = Request {
            ipv6: Some(BridgeAddress6 {
                address: "fd42:7:8:9::1".parse().unwrap(),
            }),
            ipv6_nat: true,
            ..Request::default()
        };
        let net = LxcNet::plan(&req).unwrap();
        let values = assignments(&net.render());
        let get = |k: &str| values.iter().find(|(key, _)| key == k).unwrap().1.clone();
        assert_eq!(get("LXC_IPV6_ADDR"), "fd42:7:8:9::1");
        assert_eq!(get("LXC_IPV6_MASK"), "64");
        assert_eq!(get("LXC_IPV6_NETWORK"), "fd42:7:8:9::/64");
        assert_eq!(get("LXC_IPV6_NAT"), "true");
        assert!(net.summary().ends_with("ipv6 fd42:7:8:9::1/64 nat66=true"));
    }

    #[test]
    fn assignments_do_not_evaluate() {
        let values = assignments("# x\nLXC_ADDR=\"$(id)\"\nnot a line\nA B=1\n");
        assert_eq!(values, vec![("LXC_ADDR".to_string(), "$(id)".to_string())]);
    }
}
