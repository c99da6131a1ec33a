//! `setup` against the real thing on this machine.
//!
//! `setup lxd` prepares the machine it runs on, exactly as a user would: it
//! installs LXD from Debian's packages and creates lxdbr0. That is only right
//! on a throwaway machine, so it runs only with CONTAINER_INIT_E2E=1, which
//! `.ci/run` sets. The kvm tests change nothing (they must stop at 69) and run
//! wherever the CPU has no virtualisation flags.

#![allow(clippy::disallowed_methods, clippy::disallowed_types)] // tests build and inspect fake hosts directly

mod support;

use support::system::{json, run, tool};

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use support::assert_one_error_line;

#[test]
#[ignore = "end-to-end: changes this machine; CONTAINER_INIT_E2E=1 cargo test -- --include-ignored (.ci/run)"]
fn setup_lxd_prepares_this_machine_and_a_busybox_container_runs() {
    if !support::system::e2e() {
        return;
    }
    let started = Instant::now();
    let first = tool(&["setup", "lxd", "--output", "json"]);
    let doc = json(&first);
    assert_eq!(
        first.status.code(),
        Some(0),
        "{doc}\n{}",
        String::from_utf8_lossy(&first.stderr)
    );
    eprintln!(
        "first setup lxd: {:?}, changed={}",
        started.elapsed(),
        doc["changed"]
    );

    let started = Instant::now();
    let second = tool(&["setup", "lxd", "--output", "json"]);
    let doc = json(&second);
    assert_eq!(second.status.code(), Some(0), "{doc}");
    assert_eq!(doc["changed"], false, "a second run changed something: {doc}");
    for step in doc["steps"].as_array().unwrap() {
        assert!(
            step["status"] == "unchanged" || step["status"] == "skipped",
            "{step}"
        );
    }
    eprintln!("second setup lxd: {:?}", started.elapsed());

    // A tiny image, built here, so nothing is fetched from the network.
    let work = tempfile::tempdir().unwrap();
    let alias = format!("ci-busybox-{}", std::process::id());
    let name = format!("ci-e2e-{}", std::process::id());
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/busybox-image.sh");
    let image_dir = work.path().join("image");
    run(
        "sh",
        &[script.to_str().unwrap(), image_dir.to_str().unwrap(), &alias],
    );
    run("lxc", &["launch", &alias, &name, "--quiet"]);

    let deadline = Instant::now() + Duration::from_secs(60);
    let state = loop {
        let list: serde_json::Value =
            serde_json::from_str(&run("lxc", &["list", &name, "--format", "json"])).unwrap();
        let item = list[0].clone();
        if item["status"] == "Running" && item["state"]["network"]["eth0"]["host_name"].is_string() {
            break item;
        }
        assert!(
            Instant::now() < deadline,
            "{name} never reached Running with eth0: {item}"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    let expanded = run("lxc", &["config", "show", &name, "--expanded"]);
    let veth = state["state"]["network"]["eth0"]["host_name"]
        .as_str()
        .unwrap()
        .to_string();
    let on_bridge = Path::new("/sys/class/net/lxdbr0/brif").join(&veth).exists();

    // Clean up before asserting, so a failure leaves no container behind.
    let _ = Command::new("lxc").args(["delete", "--force", &name]).status();
    let _ = Command::new("lxc").args(["image", "delete", &alias]).status();

    assert!(expanded.contains("network: lxdbr0"), "{expanded}");
    assert!(on_bridge, "{veth} is not a port of lxdbr0");
}

fn has_virtualisation() -> bool {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    cpuinfo
        .lines()
        .filter(|l| l.starts_with("flags"))
        .any(|l| l.split_whitespace().any(|f| f == "vmx" || f == "svm"))
}

/// The KVM packages dpkg has installed. Only those: the end-to-end test may be
/// installing LXD at the same moment.
fn kvm_packages_installed() -> Vec<String> {
    let status = std::fs::read_to_string("/var/lib/dpkg/status").unwrap_or_default();
    status
        .split("\n\n")
        .filter(|stanza| stanza.lines().any(|l| l == "Status: install ok installed"))
        .filter_map(|stanza| stanza.lines().find_map(|l| l.strip_prefix("Package: ")))
        .filter(|p| p.starts_with("qemu-system") || p.starts_with("libvirt-"))
        .map(str::to_string)
        .collect()
}

#[test]
fn without_hardware_virtualisation_setup_and_check_kvm_give_69_and_install_nothing() {
    if has_virtualisation() {
        support::system::skipped("this CPU has vmx/svm, so `setup kvm` would install libvirt here");
        return;
    }
    if !nix_root() {
        support::system::skipped("needs root");
        return;
    }
    let before = kvm_packages_installed();
    let out = tool(&["setup", "kvm", "--output", "json"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(69), "{stderr}");
    assert_one_error_line(&stderr);
    assert!(stderr.contains("no hardware virtualisation"), "{stderr}");
    assert!(stderr.contains("--allow-emulation"), "{stderr}");
    let doc = json(&out);
    let steps: Vec<&str> = doc["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(steps, ["manager-config", "host-lock", "virtualisation"], "{doc}");
    assert_eq!(
        kvm_packages_installed(),
        before,
        "setup kvm changed the installed packages"
    );

    let out = tool(&["check", "kvm"]);
    assert_eq!(out.status.code(), Some(69));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.lines().any(|l| l.starts_with("FAIL  virtualisation")),
        "{stdout}"
    );
    assert_eq!(kvm_packages_installed(), before);
}

fn nix_root() -> bool {
    run("id", &["-u"]).trim() == "0"
}
