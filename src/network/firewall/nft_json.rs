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
    unknown()
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
                c.rules.push(rule_of(r));
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
