//! What cuts a NAT bridge's guests off besides the firewall, on fake hosts:
//! forwarding someone turned off, and DNS/DHCP ports another process holds.

#![allow(clippy::disallowed_methods)] // tests build and inspect fake hosts directly

mod support;

use serde_json::json;
use support::fake_host::*;

/// lxc-net running with its bridge up, as a finished `setup lxc` leaves it.
fn lxc_host() -> FakeHost {
    let host = FakeHost::new(DEBIAN_12).with_systemd();
    host.installed(&["lxc", "dnsmasq-base"]);
    host.update_state(json!({"running": ["lxc-net"]}));
    host.bridge_up("lxcbr0", "10.0.3.1/24");
    host
}

#[test]
fn forwarding_reset_under_lxc_net_is_turned_back_on_and_persisted() {
    let host = lxc_host();
    host.write("proc/sys/net/ipv4/ip_forward", "0\n");
    let run = json_run(&host, &["setup", "lxc"]);
    assert_eq!(run.code, Some(0), "{run}");
    assert_eq!(run.status_of("nat-forwarding"), "changed", "{run}");
    assert!(
        detail(&run, "nat-forwarding").contains("net.ipv4.ip_forward=1 (was 0) for lxcbr0's NAT"),
        "{run}"
    );
    assert_eq!(host.read("proc/sys/net/ipv4/ip_forward"), "1\n");
    let persisted = host.read("etc/sysctl.d/60-container-init.conf");
    assert!(persisted.contains("net.ipv4.ip_forward = 1\n"), "{persisted}");
    // Proxy ARP is `forwarding enable`'s, not this step's.
    assert_eq!(host.read("proc/sys/net/ipv4/conf/all/proxy_arp"), "0\n");
    assert!(!persisted.contains("proxy_arp"), "{persisted}");
    let record = host.read("var/lib/container-init/record.json");
    assert!(record.contains("\"key\": \"net.ipv4.ip_forward\""), "{record}");

    let again = json_run(&host, &["setup", "lxc"]);
    assert_eq!(again.code, Some(0), "{again}");
    assert_eq!(again.status_of("nat-forwarding"), "unchanged", "{again}");
    assert_eq!(again.json()["changed"], false, "{again}");
}

#[test]
fn a_dry_run_plans_forwarding_and_changes_nothing() {
    let host = lxc_host();
    host.write("proc/sys/net/ipv4/ip_forward", "0\n");
    let run = json_run(&host, &["--dry-run", "setup", "lxc"]);
    assert_eq!(run.code, Some(0), "{run}");
    assert_eq!(run.status_of("nat-forwarding"), "would-change", "{run}");
    assert_eq!(host.read("proc/sys/net/ipv4/ip_forward"), "0\n");
    assert!(!host.path("etc/sysctl.d/60-container-init.conf").exists());
}

#[test]
fn a_bridge_without_nat_needs_no_forwarding() {
    let host = FakeHost::new(DEBIAN_12).with_systemd();
    host.installed(&["lxd"]);
    host.update_state(json!({
        "running": ["lxd"],
        "networks": {"lxdbr0": {"ipv4.address": "10.147.2.1/24", "ipv4.nat": "false", "ipv6.address": "none"}},
        "pools": ["default"],
        "profile": {"devices": {
            "root": {"type": "disk", "path": "/", "pool": "default"},
            "eth0": {"type": "nic", "network": "lxdbr0", "name": "eth0"}
        }}
    }));
    host.bridge_up("lxdbr0", "10.147.2.1/24");
    host.write("proc/sys/net/ipv4/ip_forward", "0\n");
    let manager = host.path("manager.yaml");
    std::fs::write(&manager, "enable-nat: false\n").unwrap();
    let run = json_run(
        &host,
        &["setup", "lxd", "--manager-config", manager.to_str().unwrap()],
    );
    assert_eq!(run.status_of("nat-forwarding"), "skipped", "{run}");
    assert_eq!(host.read("proc/sys/net/ipv4/ip_forward"), "0\n");
}

/// A check's verdict and reason, from `check --output json`.
fn verdict(run: &Run, name: &str) -> (String, String) {
    let doc = run.json();
    let found = doc["checks"]
        .as_array()
        .unwrap_or_else(|| panic!("no checks: {run}"))
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no check {name}: {run}"))
        .clone();
    (
        found["result"].as_str().unwrap().to_string(),
        format!(
            "{} (fix: {})",
            found["reason"].as_str().unwrap(),
            found["fix"].as_str().unwrap_or_default()
        ),
    )
}

/// A resolver someone started on every address, as `ss` shows it.
fn wildcard_dns(host: &FakeHost) {
    host.write("proc/4242/cmdline", "python3\0-m\0dnslib.server\0--port\x0053\0");
    host.update_state(json!({"ss_extra": [
        "udp UNCONN 0 0 0.0.0.0:53 0.0.0.0:* users:((\"python3\",pid=4242,fd=3))"
    ]}));
}

#[test]
fn a_process_on_udp_53_of_every_address_fails_check_lxc_and_check_lxd_naming_it() {
    for ty in ["lxc", "lxd"] {
        let host = lxc_host();
        wildcard_dns(&host);
        let run = json_run(&host, &["check", ty]);
        assert_eq!(run.code, Some(69), "{run}");
        let (result, reason) = verdict(&run, "dns-dhcp-ports");
        assert_eq!(result, "FAIL", "{run}");
        assert!(
            reason
                .contains("UDP 0.0.0.0:53 is held by python3 (pid 4242: python3 -m dnslib.server --port 53)"),
            "{reason}"
        );
        assert!(reason.contains("fix: stop python3"), "{reason}");
    }
}

#[test]
fn setup_stops_with_69_before_the_runtime_starts_dnsmasq() {
    let host = FakeHost::new(DEBIAN_12);
    wildcard_dns(&host);
    let run = json_run(&host, &["setup", "lxd"]);
    assert_eq!(run.code, Some(69), "{run}");
    assert_eq!(run.status_of("dns-dhcp-ports"), "failed", "{run}");
    let error = run.json()["error"].as_str().unwrap().to_string();
    assert!(error.contains("python3 (pid 4242"), "{error}");
    assert!(
        !run.commands.iter().any(|c| c.starts_with("lxc ")),
        "LXD was not asked to start a bridge: {run}"
    );
}

#[test]
fn bind9_on_the_bridge_address_fails_and_runtimes_side_by_side_do_not() {
    let host = lxc_host();
    host.bridge_up("lxdbr0", "10.147.2.1/24");
    host.bridge_up("virbr0", "192.168.122.1/24");
    host.write("etc/default/lxc-net", "USE_LXC_BRIDGE=\"true\"\n");
    let run = json_run(&host, &["check", "lxc"]);
    let (result, reason) = verdict(&run, "dns-dhcp-ports");
    assert_eq!(result, "PASS", "{reason}: {run}");

    host.write("proc/53/cmdline", "/usr/sbin/named\0-u\0bind\0");
    host.update_state(json!({"ss_extra": [
        "udp UNCONN 0 0 10.0.3.1:53 0.0.0.0:* users:((\"named\",pid=53,fd=30))",
        "tcp LISTEN 0 10 10.0.3.1:53 0.0.0.0:* users:((\"named\",pid=53,fd=31))",
        "udp UNCONN 0 0 10.147.0.5:53 0.0.0.0:* users:((\"named\",pid=53,fd=32))"
    ]}));
    let run = json_run(&host, &["check", "lxc"]);
    assert_eq!(run.code, Some(69), "{run}");
    let (result, reason) = verdict(&run, "dns-dhcp-ports");
    assert_eq!(result, "FAIL", "{run}");
    assert!(
        reason.contains("UDP 10.0.3.1:53 is held by named (pid 53: /usr/sbin/named -u bind)"),
        "{reason}"
    );
    assert!(reason.contains("TCP 10.0.3.1:53"), "{reason}");
    assert!(
        !reason.contains("10.147.0.5"),
        "eth0's address is bind9's own: {reason}"
    );
    // LXD's bridge is another one: bind9 on lxcbr0 is no business of it.
    let lxd = json_run(&host, &["check", "lxd"]);
    assert_eq!(verdict(&lxd, "dns-dhcp-ports").0, "PASS", "{lxd}");
}
