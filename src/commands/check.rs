//! `check <type>`: a read-only preflight in the manner of virt-host-validate.
//! One line per requirement: PASS, WARN or FAIL, with the reason and the fix.

use crate::check_result::{Check, Verdict, check};
use crate::container_type::ContainerType;
use crate::host::{CommandLine, Host};
use crate::network::readiness::{self, Bridge, Stage};
use crate::runtime::distro::{Detected, Install};
use crate::runtime::kernel;
use crate::runtime::kvm::Virtualisation;
use crate::runtime::lxd_family::{self, BridgeProbe, Flavor};
use crate::runtime::packages;
use crate::runtime::service::Init;
use crate::runtime::snap_channel::{Channel, Move};

/// Free space below which a host cannot hold container images.
const FAIL_BYTES: u64 = 1 << 30;
const WARN_BYTES: u64 = 5 << 30;

pub fn run(host: &Host, ty: ContainerType, allow_emulation: bool) -> Vec<Check> {
    let mut out = vec![distribution(host, ty), namespaces(host), cgroups(host)];
    out.push(kernel_feature(
        host,
        KernelFeature {
            module: "bridge",
            symbol: "br_dev_xmit",
        },
    ));
    out.push(kernel_feature(
        host,
        KernelFeature {
            module: "veth",
            symbol: "veth_xmit",
        },
    ));
    if ty == ContainerType::Kvm {
        out.push(virtualisation(host, allow_emulation));
    } else {
        out.push(nesting(host, ty));
    }
    out.push(disk_space(host));
    let client = match ty {
        ContainerType::Lxd => Some("lxc"),
        _ => None,
    };
    out.extend(crate::proxy::agreement::check_line(host, client));
    out
}

/// The LXD family's flavor of `ty`, where it is one.
pub fn lxd_flavor(ty: ContainerType) -> Option<crate::runtime::lxd_family::Flavor> {
    match ty {
        ContainerType::Lxd => Some(crate::runtime::lxd_family::LXD),
        ContainerType::Incus => Some(crate::runtime::lxd_family::INCUS),
        _ => None,
    }
}

/// Ask, all at once, what the lines of `check <ty>` read by running
/// commands: the runtime and its bridge, the interfaces and the firewall,
/// the proxies of apt, snap and the runtime, the storage pool (its free
/// space only where it exists, after it). The lines
/// then find the answers there, in their own order: a preflight takes as
/// long as its slowest read, each still bounded by the runtime timeout.
pub fn prefetch(host: &Host, ty: ContainerType) {
    let flavor = lxd_flavor(ty);
    let runtime = flavor.map(|f| lxd_family::Runtime::new(f, host.runtime_timeout()));
    let ask = |path: &'static str| {
        move |host: &Host| {
            if let Some(runtime) = runtime {
                let path = path.replace("{pool}", lxd_family::POOL);
                drop(host.query_installed(&runtime.query(&path)));
            }
        }
    };
    let pool = ask("/1.0/storage-pools/{pool}");
    host.prefetch(&[
        &|host: &Host| {
            if let Some(runtime) = runtime {
                drop(lxd_family::probe_bridge(host, runtime));
            }
        },
        &|host: &Host| drop(readiness::Facts::read(host)),
        &|host: &Host| drop(crate::proxy::agreement::apt(host)),
        &|host: &Host| drop(crate::proxy::agreement::snap(host)),
        &|host: &Host| {
            if let Some(flavor) = flavor {
                drop(crate::proxy::agreement::runtime(host, flavor.client));
            }
        },
        &pool,
    ]);
}

/// The same data-path checks as `setup`'s readiness, before setup: what is
/// not there yet (setup makes it) warns; what would cut guests off fails.
/// `ipv6`: bridge-ipv6 is set, so the bridge's IPv6 data path is checked too.
pub fn data_path(host: &Host, ty: ContainerType, ipv6: bool) -> anyhow::Result<Vec<Check>> {
    let (runtime, bridge) = match ty {
        ContainerType::Lxd => lxd_runtime(host, lxd_family::LXD)?,
        ContainerType::Incus => lxd_runtime(host, lxd_family::INCUS)?,
        ContainerType::Lxc => {
            let answers = host
                .query_installed(&CommandLine::new("lxc-ls").arg("--version"))
                .ok()
                .flatten()
                .is_some_and(|o| o.success());
            let runtime = if answers {
                check("runtime", Verdict::Pass, "the LXC tools answer", "")
            } else {
                check(
                    "runtime",
                    Verdict::Warn,
                    "the LXC tools are not installed",
                    "`container-init setup lxc` installs them",
                )
            };
            let name = crate::runtime::lxc::bridge(host).unwrap_or_else(|_| "lxcbr0".into());
            // lxc-net always masquerades its bridge's network.
            (runtime, Bridge::new(&name, true))
        }
        ContainerType::Kvm => kvm_runtime(host),
    };
    let bridge = if ipv6 {
        let nat = bridge.nat;
        bridge.with_ipv6(nat)
    } else {
        bridge
    };
    let mut out = vec![runtime];
    out.extend(readiness::check_bridge(host, &bridge, Stage::Preflight));
    Ok(out)
}

/// Whether libvirt answers, and the bridge of its `default` network
/// (libvirt's own `virbr0` with NAT where there is none yet: what setup
/// defines).
fn kvm_runtime(host: &Host) -> (Check, Bridge) {
    let planned = Bridge::new(crate::runtime::kvm::LIBVIRT_BRIDGE, true);
    match crate::runtime::kvm::network_bridge(host) {
        Ok(Some(found)) => (
            check("runtime", Verdict::Pass, "libvirt answers", ""),
            Bridge::new(&found.name, found.nat),
        ),
        Ok(None) => (
            check(
                "runtime",
                Verdict::Pass,
                "libvirt answers; it has no default network yet",
                "",
            ),
            planned,
        ),
        Err(err) => (
            check(
                "runtime",
                Verdict::Warn,
                format!("libvirt does not answer: {err}"),
                "`container-init setup kvm` installs and starts it",
            ),
            planned,
        ),
    }
}

/// Whether LXD (or Incus) answers, and its bridge's NAT setting (on unless
/// it says off): setup's own probe, so in the runtime environment and under
/// the runtime timeout. A runtime that does not answer in time is 75, as in
/// setup: a preflight must not hang on a hung daemon either.
fn lxd_runtime(host: &Host, flavor: Flavor) -> anyhow::Result<(Check, Bridge)> {
    let bridge = flavor.bridge;
    let name = flavor.name;
    let runtime = lxd_family::Runtime::new(flavor, host.runtime_timeout());
    let probe = match lxd_family::probe_bridge(host, runtime) {
        Ok(probe) => probe,
        Err(err) if stops_the_run(&err) => return Err(err),
        Err(err) => BridgeProbe::NoAnswer(crate::host::Output {
            code: None,
            stdout: String::new(),
            stderr: err.to_string(),
        }),
    };
    let runtime = match &probe {
        BridgeProbe::Found(_) => check("runtime", Verdict::Pass, format!("{name} answers"), ""),
        BridgeProbe::Missing => check(
            "runtime",
            Verdict::Pass,
            format!("{name} answers; it has no {bridge} yet"),
            "",
        ),
        BridgeProbe::NoAnswer(out) => check(
            "runtime",
            Verdict::Warn,
            format!("{name} does not answer: {}", out.tail()),
            format!("`container-init setup {}` starts it", flavor.steps),
        ),
        BridgeProbe::NotInstalled => check(
            "runtime",
            Verdict::Warn,
            format!("{name} is not installed"),
            format!("`container-init setup {}` installs it", flavor.steps),
        ),
    };
    Ok((runtime, Bridge::new(bridge, probe.nat().unwrap_or(true))))
}

/// An error that ends `check` as it ends `setup`: a runtime past its
/// timeout (75), a signal.
fn stops_the_run(err: &anyhow::Error) -> bool {
    crate::signals::received().is_some() || crate::exit::exit_for(err) == crate::exit::Exit::TempFail
}

/// The distribution, and a package of `ty` for its release (Incus has
/// none before Debian 12 and Ubuntu 24.04).
fn distribution(host: &Host, ty: ContainerType) -> Check {
    match Detected::on(host, ty, Init::detect(host)) {
        Ok(Detected { os, .. }) => check(
            "distribution",
            Verdict::Pass,
            format!("{} is supported", os.pretty_name),
            "",
        ),
        Err(err) => check(
            "distribution",
            Verdict::Fail,
            err.to_string(),
            "use Debian 12 or later, or Ubuntu (24.04 or later for Incus)",
        ),
    }
}

fn namespaces(host: &Host) -> Check {
    let missing: Vec<&str> = ["mnt", "uts", "ipc", "pid", "net", "user"]
        .into_iter()
        .filter(|ns| !host.exists(&format!("/proc/self/ns/{ns}")))
        .collect();
    if missing.is_empty() {
        check(
            "namespaces",
            Verdict::Pass,
            "mnt, uts, ipc, pid, net and user namespaces available",
            "",
        )
    } else {
        check(
            "namespaces",
            Verdict::Fail,
            format!("missing namespaces: {}", missing.join(", ")),
            "use a kernel built with CONFIG_NAMESPACES and the missing CONFIG_*_NS options",
        )
    }
}

fn cgroups(host: &Host) -> Check {
    if host.exists("/sys/fs/cgroup/cgroup.controllers") {
        check("cgroups", Verdict::Pass, "cgroup v2 is mounted", "")
    } else if host.exists("/proc/cgroups") && host.exists("/sys/fs/cgroup") {
        check("cgroups", Verdict::Pass, "cgroup v1 is mounted", "")
    } else {
        check(
            "cgroups",
            Verdict::Fail,
            "no cgroup file system under /sys/fs/cgroup",
            "mount cgroup2 on /sys/fs/cgroup",
        )
    }
}

/// A kernel feature a container bridge needs: its module, and a function of
/// that module the kernel's symbol table lists once it is built in or loaded.
struct KernelFeature {
    module: &'static str,
    symbol: &'static str,
}

/// A kernel feature is there when its module is loaded, built in, or on disk.
fn kernel_feature(host: &Host, feature: KernelFeature) -> Check {
    let KernelFeature { module, symbol } = feature;
    let fix = format!("load it with `modprobe {module}`");
    let release = kernel::release(host);
    let config = kernel::build_config(host, &release);
    let configured = config
        .as_deref()
        .and_then(|c| kernel::configured(c, &module.to_ascii_uppercase()));
    if kernel::is_loaded(host, module) {
        check(
            module,
            Verdict::Pass,
            format!("{module} is loaded or built in"),
            "",
        )
    } else if kernel::module_listed(host, &release, module).is_some() {
        check(
            module,
            Verdict::Pass,
            format!("{module} is available as a module"),
            "",
        )
    } else if configured == Some(true) {
        check(
            module,
            Verdict::Pass,
            format!("the kernel is built with {module}"),
            "",
        )
    } else if kernel::has_symbol(host, symbol) {
        check(
            module,
            Verdict::Pass,
            format!("{module} is built into the running kernel"),
            "",
        )
    } else if configured == Some(false) || config.is_some() {
        check(
            module,
            Verdict::Fail,
            format!("the kernel is built without {module}"),
            fix,
        )
    } else {
        // Custom kernels (CI microVMs) often ship neither modules nor config.
        check(
            module,
            Verdict::Warn,
            format!(
                "cannot tell whether the kernel has {module}: not loaded, no module list or config for {release}"
            ),
            fix,
        )
    }
}

fn virtualisation(host: &Host, allow_emulation: bool) -> Check {
    match Virtualisation::probe(host) {
        Ok(v) if v.present() => check("virtualisation", Verdict::Pass, v.describe(), ""),
        // What `setup kvm --allow-emulation` accepts, `check` with it only warns about.
        Ok(v) if allow_emulation => check(
            "virtualisation",
            Verdict::Warn,
            format!(
                "no hardware virtualisation ({}); --allow-emulation: guests will be slow",
                v.describe()
            ),
            "enable VT-x/AMD-V (or nested virtualisation for a VM) for guests at full speed",
        ),
        Ok(v) => check(
            "virtualisation",
            Verdict::Fail,
            format!("no hardware virtualisation ({})", v.describe()),
            "enable VT-x/AMD-V (or nested virtualisation for a VM); `setup kvm --allow-emulation` runs slow guests without it",
        ),
        Err(err) => check("virtualisation", Verdict::Fail, err.to_string(), "mount /proc"),
    }
}

/// The container a host itself runs in, if it is one; `Err` names what
/// could not be read (init's environment is root-only).
fn container_kind(host: &Host) -> Result<Option<String>, String> {
    if let Some(kind) = host.read_optional("/run/systemd/container").ok().flatten() {
        return Ok(Some(String::from_utf8_lossy(&kind).trim().to_string()));
    }
    if host.exists("/.dockerenv") {
        return Ok(Some("docker".to_string()));
    }
    match host.read_optional("/proc/1/environ") {
        Ok(Some(env)) => Ok(env
            .split(|b| *b == 0)
            .find_map(|kv| kv.strip_prefix(b"container="))
            .map(|kind| String::from_utf8_lossy(kind).into_owned())),
        Ok(None) => Ok(None),
        Err(err) if crate::exit::exit_for(&err) == crate::exit::Exit::NoPerm => {
            Err("cannot read /proc/1/environ without root".to_string())
        }
        Err(_) => Ok(None),
    }
}

fn nesting(host: &Host, ty: ContainerType) -> Check {
    match container_kind(host) {
        Err(why) => check(
            "nesting",
            Verdict::Warn,
            format!("{why}: cannot tell whether this host is itself a container"),
            "run check as root to read it",
        ),
        Ok(None) => check("nesting", Verdict::Pass, "not running inside a container", ""),
        Ok(Some(kind)) => check(
            "nesting",
            Verdict::Warn,
            format!(
                "this host is itself a container ({kind}); {ty} containers inside it need nesting allowed"
            ),
            "on the outer host, allow nesting (LXD: security.nesting=true) or use a VM",
        ),
    }
}

/// Every runtime keeps its images and containers under /var/lib.
fn disk_space(host: &Host) -> Check {
    let dir = "/var/lib";
    let Some(free) = host.free_bytes(dir) else {
        return check(
            "disk-space",
            Verdict::Warn,
            format!("cannot tell the free space of {dir}"),
            "",
        );
    };
    let gib = free as f64 / (1u64 << 30) as f64;
    let reason = format!("{gib:.1} GiB free for {dir}");
    if free < FAIL_BYTES {
        check(
            "disk-space",
            Verdict::Fail,
            reason,
            "free at least 1 GiB (5 GiB for a few containers)",
        )
    } else if free < WARN_BYTES {
        check(
            "disk-space",
            Verdict::Warn,
            reason,
            "free 5 GiB or more for more than a few containers",
        )
    } else {
        check("disk-space", Verdict::Pass, reason, "")
    }
}

/// Where the runtime comes from snap and the manager config asks for a
/// channel: what `setup` would do with the installed snap. Nothing is asked
/// for (and no command run) elsewhere.
pub fn lxd_snap(
    host: &Host,
    ty: ContainerType,
    wanted_channel: impl FnOnce() -> anyhow::Result<Option<Channel>>,
) -> anyhow::Result<Option<Check>> {
    let Ok(Detected { install, .. }) = Detected::on(host, ty, Init::detect(host)) else {
        return Ok(None);
    };
    let Install::Snap { name } = install else {
        return Ok(None);
    };
    let Some(wanted) = wanted_channel()? else {
        return Ok(None);
    };
    let tracking = match packages::snap_tracking(host, name) {
        Ok(tracking) => tracking,
        Err(err) => {
            return Ok(Some(check(
                "lxd-snap",
                Verdict::Warn,
                format!("cannot tell which channel snap {name} tracks: {err}"),
                "install snapd",
            )));
        }
    };
    let Some(tracking) = tracking else {
        return Ok(Some(check(
            "lxd-snap",
            Verdict::Pass,
            format!("snap {name} is not installed; setup installs it from {wanted}"),
            "",
        )));
    };
    Ok(Some(match Channel::decide(&tracking, &wanted) {
        Move::Stay => check(
            "lxd-snap",
            Verdict::Pass,
            format!("snap {name} tracks {tracking}, the channel asked for"),
            "",
        ),
        Move::Upgrade => check(
            "lxd-snap",
            Verdict::Pass,
            format!(
                "setup upgrades snap {name} from {tracking} to {wanted}; the refresh restarts the {name} daemon"
            ),
            "",
        ),
        Move::Refused(refusal) => check("lxd-snap", Verdict::Warn, refusal.reason(name), refusal.fix()),
    }))
}
