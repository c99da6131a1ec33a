//! A KVM guest to boot directly (no disk): Debian's cloud kernel, fetched
//! with `apt-get download` and unpacked (never installed), and a busybox
//! initramfs whose `/init` takes a DHCP lease, fetches one URL, prints the
//! result on the serial console and powers off.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The cloud kernel builds virtio-net as a module; these load it, in
/// dependency order.
const VIRTIO_NET_MODULES: [&str; 8] = [
    "virtio",
    "virtio_ring",
    "virtio_pci_legacy_dev",
    "virtio_pci_modern_dev",
    "virtio_pci",
    "failover",
    "net_failover",
    "virtio_net",
];

/// The lines the guest prints, so the test can find them among the kernel's.
pub const LEASE: &str = "CI-LEASE:";
pub const PROBE: &str = "CI-PROBE:";
pub const DONE: &str = "CI-DONE";

pub struct GuestImage {
    pub kernel: PathBuf,
    pub initrd: PathBuf,
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Build the kernel and initramfs in `dir`, which QEMU (running as
/// libvirt-qemu) must be able to read: the caller makes it world-readable.
/// The guest fetches `url` once it has a lease.
pub fn build(dir: &Path, url: &str) -> GuestImage {
    let debs = dir.join("debs");
    fs::create_dir_all(&debs).unwrap();
    // The metapackage names the current kernel package in its Depends.
    run(Command::new("apt-get")
        .args(["download", "-q", "linux-image-cloud-amd64"])
        .current_dir(&debs));
    let meta = only_file(&debs, "linux-image-cloud-amd64_");
    let depends = run(Command::new("dpkg-deb").args(["-f"]).arg(&meta).arg("Depends"));
    let kernel_package = depends
        .split(',')
        .map(|d| d.split_whitespace().next().unwrap_or(""))
        .find(|p| p.starts_with("linux-image-") && p.ends_with("-cloud-amd64"))
        .unwrap_or_else(|| panic!("no kernel package in {depends:?}"))
        .to_string();
    run(Command::new("apt-get")
        .args(["download", "-q", &kernel_package])
        .current_dir(&debs));
    let deb = only_file(&debs, &format!("{kernel_package}_"));
    let unpacked = dir.join("unpacked");
    run(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&unpacked));

    let boot = unpacked.join("boot");
    let vmlinuz = fs::read_dir(&boot)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.file_name().unwrap().to_string_lossy().starts_with("vmlinuz-"))
        .expect("the kernel package has /boot/vmlinuz-*");
    let config = fs::read_dir(&boot)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.file_name().unwrap().to_string_lossy().starts_with("config-"))
        .expect("the kernel package has /boot/config-*");
    let config = fs::read_to_string(config).unwrap();
    let builtin = config.lines().any(|l| l == "CONFIG_VIRTIO_NET=y");

    let mut archive = Cpio::default();
    for d in ["bin", "proc", "sys", "dev", "lib"] {
        archive.dir(d);
    }
    archive.file("bin/busybox", &fs::read("/bin/busybox").unwrap(), 0o755);
    let modules: Vec<&str> = if builtin {
        Vec::new()
    } else {
        VIRTIO_NET_MODULES.to_vec()
    };
    for module in &modules {
        let path = find_module(&unpacked.join("lib/modules"), &format!("{module}.ko"))
            .unwrap_or_else(|| panic!("{module}.ko is not in the kernel package"));
        archive.file(&format!("lib/{module}.ko"), &fs::read(path).unwrap(), 0o644);
    }
    archive.file("init", init_script(&modules, url).as_bytes(), 0o755);
    archive.file("udhcpc.sh", UDHCPC_SCRIPT.as_bytes(), 0o755);

    let image = GuestImage {
        kernel: dir.join("vmlinuz"),
        initrd: dir.join("initrd.cpio"),
    };
    fs::copy(&vmlinuz, &image.kernel).unwrap();
    fs::write(&image.initrd, archive.finish()).unwrap();
    for path in [&image.kernel, &image.initrd] {
        fs::set_permissions(path, fs::Permissions::from_mode(0o644)).unwrap();
    }
    fs::remove_dir_all(&debs).unwrap();
    fs::remove_dir_all(&unpacked).unwrap();
    image
}

fn only_file(dir: &Path, prefix: &str) -> PathBuf {
    let found: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with(prefix))
        .collect();
    assert_eq!(found.len(), 1, "{prefix}* in {}: {found:?}", dir.display());
    found.into_iter().next().unwrap()
}

fn find_module(dir: &Path, name: &str) -> Option<PathBuf> {
    for entry in fs::read_dir(dir).ok()? {
        let path = entry.ok()?.path();
        if path.is_dir() {
            if let Some(found) = find_module(&path, name) {
                return Some(found);
            }
        } else if path.file_name().is_some_and(|n| n == name) {
            return Some(path);
        }
    }
    None
}

fn init_script(modules: &[&str], url: &str) -> String {
    format!(
        r#"#!/bin/busybox sh
bb=/bin/busybox
$bb mount -t proc proc /proc
$bb mount -t sysfs sys /sys
$bb mount -t devtmpfs dev /dev
for m in {modules}; do $bb insmod /lib/$m.ko || echo "CI: insmod $m failed"; done
$bb ip link set lo up
$bb ip link set eth0 up
if $bb udhcpc -i eth0 -s /udhcpc.sh -n -q -t 20 -T 1; then
  echo "{LEASE} $($bb ip -4 -o addr show dev eth0)"
  echo "{PROBE} $($bb wget -q -T 10 -O - {url} 2>&1)"
else
  echo "{LEASE} none"
fi
echo {DONE}
$bb poweroff -f
"#,
        modules = modules.join(" ")
    )
}

/// udhcpc leaves the address to its script.
const UDHCPC_SCRIPT: &str = r#"#!/bin/busybox sh
bb=/bin/busybox
case "$1" in
bound|renew)
  $bb ip addr add "$ip/$mask" dev "$interface"
  for r in $router; do $bb ip route add default via "$r" dev "$interface"; break; done
  ;;
esac
"#;

/// A cpio archive in the kernel's "newc" format, uncompressed.
#[derive(Default)]
struct Cpio {
    bytes: Vec<u8>,
    inode: u32,
}

impl Cpio {
    fn entry(&mut self, name: &str, mode: u32, data: &[u8]) {
        self.inode += 1;
        let name = format!("{name}\0");
        let fields = [
            self.inode,
            mode,
            0,
            0,
            1,
            0,
            data.len() as u32,
            0,
            0,
            0,
            0,
            name.len() as u32,
            0,
        ];
        self.bytes.extend_from_slice(b"070701");
        for field in fields {
            self.bytes.extend_from_slice(format!("{field:08X}").as_bytes());
        }
        self.bytes.extend_from_slice(name.as_bytes());
        self.pad(4);
        self.bytes.extend_from_slice(data);
        self.pad(4);
    }

    fn pad(&mut self, to: usize) {
        self.bytes.resize(self.bytes.len().next_multiple_of(to), 0);
    }

    fn dir(&mut self, name: &str) {
        self.entry(name, 0o040_755, b"");
    }

    fn file(&mut self, name: &str, data: &[u8], mode: u32) {
        self.entry(name, 0o100_000 | mode, data);
    }

    fn finish(mut self) -> Vec<u8> {
        self.inode = 0;
        self.entry("TRAILER!!!", 0, b"");
        self.pad(512);
        self.bytes
    }
}
