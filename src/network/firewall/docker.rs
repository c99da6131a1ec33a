//! Docker sets the iptables `FORWARD` policy to `DROP` when it has to turn
//! forwarding on itself (moby's `setupIPForwarding`), which cuts off every
//! other bridge. Its `DOCKER-USER` chain, jumped to first from `FORWARD`, is
//! where Docker wants others' rules; it keeps that chain's rules when the
//! daemon restarts, but the chain is gone after a reboot. Forwarding
//! persisted in sysctl.d, applied before Docker starts, keeps Docker from
//! setting the policy at all.

use crate::host::CommandLine;

use super::Class;
use super::ruleset::{Direction, Origin, Rule, Table};

pub const USER_CHAIN: &str = "DOCKER-USER";

/// The comment that marks our rules, so that a reader knows whose they are.
pub fn comment(bridge: &str) -> String {
    format!("container-init: {bridge}")
}

fn binary(origin: Origin) -> &'static str {
    match origin {
        Origin::IptablesLegacy => "iptables-legacy",
        _ => "iptables-nft",
    }
}

/// `-I DOCKER-USER` rules for `bridge` in each backend where Docker drops it:
/// `-i` for what guests send (out, and to each other), `-o` for what comes back.
pub fn open(bridge: &str, classes: &[Class], origins: &[Origin], tables: &mut [Table]) -> Vec<CommandLine> {
    let mut cmds = Vec::new();
    let mut backends: Vec<Origin> = origins.to_vec();
    backends.dedup();
    for origin in backends {
        let mut dirs = Vec::new();
        for (class, o) in classes.iter().zip(origins) {
            if *o != origin {
                continue;
            }
            let dir = match class {
                Class::RepliesIn => Direction::Out,
                _ => Direction::In,
            };
            if !dirs.contains(&dir) {
                dirs.push(dir);
            }
        }
        dirs.sort_by_key(|d| matches!(d, Direction::Out));
        for dir in dirs {
            let flag = if dir == Direction::In { "-i" } else { "-o" };
            let args = [
                "-I",
                USER_CHAIN,
                flag,
                bridge,
                "-m",
                "comment",
                "--comment",
                &comment(bridge),
                "-j",
                "ACCEPT",
            ];
            let cmd = CommandLine::new(binary(origin)).args(args);
            for table in tables
                .iter_mut()
                .filter(|t| t.origin == origin && t.name == "filter")
            {
                if let Some(chain) = table.chain_mut(USER_CHAIN) {
                    chain
                        .rules
                        .insert(0, Rule::accept_on(dir, bridge, cmd.to_string()));
                }
            }
            cmds.push(cmd);
        }
    }
    cmds
}
