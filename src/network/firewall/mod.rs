//! The host's firewalls as they touch one bridge: read every ruleset
//! (iptables legacy and nft backends, native nft), tell which of a guest's
//! kinds of traffic something drops, and who owns what drops it.

pub mod docker;
pub mod firewalld;
pub mod iptables_save;
pub mod nft_json;
pub mod ruleset;
pub mod ufw;

use std::fmt;
use std::net::Ipv4Addr;

use crate::host::{CommandLine, Host};

use ruleset::{Addr, Cidr, Drop, Hook, Oif, Origin, Packet, Table};

/// The tables iptables-nft keeps in nf_tables under family `ip`.
const XTABLES: [&str; 5] = ["filter", "nat", "mangle", "raw", "security"];

/// The IPv6 tables of ip6tables (nft and legacy backends), which `nft`
/// shows only as opaque `xt` expressions: read only where a bridge has
/// IPv6, beside [`read`]'s (which hold nft's own `ip6` and `inet` tables).
pub fn read_v6(host: &Host, nft_tables: &[Table]) -> anyhow::Result<Vec<Table>> {
    let mut tables = Vec::new();
    let xtables_in_use = nft_tables
        .iter()
        .any(|t| t.family == "ip6" && t.origin == Origin::Nft && XTABLES.contains(&t.name.as_str()));
    if xtables_in_use
        && let Some(out) = host.query_installed(&CommandLine::new("ip6tables-nft-save"))?
        && out.success()
    {
        tables.extend(as_ip6(iptables_save::parse(&out.stdout, Origin::IptablesNft)));
    }
    let legacy_in_use = host
        .read_optional("/proc/net/ip6_tables_names")?
        .is_some_and(|names| !names.iter().all(u8::is_ascii_whitespace));
    if legacy_in_use
        && let Some(out) = host.query_installed(&CommandLine::new("ip6tables-legacy-save"))?
        && out.success()
    {
        tables.extend(as_ip6(iptables_save::parse(&out.stdout, Origin::IptablesLegacy)));
    }
    Ok(tables)
}

fn as_ip6(tables: Vec<Table>) -> Vec<Table> {
    tables
        .into_iter()
        .map(|t| Table {
            family: "ip6".into(),
            ..t
        })
        .collect()
}

/// The tables of both families: nft's own `ip6` view of an ip6tables-nft
/// table gives way to ip6tables-nft-save's, as for IPv4.
pub fn with_v6(mut tables: Vec<Table>, v6: Vec<Table>) -> Vec<Table> {
    tables.retain(|t| {
        !(t.family == "ip6"
            && t.origin == Origin::Nft
            && v6
                .iter()
                .any(|x| x.origin == Origin::IptablesNft && x.name == t.name))
    });
    tables.extend(v6);
    tables
}

/// Every IPv4 table on the host, each from the tool that reads it best:
/// iptables-nft's own tables through `iptables-nft-save` (their matches are
/// opaque `xt` expressions to nft), the rest through `nft -j`, and the legacy
/// backend through `iptables-legacy-save` when its tables are in use.
pub fn read(host: &Host) -> anyhow::Result<Vec<Table>> {
    let nft = host.query_installed(&CommandLine::new("nft").args(["-j", "list", "ruleset"]))?;
    let mut native = match &nft {
        Some(out) if out.success() => nft_json::parse(&out.stdout),
        _ => Vec::new(),
    };
    let mut tables = Vec::new();
    let xtables_in_use = native
        .iter()
        .any(|t| t.family == "ip" && XTABLES.contains(&t.name.as_str()));
    if (xtables_in_use || nft.is_none())
        && let Some(out) = host.query_installed(&CommandLine::new("iptables-nft-save"))?
        && out.success()
    {
        let xt = iptables_save::parse(&out.stdout, Origin::IptablesNft);
        // iptables-nft-save leaves out (with a comment) a table it cannot read:
        // nft's view of that one stays.
        native.retain(|t| !(t.family == "ip" && xt.iter().any(|x| x.name == t.name)));
        tables.extend(xt);
    }
    tables.extend(native);
    let legacy_in_use = host
        .read_optional("/proc/net/ip_tables_names")?
        .is_some_and(|names| !names.iter().all(u8::is_ascii_whitespace));
    if legacy_in_use
        && let Some(out) = host.query_installed(&CommandLine::new("iptables-legacy-save"))?
        && out.success()
    {
        tables.extend(iptables_save::parse(&out.stdout, Origin::IptablesLegacy));
    }
    Ok(tables)
}

/// A kind of traffic a guest on the bridge needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Class {
    /// DHCP requests to the runtime's dnsmasq on the host.
    Dhcp,
    /// DNS queries to that dnsmasq.
    Dns,
    /// A guest's new connection out through the uplink.
    GuestsOut,
    /// The answers coming back.
    RepliesIn,
    /// One guest to another on the same bridge, seen by iptables only with
    /// br_netfilter's bridge-nf-call-iptables=1.
    GuestToGuest,
}

impl fmt::Display for Class {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Class::Dhcp => "DHCP requests to the host",
            Class::Dns => "DNS queries to the host",
            Class::GuestsOut => "guests' traffic out",
            Class::RepliesIn => "replies to guests",
            Class::GuestToGuest => "guest-to-guest traffic",
        })
    }
}

/// The bridge as its guests' packets show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scope<'a> {
    pub bridge: &'a str,
    /// The bridge's own address and prefix, once it has one.
    pub address: Option<(Ipv4Addr, u8)>,
    /// The device of the default route.
    pub uplink: Option<&'a str>,
    /// IPv6 packets (`address` is then `None`: guests configure their own).
    pub v6: bool,
}

impl Class {
    pub fn packet<'a>(self, scope: &Scope<'a>) -> Packet<'a> {
        let bridge = scope.bridge;
        let uplink_oif = scope.uplink.map_or(Oif::Unknown, Oif::Name);
        let guests = scope
            .address
            .and_then(|(ip, len)| Cidr::new(ip, len))
            .map_or(Addr::Unknown, Addr::In);
        let outside = match guests {
            Addr::In(net) => Addr::Outside(net),
            _ => Addr::Unknown,
        };
        let host = scope.address.map_or(Addr::Unknown, |(ip, _)| Addr::Exact(ip));
        let input = |proto, dport, src, dst| Packet {
            hook: Hook::Input,
            iif: bridge,
            oif: Oif::None,
            proto,
            dport,
            ct: "new",
            src,
            dst,
        };
        match self {
            // A client with no address yet asks everyone.
            Class::Dhcp => input(
                "udp",
                67,
                Addr::Exact(Ipv4Addr::UNSPECIFIED),
                Addr::Exact(Ipv4Addr::BROADCAST),
            ),
            Class::Dns => input("udp", 53, guests, host),
            Class::GuestsOut => Packet {
                hook: Hook::Forward,
                iif: bridge,
                oif: uplink_oif,
                proto: "tcp",
                dport: 80,
                ct: "new",
                src: guests,
                dst: outside,
            },
            Class::RepliesIn => Packet {
                hook: Hook::Forward,
                // The uplink, or wherever the answer came in.
                iif: scope.uplink.unwrap_or(""),
                oif: Oif::Name(bridge),
                proto: "tcp",
                dport: 40000,
                ct: "established",
                src: outside,
                dst: guests,
            },
            Class::GuestToGuest => Packet {
                hook: Hook::Forward,
                iif: bridge,
                oif: Oif::Name(bridge),
                proto: "tcp",
                dport: 80,
                ct: "new",
                src: guests,
                dst: guests,
            },
        }
    }

    /// The kinds to look at for IPv6: no DHCP (guests configure themselves
    /// from router advertisements), forwarding where NAT66 routes guests out.
    pub fn all_v6(nat66: bool, br_netfilter: bool) -> Vec<Class> {
        Class::all(nat66, br_netfilter)
            .into_iter()
            .filter(|c| *c != Class::Dhcp)
            .collect()
    }

    /// The kinds to look at: forwarding only matters where NAT routes guests
    /// out, and guest-to-guest only where br_netfilter shows it to iptables.
    pub fn all(nat: bool, br_netfilter: bool) -> Vec<Class> {
        let mut out = vec![Class::Dhcp, Class::Dns];
        if nat {
            out.extend([Class::GuestsOut, Class::RepliesIn]);
        }
        if br_netfilter {
            out.push(Class::GuestToGuest);
        }
        out
    }
}

/// Who owns the rule or policy that drops a guest's traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Owner {
    Docker,
    Ufw,
    Firewalld,
    /// Someone's own rules: reported, never changed.
    Other,
}

impl fmt::Display for Owner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Owner::Docker => "Docker",
            Owner::Ufw => "ufw",
            Owner::Firewalld => "firewalld",
            Owner::Other => "a firewall rule",
        })
    }
}

fn owner(tables: &[Table], drop: &Drop) -> Owner {
    let Some(table) = tables
        .iter()
        .find(|t| t.origin == drop.origin && t.family == drop.family && t.name == drop.table)
    else {
        return Owner::Other;
    };
    let builtin = matches!(drop.chain.as_str(), "INPUT" | "FORWARD");
    if drop.origin == Origin::Nft && drop.table == docker::NFT_TABLE {
        return Owner::Docker;
    }
    // Under its nftables backend Docker keeps no iptables chain, but the
    // `FORWARD` policy `DROP` its iptables backend left still drops.
    let docker_nft = docker::nft_backend(tables);
    if drop.origin != Origin::Nft
        && (table.chain(docker::USER_CHAIN).is_some() || docker_nft)
        && ((builtin && drop.rule.is_none() && drop.chain == "FORWARD") || drop.chain.starts_with("DOCKER"))
    {
        return Owner::Docker;
    }
    if drop.origin != Origin::Nft
        && table
            .chains
            .iter()
            .any(|c| c.name.starts_with("ufw-") || c.name.starts_with("ufw6-"))
        && ((builtin && drop.rule.is_none())
            || drop.chain.starts_with("ufw-")
            || drop.chain.starts_with("ufw6-"))
    {
        return Owner::Ufw;
    }
    if drop.origin == Origin::Nft && drop.table == "firewalld" {
        return Owner::Firewalld;
    }
    Owner::Other
}

/// One kind of traffic that something drops.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blocked {
    pub class: Class,
    pub owner: Owner,
    pub drop: Drop,
}

impl fmt::Display for Blocked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} drops {} ({})", self.owner, self.class, self.drop)
    }
}

/// What drops each kind of the bridge's traffic.
pub fn blocked(tables: &[Table], scope: &Scope, classes: &[Class]) -> Vec<Blocked> {
    let mut out = Vec::new();
    for &class in classes {
        for drop in ruleset::drops_in(tables, &class.packet(scope), scope.v6) {
            out.push(Blocked {
                class,
                owner: owner(tables, &drop),
                drop,
            });
        }
    }
    out
}

/// The commands that open `bridge` for `blocked` (all of one owner), and the
/// same change made to `tables`, so that what is left can be judged before
/// anything runs (a dry run runs nothing).
pub fn opening(
    owner: Owner,
    bridge: &str,
    blocked: &[&Blocked],
    tables: &mut Vec<Table>,
) -> Vec<CommandLine> {
    let classes: Vec<Class> = blocked.iter().map(|b| b.class).collect();
    match owner {
        Owner::Docker => {
            // Docker's own nft table takes no one else's rules.
            let (classes, origins): (Vec<Class>, Vec<(Origin, bool)>) = blocked
                .iter()
                .filter(|b| b.drop.origin != Origin::Nft)
                .map(|b| (b.class, (b.drop.origin, b.drop.family == "ip6")))
                .unzip();
            docker::open(bridge, &classes, &origins, tables)
        }
        Owner::Ufw => ufw::open(bridge, &classes, tables),
        Owner::Firewalld => firewalld::open(bridge, tables),
        Owner::Other => Vec::new(),
    }
}

/// The record's entry for a command that opens a bridge: its backend and
/// the words teardown needs to find and delete the same rule.
pub fn recorded(cmd: &CommandLine) -> Option<crate::record::Change> {
    use crate::record::FirewallBackend as B;
    let args = cmd.arguments();
    let (backend, rule) = match cmd.program() {
        "iptables-nft" | "iptables" => (B::IptablesNft, args.get(1..)?),
        "ip6tables-nft" | "ip6tables" => (B::Ip6tablesNft, args.get(1..)?),
        "iptables-legacy" => (B::IptablesLegacy, args.get(1..)?),
        "ip6tables-legacy" => (B::Ip6tablesLegacy, args.get(1..)?),
        "ufw" => (B::Ufw, args),
        "firewall-cmd" => (B::Firewalld, args),
        _ => return None,
    };
    Some(crate::record::Change::FirewallRule {
        backend,
        rule: rule.to_vec(),
    })
}

/// Whether the tool can open this drop itself: it owns no rule of Docker's
/// nftables backend, nor anyone's own.
pub fn openable(b: &Blocked) -> bool {
    b.owner != Owner::Other && !(b.owner == Owner::Docker && b.drop.origin == Origin::Nft)
}

/// How to open the bridge by hand, for a message.
pub fn by_hand(owner: Owner, bridge: &str, blocked: &[&Blocked], tables: &[Table]) -> String {
    if owner == Owner::Docker && blocked.iter().any(|b| b.drop.origin == Origin::Nft) {
        return docker::fwmark_fix(bridge);
    }
    let mut scratch = tables.to_vec();
    let cmds = opening(owner, bridge, blocked, &mut scratch);
    if cmds.is_empty() {
        let first = blocked.first().map(|b| b.drop.to_string()).unwrap_or_default();
        return format!("remove or change {first}, or accept {bridge} before it");
    }
    cmds.iter()
        .map(|c| format!("`{c}`"))
        .collect::<Vec<_>>()
        .join(", ")
}
