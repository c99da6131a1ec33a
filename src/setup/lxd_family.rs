//! The LXD family: LXD and Incus share their REST API and client shape
//! (`lxc query` / `incus query`), so one code path converges both: the daemon
//! up and ready, the bridge on a free private /24, a `default` storage pool,
//! and the `default` profile using both. What differs between them (names,
//! how the daemon starts) is the [`Flavor`] table; nothing else knows which
//! one it drives. Each part is read first and only the keys that differ are
//! changed, so an operator's own keys (a disk `size`, a NIC's
//! `boot.priority`) stay.
//!
//! Every client and daemon command runs in the runtime environment (the
//! system's daemon, whatever the caller exports) and under the runtime
//! timeout: a hung daemon is a 75, never a hang.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::time::Duration;

use serde::Deserialize;

use crate::exit::{Exit, coded};
use crate::host::{CommandLine, Host, Output, is_not_installed};
use crate::manager_config::ManagerConfig;
use crate::net::{BridgeAddress, Ipv4Net};
use crate::report::{Outcome, Status};

use super::distro::Distro;
use super::service::Init;
use super::subnet;

pub const POOL: &str = "default";
const PROFILE: &str = "default";
/// What waitready may take beyond its own `--timeout`, before the runner
/// stops it.
const WAIT_GRACE: Duration = Duration::from_secs(5);

/// How a daemon of the family starts where systemd does not run the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SysvStart {
    /// The init script's own start line without its `ulimit -n` (Debian's
    /// /etc/init.d/lxd raises it past what many CI VMs and containers allow
    /// and then fails), with a pid file of ours.
    Daemon {
        program: &'static str,
        pid_file: &'static str,
        group: &'static str,
    },
    /// The init script through service(8); a prlimit warning it prints is
    /// harmless.
    InitScript(&'static str),
}

/// Everything that differs between LXD and Incus.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flavor {
    /// The name in messages.
    pub name: &'static str,
    /// The prefix of the step names (`lxd-daemon`, `incus-daemon`).
    pub steps: &'static str,
    pub client: &'static str,
    /// The command that waits for the daemon's socket.
    pub waitready: &'static [&'static str],
    pub bridge: &'static str,
    /// The group whose members may use the client without root.
    pub admin_group: &'static str,
    pub systemd_units: &'static [&'static str],
    pub sysv: SysvStart,
    /// Where it comes from a snap on Ubuntu, its name.
    pub ubuntu_snap: Option<&'static str>,
    pub log_file: &'static str,
}

pub const LXD: Flavor = Flavor {
    name: "LXD",
    steps: "lxd",
    client: "lxc",
    waitready: &["lxd", "waitready"],
    bridge: "lxdbr0",
    admin_group: "lxd",
    systemd_units: &["lxd.socket", "lxd.service"],
    sysv: SysvStart::Daemon {
        program: "/usr/bin/lxd",
        pid_file: "/run/lxd.pid",
        group: "lxd",
    },
    ubuntu_snap: Some("lxd"),
    log_file: "/var/log/lxd/lxd.log",
};

pub const INCUS: Flavor = Flavor {
    name: "Incus",
    steps: "incus",
    client: "incus",
    waitready: &["incus", "admin", "waitready"],
    bridge: "incusbr0",
    admin_group: "incus-admin",
    systemd_units: &["incus.socket", "incus.service"],
    sysv: SysvStart::InitScript("incus"),
    ubuntu_snap: None,
    log_file: "/var/log/incus/incus.log",
};

impl Flavor {
    /// A step's name: `lxd-network`, `incus-network`.
    pub fn step(&self, what: &str) -> String {
        format!("{}-{what}", self.steps)
    }
}

/// One daemon of the family, its commands bounded by the runtime timeout.
#[derive(Debug, Clone, Copy)]
pub struct Runtime {
    pub flavor: Flavor,
    pub timeout: Duration,
}

impl Runtime {
    pub fn new(flavor: Flavor, timeout: Duration) -> Runtime {
        Runtime { flavor, timeout }
    }

    fn client(&self, args: &[&str]) -> CommandLine {
        CommandLine::new(self.flavor.client)
            .args(args.iter().copied())
            .time_limit(self.timeout, self.flavor.name)
            .on_runtime(self.flavor.name)
    }

    fn query(&self, path: &str) -> CommandLine {
        self.client(&["query", path])
    }

    fn bridge_query(&self) -> CommandLine {
        self.query(&format!("/1.0/networks/{}", self.flavor.bridge))
    }

    /// Wait for the daemon to answer on its socket, bounded twice: by its
    /// own `--timeout` and by the runner.
    fn waitready(&self) -> CommandLine {
        let (program, args) = self.flavor.waitready.split_first().expect("a command");
        CommandLine::new(program)
            .args(args.iter().copied())
            .arg(format!("--timeout={}", self.timeout.as_secs()))
            .time_limit(self.timeout + WAIT_GRACE, self.flavor.name)
            .on_runtime(self.flavor.name)
    }

    fn time_limited(&self, cmd: CommandLine) -> CommandLine {
        cmd.time_limit(self.timeout, self.flavor.name)
    }
}

/// Run a read-only client query. `None` in a dry run on a host where the
/// client is not installed yet: the plan then creates everything. A timeout
/// is never a plan: it is 75, in a dry run too.
fn ask(host: &Host, cmd: &CommandLine) -> anyhow::Result<Option<Output>> {
    match host.query_status(cmd) {
        Ok(out) => Ok(Some(out)),
        Err(err) if !host.applies() && is_not_installed(&err) => Ok(None),
        Err(err) => Err(err),
    }
}

/// The daemon said "not found" (rather than not answering at all).
fn not_found(out: &Output) -> bool {
    out.stderr.to_ascii_lowercase().contains("not found")
}

/// What a pid file says of the daemon it names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PidFile {
    Absent,
    /// The process is alive.
    Running(u32),
    /// Gone, or a zombie (`lxd shutdown` leaves one for a moment):
    /// `start-stop-daemon` would still take it for a running daemon.
    Stale(u32),
}

fn pid_file(host: &Host, absolute: &str) -> anyhow::Result<PidFile> {
    let Some(text) = host.read_optional(absolute)? else {
        return Ok(PidFile::Absent);
    };
    let Ok(pid) = String::from_utf8_lossy(&text).trim().parse::<u32>() else {
        return Ok(PidFile::Stale(0));
    };
    let stat = host.read_optional(&format!("/proc/{pid}/stat"))?;
    // /proc/PID/stat: "pid (comm) S ..."; the comm may hold spaces and
    // parentheses, so the state is the first field after the last ')'.
    let state = stat.as_deref().and_then(|b| {
        let text = String::from_utf8_lossy(b).into_owned();
        let after = text.rfind(')').map(|i| text[i + 1..].trim_start().to_string())?;
        after.chars().next()
    });
    Ok(match state {
        None | Some('Z' | 'X' | 'x') => PidFile::Stale(pid),
        Some(_) => PidFile::Running(pid),
    })
}

/// No `--oknodo`: its exit status (1: a daemon already runs) tells whether
/// this started one.
fn start_stop_daemon(program: &str, pid_file: &str, group: &str, log_file: &str) -> CommandLine {
    let name = program.rsplit('/').next().unwrap_or(program);
    CommandLine::new("start-stop-daemon")
        .args([
            "--start",
            "--quiet",
            "--background",
            "--make-pidfile",
            "--pidfile",
            pid_file,
            "--name",
            name,
            "--startas",
            program,
            "--",
            "--group",
            group,
        ])
        .arg(format!("--logfile={log_file}"))
        .runtime_env()
}

/// The daemon step. Its probe is the bridge query the network step needs
/// anyway, so a converged run asks the daemon once less; the answer is
/// handed on. A start counts only once the daemon answers on its socket.
pub fn daemon_step(
    host: &Host,
    runtime: Runtime,
    init: Init,
    distro: Distro,
) -> anyhow::Result<Outcome<Option<Output>>> {
    let flavor = runtime.flavor;
    let name = flavor.name;
    let out = ask(host, &runtime.bridge_query())?;
    match &out {
        Some(o) if o.success() || not_found(o) => {
            return Ok(Outcome::new(Status::Unchanged, format!("{name} answers")).with_value(out));
        }
        Some(o) => log::info!("{name} does not answer ({}); starting it", o.tail()),
        None => {}
    }
    let mut plan = Vec::new();
    let mut started = true;
    let start = match (distro, flavor.ubuntu_snap, init, flavor.sysv) {
        (Distro::Ubuntu, Some(snap), _, _) => {
            let start = CommandLine::new("snap")
                .args(["start", "--enable", snap])
                .runtime_env();
            plan.extend(host.run_all(&[runtime.time_limited(start.clone())])?);
            start
        }
        (_, _, Init::Systemd, _) => {
            let start = CommandLine::new("systemctl")
                .args(["enable", "--now"])
                .args(flavor.systemd_units.iter().copied())
                .runtime_env();
            plan.extend(host.run_all(&[runtime.time_limited(start.clone())])?);
            start
        }
        (_, _, Init::SysV, SysvStart::InitScript(script)) => {
            let start = CommandLine::new("service").args([script, "start"]).runtime_env();
            plan.extend(host.run_all(&[runtime.time_limited(start.clone())])?);
            start
        }
        (
            _,
            _,
            Init::SysV,
            SysvStart::Daemon {
                program,
                pid_file: pid_path,
                group,
            },
        ) => {
            let start = start_stop_daemon(program, pid_path, group, flavor.log_file);
            match pid_file(host, pid_path)? {
                PidFile::Stale(pid) => {
                    log::info!("{pid_path} names process {pid}, which is gone or a zombie; removing it");
                    plan.extend(host.remove_file(pid_path)?.plan(host));
                }
                PidFile::Running(pid) => log::info!("{name} runs as process {pid} but does not answer yet"),
                PidFile::Absent => {}
            }
            if host.applies() {
                let out = host.query_status(&runtime.time_limited(start.clone()))?;
                match out.code {
                    Some(0) => {}
                    // Nothing was done: a live daemon holds the pid file.
                    Some(1) => started = false,
                    _ => return Err(crate::host::command_failed(&start, &out)),
                }
            } else {
                plan.push(format!("run: {start}"));
            }
            start
        }
    };
    let wait = runtime.waitready();
    if host.applies() {
        let out = host.query_status(&wait)?;
        if !out.success() {
            return Err(coded(
                Exit::TempFail,
                format!(
                    "{name} did not answer on its socket within {}s of `{start}`: {}; see {}, or raise --runtime-timeout",
                    runtime.timeout.as_secs(),
                    out.tail(),
                    flavor.log_file
                ),
            ));
        }
    } else {
        plan.push(format!("run: {wait}"));
    }
    let outcome = if started {
        Outcome::new(
            Status::of_change(host.applies()),
            format!("started {name} (`{start}`); it answers"),
        )
    } else {
        Outcome::new(
            Status::Unchanged,
            format!("{name} was already starting; it answers now"),
        )
    };
    Ok(outcome.with_plan(plan).with_value(None))
}

#[derive(Debug, Deserialize)]
struct Network {
    #[serde(default)]
    config: BTreeMap<String, String>,
    #[serde(default)]
    managed: bool,
    #[serde(default, rename = "type")]
    kind: String,
}

fn parse<T: for<'de> Deserialize<'de>>(out: &Output, what: &str) -> anyhow::Result<T> {
    serde_json::from_str(&out.stdout).map_err(|e| {
        coded(
            Exit::Os,
            format!("the runtime's answer about {what} is not what LXD 5 or Incus 6 sends: {e}"),
        )
    })
}

/// What the manager config asks of the bridge, besides its address. With no
/// `lxc-default-mtu`, `mtu` is an uplink MTU below 1500, which the bridge follows.
fn wanted_bridge(config: &ManagerConfig, mtu: Option<u32>) -> BTreeMap<&'static str, String> {
    let mut wanted = BTreeMap::new();
    wanted.insert("ipv4.nat", config.enable_nat.unwrap_or(true).to_string());
    if let Some(mtu) = mtu {
        wanted.insert("bridge.mtu", mtu.to_string());
    }
    wanted
}

/// One key to change, with the value it had (`None`: unset) and the one it
/// gets (`None`: unset), for the plan and the report.
#[derive(Debug, Clone, PartialEq, Eq)]
struct KeyChange {
    key: String,
    old: Option<String>,
    new: Option<String>,
}

impl KeyChange {
    fn new(key: &str, old: Option<&String>, new: Option<String>) -> KeyChange {
        KeyChange {
            key: key.to_string(),
            old: old.cloned(),
            new,
        }
    }

    /// `key old -> new`, with `(unset)` for a missing side.
    fn describe(&self) -> String {
        let side = |v: &Option<String>| v.clone().unwrap_or_else(|| "(unset)".to_string());
        format!("{} {} -> {}", self.key, side(&self.old), side(&self.new))
    }
}

fn describe_all(changes: &[KeyChange]) -> String {
    changes
        .iter()
        .map(KeyChange::describe)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The subnet of a bridge address such as `10.147.2.1/24`.
fn address_subnet(address: &str) -> Option<Ipv4Net> {
    let (ip, prefix) = address.split_once('/')?;
    let ip: Ipv4Addr = ip.parse().ok()?;
    let prefix: u8 = prefix.parse().ok()?;
    if !(8..=30).contains(&prefix) {
        return None;
    }
    let mask = u32::MAX << (32 - prefix);
    Ipv4Net::new(Ipv4Addr::from(u32::from(ip) & mask), prefix).ok()
}

/// Whether every `start-end` of LXD's `ipv4.dhcp.ranges` lies in `subnet`.
fn ranges_fit(ranges: &str, subnet: Ipv4Net) -> bool {
    ranges
        .split(',')
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .all(|range| {
            let (start, end) = range.split_once('-').unwrap_or((range, range));
            [start, end]
                .iter()
                .all(|ip| ip.trim().parse::<Ipv4Addr>().is_ok_and(|ip| subnet.has_host(ip)))
        })
}

pub fn network_step(
    host: &Host,
    runtime: Runtime,
    config: &ManagerConfig,
    pinned: Option<BridgeAddress>,
    probed: Option<Output>,
) -> anyhow::Result<Outcome> {
    let flavor = runtime.flavor;
    let bridge = flavor.bridge;
    let probe = runtime.bridge_query();
    let out = match probed {
        Some(out) => Some(out),
        None => ask(host, &probe)?,
    };
    let wanted = wanted_bridge(config, crate::network::mtu::wanted(host, config.lxc_default_mtu)?);
    let out = match out {
        Some(out) if out.success() => out,
        other => {
            if let Some(out) = other.filter(|o| !not_found(o) && host.applies()) {
                return Err(crate::host::command_failed(&probe, &out));
            }
            let address = subnet::bridge_address(host, pinned, None)?;
            let mut create = runtime
                .client(&["network", "create", bridge])
                .arg(format!("ipv4.address={address}"));
            create = create.args(wanted.iter().map(|(k, v)| format!("{k}={v}")));
            create = create.arg("ipv6.address=none");
            let plan = host.run_all(&[create])?;
            let detail = format!("{bridge} {address} nat={} ipv6=none", wanted["ipv4.nat"]);
            return Ok(Outcome::new(Status::of_change(host.applies()), detail).with_plan(plan));
        }
    };
    let network: Network = parse(&out, bridge)?;
    if !network.managed || network.kind != "bridge" {
        return Err(coded(
            Exit::Unavailable,
            format!(
                "{bridge} exists but is not a bridge managed by {}; remove or rename it and run again",
                flavor.name
            ),
        ));
    }
    let current = &network.config;
    let mut changes: Vec<KeyChange> = Vec::new();
    for (key, value) in &wanted {
        if current.get(*key) != Some(value) {
            changes.push(KeyChange::new(key, current.get(*key), Some(value.clone())));
        }
    }
    let address = current.get("ipv4.address").cloned().unwrap_or_default();
    // An automatic address makes the daemon probe other hosts; pick one
    // here. A pinned one replaces whatever else is there.
    let automatic = matches!(address.as_str(), "" | "auto" | "none");
    let address = match pinned {
        Some(pinned) if address != pinned.to_string() || automatic => {
            let chosen = subnet::bridge_address(host, Some(pinned), address_subnet(&address))?.to_string();
            changes.push(KeyChange::new(
                "ipv4.address",
                current.get("ipv4.address"),
                Some(chosen.clone()),
            ));
            chosen
        }
        None if automatic => {
            let chosen = subnet::bridge_address(host, None, None)?.to_string();
            changes.push(KeyChange::new(
                "ipv4.address",
                current.get("ipv4.address"),
                Some(chosen.clone()),
            ));
            chosen
        }
        _ => address,
    };
    // IPv6 stays off unless someone configured a real address on purpose.
    if matches!(
        current.get("ipv6.address").map(String::as_str),
        None | Some("" | "auto")
    ) {
        changes.push(KeyChange::new(
            "ipv6.address",
            current.get("ipv6.address"),
            Some("none".into()),
        ));
    }
    // A range left from another subnet would have dnsmasq hand out
    // addresses the bridge cannot route; LXD's own default follows the
    // address.
    let mut unset = Vec::new();
    if let (Some(ranges), Some(net)) = (current.get("ipv4.dhcp.ranges"), address_subnet(&address))
        && !ranges_fit(ranges, net)
    {
        unset.push(KeyChange::new("ipv4.dhcp.ranges", Some(ranges), None));
    }
    let nat = wanted["ipv4.nat"].clone();
    if changes.is_empty() && unset.is_empty() {
        return Ok(Outcome::new(
            Status::Unchanged,
            format!("{bridge} {address} nat={nat}"),
        ));
    }
    let mut cmds: Vec<CommandLine> = unset
        .iter()
        .map(|c| runtime.client(&["network", "unset", bridge, &c.key]))
        .collect();
    if !changes.is_empty() {
        let pairs = changes
            .iter()
            .map(|c| format!("{}={}", c.key, c.new.as_deref().unwrap_or_default()));
        cmds.push(runtime.client(&["network", "set", bridge]).args(pairs));
    }
    let plan = host.run_all(&cmds)?;
    unset.extend(changes);
    Ok(Outcome::new(
        Status::of_change(host.applies()),
        format!("{bridge} {address}: {}", describe_all(&unset)),
    )
    .with_plan(plan))
}

pub fn storage_step(host: &Host, runtime: Runtime) -> anyhow::Result<Outcome> {
    let probe = runtime.query(&format!("/1.0/storage-pools/{POOL}"));
    match ask(host, &probe)? {
        Some(out) if out.success() => {
            return Ok(Outcome::new(Status::Unchanged, format!("pool {POOL}")));
        }
        Some(out) if !not_found(&out) && host.applies() => {
            return Err(crate::host::command_failed(&probe, &out));
        }
        _ => {}
    }
    // `dir` works on every file system, needs no extra package, and is the
    // only driver some hosts (no btrfs, lvm or zfs tools) have.
    let plan = host.run_all(&[runtime.client(&["storage", "create", POOL, "dir"])])?;
    Ok(Outcome::new(
        Status::of_change(host.applies()),
        format!("created pool {POOL} (dir)"),
    )
    .with_plan(plan))
}

#[derive(Debug, Deserialize)]
struct Profile {
    #[serde(default)]
    devices: BTreeMap<String, BTreeMap<String, String>>,
    #[serde(default)]
    used_by: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct Instance {
    #[serde(default)]
    status: String,
}

/// What one device of the profile must hold; every other key is the
/// operator's and stays.
struct WantedDevice {
    name: &'static str,
    kind: &'static str,
    keys: Vec<(&'static str, String)>,
    /// Keys that cannot stand beside the wanted ones (LXD refuses a NIC
    /// with both `network` and `nictype`/`parent`).
    conflicting: &'static [&'static str],
    /// Keys only given when the device is added.
    on_add: Vec<(&'static str, String)>,
}

fn wanted_devices(bridge: &str) -> [WantedDevice; 2] {
    [
        WantedDevice {
            name: "root",
            kind: "disk",
            keys: vec![("path", "/".into()), ("pool", POOL.into())],
            conflicting: &[],
            on_add: Vec::new(),
        },
        WantedDevice {
            name: "eth0",
            kind: "nic",
            keys: vec![("network", bridge.into())],
            conflicting: &["nictype", "parent"],
            on_add: vec![("name", "eth0".into())],
        },
    ]
}

/// The instances using the profile that run now: LXD cannot move their root
/// disk under them.
fn running_users(host: &Host, runtime: Runtime, used_by: &[String]) -> anyhow::Result<Vec<String>> {
    let mut running = Vec::new();
    for url in used_by {
        let path = url.split('?').next().unwrap_or(url);
        let Some(name) = path.strip_prefix("/1.0/instances/") else {
            continue;
        };
        let out = host.query(&runtime.query(url))?;
        if parse::<Instance>(&out, name)?.status == "Running" {
            running.push(name.to_string());
        }
    }
    Ok(running)
}

pub fn profile_step(host: &Host, runtime: Runtime) -> anyhow::Result<Outcome> {
    let flavor = runtime.flavor;
    let bridge = flavor.bridge;
    let out = host.query(&runtime.query(&format!("/1.0/profiles/{PROFILE}")));
    let profile = match out {
        Ok(out) => parse::<Profile>(&out, "the default profile")?,
        // In a dry run on a host where the daemon is not up yet, plan from nothing.
        Err(err) if !host.applies() && !is_timeout(&err) => Profile {
            devices: BTreeMap::new(),
            used_by: Vec::new(),
        },
        Err(err) => return Err(err),
    };
    let mut cmds = Vec::new();
    let mut did = Vec::new();
    for want in wanted_devices(bridge) {
        let Some(have) = profile.devices.get(want.name) else {
            let mut pairs: Vec<String> = want.keys.iter().map(|(k, v)| format!("{k}={v}")).collect();
            pairs.extend(want.on_add.iter().map(|(k, v)| format!("{k}={v}")));
            cmds.push(
                runtime
                    .client(&["profile", "device", "add", PROFILE, want.name, want.kind])
                    .args(pairs),
            );
            did.push(format!("added {}", want.name));
            continue;
        };
        let mut set: Vec<KeyChange> = Vec::new();
        if have.get("type").map(String::as_str) != Some(want.kind) {
            set.push(KeyChange::new("type", have.get("type"), Some(want.kind.into())));
        }
        for (key, value) in &want.keys {
            if have.get(*key) != Some(value) {
                set.push(KeyChange::new(key, have.get(*key), Some(value.clone())));
            }
        }
        if set.is_empty() {
            continue;
        }
        if want.name == "root" {
            let running = running_users(host, runtime, &profile.used_by)?;
            if !running.is_empty() {
                return Err(coded(
                    Exit::Unavailable,
                    format!(
                        "the {PROFILE} profile's root disk needs {}, but running instances use the profile ({}) and {} cannot move a running instance's root disk; stop them or give them their own profile, and run again",
                        describe_all(&set),
                        running.join(", "),
                        flavor.name
                    ),
                ));
            }
        }
        let unset: Vec<KeyChange> = want
            .conflicting
            .iter()
            .filter(|k| have.contains_key(**k))
            .map(|k| KeyChange::new(k, have.get(*k), None))
            .collect();
        for change in &unset {
            cmds.push(runtime.client(&["profile", "device", "unset", PROFILE, want.name, &change.key]));
        }
        let pairs = set
            .iter()
            .map(|c| format!("{}={}", c.key, c.new.as_deref().unwrap_or_default()));
        cmds.push(
            runtime
                .client(&["profile", "device", "set", PROFILE, want.name])
                .args(pairs),
        );
        let mut all = unset;
        all.extend(set);
        did.push(format!("{}: {}", want.name, describe_all(&all)));
    }
    if cmds.is_empty() {
        return Ok(Outcome::new(
            Status::Unchanged,
            format!("root on {POOL}, eth0 on {bridge}"),
        ));
    }
    let plan = host.run_all(&cmds)?;
    Ok(Outcome::new(Status::of_change(host.applies()), did.join("; ")).with_plan(plan))
}

fn is_timeout(err: &anyhow::Error) -> bool {
    crate::exit::exit_for(err) == Exit::TempFail
}

#[derive(Debug, Deserialize)]
struct NetworkState {
    #[serde(default)]
    state: String,
}

/// Read-only: the API answers and the daemon sees its bridge up. The one
/// readiness probe of the family, by bridge name, where a data-path check of
/// that bridge plugs in.
pub fn readiness_step(host: &Host, runtime: Runtime) -> anyhow::Result<Outcome> {
    let flavor = runtime.flavor;
    let bridge = flavor.bridge;
    let out = host.query(&runtime.query(&format!("/1.0/networks/{bridge}/state")))?;
    let state: NetworkState = parse(&out, "the bridge's state")?;
    if state.state != "up" {
        return Err(coded(
            Exit::Os,
            format!(
                "{} answers but reports {bridge} as {:?}; see {}",
                flavor.name, state.state, flavor.log_file
            ),
        ));
    }
    Ok(Outcome::new(
        Status::Unchanged,
        format!("{} answers; {bridge} up", flavor.name),
    ))
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)]
mod tests {
    use super::*;

    #[test]
    fn a_dhcp_range_fits_only_inside_the_bridge_subnet() {
        let net = address_subnet("10.147.2.1/24").unwrap();
        assert_eq!(net.to_string(), "10.147.2.0/24");
        assert!(ranges_fit("10.147.2.2-10.147.2.254", net));
        assert!(ranges_fit("10.147.2.2-10.147.2.9,10.147.2.20-10.147.2.30", net));
        assert!(!ranges_fit("10.20.30.2-10.20.30.254", net));
        assert!(!ranges_fit("10.147.2.2-10.147.3.9", net));
        assert!(!ranges_fit("10.147.2.0-10.147.2.9", net), "the network address");
        assert!(!ranges_fit("nonsense", net));
        assert!(address_subnet("none").is_none());
    }

    #[test]
    fn a_change_names_the_old_and_new_value() {
        let old = "other".to_string();
        let change = KeyChange::new("pool", Some(&old), Some("default".into()));
        assert_eq!(change.describe(), "pool other -> default");
        assert_eq!(
            KeyChange::new("ipv4.dhcp.ranges", Some(&old), None).describe(),
            "ipv4.dhcp.ranges other -> (unset)"
        );
    }

    #[test]
    fn a_zombie_or_a_gone_process_in_the_pid_file_is_stale() {
        let dir = tempfile::tempdir().unwrap();
        let host = Host::new(dir.path(), crate::host::Mode::Apply);
        let write = |rel: &str, text: &str| {
            let p = dir.path().join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        };
        assert_eq!(pid_file(&host, "/run/lxd.pid").unwrap(), PidFile::Absent);
        write("run/lxd.pid", "4242\n");
        assert_eq!(pid_file(&host, "/run/lxd.pid").unwrap(), PidFile::Stale(4242));
        write("proc/4242/stat", "4242 (lxd) Z 1 4242 4242 0 -1\n");
        assert_eq!(pid_file(&host, "/run/lxd.pid").unwrap(), PidFile::Stale(4242));
        write("proc/4242/stat", "4242 (l) x) S 1 4242 4242 0 -1\n");
        assert_eq!(pid_file(&host, "/run/lxd.pid").unwrap(), PidFile::Running(4242));
    }
}
