//! Services: through systemd when it runs the host, else through the
//! distribution's init script with service(8). CI VMs and containers often
//! run without systemd.

use std::time::{Duration, Instant};

use crate::exit::{Exit, coded};
use crate::host::{CommandLine, Host};
use crate::record::{self, Change, ServiceAction};
use crate::report::{Outcome, Status};
use crate::signals;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Init {
    Systemd,
    SysV,
}

impl Init {
    /// systemd's own test: it creates /run/systemd/system when it boots the host.
    pub fn detect(host: &Host) -> Init {
        if host.exists("/run/systemd/system") {
            Init::Systemd
        } else {
            Init::SysV
        }
    }

    fn how(self) -> &'static str {
        match self {
            Init::Systemd => "systemd",
            Init::SysV => "its init script",
        }
    }
}

/// A daemon that serves a Unix socket: it is up when that socket answers,
/// whatever its pid file or `service status` say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Daemon {
    pub unit: &'static str,
    pub socket: &'static str,
}

pub fn is_active(host: &Host, init: Init, unit: &str) -> anyhow::Result<bool> {
    let cmd = match init {
        Init::Systemd => CommandLine::new("systemctl").args(["is-active", "--quiet", unit]),
        Init::SysV => CommandLine::new("service").args([unit, "status"]),
    }
    .on_runtime(unit);
    Ok(host.query_status(&cmd)?.success())
}

/// Note in the record that this run enables (under systemd) and starts
/// `units`, before it does.
pub fn note_started(host: &Host, init: Init, units: &[&str]) -> anyhow::Result<()> {
    for unit in units {
        if init == Init::Systemd {
            record::note(host, service_change(unit, ServiceAction::Enabled))?;
        }
        record::note(host, service_change(unit, ServiceAction::Started))?;
    }
    Ok(())
}

fn service_change(unit: &str, action: ServiceAction) -> Change {
    Change::Service {
        name: unit.to_string(),
        action,
    }
}

/// Start (and, under systemd, enable) `unit`; returns the plan in a dry run.
pub fn start(host: &Host, init: Init, unit: &str) -> anyhow::Result<Vec<String>> {
    let cmd = match init {
        Init::Systemd => CommandLine::new("systemctl").args(["enable", "--now", unit]),
        Init::SysV => {
            // In a dry run the package step has only planned the install
            // that brings the script.
            if host.applies() && !host.exists(&format!("/etc/init.d/{unit}")) {
                return Err(coded(
                    Exit::Unavailable,
                    format!(
                        "systemd does not run this host and there is no /etc/init.d/{unit}; start {unit} by hand and run again"
                    ),
                ));
            }
            CommandLine::new("service").args([unit, "start"])
        }
    }
    .on_runtime(unit);
    note_started(host, init, &[unit])?;
    host.run_all(&[cmd])
}

/// The step for a service that must be running.
pub fn ensure_running(host: &Host, init: Init, unit: &str) -> anyhow::Result<Outcome> {
    if is_active(host, init, unit)? {
        return Ok(Outcome::new(Status::Unchanged, format!("{unit} running")));
    }
    let plan = start(host, init, unit)?;
    Ok(Outcome::new(
        Status::of_change(host.applies()),
        format!("started {unit} with {}", init.how()),
    )
    .with_plan(plan))
}

/// The step for daemons that must answer on their sockets, started in the
/// order given (a daemon others connect to first). Each one started is
/// waited for, at most `wait`.
pub fn ensure_answering(
    host: &Host,
    init: Init,
    daemons: &[Daemon],
    wait: Duration,
) -> anyhow::Result<Outcome> {
    let mut plan = Vec::new();
    let mut started = Vec::new();
    for daemon in daemons {
        if host.socket_answers(daemon.socket) {
            continue;
        }
        plan.extend(start(host, init, daemon.unit)?);
        if host.applies() {
            wait_for_socket(host, daemon, wait)?;
        }
        started.push(daemon.unit);
    }
    let units: Vec<&str> = daemons.iter().map(|d| d.unit).collect();
    if started.is_empty() {
        return Ok(Outcome::new(
            Status::Unchanged,
            format!("{} answer", units.join(" and ")),
        ));
    }
    Ok(Outcome::new(
        Status::of_change(host.applies()),
        format!("started {} with {}", started.join(" and "), init.how()),
    )
    .with_plan(plan))
}

const SOCKET_POLL: Duration = Duration::from_millis(100);

fn wait_for_socket(host: &Host, daemon: &Daemon, wait: Duration) -> anyhow::Result<()> {
    let deadline = Instant::now() + wait;
    loop {
        if host.socket_answers(daemon.socket) {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(coded(
                Exit::TempFail,
                format!(
                    "{} was started but {} did not answer within {}s; check its log, and run again (with a longer --runtime-timeout if it is only slow)",
                    daemon.unit,
                    daemon.socket,
                    wait.as_secs()
                ),
            ));
        }
        signals::check()?;
        std::thread::sleep(SOCKET_POLL);
    }
}
