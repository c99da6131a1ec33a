//! The shared part of snap's and the runtimes' proxy steps: read the keys,
//! change what differs, and keep the record of what the tool set.

use std::collections::BTreeMap;

use super::record::{self, Record};
use crate::host::{CommandLine, Host};
use crate::report::{Outcome, Status};

pub struct Consumer<'a> {
    /// Its name in the record.
    pub name: &'a str,
    /// Its name in messages.
    pub shown: &'a str,
    pub managed: &'a [&'a str],
}

pub fn keys(
    host: &Host,
    consumer: Consumer<'_>,
    wanted: &BTreeMap<String, String>,
    read: impl FnOnce() -> anyhow::Result<BTreeMap<String, String>>,
    commands: impl FnOnce(&record::KeyPlan) -> Vec<CommandLine>,
) -> anyhow::Result<Outcome> {
    let recorded = Record::load(host)?.of(consumer.name);
    // Nothing wanted and nothing of ours to take back: nothing to ask.
    if wanted.is_empty() && recorded.is_empty() {
        return Ok(Outcome::new(
            Status::Unchanged,
            format!("no proxy for {}", consumer.shown),
        ));
    }
    let current = read()?;
    let plan = record::plan_keys(consumer.managed, &current, wanted, &recorded);
    record::note_set(host, consumer.name, &plan, &current)?;
    let mut steps = host.run_all(&commands(&plan))?;
    let stored = Record::store(host, consumer.name, plan.record.clone())?;
    steps.extend(stored.plan(host));
    if plan.is_empty() {
        let detail = if wanted.is_empty() {
            format!("no proxy for {}", consumer.shown)
        } else {
            let set: Vec<String> = wanted.iter().map(|(k, v)| format!("{k}={v}")).collect();
            format!("{}: {}", consumer.shown, set.join(" "))
        };
        return Ok(Outcome::new(Status::Unchanged, detail).with_plan(steps));
    }
    Ok(Outcome::new(
        Status::of_change(host.applies()),
        format!("{}: {}", consumer.shown, plan.describe(&current)),
    )
    .with_plan(steps))
}
