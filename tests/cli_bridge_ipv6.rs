//! `bridge-ipv6` on fake hosts: LXD's and Incus's bridge gets its IPv6
//! address and NAT66 from the setting, stable across runs; values are
//! validated before anything runs.

#![allow(clippy::disallowed_methods)] // tests build and inspect fake hosts directly

mod support;

use serde_json::json;
use support::fake_host::*;

const MACHINE_ID: &str = "0123456789abcdef0123456789abcdef\n";

fn lxd_host() -> FakeHost {
    let host = FakeHost::new(DEBIAN_12);
    host.write("etc/machine-id", MACHINE_ID);
    ipv6_on(&host);
    host
}

/// IPv6 in the kernel, forwarding off, eth0 taking advertisements in the kernel.
fn ipv6_on(host: &FakeHost) {
    host.write("proc/sys/net/ipv6/conf/all/forwarding", "0\n");
    host.write("proc/sys/net/ipv6/conf/eth0/accept_ra", "1\n");
}

#[test]
fn auto_gives_lxdbr0_a_ula_64_with_nat66_and_a_rerun_keeps_it() {
    let host = lxd_host();
    let first = json_run(&host, &["setup", "lxd", "--bridge-ipv6", "auto"]);
    assert_eq!(first.code, Some(0), "{first}");
    let create = first
        .commands
        .iter()
        .find(|c| c.starts_with("lxc network create"))
        .unwrap_or_else(|| panic!("{first}"))
        .clone();
    let v6 = create
        .split(' ')
        .find_map(|w| w.strip_prefix("ipv6.address="))
        .unwrap()
        .to_string();
    assert!(v6.starts_with("fd") && v6.ends_with("::1/64"), "{create}");
    assert!(
        create.ends_with(&format!("ipv6.address={v6} ipv6.nat=true")),
        "{create}"
    );
    assert!(
        detail(&first, "lxd-network").contains(&format!("ipv6={v6}")),
        "{first}"
    );

    let again = json_run(&host, &["setup", "lxd", "--bridge-ipv6", "auto"]);
    assert_eq!(again.code, Some(0), "{again}");
    assert_eq!(again.status_of("lxd-network"), "unchanged", "{again}");

    // Another host's machine-id gives another /64; the same host the same.
    let other = FakeHost::new(DEBIAN_12);
    other.write("etc/machine-id", "fedcba9876543210fedcba9876543210\n");
    ipv6_on(&other);
    let run = json_run(&other, &["--dry-run", "setup", "lxd", "--bridge-ipv6", "auto"]);
    assert_eq!(run.code, Some(0), "{run}");
    assert!(!detail(&run, "lxd-network").contains(&v6), "{run}");
}

#[test]
fn an_explicit_address_from_the_config_file_replaces_none_and_follows_enable_nat() {
    let host = lxd_host();
    host.installed(&["lxd", "dnsmasq-base", "nftables"]);
    host.set_state(json!({
        "running": ["lxd"],
        "networks": {"lxdbr0": {"ipv4.address": "10.147.2.1/24", "ipv4.nat": "false", "ipv6.address": "none"}},
    }));
    host.write(
        "etc/container-init/config.yaml",
        "bridge-ipv6: fd42:7:8:9::1/64\n",
    );
    let manager = host.path("manager.yaml");
    std::fs::write(&manager, "enable-nat: false\n").unwrap();
    let run = json_run(
        &host,
        &["setup", "lxd", "--manager-config", manager.to_str().unwrap()],
    );
    assert_eq!(run.code, Some(0), "{run}");
    assert!(
        run.commands
            .contains(&"lxc network set lxdbr0 ipv6.address=fd42:7:8:9::1/64 ipv6.nat=false".to_string()),
        "{run}"
    );
    assert_eq!(
        host.state()["networks"]["lxdbr0"]["ipv6.address"],
        "fd42:7:8:9::1/64"
    );
}

#[test]
fn bad_values_are_refused_before_anything_runs() {
    let host = lxd_host();
    let run = host.run(&["setup", "lxd", "--bridge-ipv6", "fd42::/64"]);
    assert_eq!(run.code, Some(64), "{run}");
    assert!(run.commands.is_empty(), "{run}");
    host.write("etc/container-init/config.yaml", "bridge-ipv6: \"fe80::1/64\"\n");
    let run = host.run(&["setup", "lxd"]);
    assert_eq!(run.code, Some(78), "{run}");
    assert!(run.stderr.contains("bridge-ipv6 in the config file"), "{run}");
    assert!(run.commands.is_empty(), "{run}");
    let check = host.run(&["check", "lxd", "--bridge-ipv6", "10.0.0.1/64"]);
    assert_eq!(check.code, Some(64), "{check}");
}

/// lxc-net running with its bridge up on IPv4 alone, as `setup lxc` without
/// bridge-ipv6 leaves it.
fn lxc_host() -> FakeHost {
    let host = FakeHost::new(DEBIAN_12).with_systemd();
    host.write("etc/machine-id", MACHINE_ID);
    ipv6_on(&host);
    host.installed(&["lxc", "dnsmasq-base"]);
    host.update_state(json!({"running": ["lxc-net"]}));
    host.bridge_up("lxcbr0", "10.0.3.1/24");
    host.forwarding_persisted();
    host
}

fn value<'a>(file: &'a str, key: &str) -> &'a str {
    file.lines()
        .find_map(|l| l.strip_prefix(&format!("{key}=")))
        .unwrap_or_else(|| panic!("no {key} in {file}"))
}

#[test]
fn lxc_gets_lxc_net_ipv6_values_and_a_restart_then_a_rerun_changes_nothing() {
    let host = lxc_host();
    let run = json_run(&host, &["setup", "lxc", "--bridge-ipv6", "auto"]);
    assert_eq!(run.code, Some(0), "{run}");
    let file = host.read("etc/default/lxc-net");
    let addr = value(&file, "LXC_IPV6_ADDR").trim_matches('"').to_string();
    assert!(addr.starts_with("fd") && addr.ends_with("::1"), "{file}");
    assert_eq!(value(&file, "LXC_IPV6_MASK"), "\"64\"");
    assert_eq!(
        value(&file, "LXC_IPV6_NETWORK"),
        format!("\"{}/64\"", addr.trim_end_matches('1'))
    );
    assert_eq!(value(&file, "LXC_IPV6_NAT"), "\"true\"");
    // IPv4 stays lxc-net's default.
    assert_eq!(value(&file, "LXC_BRIDGE"), "\"lxcbr0\"");
    assert!(
        run.commands.contains(&"systemctl restart lxc-net".to_string()),
        "{run}"
    );
    assert!(
        detail(&run, "lxc-net-service").contains(&format!("{addr}/64")),
        "{run}"
    );
    assert!(
        host.read("proc/net/if_inet6").contains("lxcbr0"),
        "lxc-net gave the bridge its address"
    );

    let again = json_run(&host, &["setup", "lxc", "--bridge-ipv6", "auto"]);
    assert_eq!(again.code, Some(0), "{again}");
    assert_eq!(again.json()["changed"], false, "{again}");
    assert_eq!(host.read("etc/default/lxc-net"), file);
}

/// Without systemd: Debian's lxc-net script has no `status`, and its
/// `start` refuses while its flag says it runs; the new address needs a
/// restart.
#[test]
fn lxc_without_systemd_is_restarted_for_its_ipv6_address() {
    let host = FakeHost::new(DEBIAN_12);
    host.write("etc/machine-id", MACHINE_ID);
    ipv6_on(&host);
    host.installed(&["lxc", "dnsmasq-base"]);
    host.update_state(json!({"running": ["lxc-net"]}));
    host.bridge_up("lxcbr0", "10.0.3.1/24");
    host.write("run/lxc/network_up", "");
    host.forwarding_persisted();
    let run = json_run(&host, &["setup", "lxc", "--bridge-ipv6", "auto"]);
    assert_eq!(run.code, Some(0), "{run}");
    assert!(
        run.commands.contains(&"service lxc-net restart".to_string()),
        "{run}"
    );
    assert!(
        host.read("proc/net/if_inet6").contains("lxcbr0"),
        "lxc-net gave the bridge its address"
    );
    let again = json_run(&host, &["setup", "lxc", "--bridge-ipv6", "auto"]);
    assert_eq!(again.json()["changed"], false, "{again}");
}

#[test]
fn lxc_nat66_follows_enable_nat_and_an_explicit_address_is_written_as_given() {
    let host = lxc_host();
    let manager = host.path("manager.yaml");
    std::fs::write(&manager, "enable-nat: false\n").unwrap();
    let run = json_run(
        &host,
        &[
            "setup",
            "lxc",
            "--bridge-ipv6",
            "fd42:7:8:9::1/64",
            "--manager-config",
            manager.to_str().unwrap(),
        ],
    );
    assert_eq!(run.code, Some(0), "{run}");
    let file = host.read("etc/default/lxc-net");
    assert!(
        file.contains(
            "LXC_IPV6_ADDR=\"fd42:7:8:9::1\"\nLXC_IPV6_MASK=\"64\"\nLXC_IPV6_NETWORK=\"fd42:7:8:9::/64\"\nLXC_IPV6_NAT=\"false\"\n"
        ),
        "{file}"
    );
}

/// libvirt running with its `default` network active on IPv4 alone.
fn kvm_host() -> Option<FakeHost> {
    if std::env::consts::ARCH != "x86_64" {
        return None;
    }
    let host = FakeHost::new(DEBIAN_12);
    host.write("etc/machine-id", MACHINE_ID);
    ipv6_on(&host);
    host.write("proc/cpuinfo", CPU_VMX);
    host.write("dev/kvm", "");
    host.installed(&[
        "qemu-system-x86",
        "libvirt-daemon-system",
        "libvirt-clients",
        "libvirt-daemon-system-sysv",
    ]);
    host.write("etc/init.d/virtlogd", "#!/bin/sh\n");
    host.write("etc/init.d/libvirtd", "#!/bin/sh\n");
    host.answering("run/libvirt/virtlogd-sock");
    host.answering("run/libvirt/libvirt-sock");
    host.set_state(json!({
        "running": ["libvirtd", "virtlogd"],
        "virsh_net": {"Active": "yes", "Autostart": "yes"},
        "virsh_pool": {"State": "running", "Autostart": "yes"}
    }));
    host.bridge_up("virbr0", "192.168.122.1/24");
    host.write("sys/class/net/virbr0/mtu", "1500\n");
    host.forwarding_persisted();
    Some(host)
}

#[test]
fn kvm_gets_an_ipv6_ip_and_nat66_in_the_existing_network_and_a_rerun_redefines_nothing() {
    let Some(host) = kvm_host() else {
        return;
    };
    let run = json_run(&host, &["setup", "kvm", "--bridge-ipv6", "auto"]);
    assert_eq!(run.code, Some(0), "{run}");
    let defined = host.read("run/container-init/libvirt-network-default.xml");
    // Only the IPv6 <ip> and NAT66 are added; the rest (uuid, port range) stays.
    assert!(
        defined.contains("<nat ipv6='yes'>\n      <port start='1024' end='65535'/>"),
        "{defined}"
    );
    assert!(defined.contains("<uuid>"), "{defined}");
    let v6 = defined
        .split("<ip family='ipv6' address='")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .unwrap_or_else(|| panic!("{defined}"))
        .to_string();
    assert!(v6.starts_with("fd") && v6.ends_with("::1"), "{defined}");
    assert!(
        defined.contains(&format!("<ip family='ipv6' address='{v6}' prefix='64'/>")),
        "{defined}"
    );
    assert!(
        detail(&run, "libvirt-network").contains(&format!("IPv6 {v6}/64 nat66=true")),
        "{run}"
    );
    for cmd in ["net-destroy default", "net-define", "net-start default"] {
        assert!(run.commands.iter().any(|c| c.contains(cmd)), "{cmd}: {run}");
    }
    assert!(host.read("proc/net/if_inet6").contains("virbr0"), "{run}");

    let again = json_run(&host, &["setup", "kvm", "--bridge-ipv6", "auto"]);
    assert_eq!(again.code, Some(0), "{again}");
    assert_eq!(again.status_of("libvirt-network"), "unchanged", "{again}");
    assert!(
        !again.commands.iter().any(|c| c.contains("net-define")),
        "{again}"
    );
    // An explicit address replaces the one there, in place.
    let moved = json_run(&host, &["setup", "kvm", "--bridge-ipv6", "fd42:7:8:9::1/64"]);
    assert_eq!(moved.code, Some(0), "{moved}");
    let defined = host.read("run/container-init/libvirt-network-default.xml");
    assert_eq!(defined.matches("family='ipv6'").count(), 1, "{defined}");
    assert!(
        defined.contains("address='fd42:7:8:9::1' prefix='64'/>"),
        "{defined}"
    );
}

/// eth0's IPv6 default route as the kernel installs it from an advertisement.
fn ra_route(dev: &str) -> serde_json::Value {
    json!({"dst": "default", "gateway": "fe80::1", "dev": dev, "protocol": "ra", "metric": 1024,
           "flags": [], "expires": 1790, "pref": "medium"})
}

#[test]
fn an_uplink_whose_route_the_kernel_takes_from_advertisements_gets_accept_ra_2_before_forwarding() {
    let host = lxc_host();
    host.write("proc/sys/net/ipv6/conf/eth1.100/accept_ra", "1\n");
    host.write("proc/sys/net/ipv6/conf/wlan0/accept_ra", "1\n");
    host.update_state(json!({"routes6": [
        ra_route("eth0"),
        {"dst": "default", "protocol": "ra", "metric": 1024,
         "nexthops": [{"gateway": "fe80::2", "dev": "eth1.100"}]},
        // A static default route: nothing the kernel would stop taking.
        {"dst": "default", "gateway": "fe80::3", "dev": "wlan0", "protocol": "static", "metric": 100},
    ]}));
    let run = json_run(&host, &["setup", "lxc", "--bridge-ipv6", "auto"]);
    assert_eq!(run.code, Some(0), "{run}");
    assert_eq!(run.status_of("ipv6-forwarding"), "changed", "{run}");
    let said = detail(&run, "ipv6-forwarding");
    assert!(said.contains("eth0 accept_ra=2 (was 1)"), "{said}");
    assert!(said.contains("eth1.100 accept_ra=2 (was 1)"), "{said}");
    assert!(
        said.contains("net.ipv6.conf.all.forwarding=1 (was 0) for lxcbr0's NAT66"),
        "{said}"
    );
    assert_eq!(host.read("proc/sys/net/ipv6/conf/eth0/accept_ra").trim(), "2");
    assert_eq!(host.read("proc/sys/net/ipv6/conf/eth1.100/accept_ra").trim(), "2");
    assert_eq!(host.read("proc/sys/net/ipv6/conf/wlan0/accept_ra"), "1\n");
    assert_eq!(host.read("proc/sys/net/ipv6/conf/all/forwarding").trim(), "1");
    let persisted = host.read("etc/sysctl.d/60-container-init-ipv6.conf");
    assert!(
        persisted.ends_with(
            "net/ipv6/conf/eth0/accept_ra = 2\nnet/ipv6/conf/eth1.100/accept_ra = 2\nnet.ipv6.conf.all.forwarding = 1\n"
        ),
        "{persisted}"
    );
    // The step ran before the runtime turned IPv6 forwarding on.
    let doc = run.json();
    let order: Vec<&str> = doc["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    let at = |name: &str| order.iter().position(|n| *n == name).unwrap();
    assert!(
        at("ipv6-forwarding") < at("lxc-net") && at("lxc-net") < at("lxc-net-service"),
        "{order:?}"
    );
    let record = host.read("var/lib/container-init/record.json");
    assert!(record.contains("net/ipv6/conf/eth0/accept_ra"), "{record}");
    assert!(record.contains("60-container-init-ipv6.conf"), "{record}");

    let again = json_run(&host, &["setup", "lxc", "--bridge-ipv6", "auto"]);
    assert_eq!(again.code, Some(0), "{again}");
    assert_eq!(again.status_of("ipv6-forwarding"), "unchanged", "{again}");
    assert_eq!(again.json()["changed"], false, "{again}");

    // teardown takes both back.
    let down = json_run(&host, &["teardown", "lxc"]);
    assert_eq!(down.code, Some(0), "{down}");
    assert_eq!(host.read("proc/sys/net/ipv6/conf/eth0/accept_ra").trim(), "1");
    assert!(
        !host.path("etc/sysctl.d/60-container-init-ipv6.conf").exists(),
        "{down}"
    );
}

#[test]
fn an_uplink_under_systemd_networkd_is_left_alone() {
    let host = lxd_host();
    // networkd takes advertisements in user space: accept_ra=0 in the kernel.
    host.write("proc/sys/net/ipv6/conf/eth0/accept_ra", "0\n");
    host.update_state(json!({"routes6": [ra_route("eth0")]}));
    let run = json_run(&host, &["--dry-run", "setup", "lxd", "--bridge-ipv6", "auto"]);
    assert_eq!(run.code, Some(0), "{run}");
    let said = detail(&run, "ipv6-forwarding");
    assert!(
        said.contains("eth0's router advertisements are handled in user space"),
        "{said}"
    );
    assert!(!said.contains("accept_ra=2"), "{said}");
    assert_eq!(host.read("proc/sys/net/ipv6/conf/eth0/accept_ra"), "0\n");
    // A dry run plans forwarding and writes nothing.
    assert_eq!(run.status_of("ipv6-forwarding"), "would-change", "{run}");
    assert_eq!(host.read("proc/sys/net/ipv6/conf/all/forwarding"), "0\n");
}

#[test]
fn a_host_with_ipv6_disabled_is_told_so() {
    let host = FakeHost::new(DEBIAN_12);
    host.write("etc/machine-id", MACHINE_ID);
    let run = host.run(&["setup", "lxd", "--bridge-ipv6", "auto"]);
    assert_eq!(run.code, Some(69), "{run}");
    assert!(run.stderr.contains("IPv6 is disabled on this host"), "{run}");
}

/// Docker ≥ 27 with ip6tables on (its default): the IPv6 `FORWARD` policy
/// `DROP`, as it sets it for IPv4, with its `DOCKER-USER` chain.
const DOCKER_V6: &str = "# Generated by ip6tables-nft-save v1.8.9 (nf_tables)
*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:DOCKER - [0:0]
:DOCKER-ISOLATION-STAGE-1 - [0:0]
:DOCKER-ISOLATION-STAGE-2 - [0:0]
:DOCKER-USER - [0:0]
-A FORWARD -j DOCKER-USER
-A FORWARD -j DOCKER-ISOLATION-STAGE-1
-A FORWARD -o docker0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A FORWARD -o docker0 -j DOCKER
-A FORWARD -i docker0 ! -o docker0 -j ACCEPT
-A DOCKER-ISOLATION-STAGE-1 -i docker0 ! -o docker0 -j DOCKER-ISOLATION-STAGE-2
-A DOCKER-ISOLATION-STAGE-1 -j RETURN
-A DOCKER-ISOLATION-STAGE-2 -o docker0 -j DROP
-A DOCKER-ISOLATION-STAGE-2 -j RETURN
-A DOCKER-USER -j RETURN
COMMIT
";

/// The same Docker's IPv4 side, where forwarding was on before it started:
/// the policy stays ACCEPT, so only IPv6 is cut off.
const DOCKER_V4_ACCEPT: &str = "*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:DOCKER-USER - [0:0]
-A FORWARD -j DOCKER-USER
-A DOCKER-USER -j RETURN
COMMIT
";

const V6_RULES: [&str; 2] = [
    "ip6tables-nft -I DOCKER-USER -i lxdbr0 -m comment --comment 'container-init: lxdbr0' -j ACCEPT",
    "ip6tables-nft -I DOCKER-USER -o lxdbr0 -m comment --comment 'container-init: lxdbr0' -j ACCEPT",
];

fn docker_v6_host() -> FakeHost {
    let host = FakeHost::new(DEBIAN_12).with_firewall_tools();
    host.write("etc/machine-id", MACHINE_ID);
    ipv6_on(&host);
    host.write("usr/bin/dockerd", "");
    host.installed(&["lxd", "dnsmasq-base", "nftables"]);
    host.update_state(json!({
        "running": ["lxd"],
        "iptables_nft": DOCKER_V4_ACCEPT,
        "iptables_v6_nft": DOCKER_V6,
    }));
    host.forwarding_persisted();
    // Everything else a container runtime needs is there.
    for ns in ["mnt", "uts", "ipc", "pid", "net", "user"] {
        host.write(&format!("proc/self/ns/{ns}"), "");
    }
    host.write("sys/fs/cgroup/cgroup.controllers", "cpu memory pids\n");
    host.write("sys/module/bridge/refcnt", "0\n");
    host.write("sys/module/veth/refcnt", "0\n");
    host
}

#[test]
fn dockers_ip6tables_drop_fails_check_and_setup_opens_it_in_docker_user() {
    let host = docker_v6_host();
    // Without bridge-ipv6, IPv6 is none of check's business.
    let plain = json_run(&host, &["check", "lxd"]);
    assert_eq!(plain.code, Some(0), "{plain}");
    assert!(!plain.stdout.contains("ip6 filter"), "{plain}");

    let check = json_run(&host, &["check", "lxd", "--bridge-ipv6", "auto"]);
    assert_eq!(check.code, Some(69), "{check}");
    let firewall = check.json()["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "firewall")
        .unwrap_or_else(|| panic!("{check}"))
        .clone();
    assert_eq!(firewall["result"], "FAIL", "{check}");
    let reason = firewall["reason"].as_str().unwrap();
    assert!(reason.starts_with("Docker drops lxdbr0's"), "{reason}");
    assert!(
        reason.contains("policy DROP of chain FORWARD in table ip6 filter"),
        "{reason}"
    );
    assert!(firewall["fix"].as_str().unwrap().contains(V6_RULES[0]), "{check}");

    let run = json_run(&host, &["setup", "lxd", "--bridge-ipv6", "auto"]);
    assert_eq!(run.code, Some(0), "{run}");
    let opened: Vec<&String> = run
        .commands
        .iter()
        .filter(|c| c.starts_with("ip6tables-nft -I"))
        .collect();
    assert_eq!(opened, V6_RULES.iter().collect::<Vec<_>>(), "{run}");
    assert!(
        !run.commands.iter().any(|c| c.starts_with("iptables-nft -I")),
        "IPv4 was open: {run}"
    );
    let rules = host.state()["iptables_v6_nft"].as_str().unwrap().to_string();
    assert!(
        rules.contains("-A DOCKER-USER -i lxdbr0 -m comment --comment \"container-init: lxdbr0\" -j ACCEPT"),
        "{rules}"
    );
    let readiness = detail(&run, "readiness");
    assert!(readiness.contains("lxdbr0 has fd"), "{readiness}");
    assert!(
        readiness.contains("net.ipv6.conf.all.forwarding=1 for IPv6 guests"),
        "{readiness}"
    );
    assert!(
        readiness.contains("no rule or policy drops lxdbr0's traffic"),
        "{readiness}"
    );

    let again = json_run(&host, &["setup", "lxd", "--bridge-ipv6", "auto"]);
    assert_eq!(again.code, Some(0), "{again}");
    assert_eq!(again.status_of("coexistence"), "unchanged", "{again}");
    assert!(
        !again.commands.iter().any(|c| c.starts_with("ip6tables-nft -I")),
        "{again}"
    );

    let record = host.read("var/lib/container-init/record.json");
    assert!(record.contains("ip6tables-nft"), "{record}");
    let down = json_run(&host, &["teardown", "lxd"]);
    assert_eq!(down.code, Some(0), "{down}");
    assert!(
        down.commands.contains(&V6_RULES[0].replace(" -I ", " -D ")),
        "{down}"
    );
    assert_eq!(host.state()["iptables_v6_nft"], DOCKER_V6, "{down}");
}
