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

use crate::config::manager_config::ManagerConfig;
use crate::exit::{Exit, coded};
use crate::host::{CommandLine, Host, Output, is_not_installed};
use crate::network::addr::{BridgeAddress, Ipv4Net};
use crate::network::ipv6::BridgeIpv6;
use crate::record::{self, Change};
use crate::report::{Outcome, Status};

use super::distro::Distro;
use super::service::{self, Init};
use crate::network::subnet;

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
    /// The flavor the record names `lxd` or `incus`.
    pub fn named(runtime: &str) -> Option<Flavor> {
        [LXD, INCUS].into_iter().find(|f| f.steps == runtime)
    }

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

    pub fn client(&self, args: &[&str]) -> CommandLine {
        CommandLine::new(self.flavor.client)
            .args(args.iter().copied())
            .time_limit(self.timeout, self.flavor.name)
            .on_runtime(self.flavor.name)
    }

    pub fn query(&self, path: &str) -> CommandLine {
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

    /// The record's entry for an object this run creates.
    pub(super) fn object(&self, object: &str, name: &str) -> Change {
        Change::RuntimeObject {
            runtime: self.flavor.steps.to_string(),
            object: object.to_string(),
            name: name.to_string(),
        }
    }
}

/// Run a read-only client query. `None` in a dry run on a host where the
/// client is not installed yet: the plan then creates everything. A timeout
/// is never a plan: it is 75, in a dry run too.
pub fn ask(host: &Host, cmd: &CommandLine) -> anyhow::Result<Option<Output>> {
    match host.query_status(cmd) {
        Ok(out) => Ok(Some(out)),
        Err(err) if !host.applies() && is_not_installed(&err) => Ok(None),
        Err(err) => Err(err),
    }
}

/// Whether the daemon lists `name` in the collection at `collection`
/// (`/1.0/networks`): how a failed query of one object is told apart, "not
/// there" from "no answer", without reading the client's English. `None`:
/// the daemon does not answer (or the client is not installed, in a dry run).
pub fn listed(host: &Host, runtime: Runtime, collection: &str, name: &str) -> anyhow::Result<Option<bool>> {
    let Some(out) = ask(host, &runtime.query(collection))? else {
        return Ok(None);
    };
    if !out.success() {
        return Ok(None);
    }
    // An empty collection: LXD prints `[]`, Incus 6.0 nothing at all (or `null`).
    let urls: Vec<String> = match out.stdout.trim() {
        "" | "null" => Vec::new(),
        _ => parse(&out, collection)?,
    };
    let wanted = format!("{collection}/{name}");
    Ok(Some(
        urls.iter()
            .any(|url| url.split('?').next() == Some(wanted.as_str())),
    ))
}

/// What the daemon says of its bridge: the one probe of it, for setup's
/// daemon and network steps and for `check`. Always in the runtime
/// environment and under the runtime timeout (75 past it).
#[derive(Debug, Clone)]
pub enum BridgeProbe {
    /// The client is not installed (a dry run, or `check` before setup).
    NotInstalled,
    /// The client ran, the daemon did not answer: the query's output.
    NoAnswer(Output),
    /// The daemon answers and has no network of the bridge's name.
    Missing,
    /// The daemon answers with the bridge: its query's output.
    Found(Output),
}

impl BridgeProbe {
    /// The daemon answered, with or without the bridge.
    pub fn answers(&self) -> bool {
        matches!(self, BridgeProbe::Missing | BridgeProbe::Found(_))
    }

    /// The bridge's NAT, as its config says (on unless it says off), where
    /// the daemon has it.
    pub fn nat(&self) -> Option<bool> {
        let BridgeProbe::Found(out) = self else {
            return None;
        };
        let network: Network = serde_json::from_str(&out.stdout).ok()?;
        Some(network.config.get("ipv4.nat").map(String::as_str) != Some("false"))
    }
}

/// Ask the daemon for its bridge; a failed query is told apart by listing.
pub fn probe_bridge(host: &Host, runtime: Runtime) -> anyhow::Result<BridgeProbe> {
    let Some(out) = host.query_installed(&runtime.bridge_query())? else {
        return Ok(BridgeProbe::NotInstalled);
    };
    if out.success() {
        return Ok(BridgeProbe::Found(out));
    }
    match listed(host, runtime, "/1.0/networks", runtime.flavor.bridge)? {
        Some(false) => Ok(BridgeProbe::Missing),
        // Listed, yet the query of it failed: not an answer to go on from.
        Some(true) | None => Ok(BridgeProbe::NoAnswer(out)),
    }
}

/// Ask, all at once, what the family's steps after the network step and the
/// data-path checks read of a host that is already set up: the pool, the
/// profile, the bridge's state, the interfaces and the firewall. On such a
/// host those steps then run no command of their own; where one changes
/// something, the answers are dropped and the steps after it ask again.
pub fn prefetch(host: &Host, runtime: Runtime) {
    let bridge = runtime.flavor.bridge;
    let ask = |path: String| move |host: &Host| drop(host.query_status(&runtime.query(&path)));
    let pool = ask(format!("/1.0/storage-pools/{POOL}"));
    let profile = ask(format!("/1.0/profiles/{PROFILE}"));
    let state = ask(format!("/1.0/networks/{bridge}/state"));
    host.prefetch(&[&pool, &profile, &state, &|host: &Host| {
        drop(crate::network::readiness::Facts::read(host))
    }]);
}

/// Whether a failed query of the object at `path` (`/1.0/storage-pools/x`)
/// means the daemon has no such object: it answers the list of the object's
/// collection, and the object is not in it. Told by that list rather than
/// by the words of the failed query's message.
pub fn absent(host: &Host, runtime: Runtime, path: &str) -> anyhow::Result<bool> {
    let Some((collection, name)) = path.split('?').next().unwrap_or(path).rsplit_once('/') else {
        return Ok(false);
    };
    Ok(listed(host, runtime, collection, name)? == Some(false))
}

/// What a pid file says of the daemon it names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PidFile {
    Absent,
    /// The process is alive.
    Running(u32),
    /// Gone, or a zombie (`lxd shutdown` leaves one for a moment):
    /// `start-stop-daemon` would still take it for a running daemon.
    Stale(u32),
}

pub fn pid_file(host: &Host, absolute: &str) -> anyhow::Result<PidFile> {
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
) -> anyhow::Result<Outcome<Option<BridgeProbe>>> {
    let flavor = runtime.flavor;
    let name = flavor.name;
    let probe = probe_bridge(host, runtime)?;
    match &probe {
        BridgeProbe::Found(_) | BridgeProbe::Missing => {
            return Ok(Outcome::new(Status::Unchanged, format!("{name} answers")).with_value(Some(probe)));
        }
        BridgeProbe::NoAnswer(o) => log::info!("{name} does not answer ({}); starting it", o.tail()),
        BridgeProbe::NotInstalled if host.applies() => {
            return Err(coded(
                Exit::Os,
                format!(
                    "cannot run `{}`: {} is not installed or not on PATH",
                    runtime.bridge_query(),
                    flavor.client
                ),
            ));
        }
        BridgeProbe::NotInstalled => {}
    }
    let mut plan = Vec::new();
    let mut started = true;
    let start = match (distro, flavor.ubuntu_snap, init, flavor.sysv) {
        (Distro::Ubuntu, Some(snap), _, _) => {
            let start = CommandLine::new("snap")
                .args(["start", "--enable", snap])
                .runtime_env();
            service::note_started(host, Init::SysV, &[&format!("snap {snap}")])?;
            plan.extend(host.run_all(&[runtime.time_limited(start.clone())])?);
            start
        }
        (_, _, Init::Systemd, _) => {
            let start = CommandLine::new("systemctl")
                .args(["enable", "--now"])
                .args(flavor.systemd_units.iter().copied())
                .runtime_env();
            service::note_started(host, Init::Systemd, flavor.systemd_units)?;
            plan.extend(host.run_all(&[runtime.time_limited(start.clone())])?);
            start
        }
        (_, _, Init::SysV, SysvStart::InitScript(script)) => {
            let start = CommandLine::new("service").args([script, "start"]).runtime_env();
            service::note_started(host, Init::SysV, &[script])?;
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
                service::note_started(host, Init::SysV, &[flavor.steps])?;
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

pub fn parse<T: for<'de> Deserialize<'de>>(out: &Output, what: &str) -> anyhow::Result<T> {
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
    ipv6: BridgeIpv6,
    probed: Option<BridgeProbe>,
) -> anyhow::Result<Outcome> {
    let flavor = runtime.flavor;
    let bridge = flavor.bridge;
    let nat = config.enable_nat.unwrap_or(true).to_string();
    let probed = match probed {
        Some(probed) => probed,
        None => probe_bridge(host, runtime)?,
    };
    let wanted = wanted_bridge(config, crate::network::mtu::wanted(host, config.lxc_default_mtu)?);
    let out = match probed {
        BridgeProbe::Found(out) => out,
        other => {
            if let (BridgeProbe::NoAnswer(out), true) = (&other, host.applies()) {
                return Err(crate::host::command_failed(&runtime.bridge_query(), out));
            }
            let address = subnet::bridge_address(host, pinned, None)?;
            let mut create = runtime
                .client(&["network", "create", bridge])
                .arg(format!("ipv4.address={address}"));
            create = create.args(wanted.iter().map(|(k, v)| format!("{k}={v}")));
            let v6 = match crate::network::ipv6::resolve(host, ipv6, bridge)? {
                Some(v6) => {
                    create = create
                        .arg(format!("ipv6.address={v6}"))
                        .arg(format!("ipv6.nat={nat}"));
                    v6.to_string()
                }
                None => {
                    create = create.arg("ipv6.address=none");
                    "none".to_string()
                }
            };
            record::note(host, runtime.object("network", bridge))?;
            let plan = host.run_all(&[create])?;
            let detail = format!("{bridge} {address} nat={} ipv6={v6}", wanted["ipv4.nat"]);
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
    let current_v6 = current.get("ipv6.address").map(String::as_str);
    let real_v6 = current_v6.is_some_and(|a| !matches!(a, "" | "auto" | "none"));
    match ipv6 {
        // IPv6 stays off unless someone configured a real address on purpose.
        BridgeIpv6::None => {
            if matches!(current_v6, None | Some("" | "auto")) {
                changes.push(KeyChange::new(
                    "ipv6.address",
                    current.get("ipv6.address"),
                    Some("none".into()),
                ));
            }
        }
        // `auto` keeps a real address the bridge has, its own or ours.
        BridgeIpv6::Auto if real_v6 => {}
        wanted_v6 => {
            let v6 = crate::network::ipv6::resolve(host, wanted_v6, bridge)?
                .expect("an address or auto")
                .to_string();
            if current_v6 != Some(v6.as_str()) {
                changes.push(KeyChange::new(
                    "ipv6.address",
                    current.get("ipv6.address"),
                    Some(v6),
                ));
            }
        }
    }
    if ipv6 != BridgeIpv6::None && current.get("ipv6.nat") != Some(&nat) {
        changes.push(KeyChange::new(
            "ipv6.nat",
            current.get("ipv6.nat"),
            Some(nat.clone()),
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
    unset.extend(changes);
    note_keys(host, runtime, &format!("network {bridge}"), &unset)?;
    let plan = host.run_all(&cmds)?;
    Ok(Outcome::new(
        Status::of_change(host.applies()),
        format!("{bridge} {address}: {}", describe_all(&unset)),
    )
    .with_plan(plan))
}

/// The pool `default`, as `storage-driver` and its siblings ask (storage.rs).
pub fn storage_step(
    host: &Host,
    runtime: Runtime,
    request: &super::storage::Request,
) -> anyhow::Result<Outcome> {
    super::storage::pool_step(host, runtime, request)
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
    let mut added = Vec::new();
    let mut keyed = Vec::new();
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
            added.push(runtime.object("profile-device", &format!("{PROFILE} {}", want.name)));
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
        keyed.push((format!("profile-device {PROFILE} {}", want.name), all));
    }
    if cmds.is_empty() {
        return Ok(Outcome::new(
            Status::Unchanged,
            format!("root on {POOL}, eth0 on {bridge}"),
        ));
    }
    for object in added {
        record::note(host, object)?;
    }
    for (object, keys) in &keyed {
        note_keys(host, runtime, object, keys)?;
    }
    let plan = host.run_all(&cmds)?;
    Ok(Outcome::new(Status::of_change(host.applies()), did.join("; ")).with_plan(plan))
}

/// Note each key of `object` that is about to change, with its old value.
fn note_keys(host: &Host, runtime: Runtime, object: &str, changes: &[KeyChange]) -> anyhow::Result<()> {
    for change in changes {
        record::note(
            host,
            Change::RuntimeKey {
                runtime: runtime.flavor.steps.to_string(),
                object: object.to_string(),
                key: change.key.clone(),
                before: change.old.clone(),
                after: change.new.clone(),
            },
        )?;
    }
    Ok(())
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
#[allow(clippy::disallowed_methods, clippy::disallowed_types)]
mod tests {
    use std::sync::Arc;

    use serde_json::json;

    use super::*;
    use crate::exit::exit_for;
    use crate::host::{Answer, FakeRunner, Mode};

    /// A host whose commands the table answers; files under an empty root.
    fn fake(runner: FakeRunner) -> (tempfile::TempDir, Arc<FakeRunner>, Host) {
        let dir = tempfile::tempdir().unwrap();
        let runner = Arc::new(runner);
        let host = Host::new(dir.path(), Mode::Apply).with_runner(runner.clone());
        (dir, runner, host)
    }

    fn lxd() -> Runtime {
        Runtime::new(LXD, Duration::from_secs(120))
    }

    const ADDRS: &str = r#"[{"ifname":"lo","addr_info":[{"family":"inet","local":"127.0.0.1","prefixlen":8}]},
        {"ifname":"eth0","addr_info":[{"family":"inet","local":"10.147.0.5","prefixlen":24}]}]"#;
    const ROUTES: &str = r#"[{"dst":"default","gateway":"10.147.0.1","dev":"eth0"},
        {"dst":"10.147.1.0/24","dev":"tun0"}]"#;

    fn json(value: serde_json::Value) -> Answer {
        Answer::ok(&value.to_string())
    }

    fn converged(profile: serde_json::Value, network: serde_json::Value) -> FakeRunner {
        FakeRunner::new()
            .answer("lxc query /1.0/networks/lxdbr0", json(network))
            .answer(
                "lxc query /1.0/storage-pools/default",
                json(json!({"name": "default", "driver": "dir"})),
            )
            .answer("lxc query /1.0/profiles/default", json(profile))
            .answer(
                "lxc query /1.0/networks/lxdbr0/state",
                json(json!({"state": "up"})),
            )
            .answer("ip -j addr show", Answer::ok(ADDRS))
            .answer("ip -j -4 route show table all", Answer::ok(ROUTES))
    }

    fn bridge(config: serde_json::Value) -> serde_json::Value {
        json!({"config": config, "managed": true, "type": "bridge"})
    }

    fn fitting_profile() -> serde_json::Value {
        json!({"devices": {
            "root": {"type": "disk", "path": "/", "pool": "default"},
            "eth0": {"type": "nic", "network": "lxdbr0", "name": "eth0"}
        }})
    }

    fn nat_bridge() -> serde_json::Value {
        bridge(json!({"ipv4.address": "10.147.2.1/24", "ipv4.nat": "true", "ipv6.address": "none"}))
    }

    /// The family's steps of a setup, in order, as setup strings them.
    fn steps(host: &Host) -> anyhow::Result<Vec<Outcome>> {
        let config = ManagerConfig::default();
        let probed = daemon_step(host, lxd(), Init::SysV, Distro::Debian)?;
        let daemon = Outcome::new(probed.status, probed.detail.clone());
        Ok(vec![
            daemon,
            network_step(host, lxd(), &config, None, BridgeIpv6::None, probed.value)?,
            storage_step(host, lxd(), &crate::runtime::storage::Request::default())?,
            profile_step(host, lxd())?,
            readiness_step(host, lxd())?,
        ])
    }

    #[test]
    fn a_converged_daemon_is_read_once_per_object_and_nothing_changes() {
        let (_root, runner, host) = fake(converged(fitting_profile(), nat_bridge()));
        let outcomes = steps(&host).unwrap();
        assert!(
            outcomes.iter().all(|o| o.status == Status::Unchanged),
            "{outcomes:?}"
        );
        assert_eq!(
            runner.ran(),
            [
                "lxc query /1.0/networks/lxdbr0",
                "lxc query /1.0/storage-pools/default",
                "lxc query /1.0/profiles/default",
                "lxc query /1.0/networks/lxdbr0/state",
            ]
        );
        assert_eq!(outcomes[1].detail, "lxdbr0 10.147.2.1/24 nat=true");
    }

    #[test]
    fn a_missing_bridge_is_told_from_a_silent_daemon_by_the_list_not_by_its_words() {
        // The daemon's message says nothing English about "not found": the
        // list of networks alone says the bridge is not there.
        let runner = FakeRunner::new()
            .answer("lxc query /1.0/networks/lxdbr0", Answer::fails(1, "Error: 404"))
            .answer(
                "lxc query /1.0/networks",
                json(json!(["/1.0/networks/eth0", "/1.0/networks/lo"])),
            )
            .answer("ip -j addr show", Answer::ok(ADDRS))
            .answer("ip -j -4 route show table all", Answer::ok(ROUTES))
            .answer(
                "lxc network create lxdbr0 ipv4.address=10.147.2.1/24 ipv4.nat=true ipv6.address=none",
                Answer::ok(""),
            );
        let (_root, runner, host) = fake(runner);
        let probe = probe_bridge(&host, lxd()).unwrap();
        assert!(matches!(probe, BridgeProbe::Missing), "{probe:?}");
        let out = network_step(
            &host,
            lxd(),
            &ManagerConfig::default(),
            None,
            BridgeIpv6::None,
            Some(probe),
        )
        .unwrap();
        assert_eq!(out.status, Status::Changed);
        assert_eq!(out.detail, "lxdbr0 10.147.2.1/24 nat=true ipv6=none");
        assert_eq!(
            runner.ran(),
            [
                "lxc query /1.0/networks/lxdbr0",
                "lxc query /1.0/networks",
                "ip -j addr show",
                "ip -j -4 route show table all",
                "lxc network create lxdbr0 ipv4.address=10.147.2.1/24 ipv4.nat=true ipv6.address=none",
            ]
        );
    }

    #[test]
    fn a_daemon_that_does_not_answer_its_list_either_is_started() {
        let runner = FakeRunner::new()
            .answer(
                "lxc query /1.0/networks/lxdbr0",
                Answer::fails(1, "Error: Network not found"),
            )
            .answer(
                "lxc query /1.0/networks",
                Answer::fails(1, "dial unix: no such file"),
            );
        let (dir, runner, _) = fake(runner);
        let host = Host::new(dir.path(), Mode::DryRun).with_runner(runner.clone());
        let out = daemon_step(&host, lxd(), Init::SysV, Distro::Debian).unwrap();
        assert_eq!(out.status, Status::WouldChange, "{out:?}");
        assert!(
            out.plan
                .iter()
                .any(|p| p.starts_with("run: start-stop-daemon --start")),
            "{out:?}"
        );
        assert!(
            out.plan.iter().any(|p| p == "run: lxd waitready --timeout=120"),
            "{out:?}"
        );
    }

    #[test]
    fn a_hung_daemon_is_75_naming_it_and_its_query() {
        let runner = FakeRunner::new().answer("lxc query /1.0/networks/lxdbr0", Answer::Hangs);
        let (_root, _runner, host) = fake(runner);
        let err = probe_bridge(&host, lxd()).unwrap_err();
        assert_eq!(exit_for(&err), Exit::TempFail);
        assert!(
            err.to_string()
                .starts_with("LXD did not answer within 120s: `lxc query /1.0/networks/lxdbr0`"),
            "{err}"
        );
    }

    #[test]
    fn profile_corrections_set_only_the_keys_that_differ_and_keep_the_operators() {
        let profile = json!({"devices": {
            "root": {"type": "disk", "path": "/", "pool": "other", "size": "5GiB"},
            "eth0": {"type": "nic", "nictype": "bridged", "parent": "br-old", "name": "eth0", "boot.priority": "10"}
        }});
        let runner = converged(profile, nat_bridge())
            .answer("lxc profile device set default root pool=default", Answer::ok(""))
            .answer("lxc profile device unset default eth0 nictype", Answer::ok(""))
            .answer("lxc profile device unset default eth0 parent", Answer::ok(""))
            .answer(
                "lxc profile device set default eth0 network=lxdbr0",
                Answer::ok(""),
            );
        let (_root, runner, host) = fake(runner);
        let out = profile_step(&host, lxd()).unwrap();
        assert_eq!(out.status, Status::Changed);
        assert_eq!(
            out.detail,
            "root: pool other -> default; eth0: nictype bridged -> (unset), parent br-old -> (unset), network (unset) -> lxdbr0"
        );
        assert_eq!(
            runner.ran(),
            [
                "lxc query /1.0/profiles/default",
                "lxc profile device set default root pool=default",
                "lxc profile device unset default eth0 nictype",
                "lxc profile device unset default eth0 parent",
                "lxc profile device set default eth0 network=lxdbr0",
            ]
        );
    }

    #[test]
    fn a_root_disk_under_running_instances_is_69_with_the_reason_and_nothing_changes() {
        let profile = json!({
            "devices": {
                "root": {"type": "disk", "path": "/", "pool": "other"},
                "eth0": {"type": "nic", "network": "lxdbr0", "name": "eth0"}
            },
            "used_by": ["/1.0/instances/web1", "/1.0/instances/old?project=default"]
        });
        let runner = converged(profile, nat_bridge())
            .answer(
                "lxc query /1.0/instances/web1",
                json(json!({"status": "Running"})),
            )
            .answer(
                "lxc query '/1.0/instances/old?project=default'",
                json(json!({"status": "Stopped"})),
            );
        let (_root, runner, host) = fake(runner);
        let err = profile_step(&host, lxd()).unwrap_err();
        assert_eq!(exit_for(&err), Exit::Unavailable);
        let msg = err.to_string();
        assert!(msg.contains("running instances use the profile (web1)"), "{msg}");
        assert!(msg.contains("pool other -> default"), "{msg}");
        assert!(
            !runner.ran().iter().any(|c| c.starts_with("lxc profile device")),
            "{:?}",
            runner.ran()
        );
    }

    #[test]
    fn a_stale_dhcp_range_is_unset_when_the_bridge_gets_a_new_address() {
        let stale = bridge(json!({
            "ipv4.address": "none", "ipv4.nat": "true", "ipv6.address": "none",
            "ipv4.dhcp.ranges": "10.20.30.2-10.20.30.254"
        }));
        let runner = converged(fitting_profile(), stale)
            .answer("lxc network unset lxdbr0 ipv4.dhcp.ranges", Answer::ok(""))
            .answer(
                "lxc network set lxdbr0 ipv4.address=10.147.2.1/24",
                Answer::ok(""),
            );
        let (_root, runner, host) = fake(runner);
        let out = network_step(
            &host,
            lxd(),
            &ManagerConfig::default(),
            None,
            BridgeIpv6::None,
            None,
        )
        .unwrap();
        assert_eq!(
            out.detail,
            "lxdbr0 10.147.2.1/24: ipv4.dhcp.ranges 10.20.30.2-10.20.30.254 -> (unset), ipv4.address none -> 10.147.2.1/24"
        );
        assert_eq!(
            runner.ran(),
            [
                "lxc query /1.0/networks/lxdbr0",
                "ip -j addr show",
                "ip -j -4 route show table all",
                "lxc network unset lxdbr0 ipv4.dhcp.ranges",
                "lxc network set lxdbr0 ipv4.address=10.147.2.1/24",
            ]
        );

        // A range inside the bridge's subnet is the operator's and stays.
        let kept = bridge(json!({
            "ipv4.address": "10.147.2.1/24", "ipv4.nat": "true", "ipv6.address": "none",
            "ipv4.dhcp.ranges": "10.147.2.100-10.147.2.150"
        }));
        let (_root, _runner, host) = fake(converged(fitting_profile(), kept));
        let out = network_step(
            &host,
            lxd(),
            &ManagerConfig::default(),
            None,
            BridgeIpv6::None,
            None,
        )
        .unwrap();
        assert_eq!(out.status, Status::Unchanged, "{out:?}");
    }

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
