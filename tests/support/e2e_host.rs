//! What the end-to-end tests share on this machine: shell steps that fail
//! with their output, waits that say what the host looked like when they
//! gave up, the test host (a private namespace on TEST-NET serving one
//! page), Docker started as at boot, and lxc-net brought to a known state.
//! A red CI run must say why without a rerun: every wait that times out
//! prints [`diagnostics`].

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub fn text(out: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

pub fn sh(script: &str) -> Output {
    Command::new("sh").args(["-euc", script]).output().unwrap()
}

pub fn must(script: &str) -> String {
    let out = sh(script);
    assert!(out.status.success(), "`{script}` failed: {}", text(&out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Waits for `ready`; on a timeout fails with the host's state and
/// whatever `more` adds (a guest's console, its addresses).
pub fn wait_for(what: &str, secs: u64, mut ready: impl FnMut() -> bool, more: impl FnOnce() -> String) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !ready() {
        if Instant::now() >= deadline {
            panic!(
                "timed out after {secs}s waiting for {what}\n{}\n{}",
                more(),
                diagnostics()
            );
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// The host's network state, for a failure message: bridges and
/// addresses, who listens for DNS and DHCP, the dnsmasq processes,
/// lxc-net's settings and leases, forwarding, and the rulesets.
pub fn diagnostics() -> String {
    let out = sh("exec 2>&1
         echo '--- ip -br addr'; ip -br addr || true
         echo '--- ss -lnup (DNS, DHCP)'; ss -H -lnup | grep -E ':(53|67|547) ' || true
         echo '--- dnsmasq'; ps -eo pid,args | grep '[d]nsmasq' || true
         echo '--- /etc/default/lxc-net'; cat /etc/default/lxc-net || true
         echo '--- /run/lxc'; ls -l /run/lxc || true
         echo '--- leases'; cat /var/lib/misc/dnsmasq.*.leases || true
         echo '--- forwarding'; cat /proc/sys/net/ipv4/ip_forward || true
         echo '--- iptables-nft-save'; iptables-nft-save | grep -v '^#' || true
         echo '--- nft list ruleset'; nft list ruleset | head -150 || true");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Packages the end-to-end tests use, installed with no daemon started: each
/// test starts what it needs itself, as at boot.
pub fn install_packages() {
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

/// lxc-net stopped and its bridge gone, whatever an earlier run or the
/// machine's image left: a bridge left up without its dnsmasq takes
/// guests that never get an address.
pub fn lxc_net_stopped() {
    let _ = sh("service lxc-net stop >/dev/null 2>&1
         pid=$(cat /run/lxc/dnsmasq.pid 2>/dev/null) && kill $pid 2>/dev/null
         rm -f /run/lxc/network_up /run/lxc/dnsmasq.pid
         ip link del lxcbr0 2>/dev/null
         true");
}

/// The test host: a namespace behind a veth on 198.51.100.0/24 whose
/// busybox httpd serves `body`; removed again on drop.
pub struct TestHost {
    netns: &'static str,
    host_if: &'static str,
    pub address: &'static str,
    pub body: &'static str,
    httpd: Child,
}

impl TestHost {
    pub fn start(netns: &'static str, host_if: &'static str, body: &'static str, www: &Path) -> TestHost {
        let address = "198.51.100.2";
        let _ = sh(&format!(
            "ip netns del {netns} 2>/dev/null; ip link del {host_if} 2>/dev/null; true"
        ));
        fs::create_dir_all(www).unwrap();
        fs::write(www.join("index.html"), format!("{body}\n")).unwrap();
        must(&format!(
            "ip netns add {netns}
             ip link add {host_if} type veth peer name eth0 netns {netns}
             ip addr add 198.51.100.1/24 dev {host_if}
             ip link set {host_if} up
             ip -n {netns} addr add {address}/24 dev eth0
             ip -n {netns} link set eth0 up
             ip -n {netns} link set lo up"
        ));
        let httpd = Command::new("ip")
            .args(["netns", "exec", netns, "busybox", "httpd", "-f", "-p", "80", "-h"])
            .arg(www)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let host = TestHost {
            netns,
            host_if,
            address,
            body,
            httpd,
        };
        wait_for(
            "the test host's httpd",
            10,
            || host.serves_page("busybox"),
            String::new,
        );
        host
    }

    /// From inside a guest (`exec` runs a command there; `busybox` runs it
    /// on this machine): a page from the test host over TCP (busybox's nc:
    /// Debian's static busybox wget crashes).
    pub fn serves_page(&self, exec: &str) -> bool {
        sh(&format!(
            "printf 'GET / HTTP/1.0\\r\\n\\r\\n' | {exec} nc -w 5 {} 80 2>/dev/null | grep -q '{}'",
            self.address, self.body
        ))
        .status
        .success()
    }

    /// A ping and the page.
    pub fn reached_from(&self, exec: &str) -> bool {
        sh(&format!("{exec} ping -c 1 -W 3 {} >/dev/null 2>&1", self.address))
            .status
            .success()
            && self.serves_page(exec)
    }
}

impl Drop for TestHost {
    fn drop(&mut self) {
        let _ = self.httpd.kill();
        let _ = self.httpd.wait();
        let _ = sh(&format!(
            "ip netns del {} 2>/dev/null; ip link del {} 2>/dev/null; true",
            self.netns, self.host_if
        ));
    }
}

/// A dockerd this test started as at boot; stopped, with its rules taken
/// away as a reboot would, on drop.
pub struct Dockerd {
    child: Option<Child>,
    pidfile: String,
    log: PathBuf,
    saved: PathBuf,
}

impl Dockerd {
    /// Started and answering, as at boot: a dockerd the machine already
    /// runs (its service, or one an earlier run left) is stopped first, so
    /// that restarts and reboots below are this test's own.
    pub fn start(name: &str, work: &Path) -> Dockerd {
        stop_running_dockerd();
        let mut docker = Dockerd {
            child: None,
            pidfile: format!("/run/{name}-dockerd.pid"),
            log: work.join("dockerd.log"),
            saved: work.join("rules.v4"),
        };
        docker.restart();
        docker
    }

    pub fn restart(&mut self) {
        self.stop();
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        let child = Command::new("dockerd")
            .args(["--pidfile", &self.pidfile])
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        self.child = Some(child);
        let log = self.log.clone();
        wait_for(
            "dockerd to answer",
            90,
            || sh("docker version >/dev/null 2>&1").status.success(),
            || format!("--- dockerd.log\n{}", fs::read_to_string(log).unwrap_or_default()),
        );
    }

    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = sh(&format!("kill -TERM {}", child.id()));
            let deadline = Instant::now() + Duration::from_secs(30);
            while child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(200));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Docker's chains and rules gone and the `FORWARD` policy back to
    /// ACCEPT, as after a reboot; everyone else's rules stay.
    pub fn remove_rules(&self) {
        must(&self.remove_rules_script());
    }

    fn remove_rules_script(&self) -> String {
        format!(
            "iptables-nft-save > {s}
             grep -v -e DOCKER -e docker0 {s} | sed 's/^:FORWARD DROP/:FORWARD ACCEPT/' > {s}.clean
             iptables-nft-restore < {s}.clean
             ip link del docker0 2>/dev/null || true",
            s = self.saved.display()
        )
    }
}

impl Drop for Dockerd {
    fn drop(&mut self) {
        if self.child.is_some() {
            self.stop();
            // Not in a panic: the test's own failure is the one to see.
            let _ = sh(&self.remove_rules_script());
        }
    }
}

/// No dockerd answering: the machine's service stopped, any other dockerd
/// killed, and its socket gone.
pub fn stop_running_dockerd() {
    if !sh("docker version >/dev/null 2>&1").status.success() {
        return;
    }
    let _ = sh("service docker stop >/dev/null 2>&1; pkill -TERM -x dockerd; true");
    let gone = || !sh("pgrep -x dockerd >/dev/null").status.success();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !gone() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
    }
    if !gone() {
        let _ = sh("pkill -KILL -x dockerd; true");
    }
    wait_for(
        "the running dockerd to stop",
        10,
        || !sh("docker version >/dev/null 2>&1").status.success(),
        || must("ps -eo pid,args | grep '[d]ocker' || true"),
    );
}

/// The `FORWARD` policy line of iptables-nft's filter table.
pub fn forward_policy() -> String {
    must("iptables-nft-save -t filter | grep '^:FORWARD'")
}

/// Every ruleset, without counters and timestamps.
pub fn rulesets() -> String {
    must(
        // iptables-legacy-save would create the legacy tables it reads.
        "{ iptables-nft-save; if grep -q . /proc/net/ip_tables_names; then iptables-legacy-save; fi; } \
           | sed -E -e '/^#/d' -e 's/\\[[0-9]+:[0-9]+\\]//'
         nft -s list ruleset",
    )
}

/// The busybox image for LXD, made once under `work` and imported as `alias`.
pub fn lxd_busybox_image(work: &Path, alias: &str) {
    if sh(&format!("lxc image info {alias} >/dev/null 2>&1"))
        .status
        .success()
    {
        return;
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/busybox-image.sh");
    must(&format!(
        "sh {} {} {alias} >/dev/null",
        script.display(),
        work.join("image").display()
    ));
}

/// What LXD says of a guest, for a failure message.
pub fn lxd_guest_state(name: &str) -> String {
    let out = sh(&format!(
        "exec 2>&1; lxc list {name} --format csv; lxc info {name} --show-log | tail -30"
    ));
    format!("--- LXD guest {name}\n{}", String::from_utf8_lossy(&out.stdout))
}
