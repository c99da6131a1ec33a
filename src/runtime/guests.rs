//! The guests of one container type on this host, for `teardown`, which
//! refuses while any exist: it never deletes a guest, and taking the runtime
//! away from under one would lose it. The runtime is asked where it answers;
//! where it does not (stopped, or not installed), its own directories say
//! which guests it keeps.

use crate::container_type::ContainerType;
use crate::host::Host;

use super::kvm;
use super::lxd_family::{self, Flavor, Runtime};

/// Where each runtime keeps a directory (or link) per guest.
fn guest_dirs(ty: ContainerType) -> &'static [&'static str] {
    match ty {
        ContainerType::Lxd => &[
            "/var/lib/lxd/containers",
            "/var/lib/lxd/virtual-machines",
            "/var/snap/lxd/common/lxd/containers",
            "/var/snap/lxd/common/lxd/virtual-machines",
        ],
        ContainerType::Incus => &["/var/lib/incus/containers", "/var/lib/incus/virtual-machines"],
        ContainerType::Lxc => &["/var/lib/lxc"],
        ContainerType::Kvm => &["/etc/libvirt/qemu"],
    }
}

/// The names of the guests of `ty`, sorted.
pub fn of_type(
    host: &Host,
    ty: ContainerType,
    runtime_timeout: std::time::Duration,
) -> anyhow::Result<Vec<String>> {
    let asked = match ty {
        ContainerType::Lxd | ContainerType::Incus => {
            let flavor = Flavor::named(&ty.to_string()).expect("lxd and incus are flavors");
            lxd_instances(host, Runtime::new(flavor, runtime_timeout))?
        }
        ContainerType::Kvm => libvirt_domains(host)?,
        ContainerType::Lxc => None,
    };
    let mut names = match asked {
        Some(names) => names,
        None => on_disk(host, ty)?,
    };
    names.sort();
    names.dedup();
    Ok(names)
}

/// Instance names in every project; `None` where the daemon does not answer.
fn lxd_instances(host: &Host, runtime: Runtime) -> anyhow::Result<Option<Vec<String>>> {
    let cmd = runtime.query("/1.0/instances?all-projects=true");
    let out = match host.query_status(&cmd) {
        Ok(out) if out.success() => out,
        Ok(_) => return Ok(None),
        Err(err) if crate::host::is_not_installed(&err) => return Ok(None),
        Err(err) => return Err(err),
    };
    let urls: Vec<String> =
        lxd_family::parse::<Option<Vec<String>>>(&out, "its instances")?.unwrap_or_default();
    Ok(Some(
        urls.iter()
            .filter_map(|u| u.split('?').next()?.rsplit('/').next())
            .map(str::to_string)
            .collect(),
    ))
}

/// Every domain libvirt defines, running or not; `None` where it does not answer.
fn libvirt_domains(host: &Host) -> anyhow::Result<Option<Vec<String>>> {
    let cmd = kvm::virsh(&["list", "--all", "--name"]);
    match host.query_status(&cmd) {
        Ok(out) if out.success() => Ok(Some(kvm::names(&out).into_iter().map(str::to_string).collect())),
        Ok(_) => Ok(None),
        Err(err) if crate::host::is_not_installed(&err) => Ok(None),
        Err(err) => Err(err),
    }
}

/// What the runtime's directories hold: a guest each (an LXC container is
/// a directory with a `config`; a libvirt domain an XML file).
fn on_disk(host: &Host, ty: ContainerType) -> anyhow::Result<Vec<String>> {
    let mut names = Vec::new();
    for dir in guest_dirs(ty) {
        for name in host.list_dir(dir)? {
            let counts = match ty {
                ContainerType::Lxc => host.exists(&format!("{dir}/{name}/config")),
                ContainerType::Kvm => name.ends_with(".xml"),
                _ => true,
            };
            if counts {
                names.push(name.trim_end_matches(".xml").to_string());
            }
        }
    }
    Ok(names)
}
