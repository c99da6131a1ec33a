//! KVM through libvirt: hardware virtualisation first (before anything is
//! installed), then libvirt's daemon, its `default` network and storage pool.

use crate::exit::{Exit, coded};
use crate::host::{CommandLine, Host};
use crate::report::{Outcome, Status};

use super::service::{self, Init};

pub const CPUINFO: &str = "/proc/cpuinfo";
pub const DEV_KVM: &str = "/dev/kvm";
const DEFAULT_NETWORK_XML: &str = "/usr/share/libvirt/networks/default.xml";
const IMAGES: &str = "/var/lib/libvirt/images";

/// What the host offers for hardware virtualisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Virtualisation {
    pub cpu_flag: Option<&'static str>,
    pub dev_kvm: bool,
}

impl Virtualisation {
    pub fn probe(host: &Host) -> anyhow::Result<Virtualisation> {
        let cpuinfo = host.read_optional(CPUINFO)?.unwrap_or_default();
        let cpuinfo = String::from_utf8_lossy(&cpuinfo);
        let flags = cpuinfo
            .lines()
            .filter(|l| l.starts_with("flags"))
            .flat_map(|l| l.split_once(':').map(|(_, f)| f).unwrap_or("").split_whitespace());
        let mut cpu_flag = None;
        for flag in flags {
            match flag {
                "vmx" => cpu_flag = Some("vmx"),
                "svm" => cpu_flag = Some("svm"),
                _ => {}
            }
        }
        Ok(Virtualisation {
            cpu_flag,
            dev_kvm: host.exists(DEV_KVM),
        })
    }

    pub fn present(&self) -> bool {
        self.cpu_flag.is_some() && self.dev_kvm
    }

    pub fn describe(&self) -> String {
        format!(
            "CPU flag {}, /dev/kvm {}",
            self.cpu_flag.unwrap_or("vmx/svm absent"),
            if self.dev_kvm { "present" } else { "absent" }
        )
    }
}

pub fn virtualisation_step(host: &Host, allow_emulation: bool) -> anyhow::Result<Outcome> {
    let v = Virtualisation::probe(host)?;
    if v.present() {
        return Ok(Outcome::new(Status::Unchanged, v.describe()));
    }
    if allow_emulation {
        log::warn!(
            "no hardware virtualisation ({}): guests will run under emulation, slowly",
            v.describe()
        );
        return Ok(Outcome::new(
            Status::Skipped,
            format!(
                "no hardware virtualisation ({}); --allow-emulation: guests will be slow",
                v.describe()
            ),
        ));
    }
    Err(coded(
        Exit::Unavailable,
        format!(
            "this host has no hardware virtualisation ({}); enable VT-x/AMD-V (or nested virtualisation for a VM), \
             or pass --allow-emulation to go on with slow emulated guests",
            v.describe()
        ),
    ))
}

fn virsh(args: &[&str]) -> CommandLine {
    CommandLine::new("virsh")
        .args(["-c", "qemu:///system"])
        .args(args.iter().copied())
        .on_runtime("libvirt")
}

/// `Key: value` lines of virsh's *-info output.
fn info(host: &Host, what: &str, name: &str) -> anyhow::Result<Option<Vec<(String, String)>>> {
    let out = host.query_status(&virsh(&[what, name]))?;
    if !out.success() {
        return Ok(None);
    }
    Ok(Some(
        out.stdout
            .lines()
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
            .collect(),
    ))
}

fn get<'a>(info: &'a [(String, String)], key: &str) -> &'a str {
    info.iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .unwrap_or("")
}

pub fn daemon_step(host: &Host, init: Init) -> anyhow::Result<Outcome> {
    service::ensure_running(host, init, "libvirtd")
}

/// libvirt's `default` network: defined, started, autostarted.
pub fn network_step(host: &Host) -> anyhow::Result<Outcome> {
    let mut cmds = Vec::new();
    let mut did = Vec::new();
    match info(host, "net-info", "default")? {
        None => {
            cmds.push(virsh(&["net-define", DEFAULT_NETWORK_XML]));
            cmds.push(virsh(&["net-start", "default"]));
            cmds.push(virsh(&["net-autostart", "default"]));
            did.push("defined, started and autostarted");
        }
        Some(net) => {
            if get(&net, "Active") != "yes" {
                cmds.push(virsh(&["net-start", "default"]));
                did.push("started");
            }
            if get(&net, "Autostart") != "yes" {
                cmds.push(virsh(&["net-autostart", "default"]));
                did.push("autostarted");
            }
        }
    }
    converge(
        host,
        &cmds,
        "default network active, autostart",
        format!("default network {}", did.join(", ")),
    )
}

/// libvirt's `default` storage pool: a directory pool, running, autostarted.
pub fn pool_step(host: &Host) -> anyhow::Result<Outcome> {
    let mut cmds = Vec::new();
    let mut did = Vec::new();
    match info(host, "pool-info", "default")? {
        None => {
            cmds.push(virsh(&["pool-define-as", "default", "dir", "--target", IMAGES]));
            cmds.push(virsh(&["pool-build", "default"]));
            cmds.push(virsh(&["pool-start", "default"]));
            cmds.push(virsh(&["pool-autostart", "default"]));
            did.push(format!("defined on {IMAGES}, started and autostarted"));
        }
        Some(pool) => {
            if get(&pool, "State") != "running" {
                cmds.push(virsh(&["pool-start", "default"]));
                did.push("started".into());
            }
            if get(&pool, "Autostart") != "yes" {
                cmds.push(virsh(&["pool-autostart", "default"]));
                did.push("autostarted".into());
            }
        }
    }
    converge(
        host,
        &cmds,
        "default pool running, autostart",
        format!("default pool {}", did.join(", ")),
    )
}

/// Unchanged when nothing is to be run; else run (or plan) the commands.
fn converge(host: &Host, cmds: &[CommandLine], unchanged: &str, changed: String) -> anyhow::Result<Outcome> {
    if cmds.is_empty() {
        return Ok(Outcome::new(Status::Unchanged, unchanged));
    }
    let plan = host.run_all(cmds)?;
    Ok(Outcome::new(Status::of_change(host.applies()), changed).with_plan(plan))
}

/// Read-only: libvirt answers and the default network's bridge is up.
pub fn readiness_step(host: &Host) -> anyhow::Result<Outcome> {
    host.query(&virsh(&["version"]))?;
    let net = info(host, "net-info", "default")?.unwrap_or_default();
    let bridge = get(&net, "Bridge").to_string();
    super::bridge_up(host, &bridge)?;
    Ok(Outcome::new(
        Status::Unchanged,
        format!("libvirt answers; bridge {bridge} up"),
    ))
}
