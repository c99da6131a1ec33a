//! `nft -j list ruleset` into the ruleset model. Any JSON is taken: what
//! cannot be read becomes a match that might hold.

use serde_json::Value;

use super::ruleset::{Action, Chain, Cidr, Direction, Hook, Match, Origin, Rule, Table};

fn strings(v: &Value) -> Option<Vec<String>> {
    match v {
        Value::String(s) => Some(vec![s.clone()]),
        Value::Array(items) => items.iter().map(|i| i.as_str().map(str::to_string)).collect(),
        Value::Object(o) => o.get("set").and_then(strings),
        _ => None,
    }
}

/// `"10.0.0.1"` or `{"prefix": {"addr": "10.0.0.0", "len": 8}}`.
fn cidr(v: &Value) -> Option<Cidr> {
    if let Some(text) = v.as_str() {
        return Cidr::parse(text);
    }
    let prefix = v.get("prefix")?;
    let addr = prefix.get("addr")?.as_str()?.parse().ok()?;
    Cidr::new(addr, u8::try_from(prefix.get("len")?.as_u64()?).ok()?)
}

fn port(v: &Value) -> Option<(u16, u16)> {
    if let Some(n) = v.as_u64() {
        let n = u16::try_from(n).ok()?;
        return Some((n, n));
    }
    let range = v.get("range")?.as_array()?;
    let lo = u16::try_from(range.first()?.as_u64()?).ok()?;
    let hi = u16::try_from(range.get(1)?.as_u64()?).ok()?;
    Some((lo, hi))
}

fn ports(v: &Value) -> Option<Vec<(u16, u16)>> {
    match v.get("set").and_then(Value::as_array) {
        Some(items) => items.iter().map(port).collect(),
        None => port(v).map(|p| vec![p]),
    }
}

/// One `match` expression; several for `udp dport 53` (protocol and port).
fn matches_of(m: &Value) -> Vec<Match> {
    let unknown = || vec![Match::Unknown(m.to_string())];
    let negate = match m.get("op").and_then(Value::as_str) {
        Some("==" | "in") => false,
        Some("!=") => true,
        _ => return unknown(),
    };
    let (Some(left), Some(right)) = (m.get("left"), m.get("right")) else {
        return unknown();
    };
    if let Some(key) = left
        .get("meta")
        .and_then(|x| x.get("key"))
        .and_then(Value::as_str)
    {
        let dir = match key {
            "iifname" | "iif" => Some(Direction::In),
            "oifname" | "oif" => Some(Direction::Out),
            "l4proto" => None,
            _ => return unknown(),
        };
        let Some(values) = strings(right) else {
            return unknown();
        };
        return vec![match dir {
            Some(dir) => Match::Iface {
                dir,
                patterns: values,
                negate,
            },
            None => Match::Proto {
                protos: values,
                negate,
            },
        }];
    }
    if let Some(payload) = left.get("payload") {
        let protocol = payload.get("protocol").and_then(Value::as_str).unwrap_or("");
        let field = payload.get("field").and_then(Value::as_str).unwrap_or("");
        return match (protocol, field) {
            ("ip", "saddr" | "daddr") => match cidr(right) {
                Some(net) => vec![Match::Address {
                    source: field == "saddr",
                    net,
                    negate,
                }],
                None => unknown(),
            },
            ("ip", "protocol") => match strings(right) {
                Some(protos) => vec![Match::Proto { protos, negate }],
                None => unknown(),
            },
            ("tcp" | "udp", "dport") => match ports(right) {
                Some(ranges) => vec![
                    Match::Proto {
                        protos: vec![protocol.to_string()],
                        negate: false,
                    },
                    Match::DPort { ranges, negate },
                ],
                None => unknown(),
            },
            _ => unknown(),
        };
    }
    if let Some(fib) = left.get("fib")
        && fib.get("result").and_then(Value::as_str) == Some("type")
        && let Some(flags) = strings(fib.get("flags").unwrap_or(&Value::Null))
        && let [flag] = flags.as_slice()
        && matches!(flag.as_str(), "saddr" | "daddr")
        && let Some(types) = strings(right)
    {
        return vec![Match::AddrType {
            source: flag == "saddr",
            types,
            negate,
        }];
    }
    if left.get("ct").and_then(|c| c.get("key")).and_then(Value::as_str) == Some("state")
        && let Some(states) = strings(right)
    {
        return vec![Match::CtState { states, negate }];
    }
    if left.get("ct").and_then(|c| c.get("key")).and_then(Value::as_str) == Some("status")
        && let Some(statuses) = strings(right)
    {
        return vec![Match::CtStatus { statuses, negate }];
    }
    unknown()
}

/// A verdict map's elements: an interface name and the verdict for it.
type Maps = Vec<((String, String, String), Vec<(String, Action)>)>;

fn verdict_of(v: &Value) -> Option<Action> {
    let (kind, body) = v.as_object()?.iter().next()?;
    let target = || body.get("target").and_then(Value::as_str).map(str::to_string);
    Some(match kind.as_str() {
        "accept" => Action::Accept,
        "drop" | "reject" => Action::Drop,
        "return" => Action::Return,
        "continue" => Action::Continue,
        "jump" => Action::Jump(target()?),
        "goto" => Action::Goto(target()?),
        _ => return None,
    })
}

/// Every `map ... : verdict` keyed by interface name (Docker's
/// `filter-forward-in-jumps`), with its elements.
fn verdict_maps(items: &[Value]) -> Maps {
    items
        .iter()
        .filter_map(|item| item.get("map"))
        .filter(|m| text(m, "map") == "verdict" && text(m, "type") == "ifname")
        .map(|m| {
            let elems = m
                .get("elem")
                .and_then(Value::as_array)
                .map(|elems| {
                    elems
                        .iter()
                        .filter_map(|e| {
                            let pair = e.as_array()?;
                            Some((pair.first()?.as_str()?.to_string(), verdict_of(pair.get(1)?)?))
                        })
                        .collect()
                })
                .unwrap_or_default();
            ((text(m, "family"), text(m, "table"), text(m, "name")), elems)
        })
        .collect()
}

/// `oifname vmap @map`: one rule per element of the map, each matching its
/// interface; a packet on no listed interface goes on to the next rule.
fn vmap_rules(rule: &Value, vmap: &Value, before: &[Match], maps: &Maps) -> Option<Vec<Rule>> {
    let dir = match vmap.get("key")?.get("meta")?.get("key")?.as_str()? {
        "iifname" | "iif" => Direction::In,
        "oifname" | "oif" => Direction::Out,
        _ => return None,
    };
    let name = vmap.get("data")?.as_str()?.strip_prefix('@')?;
    let key = (text(rule, "family"), text(rule, "table"), name.to_string());
    let (_, elems) = maps.iter().find(|(k, _)| *k == key)?;
    let handle = rule.get("handle").and_then(Value::as_u64).unwrap_or(0);
    Some(
        elems
            .iter()
            .map(|(iface, action)| {
                let mut matches = before.to_vec();
                matches.push(Match::Iface {
                    dir,
                    patterns: vec![iface.clone()],
                    negate: false,
                });
                Rule {
                    matches,
                    action: action.clone(),
                    text: format!("handle {handle} (vmap @{name}: {iface})"),
                }
            })
            .collect(),
    )
}

fn rules_of(rule: &Value, maps: &Maps) -> Vec<Rule> {
    let exprs = rule
        .get("expr")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if let Some(at) = exprs.iter().position(|e| e.get("vmap").is_some()) {
        let before: Vec<Match> = exprs[..at]
            .iter()
            .filter_map(|e| e.get("match"))
            .flat_map(matches_of)
            .collect();
        let plain = exprs[..at]
            .iter()
            .all(|e| e.get("match").is_some() || e.get("counter").is_some());
        if plain && let Some(rules) = vmap_rules(rule, &exprs[at]["vmap"], &before, maps) {
            return rules;
        }
    }
    vec![rule_of(rule)]
}

fn rule_of(rule: &Value) -> Rule {
    let mut matches = Vec::new();
    let mut action = Action::Continue;
    let exprs = rule
        .get("expr")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for expr in &exprs {
        let Some((kind, body)) = expr.as_object().and_then(|o| o.iter().next()) else {
            matches.push(Match::Unknown(expr.to_string()));
            continue;
        };
        let target = || {
            body.get("target")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        match kind.as_str() {
            "match" => matches.extend(matches_of(body)),
            "accept" => action = Action::Accept,
            "drop" | "reject" => action = Action::Drop,
            "return" => action = Action::Return,
            "jump" => action = Action::Jump(target()),
            "goto" => action = Action::Goto(target()),
            // Statements that let the packet go on.
            "counter" | "log" | "comment" | "mangle" | "notrack" | "nftrace" => {}
            // iptables-nft compat, sets, limits, quotas, NAT...: not followed.
            other => matches.push(Match::Unknown(other.to_string())),
        }
        if !matches!(action, Action::Continue) {
            break;
        }
    }
    let handle = rule.get("handle").and_then(Value::as_u64).unwrap_or(0);
    let text = match rule.get("comment").and_then(Value::as_str) {
        Some(c) => format!("handle {handle} ({c})"),
        None => format!("handle {handle}"),
    };
    Rule {
        matches,
        action,
        text,
    }
}

fn text(v: &Value, key: &str) -> String {
    v.get(key).and_then(Value::as_str).unwrap_or_default().to_string()
}

/// Every table in `nft -j list ruleset` output; bad JSON gives none.
pub fn parse(json: &str) -> Vec<Table> {
    let Ok(doc) = serde_json::from_str::<Value>(json) else {
        return Vec::new();
    };
    let items = doc
        .get("nftables")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let maps = verdict_maps(&items);
    let mut tables: Vec<Table> = Vec::new();
    let find = |tables: &mut Vec<Table>, v: &Value| -> Option<usize> {
        let (family, name) = (text(v, "family"), text(v, "table"));
        tables.iter().position(|t| t.family == family && t.name == name)
    };
    for item in &items {
        if let Some(t) = item.get("table") {
            tables.push(Table {
                origin: Origin::Nft,
                family: text(t, "family"),
                name: text(t, "name"),
                chains: Vec::new(),
            });
        } else if let Some(c) = item.get("chain") {
            let Some(at) = find(&mut tables, c) else {
                continue;
            };
            // Only filter chains decide; NAT and route chains do not drop.
            let hook = match (text(c, "type").as_str(), text(c, "hook").as_str()) {
                ("filter", "input") => Some(Hook::Input),
                ("filter", "forward") => Some(Hook::Forward),
                _ => None,
            };
            tables[at].chains.push(Chain {
                name: text(c, "name"),
                hook,
                policy_drop: text(c, "policy") == "drop",
                rules: Vec::new(),
            });
        } else if let Some(r) = item.get("rule") {
            let Some(at) = find(&mut tables, r) else {
                continue;
            };
            let chain = text(r, "chain");
            if let Some(c) = tables[at].chain_mut(&chain) {
                c.rules.extend(rules_of(r, &maps));
            }
        }
    }
    tables
}

#[cfg(test)]
mod tests {
    use super::super::ruleset::{Addr, GUEST_OUT, Oif, Packet, drops};
    use super::*;

    /// A host firewall written for nft by hand (Debian's /etc/nftables.conf
    /// style, tightened), LXD's own table beside it.
    const HAND: &str = r#"{"nftables": [{"metainfo": {"version": "1.0.6"}},
 {"table": {"family": "inet", "name": "filter", "handle": 1}},
 {"chain": {"family": "inet", "table": "filter", "name": "input", "handle": 1, "type": "filter", "hook": "input", "prio": 0, "policy": "drop"}},
 {"chain": {"family": "inet", "table": "filter", "name": "forward", "handle": 2, "type": "filter", "hook": "forward", "prio": 0, "policy": "drop"}},
 {"chain": {"family": "inet", "table": "filter", "name": "allowed", "handle": 3}},
 {"rule": {"family": "inet", "table": "filter", "chain": "input", "handle": 4, "expr": [{"match": {"op": "in", "left": {"ct": {"key": "state"}}, "right": ["established", "related"]}}, {"accept": null}]}},
 {"rule": {"family": "inet", "table": "filter", "chain": "input", "handle": 5, "expr": [{"match": {"op": "==", "left": {"meta": {"key": "iifname"}}, "right": {"set": ["lo", "lxdbr0"]}}}, {"jump": {"target": "allowed"}}]}},
 {"rule": {"family": "inet", "table": "filter", "chain": "allowed", "handle": 6, "expr": [{"match": {"op": "==", "left": {"payload": {"protocol": "udp", "field": "dport"}}, "right": {"set": [53, {"range": [67, 68]}]}}}, {"counter": {"packets": 0, "bytes": 0}}, {"accept": null}]}},
 {"rule": {"family": "inet", "table": "filter", "chain": "forward", "handle": 7, "expr": [{"match": {"op": "==", "left": {"meta": {"key": "oifname"}}, "right": "lxdbr0"}}, {"match": {"op": "in", "left": {"ct": {"key": "state"}}, "right": "established"}}, {"accept": null}]}},
 {"table": {"family": "inet", "name": "lxd", "handle": 2}},
 {"chain": {"family": "inet", "table": "lxd", "name": "fwd.lxdbr0", "handle": 1, "type": "filter", "hook": "forward", "prio": 0, "policy": "accept"}},
 {"rule": {"family": "inet", "table": "lxd", "chain": "fwd.lxdbr0", "handle": 2, "expr": [{"match": {"op": "==", "left": {"meta": {"key": "iifname"}}, "right": "lxdbr0"}}, {"accept": null}]}}
]}"#;

    #[test]
    fn an_accept_in_lxds_table_does_not_save_a_packet_from_another() {
        let tables = parse(HAND);
        assert_eq!(tables.len(), 2);
        let found = drops(&tables, &GUEST_OUT);
        assert_eq!(found.len(), 1);
        assert_eq!(
            (found[0].table.as_str(), found[0].chain.as_str()),
            ("filter", "forward")
        );
        let back = Packet {
            iif: "eth0",
            oif: Oif::Name("lxdbr0"),
            ct: "established",
            ..GUEST_OUT
        };
        assert!(drops(&tables, &back).is_empty());
    }

    #[test]
    fn dhcp_and_dns_are_followed_through_a_jump() {
        let tables = parse(HAND);
        let input = |proto, dport| Packet {
            hook: Hook::Input,
            iif: "lxdbr0",
            oif: Oif::None,
            proto,
            dport,
            ct: "new",
            src: Addr::Unknown,
            dst: Addr::Unknown,
        };
        assert!(drops(&tables, &input("udp", 67)).is_empty());
        assert!(drops(&tables, &input("udp", 53)).is_empty());
        assert!(!drops(&tables, &input("tcp", 53)).is_empty());
    }

    /// Docker 29's nftables backend, as nft 1.0.6 printed the tables of
    /// moby's nftablesdoc (`new-daemon.md`).
    const DOCKER29: &str = include_str!("../../../tests/fixtures/docker29-nftables/forwarding-was-on.json");
    const DOCKER29_DROP: &str =
        include_str!("../../../tests/fixtures/docker29-nftables/docker-turned-forwarding-on.json");

    #[test]
    fn dockers_verdict_maps_reach_its_own_bridges_only() {
        let tables = parse(DOCKER29);
        assert!(
            tables
                .iter()
                .any(|t| t.family == "ip" && t.name == "docker-bridges")
        );
        let to_docker0 = Packet {
            iif: "eth0",
            oif: Oif::Name("docker0"),
            ..GUEST_OUT
        };
        let found = drops(&tables, &to_docker0);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].chain, "filter-forward-in__docker0");
        assert!(
            drops(&tables, &GUEST_OUT).is_empty(),
            "lxdbr0 is none of Docker's"
        );
        let back = Packet {
            iif: "eth0",
            oif: Oif::Name("lxdbr0"),
            ct: "established",
            ..GUEST_OUT
        };
        assert!(drops(&tables, &back).is_empty());
    }

    #[test]
    fn dockers_drop_policy_drops_every_other_bridge() {
        let tables = parse(DOCKER29_DROP);
        let found = drops(&tables, &GUEST_OUT);
        assert_eq!(found.len(), 1, "the ip6 table never sees IPv4: {found:?}");
        assert_eq!(
            (found[0].table.as_str(), found[0].chain.as_str(), &found[0].rule),
            ("docker-bridges", "filter-FORWARD", &None)
        );
    }

    /// firewalld 2.3's input path (Debian 13, zone `public`, nothing bound
    /// to it), as `nft list table inet firewalld` printed it in the VM test:
    /// `ct status dnat accept` comes before the zones and the final reject.
    const FIREWALLD_2: &str = r#"{"nftables": [{"metainfo": {"version": "1.1.3"}},
 {"table": {"family": "inet", "name": "firewalld", "handle": 1}},
 {"chain": {"family": "inet", "table": "firewalld", "name": "filter_INPUT", "handle": 1, "type": "filter", "hook": "input", "prio": 10, "policy": "accept"}},
 {"chain": {"family": "inet", "table": "firewalld", "name": "filter_INPUT_POLICIES", "handle": 2}},
 {"chain": {"family": "inet", "table": "firewalld", "name": "filter_IN_public", "handle": 3}},
 {"chain": {"family": "inet", "table": "firewalld", "name": "filter_IN_public_allow", "handle": 4}},
 {"rule": {"family": "inet", "table": "firewalld", "chain": "filter_INPUT", "handle": 10, "expr": [{"match": {"op": "in", "left": {"ct": {"key": "state"}}, "right": {"set": ["established", "related"]}}}, {"accept": null}]}},
 {"rule": {"family": "inet", "table": "firewalld", "chain": "filter_INPUT", "handle": 11, "expr": [{"match": {"op": "in", "left": {"ct": {"key": "status"}}, "right": "dnat"}}, {"accept": null}]}},
 {"rule": {"family": "inet", "table": "firewalld", "chain": "filter_INPUT", "handle": 12, "expr": [{"match": {"op": "==", "left": {"meta": {"key": "iifname"}}, "right": "lo"}}, {"accept": null}]}},
 {"rule": {"family": "inet", "table": "firewalld", "chain": "filter_INPUT", "handle": 13, "expr": [{"match": {"op": "in", "left": {"ct": {"key": "state"}}, "right": "invalid"}}, {"drop": null}]}},
 {"rule": {"family": "inet", "table": "firewalld", "chain": "filter_INPUT", "handle": 14, "expr": [{"jump": {"target": "filter_INPUT_POLICIES"}}]}},
 {"rule": {"family": "inet", "table": "firewalld", "chain": "filter_INPUT", "handle": 15, "expr": [{"reject": {"type": "icmpx", "expr": "admin-prohibited"}}]}},
 {"rule": {"family": "inet", "table": "firewalld", "chain": "filter_INPUT_POLICIES", "handle": 20, "expr": [{"jump": {"target": "filter_IN_public"}}]}},
 {"rule": {"family": "inet", "table": "firewalld", "chain": "filter_INPUT_POLICIES", "handle": 21, "expr": [{"reject": {"type": "icmpx", "expr": "admin-prohibited"}}]}},
 {"rule": {"family": "inet", "table": "firewalld", "chain": "filter_IN_public", "handle": 30, "expr": [{"jump": {"target": "filter_IN_public_allow"}}]}},
 {"rule": {"family": "inet", "table": "firewalld", "chain": "filter_IN_public", "handle": 31, "expr": [{"match": {"op": "==", "left": {"meta": {"key": "l4proto"}}, "right": {"set": ["icmp", "ipv6-icmp"]}}}, {"accept": null}]}},
 {"rule": {"family": "inet", "table": "firewalld", "chain": "filter_IN_public_allow", "handle": 40, "expr": [{"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}}, "right": 22}}, {"accept": null}]}}
]}"#;

    #[test]
    fn firewalld_2_rejects_a_guests_dhcp_past_its_ct_status_dnat_accept() {
        let tables = parse(FIREWALLD_2);
        let dhcp = Packet {
            hook: Hook::Input,
            iif: "lxcbr0",
            oif: Oif::None,
            proto: "udp",
            dport: 67,
            ct: "new",
            src: Addr::Unknown,
            dst: Addr::Unknown,
        };
        let found = drops(&tables, &dhcp);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].table, "firewalld");
        let ssh = Packet {
            proto: "tcp",
            dport: 22,
            ..dhcp
        };
        assert!(drops(&tables, &ssh).is_empty());
    }

    #[test]
    fn any_json_parses_without_a_panic() {
        for doc in [
            "",
            "{",
            "[]",
            r#"{"nftables": 3}"#,
            r#"{"nftables": [{"rule": {}}, {"chain": {"table": 1}}, {"table": null}]}"#,
            r#"{"nftables": [{"table": {"family": "ip", "name": "t"}}, {"chain": {"family": "ip", "table": "t", "name": "c", "type": "filter", "hook": "forward", "policy": "drop"}}, {"rule": {"family": "ip", "table": "t", "chain": "c", "expr": [{"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}}, "right": {"set": [99999, {"range": [1]}]}}}, {}, 7, {"jump": {"target": "c"}}]}}]}"#,
        ] {
            let tables = parse(doc);
            let _ = drops(
                &tables,
                &Packet {
                    hook: Hook::Forward,
                    iif: "x",
                    oif: Oif::Unknown,
                    proto: "tcp",
                    dport: 1,
                    ct: "new",
                    src: Addr::Unknown,
                    dst: Addr::Unknown,
                },
            );
        }
    }
}
