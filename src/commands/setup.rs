//! `setup <type>`: the whole host preparation, in the contract's order.
//! Every step reads the host first and changes only what differs.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::check_result::{Check, Verdict};
use crate::commands::forwarding::{self, Forwarding};
use crate::commands::lxc_net::{self, LxcNet, Request};
use crate::config::config_source;
use crate::config::settings::Settings;
use crate::container_type::ContainerType;
use crate::exit::{Exit, coded};
use crate::host::{Host, HostLock, LOCK_PATH, deadline_after};
use crate::network::coexistence;
use crate::network::ipv6::BridgeIpv6;
use crate::network::ipv6_forwarding;
use crate::network::mtu;
use crate::network::nat_forwarding;
use crate::network::ports;
use crate::network::readiness::{self, Bridge, Facts, Stage};
use crate::proxy::{self, ProxySettings};
use crate::report::{Outcome, Report, Status};
use crate::signals;

use crate::runtime::distro::{self, Detected};
use crate::runtime::packages::PackageOptions;
use crate::runtime::service::Init;
use crate::runtime::{admin_group, kvm, lxc, lxd_family, packages, storage};

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

/// How long setup gives a bridge to come up with its DHCP and DNS server
/// when this run changed something under it: LXD answers its API before it
/// has started its networks' dnsmasq (seen: `setup lxd` right after it
/// started the daemon found nothing on lxdbr0's DHCP port, on a machine
/// busy with two VMs). Capped by the runtime timeout.
const SETTLE: Duration = Duration::from_secs(15);

/// The checks a runtime that was just started or changed may still be
/// working on; any other failure (a firewall drop, a clash) is final.
const SETTLING: [&str; 2] = ["bridge-up", "dhcp-dns"];

/// The runtime answered; now the guests' data path through `bridge`, over
/// the facts the coexistence step read when they still hold. While only
/// [`SETTLING`] checks fail, they are read again for up to `settle`.
fn data_path(
    host: &Host,
    bridge: &Bridge,
    runtime: Outcome,
    facts: Option<Facts>,
    settle: Duration,
) -> anyhow::Result<Outcome> {
    let mut checks = match facts {
        Some(facts) => readiness::check_with(host, bridge, Stage::Ready, &facts),
        None => readiness::check_bridge(host, bridge, Stage::Ready),
    };
    let deadline = Instant::now() + settle;
    while settling(&checks) && Instant::now() < deadline {
        signals::sleep(Duration::from_millis(250))?;
        checks = readiness::check_bridge(host, bridge, Stage::Ready);
    }
    let summary = readiness::verdict(&bridge.name, &checks)?;
    Ok(Outcome::new(
        Status::Unchanged,
        format!("{}; {summary}", runtime.detail),
    ))
}

fn settling(checks: &[Check]) -> bool {
    let mut failed = checks.iter().filter(|c| c.result == Verdict::Fail).peekable();
    failed.peek().is_some() && failed.all(|c| SETTLING.contains(&c.name))
}

/// The last two steps for every type: open `bridge` where something else on
/// the host cuts it off, then prove the data path, after `answers` shows the
/// runtime itself answers.
fn coexistence_then_readiness(
    host: &Host,
    report: &mut Report,
    bridge: &Bridge,
    runtime_timeout: Duration,
    manage_firewall: bool,
    sockets: Option<Vec<ports::Socket>>,
    answers: impl FnOnce() -> anyhow::Result<Outcome>,
) -> anyhow::Result<()> {
    report.run_step(nat_forwarding::STEP, || nat_forwarding::step(host, bridge))?;
    let sockets = still_current(report, sockets);
    let facts = report.run_step(coexistence::STEP, || {
        coexistence::step(host, bridge, manage_firewall, sockets)
    })?;
    // A converged host gets no grace: what is missing there stays missing.
    let settle = if report.steps.iter().any(|s| s.status == Status::Changed) {
        SETTLE.min(runtime_timeout)
    } else {
        Duration::ZERO
    };
    readiness(host, report, || {
        data_path(host, bridge, answers()?, facts, settle)
    })
}

/// The sockets the ports step read, while they still hold: a step after
/// it that changed the host (a runtime that started its bridge's dnsmasq)
/// makes them stale, and the data-path checks read them again.
fn still_current(report: &Report, sockets: Option<Vec<ports::Socket>>) -> Option<Vec<ports::Socket>> {
    let read_at = report.steps.iter().rposition(|s| s.name == ports::STEP)?;
    let changed = report.steps[read_at + 1..]
        .iter()
        .any(|s| s.status == Status::Changed);
    sockets.filter(|_| !changed)
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
            detail.push_str(&format!(
                "; {} unknown key(s) kept: {}",
                got.config.unknown.len(),
                config_source::unknown_keys(&got.config)
            ));
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

    if matches!(ty, ContainerType::Lxd | ContainerType::Incus) && settings.storage.driver.is_some() {
        // Before anything is installed, as for KVM: a kernel without the
        // asked driver leaves the host as it was.
        let distro = Detected::on(host, ty, Init::detect(host)).ok().map(|d| d.distro);
        report.run_step("storage-kernel", || {
            storage::kernel_step(host, &settings.storage, distro)
        })?;
    } else if settings.storage != storage::Request::default()
        && !matches!(ty, ContainerType::Lxd | ContainerType::Incus)
    {
        log::warn!("the storage-* settings are for lxd and incus; setup {ty} ignores them");
    }

    if config.ip_forwarding {
        forwarding::converge(host, Forwarding::Enabled, true, report)?;
    } else {
        report.skip("forwarding", "ip-forwarding is not true");
    }

    if settings.bridge_ipv6 != BridgeIpv6::None {
        // Before the runtime is installed or started: each turns IPv6
        // forwarding on when it brings up a bridge with IPv6.
        let (bridge, nat66) = match ty {
            ContainerType::Lxd => (
                lxd_family::LXD.bridge.to_string(),
                config.enable_nat.unwrap_or(true),
            ),
            ContainerType::Incus => (
                lxd_family::INCUS.bridge.to_string(),
                config.enable_nat.unwrap_or(true),
            ),
            ContainerType::Lxc => ("lxcbr0".to_string(), config.enable_nat.unwrap_or(true)),
            // A NAT network gets <nat ipv6='yes'/>.
            ContainerType::Kvm => (kvm::LIBVIRT_BRIDGE.to_string(), true),
        };
        report.run_step(ipv6_forwarding::STEP, || {
            ipv6_forwarding::step(host, &bridge, nat66)
        })?;
    }

    let mut lxc_ipv6 = None;
    if ty == ContainerType::Lxc {
        if (config.ip_forwarding && settings.address_allocation) || settings.bridge_ipv6 != BridgeIpv6::None {
            // Before the package: its install must find (and keep) our file.
            let mut request = Request::default();
            let planned = LxcNet::plan(&request).map_err(lxc_net::invalid)?;
            request.ipv6 =
                crate::network::ipv6::resolve(host, settings.bridge_ipv6, planned.bridge().as_str())?;
            request.ipv6_nat = config.enable_nat.unwrap_or(true);
            let wanted = LxcNet::plan(&request).map_err(lxc_net::invalid)?;
            lxc_ipv6 = wanted.ipv6();
            lxc_net::override_file(host, &wanted, report)?;
        } else {
            report.skip(
                "lxc-net",
                "needs ip-forwarding and address-allocation, or bridge-ipv6",
            );
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
    let from_snap = matches!(install, Some(distro::Install::Snap { .. }));

    let distro = report.run_step("packages", || {
        let Detected { distro, install, .. } = detected?;
        let pkg_opts = PackageOptions {
            no_install: opts.no_install,
            lock_deadline,
            snap_channel: config.lxd_snap_channel.clone(),
        };
        Ok(packages::converge(host, &install, &pkg_opts)?.with_value(distro))
    })?;

    if let Some(tools) = storage::tool_packages(&settings.storage)
        && matches!(ty, ContainerType::Lxd | ContainerType::Incus)
    {
        report.run_step("storage-tools", || {
            if from_snap {
                return Ok(Outcome::new(
                    Status::Unchanged,
                    format!("the snap carries its own storage tools ({})", tools.join(" ")),
                ));
            }
            let pkg_opts = PackageOptions {
                no_install: opts.no_install,
                lock_deadline,
                snap_channel: None,
            };
            packages::converge(host, &distro::Install::Apt(tools.to_vec()), &pkg_opts)
        })?;
    }

    let planned_bridge = match ty {
        ContainerType::Lxd => lxd_family::LXD.bridge.to_string(),
        ContainerType::Incus => lxd_family::INCUS.bridge.to_string(),
        ContainerType::Lxc => lxc::bridge(host)?,
        ContainerType::Kvm => kvm::LIBVIRT_BRIDGE.to_string(),
    };
    let sockets = report.run_step(ports::STEP, || ports::step(host, &planned_bridge))?;

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
                lxd_family::network_step(
                    host,
                    runtime,
                    &config,
                    settings.bridge_subnet,
                    settings.bridge_ipv6,
                    probed,
                )
            })?;
            // A daemon that answers with its bridge as wanted is most likely
            // set up already: the rest of such a run's reads at once; the
            // steps below find the answers there until one of them changes
            // the host. Elsewhere the steps read one at a time.
            if report
                .steps
                .last()
                .is_some_and(|s| s.status == Status::Unchanged && s.name == flavor.step("network"))
            {
                lxd_family::prefetch(host, runtime);
            }
            report.run_step(&flavor.step("storage"), || {
                lxd_family::storage_step(host, runtime, &settings.storage)
            })?;
            report.run_step(&flavor.step("profile"), || {
                lxd_family::profile_step(host, runtime)
            })?;
            if let Some(user) = &opts.user {
                report.run_step(&flavor.step("user"), || {
                    admin_group::user_step(host, flavor.admin_group, user)
                })?;
            }
            let nat = config.enable_nat.unwrap_or(true);
            let mut bridge = Bridge::new(flavor.bridge, nat);
            if settings.bridge_ipv6 != BridgeIpv6::None {
                bridge = bridge.with_ipv6(nat);
            }
            coexistence_then_readiness(
                host,
                report,
                &bridge,
                opts.runtime_timeout,
                settings.manage_firewall,
                sockets,
                || lxd_family::readiness_step(host, runtime),
            )?;
        }
        ContainerType::Lxc => {
            report.run_step("lxc-net-service", || {
                lxc::lxc_net_step(host, init, sockets.as_deref(), lxc_ipv6)
            })?;
            report.run_step("lxc-mtu", || {
                lxc::mtu_step(host, mtu::wanted(host, config.lxc_default_mtu)?)
            })?;
            // lxc-net always masquerades its bridge's network.
            let mut bridge = Bridge::new(&lxc::bridge(host)?, true);
            if lxc_ipv6.is_some() {
                bridge = bridge.with_ipv6(config.enable_nat.unwrap_or(true));
            }
            coexistence_then_readiness(
                host,
                report,
                &bridge,
                opts.runtime_timeout,
                settings.manage_firewall,
                sockets,
                || lxc::readiness_step(host),
            )?;
        }
        ContainerType::Kvm => {
            report.run_step("libvirt-daemon", || {
                kvm::daemon_step(host, init, opts.runtime_timeout)
            })?;
            let network = report.run_step("libvirt-network", || {
                kvm::network_step(
                    host,
                    mtu::wanted(host, config.lxc_default_mtu)?,
                    settings.bridge_ipv6,
                )
            })?;
            report.run_step("libvirt-pool", || kvm::pool_step(host))?;
            // The same coexistence and data-path checks as lxdbr0 and lxcbr0.
            let mut bridge = Bridge::new(&network.name, network.nat);
            if let Some((_, nat66)) = network.ipv6
                && settings.bridge_ipv6 != BridgeIpv6::None
            {
                bridge = bridge.with_ipv6(nat66);
            }
            coexistence_then_readiness(
                host,
                report,
                &bridge,
                opts.runtime_timeout,
                settings.manage_firewall,
                sockets,
                || kvm::readiness(host).map(|(answers, _live)| answers),
            )?;
        }
    }
    // A signal that arrived during the last step.
    signals::check()
}
