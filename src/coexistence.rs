//! `setup`'s coexistence step: whatever else on the host would cut a
//! runtime's bridge off (Docker's `FORWARD` policy, ufw, firewalld, with
//! br_netfilter guest-to-guest traffic too) is opened for that bridge only,
//! and only where it blocks: a converged host runs nothing. Rules of anyone
//! else are reported, never changed.

use crate::exit::{Exit, coded};
use crate::forwarding;
use crate::host::Host;
use crate::network::firewall::{self, Blocked, Class, Owner, Scope, docker};
use crate::network::mtu;
use crate::readiness::{self, Bridge, Facts};
use crate::report::{Outcome, Status};

pub const STEP: &str = "coexistence";

/// Docker is here, running (its chain) or not yet (its daemon, which sets
/// the policy when it starts).
fn docker_present(host: &Host, tables: &[firewall::ruleset::Table]) -> bool {
    tables.iter().any(|t| t.chain(docker::USER_CHAIN).is_some())
        || host.exists("/usr/bin/dockerd")
        || host.exists("/usr/sbin/dockerd")
}

/// The step's value: the facts it read, while they still hold (it changed
/// nothing), for readiness to use rather than ask again.
pub fn step(host: &Host, bridge: &Bridge, manage_firewall: bool) -> anyhow::Result<Outcome<Option<Facts>>> {
    let name = bridge.name.as_str();
    let facts = Facts::read(host)?;
    let mut tables = facts.tables.clone();
    let uplink = mtu::uplink(host)?;
    // In a dry run on a fresh host the bridge does not exist yet.
    let address = facts.address_of(name);
    let scope = Scope {
        bridge: name,
        address,
        uplink: uplink.as_deref(),
    };
    let classes = Class::all(bridge.nat, readiness::br_netfilter(host));
    let mut blocked = firewall::blocked(&tables, &scope, &classes);
    if !manage_firewall {
        if blocked.is_empty() {
            return Ok(Outcome::new(
                Status::Skipped,
                format!("manage-firewall is false; nothing drops {name}'s traffic"),
            )
            .with_value(Some(facts)));
        }
        let (reason, fix) = readiness::describe(name, &blocked);
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
        let mine: Vec<&Blocked> = blocked.iter().filter(|b| b.owner == owner).collect();
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
        blocked = firewall::blocked(&tables, &scope, &classes);
    }
    if !blocked.is_empty() {
        // Before anything runs: a host that stays cut off is left as it was.
        let (reason, fix) = readiness::describe(name, &blocked);
        return Err(coded(
            Exit::Unavailable,
            format!("{reason}; setup does not change rules it does not own: {fix}"),
        ));
    }
    let mut plan = host.run_all(&cmds)?;
    let mut changed = !cmds.is_empty();
    if bridge.nat && docker_present(host, &tables) {
        let change = forwarding::persist_ip_forward(host)?;
        if change.is_change() {
            changed = true;
            did.push(format!(
                "net.ipv4.ip_forward=1 persisted in {}, so that Docker keeps the FORWARD policy at boot",
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
