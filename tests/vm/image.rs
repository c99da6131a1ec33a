//! The VM images: built by `build-image.sh` (mmdebstrap at the host's native
//! speed, then `mkfs.ext4 -d`), once per CI run, cached under `target/vm/`
//! and keyed by the recipe (the script, the suite and the packages), so that
//! every boot starts from a copy-on-write overlay of the same disk. Also
//! the choice between KVM and TCG, made by booting, not by `/dev/kvm`.

use std::collections::hash_map::DefaultHasher;
use std::fs;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use super::machine::text;

const BUILD_SCRIPT: &str = include_str!("build-image.sh");

/// An image ready to boot.
pub struct Image {
    pub disk: PathBuf,
    pub kernel: PathBuf,
    pub initrd: PathBuf,
    pub ssh_key: PathBuf,
    /// How long the build took in this run; `None` when it came from the cache.
    pub built_in: Option<Duration>,
}

/// Where the VM layer keeps its images and runs: `target/vm/`.
pub fn vm_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("CARGO_TARGET_TMPDIR is target/tmp")
        .join("vm")
}

/// The key the VMs accept for root over ssh, made once for `target/vm/`.
pub fn ssh_key() -> PathBuf {
    static KEY: OnceLock<PathBuf> = OnceLock::new();
    KEY.get_or_init(|| {
        let dir = vm_dir();
        fs::create_dir_all(&dir).unwrap();
        let key = dir.join("ssh-key");
        if !key.exists() || !dir.join("ssh-key.pub").exists() {
            let _ = fs::remove_file(&key);
            let out = Command::new("ssh-keygen")
                .args([
                    "-q",
                    "-t",
                    "ed25519",
                    "-N",
                    "",
                    "-C",
                    "container-init-vm-test",
                    "-f",
                ])
                .arg(&key)
                .output()
                .unwrap();
            assert!(out.status.success(), "ssh-keygen: {}", text(&out));
        }
        key
    })
    .clone()
}

/// How an image differs from a plain cloud image, besides its packages.
#[derive(Clone, Copy, Debug, Hash)]
pub struct Options {
    /// trixie's cloud-init `Conflicts: firewalld`: a firewalld host has none.
    pub cloud_init: bool,
    /// ufw on from the first boot, ssh allowed (ufw must be in the packages).
    pub ufw_on: bool,
}

/// The image of `suite` with `packages` installed, built unless the cache
/// holds one made from the same recipe.
pub fn image(name: &str, suite: &str, packages: &[&str], options: Options) -> Image {
    let key = ssh_key();
    let pubkey = key.with_extension("pub");
    let dir = vm_dir().join(format!("image-{name}"));
    let mut hasher = DefaultHasher::new();
    (BUILD_SCRIPT, suite, packages, options, fs::read(&pubkey).unwrap()).hash(&mut hasher);
    let recipe = format!("{:016x}\n", hasher.finish());
    let stamp = dir.join("recipe");
    let image = Image {
        disk: dir.join("disk.raw"),
        kernel: dir.join("vmlinuz"),
        initrd: dir.join("initrd.img"),
        ssh_key: key,
        built_in: None,
    };
    let rebuild = std::env::var("CONTAINER_INIT_VM_REBUILD").as_deref() == Ok("1");
    if !rebuild && fs::read_to_string(&stamp).ok().as_deref() == Some(recipe.as_str()) {
        return image;
    }
    let started = Instant::now();
    // One copy of the script per image: two tests build at once, and a
    // shared file rewritten under a running bash ran empty (exit 0, no
    // image) in the first run that built two images side by side.
    let _ = fs::remove_file(&stamp);
    let script = vm_dir().join(format!("build-image-{name}.sh"));
    fs::write(&script, BUILD_SCRIPT).unwrap();
    let out = Command::new("bash")
        .arg(&script)
        .args([suite, dir.to_str().unwrap(), pubkey.to_str().unwrap()])
        .args(packages)
        .env("NO_CLOUD_INIT", if options.cloud_init { "0" } else { "1" })
        .env("UFW_ON", if options.ufw_on { "1" } else { "0" })
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "building the {name} image ({suite} with {packages:?}) failed: {}",
        tail_text(&out)
    );
    for made in [&image.disk, &image.kernel, &image.initrd] {
        let fresh = fs::metadata(made)
            .and_then(|m| m.modified())
            .is_ok_and(|t| t.elapsed().is_ok_and(|age| age <= started.elapsed()));
        assert!(
            fresh,
            "building the {name} image exited 0 but did not make {}: {}",
            made.display(),
            tail_text(&out)
        );
    }
    fs::write(&stamp, recipe).unwrap();
    Image {
        built_in: Some(started.elapsed()),
        ..image
    }
}

fn tail_text(out: &std::process::Output) -> String {
    let all = text(out);
    let lines: Vec<&str> = all.lines().collect();
    lines[lines.len().saturating_sub(60)..].join("\n")
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Accel {
    Kvm,
    Tcg,
}

impl Accel {
    pub fn qemu_args(self) -> Vec<&'static str> {
        match self {
            Accel::Kvm => vec!["-accel", "kvm", "-cpu", "host"],
            Accel::Tcg => vec!["-accel", "tcg", "-cpu", "max"],
        }
    }
}

/// KVM when a guest kernel really runs under it, else TCG. `/dev/kvm` alone
/// proves nothing: on some hosts it exists and guests die on their first
/// emulation failure, or hang. The probe boots `kernel` with no root file
/// system: it must get as far as the kernel's panic about that (a second
/// or two under KVM) and QEMU must then exit (`-no-reboot`).
pub fn accelerator(kernel: &Path) -> (Accel, String) {
    static CHOICE: OnceLock<(Accel, String)> = OnceLock::new();
    CHOICE
        .get_or_init(|| {
            if !Path::new("/dev/kvm").exists() {
                return (Accel::Tcg, "no /dev/kvm".into());
            }
            let dir = tempfile::tempdir().unwrap();
            let console = dir.path().join("console.log");
            let out = Command::new("timeout")
                .args([
                    "20",
                    "qemu-system-x86_64",
                    "-accel",
                    "kvm",
                    "-m",
                    "512",
                    "-nodefaults",
                ])
                .args(["-display", "none", "-no-reboot", "-kernel"])
                .arg(kernel)
                .args(["-append", "console=ttyS0 panic=-1"])
                .arg("-serial")
                .arg(format!("file:{}", console.display()))
                .output()
                .unwrap();
            let serial = fs::read_to_string(&console).unwrap_or_default();
            if out.status.success() && serial.contains("Kernel panic") {
                (Accel::Kvm, "a kernel booted under KVM".into())
            } else {
                let why = if out.status.code() == Some(124) {
                    "hung".to_string()
                } else {
                    format!(
                        "exit {:?}: {}",
                        out.status.code(),
                        String::from_utf8_lossy(&out.stderr).trim()
                    )
                };
                (
                    Accel::Tcg,
                    format!("/dev/kvm exists, but a kernel under KVM {why}"),
                )
            }
        })
        .clone()
}
