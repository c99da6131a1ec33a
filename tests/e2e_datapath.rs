//! End to end, on this machine: guests next to Docker get out.
//!
//! Docker is installed from Debian's `docker.io` and started first with
//! forwarding off, as at boot, so that it sets the iptables `FORWARD` policy
//! to `DROP`. A busybox LXD container and a busybox LXC container then get
//! DHCP leases on their bridges, and reach a test host (a private network
//! namespace on 198.51.100.0/24, behind a veth) through NAT only once
//! `setup` has opened their bridges; before, `check` names Docker. After
//! Docker restarts, plainly and as at a reboot (its rules gone, the
//! persisted sysctls applied first), the guests still get out without the
//! tool running again.
//! Nothing is sent anywhere but to that namespace.
//!
//! This installs packages and changes the machine's firewall: it runs only
//! with CONTAINER_INIT_E2E=1 (a throwaway machine, as in `.ci/run`), as one
//! test function, so its steps are in order.

#![allow(clippy::disallowed_methods)]

mod support;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const NETNS: &str = "ci-dp-host";
const HOST_IF: &str = "ci-dp-h0";
const TEST_HOST: &str = "198.51.100.2";
const BODY: &str = "container-init e2e ok";
const LXD_GUEST: &str = "ci-dp-lxd";
const LXC_GUEST: &str = "ci-dp-lxc";
const IMAGE: &str = "ci-dp-busybox";

fn tool(args: &[&str]) -> Output {
    Command::new(assert_cmd::cargo::cargo_bin("container-init"))
        .args(args)
        .env_remove("CONTAINER_INIT_ROOT")
        .env_remove("CONTAINER_INIT_CONFIG")
        .output()
        .unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn sh(script: &str) -> Output {
    Command::new("sh").args(["-euc", script]).output().unwrap()
}

fn must(script: &str) -> String {
    let out = sh(script);
    assert!(out.status.success(), "`{script}` failed: {}", text(&out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn wait_for(what: &str, secs: u64, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !ready() {
        assert!(
            Instant::now() < deadline,
            "timed out after {secs}s waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// What this test started, stopped again however the test ends.
struct Machine {
    work: PathBuf,
    dockerd: Option<Child>,
    httpd: Option<Child>,
}

impl Machine {
    fn start_dockerd(&mut self) {
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.work.join("dockerd.log"))
            .unwrap();
        let child = Command::new("dockerd")
            .args(["--pidfile", "/run/ci-dp-dockerd.pid"])
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        self.dockerd = Some(child);
        wait_for("dockerd to answer", 90, || {
            sh("docker version >/dev/null 2>&1").status.success()
        });
    }

    fn stop_dockerd(&mut self) {
        if let Some(mut child) = self.dockerd.take() {
            let _ = sh(&format!("kill -TERM {}", child.id()));
            let deadline = Instant::now() + Duration::from_secs(30);
            while child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(200));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Docker's chains and rules gone and the `FORWARD` policy back to ACCEPT,
/// as after a reboot; everyone else's rules stay.
fn remove_dockers_rules(work: &Path) {
    let saved = work.join("rules.v4");
    must(&format!(
        "iptables-nft-save > {s}
         grep -v -e DOCKER -e docker0 {s} | sed 's/^:FORWARD DROP/:FORWARD ACCEPT/' > {s}.clean
         iptables-nft-restore < {s}.clean
         ip link del docker0 2>/dev/null || true",
        s = saved.display()
    ));
}

impl Drop for Machine {
    fn drop(&mut self) {
        let _ = sh(&format!(
            "lxc delete --force {LXD_GUEST} 2>/dev/null; lxc image delete {IMAGE} 2>/dev/null;
             lxc-stop -k -n {LXC_GUEST} 2>/dev/null; lxc-destroy -n {LXC_GUEST} 2>/dev/null;
             service lxc-net stop 2>/dev/null; true"
        ));
        self.stop_dockerd();
        remove_dockers_rules(&self.work);
        if let Some(mut httpd) = self.httpd.take() {
            let _ = httpd.kill();
            let _ = httpd.wait();
        }
        let _ = sh(&format!(
            "ip netns del {NETNS} 2>/dev/null; ip link del {HOST_IF} 2>/dev/null; true"
        ));
    }
}

fn install_packages() {
    // No daemon may start on its own: the test starts Docker as at boot.
    must(
        "export DEBIAN_FRONTEND=noninteractive
         policy=/usr/sbin/policy-rc.d
         made=
         if [ ! -e $policy ]; then printf '#!/bin/sh\\nexit 101\\n' > $policy; chmod +x $policy; made=1; fi
         rc=0
         apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends \
           docker.io iptables nftables lxc dnsmasq-base busybox-static >/dev/null || rc=$?
         [ -z \"$made\" ] || rm -f $policy
         exit $rc",
    );
}

/// The test host: a namespace behind a veth, serving one page.
fn test_host(machine: &mut Machine) {
    let _ = sh(&format!(
        "ip netns del {NETNS} 2>/dev/null; ip link del {HOST_IF} 2>/dev/null; true"
    ));
    let www = machine.work.join("www");
    fs::create_dir_all(&www).unwrap();
    fs::write(www.join("index.html"), format!("{BODY}\n")).unwrap();
    must(&format!(
        "ip netns add {NETNS}
         ip link add {HOST_IF} type veth peer name eth0 netns {NETNS}
         ip addr add 198.51.100.1/24 dev {HOST_IF}
         ip link set {HOST_IF} up
         ip -n {NETNS} addr add {TEST_HOST}/24 dev eth0
         ip -n {NETNS} link set eth0 up
         ip -n {NETNS} link set lo up"
    ));
    let httpd = Command::new("ip")
        .args(["netns", "exec", NETNS, "busybox", "httpd", "-f", "-p", "80", "-h"])
        .arg(&www)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    machine.httpd = Some(httpd);
    wait_for("the test host's httpd", 10, || reaches_test_host("busybox"));
}

/// From inside a guest: a ping, and a page from the test host over TCP
/// (busybox's nc: Debian's static busybox wget crashes).
fn reaches_test_host(exec: &str) -> bool {
    sh(&format!(
        "{exec} ping -c 1 -W 3 {TEST_HOST} >/dev/null 2>&1 && \
         printf 'GET / HTTP/1.0\\r\\n\\r\\n' | {exec} nc -w 5 {TEST_HOST} 80 2>/dev/null | grep -q '{BODY}'"
    ))
    .status
    .success()
}

fn lxd_exec() -> String {
    format!("lxc exec {LXD_GUEST} --")
}

fn lxc_exec() -> String {
    format!("lxc-attach -n {LXC_GUEST} --")
}

fn forward_policy() -> String {
    must("iptables-nft-save -t filter | grep '^:FORWARD'")
}

/// Every ruleset, without counters and timestamps.
fn rulesets() -> String {
    must(
        // iptables-legacy-save would create the legacy tables it reads.
        "{ iptables-nft-save; if grep -q . /proc/net/ip_tables_names; then iptables-legacy-save; fi; } \
           | sed -E -e '/^#/d' -e 's/\\[[0-9]+:[0-9]+\\]//'
         nft -s list ruleset",
    )
}

fn setup_json(ty: &str) -> serde_json::Value {
    let out = tool(&["setup", ty, "--output", "json"]);
    assert_eq!(out.status.code(), Some(0), "setup {ty}: {}", text(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn guests_next_to_docker_get_out_after_setup_and_after_dockers_reboot() {
    if !support::system::e2e() {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let mut machine = Machine {
        work: work.path().to_path_buf(),
        dockerd: None,
        httpd: None,
    };
    install_packages();
    test_host(&mut machine);

    // As at boot: forwarding off, Docker first.
    must("echo 0 > /proc/sys/net/ipv4/ip_forward");
    machine.start_dockerd();
    assert!(forward_policy().contains(":FORWARD DROP"), "{}", forward_policy());

    // Setup up to the firewall, which it may not touch: the bridges exist.
    let hands_off = work.path().join("config.yaml");
    fs::write(&hands_off, "manage-firewall: false\n").unwrap();
    let config = hands_off.to_str().unwrap();
    for ty in ["lxd", "lxc"] {
        let out = tool(&["--config", config, "setup", ty]);
        assert_eq!(out.status.code(), Some(69), "setup {ty}: {}", text(&out));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("Docker drops"), "{stderr}");
        assert!(stderr.contains("manage-firewall is false"), "{stderr}");
        let out = tool(&["check", ty]);
        assert_eq!(out.status.code(), Some(69), "check {ty}: {}", text(&out));
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            stdout
                .lines()
                .any(|l| l.starts_with("FAIL  firewall") && l.contains("Docker drops")),
            "{stdout}"
        );
    }

    // The guests: a lease each, but no way out yet.
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/busybox-image.sh");
    must(&format!(
        "sh {} {} {IMAGE} >/dev/null",
        script.display(),
        work.path().join("image").display()
    ));
    must(&format!("lxc launch {IMAGE} {LXD_GUEST} --quiet"));
    must(&format!(
        "lxc-create -q -n {LXC_GUEST} -t busybox >/dev/null && lxc-start -n {LXC_GUEST}"
    ));
    wait_for("the LXD guest's lease", 90, || {
        sh(&format!("lxc list {LXD_GUEST} --format csv -c 4 | grep -q eth0"))
            .status
            .success()
    });
    wait_for("the LXC guest's lease", 90, || {
        !must(&format!("lxc-info -n {LXC_GUEST} -iH")).trim().is_empty()
    });
    assert!(
        !reaches_test_host(&lxd_exec()),
        "the LXD guest got out before setup"
    );
    assert!(
        !reaches_test_host(&lxc_exec()),
        "the LXC guest got out before setup"
    );

    // Setup opens both bridges; the guests get out.
    for ty in ["lxd", "lxc"] {
        let doc = setup_json(ty);
        let coexistence = doc["steps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == "coexistence")
            .unwrap()
            .clone();
        assert_eq!(coexistence["status"], "changed", "{doc}");
        assert!(
            coexistence["detail"].as_str().unwrap().contains("Docker opened"),
            "{doc}"
        );
    }
    assert!(
        reaches_test_host(&lxd_exec()),
        "the LXD guest cannot get out after setup"
    );
    assert!(
        reaches_test_host(&lxc_exec()),
        "the LXC guest cannot get out after setup"
    );
    for ty in ["lxd", "lxc"] {
        let out = tool(&["check", ty]);
        assert_eq!(out.status.code(), Some(0), "check {ty}: {}", text(&out));
    }

    // Reruns converge and leave every rule as it was.
    let before = rulesets();
    for ty in ["lxd", "lxc"] {
        let doc = setup_json(ty);
        assert_eq!(doc["changed"], false, "{doc}");
    }
    assert_eq!(rulesets(), before, "a converged setup changed a ruleset");

    // A plain restart of Docker keeps DOCKER-USER and the rules in it.
    machine.stop_dockerd();
    machine.start_dockerd();
    assert!(forward_policy().contains(":FORWARD DROP"), "{}", forward_policy());
    assert!(
        reaches_test_host(&lxd_exec()),
        "the LXD guest cannot get out after Docker restarted"
    );
    assert!(
        reaches_test_host(&lxc_exec()),
        "the LXC guest cannot get out after Docker restarted"
    );

    // Docker restarts as at a reboot: its rules gone, sysctl.d applied before it starts.
    machine.stop_dockerd();
    remove_dockers_rules(work.path());
    must("echo 0 > /proc/sys/net/ipv4/ip_forward; sysctl -q --system >/dev/null");
    assert_eq!(must("cat /proc/sys/net/ipv4/ip_forward").trim(), "1");
    machine.start_dockerd();
    assert!(
        forward_policy().contains(":FORWARD ACCEPT"),
        "Docker set the FORWARD policy although forwarding was on: {}",
        forward_policy()
    );
    assert!(
        reaches_test_host(&lxd_exec()),
        "the LXD guest cannot get out after Docker's reboot"
    );
    assert!(
        reaches_test_host(&lxc_exec()),
        "the LXC guest cannot get out after Docker's reboot"
    );
}
