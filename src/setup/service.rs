//! Services: through systemd when it runs the host, else through the
//! distribution's init script with service(8). CI VMs and containers often
//! run without systemd.

use crate::exit::{Exit, coded};
use crate::host::{CommandLine, Host};
use crate::report::{Outcome, Status};

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
}

pub fn is_active(host: &Host, init: Init, unit: &str) -> anyhow::Result<bool> {
    let cmd = match init {
        Init::Systemd => CommandLine::new("systemctl").args(["is-active", "--quiet", unit]),
        Init::SysV => CommandLine::new("service").args([unit, "status"]),
    }
    .on_runtime(unit);
    Ok(host.query_status(&cmd)?.success())
}

/// Start (and, under systemd, enable) `unit`; returns the plan in a dry run.
pub fn start(host: &Host, init: Init, unit: &str) -> anyhow::Result<Vec<String>> {
    let cmd = match init {
        Init::Systemd => CommandLine::new("systemctl").args(["enable", "--now", unit]),
        Init::SysV => {
            if !host.exists(&format!("/etc/init.d/{unit}")) {
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
    host.run_all(&[cmd])
}

/// The step for a service that must be running.
pub fn ensure_running(host: &Host, init: Init, unit: &str) -> anyhow::Result<Outcome> {
    if is_active(host, init, unit)? {
        return Ok(Outcome::new(Status::Unchanged, format!("{unit} running")));
    }
    let plan = start(host, init, unit)?;
    let how = match init {
        Init::Systemd => "systemd",
        Init::SysV => "its init script",
    };
    Ok(Outcome::new(
        Status::of_change(host.applies()),
        format!("started {unit} with {how}"),
    )
    .with_plan(plan))
}
