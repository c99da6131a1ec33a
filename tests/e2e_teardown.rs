//! End to end, on this machine: `teardown` gives the host back.
//!
//! Docker runs first (started with forwarding off, as at boot, so that its
//! `FORWARD` policy is `DROP`). A snapshot of everything setup may touch is
//! taken: the rulesets without counters, the forwarding sysctls,
//! /etc/sysctl.d, /etc/default/lxc-net and /etc/apt. `setup lxd` and `setup
//! lxc` follow and a busybox LXD guest reaches a test host (a private network
//! namespace on 198.51.100.0/24). `teardown lxd` refuses (69) while that guest
//! exists and changes nothing; without it, `teardown lxd` and `teardown lxc`
//! bring back the snapshot exactly, LXD has lost the bridge, pool and profile
//! devices setup made and kept an operator's profile key, a second teardown
//! changes nothing, and `setup` afterwards gets a guest out again.
//! Nothing is sent anywhere but to that namespace.
//!
//! This installs packages and changes the machine's firewall and LXD: it
//! runs only with CONTAINER_INIT_E2E=1 (a throwaway machine, as in `.ci/run`).

#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod support;

use std::fs;
use std::path::Path;
use std::process::{Command, Output};
use std::time::Instant;

use support::e2e_host::{
    Dockerd, TestHost, install_packages, lxc_net_stopped, lxd_busybox_image, lxd_guest_state, must, sh, text,
    wait_for,
};

const NETNS: &str = "ci-td-host";
const HOST_IF: &str = "ci-td-h0";
const BODY: &str = "container-init teardown e2e ok";
const GUEST: &str = "ci-td-lxd";
const IMAGE: &str = "ci-td-busybox";
const OPERATOR_KEY: &str = "user.ci-operator";

fn tool(args: &[&str]) -> Output {
    support::system::tool(args)
}

/// The guest, image and profile key this test made, gone again however it ends.
struct Made;

impl Drop for Made {
    fn drop(&mut self) {
        let _ = sh(&format!(
            "lxc delete --force {GUEST} 2>/dev/null; lxc image delete {IMAGE} 2>/dev/null;
             lxc profile unset default {OPERATOR_KEY} 2>/dev/null; true"
        ));
    }
}

/// Docker answering, started as at boot (forwarding off) unless it runs.
fn docker_first(work: &Path) -> Option<Dockerd> {
    if sh("docker version >/dev/null 2>&1").status.success() {
        return None;
    }
    must("echo 0 > /proc/sys/net/ipv4/ip_forward");
    Some(Dockerd::start("ci-td", work))
}

/// LXD running without a record of the tool and without the bridge, pool
/// and profile devices earlier tests left, so that setup makes them here;
/// lxc-net stopped, so that setup starts it; the tool's own files gone.
fn fresh_for_setup() {
    for ty in ["lxd", "lxc"] {
        // Whatever earlier runs recorded goes back first, where it can.
        let _ = tool(&["teardown", ty]);
    }
    let out = tool(&["setup", "lxd"]);
    assert_eq!(out.status.code(), Some(0), "setup lxd: {}", text(&out));
    must(&format!(
        "rm -f /var/lib/container-init/record.json /var/lib/container-init/proxy.json \
               /etc/sysctl.d/60-container-init.conf
         lxc delete --force {GUEST} >/dev/null 2>&1 || true
         lxc image delete {IMAGE} >/dev/null 2>&1 || true
         lxc profile device remove default eth0 >/dev/null 2>&1 || true
         lxc profile device remove default root >/dev/null 2>&1 || true
         lxc network delete lxdbr0 >/dev/null
         lxc storage delete default >/dev/null"
    ));
    lxc_net_stopped();
}

/// A guest launched from the busybox image, with its lease, that gets out.
fn guest_gets_out(work: &Path, test_host: &TestHost) {
    lxd_busybox_image(work, IMAGE);
    must(&format!("lxc launch {IMAGE} {GUEST} --quiet"));
    wait_for(
        "the guest's lease",
        90,
        || {
            sh(&format!("lxc list {GUEST} --format csv -c 4 | grep -q eth0"))
                .status
                .success()
        },
        || lxd_guest_state(GUEST),
    );
    let exec = format!("lxc exec {GUEST} --");
    wait_for(
        "the guest to reach the test host",
        30,
        || test_host.serves_page(&exec),
        || lxd_guest_state(GUEST),
    );
}

/// Everything setup may touch, as text: the rulesets without counters, the
/// forwarding sysctls, /etc/sysctl.d, /etc/default/lxc-net and /etc/apt.
fn snapshot() -> String {
    must(
        "{ iptables-nft-save; if grep -q . /proc/net/ip_tables_names; then iptables-legacy-save; fi; } \
           | sed -E -e '/^#/d' -e 's/\\[[0-9]+:[0-9]+\\]//'
         nft -s list ruleset
         for k in net/ipv4/ip_forward net/ipv4/conf/all/forwarding net/ipv4/conf/all/proxy_arp \
                  net/ipv6/conf/all/forwarding; do echo \"$k=$(cat /proc/sys/$k)\"; done
         find /etc/sysctl.d /etc/apt /etc/default/lxc-net -type f -exec sha256sum {} + 2>/dev/null | sort
         find /etc/sysctl.d /etc/apt /etc/default/lxc-net -printf '%p %m\\n' 2>/dev/null | sort",
    )
}

/// Two snapshots' difference, as `diff -u` shows it.
fn differences(before: &str, after: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("before"), before).unwrap();
    fs::write(dir.path().join("after"), after).unwrap();
    let out = Command::new("diff")
        .arg("-u")
        .args([dir.path().join("before"), dir.path().join("after")])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn assert_same(before: &str, after: &str, what: &str) {
    assert!(before == after, "{what}:\n{}", differences(before, after));
}

fn json(out: &Output) -> serde_json::Value {
    support::system::json(out)
}

fn lxd_has(what: &str) -> bool {
    sh(&format!("lxc {what} >/dev/null 2>&1")).status.success()
}

#[test]
fn teardown_gives_back_the_host_setup_found_next_to_docker() {
    if !support::system::e2e() {
        return;
    }
    let started = Instant::now();
    let work = tempfile::tempdir().unwrap();
    install_packages();
    let _made = Made;
    let _docker = docker_first(work.path());
    fresh_for_setup();
    let test_host = TestHost::start(NETNS, HOST_IF, BODY, &work.path().join("www"));

    let found = snapshot();
    for ty in ["lxd", "lxc"] {
        let out = tool(&["setup", ty, "--output", "json"]);
        assert_eq!(out.status.code(), Some(0), "setup {ty}: {}", text(&out));
    }
    guest_gets_out(work.path(), &test_host);

    // A guest: refused, naming it, and nothing changes.
    let set_up = snapshot();
    let out = tool(&["teardown", "lxd"]);
    assert_eq!(out.status.code(), Some(69), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(GUEST),
        "{}",
        text(&out)
    );
    assert_same(&set_up, &snapshot(), "a refused teardown changed the host");
    assert!(lxd_has("network show lxdbr0"));

    // Without guests: the host as setup found it.
    must(&format!(
        "lxc delete --force {GUEST}; lxc image delete {IMAGE}; lxc profile set default {OPERATOR_KEY} kept"
    ));
    for ty in ["lxd", "lxc"] {
        let out = tool(&["teardown", ty, "--output", "json"]);
        assert_eq!(out.status.code(), Some(0), "teardown {ty}: {}", text(&out));
        assert_eq!(json(&out)["changed"], true, "teardown {ty}: {}", text(&out));
    }
    assert_same(
        &found,
        &snapshot(),
        "teardown did not give back the host setup found",
    );
    assert!(
        !lxd_has("network show lxdbr0"),
        "the bridge setup made is still there"
    );
    assert!(
        !lxd_has("storage show default"),
        "the pool setup made is still there"
    );
    let devices = must("lxc profile device list default");
    assert!(
        !devices.lines().any(|d| d == "eth0" || d == "root"),
        "the profile devices setup added are still there: {devices}"
    );
    assert_eq!(
        must(&format!("lxc profile get default {OPERATOR_KEY}")).trim(),
        "kept"
    );

    // A second teardown changes nothing.
    for ty in ["lxd", "lxc"] {
        let out = tool(&["teardown", ty, "--output", "json"]);
        assert_eq!(out.status.code(), Some(0), "teardown {ty}: {}", text(&out));
        assert_eq!(
            json(&out)["changed"],
            false,
            "second teardown {ty}: {}",
            text(&out)
        );
    }
    assert_same(&found, &snapshot(), "a second teardown changed the host");

    // And setup works as on a fresh host.
    for ty in ["lxd", "lxc"] {
        let out = tool(&["setup", ty, "--output", "json"]);
        assert_eq!(out.status.code(), Some(0), "setup {ty} again: {}", text(&out));
    }
    guest_gets_out(work.path(), &test_host);
    let _ = write_stderr(&format!(
        "e2e_teardown took {:.0}s",
        started.elapsed().as_secs_f64()
    ));
}

/// A line on stderr that the test runner's capture does not swallow.
fn write_stderr(line: &str) -> std::io::Result<()> {
    use std::io::Write;
    writeln!(std::io::stderr(), "{line}")
}
