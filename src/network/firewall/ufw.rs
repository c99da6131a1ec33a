//! ufw drops what it was not told to allow: DHCP and DNS to the host
//! (`INPUT`) and, with its default `DEFAULT_FORWARD_POLICY="DROP"`, every
//! routed packet. Its own commands add the rules, so that `ufw status` shows
//! them and ufw keeps them across reloads and reboots.

use crate::host::CommandLine;

use super::Class;
use super::ruleset::{Direction, Rule, Table};

/// The `ufw` command for a kind of traffic, and where ufw puts its rule.
fn rule_for(class: Class) -> (&'static [&'static str], &'static str, Direction) {
    match class {
        Class::Dhcp | Class::Dns => (&["allow", "in", "on"], "ufw-user-input", Direction::In),
        Class::GuestsOut | Class::GuestToGuest => {
            (&["route", "allow", "in", "on"], "ufw-user-forward", Direction::In)
        }
        Class::RepliesIn => (
            &["route", "allow", "out", "on"],
            "ufw-user-forward",
            Direction::Out,
        ),
    }
}

pub fn open(bridge: &str, classes: &[Class], tables: &mut [Table]) -> Vec<CommandLine> {
    let mut cmds: Vec<CommandLine> = Vec::new();
    for &class in classes {
        let (words, chain, dir) = rule_for(class);
        let cmd = CommandLine::new("ufw").args(words.iter().copied()).arg(bridge);
        if cmds.contains(&cmd) {
            continue;
        }
        // One ufw rule opens both families: ip6tables' chains are `ufw6-*`.
        let chain6 = chain.replacen("ufw-", "ufw6-", 1);
        for table in tables.iter_mut() {
            let name = if table.family == "ip6" {
                chain6.as_str()
            } else {
                chain
            };
            if let Some(c) = table.chain_mut(name) {
                c.rules.push(Rule::accept_on(dir, bridge, cmd.to_string()));
            }
        }
        cmds.push(cmd);
    }
    cmds
}
