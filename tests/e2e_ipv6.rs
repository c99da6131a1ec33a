//! End to end, on this machine: `bridge-ipv6: auto` gives guests IPv6.
//!
//! A test uplink (a veth into a private network namespace on the
//! documentation prefix 2001:db8:1::/64) gets its IPv6 default route from
//! `radvd` in that namespace, which is also the IPv6 test host. `setup lxc`,
//! `setup lxd` and `setup incus` with `--bridge-ipv6 auto` then give a busybox
//! guest of each a global (ULA) address from the bridge's router
//! advertisements, and each guest reaches the test host through NAT66. The
//! uplink keeps its default route with forwarding on (`accept_ra=2`), past
//! the route's lifetime; reruns change nothing. Nothing is sent anywhere but
//! to that namespace: its default route is given a metric behind the host's own.
//!
//! This installs packages and changes the machine's network: it runs only
//! with CONTAINER_INIT_E2E=1 (a throwaway machine, as in `.ci/run`), under the
//! host lock, as one test function, so its steps are in order. It puts the
//! bridges' IPv6, lxc-net's file and the IPv6 sysctls back when it ends.

#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod support;

use std::fs;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use support::e2e_host::{self, lxc_net_stopped, must, sh, text};

const NETNS: &str = "ci-v6-rtr";
const UPLINK: &str = "ci-v6-up";
const TEST_HOST: &str = "2001:db8:1::1";
const BODY: &str = "container-init ipv6 e2e ok";
/// The router's advertised lifetime for its default route: short, so that
/// the test sees the route outlive it only through new advertisements.
const ROUTER_LIFETIME: u64 = 12;
const LXC_GUEST: &str = "ci-v6-lxc";
const LXD_GUEST: &str = "ci-v6-lxd";
const INCUS_GUEST: &str = "ci-v6-incus";
const IMAGE: &str = "ci-v6-busybox";
const SYSCTL_FILE: &str = "/etc/sysctl.d/60-container-init-ipv6.conf";

fn tool(args: &[&str]) -> Output {
    support::system::tool(args)
}

/// Everything a red run needs to say why: the host's and the guests' IPv6,
/// the dnsmasq processes and what they were told, the rulesets.
fn diagnostics() -> String {
    let out = sh(&format!(
        "exec 2>&1
         echo '--- host ip -6 addr'; ip -6 addr
         echo '--- host ip -6 route'; ip -6 route
         echo '--- forwarding, accept_ra'; grep . /proc/sys/net/ipv6/conf/all/forwarding /proc/sys/net/ipv6/conf/*/accept_ra || true
         echo '--- dnsmasq'; ps -eo pid,args | grep '[d]nsmasq' || true
         echo '--- radvd'; ps -eo pid,args | grep '[r]advd' || true
         echo '--- /etc/default/lxc-net'; cat /etc/default/lxc-net || true
         echo '--- LXC guest'; lxc-attach -n {LXC_GUEST} -- sh -c 'ip -6 addr; ip -6 route' || true
         echo '--- LXD guest'; lxc exec {LXD_GUEST} -- sh -c 'ip -6 addr; ip -6 route' || true
         echo '--- Incus guest'; incus exec {INCUS_GUEST} -- sh -c 'ip -6 addr; ip -6 route' || true
         echo '--- namespace'; ip -n {NETNS} -6 addr; ip -n {NETNS} -6 route
         echo '--- ip6tables-save'; ip6tables-save 2>/dev/null | sed '/^#/d' || true
         echo '--- nft'; nft list ruleset || true
         true"
    ));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The shared wait, saying this test's IPv6 state besides the host's.
fn wait_for(what: &str, secs: u64, ready: impl FnMut() -> bool) {
    e2e_host::wait_for(what, secs, ready, diagnostics);
}

/// A value under /proc/sys, trimmed.
fn sysctl(path: &str) -> String {
    fs::read_to_string(path).unwrap_or_default().trim().to_string()
}

/// What this test started or changed, put back however the test ends.
struct Machine {
    radvd: Option<Child>,
    httpd: Option<Child>,
    forwarding_before: String,
    sysctl_file_before: Option<String>,
}

impl Machine {
    /// No guest, namespace or link of an earlier, interrupted run in the way,
    /// and lxc-net stopped: setup starts it with its new file.
    fn fresh() -> Machine {
        let machine = Machine {
            radvd: None,
            httpd: None,
            forwarding_before: sysctl("/proc/sys/net/ipv6/conf/all/forwarding"),
            sysctl_file_before: fs::read_to_string(SYSCTL_FILE).ok(),
        };
        clean_guests();
        let _ = sh(&format!(
            "ip netns del {NETNS} 2>/dev/null; ip link del {UPLINK} 2>/dev/null; true"
        ));
        lxc_net_stopped();
        machine
    }
}

fn clean_guests() {
    let _ = sh(&format!(
        "lxc-stop -k -n {LXC_GUEST} 2>/dev/null; lxc-destroy -n {LXC_GUEST} 2>/dev/null;
         lxc delete --force {LXD_GUEST} 2>/dev/null; lxc image delete {IMAGE} 2>/dev/null;
         incus delete --force {INCUS_GUEST} 2>/dev/null; incus image delete {IMAGE} 2>/dev/null;
         true"
    ));
}

impl Drop for Machine {
    fn drop(&mut self) {
        clean_guests();
        for child in [self.radvd.take(), self.httpd.take()].into_iter().flatten() {
            let mut child = child;
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = sh(&format!(
            "ip netns del {NETNS} 2>/dev/null; ip link del {UPLINK} 2>/dev/null;
             lxc network set lxdbr0 ipv6.address=none 2>/dev/null; lxc network unset lxdbr0 ipv6.nat 2>/dev/null;
             incus network set incusbr0 ipv6.address=none 2>/dev/null; incus network unset incusbr0 ipv6.nat 2>/dev/null;
             true"
        ));
        lxc_net_stopped();
        // lxc-net's own file back (or none, as before setup wrote one).
        let _ = tool(&["lxc-net", "restore"]);
        match &self.sysctl_file_before {
            Some(content) => {
                let _ = fs::write(SYSCTL_FILE, content);
            }
            None => {
                let _ = fs::remove_file(SYSCTL_FILE);
            }
        }
        let _ = fs::write("/proc/sys/net/ipv6/conf/all/forwarding", &self.forwarding_before);
    }
}

fn install_packages() {
    must(
        "export DEBIAN_FRONTEND=noninteractive
         missing=
         for p in radvd busybox-static lxc dnsmasq-base; do
           dpkg -s $p >/dev/null 2>&1 || missing=\"$missing $p\"
         done
         [ -z \"$missing\" ] && exit 0
         # No daemon may start on its own: the test starts radvd in its namespace.
         policy=/usr/sbin/policy-rc.d
         made=
         if [ ! -e $policy ]; then printf '#!/bin/sh\\nexit 101\\n' > $policy; chmod +x $policy; made=1; fi
         rc=0
         apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends $missing >/dev/null || rc=$?
         [ -z \"$made\" ] || rm -f $policy
         exit $rc",
    );
}

/// The test uplink and, behind it, the router that advertises its default
/// route and the test host it leads to.
fn uplink(machine: &mut Machine, work: &Path) {
    must(&format!(
        "ip netns add {NETNS}
         ip link add {UPLINK} type veth peer name eth0 netns {NETNS}
         # Taken from advertisements by the kernel, behind the host's own default route.
         echo 1 > /proc/sys/net/ipv6/conf/{UPLINK}/accept_ra
         echo 4000 > /proc/sys/net/ipv6/conf/{UPLINK}/ra_defrtr_metric
         ip link set {UPLINK} up
         ip netns exec {NETNS} sh -c 'echo 1 > /proc/sys/net/ipv6/conf/all/forwarding'
         ip -n {NETNS} addr add {TEST_HOST}/64 dev eth0 nodad
         ip -n {NETNS} link set eth0 up
         ip -n {NETNS} link set lo up"
    ));
    let conf = work.join("radvd.conf");
    fs::write(
        &conf,
        format!(
            "interface eth0 {{\n  AdvSendAdvert on;\n  MinRtrAdvInterval 3;\n  MaxRtrAdvInterval 4;\n  \
             AdvDefaultLifetime {ROUTER_LIFETIME};\n  prefix 2001:db8:1::/64 {{ AdvOnLink on; AdvAutonomous on; }};\n}};\n"
        ),
    )
    .unwrap();
    let log = fs::File::create(work.join("radvd.log")).unwrap();
    machine.radvd = Some(
        Command::new("ip")
            .args(["netns", "exec", NETNS, "radvd", "-n", "-m", "stderr", "-C"])
            .arg(&conf)
            .arg("-p")
            .arg(work.join("radvd.pid"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap(),
    );
    let www = work.join("www");
    fs::create_dir_all(&www).unwrap();
    fs::write(www.join("index.html"), format!("{BODY}\n")).unwrap();
    machine.httpd = Some(
        Command::new("ip")
            .args([
                "netns", "exec", NETNS, "busybox", "httpd", "-f", "-p", "[::]:80", "-h",
            ])
            .arg(&www)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_for("the uplink's default route from radvd", 30, ra_route);
    wait_for("the test host from the host", 30, || reaches_test_host(""));
}

/// The uplink's default route, as the kernel took it from an advertisement.
fn ra_route() -> bool {
    let out = sh(&format!("ip -6 route show default dev {UPLINK} proto ra"));
    out.status.success() && !out.stdout.is_empty()
}

/// A ping and a page from the test host over IPv6 TCP, from `exec` (a
/// guest's `exec` prefix, or the host with an empty one).
fn reaches_test_host(exec: &str) -> bool {
    sh(&format!(
        "{exec} busybox ping -6 -c 1 -W 3 {TEST_HOST} >/dev/null 2>&1 && \
         printf 'GET / HTTP/1.0\\r\\n\\r\\n' | {exec} busybox nc -w 5 {TEST_HOST} 80 2>/dev/null | grep -q '{BODY}'"
    ))
    .status
    .success()
}

/// The guest's global IPv6 address on eth0, once it has configured one from
/// the bridge's advertisements (SLAAC), in the bridge's ULA /64.
fn has_global_ipv6(exec: &str) -> bool {
    let out = sh(&format!("{exec} ip -6 addr show dev eth0"));
    String::from_utf8_lossy(&out.stdout).contains("inet6 fd")
}

fn setup(ty: &str) -> serde_json::Value {
    let out = tool(&["setup", ty, "--bridge-ipv6", "auto", "--output", "json"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "setup {ty}: {}\n{}",
        text(&out),
        diagnostics()
    );
    support::system::json(&out)
}

fn step<'a>(report: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no step {name}: {report:#}"))
}

/// Set up `ty` with IPv6, start a busybox guest through `start`, and prove
/// that it gets an address from the advertisements and out through NAT66;
/// a rerun changes nothing.
fn guest_gets_ipv6_and_out(ty: &str, start: &str, exec: &str) {
    let first = setup(ty);
    let readiness = step(&first, "readiness")["detail"].as_str().unwrap().to_string();
    assert!(
        readiness.contains("net.ipv6.conf.all.forwarding=1"),
        "{readiness}"
    );
    // Said, not asserted yet: the check tells dnsmasq's advertisements from
    // its command line and config file, and warns (never fails) without them.
    let ra = readiness
        .split("; ")
        .find(|part| part.contains("router advertisements"))
        .unwrap_or("no router-advertisements line");
    eprintln!("{ty} readiness: {ra}");
    must(start);
    wait_for(
        &format!("the {ty} guest's IPv6 address from router advertisements"),
        90,
        || has_global_ipv6(exec),
    );
    wait_for(
        &format!("the test host from the {ty} guest through NAT66"),
        60,
        || reaches_test_host(exec),
    );
    let again = setup(ty);
    assert_eq!(again["changed"], false, "setup {ty} again: {again:#}");
    let addr = sh(&format!("{exec} ip -6 addr show dev eth0"));
    let global = String::from_utf8_lossy(&addr.stdout)
        .lines()
        .find(|l| l.contains("inet6 fd"))
        .unwrap_or_default()
        .trim()
        .to_string();
    eprintln!("{ty} guest: {global}; reached {TEST_HOST} through NAT66; rerun unchanged");
}

#[test]
#[ignore = "end-to-end: changes this machine; CONTAINER_INIT_E2E=1 cargo test -- --include-ignored (.ci/run)"]
fn bridge_ipv6_auto_gives_lxc_lxd_and_incus_guests_ipv6_through_nat66_and_the_uplink_keeps_its_route() {
    if !support::system::e2e() {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    install_packages();
    let mut machine = Machine::fresh();
    uplink(&mut machine, work.path());

    // LXC first: its setup is the first to turn IPv6 forwarding on.
    let first = setup("lxc");
    let prepared = step(&first, "ipv6-forwarding")["detail"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        prepared.contains(&format!("{UPLINK} accept_ra=2 (was 1)")),
        "{prepared}"
    );
    assert_eq!(
        sysctl(&format!("/proc/sys/net/ipv6/conf/{UPLINK}/accept_ra")),
        "2"
    );
    assert_eq!(sysctl("/proc/sys/net/ipv6/conf/all/forwarding"), "1");
    let persisted = fs::read_to_string(SYSCTL_FILE).unwrap();
    assert!(
        persisted.contains(&format!("net/ipv6/conf/{UPLINK}/accept_ra = 2\n"))
            && persisted.contains("net.ipv6.conf.all.forwarding = 1\n"),
        "{persisted}"
    );
    let forwarding_on = Instant::now();
    let console = work.path().join("lxc-console.log");
    guest_gets_ipv6_and_out(
        "lxc",
        &format!(
            "lxc-create -q -n {LXC_GUEST} -t busybox >/dev/null && lxc-start -n {LXC_GUEST} -L {}",
            console.display()
        ),
        &format!("lxc-attach -n {LXC_GUEST} --"),
    );

    // The uplink kept its route past its lifetime: the kernel still takes
    // the router's advertisements with forwarding on.
    let lived = forwarding_on.elapsed();
    let left = Duration::from_secs(ROUTER_LIFETIME + 6).saturating_sub(lived);
    std::thread::sleep(left);
    assert!(
        ra_route(),
        "the uplink lost its default route with forwarding on\n{}",
        diagnostics()
    );

    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/busybox-image.sh");
    for (ty, client, guest) in [("lxd", "lxc", LXD_GUEST), ("incus", "incus", INCUS_GUEST)] {
        // The daemon and bridge first, so that the image can be imported.
        setup(ty);
        must(&format!(
            "sh {} {} {IMAGE} {client} >/dev/null",
            script.display(),
            work.path().join(format!("image-{ty}")).display()
        ));
        guest_gets_ipv6_and_out(
            ty,
            &format!("{client} launch {IMAGE} {guest} --quiet"),
            &format!("{client} exec {guest} --"),
        );
    }
    assert!(ra_route(), "{}", diagnostics());
    eprintln!(
        "{UPLINK} kept its default route from radvd {}s after forwarding went on (router lifetime {ROUTER_LIFETIME}s)",
        forwarding_on.elapsed().as_secs()
    );
}
