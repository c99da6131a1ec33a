//! End-to-end: `setup kvm --allow-emulation` on this machine, from no libvirt
//! at all, where 192.168.122.0/24 (libvirt's own default) is already taken;
//! then a KVM guest under emulation (TCG), booted straight from Debian's cloud
//! kernel and a busybox initramfs, gets a DHCP lease on libvirt's network and
//! reaches a test host through NAT. The test host is a private network
//! namespace on 198.51.100.0/24 (TEST-NET-2); nothing else is contacted.
//!
//! It purges and installs packages and changes this machine's network, so it
//! runs only with `CONTAINER_INIT_E2E=1` (CI's throwaway VMs), under
//! `flock /tmp/ci/e2e.lock` when run by hand. One test function: its steps
//! must not run in parallel.

#![allow(clippy::disallowed_methods, clippy::disallowed_types)] // the test builds a guest and changes this machine directly

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use support::guest_image;

const VIRSH: [&str; 2] = ["-c", "qemu:///system"];
/// Holds 192.168.122.2/24 so that libvirt's default subnet is taken.
const TAKEN_VETH: &str = "ci-kvm-taken";
const TEST_NETNS: &str = "ci-kvm-testhost";
const TEST_VETH: &str = "ci-kvm-th0";
const TEST_VETH_PEER: &str = "ci-kvm-th1";
const HOST_SIDE: &str = "198.51.100.1/24";
const TEST_HOST: &str = "198.51.100.2";
const GUEST_BOOT_LIMIT: Duration = Duration::from_secs(240);

fn tool(args: &[&str]) -> std::process::Output {
    Command::new(assert_cmd::cargo::cargo_bin("container-init"))
        .args(args)
        .env_remove("CONTAINER_INIT_ROOT")
        .env_remove("CONTAINER_INIT_CONFIG")
        .output()
        .unwrap()
}

fn run(program: &str, args: &[&str]) -> String {
    let out = Command::new(program).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{program} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Run and ignore the outcome: cleaning up what may not be there.
fn attempt(program: &str, args: &[&str]) {
    let _ = Command::new(program)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

fn json(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn installed_packages() -> Vec<String> {
    let status = std::fs::read_to_string("/var/lib/dpkg/status").unwrap_or_default();
    status
        .split("\n\n")
        .filter(|stanza| stanza.lines().any(|l| l == "Status: install ok installed"))
        .filter_map(|stanza| stanza.lines().find_map(|l| l.strip_prefix("Package: ")))
        .map(str::to_string)
        .collect()
}

/// libvirt and QEMU gone, with what a previous run left running: the
/// `default` network's bridge and dnsmasq outlive libvirtd.
fn purge_libvirt() {
    if Path::new("/usr/bin/virsh").exists() {
        attempt("virsh", &[VIRSH[0], VIRSH[1], "net-destroy", "default"]);
    }
    // Stopped here, not by the purge: Debian's sysv scripts leave them running.
    for daemon in ["libvirtd", "virtlogd"] {
        if Path::new(&format!("/etc/init.d/{daemon}")).exists() {
            attempt("service", &[daemon, "stop"]);
        }
        let pid = std::fs::read_to_string(format!("/run/{daemon}.pid")).unwrap_or_default();
        let pid = pid.trim();
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        if !pid.is_empty() && String::from_utf8_lossy(&cmdline).contains(&format!("/usr/sbin/{daemon}")) {
            attempt("kill", &[pid]);
        }
    }
    // Where libvirtd was stopped first, its networks' dnsmasq still runs
    // and keeps the gateway address's DNS port.
    if let Ok(pids) = std::fs::read_dir("/run/libvirt/network") {
        for pid_file in pids.flatten().map(|e| e.path()) {
            if pid_file.extension().is_some_and(|e| e == "pid") && !pid_file.ends_with("driver.pid") {
                let pid = std::fs::read_to_string(&pid_file).unwrap_or_default();
                let pid = pid.trim();
                let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
                if !pid.is_empty() && String::from_utf8_lossy(&cmdline).contains("/var/lib/libvirt/dnsmasq/")
                {
                    attempt("kill", &[pid]);
                }
            }
        }
    }
    let purge: Vec<String> = installed_packages()
        .into_iter()
        .filter(|p| {
            p.starts_with("qemu-")
                || p.starts_with("libvirt-daemon")
                || p == "libvirt-clients"
                || p == "libvirt0"
        })
        .collect();
    if !purge.is_empty() {
        let out = Command::new("apt-get")
            .args(["-o", "DPkg::Lock::Timeout=600", "purge", "-y", "-q"])
            .args(&purge)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "purging {purge:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    attempt("ip", &["link", "del", "virbr0"]);
    // A purge keeps what libvirt wrote itself (network definitions, autostart
    // links); a host that never had libvirt has none of it.
    for dir in ["/etc/libvirt", "/var/lib/libvirt", "/run/libvirt"] {
        let _ = std::fs::remove_dir_all(dir);
    }
    assert!(
        !Path::new("/usr/bin/virsh").exists() && !Path::new("/usr/sbin/libvirtd").exists(),
        "libvirt is still installed after purging {purge:?}"
    );
}

/// What the test adds to the machine's network, removed however it ends.
struct Network {
    guest: Option<String>,
    web: Option<Child>,
}

impl Network {
    fn create(www: &Path) -> Network {
        let mut net = Network {
            guest: None,
            web: None,
        };
        net.remove_links();
        run(
            "ip",
            &[
                "link",
                "add",
                TAKEN_VETH,
                "type",
                "veth",
                "peer",
                "name",
                "ci-kvm-taken1",
            ],
        );
        run("ip", &["addr", "add", "192.168.122.2/24", "dev", TAKEN_VETH]);
        run("ip", &["link", "set", TAKEN_VETH, "up"]);
        run("ip", &["link", "set", "ci-kvm-taken1", "up"]);

        run("ip", &["netns", "add", TEST_NETNS]);
        run(
            "ip",
            &[
                "link",
                "add",
                TEST_VETH,
                "type",
                "veth",
                "peer",
                "name",
                TEST_VETH_PEER,
                "netns",
                TEST_NETNS,
            ],
        );
        run("ip", &["addr", "add", HOST_SIDE, "dev", TEST_VETH]);
        run("ip", &["link", "set", TEST_VETH, "up"]);
        // No route back to the guests' subnet: only NAT gets an answer home.
        run(
            "ip",
            &[
                "-n",
                TEST_NETNS,
                "addr",
                "add",
                &format!("{TEST_HOST}/24"),
                "dev",
                TEST_VETH_PEER,
            ],
        );
        run("ip", &["-n", TEST_NETNS, "link", "set", TEST_VETH_PEER, "up"]);
        let web = Command::new("ip")
            .args(["netns", "exec", TEST_NETNS, "busybox", "httpd", "-f", "-p"])
            .arg(format!("{TEST_HOST}:8080"))
            .arg("-h")
            .arg(www)
            .spawn()
            .unwrap();
        net.web = Some(web);
        net
    }

    fn remove_links(&self) {
        attempt("ip", &["link", "del", TAKEN_VETH]);
        attempt("ip", &["link", "del", TEST_VETH]);
        attempt("ip", &["netns", "del", TEST_NETNS]);
    }
}

impl Drop for Network {
    fn drop(&mut self) {
        if let Some(guest) = &self.guest {
            attempt("virsh", &[VIRSH[0], VIRSH[1], "destroy", guest]);
        }
        if let Some(mut web) = self.web.take() {
            let _ = web.kill();
            let _ = web.wait();
        }
        self.remove_links();
    }
}

fn domain_xml(name: &str, image: &guest_image::GuestImage, console: &Path) -> String {
    format!(
        "<domain type='qemu'>
  <name>{name}</name>
  <memory unit='MiB'>256</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>{kernel}</kernel>
    <initrd>{initrd}</initrd>
    <cmdline>console=ttyS0 panic=-1</cmdline>
  </os>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>destroy</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <interface type='network'><source network='default'/><model type='virtio'/></interface>
    <serial type='file'><source path='{console}'/><target port='0'/></serial>
    <memballoon model='none'/>
  </devices>
</domain>
",
        kernel = image.kernel.display(),
        initrd = image.initrd.display(),
        console = console.display(),
    )
}

fn step_detail(doc: &serde_json::Value, step: &str) -> String {
    doc["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == step)
        .unwrap_or_else(|| panic!("no step {step}: {doc}"))["detail"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
#[ignore = "end-to-end: changes this machine; CONTAINER_INIT_E2E=1 cargo test -- --include-ignored (.ci/run)"]
fn setup_kvm_from_no_libvirt_on_a_taken_subnet_and_an_emulated_guest_gets_out_through_nat() {
    if !support::system::e2e() {
        return;
    }
    if std::env::consts::ARCH != "x86_64" {
        support::system::skipped("the guest is Debian's amd64 cloud kernel");
        return;
    }
    let work = tempfile::tempdir().unwrap();
    // QEMU runs as libvirt-qemu: the kernel, initramfs and console file's
    // directory must be open to it.
    std::fs::set_permissions(work.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let www = work.path().join("www");
    std::fs::create_dir(&www).unwrap();
    let token = format!("reached-test-host-{}", std::process::id());
    std::fs::write(www.join("token"), &token).unwrap();

    let started = Instant::now();
    let image = guest_image::build(work.path(), (TEST_HOST, 8080, "/token"));
    eprintln!("guest image built: {:?}", started.elapsed());

    purge_libvirt();
    let mut net = Network::create(&www);

    let started = Instant::now();
    let first = tool(&["setup", "kvm", "--allow-emulation", "--output", "json"]);
    let doc = json(&first);
    assert_eq!(
        first.status.code(),
        Some(0),
        "{doc}\n{}",
        String::from_utf8_lossy(&first.stderr)
    );
    eprintln!("first setup kvm: {:?}", started.elapsed());
    let packages = step_detail(&doc, "packages");
    assert!(
        packages.contains("libvirt-daemon-system-sysv") || Path::new("/run/systemd/system").exists(),
        "{doc}"
    );
    let network = step_detail(&doc, "libvirt-network");
    assert!(
        network.contains("192.168.122.0/24, which the host uses"),
        "the default network was not moved: {doc}"
    );
    assert!(!network.contains("192.168.122.1"), "{doc}");
    // virbr0 went through the coexistence step and the data-path readiness.
    assert!(
        doc["steps"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["name"] == "coexistence"),
        "{doc}"
    );
    let ready = step_detail(&doc, "readiness");
    assert!(
        ready.contains("listens on") && ready.contains("no rule or policy drops virbr0's traffic"),
        "{doc}"
    );

    let started = Instant::now();
    let second = tool(&["setup", "kvm", "--allow-emulation", "--output", "json"]);
    let doc = json(&second);
    assert_eq!(second.status.code(), Some(0), "{doc}");
    assert_eq!(doc["changed"], false, "a second run changed something: {doc}");
    eprintln!("second setup kvm: {:?}", started.elapsed());

    // The test host answers from here, without NAT: what the guest sees
    // below is about the guest's path alone.
    let direct = run(
        "busybox",
        &["wget", "-q", "-O", "-", &format!("http://{TEST_HOST}:8080/token")],
    );
    assert_eq!(direct, token, "the test host does not answer the host itself");

    let name = format!("ci-kvm-guest-{}", std::process::id());
    let console = work.path().join("console.log");
    let xml = work.path().join("guest.xml");
    std::fs::write(&xml, domain_xml(&name, &image, &console)).unwrap();
    let started = Instant::now();
    run("virsh", &[VIRSH[0], VIRSH[1], "create", xml.to_str().unwrap()]);
    net.guest = Some(name.clone());
    let output = loop {
        let output = std::fs::read_to_string(&console).unwrap_or_default();
        if output.contains(guest_image::DONE) {
            break output;
        }
        assert!(
            started.elapsed() < GUEST_BOOT_LIMIT,
            "the guest did not finish within {GUEST_BOOT_LIMIT:?}; its console:\n{output}"
        );
        std::thread::sleep(Duration::from_millis(500));
    };
    eprintln!("guest booted and probed: {:?}", started.elapsed());
    drop(net);

    let said = |prefix: &str| {
        output
            .lines()
            .find_map(|l| l.trim_end_matches('\r').strip_prefix(prefix))
            .unwrap_or_else(|| panic!("no {prefix} line on the console:\n{output}"))
            .trim()
            .to_string()
    };
    let lease = said(guest_image::LEASE);
    let subnet = network
        .split_whitespace()
        .find(|w| w.ends_with("/24:") || w.ends_with("/24,"))
        .map(|w| w.trim_end_matches([':', ',']).to_string())
        .unwrap_or_default();
    let prefix = subnet
        .rsplit_once('.')
        .map(|(p, _)| format!("inet {p}."))
        .unwrap_or_default();
    assert!(
        !prefix.is_empty() && lease.contains(&prefix),
        "the guest's lease ({lease}) is not on libvirt's network ({network})\n{output}"
    );
    assert_eq!(
        said(guest_image::PROBE),
        token,
        "the guest did not reach the test host:\n{output}"
    );
}
