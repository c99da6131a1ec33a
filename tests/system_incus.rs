//! `setup incus` against the real thing on this machine (Debian 12 on CI:
//! Incus from bookworm-backports), behind `CONTAINER_INIT_E2E=1`. One test
//! function does every step in order, so nothing here runs in parallel.
//!
//! It starts from a host with no Incus and no backports source (removing
//! what an earlier run left), runs `setup incus`, and proves the data path: a
//! busybox container on incusbr0 gets a DHCP lease and fetches a file from a
//! test host in a private network namespace on 198.51.100.0/24, whose server
//! sees the host's address (NAT), not the container's.

#![allow(clippy::disallowed_methods, clippy::disallowed_types)] // tests build and inspect the real host directly

mod support;

use support::system::{json, run, tool};

use std::net::Ipv4Addr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BACKPORTS_FILE: &str = "/etc/apt/sources.list.d/container-init-backports.sources";
const NETNS: &str = "ci-incus-th";
const VETH_HOST: &str = "ci-inc-h0";
const VETH_NS: &str = "ci-inc-h1";
// A /30 of TEST-NET-2: more specific than any /24 of it another test may hold.
const HOST_SIDE: &str = "198.51.100.201";
const TEST_HOST: &str = "198.51.100.202";

/// Cleanup that may find nothing to clean.
fn quietly(program: &str, args: &[&str]) {
    let _ = Command::new(program)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

fn installed_version(package: &str) -> Option<String> {
    let out = Command::new("dpkg-query")
        .args(["-W", "-f", "${db:Status-Abbrev} ${Version}", package])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.strip_prefix("ii ").map(str::to_string)
}

/// Whether dpkg knows `package` at all: installed, half-installed or with
/// its config files left.
fn in_dpkg_status(package: &str) -> bool {
    let out = Command::new("dpkg-query")
        .args(["-W", "-f", "${db:Status-Abbrev}", package])
        .output()
        .unwrap();
    let status = String::from_utf8_lossy(&out.stdout);
    out.status.success() && !status.is_empty() && !status.starts_with("un")
}

/// Installed packages whose version is a bookworm-backports one.
fn from_backports() -> std::collections::BTreeSet<String> {
    run(
        "dpkg-query",
        &["-W", "-f", "${Package} ${Version} ${db:Status-Abbrev}\n"],
    )
    .lines()
    .filter(|l| l.ends_with(" ii ") || l.ends_with(" ii"))
    .filter(|l| l.contains("~bpo"))
    .filter_map(|l| l.split_whitespace().next().map(str::to_string))
    .collect()
}

/// A host with no Incus and no backports source: what an earlier run of
/// this test (or an operator) left is removed first.
fn remove_incus() {
    // The bridge's dnsmasq outlives the daemon: deleting the network through
    // the API stops it; its pid file is the fallback.
    quietly("incus", &["profile", "device", "remove", "default", "eth0"]);
    quietly("incus", &["network", "delete", "incusbr0"]);
    quietly("service", &["incus", "stop"]);
    if let Ok(pid) = std::fs::read_to_string("/run/incus.pid") {
        quietly("kill", &[pid.trim()]);
    }
    for pid in bridge_dnsmasq_pids() {
        quietly("kill", &[&pid]);
    }
    quietly("ip", &["link", "delete", "incusbr0"]);
    // Only what is installed: apt refuses to purge a package it cannot
    // locate, as on a fresh machine whose lists never saw backports.
    let installed: Vec<&str> = ["incus-base", "incus-client"]
        .into_iter()
        .filter(|p| in_dpkg_status(p))
        .collect();
    if !installed.is_empty() {
        let out = Command::new("apt-get")
            .args(["-o", "DPkg::Lock::Timeout=600", "purge", "-y"])
            .args(&installed)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let _ = std::fs::remove_dir_all("/var/lib/incus");
    let _ = std::fs::remove_file("/run/incus.pid");
    let _ = std::fs::remove_file(BACKPORTS_FILE);
    assert!(installed_version("incus-base").is_none());
}

/// The dnsmasq that an earlier Incus started for incusbr0 (it has no pid
/// file once /var/lib/incus is gone).
fn bridge_dnsmasq_pids() -> Vec<String> {
    let mut pids = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let pid = entry.file_name().to_string_lossy().into_owned();
        if !pid.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
        if args.first().is_some_and(|a| a.ends_with(b"dnsmasq"))
            && args.iter().any(|a| *a == b"--interface=incusbr0")
        {
            pids.push(pid);
        }
    }
    pids
}

/// (network, prefix) of every IPv4 address and route on the host, by device.
fn host_networks() -> Vec<(String, Ipv4Addr, u8)> {
    let mut nets = Vec::new();
    let addrs: serde_json::Value = serde_json::from_str(&run("ip", &["-j", "-4", "addr", "show"])).unwrap();
    for link in addrs.as_array().unwrap() {
        let dev = link["ifname"].as_str().unwrap_or("").to_string();
        for info in link["addr_info"].as_array().into_iter().flatten() {
            let ip: Ipv4Addr = info["local"].as_str().unwrap().parse().unwrap();
            let prefix = info["prefixlen"].as_u64().unwrap() as u8;
            nets.push((dev.clone(), ip, prefix));
        }
    }
    let routes: serde_json::Value = serde_json::from_str(&run("ip", &["-j", "-4", "route", "show"])).unwrap();
    for route in routes.as_array().unwrap() {
        let dst = route["dst"].as_str().unwrap_or("default");
        if dst == "default" {
            continue;
        }
        let (ip, prefix) = dst.split_once('/').unwrap_or((dst, "32"));
        let dev = route["dev"].as_str().unwrap_or("").to_string();
        nets.push((dev, ip.parse().unwrap(), prefix.parse().unwrap()));
    }
    nets
}

fn overlaps(a: (Ipv4Addr, u8), b: (Ipv4Addr, u8)) -> bool {
    let shorter = a.1.min(b.1);
    let mask = if shorter == 0 {
        0
    } else {
        u32::MAX << (32 - shorter)
    };
    u32::from(a.0) & mask == u32::from(b.0) & mask
}

/// A test host in its own network namespace, serving one file over HTTP.
struct TestHost {
    server: Child,
    log: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl TestHost {
    fn start(token: &str) -> TestHost {
        TestHost::remove();
        run("ip", &["netns", "add", NETNS]);
        run(
            "ip",
            &["link", "add", VETH_HOST, "type", "veth", "peer", "name", VETH_NS],
        );
        run("ip", &["link", "set", VETH_NS, "netns", NETNS]);
        run(
            "ip",
            &["addr", "add", &format!("{HOST_SIDE}/30"), "dev", VETH_HOST],
        );
        run("ip", &["link", "set", VETH_HOST, "up"]);
        let ns = |args: &[&str]| {
            let mut all = vec!["netns", "exec", NETNS];
            all.extend(args);
            run("ip", &all);
        };
        ns(&["ip", "addr", "add", &format!("{TEST_HOST}/30"), "dev", VETH_NS]);
        ns(&["ip", "link", "set", VETH_NS, "up"]);
        ns(&["ip", "link", "set", "lo", "up"]);
        // No route back to the bridge's subnet: only NAT can answer.
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("token"), token).unwrap();
        let log = dir.path().join("server.log");
        let server = Command::new("ip")
            .args([
                "netns",
                "exec",
                NETNS,
                "python3",
                "-m",
                "http.server",
                "8080",
                "--bind",
                TEST_HOST,
            ])
            .current_dir(dir.path())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        TestHost {
            server,
            log,
            _dir: dir,
        }
    }

    fn remove() {
        quietly("ip", &["netns", "delete", NETNS]);
        quietly("ip", &["link", "delete", VETH_HOST]);
    }
}

impl Drop for TestHost {
    fn drop(&mut self) {
        let _ = self.server.kill();
        let _ = self.server.wait();
        TestHost::remove();
    }
}

/// The container's IPv4 address on eth0, once it has a lease.
fn wait_for_lease(name: &str) -> Ipv4Addr {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let list: serde_json::Value =
            serde_json::from_str(&run("incus", &["list", name, "--format", "json"])).unwrap();
        let item = &list[0];
        let address = item["state"]["network"]["eth0"]["addresses"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|a| a["family"] == "inet")
            .and_then(|a| a["address"].as_str())
            .map(|a| a.parse::<Ipv4Addr>().unwrap());
        if let Some(address) = address {
            return address;
        }
        assert!(Instant::now() < deadline, "{name} never got a DHCP lease: {item}");
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// The token, fetched by the container with busybox nc: busybox-static's
/// wget crashes (exit 139) in an image without glibc's NSS modules.
fn fetch_from_container(name: &str) -> Result<String, String> {
    let request = format!("printf 'GET /token HTTP/1.0\\r\\n\\r\\n' | /bin/nc -w 3 {TEST_HOST} 8080");
    let mut last = String::new();
    for _ in 0..20 {
        let out = Command::new("incus")
            .args(["exec", name, "--", "/bin/sh", "-c", &request])
            .output()
            .unwrap();
        let response = String::from_utf8_lossy(&out.stdout).into_owned();
        if out.status.success()
            && let Some((head, body)) = response.split_once("\r\n\r\n")
            && head.starts_with("HTTP/1.0 200")
        {
            return Ok(body.to_string());
        }
        last = format!(
            "exit {:?}: {response}{}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    Err(last)
}

#[test]
#[ignore = "end-to-end: changes this machine; CONTAINER_INIT_E2E=1 cargo test -- --include-ignored (.ci/run)"]
fn setup_incus_from_backports_and_a_container_reaches_a_test_host_through_nat() {
    if !support::system::e2e() {
        return;
    }
    remove_incus();
    let backports_before = from_backports();

    // From nothing.
    let started = Instant::now();
    let first = tool(&["setup", "incus", "--output", "json"]);
    let doc = json(&first);
    assert_eq!(
        first.status.code(),
        Some(0),
        "{doc}\n{}",
        String::from_utf8_lossy(&first.stderr)
    );
    eprintln!("first setup incus: {:?}", started.elapsed());
    let packages = doc["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "packages")
        .unwrap()
        .clone();
    assert_eq!(packages["status"], "changed", "{doc}");
    let source = std::fs::read_to_string(BACKPORTS_FILE).unwrap();
    assert!(source.contains("\nSuites: bookworm-backports\n"), "{source}");
    let incus = installed_version("incus-base").expect("incus-base installed");
    assert!(
        incus.contains("bpo12"),
        "incus-base {incus} is not bookworm-backports'"
    );
    assert!(
        installed_version("incus").is_none(),
        "the incus package (with QEMU) was installed"
    );
    let taken: Vec<String> = from_backports().difference(&backports_before).cloned().collect();
    assert!(
        taken
            .iter()
            .all(|p| ["incus-base", "incus-client", "libcowsql0", "libraft0"].contains(&p.as_str())),
        "more than Incus and its libraries came from backports: {taken:?}"
    );
    for qemu in ["qemu-system-common", "qemu-utils", "qemu-system-x86"] {
        if let Some(v) = installed_version(qemu) {
            assert!(!v.contains("bpo"), "{qemu} {v} came from backports");
        }
    }
    // `setup kvm` after this: apt finds bookworm's QEMU and libvirt installable
    // beside Incus, removing nothing.
    let kvm = Command::new("apt-get")
        .args([
            "install",
            "-s",
            "qemu-system-x86",
            "libvirt-daemon-system",
            "libvirt-clients",
        ])
        .output()
        .unwrap();
    let sim = String::from_utf8_lossy(&kvm.stdout);
    assert!(
        kvm.status.success(),
        "{sim}\n{}",
        String::from_utf8_lossy(&kvm.stderr)
    );
    assert!(!sim.lines().any(|l| l.starts_with("Remv ")), "{sim}");
    assert!(
        !sim.contains("bpo"),
        "setup kvm would take backports packages: {sim}"
    );
    let plan = tool(&["setup", "kvm", "--allow-emulation", "--dry-run"]);
    assert_eq!(
        plan.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&plan.stderr)
    );

    // The bridge overlaps none of the host's other networks.
    let nets = host_networks();
    let bridge: Vec<_> = nets.iter().filter(|(dev, _, _)| dev == "incusbr0").collect();
    assert!(!bridge.is_empty(), "incusbr0 has no address: {nets:?}");
    for (_, ip, prefix) in &bridge {
        for (dev, other, other_prefix) in nets.iter().filter(|(dev, _, _)| dev != "incusbr0" && dev != "lo") {
            assert!(
                !overlaps((*ip, *prefix), (*other, *other_prefix)),
                "incusbr0 {ip}/{prefix} overlaps {dev} {other}/{other_prefix}"
            );
        }
    }

    // A rerun changes nothing.
    let started = Instant::now();
    let second = tool(&["setup", "incus", "--output", "json"]);
    let doc = json(&second);
    assert_eq!(second.status.code(), Some(0), "{doc}");
    assert_eq!(doc["changed"], false, "a second run changed something: {doc}");
    eprintln!("second setup incus: {:?}", started.elapsed());
    assert_eq!(std::fs::read_to_string(BACKPORTS_FILE).unwrap(), source);

    let check = tool(&["check", "incus"]);
    assert_eq!(
        check.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );

    // The data path: a lease on incusbr0, then out through NAT.
    let token = format!("incus-e2e-{}", std::process::id());
    let test_host = TestHost::start(&token);
    let work = tempfile::tempdir().unwrap();
    let alias = format!("ci-busybox-{}", std::process::id());
    let name = format!("ci-incus-{}", std::process::id());
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/busybox-image.sh");
    let image_dir = work.path().join("image");
    run(
        "sh",
        &[
            script.to_str().unwrap(),
            image_dir.to_str().unwrap(),
            &alias,
            "incus",
        ],
    );
    run("incus", &["launch", &alias, &name, "--quiet"]);
    let leased = std::panic::catch_unwind(|| wait_for_lease(&name));
    let fetched = leased.as_ref().ok().map(|_| fetch_from_container(&name));
    let expanded = run("incus", &["config", "show", &name, "--expanded"]);
    // Clean up before asserting, so a failure leaves no container behind.
    quietly("incus", &["delete", "--force", &name]);
    quietly("incus", &["image", "delete", &alias]);
    let server_log = std::fs::read_to_string(&test_host.log).unwrap_or_default();
    drop(test_host);

    let address = leased.unwrap_or_else(|_| panic!("no lease; {expanded}"));
    assert!(expanded.contains("network: incusbr0"), "{expanded}");
    assert!(
        bridge
            .iter()
            .any(|(_, ip, prefix)| overlaps((*ip, *prefix), (address, 32))),
        "the lease {address} is not on incusbr0's subnet"
    );
    assert_eq!(fetched.unwrap(), Ok(token), "{server_log}");
    assert!(
        server_log.contains(&format!("{HOST_SIDE} - - ")) && !server_log.contains(&address.to_string()),
        "the test host saw the container's own address, not NAT's: {server_log}"
    );
}
