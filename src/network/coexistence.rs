//! `setup`'s coexistence step: whatever else on the host would cut a
//! runtime's bridge off (Docker's `FORWARD` policy, ufw, firewalld, with
//! br_netfilter guest-to-guest traffic too) is opened for that bridge only,
//! and only where it blocks: a converged host runs nothing. Rules of anyone
//! else are reported, never changed.

use crate::commands::forwarding;
use crate::exit::{Exit, coded};
use crate::host::Host;
use crate::network::firewall::{self, Blocked, Owner, Scope, docker};
use crate::network::mtu;
use crate::network::readiness::{self, Bridge, Facts};
use crate::report::{Outcome, Status};

pub const STEP: &str = "coexistence";

/// Docker is here, running (its chain) or not yet (its daemon, which sets
/// the policy when it starts).
fn docker_present(host: &Host, tables: &[firewall::ruleset::Table]) -> bool {
    tables.iter().any(|t| t.chain(docker::USER_CHAIN).is_some())
        || docker::nft_backend(tables)
        || host.exists("/usr/bin/dockerd")
        || host.exists("/usr/sbin/dockerd")
}

/// The step's value: the facts it read, while they still hold (it changed
/// nothing), for readiness to use rather than ask again. `sockets`: the
/// listening sockets when the caller read them and they still hold; else
/// they are read here.
pub fn step(
    host: &Host,
    bridge: &Bridge,
    manage_firewall: bool,
    sockets: Option<Vec<crate::network::ports::Socket>>,
) -> anyhow::Result<Outcome<Option<Facts>>> {
    let name = bridge.name.as_str();
    let facts = match sockets {
        Some(sockets) => Facts::read_with(host, Some(sockets))?,
        None => Facts::read(host)?,
    }
    .with_v6_for(host, bridge)?;
    let mut tables = facts.tables.clone();
    let uplink = mtu::uplink(host)?;
    // In a dry run on a fresh host the bridge does not exist yet.
    let address = facts.address_of(name);
    let scope = Scope {
        bridge: name,
        address,
        uplink: uplink.as_deref(),
        v6: false,
    };
    let mut blocked = readiness::blocked_both(host, bridge, &scope, &tables);
    if !manage_firewall {
        if blocked.is_empty() {
            return Ok(Outcome::new(
                Status::Skipped,
                format!("manage-firewall is false; nothing drops {name}'s traffic"),
            )
            .with_value(Some(facts)));
        }
        let (reason, fix) = readiness::describe(name, &blocked, &tables);
        return Err(coded(
            Exit::Unavailable,
            format!(
                "{reason}; manage-firewall is false, so setup leaves the firewall alone: set it to true, or open {name} by hand: {}",
                fix.trim_start_matches("let setup open it (manage-firewall: true), or run ")
            ),
        ));
    }
    // One owner at a time, each change made to the model too: Docker's
    // accept in DOCKER-USER may already be all that ufw's FORWARD needed.
    let mut cmds = Vec::new();
    let mut did = Vec::new();
    let mut opened: Vec<Owner> = Vec::new();
    while let Some(owner) = blocked
        .iter()
        .map(|b| b.owner)
        .find(|o| *o != Owner::Other && !opened.contains(o))
    {
        let mine: Vec<&Blocked> = blocked
            .iter()
            .filter(|b| b.owner == owner && firewall::openable(b))
            .collect();
        if mine.is_empty() {
            opened.push(owner);
            continue;
        }
        let mut what: Vec<String> = mine.iter().map(|b| b.class.to_string()).collect();
        what.dedup();
        let opening = firewall::opening(owner, name, &mine, &mut tables);
        did.push(format!(
            "{owner} opened for {} ({} rules)",
            what.join(", "),
            opening.len()
        ));
        cmds.extend(opening);
        opened.push(owner);
        blocked = readiness::blocked_both(host, bridge, &scope, &tables);
    }
    if !blocked.is_empty() {
        // Before anything runs: a host that stays cut off is left as it was.
        let (reason, fix) = readiness::describe(name, &blocked, &tables);
        return Err(coded(
            Exit::Unavailable,
            format!("{reason}; setup does not change rules it does not own: {fix}"),
        ));
    }
    let mut plan = Vec::new();
    for cmd in &cmds {
        if let Some(rule) = firewall::recorded(cmd) {
            crate::record::note(host, rule)?;
        }
        plan.extend(host.run_all(std::slice::from_ref(cmd))?);
    }
    let mut changed = !cmds.is_empty();
    // Persisted whether or not Docker is here yet: Docker installed after
    // setup (seen in the Debian VMs) starts at boot before the runtimes turn
    // forwarding on, finds it off, and sets the FORWARD policy DROP.
    if bridge.nat {
        let change = forwarding::persist_ip_forward(host)?;
        if change.is_change() {
            changed = true;
            let why = if docker_present(host, &tables) {
                "so that Docker keeps the FORWARD policy at boot"
            } else {
                "so that NAT works from boot on, before a Docker installed later starts and sets the FORWARD policy DROP"
            };
            did.push(format!(
                "net.ipv4.ip_forward=1 persisted in {}, {why}",
                forwarding::PERSIST_PATH
            ));
        }
        plan.extend(change.plan(host));
    }
    if !changed {
        return Ok(
            Outcome::new(Status::Unchanged, format!("nothing drops {name}'s traffic"))
                .with_value(Some(facts)),
        );
    }
    Ok(Outcome::new(Status::of_change(host.applies()), did.join("; "))
        .with_plan(plan)
        .with_value(None))
}
