//! KVM through libvirt: hardware virtualisation first (before anything is
//! installed), then libvirt's daemons, its `default` network and storage pool.
//! libvirt is read through its machine-readable answers (`--name` lists,
//! `net-dumpxml`), never the translated `*-info` labels.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use crate::exit::{Exit, coded};
use crate::host::{CommandLine, Host, Output};
use crate::network::addr::{BridgeName, Ipv4Net};
use crate::network::ipv6::{BridgeAddress6, BridgeIpv6};
use crate::network::mtu;
use crate::record::{self, Change};
use crate::report::{Outcome, Status};

use super::service::{self, Daemon, Init};
use crate::network::subnet;

pub const CPUINFO: &str = "/proc/cpuinfo";
pub const DEV_KVM: &str = "/dev/kvm";
const IMAGES: &str = "/var/lib/libvirt/images";
const NETWORK: &str = "default";
const POOL: &str = "default";
pub const LIBVIRT_BRIDGE: &str = "virbr0";
/// libvirt's autostart links. It decides whether an object is autostarted
/// when it loads the object's config, and refuses `net-autostart` while the
/// link is there ("Failed to create symlink ...: File exists"): a purge leaves
/// the link, so a network defined again after a reinstall could never be
/// autostarted.
const NETWORK_AUTOSTART_LINK: &str = "/etc/libvirt/qemu/networks/autostart/default.xml";
const POOL_AUTOSTART_LINK: &str = "/etc/libvirt/storage/autostart/default.xml";
/// Where the network definition this tool writes goes for `virsh net-define`.
pub const NETWORK_XML: &str = "/run/container-init/libvirt-network-default.xml";

/// Guests' consoles and logs go through virtlogd: without it `virsh start`
/// fails ("Failed to connect socket to '/run/libvirt/virtlogd-sock'").
pub const VIRTLOGD: Daemon = Daemon {
    unit: "virtlogd",
    socket: "/run/libvirt/virtlogd-sock",
};
pub const LIBVIRTD: Daemon = Daemon {
    unit: "libvirtd",
    socket: "/run/libvirt/libvirt-sock",
};

/// What the host offers for hardware virtualisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Virtualisation {
    pub cpu_flag: Option<&'static str>,
    pub dev_kvm: bool,
}

impl Virtualisation {
    pub fn probe(host: &Host) -> anyhow::Result<Virtualisation> {
        let cpuinfo = host.read_optional(CPUINFO)?.unwrap_or_default();
        let cpuinfo = String::from_utf8_lossy(&cpuinfo);
        let flags = cpuinfo
            .lines()
            .filter(|l| l.starts_with("flags"))
            .flat_map(|l| l.split_once(':').map(|(_, f)| f).unwrap_or("").split_whitespace());
        let mut cpu_flag = None;
        for flag in flags {
            match flag {
                "vmx" => cpu_flag = Some("vmx"),
                "svm" => cpu_flag = Some("svm"),
                _ => {}
            }
        }
        Ok(Virtualisation {
            cpu_flag,
            dev_kvm: host.exists(DEV_KVM),
        })
    }

    pub fn present(&self) -> bool {
        self.cpu_flag.is_some() && self.dev_kvm
    }

    pub fn describe(&self) -> String {
        format!(
            "CPU flag {}, /dev/kvm {}",
            self.cpu_flag.unwrap_or("vmx/svm absent"),
            if self.dev_kvm { "present" } else { "absent" }
        )
    }
}

pub fn virtualisation_step(host: &Host, allow_emulation: bool) -> anyhow::Result<Outcome> {
    let v = Virtualisation::probe(host)?;
    if v.present() {
        return Ok(Outcome::new(Status::Unchanged, v.describe()));
    }
    if allow_emulation {
        log::warn!(
            "no hardware virtualisation ({}): guests will run under emulation, slowly",
            v.describe()
        );
        return Ok(Outcome::new(
            Status::Skipped,
            format!(
                "no hardware virtualisation ({}); --allow-emulation: guests will be slow",
                v.describe()
            ),
        ));
    }
    Err(coded(
        Exit::Unavailable,
        format!(
            "this host has no hardware virtualisation ({}); enable VT-x/AMD-V (or nested virtualisation for a VM), \
             or pass --allow-emulation to go on with slow emulated guests",
            v.describe()
        ),
    ))
}

/// The record's entry for libvirt's `default` network or pool, created by this run.
fn libvirt_object(object: &str, name: &str) -> Change {
    Change::RuntimeObject {
        runtime: "libvirt".into(),
        object: object.into(),
        name: name.into(),
    }
}

/// The record's entry for a key of libvirt's existing `default` network or
/// pool that this run changes.
fn libvirt_key(object: &str, key: &str, before: &str, after: &str) -> Change {
    Change::RuntimeKey {
        runtime: "libvirt".into(),
        object: format!("{object} default"),
        key: key.into(),
        before: Some(before.into()),
        after: Some(after.into()),
    }
}

pub fn virsh(args: &[&str]) -> CommandLine {
    CommandLine::new("virsh")
        .args(["-c", "qemu:///system"])
        .args(args.iter().copied())
        .on_runtime("libvirt")
}

/// Run a read-only virsh query. `None` in a dry run where libvirt is not
/// installed or not started yet: the plan then creates everything.
fn ask(host: &Host, args: &[&str]) -> anyhow::Result<Option<Output>> {
    let cmd = virsh(args);
    match host.query(&cmd) {
        Ok(out) => Ok(Some(out)),
        Err(_) if !host.applies() => Ok(None),
        Err(err) => Err(err),
    }
}

/// The names a `virsh net-list`/`pool-list ... --name` prints, one a line.
pub fn names(out: &Output) -> Vec<&str> {
    out.stdout
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect()
}

/// Whether `name` is defined, running and autostarted, from three `--name`
/// lists (`list` is `net-list` or `pool-list`); `None` in a dry run that
/// cannot ask.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Presence {
    defined: bool,
    active: bool,
    autostart: bool,
}

fn presence(host: &Host, list: &str, name: &str) -> anyhow::Result<Option<Presence>> {
    let Some(all) = ask(host, &[list, "--all", "--name"])? else {
        return Ok(None);
    };
    let defined = names(&all).contains(&name);
    if !defined {
        return Ok(Some(Presence {
            defined,
            active: false,
            autostart: false,
        }));
    }
    let listed = |flags: &[&str]| -> anyhow::Result<bool> {
        let mut args = vec![list];
        args.extend_from_slice(flags);
        args.push("--name");
        host.query(&virsh(&args)).map(|out| names(&out).contains(&name))
    };
    Ok(Some(Presence {
        defined,
        active: !listed(&["--inactive"])?,
        autostart: listed(&["--all", "--autostart"])?,
    }))
}

pub fn daemon_step(host: &Host, init: Init, wait: Duration) -> anyhow::Result<Outcome> {
    service::ensure_answering(host, init, &[VIRTLOGD, LIBVIRTD], wait)
}

/// What this tool reads of a network definition: its bridge and its IPv4
/// subnet with the gateway address, and where the `<ip>` element sits in the
/// XML text so that only it is replaced.
#[derive(Debug, Clone, PartialEq, Eq)]
struct NetworkXml {
    bridge: Option<BridgeName>,
    /// `<forward mode='nat'/>` (no mode is NAT too, libvirt's default).
    nat: bool,
    address: Option<(Ipv4Addr, Ipv4Net)>,
    ip_element: Option<std::ops::Range<usize>>,
    /// `<mtu size='N'/>`; none is libvirt's default, Ethernet's 1500.
    mtu: Option<u32>,
    mtu_element: Option<std::ops::Range<usize>>,
    /// Where a new `<mtu>` goes: right after the `<bridge>` element.
    bridge_end: Option<usize>,
    /// The first IPv6 `<ip>`: its address and prefix, and where it sits.
    ipv6: Option<(Ipv6Addr, u8)>,
    ipv6_element: Option<std::ops::Range<usize>>,
    /// `<nat ipv6='yes'/>` inside `<forward>`: NAT66 for the IPv6 `<ip>`
    /// (libvirt 6.5 on); without it libvirt routes the /64 unmasqueraded.
    nat66: bool,
    forward_element: Option<std::ops::Range<usize>>,
    nat_element: Option<std::ops::Range<usize>>,
}

fn bad_xml(what: &str) -> anyhow::Error {
    coded(
        Exit::Os,
        format!(
            "libvirt's definition of the network {NETWORK:?} has {what}; fix it with `virsh net-edit {NETWORK}` and run again"
        ),
    )
}

/// Whether two definitions of the network agree on what setup changes in
/// one (its IPv4 `<ip>` and its `<mtu>`): libvirt reformats what it is given.
pub fn same_network_setup(a: &str, b: &str) -> bool {
    match (parse_network_xml(a), parse_network_xml(b)) {
        (Ok(a), Ok(b)) => a.address == b.address && a.mtu == b.mtu && a.ipv6 == b.ipv6 && a.nat66 == b.nat66,
        _ => false,
    }
}

fn parse_network_xml(xml: &str) -> anyhow::Result<NetworkXml> {
    let doc =
        roxmltree::Document::parse(xml).map_err(|e| bad_xml(&format!("XML that does not parse ({e})")))?;
    let net = doc.root_element();
    let bridge = net
        .children()
        .find(|n| n.has_tag_name("bridge"))
        .and_then(|b| b.attribute("name"))
        .map(|name| {
            name.parse::<BridgeName>()
                .map_err(|e| bad_xml(&format!("a bridge name that is refused: {e}")))
        })
        .transpose()?;
    let forward = net.children().find(|n| n.has_tag_name("forward"));
    let nat = forward.is_some_and(|f| f.attribute("mode").is_none_or(|m| m == "nat"));
    let nat_node = forward.and_then(|f| f.children().find(|n| n.has_tag_name("nat")));
    let nat66 = nat_node.is_some_and(|n| n.attribute("ipv6") == Some("yes"));
    let v6_node = net
        .children()
        .filter(|n| n.has_tag_name("ip"))
        .find(|n| n.attribute("family") == Some("ipv6"));
    let ipv6 = v6_node
        .map(|ip| {
            let address = ip.attribute("address").and_then(|a| a.parse::<Ipv6Addr>().ok());
            let prefix = ip.attribute("prefix").map_or(Some(64), |p| p.parse::<u8>().ok());
            address
                .zip(prefix)
                .ok_or_else(|| bad_xml("an IPv6 <ip> without a valid address or prefix"))
        })
        .transpose()?;
    let v6 = V6Xml {
        ipv6,
        ipv6_element: v6_node.map(|n| n.range()),
        nat66,
        forward_element: forward.map(|n| n.range()),
        nat_element: nat_node.map(|n| n.range()),
    };
    let bridge_end = net
        .children()
        .find(|n| n.has_tag_name("bridge"))
        .map(|b| b.range().end);
    let mtu_node = net.children().find(|n| n.has_tag_name("mtu"));
    let mtu = mtu_node
        .map(|m| {
            m.attribute("size")
                .and_then(|size| size.parse::<u32>().ok())
                .ok_or_else(|| bad_xml("an <mtu> without a numeric size"))
        })
        .transpose()?;
    let mtu_element = mtu_node.map(|m| m.range());
    let ip = net
        .children()
        .filter(|n| n.has_tag_name("ip"))
        .find(|n| n.attribute("family").is_none_or(|f| f == "ipv4"));
    let Some(ip) = ip else {
        return Ok(NetworkXml {
            bridge,
            nat,
            address: None,
            ip_element: None,
            mtu,
            mtu_element,
            bridge_end,
            ipv6: v6.ipv6,
            ipv6_element: v6.ipv6_element,
            nat66: v6.nat66,
            forward_element: v6.forward_element,
            nat_element: v6.nat_element,
        });
    };
    let address: Ipv4Addr = ip
        .attribute("address")
        .and_then(|a| a.parse().ok())
        .ok_or_else(|| bad_xml("an <ip> without an IPv4 address"))?;
    let prefix = match (ip.attribute("prefix"), ip.attribute("netmask")) {
        (Some(p), _) => p.parse::<u8>().ok(),
        (None, Some(mask)) => mask
            .parse::<Ipv4Addr>()
            .ok()
            .map(u32::from)
            .filter(|m| m.leading_ones() + m.trailing_zeros() == 32)
            .map(|m| m.leading_ones() as u8),
        // libvirt's own default for an address without a mask: its class.
        (None, None) => Some(24),
    }
    .ok_or_else(|| bad_xml("an <ip> whose netmask or prefix is not valid"))?;
    let prefix = prefix.clamp(8, 30);
    let mask = u32::MAX << (32 - prefix);
    let subnet = Ipv4Net::new(Ipv4Addr::from(u32::from(address) & mask), prefix)
        .map_err(|e| bad_xml(&format!("an <ip> that is not a subnet: {e}")))?;
    Ok(NetworkXml {
        bridge,
        nat,
        address: Some((address, subnet)),
        ip_element: Some(ip.range()),
        mtu,
        mtu_element,
        bridge_end,
        ipv6: v6.ipv6,
        ipv6_element: v6.ipv6_element,
        nat66: v6.nat66,
        forward_element: v6.forward_element,
        nat_element: v6.nat_element,
    })
}

/// The IPv6 half of [`NetworkXml`], read before the IPv4 `<ip>`.
struct V6Xml {
    ipv6: Option<(Ipv6Addr, u8)>,
    ipv6_element: Option<std::ops::Range<usize>>,
    nat66: bool,
    forward_element: Option<std::ops::Range<usize>>,
    nat_element: Option<std::ops::Range<usize>>,
}

/// The IPv6 `<ip>` for `v6`: no `<dhcp>`, so libvirt's dnsmasq sends router
/// advertisements alone and guests configure themselves (SLAAC).
fn ipv6_element(v6: &BridgeAddress6) -> String {
    format!("<ip family='ipv6' address='{}' prefix='64'/>", v6.address)
}

/// The edit that turns NAT66 on in a NAT network's `<forward>`: the
/// attribute on its `<nat>`, or a `<nat>` where it has none.
fn nat66_edit(xml: &str, parsed: &NetworkXml) -> Option<(std::ops::Range<usize>, String)> {
    if parsed.nat66 || !parsed.nat {
        return None;
    }
    if let Some(range) = parsed.nat_element.clone() {
        let text = &xml[range.clone()];
        let open_end = text.find('>')?;
        let open = &text[..open_end];
        if open.contains("ipv6=") {
            // `ipv6='no'`: the attribute replaced in place.
            let fixed = open
                .replace("ipv6='no'", "ipv6='yes'")
                .replace("ipv6=\"no\"", "ipv6='yes'");
            return Some((range.start..range.start + open_end, fixed));
        }
        let at = range.start + "<nat".len();
        return Some((at..at, " ipv6='yes'".to_string()));
    }
    let range = parsed.forward_element.clone()?;
    let text = &xml[range.clone()];
    if let Some(head) = text.strip_suffix("/>") {
        return Some((
            range.clone(),
            format!("{}>\n    <nat ipv6='yes'/>\n  </forward>", head.trim_end()),
        ));
    }
    let open_end = text.find('>')? + 1;
    let at = range.start + open_end;
    Some((at..at, "\n    <nat ipv6='yes'/>".to_string()))
}

/// The `<ip>` element for `subnet`: the gateway on the first address, DHCP on
/// the rest, as libvirt's shipped `default` network has it.
fn ip_element(subnet: &Ipv4Net) -> String {
    let gateway = subnet.nth(1).expect("a /24 has hosts");
    let first = subnet.nth(2).expect("a /24 has hosts");
    format!(
        "<ip address='{gateway}' netmask='{}'>\n    <dhcp>\n      <range start='{first}' end='{}'/>\n    </dhcp>\n  </ip>",
        subnet.netmask(),
        subnet.last_host()
    )
}

/// The bridge MTU libvirt sets: the manager config's bounds, so that a
/// value from anywhere else cannot reach the definition unchecked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NetworkMtu(u32);

impl NetworkMtu {
    pub fn new(mtu: u32) -> anyhow::Result<NetworkMtu> {
        if crate::config::manager_config::MTU_RANGE.contains(&mtu) {
            Ok(NetworkMtu(mtu))
        } else {
            Err(coded(
                Exit::Config,
                format!(
                    "the MTU {mtu} for libvirt's {NETWORK} network is outside 576-9216; set lxc-default-mtu in that range"
                ),
            ))
        }
    }

    fn element(self) -> String {
        format!("<mtu size='{}'/>", self.0)
    }
}

/// libvirt's shipped `default` network, on `subnet`, with `mtu` when one is
/// wanted.
fn network_xml(subnet: &Ipv4Net, mtu: Option<NetworkMtu>, ipv6: Option<&BridgeAddress6>) -> String {
    let mtu = mtu.map(|m| format!("  {}\n", m.element())).unwrap_or_default();
    let (forward, v6) = match ipv6 {
        Some(v6) => (
            "<forward mode='nat'>\n    <nat ipv6='yes'/>\n  </forward>",
            format!("  {}\n", ipv6_element(v6)),
        ),
        None => ("<forward mode='nat'/>", String::new()),
    };
    format!(
        "<network>\n  <name>{NETWORK}</name>\n  {forward}\n  <bridge name='{LIBVIRT_BRIDGE}' stp='on' delay='0'/>\n{mtu}  {}\n{v6}</network>\n",
        ip_element(subnet)
    )
}

/// `xml` with each range replaced by its text (ranges do not overlap; an
/// empty range inserts).
fn splice(xml: &str, mut edits: Vec<(std::ops::Range<usize>, String)>) -> String {
    edits.sort_by_key(|(range, _)| std::cmp::Reverse(range.start));
    let mut out = xml.to_string();
    for (range, text) in edits {
        out.replace_range(range, &text);
    }
    out
}

/// libvirt's own choice for its `default` network, kept wherever it is free.
fn libvirt_subnet() -> Ipv4Net {
    Ipv4Net::new(Ipv4Addr::new(192, 168, 122, 0), 24).expect("a valid /24")
}

/// The subnet for a new network: libvirt's own unless the host uses it.
fn choose_subnet(used: &[Ipv4Net]) -> anyhow::Result<Ipv4Net> {
    let own = libvirt_subnet();
    if used.iter().any(|u| u.overlaps(&own)) {
        subnet::free_bridge_subnet(used)
    } else {
        Ok(own)
    }
}

/// The bridge of libvirt's `default` network, as the coexistence step and
/// the data-path checks need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LibvirtBridge {
    pub name: String,
    pub nat: bool,
    /// The IPv6 address of its IPv6 `<ip>`, and whether NAT66 is on.
    pub ipv6: Option<(Ipv6Addr, bool)>,
}

/// libvirt's `default` network: on a subnet the host does not otherwise use,
/// with `mtu` when one is wanted (the uplink's, below Ethernet's), defined,
/// started and autostarted. An existing network is edited only in its
/// `<ip>` element, when that overlaps something else, and its `<mtu>`, when
/// that differs; the rest (uuid, MAC) stays. Its value is the network's
/// bridge.
pub fn network_step(
    host: &Host,
    mtu: Option<u32>,
    ipv6: BridgeIpv6,
) -> anyhow::Result<Outcome<LibvirtBridge>> {
    let mtu = mtu.map(NetworkMtu::new).transpose()?;
    let state = presence(host, "net-list", NETWORK)?.unwrap_or(Presence {
        defined: false,
        active: false,
        autostart: false,
    });
    let mut cmds = Vec::new();
    let mut plan = Vec::new();
    let mut did = Vec::new();
    let define = virsh(&["net-define", &host.writable_path(NETWORK_XML)?.to_string_lossy()]);
    let write_definition = |xml: &str, plan: &mut Vec<String>| -> anyhow::Result<()> {
        plan.extend(record::write_file(host, NETWORK_XML, xml.as_bytes(), 0o600)?.plan(host));
        Ok(())
    };
    let (bridge, nat, gateway, subnet, active, v6) = if !state.defined {
        let used = subnet::used_networks(host)?;
        let subnet = choose_subnet(&used)?;
        let v6 = crate::network::ipv6::resolve(host, ipv6, LIBVIRT_BRIDGE)?;
        write_definition(&network_xml(&subnet, mtu, v6.as_ref()), &mut plan)?;
        record::note(host, libvirt_object("network", NETWORK))?;
        cmds.push(define.clone());
        did.push(if subnet == libvirt_subnet() {
            "defined".to_string()
        } else {
            format!("defined off {}, which the host uses", libvirt_subnet())
        });
        let gateway = subnet.nth(1).expect("a /24 has hosts");
        let v6 = v6.map(|v6| (v6.address, true));
        (LIBVIRT_BRIDGE.to_string(), true, gateway, subnet, false, v6)
    } else {
        let xml = host
            .query(&virsh(&["net-dumpxml", "--inactive", NETWORK]))?
            .stdout;
        let parsed = parse_network_xml(&xml)?;
        let bridge = parsed
            .bridge
            .clone()
            .ok_or_else(|| bad_xml("no <bridge name=...>"))?
            .to_string();
        let (Some((address, current)), Some(range)) = (parsed.address, parsed.ip_element.clone()) else {
            return Err(bad_xml(
                "no IPv4 <ip> element, so its guests would get no address",
            ));
        };
        let used = subnet::used_networks_except(host, Some(&bridge))?;
        let mut edits = Vec::new();
        let (gateway, subnet) = if used.iter().any(|u| u.overlaps(&current)) {
            let moved = subnet::free_bridge_subnet(&used)?;
            edits.push((range.clone(), ip_element(&moved)));
            did.push(format!("moved off {current}, which the host uses"));
            (moved.nth(1).expect("a /24 has hosts"), moved)
        } else {
            (address, current)
        };
        if let Some(wanted) = mtu
            && parsed.mtu != Some(wanted.0)
        {
            match (parsed.mtu_element.clone(), parsed.bridge_end) {
                (Some(range), _) => edits.push((range, wanted.element())),
                (None, Some(end)) => edits.push((end..end, format!("\n  {}", wanted.element()))),
                (None, None) => return Err(bad_xml("no <bridge> element")),
            }
            let old = parsed.mtu.map_or_else(
                || format!("{} (libvirt's default)", mtu::ETHERNET),
                |m| m.to_string(),
            );
            did.push(format!("MTU changed from {old} to {}", wanted.0));
        }
        let v6 = match (ipv6, parsed.ipv6) {
            (BridgeIpv6::None, current) => current.map(|(a, _)| a),
            // `auto` keeps the IPv6 network the definition has, its own or ours.
            (BridgeIpv6::Auto, Some((a, _))) => Some(a),
            (wanted, current) => {
                let v6 = crate::network::ipv6::resolve(host, wanted, &bridge)?.expect("an address or auto");
                if current != Some((v6.address, 64)) {
                    match parsed.ipv6_element.clone() {
                        Some(at) => edits.push((at, ipv6_element(&v6))),
                        None => edits.push((range.end..range.end, format!("\n  {}", ipv6_element(&v6)))),
                    }
                    did.push(format!("IPv6 {v6}"));
                }
                Some(v6.address)
            }
        };
        let mut nat66 = parsed.nat66;
        if v6.is_some()
            && ipv6 != BridgeIpv6::None
            && let Some(edit) = nat66_edit(&xml, &parsed)
        {
            edits.push(edit);
            did.push("NAT66 on".into());
            nat66 = true;
        }
        let v6 = v6.map(|a| (a, nat66));
        if edits.is_empty() {
            (bridge, parsed.nat, gateway, subnet, state.active, v6)
        } else {
            let edited = splice(&xml, edits);
            write_definition(&edited, &mut plan)?;
            record::note(host, libvirt_key("network", "definition", &xml, &edited))?;
            // libvirt applies a new definition when the network starts.
            if state.active {
                cmds.push(virsh(&["net-destroy", NETWORK]));
            }
            cmds.push(define.clone());
            (bridge, parsed.nat, gateway, subnet, false, v6)
        }
    };
    if !active {
        if state.defined && !state.active {
            record::note(host, libvirt_key("network", "active", "no", "yes"))?;
        }
        cmds.push(virsh(&["net-start", NETWORK]));
        did.push("started".into());
    }
    if !state.autostart {
        if state.defined {
            record::note(host, libvirt_key("network", "autostart", "no", "yes"))?;
        }
        let stale = host.remove_symlink(NETWORK_AUTOSTART_LINK)?;
        if stale.is_change() {
            did.push(format!("stale {NETWORK_AUTOSTART_LINK} removed"));
        }
        plan.extend(stale.plan(host));
        cmds.push(virsh(&["net-autostart", NETWORK]));
        did.push("autostarted".into());
    }
    let mut place = format!("{NETWORK} network on {bridge} {gateway}/{}", subnet.prefix());
    if let Some(mtu) = mtu {
        place.push_str(&format!(", MTU {}", mtu.0));
    }
    if let Some((a, nat66)) = v6 {
        place.push_str(&format!(", IPv6 {a}/64 nat66={nat66}"));
    }
    if cmds.is_empty() {
        return Ok(
            Outcome::new(Status::Unchanged, format!("{place}, active, autostart")).with_value(
                LibvirtBridge {
                    name: bridge,
                    nat,
                    ipv6: v6,
                },
            ),
        );
    }
    plan.extend(host.run_all(&cmds)?);
    Ok(Outcome::new(
        Status::of_change(host.applies()),
        format!("{place}: {}", did.join(", ")),
    )
    .with_plan(plan)
    .with_value(LibvirtBridge {
        name: bridge,
        nat,
        ipv6: v6,
    }))
}

/// libvirt's `default` storage pool: a directory pool, running, autostarted.
pub fn pool_step(host: &Host) -> anyhow::Result<Outcome> {
    let state = presence(host, "pool-list", POOL)?.unwrap_or(Presence {
        defined: false,
        active: false,
        autostart: false,
    });
    let mut cmds = Vec::new();
    let mut did = Vec::new();
    if !state.defined {
        record::note(host, libvirt_object("pool", POOL))?;
        cmds.push(virsh(&["pool-define-as", POOL, "dir", "--target", IMAGES]));
        cmds.push(virsh(&["pool-build", POOL]));
        did.push(format!("defined on {IMAGES}"));
    }
    if !state.active {
        if state.defined {
            record::note(host, libvirt_key("pool", "active", "no", "yes"))?;
        }
        cmds.push(virsh(&["pool-start", POOL]));
        did.push("started".into());
    }
    let mut plan = Vec::new();
    if !state.autostart {
        if state.defined {
            record::note(host, libvirt_key("pool", "autostart", "no", "yes"))?;
        }
        let stale = host.remove_symlink(POOL_AUTOSTART_LINK)?;
        if stale.is_change() {
            did.push(format!("stale {POOL_AUTOSTART_LINK} removed"));
        }
        plan.extend(stale.plan(host));
        cmds.push(virsh(&["pool-autostart", POOL]));
        did.push("autostarted".into());
    }
    if cmds.is_empty() {
        return Ok(Outcome::new(
            Status::Unchanged,
            format!("{POOL} pool running, autostart"),
        ));
    }
    plan.extend(host.run_all(&cmds)?);
    Ok(Outcome::new(
        Status::of_change(host.applies()),
        format!("{POOL} pool {}", did.join(", ")),
    )
    .with_plan(plan))
}

/// Read-only, for `check`: the bridge of libvirt's `default` network as
/// defined, or `None` when there is no such network; an error when libvirt
/// is not installed or does not answer.
pub fn network_bridge(host: &Host) -> anyhow::Result<Option<LibvirtBridge>> {
    let Some(all) = host.query_installed(&virsh(&["net-list", "--all", "--name"]))? else {
        return Err(coded(Exit::Unavailable, "virsh is not installed"));
    };
    if !all.success() {
        return Err(coded(Exit::Unavailable, all.tail()));
    }
    if !names(&all).contains(&NETWORK) {
        return Ok(None);
    }
    let xml = host
        .query(&virsh(&["net-dumpxml", "--inactive", NETWORK]))?
        .stdout;
    let parsed = parse_network_xml(&xml)?;
    let name = parsed.bridge.ok_or_else(|| bad_xml("no <bridge name=...>"))?;
    Ok(Some(LibvirtBridge {
        name: name.to_string(),
        nat: parsed.nat,
        ipv6: parsed.ipv6.map(|(a, _)| (a, parsed.nat66)),
    }))
}

/// The bridge of libvirt's running `default` network and its address, as
/// libvirt has it live: what readiness checks and what the data-path
/// checks are about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkBridge {
    pub bridge: BridgeName,
    pub address: Ipv4Addr,
    pub subnet: Ipv4Net,
}

/// Read-only: libvirt answers, and the `default` network's bridge is up
/// with its address.
pub fn readiness(host: &Host) -> anyhow::Result<(Outcome, NetworkBridge)> {
    host.query(&virsh(&["version"]))?;
    let xml = host.query(&virsh(&["net-dumpxml", NETWORK]))?.stdout;
    let parsed = parse_network_xml(&xml)?;
    let (Some(bridge), Some((address, subnet))) = (parsed.bridge, parsed.address) else {
        return Err(bad_xml("no bridge or no IPv4 address"));
    };
    crate::network::link::bridge_up(host, bridge.as_str())?;
    let cidr = format!("{address}/{}", subnet.prefix());
    if !subnet::addresses_of(host, bridge.as_str())?.contains(&cidr) {
        return Err(coded(
            Exit::Os,
            format!(
                "the bridge {bridge} is up but does not have {cidr}; restart the network (`virsh net-destroy {NETWORK}; virsh net-start {NETWORK}`) and run again"
            ),
        ));
    }
    let step = Outcome::new(
        Status::Unchanged,
        format!("libvirt answers; bridge {bridge} up with {cidr}"),
    );
    Ok((
        step,
        NetworkBridge {
            bridge,
            address,
            subnet,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `virsh net-dumpxml --inactive default` of libvirt 9.0 on Debian 12.
    const DEBIAN_DEFAULT: &str = "<network>\n  <name>default</name>\n  <uuid>2a4c7b2e-8d4e-4f50-9a4e-0c1b2d3e4f50</uuid>\n  <forward mode='nat'>\n    <nat>\n      <port start='1024' end='65535'/>\n    </nat>\n  </forward>\n  <bridge name='virbr0' stp='on' delay='0'/>\n  <mac address='52:54:00:12:34:56'/>\n  <ip address='192.168.122.1' netmask='255.255.255.0'>\n    <dhcp>\n      <range start='192.168.122.2' end='192.168.122.254'/>\n    </dhcp>\n  </ip>\n</network>\n";

    #[test]
    fn reads_the_bridge_and_subnet_of_a_definition() {
        let parsed = parse_network_xml(DEBIAN_DEFAULT).unwrap();
        assert_eq!(parsed.bridge.unwrap().as_str(), "virbr0");
        let (address, subnet) = parsed.address.unwrap();
        assert_eq!(address.to_string(), "192.168.122.1");
        assert_eq!(subnet, libvirt_subnet());
        assert!(DEBIAN_DEFAULT[parsed.ip_element.unwrap()].starts_with("<ip address="));
    }

    #[test]
    fn moving_a_network_replaces_only_its_ip_element() {
        let parsed = parse_network_xml(DEBIAN_DEFAULT).unwrap();
        let range = parsed.ip_element.unwrap();
        let moved: Ipv4Net = "10.147.2.0/24".parse().unwrap();
        let edited = format!(
            "{}{}{}",
            &DEBIAN_DEFAULT[..range.start],
            ip_element(&moved),
            &DEBIAN_DEFAULT[range.end..]
        );
        let expected = DEBIAN_DEFAULT
            .replace("192.168.122.1'", "10.147.2.1'")
            .replace("192.168.122.2'", "10.147.2.2'")
            .replace("192.168.122.254'", "10.147.2.254'");
        assert_eq!(edited, expected);
    }

    #[test]
    fn a_new_network_is_libvirts_own_definition() {
        let xml = network_xml(&libvirt_subnet(), None, None);
        let parsed = parse_network_xml(&xml).unwrap();
        assert_eq!(parsed.address.unwrap().0.to_string(), "192.168.122.1");
        assert!(
            xml.contains("<range start='192.168.122.2' end='192.168.122.254'/>"),
            "{xml}"
        );
        assert!(xml.contains("<forward mode='nat'/>"), "{xml}");
    }

    #[test]
    fn an_mtu_is_inserted_after_the_bridge_or_replaced_in_place() {
        let parsed = parse_network_xml(DEBIAN_DEFAULT).unwrap();
        assert_eq!(parsed.mtu, None);
        let end = parsed.bridge_end.unwrap();
        let mtu = NetworkMtu::new(1400).unwrap();
        let with = splice(DEBIAN_DEFAULT, vec![(end..end, format!("\n  {}", mtu.element()))]);
        assert_eq!(
            with,
            DEBIAN_DEFAULT.replace("delay='0'/>\n", "delay='0'/>\n  <mtu size='1400'/>\n")
        );
        let parsed = parse_network_xml(&with).unwrap();
        assert_eq!(parsed.mtu, Some(1400));
        let range = parsed.mtu_element.unwrap();
        let changed = splice(&with, vec![(range, NetworkMtu::new(1460).unwrap().element())]);
        assert_eq!(changed, with.replace("1400", "1460"));
        assert_eq!(parse_network_xml(&changed).unwrap().mtu, Some(1460));
    }

    #[test]
    fn both_edits_at_once_keep_each_other_in_place() {
        let parsed = parse_network_xml(DEBIAN_DEFAULT).unwrap();
        let end = parsed.bridge_end.unwrap();
        let moved: Ipv4Net = "10.147.2.0/24".parse().unwrap();
        let edited = splice(
            DEBIAN_DEFAULT,
            vec![
                (parsed.ip_element.unwrap(), ip_element(&moved)),
                (end..end, "\n  <mtu size='1400'/>".into()),
            ],
        );
        let again = parse_network_xml(&edited).unwrap();
        assert_eq!(again.mtu, Some(1400));
        assert_eq!(again.address.unwrap().1, moved);
        assert!(edited.contains("<uuid>2a4c7b2e-8d4e-4f50-9a4e-0c1b2d3e4f50</uuid>"));
    }

    #[test]
    fn a_new_network_carries_the_wanted_mtu_and_bad_ones_are_refused() {
        let xml = network_xml(&libvirt_subnet(), Some(NetworkMtu::new(1400).unwrap()), None);
        assert!(
            xml.contains("<bridge name='virbr0' stp='on' delay='0'/>\n  <mtu size='1400'/>\n"),
            "{xml}"
        );
        assert_eq!(parse_network_xml(&xml).unwrap().mtu, Some(1400));
        assert!(NetworkMtu::new(575).is_err());
        assert!(NetworkMtu::new(9217).is_err());
        assert!(NetworkMtu::new(576).is_ok() && NetworkMtu::new(9216).is_ok());
        assert!(parse_network_xml("<network><bridge name='virbr0'/><mtu size='big'/></network>").is_err());
    }

    #[test]
    fn nat_is_read_from_the_forward_mode() {
        assert!(parse_network_xml(DEBIAN_DEFAULT).unwrap().nat);
        let routed = "<network><forward mode='route'/><bridge name='virbr1'/></network>";
        assert!(!parse_network_xml(routed).unwrap().nat);
        let isolated = "<network><bridge name='virbr2'/></network>";
        assert!(!parse_network_xml(isolated).unwrap().nat);
    }

    #[test]
    fn a_prefix_or_no_mask_is_read_too() {
        let with_prefix = "<network><bridge name='br-x'/><ip address='10.9.8.1' prefix='24'/></network>";
        let (_, subnet) = parse_network_xml(with_prefix).unwrap().address.unwrap();
        assert_eq!(subnet.to_string(), "10.9.8.0/24");
        let v6_only =
            "<network><bridge name='virbr1'/><ip family='ipv6' address='fd00::1' prefix='64'/></network>";
        assert_eq!(parse_network_xml(v6_only).unwrap().address, None);
    }

    #[test]
    fn nat66_is_turned_on_in_every_shape_of_forward_and_a_new_network_has_it() {
        let v6 = BridgeAddress6 {
            address: "fd42:7:8:9::1".parse().unwrap(),
        };
        let fresh = network_xml(&libvirt_subnet(), None, Some(&v6));
        let parsed = parse_network_xml(&fresh).unwrap();
        assert_eq!(parsed.ipv6, Some((v6.address, 64)));
        assert!(parsed.nat66 && parsed.nat, "{fresh}");
        assert_eq!(nat66_edit(&fresh, &parsed), None);
        let cases = [
            (
                "<network><forward mode='nat'/><bridge name='virbr0'/><ip address='10.9.8.1' prefix='24'/></network>",
                "<forward mode='nat'>\n    <nat ipv6='yes'/>\n  </forward>",
            ),
            (
                "<network><forward mode='nat'><nat ipv6='no'/></forward><bridge name='virbr0'/><ip address='10.9.8.1' prefix='24'/></network>",
                "<nat ipv6='yes'/>",
            ),
            (
                "<network><forward mode='nat'><nat><port start='1024' end='65535'/></nat></forward><bridge name='virbr0'/><ip address='10.9.8.1' prefix='24'/></network>",
                "<nat ipv6='yes'><port start='1024'",
            ),
            (
                "<network><forward><address start='1.2.3.4'/></forward><bridge name='virbr0'/><ip address='10.9.8.1' prefix='24'/></network>",
                "<forward>\n    <nat ipv6='yes'/><address",
            ),
        ];
        for (xml, wanted) in cases {
            let parsed = parse_network_xml(xml).unwrap();
            let edited = splice(xml, vec![nat66_edit(xml, &parsed).unwrap()]);
            assert!(edited.contains(wanted), "{edited}");
            assert!(parse_network_xml(&edited).unwrap().nat66, "{edited}");
        }
        let routed = "<network><forward mode='route'/><bridge name='virbr0'/><ip address='10.9.8.1' prefix='24'/></network>";
        assert_eq!(nat66_edit(routed, &parse_network_xml(routed).unwrap()), None);
        let bad = "<network><bridge name='virbr0'/><ip family='ipv6' address='nope' prefix='64'/></network>";
        assert!(parse_network_xml(bad).is_err());
    }

    #[test]
    fn a_hostile_bridge_name_or_broken_xml_is_refused() {
        let hostile = "<network><bridge name='../../etc'/><ip address='10.9.8.1' prefix='24'/></network>";
        assert!(parse_network_xml(hostile).is_err());
        assert!(parse_network_xml("<network><ip").is_err());
        let bad_mask =
            "<network><bridge name='virbr0'/><ip address='10.9.8.1' netmask='255.0.255.0'/></network>";
        assert!(parse_network_xml(bad_mask).is_err());
    }
}
