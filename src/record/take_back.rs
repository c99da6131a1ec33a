//! How each kind of recorded change is taken back, and how teardown tells
//! whether the host still shows it as setup left it: only then is it taken
//! back; what someone changed since is left, naming both values.

use std::time::{Duration, Instant};

use super::{Change, FileState, FirewallBackend, ServiceAction, file_state, proc_path};
use crate::host::{CommandLine, Host};
use crate::runtime::lxd_family::{Flavor, PidFile, Runtime, SysvStart, pid_file};
use crate::runtime::service::Init;
use crate::runtime::{admin_group, libvirt_undo, lxd_undo, packages, purge};

/// What became of one change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Taken {
    /// Taken back (or, in a dry run, would be); the plan of a dry run.
    Back { detail: String, plan: Vec<String> },
    /// The host already shows it as it was before setup.
    AlreadyBack(String),
    /// Changed since setup: left alone, both values named.
    ChangedSince(String),
    /// Left in place (in use, or holding what is not the tool's), and named.
    Left(String),
    /// Kept, and kept in the record for a later teardown (packages without
    /// `--purge-packages`).
    Kept(String),
}

/// What teardown was asked, for the changes that need to know.
pub struct Context {
    pub purge_packages: bool,
    pub runtime_timeout: Duration,
    pub lock_deadline: Instant,
    pub init: Init,
    /// Something of this type was left in place, so that its packages are
    /// not purged from under it.
    pub left_something: bool,
    /// The profile devices (`PROFILE DEVICE`) this run took back, or in a
    /// dry run would: a dry run still sees them using the pool and bridge.
    pub devices_taken: std::cell::RefCell<Vec<String>>,
}

/// A name or key from the record as setup would have written it: the
/// record is root's, but what reaches a command line is checked all the same.
fn plain(word: &str) -> bool {
    !word.is_empty()
        && word.len() <= 128
        && !word.starts_with('-')
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '/' | ':' | ' '))
}

pub fn take_back(host: &Host, change: &Change, ctx: &Context) -> anyhow::Result<Taken> {
    let words: Vec<&str> = match change {
        Change::RuntimeObject { object, name, .. } => vec![object, name],
        Change::RuntimeKey { object, key, .. } => vec![object, key],
        Change::Service { name, .. } | Change::Snap { name } | Change::KernelModule { name } => vec![name],
        _ => Vec::new(),
    };
    if let Some(odd) = words.iter().flat_map(|w| w.split(' ')).find(|w| !plain(w)) {
        return Ok(Taken::Left(format!(
            "the record names {}, which setup would not have written; left as it is",
            crate::config::limits::quote(odd)
        )));
    }
    match change {
        Change::File { path, before, after } => file(host, path, before.as_ref(), after.as_ref()),
        Change::Sysctl { key, before, after } => sysctl(host, key, before, after),
        Change::FirewallRule { backend, rule } => firewall(host, *backend, rule),
        Change::RuntimeObject {
            runtime,
            object,
            name,
        } => match (runtime.as_str(), Flavor::named(runtime)) {
            ("libvirt", _) => libvirt_undo::remove_object(host, object, name),
            (_, Some(flavor)) => {
                let runtime = Runtime::new(flavor, ctx.runtime_timeout);
                let taken =
                    lxd_undo::remove_object(host, runtime, object, name, &ctx.devices_taken.borrow())?;
                if object == "profile-device" && matches!(taken, Taken::Back { .. }) {
                    ctx.devices_taken.borrow_mut().push(name.clone());
                }
                Ok(taken)
            }
            _ => Ok(Taken::Left(format!(
                "{runtime} is not a runtime this version takes objects back on; {object} {name} left in place"
            ))),
        },
        Change::RuntimeKey {
            runtime,
            object,
            key,
            before,
            after,
        } => {
            let (before, after) = (before.as_deref(), after.as_deref());
            match (runtime.as_str(), Flavor::named(runtime)) {
                ("libvirt", _) => libvirt_undo::restore_key(host, object, key, before, after),
                ("snap", _) => snap_key(host, key, before, after),
                (_, Some(flavor)) => lxd_undo::restore_key(
                    host,
                    Runtime::new(flavor, ctx.runtime_timeout),
                    object,
                    key,
                    before,
                    after,
                ),
                _ => Ok(Taken::Left(format!(
                    "{runtime} is not a runtime this version takes keys back on; {object} {key} left as it is"
                ))),
            }
        }
        Change::Service { name, action } => service(host, ctx, name, *action),
        Change::Packages { installed, pulled_in } => packages_back(host, ctx, installed, pulled_in),
        Change::Snap { name } => snap(host, ctx, name),
        Change::KernelModule { name } => module(host, name),
        Change::GroupMember { group, user } => group_member(host, group, user),
    }
}

/// A user setup added to a group, taken out of it again while still in it.
fn group_member(host: &Host, group: &str, user: &str) -> anyhow::Result<Taken> {
    // What reaches gpasswd passes the rules setup's --user did.
    let valid = |name: &str| name.parse::<admin_group::UserName>().is_ok();
    if !valid(group) || !valid(user) {
        return Ok(Taken::Left(format!(
            "the record names group {:?} and user {:?}, which are not names setup would have used; left as they are",
            crate::config::limits::quote(group),
            crate::config::limits::quote(user)
        )));
    }
    let groups = host
        .read_optional(admin_group::GROUP_FILE)?
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    let member = admin_group::members(&groups, group).is_some_and(|m| m.contains(&user));
    if !member {
        return Ok(Taken::AlreadyBack(format!("{user} is not in {group}")));
    }
    let plan = host.run_all(&[CommandLine::new("gpasswd").args(["-d", user, group])])?;
    Ok(Taken::Back {
        detail: format!("took {user} out of {group}"),
        plan,
    })
}

/// A file in a line: absent, or its size and first line that differs.
fn describe(state: Option<&FileState>, other: Option<&FileState>) -> String {
    let Some(state) = state else {
        return "absent".into();
    };
    let theirs: Vec<&str> = other.map(|o| o.content.lines().collect()).unwrap_or_default();
    let differing = state
        .content
        .lines()
        .enumerate()
        .find(|(i, l)| theirs.get(*i) != Some(l))
        .map(|(_, l)| format!(", {:?}", crate::config::limits::quote(l)))
        .unwrap_or_default();
    format!("{} bytes mode {:o}{differing}", state.content.len(), state.mode)
}

fn file(
    host: &Host,
    path: &str,
    before: Option<&FileState>,
    after: Option<&FileState>,
) -> anyhow::Result<Taken> {
    let now = file_state(host, path)?;
    if now.as_ref() == before {
        return Ok(Taken::AlreadyBack(match before {
            Some(_) => format!("{path} holds what it held before setup"),
            None => format!("{path} is absent, as before setup"),
        }));
    }
    if now.as_ref() != after {
        return Ok(Taken::ChangedSince(format!(
            "{path} was changed since setup: now {}, setup left {}; left as it is",
            describe(now.as_ref(), after),
            describe(after, now.as_ref())
        )));
    }
    let (change, detail) = match before {
        Some(b) => (
            host.write_file(path, b.content.as_bytes(), b.mode)?,
            format!("{path} restored to what it held before setup"),
        ),
        None => (
            host.remove_file(path)?,
            format!("{path} removed: there was none before setup"),
        ),
    };
    Ok(Taken::Back {
        detail,
        plan: change.plan(host),
    })
}

fn sysctl(host: &Host, key: &str, before: &str, after: &str) -> anyhow::Result<Taken> {
    let path = proc_path(key);
    let Some(now) = host.read_optional(&path)? else {
        return Ok(Taken::AlreadyBack(format!("the kernel has no {key}")));
    };
    let now = String::from_utf8_lossy(&now).trim().to_string();
    if now == before {
        return Ok(Taken::AlreadyBack(format!("{key}={now}, as before setup")));
    }
    if now != after {
        return Ok(Taken::ChangedSince(format!(
            "{key} is {now} now, setup left {after}; left as it is"
        )));
    }
    let mut plan = Vec::new();
    if host.applies() {
        host.write_proc(&path, before)?;
    } else {
        plan.push(format!("write {before} to {path}"));
    }
    Ok(Taken::Back {
        detail: format!("{key}={before} (was {now})"),
        plan,
    })
}

fn firewall(host: &Host, backend: FirewallBackend, rule: &[String]) -> anyhow::Result<Taken> {
    let shown = format!("{} {}", backend.as_str(), rule.join(" "));
    let (present, delete) = match backend {
        FirewallBackend::Ufw => {
            let Some(out) = host.query_installed(&CommandLine::new("ufw").args(["show", "added"]))? else {
                return Ok(Taken::AlreadyBack(format!("ufw is gone, and {shown} with it")));
            };
            let line = format!("ufw {}", rule.join(" "));
            let present = out.stdout.lines().any(|l| l.trim() == line);
            let delete = match rule.split_first() {
                Some((first, rest)) if first == "route" => CommandLine::new("ufw")
                    .args(["route", "delete"])
                    .args(rest.iter().cloned()),
                _ => CommandLine::new("ufw").arg("delete").args(rule.iter().cloned()),
            };
            (present, delete)
        }
        FirewallBackend::Firewalld => {
            let swap = |to: &str| -> Vec<String> {
                rule.iter()
                    .map(|w| {
                        w.strip_prefix("--change-interface=")
                            .or_else(|| w.strip_prefix("--add-interface="))
                            .map_or_else(|| w.clone(), |i| format!("--{to}-interface={i}"))
                    })
                    .collect()
            };
            let query = CommandLine::new("firewall-cmd").args(swap("query"));
            let Some(out) = host.query_installed(&query)? else {
                return Ok(Taken::AlreadyBack(format!(
                    "firewalld is gone, and {shown} with it"
                )));
            };
            if !matches!(out.code, Some(0 | 1)) {
                return Ok(Taken::Left(format!(
                    "firewalld does not answer ({}); {shown} left for `firewall-cmd` to remove once it runs",
                    out.tail()
                )));
            }
            (
                out.code == Some(0),
                CommandLine::new("firewall-cmd").args(swap("remove")),
            )
        }
        FirewallBackend::Nft => return nft_rule(host, rule),
        iptables => {
            let program = iptables.as_str();
            let check = CommandLine::new(program).arg("-C").args(rule.iter().cloned());
            let Some(out) = host.query_installed(&check)? else {
                return Ok(Taken::AlreadyBack(format!(
                    "{program} is gone, and {shown} with it"
                )));
            };
            (
                out.success(),
                CommandLine::new(program).arg("-D").args(rule.iter().cloned()),
            )
        }
    };
    if !present {
        return Ok(Taken::AlreadyBack(format!("no rule {shown}")));
    }
    let plan = host.run_all(&[delete])?;
    Ok(Taken::Back {
        detail: format!("deleted {shown}"),
        plan,
    })
}

/// An nft rule: `[family, table, chain, words...]`, found by its words in
/// `nft -a list chain` and deleted by its handle.
fn nft_rule(host: &Host, rule: &[String]) -> anyhow::Result<Taken> {
    let [family, table, chain, words @ ..] = rule else {
        return Ok(Taken::Left(format!(
            "nft rule {rule:?} names no chain; left as it is"
        )));
    };
    let list = CommandLine::new("nft").args(["-a", "list", "chain", family, table, chain]);
    let Some(out) = host.query_installed(&list)? else {
        return Ok(Taken::AlreadyBack("nft is gone".into()));
    };
    let wanted = words.join(" ");
    let handle = out.stdout.lines().find_map(|l| {
        let (text, handle) = l.trim().rsplit_once(" # handle ")?;
        (text.trim() == wanted).then(|| handle.trim().to_string())
    });
    let Some(handle) = handle.filter(|_| out.success()) else {
        return Ok(Taken::AlreadyBack(format!(
            "no rule {wanted:?} in {family} {table} {chain}"
        )));
    };
    let delete = CommandLine::new("nft").args(["delete", "rule", family, table, chain, "handle", &handle]);
    let plan = host.run_all(&[delete])?;
    Ok(Taken::Back {
        detail: format!("deleted nft rule {wanted:?} from {family} {table} {chain}"),
        plan,
    })
}

fn service(host: &Host, ctx: &Context, name: &str, action: ServiceAction) -> anyhow::Result<Taken> {
    if let Some(snap) = name.strip_prefix("snap ") {
        let Some(list) = host.query_installed(&CommandLine::new("snap").args(["list", snap]))? else {
            return Ok(Taken::AlreadyBack(format!("snap {snap} is gone")));
        };
        if !list.success() {
            return Ok(Taken::AlreadyBack(format!("snap {snap} is gone")));
        }
        let stop = CommandLine::new("snap")
            .args(["stop", "--disable", snap])
            .on_runtime(snap);
        let plan = host.run_all(&[stop])?;
        return Ok(Taken::Back {
            detail: format!("stopped and disabled snap {snap}"),
            plan,
        });
    }
    let (active, stop) = match (ctx.init, action) {
        (Init::Systemd, ServiceAction::Enabled) => {
            let out =
                host.query_installed(&CommandLine::new("systemctl").args(["is-enabled", "--quiet", name]))?;
            (
                out.is_some_and(|o| o.success()),
                CommandLine::new("systemctl").args(["disable", name]),
            )
        }
        (Init::Systemd, ServiceAction::Started) => {
            let out =
                host.query_installed(&CommandLine::new("systemctl").args(["is-active", "--quiet", name]))?;
            (
                out.is_some_and(|o| o.success()),
                CommandLine::new("systemctl").args(["stop", name]),
            )
        }
        (Init::SysV, ServiceAction::Enabled) => {
            return Ok(Taken::AlreadyBack(format!(
                "{name}: systemd does not run this host, so nothing is enabled"
            )));
        }
        (Init::SysV, ServiceAction::Started) if host.exists(&format!("/etc/init.d/{name}")) => {
            let out = host.query_status(
                &CommandLine::new("service")
                    .args([name, "status"])
                    .on_runtime(name),
            )?;
            // LSB's 3 is "not running"; a script without `status` (lxc-net's)
            // answers otherwise, and its `stop` is safe to run anyway.
            (
                out.code != Some(3),
                CommandLine::new("service").args([name, "stop"]),
            )
        }
        (Init::SysV, ServiceAction::Started) => match Flavor::named(name).map(|f| f.sysv) {
            // Started by its program, as its init script would have:
            // stopped the way the program itself stops, with its instances.
            Some(SysvStart::Daemon {
                program,
                pid_file: pid_path,
                ..
            }) => (
                matches!(pid_file(host, pid_path)?, PidFile::Running(_)),
                // By name on the runtime's PATH, as every other command.
                CommandLine::new(program.rsplit('/').next().unwrap_or(program))
                    .arg("shutdown")
                    .arg(format!("--timeout={}", ctx.runtime_timeout.as_secs())),
            ),
            _ => return Ok(Taken::AlreadyBack(format!("{name} has no init script any more"))),
        },
    };
    let verb = match action {
        ServiceAction::Started => "stopped",
        ServiceAction::Enabled => "disabled",
    };
    if !active {
        return Ok(Taken::AlreadyBack(format!("{name} is not {}", action.as_str())));
    }
    let plan = host.run_all(&[stop.on_runtime(name)])?;
    Ok(Taken::Back {
        detail: format!("{verb} {name}"),
        plan,
    })
}

fn packages_back(
    host: &Host,
    ctx: &Context,
    installed: &[String],
    pulled_in: &[String],
) -> anyhow::Result<Taken> {
    if !ctx.purge_packages {
        return Ok(Taken::Kept(format!(
            "{} kept installed; `teardown --purge-packages` purges them",
            installed.join(" ")
        )));
    }
    if ctx.left_something {
        return Ok(Taken::Kept(format!(
            "{} kept installed: what teardown left in place above needs them",
            installed.join(" ")
        )));
    }
    let ours: Vec<String> = installed.iter().chain(pulled_in).cloned().collect();
    let chosen = purge::select(&packages::installed_stanzas(host)?, &ours);
    let mut kept: Vec<String> = chosen
        .needed
        .iter()
        .map(|(p, by)| format!("{p} (needed by {by})"))
        .collect();
    kept.dedup();
    if chosen.purge.is_empty() {
        return Ok(Taken::AlreadyBack(if kept.is_empty() {
            format!("{} no longer installed", installed.join(" "))
        } else {
            format!("nothing to purge; kept {}", kept.join(", "))
        }));
    }
    let removes = purge::simulated(host, &chosen.purge)?;
    let others: Vec<&String> = removes.iter().filter(|p| !chosen.purge.contains(p)).collect();
    if !others.is_empty() {
        return Ok(Taken::Kept(format!(
            "{} kept: apt would also remove {}, which setup did not install",
            chosen.purge.join(" "),
            others.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" ")
        )));
    }
    let plan = purge::purge(host, &chosen.purge, ctx.lock_deadline)?;
    let mut detail = format!("purged {}", chosen.purge.join(" "));
    if !kept.is_empty() {
        detail.push_str(&format!("; kept {}", kept.join(", ")));
    }
    Ok(Taken::Back { detail, plan })
}

fn snap(host: &Host, ctx: &Context, name: &str) -> anyhow::Result<Taken> {
    if !ctx.purge_packages || ctx.left_something {
        return Ok(Taken::Kept(format!(
            "snap {name} kept installed; `teardown --purge-packages` removes it"
        )));
    }
    let listed = host.query_installed(&CommandLine::new("snap").args(["list", name]))?;
    if !listed.is_some_and(|o| o.success()) {
        return Ok(Taken::AlreadyBack(format!("snap {name} is not installed")));
    }
    let plan = host.run_all(&[CommandLine::new("snap").args(["remove", "--purge", name])])?;
    Ok(Taken::Back {
        detail: format!("removed snap {name}"),
        plan,
    })
}

fn module(host: &Host, name: &str) -> anyhow::Result<Taken> {
    if !host.exists(&format!("/sys/module/{name}")) {
        return Ok(Taken::AlreadyBack(format!("{name} is not loaded")));
    }
    let out = host.query_status(&CommandLine::new("modprobe").args(["-r", "--dry-run", name]))?;
    if !out.success() {
        return Ok(Taken::Left(format!(
            "{name} is in use ({}); left loaded",
            out.tail()
        )));
    }
    let plan = host.run_all(&[CommandLine::new("modprobe").args(["-r", name])])?;
    Ok(Taken::Back {
        detail: format!("unloaded {name}"),
        plan,
    })
}

/// A snap key (`snap set system`), as the proxy step set it.
fn snap_key(host: &Host, key: &str, before: Option<&str>, after: Option<&str>) -> anyhow::Result<Taken> {
    let Some(current) = crate::proxy::snap::current(host)? else {
        return Ok(Taken::AlreadyBack("snap does not answer".into()));
    };
    let now = current.get(key).map(String::as_str).filter(|v| !v.is_empty());
    let shown = |v: Option<&str>| v.unwrap_or("(unset)").to_string();
    if now == before {
        return Ok(Taken::AlreadyBack(format!("snap {key} is {}", shown(now))));
    }
    if now != after {
        return Ok(Taken::ChangedSince(format!(
            "snap {key} is {} now, setup left {}; left as it is",
            shown(now),
            shown(after)
        )));
    }
    let cmd = match before {
        Some(v) => CommandLine::new("snap")
            .args(["set", "system"])
            .arg(format!("{key}={v}")),
        None => CommandLine::new("snap").args(["unset", "system", key]),
    };
    let plan = host.run_all(&[cmd])?;
    Ok(Taken::Back {
        detail: format!("snap {key} {} -> {}", shown(after), shown(before)),
        plan,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_from_the_record_that_could_be_options_or_worse_are_refused() {
        for good in [
            "lxdbr0",
            "default",
            "eth0",
            "ipv4.address",
            "core.proxy_http",
            "lxd.socket",
        ] {
            assert!(plain(good), "{good}");
        }
        for bad in ["", "--force", "-x", "a\nb", "a;b", "$(id)", &"x".repeat(129)] {
            assert!(!plain(bad), "{bad:?}");
        }
    }
}
