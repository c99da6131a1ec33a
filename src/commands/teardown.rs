//! `teardown <type>`: take back what `setup <type>` changed on this host,
//! from its record, newest first. Only what the host still shows as setup
//! left it is taken back; what someone changed since is left and named. A
//! change that other types' setups need too stays for the last of them.

use std::time::{Duration, Instant};

use crate::container_type::ContainerType;
use crate::exit::{Exit, coded};
use crate::host::{Host, HostLock, LOCK_PATH, deadline_after};
use crate::record::{self, Context, RECORD_PATH, Record, Taken};
use crate::report::{Outcome, Report, Status, Step};
use crate::runtime::guests;
use crate::runtime::service::Init;
use crate::signals;

pub struct TeardownOptions {
    pub container_type: ContainerType,
    pub lock_timeout: Duration,
    pub runtime_timeout: Duration,
    pub purge_packages: bool,
}

fn require_root(host: &Host, ty: ContainerType) -> anyhow::Result<()> {
    if host.privileged() {
        return Ok(());
    }
    Err(coded(
        Exit::NoPerm,
        format!(
            "teardown {ty} needs root, as setup does: run it as root (sudo container-init teardown {ty})"
        ),
    ))
}

/// A change's fate as a step of the report.
fn outcome(host: &Host, taken: &Taken) -> Outcome {
    match taken {
        Taken::Back { detail, plan } => {
            Outcome::new(Status::of_change(host.applies()), detail.clone()).with_plan(plan.clone())
        }
        Taken::AlreadyBack(detail) => Outcome::new(Status::Unchanged, detail.clone()),
        Taken::ChangedSince(detail) | Taken::Left(detail) | Taken::Kept(detail) => {
            Outcome::new(Status::Skipped, detail.clone())
        }
    }
}

pub fn run(host: &Host, opts: &TeardownOptions, report: &mut Report) -> anyhow::Result<()> {
    let ty = opts.container_type;
    require_root(host, ty)?;
    signals::install();
    let lock_started = Instant::now();
    let _held = report.run_step("host-lock", || {
        if !host.applies() {
            return Ok(Outcome::new(Status::Skipped, "dry run").with_value(None));
        }
        let held = HostLock::open(host)?.acquire(opts.lock_timeout)?;
        Ok(Outcome::new(Status::Unchanged, format!("holding {LOCK_PATH}")).with_value(Some(held)))
    })?;
    let lock_deadline = deadline_after(lock_started, opts.lock_timeout);

    let mut record = report.run_step("record", || {
        let record = Record::load(host)?;
        let mine = record.entries().iter().filter(|e| e.types.contains(&ty)).count();
        let detail = if mine > 0 {
            format!("{mine} changes of setup {ty} in {RECORD_PATH}")
        } else if !host.exists(RECORD_PATH) {
            format!(
                "no {RECORD_PATH}: setup {ty} never ran here, or a version before the record prepared this host; nothing to take back"
            )
        } else {
            format!("{RECORD_PATH} holds nothing of setup {ty}; nothing to take back")
        };
        Ok(Outcome::new(Status::Unchanged, detail).with_value(record))
    })?;
    let mine: Vec<record::Entry> = record
        .entries()
        .iter()
        .rev()
        .filter(|e| e.types.contains(&ty))
        .cloned()
        .collect();
    if mine.is_empty() {
        return Ok(());
    }

    report.run_step("guests", || {
        let names = guests::of_type(host, ty, opts.runtime_timeout)?;
        if names.is_empty() {
            return Ok(Outcome::new(Status::Unchanged, format!("no {ty} guests")));
        }
        Err(coded(
            Exit::Unavailable,
            format!(
                "{} {ty} guest(s) on this host: {}; teardown never deletes a guest, and would cut them off: delete or move them, then run teardown {ty} again",
                names.len(),
                names.join(", ")
            ),
        ))
    })?;

    let mut ctx = Context {
        purge_packages: opts.purge_packages,
        runtime_timeout: opts.runtime_timeout,
        lock_deadline,
        init: Init::detect(host),
        left_something: false,
        devices_taken: Default::default(),
    };
    for entry in mine {
        let target = entry.change.target();
        let others: Vec<String> = entry
            .types
            .iter()
            .filter(|t| **t != ty)
            .map(|t| t.to_string())
            .collect();
        let keep_entry = if !others.is_empty() {
            signals::check()?;
            report.push(Step::new(
                &target,
                Status::Skipped,
                format!("kept: setup {} needs it too", others.join(" and ")),
            ));
            false
        } else {
            let taken = report.run_step(&target, || {
                let taken = record::take_back(host, &entry.change, &ctx)?;
                Ok(outcome(host, &taken).with_value(taken))
            })?;
            if matches!(taken, Taken::Left(_)) {
                ctx.left_something = true;
            }
            matches!(taken, Taken::Kept(_))
        };
        // After each change, so that a teardown cut short leaves a record of
        // what is still there.
        if host.applies() && !keep_entry {
            record.drop_need(ty, &target);
            record.store(host)?;
        }
    }
    signals::check()
}
