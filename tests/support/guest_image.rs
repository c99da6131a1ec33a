//! A KVM guest to boot directly (no disk): Debian's cloud kernel, fetched
//! with `apt-get download` and unpacked (never installed), and a busybox
//! initramfs whose `/init` takes a DHCP lease, fetches one URL, prints the
//! result on the serial console and powers off.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The cloud kernel builds virtio-net as modules: the NIC's driver and the
/// PCI transport; what they need is read from their `depends=`.
const VIRTIO_NET_MODULES: [&str; 2] = ["virtio_pci", "virtio_net"];

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
/// Once it has a lease, the guest fetches `path` over HTTP from `host`:`port`
/// and prints the last line of the answer (the body's).
pub fn build(dir: &Path, probe: (&str, u16, &str)) -> GuestImage {
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
    let builtin = ["CONFIG_VIRTIO_NET=y", "CONFIG_VIRTIO_PCI=y"]
        .iter()
        .all(|option| config.lines().any(|l| l == *option));

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
    let modules = load_order(&unpacked.join("lib/modules"), &modules);
    for (module, path) in &modules {
        archive.file(&format!("lib/{module}.ko"), &fs::read(path).unwrap(), 0o644);
    }
    let modules: Vec<&str> = modules.iter().map(|(m, _)| m.as_str()).collect();
    archive.file("init", init_script(&modules, probe).as_bytes(), 0o755);
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

/// `wanted` and every module they depend on, each after its dependencies,
/// from the `depends=` of each module's .modinfo (the package has no
/// modules.dep: depmod makes it on install).
fn load_order(dir: &Path, wanted: &[&str]) -> Vec<(String, PathBuf)> {
    fn visit(dir: &Path, module: &str, order: &mut Vec<(String, PathBuf)>) {
        if order.iter().any(|(m, _)| m == module) {
            return;
        }
        let path = find_module(dir, &format!("{module}.ko"))
            .unwrap_or_else(|| panic!("{module}.ko is not in the kernel package"));
        let bytes = fs::read(&path).unwrap();
        let tag = b"depends=";
        let depends = bytes
            .windows(tag.len())
            .position(|w| w == tag)
            .map(|at| {
                let rest = &bytes[at + tag.len()..];
                let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
                String::from_utf8_lossy(&rest[..end]).into_owned()
            })
            .unwrap_or_default();
        for dependency in depends.split(',').filter(|d| !d.is_empty()) {
            visit(dir, dependency, order);
        }
        order.push((module.to_string(), path));
    }
    let mut order = Vec::new();
    for module in wanted {
        visit(dir, module, &mut order);
    }
    order
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

fn init_script(modules: &[&str], (host, port, path): (&str, u16, &str)) -> String {
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
  # nc, not wget: this static busybox's wget crashes with -T.
  echo "{PROBE} $(printf 'GET {path} HTTP/1.0\r\n\r\n' | $bb nc -w 10 {host} {port} | $bb tail -n 1)"
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
