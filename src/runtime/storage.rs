//! The storage pool `default` of LXD and Incus: which driver (`dir`,
//! `btrfs`, `lvm` thin, `zfs`), where it lives (a loop file, a block device,
//! a btrfs mount, an LVM volume group or a ZFS pool), the kernel support and
//! tools each driver needs, and the one rule above all others: a device that
//! holds data is never written to unless the operator said so
//! (`storage-wipe`), and a device in use is never written to at all.
//!
//! A pool that exists is never deleted, converted or moved: it either fits
//! what is asked, or the step stops (69) and says what an operator can do.
//! LXD and Incus reattach their own loop files when the daemon starts, so a
//! loop pool made by an earlier setup is simply found again after a reboot.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::Deserialize;

use crate::check_result::{Check, Verdict, check};
use crate::config::limits::quote;
use crate::exit::{Exit, coded};
use crate::host::{CommandLine, Host, Output};
use crate::record::{self, Change};
use crate::report::{Outcome, Status};

use super::distro::Distro;
use super::kernel;
use super::lxd_family::{POOL, Runtime};

/// A storage driver of LXD and Incus.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Driver {
    Dir,
    Btrfs,
    Lvm,
    Zfs,
}

impl Driver {
    pub fn as_str(self) -> &'static str {
        match self {
            Driver::Dir => "dir",
            Driver::Btrfs => "btrfs",
            Driver::Lvm => "lvm",
            Driver::Zfs => "zfs",
        }
    }

    /// The Debian/Ubuntu packages holding the driver's user-space tools.
    pub fn packages(self) -> &'static [&'static str] {
        match self {
            Driver::Dir => &[],
            Driver::Btrfs => &["btrfs-progs"],
            Driver::Lvm => &["lvm2", "thin-provisioning-tools"],
            Driver::Zfs => &["zfsutils-linux"],
        }
    }

    fn copy_on_write(self) -> bool {
        self != Driver::Dir
    }
}

impl fmt::Display for Driver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Driver {
    type Err = String;

    fn from_str(s: &str) -> Result<Driver, String> {
        match s {
            "dir" => Ok(Driver::Dir),
            "btrfs" => Ok(Driver::Btrfs),
            "lvm" => Ok(Driver::Lvm),
            "zfs" => Ok(Driver::Zfs),
            other => Err(format!(
                "{} is not a storage driver; give dir, btrfs, lvm or zfs",
                quote(other)
            )),
        }
    }
}

/// Where a pool lives, as `storage-source` names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A block device (`/dev/vdb`, `/dev/disk/by-id/...`).
    Device(String),
    /// A directory on a mounted btrfs file system.
    Mount(String),
    /// An LVM volume group or a ZFS pool.
    Name(String),
}

impl Source {
    pub fn as_str(&self) -> &str {
        match self {
            Source::Device(s) | Source::Mount(s) | Source::Name(s) => s,
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A path made only of characters that need no quoting anywhere, with no
/// `.`/`..` component and no empty one.
fn plain_path(s: &str) -> bool {
    let allowed = |c: char| c.is_ascii_alphanumeric() || "/._+:@-".contains(c);
    s.starts_with('/')
        && s.len() > 1
        && s.len() <= 255
        && s.chars().all(allowed)
        && s[1..]
            .split('/')
            .all(|part| !part.is_empty() && part != "." && part != "..")
}

impl FromStr for Source {
    type Err = String;

    fn from_str(s: &str) -> Result<Source, String> {
        let bad = |why: &str| format!("storage-source {} {why}", quote(s));
        if s.starts_with('/') {
            if !plain_path(s) {
                return Err(bad(
                    "is not a plain absolute path (letters, digits and /._+:@- only, no . or .. or empty parts, at most 255 bytes)",
                ));
            }
            if s == "/dev" || s.starts_with("/dev/") {
                return Ok(Source::Device(s.to_string()));
            }
            return Ok(Source::Mount(s.to_string()));
        }
        // LVM allows [A-Za-z0-9+_.-] and ZFS [A-Za-z0-9_.:-] starting with a
        // letter; what both accept, and no word a tool could take for an option.
        let first_ok = s.chars().next().is_some_and(|c| c.is_ascii_alphabetic());
        let rest_ok = s.chars().all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
        if !first_ok || !rest_ok || s.len() > 64 {
            return Err(bad(
                "is neither an absolute path nor a volume group or pool name (a letter, then letters, digits and _.-; at most 64)",
            ));
        }
        Ok(Source::Name(s.to_string()))
    }
}

/// The size of a loop file, as LXD and Incus take it (`30GiB`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Size {
    pub bytes: u64,
    number: u64,
    unit: &'static str,
}

/// The smallest loop pool worth having: every driver's own minimum is below.
const MIN_SIZE: u64 = 1 << 30;
const MAX_SIZE: u64 = 1 << 50;

const UNITS: [(&str, u64); 11] = [
    ("B", 1),
    ("KiB", 1 << 10),
    ("MiB", 1 << 20),
    ("GiB", 1 << 30),
    ("TiB", 1 << 40),
    ("PiB", 1 << 50),
    ("kB", 1_000),
    ("MB", 1_000_000),
    ("GB", 1_000_000_000),
    ("TB", 1_000_000_000_000),
    ("PB", 1_000_000_000_000_000),
];

impl FromStr for Size {
    type Err = String;

    fn from_str(s: &str) -> Result<Size, String> {
        let bad = |why: &str| format!("storage-size {} {why}", quote(s));
        let digits = s.bytes().take_while(u8::is_ascii_digit).count();
        let (number, unit) = s.split_at(digits);
        if digits == 0 || digits > 16 {
            return Err(bad("is not a size; write a number and a unit, such as 30GiB"));
        }
        let Some(&(unit, scale)) = UNITS.iter().find(|(u, _)| *u == unit) else {
            return Err(bad(
                "has no unit LXD and Incus both read; use B, KiB, MiB, GiB, TiB, kB, MB, GB or TB",
            ));
        };
        let number: u64 = number.parse().map_err(|_| bad("is not a size"))?;
        let bytes = number
            .checked_mul(scale)
            .filter(|b| *b <= MAX_SIZE)
            .ok_or_else(|| bad("is larger than 1PiB"))?;
        if bytes < MIN_SIZE {
            return Err(bad("is smaller than 1GiB, too small for a pool"));
        }
        Ok(Size { bytes, number, unit })
    }
}

impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.number, self.unit)
    }
}

/// What the operator asks of the pool `default`. All empty: any pool
/// `default` fits, and a missing one is made with `dir`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Request {
    pub driver: Option<Driver>,
    pub source: Option<Source>,
    pub size: Option<Size>,
    pub wipe: bool,
}

impl Request {
    /// The values together: each driver takes only the sources it can use,
    /// and a size only where there is a loop file to size.
    pub fn new(
        driver: Option<Driver>,
        source: Option<Source>,
        size: Option<Size>,
        wipe: bool,
    ) -> Result<Request, String> {
        match (driver, &source) {
            (None, Some(source)) => {
                return Err(format!(
                    "storage-source {source} needs storage-driver (btrfs, lvm or zfs) to say what to make there"
                ));
            }
            (Some(Driver::Dir), Some(_)) => {
                return Err(
                    "storage-driver dir takes no storage-source: the dir pool lives under the runtime's own directory"
                        .into(),
                );
            }
            (Some(Driver::Btrfs), Some(Source::Name(name))) => {
                return Err(format!(
                    "storage-source {name} is a name, but btrfs needs a block device (/dev/...) or the path of a mounted btrfs file system"
                ));
            }
            (Some(Driver::Lvm), Some(Source::Mount(path))) => {
                return Err(format!(
                    "storage-source {path} is a directory, but lvm needs a block device (/dev/...) or the name of a volume group"
                ));
            }
            (Some(Driver::Zfs), Some(Source::Mount(path))) => {
                return Err(format!(
                    "storage-source {path} is a directory, but zfs needs a block device (/dev/...) or the name of a ZFS pool"
                ));
            }
            _ => {}
        }
        if let Some(size) = size {
            if matches!(driver, None | Some(Driver::Dir)) {
                return Err(format!(
                    "storage-size {size} sizes a loop file, which only btrfs, lvm and zfs use; set storage-driver or drop storage-size"
                ));
            }
            if let Some(source) = &source {
                return Err(format!(
                    "storage-size {size} sizes a loop file, but storage-source {source} is where the pool lives; drop one of them"
                ));
            }
        }
        Ok(Request {
            driver,
            source,
            size,
            wipe,
        })
    }

    /// A copy-on-write driver was asked for.
    fn wants_tools(&self) -> Option<Driver> {
        self.driver.filter(|d| d.copy_on_write())
    }
}

// ---------------------------------------------------------------- kernel

fn read_text(host: &Host, absolute: &str) -> String {
    host.read_optional(absolute)
        .ok()
        .flatten()
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default()
}

/// Where the kernel's support for `driver` was found, or what is missing.
pub fn kernel_support(host: &Host, driver: Driver, distro: Option<Distro>) -> Result<String, String> {
    let release = kernel::release(host);
    let shown = if release.is_empty() { "unknown" } else { &release };
    match driver {
        Driver::Dir => Ok("dir needs nothing from the kernel".into()),
        Driver::Btrfs => {
            if kernel::in_proc_filesystems(host, "btrfs") {
                return Ok("btrfs is in /proc/filesystems".into());
            }
            if let Some(list) = kernel::module_listed(host, &release, "btrfs") {
                return Ok(format!("the btrfs module is in {list}"));
            }
            Err(format!(
                "the running kernel ({shown}) has no btrfs: it is not in /proc/filesystems and no btrfs module is in /lib/modules/{shown}; boot a kernel with btrfs (CONFIG_BTRFS_FS), or choose another storage-driver"
            ))
        }
        Driver::Lvm => {
            if kernel::is_loaded(host, "dm_thin_pool") {
                return Ok("dm_thin_pool is loaded".into());
            }
            if let Some(list) = kernel::module_listed(host, &release, "dm-thin-pool") {
                return Ok(format!("dm-thin-pool is in {list}"));
            }
            Err(format!(
                "the running kernel ({shown}) has no device-mapper thin provisioning: dm_thin_pool is not loaded and no dm-thin-pool module is in /lib/modules/{shown}; install the kernel's modules or boot a kernel with CONFIG_DM_THIN_PROVISIONING, or choose another storage-driver"
            ))
        }
        Driver::Zfs => {
            if kernel::in_proc_filesystems(host, "zfs") || kernel::is_loaded(host, "zfs") {
                return Ok("the zfs module is loaded".into());
            }
            if let Some(list) = kernel::module_listed(host, &release, "zfs") {
                return Ok(format!("the zfs module is in {list}"));
            }
            let how = match distro {
                Some(Distro::Ubuntu) => {
                    format!("Ubuntu's kernels carry it in linux-modules-{shown}: install that package")
                }
                _ => format!(
                    "on Debian it comes from zfs-dkms in the contrib section, built for this kernel: enable contrib, install linux-headers-{shown} and zfs-dkms, and run again (container-init neither enables contrib nor builds modules)"
                ),
            };
            Err(format!(
                "the running kernel ({shown}) has no ZFS module (not loaded, none in /lib/modules/{shown}); {how}; or choose another storage-driver"
            ))
        }
    }
}

/// Setup's storage preflight, before anything is installed: the kernel can
/// run the asked driver, or 69 naming what is missing.
pub fn kernel_step(host: &Host, request: &Request, distro: Option<Distro>) -> anyhow::Result<Outcome> {
    let Some(driver) = request.wants_tools() else {
        return Ok(Outcome::new(Status::Skipped, "no copy-on-write driver asked for"));
    };
    match kernel_support(host, driver, distro) {
        Ok(found) => Ok(Outcome::new(Status::Unchanged, format!("{driver}: {found}"))),
        Err(missing) => Err(coded(Exit::Unavailable, missing)),
    }
}

/// The driver's tools, where they come from apt (the LXD snap carries its own).
pub fn tool_packages(request: &Request) -> Option<&'static [&'static str]> {
    request.wants_tools().map(Driver::packages)
}

// ---------------------------------------------------------------- devices

#[derive(Debug, Default, Deserialize)]
struct Lsblk {
    #[serde(default)]
    blockdevices: Vec<BlockDevice>,
}

#[derive(Debug, Default, Deserialize)]
struct BlockDevice {
    #[serde(default)]
    name: String,
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    fstype: Option<String>,
    #[serde(default)]
    pttype: Option<String>,
    #[serde(default)]
    mountpoint: Option<String>,
    #[serde(default)]
    children: Vec<BlockDevice>,
}

#[derive(Debug, Default, Deserialize)]
struct Wipefs {
    #[serde(default)]
    signatures: Vec<Signature>,
}

#[derive(Debug, Default, Deserialize)]
struct Signature {
    #[serde(default)]
    offset: String,
    #[serde(default, rename = "type")]
    kind: String,
    #[serde(default)]
    label: Option<String>,
    #[serde(default)]
    uuid: Option<String>,
}

/// What is on a block device and what uses it.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct DeviceFacts {
    /// Its kernel name (`loop5`, `vdb`).
    pub name: String,
    /// File systems, partition tables, LVM or ZFS members, as `ext4 (UUID
    /// ...) at 0x438`.
    pub data: Vec<String>,
    /// `name on /mount/point`, the device or anything on it.
    pub mounted: Vec<String>,
    /// Devices stacked on it (LVM volumes, RAID, dm-crypt), and an exclusive
    /// opener the kernel reports.
    pub users: Vec<String>,
}

/// The most a look at (or the wipe of) a device may take: a dying disk can
/// block its readers for minutes; that is a 75, never a hang.
const DEVICE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

fn on_device(cmd: CommandLine, dev: &str) -> CommandLine {
    cmd.time_limit(DEVICE_TIMEOUT, &format!("the storage device {dev}"))
}

fn lsblk(dev: &str) -> CommandLine {
    let cmd = CommandLine::new("lsblk")
        .args(["-J", "-o", "NAME,TYPE,FSTYPE,PTTYPE,MOUNTPOINT", "--"])
        .arg(dev);
    on_device(cmd, dev)
}

fn wipefs_list(dev: &str) -> CommandLine {
    let cmd = CommandLine::new("wipefs")
        .args(["--no-act", "--json", "--"])
        .arg(dev);
    on_device(cmd, dev)
}

/// `wipefs --all`: every signature gone, so that the driver's mkfs,
/// pvcreate or zpool create finds an empty device.
fn wipefs_all(dev: &str) -> CommandLine {
    on_device(CommandLine::new("wipefs").args(["--all", "--"]).arg(dev), dev)
}

fn kernel_name_ok(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.!".contains(c))
}

fn walk(dev: &BlockDevice, top: bool, facts: &mut DeviceFacts) {
    if let Some(mp) = dev.mountpoint.as_deref().filter(|m| !m.is_empty()) {
        facts.mounted.push(format!("{} on {mp}", dev.name));
    }
    // A partition's PTTYPE is its parent disk's table, not something on it.
    if top && dev.kind.as_deref() != Some("part") {
        if let Some(pt) = dev.pttype.as_deref().filter(|p| !p.is_empty()) {
            facts.data.push(format!("a {pt} partition table"));
        }
    } else if !top {
        match dev.kind.as_deref() {
            Some("part") => facts.data.push(format!("partition {}", dev.name)),
            other => facts.users.push(format!(
                "{} ({})",
                dev.name,
                other.unwrap_or("a device stacked on it")
            )),
        }
    }
    for child in &dev.children {
        walk(child, false, facts);
    }
}

/// Read-only: what is on `dev` and what uses it, from lsblk's and wipefs'
/// JSON, the kernel's holders, and whether the kernel lets us open it
/// exclusively (it does not while a file system, LVM, RAID or ZFS has it).
pub fn inspect_device(host: &Host, dev: &str) -> anyhow::Result<DeviceFacts> {
    let cmd = lsblk(dev);
    let out = host.query_status(&cmd)?;
    if !out.success() {
        return Err(coded(
            Exit::Unavailable,
            format!(
                "storage-source {dev} is not a block device of this host ({}); give a disk or partition such as /dev/vdb",
                out.tail()
            ),
        ));
    }
    let listed: Lsblk = parse_json(&out, &cmd)?;
    let [top] = listed.blockdevices.as_slice() else {
        return Err(coded(
            Exit::Os,
            format!("`{cmd}` listed {} devices, not one", listed.blockdevices.len()),
        ));
    };
    if !kernel_name_ok(&top.name) {
        return Err(coded(
            Exit::Os,
            format!("`{cmd}` named the device {}", quote(&top.name)),
        ));
    }
    if top.kind.as_deref() == Some("rom") {
        return Err(coded(
            Exit::Unavailable,
            format!("storage-source {dev} is an optical drive; give a disk or partition"),
        ));
    }
    let mut facts = DeviceFacts {
        name: top.name.clone(),
        ..DeviceFacts::default()
    };
    walk(top, true, &mut facts);
    for holder in host.list_dir(&format!("/sys/class/block/{}/holders", top.name))? {
        let entry = format!("{holder} (holder)");
        if !facts.users.iter().any(|u| u.starts_with(&format!("{holder} "))) {
            facts.users.push(entry);
        }
    }
    let cmd = wipefs_list(dev);
    let out = host.query(&cmd)?;
    let found: Wipefs = if out.stdout.trim().is_empty() {
        Wipefs::default()
    } else {
        parse_json(&out, &cmd)?
    };
    for sig in found.signatures {
        let mut what = sig.kind.clone();
        let mut about = Vec::new();
        if let Some(label) = sig.label.filter(|l| !l.is_empty()) {
            about.push(format!("label {}", quote(&label)));
        }
        if let Some(uuid) = sig.uuid.filter(|u| !u.is_empty()) {
            about.push(format!("UUID {uuid}"));
        }
        if !about.is_empty() {
            what.push_str(&format!(" ({})", about.join(", ")));
        }
        what.push_str(&format!(" at {}", sig.offset));
        facts.data.push(what);
    }
    if facts.data.is_empty()
        && let Some(fs) = top.fstype.as_deref().filter(|f| !f.is_empty())
    {
        facts.data.push(format!("{fs} (as lsblk sees it)"));
    }
    if host.block_device_busy(dev) && facts.mounted.is_empty() && facts.users.is_empty() {
        facts.users.push(
            "the kernel refuses an exclusive open: a file system, LVM, RAID or an imported ZFS pool holds it"
                .into(),
        );
    }
    Ok(facts)
}

fn parse_json<T: for<'de> Deserialize<'de>>(out: &Output, cmd: &CommandLine) -> anyhow::Result<T> {
    serde_json::from_str(&out.stdout)
        .map_err(|e| coded(Exit::Os, format!("`{cmd}` printed what is not its JSON: {e}")))
}

/// A list for a message: at most eight items, then how many more.
fn listed(items: &[String]) -> String {
    const SHOWN: usize = 8;
    let mut text = items.iter().take(SHOWN).cloned().collect::<Vec<_>>().join("; ");
    if items.len() > SHOWN {
        text.push_str(&format!("; and {} more", items.len() - SHOWN));
    }
    text
}

/// The data-safety rule. Mounted or in use: refused, wipe or not. Holding
/// data: refused unless `wipe`. `Ok(true)`: data is there and may go.
pub fn judge_device(dev: &str, facts: &DeviceFacts, wipe: bool) -> anyhow::Result<bool> {
    if !facts.mounted.is_empty() {
        return Err(coded(
            Exit::Unavailable,
            format!(
                "storage-source {dev} is mounted ({}); container-init never puts a pool on a mounted device, storage-wipe or not: give another device, or unmount it (and drop it from /etc/fstab) if its data can go",
                listed(&facts.mounted)
            ),
        ));
    }
    if !facts.users.is_empty() {
        return Err(coded(
            Exit::Unavailable,
            format!(
                "storage-source {dev} is in use: {}; container-init never writes to a device in use, storage-wipe or not: give another device, or release it (vgchange -an, mdadm --stop, zpool export) if its data can go",
                listed(&facts.users)
            ),
        ));
    }
    if facts.data.is_empty() {
        return Ok(false);
    }
    if !wipe {
        return Err(coded(
            Exit::Unavailable,
            format!(
                "storage-source {dev} holds data: {}; nothing was written to it. If that data can go, set storage-wipe: true (or --storage-wipe) and run again; otherwise give an empty device",
                listed(&facts.data)
            ),
        ));
    }
    Ok(true)
}

// ---------------------------------------------------------------- mounts

/// A mount point of `/proc/self/mountinfo`, with its octal escapes undone.
fn unescape_mount(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes
            .get(i + 1..i + 4)
            .filter(|d| d.iter().all(|b| (b'0'..=b'7').contains(b)));
        if bytes[i] == b'\\'
            && let Some(d) = octal
        {
            let value = d.iter().fold(0u32, |v, b| v * 8 + u32::from(b - b'0'));
            out.push(u8::try_from(value).unwrap_or(b'?'));
            i += 4;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The file system type of the mount that holds `path` (the longest mount
/// point that is a prefix of it).
pub fn fs_type_of(host: &Host, path: &str) -> Option<String> {
    let mut best: Option<(usize, String)> = None;
    for line in read_text(host, "/proc/self/mountinfo").lines() {
        let fields: Vec<&str> = line.split(' ').collect();
        let Some(sep) = fields.iter().position(|f| *f == "-") else {
            continue;
        };
        let (Some(mount), Some(fstype)) = (fields.get(4), fields.get(sep + 1)) else {
            continue;
        };
        let mount = unescape_mount(mount);
        let under = mount == "/"
            || path == mount
            || path
                .strip_prefix(mount.as_str())
                .is_some_and(|r| r.starts_with('/'));
        if under && best.as_ref().is_none_or(|(len, _)| mount.len() >= *len) {
            best = Some((mount.len(), fstype.to_string()));
        }
    }
    best.map(|(_, fs)| fs)
}

// ---------------------------------------------------------------- pools

#[derive(Debug, Default, Deserialize)]
pub struct Pool {
    #[serde(default)]
    pub driver: String,
    #[serde(default)]
    pub config: BTreeMap<String, String>,
    #[serde(default)]
    pub status: String,
}

impl Pool {
    fn key(&self, key: &str) -> &str {
        self.config.get(key).map(String::as_str).unwrap_or_default()
    }

    /// A loop file the runtime made (`.../disks/default.img`).
    fn on_loop_file(&self) -> bool {
        self.key("source").ends_with(&format!("/disks/{POOL}.img"))
    }

    /// Where it lives, as an operator would name it.
    pub fn describe_source(&self) -> String {
        if self.driver == "dir" {
            return self.key("source").to_string();
        }
        if self.on_loop_file() {
            let size = self.key("size");
            return if size.is_empty() {
                format!("loop file {}", self.key("source"))
            } else {
                format!("{size} loop file {}", self.key("source"))
            };
        }
        let initial = self.key("volatile.initial_source");
        if initial.is_empty() {
            self.key("source").to_string()
        } else {
            initial.to_string()
        }
    }

    /// Whether it lives where `wanted` says (no source: the runtime's loop file).
    fn lives_on(&self, wanted: Option<&Source>) -> bool {
        let Some(wanted) = wanted else {
            return self.on_loop_file();
        };
        let w = wanted.as_str();
        let mut names = vec![self.key("source"), self.key("volatile.initial_source")];
        if let Source::Name(_) = wanted {
            names.push(self.key("lvm.vg_name"));
            names.push(self.key("zfs.pool_name"));
        }
        names.contains(&w)
    }
}

fn pool_query(runtime: Runtime) -> CommandLine {
    runtime.query(&format!("/1.0/storage-pools/{POOL}"))
}

/// The pool `default` as the runtime reports it; `None` where there is none
/// (or, in a dry run, no runtime yet to ask).
fn existing_pool(host: &Host, runtime: Runtime) -> anyhow::Result<Option<Pool>> {
    let probe = pool_query(runtime);
    match super::lxd_family::ask(host, &probe)? {
        Some(out) if out.success() => Ok(Some(super::lxd_family::parse(&out, "the storage pool")?)),
        Some(out)
            if host.applies()
                && !super::lxd_family::absent(host, runtime, &format!("/1.0/storage-pools/{POOL}"))? =>
        {
            Err(crate::host::command_failed(&probe, &out))
        }
        _ => Ok(None),
    }
}

/// An existing pool against the request: it fits, or 69 naming it and what
/// an operator can do. It is never deleted, converted or moved.
fn judge_existing(runtime: Runtime, pool: &Pool, request: &Request) -> anyhow::Result<String> {
    let name = runtime.flavor.name;
    let client = runtime.flavor.client;
    let have = format!("{} on {}", pool.driver, pool.describe_source());
    if !pool.status.is_empty() && pool.status != "Created" {
        return Err(coded(
            Exit::Unavailable,
            format!(
                "{name} reports its pool {POOL} ({have}) as {}; see `{client} storage info {POOL}` and {}",
                pool.status, runtime.flavor.log_file
            ),
        ));
    }
    let Some(driver) = request.driver else {
        return Ok(have);
    };
    let what = match &request.source {
        Some(source) => format!("{driver} on {source}"),
        None => format!("{driver} on a loop file"),
    };
    if pool.driver != driver.as_str() || (driver != Driver::Dir && !pool.lives_on(request.source.as_ref())) {
        return Err(coded(
            Exit::Unavailable,
            format!(
                "{name}'s pool {POOL} is {have}, not {what} as storage-driver/storage-source ask; container-init never deletes, converts or moves a pool. Keep it (drop storage-driver and storage-source, or set them to what it is), or move the instances off it, `{client} storage delete {POOL}` once nothing uses it, and run again"
            ),
        ));
    }
    Ok(have)
}

/// The words of `storage create` after the pool's name.
fn create_args(driver: Driver, request: &Request) -> Vec<String> {
    let mut args = vec![driver.as_str().to_string()];
    if let Some(source) = &request.source {
        args.push(format!("source={source}"));
    }
    if let Some(size) = request.size {
        args.push(format!("size={size}"));
    }
    if driver == Driver::Lvm {
        args.push("lvm.use_thinpool=true".into());
    }
    args
}

/// Whether an LVM volume group or ZFS pool `name` exists; `None` when its
/// tool is not installed yet (a dry run, before the tools step).
fn named_source_exists(host: &Host, driver: Driver, name: &str) -> anyhow::Result<Option<bool>> {
    let cmd = match driver {
        Driver::Lvm => CommandLine::new("vgs").args(["--noheadings", "-o", "vg_name", name]),
        Driver::Zfs => CommandLine::new("zpool").args(["list", "-H", "-o", "name", name]),
        _ => return Ok(Some(true)),
    };
    Ok(host.query_installed(&cmd)?.map(|out| out.success()))
}

/// The pool step of LXD and Incus: an existing pool `default` that fits is
/// left alone; none is made as asked, after the data-safety rule.
pub fn pool_step(host: &Host, runtime: Runtime, request: &Request) -> anyhow::Result<Outcome> {
    let target = pool_change(runtime).target();
    if let Some(pool) = existing_pool(host, runtime)? {
        let have = judge_existing(runtime, &pool, request)?;
        record::needs(host, &target)?;
        return Ok(Outcome::new(Status::Unchanged, format!("pool {POOL}: {have}")));
    }
    let driver = request.driver.unwrap_or(Driver::Dir);
    let mut cmds = Vec::new();
    let mut notes = Vec::new();
    match &request.source {
        Some(Source::Device(dev)) => {
            let facts = inspect_device(host, dev)?;
            if judge_device(dev, &facts, request.wipe)? {
                notes.push(format!("wiped {}", listed(&facts.data)));
                cmds.push(wipefs_all(dev));
            }
        }
        Some(Source::Mount(path)) => match fs_type_of(host, path) {
            Some(fs) if fs == "btrfs" => {}
            found => {
                return Err(coded(
                    Exit::Unavailable,
                    format!(
                        "storage-source {path} is not on a btrfs file system ({}); mount a btrfs file system there, or give a block device",
                        found.map_or("no mount holds it".to_string(), |fs| format!("it is on {fs}"))
                    ),
                ));
            }
        },
        Some(Source::Name(name)) if named_source_exists(host, driver, name)? == Some(false) => {
            let (what, make) = match driver {
                Driver::Lvm => ("LVM volume group", format!("vgcreate {name} /dev/...")),
                _ => ("ZFS pool", format!("zpool create {name} /dev/...")),
            };
            return Err(coded(
                Exit::Unavailable,
                format!(
                    "storage-source {name}: this host has no {what} {name}; create it first ({make}) or give a block device"
                ),
            ));
        }
        Some(Source::Name(_)) | None => {}
    }
    record::note(host, pool_change(runtime))?;
    let create = runtime
        .client(&["storage", "create", POOL])
        .args(create_args(driver, request));
    cmds.push(create);
    let plan = host.run_all(&cmds)?;
    let place = match (&request.source, request.size) {
        (Some(source), _) => format!(" on {source}"),
        (None, Some(size)) if driver != Driver::Dir => format!(" on a {size} loop file"),
        (None, None) if driver != Driver::Dir => " on a loop file of the runtime's default size".into(),
        _ => String::new(),
    };
    let mut detail = format!("created pool {POOL} ({driver}{place})");
    if !notes.is_empty() {
        detail.push_str(&format!("; {}", notes.join("; ")));
    }
    Ok(Outcome::new(Status::of_change(host.applies()), detail).with_plan(plan))
}

fn pool_change(runtime: Runtime) -> Change {
    runtime.object("storage-pool", POOL)
}

// ---------------------------------------------------------------- check

#[derive(Debug, Default, Deserialize)]
struct Resources {
    #[serde(default)]
    space: Space,
}

#[derive(Debug, Default, Deserialize)]
struct Space {
    #[serde(default)]
    used: u64,
    #[serde(default)]
    total: u64,
}

fn gib(bytes: u64) -> String {
    format!("{:.1} GiB", bytes as f64 / (1u64 << 30) as f64)
}

/// A copy-on-write driver this kernel has, for the advice on `dir`.
fn cow_available(host: &Host) -> Option<Driver> {
    [Driver::Btrfs, Driver::Zfs, Driver::Lvm]
        .into_iter()
        .find(|d| kernel_support(host, *d, None).is_ok())
}

/// `check lxd|incus`: the pool's driver and free space, and what setup
/// would do with the storage settings; read-only.
pub fn check_line(host: &Host, runtime: Runtime, request: &Request) -> Check {
    let flavor = runtime.flavor;
    let probe = pool_query(runtime);
    let pool = match host.query_installed(&probe) {
        Ok(Some(out)) if out.success() => serde_json::from_str::<Pool>(&out.stdout).ok(),
        _ => None,
    };
    // What setup checks first, check names first.
    if let Some(driver) = request.wants_tools()
        && let Err(missing) = kernel_support(host, driver, None)
    {
        return check(
            "storage",
            Verdict::Fail,
            missing,
            "see STORAGE in container-init(8)",
        );
    }
    let Some(pool) = pool else {
        return check_new_pool(host, request, flavor.steps);
    };
    if let Err(err) = judge_existing(runtime, &pool, request) {
        return check(
            "storage",
            Verdict::Fail,
            err.to_string(),
            "see STORAGE in container-init(8)",
        );
    }
    let free = host
        .query_installed(&runtime.query(&format!("/1.0/storage-pools/{POOL}/resources")))
        .ok()
        .flatten()
        .filter(Output::success)
        .and_then(|out| serde_json::from_str::<Resources>(&out.stdout).ok())
        .map(|r| gib(r.space.total.saturating_sub(r.space.used)));
    let free = free.map_or(String::new(), |f| format!(", {f} free"));
    let what = format!("pool {POOL}: {} on {}{free}", pool.driver, pool.describe_source());
    if pool.driver == "dir"
        && let Some(cow) = cow_available(host)
    {
        return check(
            "storage",
            Verdict::Warn,
            format!(
                "{what}; dir copies every instance in full (slow launches, no quotas, no cheap snapshots), and this kernel has {cow}"
            ),
            format!(
                "on a new host, `container-init setup {} --storage-driver {cow}`; a pool in use is never converted",
                flavor.steps
            ),
        );
    }
    check("storage", Verdict::Pass, what, "")
}

/// No pool yet: what setup would make, and whether it could.
fn check_new_pool(host: &Host, request: &Request, steps: &str) -> Check {
    let Some(driver) = request.wants_tools() else {
        let advice = cow_available(host).map_or(String::new(), |cow| {
            format!(" (this kernel has {cow}: --storage-driver {cow} makes a copy-on-write pool)")
        });
        return check(
            "storage",
            if advice.is_empty() {
                Verdict::Pass
            } else {
                Verdict::Warn
            },
            format!("no pool {POOL} yet; setup makes one with dir{advice}"),
            if advice.is_empty() {
                String::new()
            } else {
                format!("`container-init setup {steps} --storage-driver btrfs` (or lvm, zfs)")
            },
        );
    };
    if let Some(Source::Device(dev)) = &request.source {
        let judged = inspect_device(host, dev).and_then(|facts| judge_device(dev, &facts, request.wipe));
        if let Err(err) = judged {
            return check("storage", Verdict::Fail, err.to_string(), "");
        }
    }
    let place = request
        .source
        .as_ref()
        .map_or("a loop file".to_string(), |s| s.to_string());
    check(
        "storage",
        Verdict::Pass,
        format!("no pool {POOL} yet; setup makes one with {driver} on {place}"),
        "",
    )
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)]
mod tests {
    use super::*;

    #[test]
    fn sizes_take_lxds_units_and_refuse_the_rest() {
        let s: Size = "30GiB".parse().unwrap();
        assert_eq!(s.bytes, 30 << 30);
        assert_eq!(s.to_string(), "30GiB");
        assert_eq!("2TB".parse::<Size>().unwrap().bytes, 2_000_000_000_000);
        assert_eq!("1073741824B".parse::<Size>().unwrap().bytes, 1 << 30);
        for bad in [
            "",
            "GiB",
            "30",
            "30gib",
            "30 GiB",
            "-1GiB",
            "30GiB;",
            "1.5GiB",
            "512MiB",
            "2PiB",
            "99999999999999999GiB",
            "30GiB\n",
            "0x10GiB",
        ] {
            assert!(bad.parse::<Size>().is_err(), "{bad:?} passed");
        }
    }

    #[test]
    fn sources_are_devices_mounts_or_names() {
        assert_eq!(
            "/dev/vdb".parse::<Source>().unwrap(),
            Source::Device("/dev/vdb".into())
        );
        assert_eq!(
            "/dev/disk/by-id/virtio-x:1".parse::<Source>().unwrap(),
            Source::Device("/dev/disk/by-id/virtio-x:1".into())
        );
        assert_eq!(
            "/srv/btrfs".parse::<Source>().unwrap(),
            Source::Mount("/srv/btrfs".into())
        );
        assert_eq!("vg0".parse::<Source>().unwrap(), Source::Name("vg0".into()));
        for bad in [
            "",
            "/",
            "/dev/../etc/passwd",
            "/dev//vdb",
            "/srv/a b",
            "/srv/x\n",
            "-vg",
            "0pool",
            "vg/data",
            "vg;rm",
            "size=1",
            "a=b",
            "/dev/vdb ",
            "relative/path",
        ] {
            assert!(bad.parse::<Source>().is_err(), "{bad:?} passed");
        }
        assert!(format!("/{}", "a".repeat(300)).parse::<Source>().is_err());
    }

    #[test]
    fn each_driver_takes_only_the_sources_it_can_use() {
        let src = |s: &str| Some(s.parse::<Source>().unwrap());
        let size = Some("10GiB".parse::<Size>().unwrap());
        assert!(Request::new(Some(Driver::Btrfs), src("/dev/vdb"), None, false).is_ok());
        assert!(Request::new(Some(Driver::Btrfs), src("/srv/b"), None, false).is_ok());
        assert!(Request::new(Some(Driver::Btrfs), src("vg0"), None, false).is_err());
        assert!(Request::new(Some(Driver::Lvm), src("vg0"), None, false).is_ok());
        assert!(Request::new(Some(Driver::Lvm), src("/srv/b"), None, false).is_err());
        assert!(Request::new(Some(Driver::Zfs), src("tank"), None, false).is_ok());
        assert!(Request::new(Some(Driver::Zfs), src("/srv/b"), None, false).is_err());
        assert!(Request::new(Some(Driver::Dir), src("/dev/vdb"), None, false).is_err());
        assert!(Request::new(None, src("/dev/vdb"), None, false).is_err());
        assert!(Request::new(Some(Driver::Btrfs), None, size, false).is_ok());
        assert!(Request::new(Some(Driver::Btrfs), src("/dev/vdb"), size, false).is_err());
        assert!(Request::new(Some(Driver::Dir), None, size, false).is_err());
        assert!(Request::new(None, None, size, false).is_err());
    }

    #[test]
    fn the_data_safety_rule() {
        let empty = DeviceFacts {
            name: "loop5".into(),
            ..DeviceFacts::default()
        };
        assert!(!judge_device("/dev/loop5", &empty, false).unwrap());
        let data = DeviceFacts {
            data: vec!["ext4 (UUID 1) at 0x438".into()],
            ..empty.clone()
        };
        let err = judge_device("/dev/loop5", &data, false).unwrap_err();
        assert_eq!(crate::exit::exit_for(&err), Exit::Unavailable);
        assert!(err.to_string().contains("ext4 (UUID 1) at 0x438"), "{err}");
        assert!(judge_device("/dev/loop5", &data, true).unwrap());
        let mounted = DeviceFacts {
            mounted: vec!["loop5 on /mnt".into()],
            ..data.clone()
        };
        let err = judge_device("/dev/loop5", &mounted, true).unwrap_err();
        assert!(err.to_string().contains("loop5 on /mnt"), "{err}");
        let used = DeviceFacts {
            users: vec!["dm-0 (holder)".into()],
            ..empty
        };
        assert!(judge_device("/dev/loop5", &used, true).is_err());
    }

    #[test]
    fn lsblk_children_are_partitions_or_users() {
        let json = r#"{"blockdevices":[{"name":"vdb","type":"disk","fstype":null,"pttype":"gpt","mountpoint":null,
            "children":[{"name":"vdb1","type":"part","fstype":"ext4","pttype":"gpt","mountpoint":"/srv",
            "children":[{"name":"vg-lv","type":"lvm","mountpoint":null}]}]}]}"#;
        let listed: Lsblk = serde_json::from_str(json).unwrap();
        let mut facts = DeviceFacts::default();
        walk(&listed.blockdevices[0], true, &mut facts);
        assert_eq!(facts.data, ["a gpt partition table", "partition vdb1"]);
        assert_eq!(facts.mounted, ["vdb1 on /srv"]);
        assert_eq!(facts.users, ["vg-lv (lvm)"]);
    }

    #[test]
    fn a_partition_is_judged_by_what_is_on_it_not_by_its_disks_table() {
        let json = r#"{"blockdevices":[{"name":"vdb1","type":"part","fstype":null,"pttype":"gpt","mountpoint":null}]}"#;
        let listed_: Lsblk = serde_json::from_str(json).unwrap();
        let mut facts = DeviceFacts::default();
        walk(&listed_.blockdevices[0], true, &mut facts);
        assert_eq!(facts, DeviceFacts::default());
        let many: Vec<String> = (1..=20).map(|i| format!("partition vdb{i}")).collect();
        let text = listed(&many);
        assert!(text.ends_with("partition vdb8; and 12 more"), "{text}");
    }

    #[test]
    fn a_path_is_on_the_longest_mount_that_holds_it() {
        let dir = tempfile::tempdir().unwrap();
        let info = dir.path().join("proc/self/mountinfo");
        std::fs::create_dir_all(info.parent().unwrap()).unwrap();
        std::fs::write(
            &info,
            "22 1 8:1 / / rw - ext4 /dev/sda1 rw\n\
             30 22 0:40 / /srv/pool rw - btrfs /dev/vdb rw\n\
             31 22 0:41 / /srv/a\\040b rw - xfs /dev/vdc rw\n",
        )
        .unwrap();
        let host = Host::new(dir.path(), crate::host::Mode::Apply);
        assert_eq!(fs_type_of(&host, "/srv/pool").as_deref(), Some("btrfs"));
        assert_eq!(fs_type_of(&host, "/srv/pool/lxd").as_deref(), Some("btrfs"));
        assert_eq!(fs_type_of(&host, "/srv/poolx").as_deref(), Some("ext4"));
        assert_eq!(fs_type_of(&host, "/srv/a b/c").as_deref(), Some("xfs"));
    }

    #[test]
    fn modules_are_found_compressed_or_built_in() {
        let dir = tempfile::tempdir().unwrap();
        let write = |rel: &str, text: &str| {
            let p = dir.path().join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        };
        write("proc/sys/kernel/osrelease", "6.1.0-9-amd64\n");
        write("proc/filesystems", "nodev\tsysfs\n\text4\n");
        let host = Host::new(dir.path(), crate::host::Mode::Apply);
        assert!(kernel_support(&host, Driver::Btrfs, None).is_err());
        let err = kernel_support(&host, Driver::Zfs, Some(Distro::Debian)).unwrap_err();
        assert!(err.contains("zfs-dkms") && err.contains("contrib"), "{err}");
        write(
            "lib/modules/6.1.0-9-amd64/modules.dep",
            "kernel/fs/btrfs/btrfs.ko.xz: kernel/lib/raid6/raid6_pq.ko.xz\n\
             kernel/drivers/md/dm-thin-pool.ko.zst: kernel/drivers/md/dm-bio-prison.ko\n\
             updates/dkms/zfs.ko: updates/dkms/spl.ko\n",
        );
        assert!(kernel_support(&host, Driver::Btrfs, None).is_ok());
        assert!(kernel_support(&host, Driver::Lvm, None).is_ok());
        assert!(kernel_support(&host, Driver::Zfs, None).is_ok());
        write("proc/filesystems", "nodev\tsysfs\n\tbtrfs\n");
        assert_eq!(
            kernel_support(&host, Driver::Btrfs, None).unwrap(),
            "btrfs is in /proc/filesystems"
        );
    }

    #[test]
    fn an_existing_pool_fits_by_driver_and_where_it_lives() {
        let pool = |driver: &str, config: &[(&str, &str)]| Pool {
            driver: driver.into(),
            config: config
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            status: "Created".into(),
        };
        let looped = pool(
            "btrfs",
            &[
                ("source", "/var/lib/lxd/disks/default.img"),
                ("size", "30GiB"),
                ("volatile.initial_source", ""),
            ],
        );
        assert!(looped.lives_on(None));
        assert!(!looped.lives_on(Some(&Source::Device("/dev/loop5".into()))));
        let device = pool(
            "btrfs",
            &[
                ("source", "/dev/disk/by-uuid/1234"),
                ("volatile.initial_source", "/dev/loop5"),
            ],
        );
        assert!(device.lives_on(Some(&Source::Device("/dev/loop5".into()))));
        assert!(!device.lives_on(None));
        assert_eq!(device.describe_source(), "/dev/loop5");
        let vg = pool("lvm", &[("source", "vg0"), ("lvm.vg_name", "vg0")]);
        assert!(vg.lives_on(Some(&Source::Name("vg0".into()))));
        assert_eq!(
            looped.describe_source(),
            "30GiB loop file /var/lib/lxd/disks/default.img"
        );
    }
}
