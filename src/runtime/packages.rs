//! Packages: installed only when missing; apt runs non-interactively, keeps
//! existing config files, updates its lists only when a package has no
//! install candidate, and waits out another holder of the dpkg lock.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use crate::exit::{Exit, coded};
use crate::host::{CommandLine, Host, Ran};
use crate::record::{self, Change};
use crate::report::{Outcome, Status};
use crate::runtime::snap_channel::{Channel, Move};
use crate::signals;

use super::apt_source;
use super::distro::Install;

pub const DPKG_STATUS: &str = "/var/lib/dpkg/status";
/// The snap channel when the manager config names none.
pub const DEFAULT_LXD_CHANNEL: &str = "5.21/stable";

pub struct PackageOptions {
    pub no_install: bool,
    pub lock_deadline: Instant,
    pub snap_channel: Option<Channel>,
}

pub fn converge(host: &Host, install: &Install, opts: &PackageOptions) -> anyhow::Result<Outcome> {
    match install {
        Install::Apt(packages) => apt(host, packages, None, opts),
        Install::Backports { suite, packages } => apt(host, packages, Some(suite), opts),
        Install::Snap { name } => snap(host, name, opts),
    }
}

/// dpkg's journal: status changes of an install that has not been folded
/// into the status file yet (a reboot or a kill mid-install leaves them).
pub const DPKG_UPDATES: &str = "/var/lib/dpkg/updates";

/// What dpkg says of a package.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DebState {
    /// Installed and configured (`install` or `hold`).
    Installed,
    /// Unpacked, half-installed, half-configured or awaiting triggers: an
    /// install that stopped; `dpkg --configure -a` finishes it.
    Interrupted,
    Missing,
}

impl DebState {
    /// From dpkg's status word (`installed`, `unpacked`, ...).
    fn from_status(status: &str) -> DebState {
        match status {
            "installed" => DebState::Installed,
            "unpacked" | "half-installed" | "half-configured" | "triggers-awaited" | "triggers-pending" => {
                DebState::Interrupted
            }
            _ => DebState::Missing,
        }
    }

    /// From the second letter of `${db:Status-Abbrev}` (`ii `, `iU `, `hi `).
    fn from_abbrev(abbrev: &str) -> DebState {
        match abbrev.chars().nth(1) {
            Some('i') => DebState::Installed,
            Some('U' | 'H' | 'F' | 'W' | 't') => DebState::Interrupted,
            _ => DebState::Missing,
        }
    }
}

/// Whether dpkg's journal holds entries (its file names are numbers).
pub fn journal_pending(host: &Host) -> anyhow::Result<bool> {
    Ok(host
        .list_dir(DPKG_UPDATES)?
        .iter()
        .any(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())))
}

/// The state of each package. With an empty journal the status file says
/// it all and no process is needed; otherwise dpkg-query, which folds the
/// journal in.
pub fn deb_states(host: &Host, packages: &[&str]) -> anyhow::Result<Vec<(String, DebState)>> {
    if journal_pending(host)? {
        return dpkg_query_states(host, packages);
    }
    let status = host.read_optional(DPKG_STATUS)?.unwrap_or_default();
    let status = String::from_utf8_lossy(&status);
    let mut known: Vec<(&str, DebState)> = Vec::new();
    for stanza in status.split("\n\n") {
        let field = |name: &str| stanza.lines().find_map(|l| l.strip_prefix(name)).map(str::trim);
        if let (Some(package), Some(words)) = (field("Package:"), field("Status:")) {
            // "want flag status": a held package is as installed as any; a
            // flag other than ok (reinstreq) needs dpkg's attention.
            let state = match words.split_whitespace().collect::<Vec<_>>()[..] {
                [_, "ok", status] => DebState::from_status(status),
                [_, _, "installed"] => DebState::Interrupted,
                [_, _, status] => DebState::from_status(status),
                _ => DebState::Missing,
            };
            known.push((package, state));
        }
    }
    Ok(packages
        .iter()
        .map(|p| {
            let state = known
                .iter()
                .find(|(name, _)| name == p)
                .map_or(DebState::Missing, |(_, s)| *s);
            (p.to_string(), state)
        })
        .collect())
}

fn dpkg_query_states(host: &Host, packages: &[&str]) -> anyhow::Result<Vec<(String, DebState)>> {
    let cmd = CommandLine::new("dpkg-query")
        .args(["-W", "-f", "${Package} ${db:Status-Abbrev}\n"])
        .args(packages.iter().copied());
    // Exit 1 names packages dpkg has never heard of: those are missing.
    let out = host.query_status(&cmd)?;
    if !matches!(out.code, Some(0 | 1)) {
        return Err(crate::host::command_failed(&cmd, &out));
    }
    Ok(packages
        .iter()
        .map(|p| {
            let state = out
                .stdout
                .lines()
                .find_map(|l| {
                    let (name, abbrev) = l.split_once(' ')?;
                    (name == *p).then(|| DebState::from_abbrev(abbrev))
                })
                .unwrap_or(DebState::Missing);
            (p.to_string(), state)
        })
        .collect())
}

/// Every package dpkg has installed, from its status file and journal.
pub fn installed_set(host: &Host) -> anyhow::Result<BTreeSet<String>> {
    Ok(installed_stanzas(host)?.into_keys().collect())
}

/// Each installed package's stanza of dpkg's status file (the journal's
/// newer one where it has one): what teardown reads dependencies from.
pub fn installed_stanzas(host: &Host) -> anyhow::Result<BTreeMap<String, String>> {
    let mut stanzas = BTreeMap::new();
    let mut texts = vec![host.read_optional(DPKG_STATUS)?.unwrap_or_default()];
    for name in host.list_dir(DPKG_UPDATES)? {
        if !name.is_empty() && name.bytes().all(|b| b.is_ascii_digit()) {
            texts.push(
                host.read_optional(&format!("{DPKG_UPDATES}/{name}"))?
                    .unwrap_or_default(),
            );
        }
    }
    for text in texts {
        let text = String::from_utf8_lossy(&text);
        for stanza in text.split("\n\n") {
            let field = |name: &str| stanza.lines().find_map(|l| l.strip_prefix(name)).map(str::trim);
            let Some(package) = field("Package:") else {
                continue;
            };
            let installed = field("Status:").is_some_and(|s| s.ends_with(" installed"));
            if installed {
                stanzas.insert(package.to_string(), stanza.to_string());
            } else {
                stanzas.remove(package);
            }
        }
    }
    Ok(stanzas)
}

/// The packages to install: what dpkg does not have. A package an
/// interrupted install left half-done is not among them: the recovery
/// before this finishes it.
pub fn missing_debs(host: &Host, packages: &[&str]) -> anyhow::Result<Vec<String>> {
    Ok(deb_states(host, packages)?
        .into_iter()
        .filter(|(_, s)| *s == DebState::Missing)
        .map(|(p, _)| p)
        .collect())
}

/// An install that a reboot or a kill interrupted, which apt refuses to go
/// on from ("dpkg was interrupted, you must manually run 'dpkg --configure -a'").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interrupted {
    pub journal: bool,
    /// Needed packages dpkg left half-done.
    pub packages: Vec<String>,
}

pub fn interrupted(host: &Host, packages: &[&str]) -> anyhow::Result<Option<Interrupted>> {
    let journal = journal_pending(host)?;
    let half: Vec<String> = deb_states(host, packages)?
        .into_iter()
        .filter(|(_, s)| *s == DebState::Interrupted)
        .map(|(p, _)| p)
        .collect();
    Ok((journal || !half.is_empty()).then_some(Interrupted {
        journal,
        packages: half,
    }))
}

/// Finish the interrupted install, as apt asks a person to.
pub fn recover(host: &Host, found: &Interrupted, lock_deadline: Instant) -> anyhow::Result<Outcome> {
    let cmd = CommandLine::new("dpkg")
        .args(["--force-confdef", "--force-confold", "--configure", "-a"])
        .env("DEBIAN_FRONTEND", "noninteractive");
    let plan = planned(with_dpkg_lock(host, &cmd, lock_deadline)?)
        .into_iter()
        .collect();
    let mut why = Vec::new();
    if found.journal {
        why.push(format!("entries in {DPKG_UPDATES}"));
    }
    if !found.packages.is_empty() {
        why.push(format!("{} half-installed", found.packages.join(" ")));
    }
    Ok(Outcome::new(
        Status::of_change(host.applies()),
        format!(
            "finished an interrupted install with `dpkg --configure -a` ({})",
            why.join("; ")
        ),
    )
    .with_plan(plan))
}

/// `suite`: an extra suite the packages come from (with `-t`, so that only
/// they and what they need are taken from it); its source is added first.
fn apt(
    host: &Host,
    packages: &[&str],
    suite: Option<&str>,
    opts: &PackageOptions,
) -> anyhow::Result<Outcome> {
    let missing = missing_debs(host, packages)?;
    let present: Vec<&str> = packages
        .iter()
        .copied()
        .filter(|p| !missing.iter().any(|m| m == p))
        .collect();
    record::needs_packages(host, &present)?;
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
        plan.extend(planned(with_dpkg_lock(
            host,
            &apt_get().arg("update"),
            opts.lock_deadline,
        )?));
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
    let before = host.applies().then(|| installed_set(host)).transpose()?;
    record::note(
        host,
        Change::Packages {
            installed: missing.clone(),
            pulled_in: Vec::new(),
        },
    )?;
    plan.extend(planned(with_dpkg_lock(host, &install, opts.lock_deadline)?));
    if let Some(before) = before {
        // What apt pulled in with them, for `teardown --purge-packages`.
        let pulled_in: Vec<String> = installed_set(host)?
            .difference(&before)
            .filter(|p| !missing.contains(*p))
            .cloned()
            .collect();
        record::note(
            host,
            Change::Packages {
                installed: missing.clone(),
                pulled_in,
            },
        )?;
    }
    let mut detail = format!("installed {}", missing.join(" "));
    if let (Some(suite), Some(source)) = (suite, source) {
        detail.push_str(&format!(" from {suite}; {source}"));
    }
    Ok(Outcome::new(Status::of_change(host.applies()), detail).with_plan(plan))
}

fn apt_get() -> CommandLine {
    CommandLine::new("apt-get")
        .env("DEBIAN_FRONTEND", "noninteractive")
        // What it fetched and unpacked, for the live line on a terminal.
        .status_fd("APT::Status-Fd")
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

/// The locks apt and dpkg take (fcntl write locks): the frontend lock that
/// apt-get holds for a whole run, and dpkg's own database lock.
const DPKG_LOCKS: [&str; 2] = ["/var/lib/dpkg/lock-frontend", "/var/lib/dpkg/lock"];

/// Who holds a dpkg lock now, asked of the kernel rather than read from
/// apt's messages: the lock's path and the holder's pid.
fn dpkg_lock_holder(host: &Host) -> anyhow::Result<Option<(&'static str, u32)>> {
    for lock in DPKG_LOCKS {
        if let Some(pid) = host.lock_holder(lock)? {
            return Ok(Some((lock, pid)));
        }
    }
    Ok(None)
}

/// Run an apt command once nobody holds the dpkg lock, waiting up to the
/// lock deadline (then 75). Should apt still fail while the lock is held (it
/// was taken between the look and the run), that is waited out the same way.
fn with_dpkg_lock(host: &Host, cmd: &CommandLine, lock_deadline: Instant) -> anyhow::Result<Ran> {
    let mut warned = false;
    let mut failed: Option<anyhow::Error> = None;
    loop {
        let Some((lock, pid)) = dpkg_lock_holder(host)? else {
            match host.run(cmd) {
                Ok(ran) => return Ok(ran),
                Err(err) if dpkg_lock_holder(host)?.is_some() => {
                    failed = Some(err);
                    continue;
                }
                Err(err) => return Err(err),
            }
        };
        if Instant::now() >= lock_deadline {
            let held = coded(
                Exit::TempFail,
                format!(
                    "another process (pid {pid}) still holds the dpkg lock {lock} at the --lock-timeout; \
                     wait for it to finish and run again"
                ),
            );
            // What apt said, when it ran into the lock itself.
            return Err(match failed {
                Some(err) => err.context(crate::exit::Coded {
                    exit: Exit::TempFail,
                    message: held.to_string(),
                }),
                None => held,
            });
        }
        if !warned {
            log::warn!("another process (pid {pid}) holds the dpkg lock {lock}; waiting for it");
            warned = true;
        }
        signals::sleep(std::time::Duration::from_millis(200))?;
    }
}

/// Run an apt or dpkg command that changes the host, waiting out another
/// holder of the dpkg lock; the plan in a dry run.
pub fn run_with_dpkg_lock(
    host: &Host,
    cmd: &CommandLine,
    lock_deadline: Instant,
) -> anyhow::Result<Vec<String>> {
    Ok(planned(with_dpkg_lock(host, cmd, lock_deadline)?)
        .into_iter()
        .collect())
}

/// The channel an installed snap tracks, as `snap list NAME` shows it;
/// `None` when it is not installed.
pub fn snap_tracking(host: &Host, name: &str) -> anyhow::Result<Option<String>> {
    let out = host.query_status(&CommandLine::new("snap").args(["list", name]))?;
    Ok(tracking_column(&out.stdout, name))
}

/// `Name Version Rev Tracking Publisher Notes`, a header and a row per snap.
fn tracking_column(list: &str, name: &str) -> Option<String> {
    list.lines()
        .skip(1)
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .find(|cols| cols.first() == Some(&name))
        .map(|cols| cols.get(3).copied().unwrap_or("").to_string())
}

/// A missing snap is installed from the channel asked for (or the default);
/// an installed one moves only up, and only when a channel is asked for.
fn snap(host: &Host, name: &str, opts: &PackageOptions) -> anyhow::Result<Outcome> {
    let wanted = opts.snap_channel.as_ref();
    let (cmd, detail) = match (snap_tracking(host, name)?, wanted) {
        (None, _) => {
            let channel = wanted.map_or_else(|| DEFAULT_LXD_CHANNEL.to_string(), Channel::to_string);
            (
                CommandLine::new("snap").args(["install", name, &format!("--channel={channel}")]),
                format!("installed snap {name} ({channel})"),
            )
        }
        (Some(tracking), None) => {
            return Ok(Outcome::new(
                Status::Unchanged,
                format!(
                    "snap {name} tracking {tracking}; no lxd-snap-channel asked for, so it is not refreshed"
                ),
            ));
        }
        (Some(tracking), Some(wanted)) => match Channel::decide(&tracking, wanted) {
            Move::Stay => {
                return Ok(Outcome::new(
                    Status::Unchanged,
                    format!("snap {name} tracking {tracking}"),
                ));
            }
            Move::Refused(refusal) => {
                let reason = refusal.reason(name);
                log::warn!("{reason}; {}", refusal.fix());
                return Ok(Outcome::new(Status::Unchanged, reason));
            }
            Move::Upgrade => (
                CommandLine::new("snap").args(["refresh", name, &format!("--channel={wanted}")]),
                format!(
                    "snap {name} upgrade from {tracking} to {wanted}; the refresh restarts the {name} daemon"
                ),
            ),
        },
    };
    if opts.no_install {
        return Err(coded(
            Exit::Unavailable,
            format!(
                "snap {name} needs `{cmd}` and --no-install was given; run it, or run without --no-install"
            ),
        ));
    }
    if cmd.arguments().first().is_some_and(|a| a == "install") {
        record::note(
            host,
            Change::Snap {
                name: name.to_string(),
            },
        )?;
    }
    let plan = planned(host.run(&cmd)?).into_iter().collect();
    Ok(Outcome::new(Status::of_change(host.applies()), detail).with_plan(plan))
}

#[cfg(test)]
#[allow(clippy::disallowed_methods, clippy::disallowed_types)]
mod tests {
    use super::*;
    use crate::host::Mode;

    #[test]
    fn held_packages_count_as_installed_and_half_installed_ones_as_interrupted() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("var/lib/dpkg")).unwrap();
        std::fs::write(
            dir.path().join("var/lib/dpkg/status"),
            "Package: lxc\nStatus: hold ok installed\n\n\
             Package: lxd\nStatus: install ok unpacked\n\n\
             Package: nftables\nStatus: install reinstreq half-installed\n",
        )
        .unwrap();
        let host = Host::new(dir.path(), Mode::Apply);
        assert_eq!(
            deb_states(&host, &["lxc", "lxd", "nftables", "qemu"]).unwrap(),
            [
                ("lxc".to_string(), DebState::Installed),
                ("lxd".to_string(), DebState::Interrupted),
                ("nftables".to_string(), DebState::Interrupted),
                ("qemu".to_string(), DebState::Missing),
            ]
        );
        assert_eq!(missing_debs(&host, &["lxc", "lxd", "qemu"]).unwrap(), ["qemu"]);
        assert!(!journal_pending(&host).unwrap());
        let found = interrupted(&host, &["lxc", "lxd"]).unwrap().unwrap();
        assert_eq!(found.packages, ["lxd"]);
        assert!(interrupted(&host, &["lxc"]).unwrap().is_none());
    }

    #[test]
    fn status_abbreviations() {
        assert_eq!(DebState::from_abbrev("ii "), DebState::Installed);
        assert_eq!(DebState::from_abbrev("hi "), DebState::Installed);
        assert_eq!(DebState::from_abbrev("iU "), DebState::Interrupted);
        assert_eq!(DebState::from_abbrev("iF "), DebState::Interrupted);
        assert_eq!(DebState::from_abbrev("rc "), DebState::Missing);
        assert_eq!(DebState::from_abbrev("un "), DebState::Missing);
    }

    #[test]
    fn dpkg_status_decides_what_is_missing() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("var/lib/dpkg")).unwrap();
        std::fs::write(
            dir.path().join("var/lib/dpkg/status"),
            "Package: lxc\nStatus: install ok installed\nVersion: 1\n\n\
             Package: lxd\nStatus: deinstall ok config-files\n\n\
             Package: dnsmasq-base\nStatus: install ok installed\n\n\
             Package: qemu-held\nStatus: hold ok installed\n\n\
             Package: half\nStatus: install ok half-configured\n",
        )
        .unwrap();
        let host = Host::new(dir.path(), Mode::Apply);
        assert_eq!(
            missing_debs(
                &host,
                &["lxc", "lxd", "dnsmasq-base", "qemu", "qemu-held", "half"]
            )
            .unwrap(),
            // A half-configured package is not to be installed again: the
            // dpkg recovery before the install finishes it.
            ["lxd", "qemu"]
        );
    }

    #[test]
    fn the_tracking_column_of_snap_list() {
        let list = "Name  Version      Rev    Tracking       Publisher   Notes\n\
                    lxd   5.21.2-34459c8  30131  5.21/stable    canonical✓  -\n";
        assert_eq!(tracking_column(list, "lxd").as_deref(), Some("5.21/stable"));
        assert_eq!(tracking_column(list, "lx"), None);
        assert_eq!(tracking_column("", "lxd"), None);
        // A truncated row gives an empty column, which no channel matches.
        assert_eq!(tracking_column("Name\nlxd 1 2\n", "lxd").as_deref(), Some(""));
    }
}
