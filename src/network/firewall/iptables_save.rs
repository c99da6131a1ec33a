//! `iptables-save` output (legacy or nft backend) into the ruleset model.
//! Any input is taken: what cannot be read becomes a match that might hold.

use super::ruleset::{Action, Chain, Cidr, Direction, Hook, Match, Origin, Rule, Table};

/// Split a rule line as iptables-save quotes it: words, `"..."` with `\"`.
fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let Some(&first) = chars.peek() else {
            return out;
        };
        let mut word = String::new();
        if first == '"' {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => {
                        if let Some(n) = chars.next() {
                            word.push(n);
                        }
                    }
                    '"' => break,
                    c => word.push(c),
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() {
                    break;
                }
                word.push(c);
                chars.next();
            }
        }
        out.push(word);
    }
}

fn list(value: &str) -> Vec<String> {
    value.split(',').map(str::to_string).collect()
}

/// `80`, `1000:2000`, `53,67:68`; `None` for anything else.
fn port_ranges(value: &str) -> Option<Vec<(u16, u16)>> {
    value
        .split(',')
        .map(|part| match part.split_once(':') {
            Some((lo, hi)) => Some((
                if lo.is_empty() { 0 } else { lo.parse().ok()? },
                if hi.is_empty() { u16::MAX } else { hi.parse().ok()? },
            )),
            None => part.parse().ok().map(|p| (p, p)),
        })
        .collect()
}

fn builtin_hook(table: &str, chain: &str) -> Option<Hook> {
    // NAT chains translate addresses; they do not drop a guest's traffic.
    if table == "nat" {
        return None;
    }
    match chain {
        "INPUT" => Some(Hook::Input),
        "FORWARD" => Some(Hook::Forward),
        _ => None,
    }
}

fn parse_rule(args: &[String], text: String) -> Rule {
    let mut matches = Vec::new();
    let mut action = Action::Continue;
    let mut negate = false;
    let mut i = 0;
    let value = |i: usize| args.get(i + 1).cloned().unwrap_or_default();
    while i < args.len() {
        let arg = args[i].as_str();
        let mut consumed = 2;
        match arg {
            "!" => {
                negate = true;
                i += 1;
                continue;
            }
            "-i" | "--in-interface" | "-o" | "--out-interface" => {
                let dir = if arg.starts_with("-i") || arg == "--in-interface" {
                    Direction::In
                } else {
                    Direction::Out
                };
                matches.push(Match::Iface {
                    dir,
                    patterns: vec![value(i)],
                    negate,
                });
            }
            "-p" | "--protocol" => matches.push(Match::Proto {
                protos: vec![value(i)],
                negate,
            }),
            "--dport" | "--destination-port" | "--dports" | "--destination-ports" => {
                match port_ranges(&value(i)) {
                    Some(ranges) => matches.push(Match::DPort { ranges, negate }),
                    None => matches.push(Match::Unknown(format!("{arg} {}", value(i)))),
                }
            }
            "--ctstate" | "--state" => matches.push(Match::CtState {
                states: list(&value(i)),
                negate,
            }),
            "--ctstatus" => matches.push(Match::CtStatus {
                statuses: list(&value(i)),
                negate,
            }),
            "-s" | "--source" | "-d" | "--destination" => match Cidr::parse(&value(i)) {
                Some(net) => matches.push(Match::Address {
                    source: arg.starts_with("-s") || arg == "--source",
                    net,
                    negate,
                }),
                None => matches.push(Match::Unknown(format!("{arg} {}", value(i)))),
            },
            "--dst-type" | "--src-type" => matches.push(Match::AddrType {
                source: arg == "--src-type",
                types: list(&value(i)),
                negate,
            }),
            // Modules whose options are read above, and comments.
            "-m" | "--match" => {
                let module = value(i);
                if !matches!(
                    module.as_str(),
                    "tcp" | "udp" | "conntrack" | "state" | "comment" | "multiport" | "addrtype"
                ) {
                    matches.push(Match::Unknown(format!("-m {module}")));
                }
            }
            "--comment" => {}
            "-j" | "--jump" => {
                action = match value(i).as_str() {
                    "ACCEPT" => Action::Accept,
                    "DROP" | "REJECT" => Action::Drop,
                    "RETURN" => Action::Return,
                    // Targets that end the walk in ways we do not follow.
                    "QUEUE" | "NFQUEUE" => {
                        matches.push(Match::Unknown(format!("-j {}", value(i))));
                        Action::Continue
                    }
                    // A chain, or a target such as LOG; told apart once the table is read.
                    target => Action::Jump(target.to_string()),
                };
                // A target's own options (--reject-with, --log-prefix) follow.
                i += 2;
                while i < args.len() && args[i] != "!" && !matches!(args[i].as_str(), "-m" | "-j" | "-g") {
                    i += 1;
                }
                continue;
            }
            "-g" | "--goto" => action = Action::Goto(value(i)),
            "-A" | "--append" => {}
            other if other.starts_with('-') => {
                matches.push(Match::Unknown(other.to_string()));
                // Skip this option's values, whatever their number.
                consumed = 1;
                while i + consumed < args.len()
                    && !args[i + consumed].starts_with('-')
                    && args[i + consumed] != "!"
                {
                    consumed += 1;
                }
            }
            other => matches.push(Match::Unknown(other.to_string())),
        }
        negate = false;
        i += consumed;
    }
    Rule {
        matches,
        action,
        text,
    }
}

/// Every table in an `iptables-save` dump.
pub fn parse(text: &str, origin: Origin) -> Vec<Table> {
    let mut tables: Vec<Table> = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if let Some(name) = line.strip_prefix('*') {
            tables.push(Table {
                origin,
                family: "ip".into(),
                name: name.to_string(),
                chains: Vec::new(),
            });
            continue;
        }
        let Some(table) = tables.last_mut() else {
            continue;
        };
        if let Some(decl) = line.strip_prefix(':') {
            let mut parts = decl.split_whitespace();
            let name = parts.next().unwrap_or_default().to_string();
            let policy = parts.next().unwrap_or("-");
            table.chains.push(Chain {
                hook: builtin_hook(&table.name, &name),
                name,
                policy_drop: policy == "DROP",
                rules: Vec::new(),
            });
        } else if line.starts_with("-A ") {
            let args = words(line);
            let chain = args.get(1).cloned().unwrap_or_default();
            let rule = parse_rule(&args[2.min(args.len())..], line.to_string());
            if table.chain(&chain).is_none() {
                table.chains.push(Chain {
                    hook: builtin_hook(&table.name, &chain),
                    name: chain.clone(),
                    policy_drop: false,
                    rules: Vec::new(),
                });
            }
            if let Some(c) = table.chain_mut(&chain) {
                c.rules.push(rule);
            }
        }
    }
    for table in &mut tables {
        let names: Vec<String> = table.chains.iter().map(|c| c.name.clone()).collect();
        for chain in &mut table.chains {
            for rule in &mut chain.rules {
                // LOG, MARK, CT, TCPMSS...: targets, not chains; the packet goes on.
                if let Action::Jump(target) = &rule.action
                    && !names.contains(target)
                {
                    rule.action = Action::Continue;
                }
            }
        }
    }
    tables
}

#[cfg(test)]
mod tests {
    use super::super::ruleset::{Addr, GUEST_OUT, Oif, Packet, drops};
    use super::*;

    /// Docker 20.10 started with forwarding off, as at boot (iptables-nft-save).
    pub const DOCKER: &str = "# Generated by iptables-nft-save v1.8.9 (nf_tables) on Thu Nov 26 05:00:00 2026
*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:DOCKER - [0:0]
:DOCKER-ISOLATION-STAGE-1 - [0:0]
:DOCKER-ISOLATION-STAGE-2 - [0:0]
:DOCKER-USER - [0:0]
-A FORWARD -j DOCKER-USER
-A FORWARD -j DOCKER-ISOLATION-STAGE-1
-A FORWARD -o docker0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A FORWARD -o docker0 -j DOCKER
-A FORWARD -i docker0 ! -o docker0 -j ACCEPT
-A FORWARD -i docker0 -o docker0 -j ACCEPT
-A DOCKER-ISOLATION-STAGE-1 -i docker0 ! -o docker0 -j DOCKER-ISOLATION-STAGE-2
-A DOCKER-ISOLATION-STAGE-1 -j RETURN
-A DOCKER-ISOLATION-STAGE-2 -o docker0 -j DROP
-A DOCKER-ISOLATION-STAGE-2 -j RETURN
-A DOCKER-USER -j RETURN
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:DOCKER - [0:0]
-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER
-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE
-A DOCKER -i docker0 -j RETURN
COMMIT
";

    #[test]
    fn dockers_forward_policy_drops_another_bridge() {
        let tables = parse(DOCKER, Origin::IptablesNft);
        assert_eq!(tables.len(), 2);
        let found = drops(&tables, &GUEST_OUT);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].chain, "FORWARD");
        assert_eq!(found[0].rule, None);
        let docker = Packet {
            iif: "docker0",
            ..GUEST_OUT
        };
        assert!(drops(&tables, &docker).is_empty());
    }

    #[test]
    fn rules_in_docker_user_open_the_bridge() {
        let text = DOCKER.replace(
            "-A DOCKER-USER -j RETURN",
            "-A DOCKER-USER -i lxdbr0 -m comment --comment \"container-init lxdbr0\" -j ACCEPT\n\
             -A DOCKER-USER -o lxdbr0 -m comment --comment \"container-init lxdbr0\" -j ACCEPT\n\
             -A DOCKER-USER -j RETURN",
        );
        let tables = parse(&text, Origin::IptablesNft);
        assert!(drops(&tables, &GUEST_OUT).is_empty());
        let back = Packet {
            iif: "eth0",
            oif: Oif::Name("lxdbr0"),
            ct: "established",
            ..GUEST_OUT
        };
        assert!(drops(&tables, &back).is_empty());
    }

    #[test]
    fn ports_states_negation_and_quoting() {
        assert_eq!(
            words(r#"-A X -m comment --comment "a \"b\" c" -j ACCEPT"#),
            [
                "-A",
                "X",
                "-m",
                "comment",
                "--comment",
                "a \"b\" c",
                "-j",
                "ACCEPT"
            ]
        );
        let text = "*filter\n:INPUT DROP [0:0]\n-A INPUT -i lxdbr0 -p udp -m multiport --dports 53,67:68 -j ACCEPT\n\
                    -A INPUT -p tcp -m tcp ! --dport 22 -j REJECT --reject-with icmp-port-unreachable\nCOMMIT\n";
        let tables = parse(text, Origin::IptablesLegacy);
        let dhcp = Packet {
            hook: Hook::Input,
            iif: "lxdbr0",
            oif: Oif::None,
            proto: "udp",
            dport: 67,
            ct: "new",
            src: Addr::Unknown,
            dst: Addr::Unknown,
        };
        assert!(drops(&tables, &dhcp).is_empty());
        let dns_tcp = Packet {
            proto: "tcp",
            dport: 53,
            ..dhcp
        };
        let found = drops(&tables, &dns_tcp);
        assert!(found[0].rule.as_deref().unwrap().contains("REJECT"), "{found:?}");
        let ssh = Packet {
            proto: "tcp",
            dport: 22,
            ..dhcp
        };
        assert_eq!(drops(&tables, &ssh)[0].rule, None, "the policy, not the rule");
    }

    #[test]
    fn log_targets_go_on_and_unknown_matches_might_hold() {
        let text = "*filter\n:FORWARD ACCEPT [0:0]\n-A FORWARD -j LOG --log-prefix \"x \"\n\
                    -A FORWARD -m set --match-set blocked src -j DROP\n-A FORWARD -s 10.1.0.0/16 -j DROP\nCOMMIT\n";
        assert!(drops(&parse(text, Origin::IptablesNft), &GUEST_OUT).is_empty());
    }

    /// A small generator, so the parser meets inputs nobody wrote by hand.
    fn noise(seed: &mut u64, len: usize) -> String {
        const ALPHABET: &[&str] = &[
            "*filter\n",
            ":FORWARD DROP [0:0]\n",
            "-A ",
            "FORWARD ",
            "-j ",
            "!",
            "\"",
            "\\",
            " ",
            "\n",
            "-i",
            "--dport ",
            "65536",
            ":",
            ",",
            "-m ",
            "multiport",
            "COMMIT\n",
            "DROP",
            "é",
            "\t",
        ];
        let mut out = String::new();
        for _ in 0..len {
            *seed ^= *seed << 13;
            *seed ^= *seed >> 7;
            *seed ^= *seed << 17;
            out.push_str(ALPHABET[(*seed % ALPHABET.len() as u64) as usize]);
        }
        out
    }

    #[test]
    fn any_input_parses_without_a_panic() {
        let mut seed = 0x9e37_79b9_7f4a_7c15;
        for len in 0..2000 {
            let text = noise(&mut seed, len % 200);
            let tables = parse(&text, Origin::IptablesNft);
            let _ = drops(&tables, &GUEST_OUT);
        }
    }
}
