//! Packages: installed only when missing; apt runs non-interactively, keeps
//! existing config files, updates its lists only when a package has no
//! install candidate, and waits out another holder of the dpkg lock.

use std::time::Instant;

use crate::exit::{Exit, coded};
use crate::host::{CommandLine, Host, Ran};
use crate::report::{Outcome, Status};
use crate::signals;

use super::apt_source;
use super::distro::Install;

pub const DPKG_STATUS: &str = "/var/lib/dpkg/status";
/// The snap channel when the manager config names none.
pub const DEFAULT_LXD_CHANNEL: &str = "5.21/stable";

pub struct PackageOptions {
    pub no_install: bool,
    pub lock_deadline: Instant,
    pub snap_channel: Option<String>,
}

pub fn converge(host: &Host, install: &Install, opts: &PackageOptions) -> anyhow::Result<Outcome> {
    match install {
        Install::Apt(packages) => apt(host, packages, None, opts),
        Install::Backports { suite, packages } => apt(host, packages, Some(suite), opts),
        Install::Snap { name } => snap(host, name, opts),
    }
}

/// Installed packages, from dpkg's own status file: no process needed.
pub fn missing_debs(host: &Host, packages: &[&str]) -> anyhow::Result<Vec<String>> {
    let status = host.read_optional(DPKG_STATUS)?.unwrap_or_default();
    let status = String::from_utf8_lossy(&status);
    let installed: Vec<&str> = status
        .split("\n\n")
        .filter(|stanza| {
            stanza
                .lines()
                .any(|l| l.trim_end() == "Status: install ok installed")
        })
        .filter_map(|stanza| stanza.lines().find_map(|l| l.strip_prefix("Package: ")))
        .map(str::trim)
        .collect();
    Ok(packages
        .iter()
        .filter(|p| !installed.contains(p))
        .map(|p| p.to_string())
        .collect())
}

/// `suite`: an extra suite the packages come from (with `-t`, so that only
/// they and what they need are taken from it); its source is added first.
fn apt(host: &Host, packages: &[&str], suite: Option<&str>, opts: &PackageOptions) -> anyhow::Result<Outcome> {
    let missing = missing_debs(host, packages)?;
    if missing.is_empty() {
        return Ok(Outcome::new(
            Status::Unchanged,
            format!("installed: {}", packages.join(" ")),
        ));
    }
    if opts.no_install {
        return Err(coded(
            Exit::Unavailable,
            format!(
                "{} not installed and --no-install was given; install it, or run without --no-install",
                missing.join(" ")
            ),
        ));
    }
    let mut plan = Vec::new();
    let mut source = None;
    if let Some(suite) = suite {
        let ensured = apt_source::ensure(host, suite)?;
        plan.extend(ensured.change.plan(host));
        source = Some(ensured.detail);
    }
    if !missing_candidates(host, &missing)?.is_empty() {
        plan.extend(planned(with_dpkg_lock(host, &apt_get().arg("update"), opts)?));
        if host.applies() {
            let none = missing_candidates(host, &missing)?;
            if !none.is_empty() {
                return Err(coded(
                    Exit::Unavailable,
                    format!(
                        "no install candidate for {} in the configured apt sources; add the right source and run again",
                        none.join(" ")
                    ),
                ));
            }
        }
    }
    let install = apt_get()
        .args([
            "install",
            "-y",
            "-o",
            "Dpkg::Options::=--force-confdef",
            "-o",
            "Dpkg::Options::=--force-confold",
        ])
        .args(suite.into_iter().flat_map(|s| ["-t", s]))
        .args(missing.iter().cloned());
    plan.extend(planned(with_dpkg_lock(host, &install, opts)?));
    let mut detail = format!("installed {}", missing.join(" "));
    if let (Some(suite), Some(source)) = (suite, source) {
        detail.push_str(&format!(" from {suite}; {source}"));
    }
    Ok(Outcome::new(Status::of_change(host.applies()), detail).with_plan(plan))
}

fn apt_get() -> CommandLine {
    CommandLine::new("apt-get").env("DEBIAN_FRONTEND", "noninteractive")
}

fn planned(ran: Ran) -> Option<String> {
    match ran {
        Ran::Planned(line) => Some(line),
        Ran::Done(_) => None,
    }
}

/// Packages apt knows no version of: their lists need an `apt-get update`.
fn missing_candidates(host: &Host, packages: &[String]) -> anyhow::Result<Vec<String>> {
    let out = host.query_status(
        &CommandLine::new("apt-cache")
            .arg("policy")
            .args(packages.iter().cloned()),
    )?;
    let mut with_candidate = Vec::new();
    let mut current: Option<&str> = None;
    for line in out.stdout.lines() {
        if !line.starts_with(' ') && line.ends_with(':') {
            current = Some(line.trim_end_matches(':'));
        } else if let (Some(pkg), Some(candidate)) = (current, line.trim().strip_prefix("Candidate:"))
            && candidate.trim() != "(none)"
        {
            with_candidate.push(pkg.to_string());
        }
    }
    Ok(packages
        .iter()
        .filter(|p| !with_candidate.contains(p))
        .cloned()
        .collect())
}

/// Run an apt command, trying again while another process holds the dpkg
/// lock, up to the lock deadline (then 75).
fn with_dpkg_lock(host: &Host, cmd: &CommandLine, opts: &PackageOptions) -> anyhow::Result<Ran> {
    let mut warned = false;
    loop {
        match host.run(cmd) {
            Ok(ran) => return Ok(ran),
            Err(err) if is_lock_error(&err) => {
                if Instant::now() >= opts.lock_deadline {
                    return Err(err.context(crate::exit::Coded {
                        exit: Exit::TempFail,
                        message: "another process still holds the dpkg lock at the --lock-timeout; \
                                  wait for it to finish and run again"
                            .into(),
                    }));
                }
                if !warned {
                    log::warn!("another process holds the dpkg lock; waiting for it");
                    warned = true;
                }
                signals::sleep(std::time::Duration::from_secs(1))?;
            }
            Err(err) => return Err(err),
        }
    }
}

fn is_lock_error(err: &anyhow::Error) -> bool {
    let text = err.to_string();
    text.contains("Could not get lock")
        || text.contains("Unable to acquire the dpkg frontend lock")
        || text.contains("Unable to lock the administration directory")
}

fn snap(host: &Host, name: &str, opts: &PackageOptions) -> anyhow::Result<Outcome> {
    let wanted = opts.snap_channel.as_deref();
    let out = host.query_status(&CommandLine::new("snap").args(["list", name]))?;
    let tracking = out
        .stdout
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .find(|cols| cols.first() == Some(&name))
        .map(|cols| cols.get(3).copied().unwrap_or("").to_string());
    let cmd = match (&tracking, wanted) {
        (Some(t), Some(w)) if t != w => {
            CommandLine::new("snap").args(["refresh", name, &format!("--channel={w}")])
        }
        (Some(t), _) => {
            return Ok(Outcome::new(
                Status::Unchanged,
                format!("snap {name} tracking {t}"),
            ));
        }
        (None, _) => {
            let channel = wanted.unwrap_or(DEFAULT_LXD_CHANNEL);
            CommandLine::new("snap").args(["install", name, &format!("--channel={channel}")])
        }
    };
    if opts.no_install {
        return Err(coded(
            Exit::Unavailable,
            format!(
                "snap {name} needs `{cmd}` and --no-install was given; run it, or run without --no-install"
            ),
        ));
    }
    let plan = planned(host.run(&cmd)?).into_iter().collect();
    let detail = match tracking {
        Some(t) => format!("snap {name} moved from {t} to {}", wanted.unwrap_or_default()),
        None => format!(
            "installed snap {name} ({})",
            wanted.unwrap_or(DEFAULT_LXD_CHANNEL)
        ),
    };
    Ok(Outcome::new(Status::of_change(host.applies()), detail).with_plan(plan))
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)]
mod tests {
    use super::*;
    use crate::host::Mode;

    #[test]
    fn dpkg_status_decides_what_is_missing() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("var/lib/dpkg")).unwrap();
        std::fs::write(
            dir.path().join("var/lib/dpkg/status"),
            "Package: lxc\nStatus: install ok installed\nVersion: 1\n\n\
             Package: lxd\nStatus: deinstall ok config-files\n\n\
             Package: dnsmasq-base\nStatus: install ok installed\n",
        )
        .unwrap();
        let host = Host::new(dir.path(), Mode::Apply);
        assert_eq!(
            missing_debs(&host, &["lxc", "lxd", "dnsmasq-base", "qemu"]).unwrap(),
            ["lxd", "qemu"]
        );
    }
}
