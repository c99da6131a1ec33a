//! `setup <type>`: the whole host preparation, in the contract's order.
//! Every step reads the host first and changes only what differs.

pub mod admin_group;
pub mod apt_source;
pub mod distro;
pub mod kvm;
pub mod lxc;
pub mod lxd_family;
pub mod packages;
pub mod service;
pub mod subnet;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::coexistence;
use crate::config_source;
use crate::container_type::ContainerType;
use crate::exit::{Exit, coded};
use crate::forwarding::{self, Forwarding};
use crate::host::{Host, HostLock, LOCK_PATH, deadline_after};
use crate::lxc_net::{self, LxcNet, Request};
use crate::network::mtu;
use crate::proxy::{self, ProxySettings};
use crate::readiness::{self, Bridge, Facts, Stage};
use crate::report::{Outcome, Report, Status};
use crate::settings::Settings;
use crate::signals;

use distro::Detected;
use packages::PackageOptions;
use service::Init;

pub struct SetupOptions {
    pub container_type: ContainerType,
    pub manager_config: Option<PathBuf>,
    pub lock_timeout: Duration,
    pub allow_emulation: bool,
    pub no_install: bool,
    pub runtime_timeout: Duration,
    /// lxd/incus: a user to add to the runtime's admin group.
    pub user: Option<admin_group::UserName>,
}

const IFF_UP: u32 = 0x1;

/// Whether a network interface is administratively up, from sysfs under --root.
pub fn is_up(host: &Host, interface: &str) -> bool {
    host.read_optional(&format!("/sys/class/net/{interface}/flags"))
        .ok()
        .flatten()
        .and_then(|b| {
            let text = String::from_utf8_lossy(&b);
            u32::from_str_radix(text.trim().trim_start_matches("0x"), 16).ok()
        })
        .is_some_and(|flags| flags & IFF_UP != 0)
}

pub fn bridge_up(host: &Host, bridge: &str) -> anyhow::Result<()> {
    if bridge.is_empty() || !is_up(host, bridge) {
        return Err(coded(
            Exit::Os,
            format!("the bridge {bridge:?} is not up after setup; check the runtime's logs and run again"),
        ));
    }
    Ok(())
}

/// The last step, read-only; a dry run started nothing there is to probe.
fn readiness(
    host: &Host,
    report: &mut Report,
    probe: impl FnOnce() -> anyhow::Result<Outcome>,
) -> anyhow::Result<()> {
    if !host.applies() {
        report.skip("readiness", "dry run: nothing was started");
        return Ok(());
    }
    report.run_step("readiness", probe)
}

/// The runtime answered; now the guests' data path through `bridge`, over
/// the facts the coexistence step read when they still hold.
pub fn data_path(
    host: &Host,
    bridge: &Bridge,
    runtime: Outcome,
    facts: Option<Facts>,
) -> anyhow::Result<Outcome> {
    let checks = match facts {
        Some(facts) => readiness::check_with(host, bridge, Stage::Ready, &facts),
        None => readiness::check_bridge(host, bridge, Stage::Ready),
    };
    let summary = readiness::verdict(&bridge.name, &checks)?;
    Ok(Outcome::new(
        Status::Unchanged,
        format!("{}; {summary}", runtime.detail),
    ))
}

/// The last two steps for every type: open `bridge` where something else on
/// the host cuts it off, then prove the data path, after `answers` shows the
/// runtime itself answers.
fn coexistence_then_readiness(
    host: &Host,
    report: &mut Report,
    bridge: &Bridge,
    manage_firewall: bool,
    answers: impl FnOnce() -> anyhow::Result<Outcome>,
) -> anyhow::Result<()> {
    let facts = report.run_step(coexistence::STEP, || {
        coexistence::step(host, bridge, manage_firewall)
    })?;
    readiness(host, report, || data_path(host, bridge, answers()?, facts))
}

/// apt's proxy file, and snap's proxy where LXD comes from the snap store:
/// before the packages, so that this run's downloads use them. Shown only
/// when a proxy key is set or something the tool set is still in place.
fn proxy_before_packages(
    host: &Host,
    install: Option<&distro::Install>,
    wanted: &ProxySettings,
    report: &mut Report,
) -> anyhow::Result<()> {
    if wanted.apt_http().is_some() || wanted.apt_https().is_some() || host.exists(proxy::apt::APT_CONF) {
        report.run_step("apt-proxy", || proxy::apt::step(host, wanted))?;
    }
    let from_snap = matches!(install, Some(distro::Install::Snap { .. }));
    if from_snap && proxy::in_play(host, proxy::snap::CONSUMER, &proxy::snap::wanted(wanted))? {
        report.run_step("snap-proxy", || proxy::snap::step(host, wanted))?;
    }
    Ok(())
}

/// The runtime's own proxy (`core.proxy_*`), once its daemon answers.
fn runtime_proxy(
    host: &Host,
    client: &str,
    wanted: &ProxySettings,
    report: &mut Report,
) -> anyhow::Result<()> {
    if proxy::in_play(host, client, &proxy::runtime::wanted(wanted))? {
        report.run_step("runtime-proxy", || proxy::runtime::step(host, client, wanted))?;
    }
    Ok(())
}

/// Setup's first check, before its settings are even read: without root,
/// LXD's socket, dpkg's lock and the services all refuse, and a plan built
/// from those refusals would invent work (a second bridge beside the one
/// there is).
pub fn require_root(host: &Host, ty: ContainerType) -> anyhow::Result<()> {
    if host.privileged() {
        return Ok(());
    }
    Err(coded(
        Exit::NoPerm,
        format!(
            "setup {ty} needs root: the runtime's socket is root-only, and so are packages and services; run it as root (sudo container-init setup {ty})"
        ),
    ))
}

pub fn run(host: &Host, settings: &Settings, opts: &SetupOptions, report: &mut Report) -> anyhow::Result<()> {
    require_root(host, opts.container_type)?;
    signals::install();
    let ty = opts.container_type;
    if opts.user.is_some() && !matches!(ty, ContainerType::Lxd | ContainerType::Incus) {
        return Err(coded(
            Exit::Usage,
            format!(
                "--user is for lxd and incus, which have an admin group; setup {ty} has none, so drop --user"
            ),
        ));
    }
    let config = report.run_step("manager-config", || {
        let got = config_source::obtain(settings, ty, opts.manager_config.as_deref())?;
        let mut detail = got.source.describe();
        if !got.config.unknown.is_empty() {
            let keys: Vec<&str> = got.config.unknown.keys().map(String::as_str).collect();
            detail.push_str(&format!("; unknown keys kept: {}", keys.join(" ")));
        }
        Ok(Outcome::new(Status::Unchanged, detail).with_value(got.config))
    })?;

    // Held until the process exits; a dry run changes nothing and needs none.
    let lock_started = Instant::now();
    let _held = report.run_step("host-lock", || {
        if !host.applies() {
            return Ok(Outcome::new(Status::Skipped, "dry run").with_value(None));
        }
        let held = HostLock::open(host)?.acquire(opts.lock_timeout)?;
        let detail = match held.waited {
            Some(waited) => format!(
                "holding {LOCK_PATH} (waited {:.1}s for another container-init)",
                waited.as_secs_f64()
            ),
            None => format!("holding {LOCK_PATH}"),
        };
        Ok(Outcome::new(Status::Unchanged, detail).with_value(Some(held)))
    })?;
    // apt's lock waits share the same budget as ours.
    let lock_deadline = deadline_after(lock_started, opts.lock_timeout);

    if ty == ContainerType::Kvm {
        // Before anything is installed: a host that cannot run KVM guests
        // should be left as it was.
        report.run_step("virtualisation", || {
            kvm::virtualisation_step(host, opts.allow_emulation)
        })?;
    }

    if config.ip_forwarding {
        forwarding::converge(host, Forwarding::Enabled, true, report)?;
    } else {
        report.skip("forwarding", "ip-forwarding is not true");
    }

    if ty == ContainerType::Lxc {
        if config.ip_forwarding && settings.address_allocation {
            // Before the package: its install must find (and keep) our file.
            let wanted = LxcNet::plan(&Request::default()).map_err(lxc_net::invalid)?;
            lxc_net::override_file(host, &wanted, report)?;
        } else {
            report.skip("lxc-net", "needs ip-forwarding and address-allocation");
        }
    }

    let init = Init::detect(host);
    let detected = Detected::on(host, ty, init);
    // An install a reboot interrupted is finished first: apt refuses to go
    // on from it, and the package it left half-done is not missing.
    if let Ok(Detected { install, .. }) = &detected
        && let Some(needed) = install.debs()
        && let Some(found) = packages::interrupted(host, needed)?
    {
        report.run_step("dpkg-recovery", || packages::recover(host, &found, lock_deadline))?;
    }
    let install = detected.as_ref().ok().map(|d| &d.install);
    proxy_before_packages(host, install, &config.proxy, report)?;

    let distro = report.run_step("packages", || {
        let Detected { distro, install, .. } = detected?;
        let pkg_opts = PackageOptions {
            no_install: opts.no_install,
            lock_deadline,
            snap_channel: config.lxd_snap_channel.clone(),
        };
        Ok(packages::converge(host, &install, &pkg_opts)?.with_value(distro))
    })?;

    match ty {
        ContainerType::Lxd | ContainerType::Incus => {
            let flavor = if ty == ContainerType::Incus {
                lxd_family::INCUS
            } else {
                lxd_family::LXD
            };
            let runtime = lxd_family::Runtime::new(flavor, opts.runtime_timeout);
            let probed = report.run_step(&flavor.step("daemon"), || {
                lxd_family::daemon_step(host, runtime, init, distro)
            })?;
            runtime_proxy(host, flavor.client, &config.proxy, report)?;
            report.run_step(&flavor.step("network"), || {
                lxd_family::network_step(host, runtime, &config, settings.bridge_subnet, probed)
            })?;
            report.run_step(&flavor.step("storage"), || {
                lxd_family::storage_step(host, runtime)
            })?;
            report.run_step(&flavor.step("profile"), || {
                lxd_family::profile_step(host, runtime)
            })?;
            if let Some(user) = &opts.user {
                report.run_step(&flavor.step("user"), || {
                    admin_group::user_step(host, flavor.admin_group, user)
                })?;
            }
            let bridge = Bridge::new(flavor.bridge, config.enable_nat.unwrap_or(true));
            coexistence_then_readiness(host, report, &bridge, settings.manage_firewall, || {
                lxd_family::readiness_step(host, runtime)
            })?;
        }
        ContainerType::Lxc => {
            report.run_step("lxc-net-service", || lxc::lxc_net_step(host, init))?;
            report.run_step("lxc-mtu", || {
                lxc::mtu_step(host, mtu::wanted(host, config.lxc_default_mtu)?)
            })?;
            // lxc-net always masquerades its bridge's network.
            let bridge = Bridge::new(&lxc::bridge(host)?, true);
            coexistence_then_readiness(host, report, &bridge, settings.manage_firewall, || {
                lxc::readiness_step(host)
            })?;
        }
        ContainerType::Kvm => {
            report.run_step("libvirt-daemon", || {
                kvm::daemon_step(host, init, opts.runtime_timeout)
            })?;
            let network = report.run_step("libvirt-network", || {
                kvm::network_step(host, mtu::wanted(host, config.lxc_default_mtu)?)
            })?;
            report.run_step("libvirt-pool", || kvm::pool_step(host))?;
            // The same coexistence and data-path checks as lxdbr0 and lxcbr0.
            let bridge = Bridge::new(&network.name, network.nat);
            coexistence_then_readiness(host, report, &bridge, settings.manage_firewall, || {
                kvm::readiness(host).map(|(answers, _live)| answers)
            })?;
        }
    }
    // A signal that arrived during the last step.
    signals::check()
}
