//! The VM layer: real Debian VMs with systemd as PID 1, booted by cloud-init
//! from the README's own recipe, running the package built in this run the
//! way users run it. `image` builds and caches the disks, `machine` runs
//! one VM, `seed` makes its cloud-init seed and this machine's servers,
//! `scenario` is what the tests do inside; `guest.sh` and `build-image.sh`
//! are the scripts they run.

pub mod image;
pub mod machine;
pub mod scenario;
pub mod seed;

use std::io::Write;
use std::path::PathBuf;
use std::process::Command;
use std::sync::{Condvar, Mutex};

/// VMs running (or images building) at once: two cores, two VMs.
const SLOTS: usize = 2;

/// The package to install in the VMs, once every prerequisite is there.
/// The tests are `#[ignore]`d, so this runs only when they were asked for
/// (`--include-ignored`, `.ci/run`): then a missing `CONTAINER_INIT_VM=1`
/// or any other prerequisite fails the test rather than letting it pass
/// without having booted anything.
pub fn enabled() -> PathBuf {
    STARTED.get_or_init(std::time::Instant::now);
    let mut missing = Vec::new();
    if std::env::var("CONTAINER_INIT_VM").as_deref() != Ok("1") {
        missing.push(
            "CONTAINER_INIT_VM=1 (the switch that says this machine may spend ~30 min booting VMs)"
                .to_string(),
        );
    }
    let uid = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout)
        .unwrap_or_default();
    if String::from_utf8_lossy(&uid).trim() != "0" {
        missing.push("root (mmdebstrap --mode=root)".to_string());
    }
    for tool in [
        "qemu-system-x86_64",
        "qemu-img",
        "mmdebstrap",
        "genisoimage",
        "mkfs.ext4",
        "ssh",
        "ssh-keygen",
        "openssl",
        "timeout",
    ] {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .is_ok_and(|o| o.status.success());
        if !found {
            missing.push(tool.to_string());
        }
    }
    if let Some(free) = free_gib(&image::vm_dir())
        && free < NEEDS_FREE_GIB
    {
        missing.push(format!(
            "{NEEDS_FREE_GIB} GiB free under target/ for the images and overlays ({free} GiB free)"
        ));
    }
    let deb = std::env::var_os("CONTAINER_INIT_VM_DEB").map(PathBuf::from);
    match &deb {
        Some(path) if path.is_file() => {}
        Some(path) => missing.push(format!("CONTAINER_INIT_VM_DEB={} (no such file)", path.display())),
        None => missing.push("CONTAINER_INIT_VM_DEB (the .deb built in this run)".to_string()),
    }
    assert!(
        missing.is_empty(),
        "VM test prerequisites missing: {}",
        missing.join(", ")
    );
    deb.expect("checked above")
}

/// Room for the layer's images and overlays: about 7 GB at their peak
/// here (three 2 GB images, overlays up to 0.8 GB), twice that to spare.
/// A full disk half-way through a VM fails with a message about something
/// else, so the layer asks first.
const NEEDS_FREE_GIB: u64 = 15;

/// Free space on the file system that holds `dir` (or its nearest parent).
fn free_gib(dir: &std::path::Path) -> Option<u64> {
    let mut at = dir;
    while !at.exists() {
        at = at.parent()?;
    }
    let out = Command::new("df")
        .args(["--output=avail", "-B1G"])
        .arg(at)
        .output()
        .ok()?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .nth(1)?
        .trim()
        .parse()
        .ok()
}

static RUNNING: (Mutex<usize>, Condvar) = (Mutex::new(0), Condvar::new());

/// Held while a test builds an image or runs a VM.
pub struct Slot;

pub fn slot() -> Slot {
    let (count, freed) = &RUNNING;
    let mut running = count.lock().unwrap_or_else(|e| e.into_inner());
    while *running >= SLOTS {
        running = freed.wait(running).unwrap_or_else(|e| e.into_inner());
    }
    *running += 1;
    Slot
}

impl Drop for Slot {
    fn drop(&mut self) {
        let (count, freed) = &RUNNING;
        let mut running = count.lock().unwrap_or_else(|e| e.into_inner());
        *running -= 1;
        freed.notify_one();
    }
}

static STARTED: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();

/// A line for the CI log, where the test runner's capture cannot hide it,
/// with the minutes since the layer started, so that the log shows where
/// the time went.
pub fn say(line: &str) {
    let t = STARTED.get_or_init(std::time::Instant::now).elapsed().as_secs();
    let _ = writeln!(std::io::stderr(), "[{:02}:{:02}] {line}", t / 60, t % 60);
}
