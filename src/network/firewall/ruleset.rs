//! The host's firewall as one model, whichever tool wrote it (iptables-legacy,
//! iptables-nft, nft), and the one question asked of it: would a packet of
//! this kind be dropped, and by which rule or policy?
//!
//! Only what decides a bridge's traffic is modelled: interfaces, protocol,
//! destination port and conntrack state. A rule that also matches on
//! anything else (addresses, marks, sets, rate limits) might or might not
//! hit a guest's packet; it is left out of the verdict rather than guessed,
//! so that the tool never "fixes" a host on a guess.

use std::fmt;
use std::net::Ipv4Addr;

/// Which tool's view a table comes from; it decides which binary changes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    IptablesLegacy,
    IptablesNft,
    Nft,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Origin::IptablesLegacy => "iptables-legacy",
            Origin::IptablesNft => "iptables-nft",
            Origin::Nft => "nft",
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hook {
    Input,
    Forward,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    pub origin: Origin,
    /// `ip`, `inet`, ...; iptables tables are `ip`.
    pub family: String,
    pub name: String,
    pub chains: Vec<Chain>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chain {
    pub name: String,
    /// Set for a base chain (iptables' built-in chains, nft's hooked chains).
    pub hook: Option<Hook>,
    pub policy_drop: bool,
    pub rules: Vec<Rule>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub matches: Vec<Match>,
    pub action: Action,
    /// How the rule reads in its own tool, for messages.
    pub text: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    In,
    Out,
}

/// An IPv4 network of any prefix length, /0 to /32, as rules name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    base: u32,
    len: u8,
}

impl Cidr {
    pub fn new(addr: Ipv4Addr, len: u8) -> Option<Cidr> {
        (len <= 32).then(|| Cidr {
            base: u32::from(addr) & Cidr::mask(len),
            len,
        })
    }

    fn mask(len: u8) -> u32 {
        if len == 0 { 0 } else { u32::MAX << (32 - len) }
    }

    /// `10.0.0.0/8`, or a plain address for a /32.
    pub fn parse(text: &str) -> Option<Cidr> {
        match text.split_once('/') {
            Some((addr, len)) => Cidr::new(addr.parse().ok()?, len.parse().ok()?),
            None => Cidr::new(text.parse().ok()?, 32),
        }
    }

    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        u32::from(ip) & Cidr::mask(self.len) == self.base
    }

    /// Whether every address of `other` is in this network.
    fn covers(&self, other: &Cidr) -> bool {
        self.len <= other.len && other.base & Cidr::mask(self.len) == self.base
    }

    fn overlaps(&self, other: &Cidr) -> bool {
        self.covers(other) || other.covers(self)
    }
}

/// What is known of a packet's source or destination address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Addr {
    Unknown,
    /// This address.
    Exact(Ipv4Addr),
    /// Some address in this network (a guest on the bridge).
    In(Cidr),
    /// Some address outside this network (a host beyond the uplink).
    Outside(Cidr),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Match {
    /// Source (`-s`, `ip saddr`) or destination (`-d`, `ip daddr`) address.
    Address {
        source: bool,
        net: Cidr,
        negate: bool,
    },
    /// Any of these interface patterns (`br+`, `br*` end in a wildcard).
    Iface {
        dir: Direction,
        patterns: Vec<String>,
        negate: bool,
    },
    Proto {
        protos: Vec<String>,
        negate: bool,
    },
    DPort {
        ranges: Vec<(u16, u16)>,
        negate: bool,
    },
    CtState {
        states: Vec<String>,
        negate: bool,
    },
    /// Conntrack status bits (`ct status dnat`, `--ctstatus DNAT`). Only
    /// `dnat` is followed: the packets judged here are a guest's own
    /// connections and their replies, which nothing destination-NATs.
    /// firewalld 2.x accepts `ct status dnat` ahead of its zones' reject;
    /// read as "might match", it hid that reject (seen in the Debian 13 VM).
    CtStatus {
        statuses: Vec<String>,
        negate: bool,
    },
    /// The kind of a source or destination address (`-m addrtype`, `fib
    /// daddr type`): LOCAL, BROADCAST, MULTICAST, UNICAST...
    AddrType {
        source: bool,
        types: Vec<String>,
        negate: bool,
    },
    /// Something this model does not follow; the rule might match.
    Unknown(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Accept,
    Drop,
    Jump(String),
    Goto(String),
    Return,
    /// Counting, logging, marking: the packet goes on to the next rule.
    Continue,
}

/// What the outgoing interface of a packet is known to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Oif<'a> {
    /// Input to the host itself: there is none.
    None,
    /// Forwarded, to an interface we cannot name (no default route).
    Unknown,
    Name(&'a str),
}

/// One kind of packet a guest's traffic is made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packet<'a> {
    pub hook: Hook,
    pub iif: &'a str,
    pub oif: Oif<'a>,
    /// `tcp`, `udp` or `icmp`.
    pub proto: &'static str,
    pub dport: u16,
    /// `new` or `established`.
    pub ct: &'static str,
    pub src: Addr,
    pub dst: Addr,
}

/// Where a packet is dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Drop {
    pub origin: Origin,
    pub family: String,
    pub table: String,
    pub chain: String,
    /// The dropping rule, or `None` when it is the base chain's policy.
    pub rule: Option<String>,
}

impl fmt::Display for Drop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.rule {
            Some(rule) => write!(
                f,
                "rule `{rule}` in chain {} of table {} {} ({})",
                self.chain, self.family, self.table, self.origin
            ),
            None => write!(
                f,
                "policy DROP of chain {} in table {} {} ({})",
                self.chain, self.family, self.table, self.origin
            ),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tri {
    Yes,
    No,
    Maybe,
}

fn negated(t: Tri, negate: bool) -> Tri {
    match (t, negate) {
        (Tri::Yes, true) => Tri::No,
        (Tri::No, true) => Tri::Yes,
        (t, _) => t,
    }
}

fn of(b: bool) -> Tri {
    if b { Tri::Yes } else { Tri::No }
}

/// An interface name against an iptables (`+`) or nft (`*`) pattern.
pub fn iface_matches(pattern: &str, name: &str) -> bool {
    match pattern.strip_suffix('+').or_else(|| pattern.strip_suffix('*')) {
        Some(prefix) => name.starts_with(prefix),
        None => pattern == name,
    }
}

fn proto_name(p: &str) -> &str {
    match p {
        "6" => "tcp",
        "17" => "udp",
        "1" => "icmp",
        other => other,
    }
}

impl Match {
    fn test(&self, p: &Packet) -> Tri {
        match self {
            Match::Iface {
                dir,
                patterns,
                negate,
            } => {
                let name = match (dir, p.oif) {
                    (Direction::In, _) => p.iif,
                    (Direction::Out, Oif::Name(n)) => n,
                    // iptables refuses -o in INPUT; nft's oifname is empty there.
                    (Direction::Out, Oif::None) => "",
                    (Direction::Out, Oif::Unknown) => return Tri::Maybe,
                };
                negated(of(patterns.iter().any(|pat| iface_matches(pat, name))), *negate)
            }
            Match::Proto { protos, negate } => {
                if protos.iter().any(|x| matches!(x.as_str(), "all" | "0")) {
                    return negated(Tri::Yes, *negate);
                }
                negated(
                    of(protos
                        .iter()
                        .any(|x| proto_name(&x.to_ascii_lowercase()) == p.proto)),
                    *negate,
                )
            }
            Match::DPort { ranges, negate } => {
                if !matches!(p.proto, "tcp" | "udp") {
                    // A port match implies a protocol with ports.
                    return Tri::No;
                }
                negated(
                    of(ranges.iter().any(|(lo, hi)| (*lo..=*hi).contains(&p.dport))),
                    *negate,
                )
            }
            Match::CtState { states, negate } => {
                negated(of(states.iter().any(|s| s.eq_ignore_ascii_case(p.ct))), *negate)
            }
            Match::CtStatus { statuses, negate } => {
                if statuses.iter().all(|s| s.eq_ignore_ascii_case("dnat")) {
                    negated(Tri::No, *negate)
                } else {
                    Tri::Maybe
                }
            }
            Match::Address { source, net, negate } => {
                let addr = if *source { p.src } else { p.dst };
                let known = match addr {
                    _ if net.len == 0 => Tri::Yes,
                    Addr::Exact(ip) => of(net.contains(ip)),
                    Addr::In(guests) if net.covers(&guests) => Tri::Yes,
                    Addr::In(guests) if !net.overlaps(&guests) => Tri::No,
                    Addr::Outside(guests) if guests.covers(net) => Tri::No,
                    _ => Tri::Maybe,
                };
                negated(known, *negate)
            }
            Match::AddrType {
                source,
                types,
                negate,
            } => {
                let addr = if *source { p.src } else { p.dst };
                let kinds: &[&str] = match addr {
                    Addr::Exact(ip) if ip.is_broadcast() => &["BROADCAST"],
                    Addr::Exact(ip) if ip.is_unspecified() => &["UNSPEC"],
                    Addr::Exact(ip) if ip.is_multicast() => &["MULTICAST"],
                    // Addressed to the host itself.
                    Addr::Exact(_) if !*source && p.hook == Hook::Input => &["LOCAL", "UNICAST"],
                    Addr::Exact(_) => &["UNICAST"],
                    // Guests and hosts beyond the uplink.
                    Addr::In(_) | Addr::Outside(_) if p.hook == Hook::Forward || *source => &["UNICAST"],
                    _ => return Tri::Maybe,
                };
                negated(
                    of(types
                        .iter()
                        .any(|t| kinds.iter().any(|k| k.eq_ignore_ascii_case(t)))),
                    *negate,
                )
            }
            Match::Unknown(_) => Tri::Maybe,
        }
    }
}

impl Rule {
    /// What one of our own commands adds: accept what comes in on, or goes
    /// out through, `bridge`; `text` is the command, for messages.
    pub fn accept_on(dir: Direction, bridge: &str, text: String) -> Rule {
        Rule {
            matches: vec![Match::Iface {
                dir,
                patterns: vec![bridge.to_string()],
                negate: false,
            }],
            action: Action::Accept,
            text,
        }
    }

    fn test(&self, p: &Packet) -> Tri {
        let mut all = Tri::Yes;
        for m in &self.matches {
            match m.test(p) {
                Tri::No => return Tri::No,
                Tri::Maybe => all = Tri::Maybe,
                Tri::Yes => {}
            }
        }
        all
    }
}

/// How a chain's walk ended.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Flow {
    Accept,
    Drop(Option<String>, String),
    /// Back to the calling chain: a `RETURN`, or the end of the chain.
    Return,
    /// Past what the walk follows (too many rules that might match).
    Unknown,
}

/// Deep enough for ufw's and firewalld's chains, short of a loop.
const MAX_DEPTH: usize = 32;

/// How many rules that might match are followed both ways, per packet.
const MAX_FORKS: usize = 256;

impl Table {
    pub fn chain(&self, name: &str) -> Option<&Chain> {
        self.chains.iter().find(|c| c.name == name)
    }

    pub fn chain_mut(&mut self, name: &str) -> Option<&mut Chain> {
        self.chains.iter_mut().find(|c| c.name == name)
    }

    /// Every way `chain` can end for `p`, from rule `from` on. A rule that
    /// might match is followed both ways: matched and not.
    fn walk(&self, chain: &Chain, from: usize, p: &Packet, depth: usize, forks: &mut usize) -> Vec<Flow> {
        if depth > MAX_DEPTH {
            return vec![Flow::Unknown];
        }
        for (i, rule) in chain.rules.iter().enumerate().skip(from) {
            let hit = rule.test(p);
            if hit == Tri::No || rule.action == Action::Continue {
                continue;
            }
            let mut out = Vec::new();
            if hit == Tri::Maybe {
                if *forks >= MAX_FORKS {
                    return vec![Flow::Unknown];
                }
                *forks += 1;
                out.extend(self.walk(chain, i + 1, p, depth, forks));
            }
            match &rule.action {
                Action::Accept => out.push(Flow::Accept),
                Action::Drop => out.push(Flow::Drop(Some(rule.text.clone()), chain.name.clone())),
                Action::Return => out.push(Flow::Return),
                Action::Continue => {}
                Action::Jump(target) => match self.chain(target) {
                    Some(next) => {
                        let inner = self.walk(next, 0, p, depth + 1, forks);
                        if inner.contains(&Flow::Return) {
                            out.extend(self.walk(chain, i + 1, p, depth, forks));
                        }
                        out.extend(inner.into_iter().filter(|f| *f != Flow::Return));
                    }
                    None => out.extend(self.walk(chain, i + 1, p, depth, forks)),
                },
                Action::Goto(target) => match self.chain(target) {
                    Some(next) => out.extend(self.walk(next, 0, p, depth + 1, forks)),
                    None => out.push(Flow::Return),
                },
            }
            out.dedup();
            return out;
        }
        vec![Flow::Return]
    }

    /// Where this table drops `p` for certain: every way through one of its
    /// base chains ends in a drop.
    pub fn drops(&self, p: &Packet) -> Option<Drop> {
        for base in self.chains.iter().filter(|c| c.hook == Some(p.hook)) {
            let mut forks = 0;
            let flows = self.walk(base, 0, p, 0, &mut forks);
            let mut first = None;
            let certain = flows.iter().all(|flow| match flow {
                Flow::Drop(rule, chain) => {
                    first.get_or_insert((rule.clone(), chain.clone()));
                    true
                }
                Flow::Return if base.policy_drop => {
                    first.get_or_insert((None, base.name.clone()));
                    true
                }
                _ => false,
            });
            if let (true, Some((rule, chain))) = (certain, first) {
                return Some(Drop {
                    origin: self.origin,
                    family: self.family.clone(),
                    table: self.name.clone(),
                    chain,
                    rule,
                });
            }
        }
        None
    }
}

/// Every place that drops `p`. An accept in one table does not save a
/// packet from another: each base chain on the hook sees it in turn.
pub fn drops(tables: &[Table], p: &Packet) -> Vec<Drop> {
    drops_in(tables, p, false)
}

/// [`drops`] for an IPv4 packet, or with `v6` an IPv6 one: an `ip6` table
/// never sees IPv4 packets, an `ip` table never IPv6 ones, `inet` sees both.
pub fn drops_in(tables: &[Table], p: &Packet, v6: bool) -> Vec<Drop> {
    let family = if v6 { "ip6" } else { "ip" };
    tables
        .iter()
        .filter(|t| t.family == family || t.family == "inet")
        .filter_map(|t| t.drops(p))
        .collect()
}

/// For the parsers' tests too: a guest on lxdbr0 opening a connection out
/// through eth0.
#[cfg(test)]
pub const GUEST_OUT: Packet<'static> = Packet {
    hook: Hook::Forward,
    iif: "lxdbr0",
    oif: Oif::Name("eth0"),
    proto: "tcp",
    dport: 80,
    ct: "new",
    src: Addr::Unknown,
    dst: Addr::Unknown,
};

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(matches: Vec<Match>, action: Action) -> Rule {
        Rule {
            matches,
            action,
            text: "r".into(),
        }
    }

    fn iface(dir: Direction, name: &str) -> Match {
        Match::Iface {
            dir,
            patterns: vec![name.into()],
            negate: false,
        }
    }

    fn forward(policy_drop: bool, rules: Vec<Rule>, others: Vec<Chain>) -> Table {
        let mut chains = vec![Chain {
            name: "FORWARD".into(),
            hook: Some(Hook::Forward),
            policy_drop,
            rules,
        }];
        chains.extend(others);
        Table {
            origin: Origin::IptablesNft,
            family: "ip".into(),
            name: "filter".into(),
            chains,
        }
    }

    #[test]
    fn a_drop_policy_drops_unless_a_rule_accepts_first() {
        let t = forward(true, vec![], vec![]);
        assert_eq!(t.drops(&GUEST_OUT).unwrap().rule, None);
        let t = forward(
            true,
            vec![rule(vec![iface(Direction::In, "lxdbr0")], Action::Accept)],
            vec![],
        );
        assert_eq!(t.drops(&GUEST_OUT), None);
        let t = forward(
            true,
            vec![rule(vec![iface(Direction::In, "docker0")], Action::Accept)],
            vec![],
        );
        assert!(t.drops(&GUEST_OUT).is_some());
    }

    #[test]
    fn jumps_return_and_gotos_leave_the_caller() {
        let user = Chain {
            name: "DOCKER-USER".into(),
            hook: None,
            policy_drop: false,
            rules: vec![
                rule(vec![iface(Direction::Out, "lxdbr0")], Action::Accept),
                rule(vec![], Action::Return),
            ],
        };
        let t = forward(
            true,
            vec![rule(vec![], Action::Jump("DOCKER-USER".into()))],
            vec![user.clone()],
        );
        assert!(
            t.drops(&GUEST_OUT).is_some(),
            "RETURN goes back to FORWARD and its policy"
        );
        let back = Packet {
            iif: "eth0",
            oif: Oif::Name("lxdbr0"),
            ct: "established",
            ..GUEST_OUT
        };
        assert_eq!(t.drops(&back), None);
        let t = forward(
            false,
            vec![rule(vec![], Action::Goto("X".into())), rule(vec![], Action::Drop)],
            vec![Chain {
                name: "X".into(),
                hook: None,
                policy_drop: false,
                rules: vec![],
            }],
        );
        assert_eq!(
            t.drops(&GUEST_OUT),
            None,
            "the end of a goto target ends the base chain"
        );
    }

    #[test]
    fn a_rule_that_only_might_match_is_not_counted() {
        let t = forward(
            false,
            vec![rule(vec![Match::Unknown("-s 10.0.0.0/8".into())], Action::Drop)],
            vec![],
        );
        assert_eq!(t.drops(&GUEST_OUT), None);
        let t = forward(
            false,
            vec![rule(
                vec![
                    iface(Direction::In, "lxd+"),
                    Match::Proto {
                        protos: vec!["udp".into()],
                        negate: true,
                    },
                ],
                Action::Drop,
            )],
            vec![],
        );
        assert_eq!(t.drops(&GUEST_OUT).unwrap().rule.as_deref(), Some("r"));
    }

    #[test]
    fn addresses_of_guests_and_of_the_outside_are_told_apart() {
        let guests = Cidr::parse("10.147.0.0/24").unwrap();
        let out = Packet {
            src: Addr::In(guests),
            dst: Addr::Outside(guests),
            ..GUEST_OUT
        };
        let addr = |source, net: &str, negate| Match::Address {
            source,
            net: Cidr::parse(net).unwrap(),
            negate,
        };
        // libvirt's own pair: accept its guests' addresses, reject the rest.
        let t = forward(
            false,
            vec![
                rule(
                    vec![addr(true, "10.147.0.0/24", false), iface(Direction::In, "lxdbr0")],
                    Action::Accept,
                ),
                rule(vec![iface(Direction::In, "lxdbr0")], Action::Drop),
            ],
            vec![],
        );
        assert_eq!(t.drops(&out), None);
        let spoofed = Packet {
            src: Addr::In(Cidr::parse("10.9.0.0/24").unwrap()),
            ..out
        };
        assert!(t.drops(&spoofed).is_some());
        assert_eq!(addr(false, "10.147.0.0/24", true).test(&out), Tri::Yes);
        assert_eq!(addr(false, "0.0.0.0/0", false).test(&out), Tri::Yes);
        assert_eq!(addr(false, "198.51.100.0/24", false).test(&out), Tri::Maybe);
        assert_eq!(addr(true, "10.0.0.0/8", false).test(&out), Tri::Yes);
        assert_eq!(addr(true, "10.147.0.0/25", false).test(&out), Tri::Maybe);
        assert_eq!(Cidr::parse("10.1.2.3/33"), None);
        assert!(
            Cidr::parse("0.0.0.0/0")
                .unwrap()
                .contains(Ipv4Addr::new(1, 2, 3, 4))
        );
    }

    #[test]
    fn each_family_sees_its_own_packets_and_inet_sees_both() {
        let mut v6 = forward(true, vec![], vec![]);
        v6.family = "ip6".into();
        let v4 = forward(true, vec![], vec![]);
        let mut inet = forward(true, vec![], vec![]);
        inet.family = "inet".into();
        assert_eq!(drops_in(std::slice::from_ref(&v6), &GUEST_OUT, false), vec![]);
        assert_eq!(drops_in(std::slice::from_ref(&v4), &GUEST_OUT, true), vec![]);
        assert_eq!(drops_in(std::slice::from_ref(&v6), &GUEST_OUT, true).len(), 1);
        assert_eq!(drops_in(std::slice::from_ref(&inet), &GUEST_OUT, true).len(), 1);
        assert_eq!(drops(&[inet, v4, v6], &GUEST_OUT).len(), 2);
    }

    #[test]
    fn a_loop_of_jumps_ends() {
        let t = forward(
            true,
            vec![rule(vec![], Action::Jump("A".into()))],
            vec![Chain {
                name: "A".into(),
                hook: None,
                policy_drop: false,
                rules: vec![rule(vec![], Action::Jump("A".into()))],
            }],
        );
        assert_eq!(
            t.drops(&GUEST_OUT),
            None,
            "past what the walk follows: not a certain drop"
        );
    }

    #[test]
    fn a_rule_that_might_accept_first_makes_a_drop_uncertain() {
        let t = forward(
            false,
            vec![
                rule(vec![Match::Unknown("-m mark --mark 1".into())], Action::Accept),
                rule(vec![], Action::Drop),
            ],
            vec![],
        );
        assert_eq!(t.drops(&GUEST_OUT), None);
        // ufw's not-local chain: a DHCP broadcast returns before the drop.
        let not_local = Chain {
            name: "ufw-not-local".into(),
            hook: None,
            policy_drop: false,
            rules: vec![
                rule(
                    vec![Match::AddrType {
                        source: false,
                        types: vec!["BROADCAST".into()],
                        negate: false,
                    }],
                    Action::Return,
                ),
                rule(vec![], Action::Drop),
            ],
        };
        let mut t = forward(false, vec![], vec![not_local]);
        t.chains[0].hook = Some(Hook::Input);
        t.chains[0]
            .rules
            .push(rule(vec![], Action::Jump("ufw-not-local".into())));
        let dhcp = Packet {
            hook: Hook::Input,
            oif: Oif::None,
            proto: "udp",
            dport: 67,
            src: Addr::Exact(Ipv4Addr::UNSPECIFIED),
            dst: Addr::Exact(Ipv4Addr::BROADCAST),
            ..GUEST_OUT
        };
        assert_eq!(t.drops(&dhcp), None);
        let unicast = Packet {
            dst: Addr::Exact(Ipv4Addr::new(10, 9, 0, 1)),
            ..dhcp
        };
        assert!(t.drops(&unicast).is_some());
    }
}
