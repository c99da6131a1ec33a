//! Docker sets the iptables `FORWARD` policy to `DROP` when it has to turn
//! forwarding on itself (moby's `setupIPForwarding`), which cuts off every
//! other bridge. Its `DOCKER-USER` chain, jumped to first from `FORWARD`, is
//! where Docker wants others' rules; it keeps that chain's rules when the
//! daemon restarts, but the chain is gone after a reboot. Forwarding
//! persisted in sysctl.d, applied before Docker starts, keeps Docker from
//! setting the policy at all.
//!
//! Docker 29's nftables backend keeps its rules in the tables `ip
//! docker-bridges` and `ip6 docker-bridges` and adds no jump to
//! `DOCKER-USER`; a `FORWARD` policy `DROP` its iptables backend left still
//! drops, and is opened in `FORWARD` itself. Its own tables take no one
//! else's rules: where they drop a bridge, only Docker's options help.

use crate::host::CommandLine;

use super::Class;
use super::ruleset::{Action, Direction, Origin, Rule, Table};

pub const USER_CHAIN: &str = "DOCKER-USER";

/// The tables of Docker's nftables backend (Docker 29's
/// `"firewall-backend": "nftables"`), `ip` and `ip6`: no `DOCKER-USER` there,
/// and an accept in another table does not outrun their drops.
pub const NFT_TABLE: &str = "docker-bridges";

/// Docker runs with its nftables backend.
pub fn nft_backend(tables: &[Table]) -> bool {
    tables
        .iter()
        .any(|t| t.origin == Origin::Nft && t.name == NFT_TABLE)
}

/// Docker's nftables table drops the bridge: its `filter-FORWARD` policy is
/// `drop` when Docker had to turn forwarding on itself. Only Docker's own
/// options change that.
pub fn fwmark_fix(bridge: &str) -> String {
    format!(
        "persist net.ipv4.ip_forward=1 (and net.ipv6.conf.all.forwarding=1) in /etc/sysctl.d and restart Docker, which then leaves its filter-FORWARD policy accept; or start dockerd with --bridge-accept-fwmark (\"bridge-accept-fwmark\" in /etc/docker/daemon.json) and mark {bridge}'s forwarded packets with that mark"
    )
}

/// The chain our rules go to in a backend's `filter` table: `DOCKER-USER`
/// where `FORWARD` jumps to it, otherwise `FORWARD` itself (Docker's
/// nftables backend adds no such jump; rules in an unreached chain do
/// nothing).
fn target_chain(tables: &[Table], origin: Origin, v6: bool) -> &'static str {
    let jumps = tables
        .iter()
        .filter(|t| t.origin == origin && t.name == "filter" && (t.family == "ip6") == v6)
        .filter_map(|t| t.chain("FORWARD"))
        .any(|c| {
            c.rules
                .iter()
                .any(|r| matches!(&r.action, Action::Jump(to) | Action::Goto(to) if to == USER_CHAIN))
        });
    if jumps { USER_CHAIN } else { "FORWARD" }
}

/// The comment that marks our rules, so that a reader knows whose they are.
pub fn comment(bridge: &str) -> String {
    format!("container-init: {bridge}")
}

fn binary(origin: Origin, v6: bool) -> &'static str {
    match (origin, v6) {
        (Origin::IptablesLegacy, false) => "iptables-legacy",
        (Origin::IptablesLegacy, true) => "ip6tables-legacy",
        (_, false) => "iptables-nft",
        (_, true) => "ip6tables-nft",
    }
}

/// `-I DOCKER-USER` (or `-I FORWARD`) rules for `bridge` in each backend
/// (and family: `true` for ip6tables) where Docker drops it:
/// `-i` for what guests send (out, and to each other), `-o` for what comes back.
pub fn open(
    bridge: &str,
    classes: &[Class],
    origins: &[(Origin, bool)],
    tables: &mut [Table],
) -> Vec<CommandLine> {
    let mut cmds = Vec::new();
    let mut backends: Vec<(Origin, bool)> = Vec::new();
    for o in origins {
        if !backends.contains(o) {
            backends.push(*o);
        }
    }
    for origin in backends {
        let (backend, v6) = origin;
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
        let chain = target_chain(tables, backend, v6);
        for dir in dirs {
            let flag = if dir == Direction::In { "-i" } else { "-o" };
            let args = [
                "-I",
                chain,
                flag,
                bridge,
                "-m",
                "comment",
                "--comment",
                &comment(bridge),
                "-j",
                "ACCEPT",
            ];
            let cmd = CommandLine::new(binary(backend, v6)).args(args);
            for table in tables
                .iter_mut()
                .filter(|t| t.origin == backend && t.name == "filter" && (t.family == "ip6") == v6)
            {
                if let Some(c) = table.chain_mut(chain) {
                    c.rules.insert(0, Rule::accept_on(dir, bridge, cmd.to_string()));
                }
            }
            cmds.push(cmd);
        }
    }
    cmds
}
