//! Teardown's side of libvirt: the `default` network and pool setup
//! defined are stopped and undefined (a pool's directory and volumes are
//! never deleted: a pool with volumes is left), and what setup changed on
//! ones that were there before (started, autostarted, its subnet or MTU)
//! is set back while it still shows as setup left it.

use crate::host::Host;
use crate::record::Taken;

use super::kvm::{self, virsh};

/// Whether `name` is listed by `list` (`net-list`, `pool-list`) with `flags`.
fn listed(host: &Host, list: &str, flags: &[&str], name: &str) -> anyhow::Result<bool> {
    let mut args = vec![list];
    args.extend_from_slice(flags);
    args.push("--name");
    let out = host.query(&virsh(&args))?;
    Ok(kvm::names(&out).contains(&name))
}

fn prefix(object: &str) -> &'static str {
    if object == "pool" { "pool" } else { "net" }
}

/// Stop and undefine the network or pool setup defined.
pub fn remove_object(host: &Host, object: &str, name: &str) -> anyhow::Result<Taken> {
    let p = prefix(object);
    let list = format!("{p}-list");
    if !listed(host, &list, &["--all"], name)? {
        return Ok(Taken::AlreadyBack(format!("libvirt has no {object} {name}")));
    }
    let active = !listed(host, &list, &["--inactive"], name)?;
    if object == "pool" && active {
        let volumes = host.query(&virsh(&["vol-list", name, "--name"]))?;
        let volumes = kvm::names(&volumes);
        if !volumes.is_empty() {
            return Ok(Taken::Left(format!(
                "libvirt's pool {name} holds volumes setup did not put there ({}); left in place with them",
                volumes.join(", ")
            )));
        }
    }
    let mut cmds = Vec::new();
    if active {
        cmds.push(virsh(&[&format!("{p}-destroy"), name]));
    }
    cmds.push(virsh(&[&format!("{p}-undefine"), name]));
    let plan = host.run_all(&cmds)?;
    Ok(Taken::Back {
        detail: format!("stopped and undefined libvirt's {object} {name}"),
        plan,
    })
}

/// Set back a key of an existing network or pool: `active`, `autostart`
/// (`yes`/`no`), or a network's `definition`.
pub fn restore_key(
    host: &Host,
    object: &str,
    key: &str,
    before: Option<&str>,
    after: Option<&str>,
) -> anyhow::Result<Taken> {
    let (kind, name) = object.split_once(' ').unwrap_or((object, "default"));
    let p = prefix(kind);
    let list = format!("{p}-list");
    if !listed(host, &list, &["--all"], name)? {
        return Ok(Taken::AlreadyBack(format!(
            "libvirt has no {kind} {name} any more"
        )));
    }
    let flag = |on: bool| if on { "yes" } else { "no" };
    let now = match key {
        "active" => flag(!listed(host, &list, &["--inactive"], name)?).to_string(),
        "autostart" => flag(listed(host, &list, &["--all", "--autostart"], name)?).to_string(),
        "definition" if kind == "network" => {
            let xml = host.query(&virsh(&["net-dumpxml", "--inactive", name]))?.stdout;
            let (before, after) = (before.unwrap_or_default(), after.unwrap_or_default());
            if kvm::same_network_setup(&xml, before) {
                return Ok(Taken::AlreadyBack(format!(
                    "libvirt's network {name} has its subnet and MTU from before setup"
                )));
            }
            if !kvm::same_network_setup(&xml, after) {
                return Ok(Taken::ChangedSince(format!(
                    "libvirt's network {name} has a subnet or MTU other than setup left; left as it is"
                )));
            }
            let mut plan = host
                .write_file(kvm::NETWORK_XML, before.as_bytes(), 0o600)?
                .plan(host);
            let active = !listed(host, &list, &["--inactive"], name)?;
            let path = host
                .writable_path(kvm::NETWORK_XML)?
                .to_string_lossy()
                .into_owned();
            let mut cmds = Vec::new();
            if active {
                cmds.push(virsh(&["net-destroy", name]));
            }
            cmds.push(virsh(&["net-define", &path]));
            if active {
                cmds.push(virsh(&["net-start", name]));
            }
            plan.extend(host.run_all(&cmds)?);
            plan.extend(host.remove_file(kvm::NETWORK_XML)?.plan(host));
            return Ok(Taken::Back {
                detail: format!("libvirt's network {name} defined as before setup"),
                plan,
            });
        }
        other => {
            return Ok(Taken::Left(format!(
                "libvirt {object} {other} is not a key this version takes back; left as it is"
            )));
        }
    };
    if Some(now.as_str()) == before {
        return Ok(Taken::AlreadyBack(format!(
            "libvirt's {kind} {name} {key} is {now}"
        )));
    }
    if Some(now.as_str()) != after {
        return Ok(Taken::ChangedSince(format!(
            "libvirt's {kind} {name} {key} is {now} now, setup left {}; left as it is",
            after.unwrap_or("(none)")
        )));
    }
    let cmd = match (key, before) {
        ("active", Some("no")) => virsh(&[&format!("{p}-destroy"), name]),
        ("active", _) => virsh(&[&format!("{p}-start"), name]),
        ("autostart", Some("no")) => virsh(&[&format!("{p}-autostart"), name, "--disable"]),
        _ => virsh(&[&format!("{p}-autostart"), name]),
    };
    let plan = host.run_all(&[cmd])?;
    Ok(Taken::Back {
        detail: format!(
            "libvirt's {kind} {name} {key} {now} -> {}",
            before.unwrap_or("(none)")
        ),
        plan,
    })
}
