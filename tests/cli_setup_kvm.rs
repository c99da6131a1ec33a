//! `setup kvm` on the built binary against a fake host (tests/fakes/fake-host.py):
//! libvirt's daemons with and without systemd, a dry run on a bare host, and
//! libvirt's `default` network moved off 192.168.122.0/24 when the host uses it.

#![allow(clippy::disallowed_methods, clippy::disallowed_types)] // tests build and inspect fake hosts directly

mod support;

use serde_json::json;
use support::fake_host::*;

const APT_INSTALL: &str =
    "apt-get install -y -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold";
const VIRSH: &str = "virsh -c qemu:///system";
const KVM_PACKAGES: &str = "qemu-system-x86 libvirt-daemon-system libvirt-clients";
const LIBVIRT_SOCK: &str = "run/libvirt/libvirt-sock";
const VIRTLOGD_SOCK: &str = "run/libvirt/virtlogd-sock";

fn json_run(host: &FakeHost, args: &[&str]) -> Run {
    let mut all = args.to_vec();
    all.extend(["--output", "json"]);
    host.run(&all)
}

/// A host with hardware virtualisation (the package names are x86's).
fn kvm_host(os_release: &str) -> Option<FakeHost> {
    if std::env::consts::ARCH != "x86_64" {
        return None;
    }
    let host = FakeHost::new(os_release);
    host.write("proc/cpuinfo", CPU_VMX);
    host.write("dev/kvm", "");
    Some(host)
}

/// The network definition the tool hands to `virsh net-define`.
fn definition(host: &FakeHost) -> String {
    host.path("run/container-init/libvirt-network-default.xml")
        .display()
        .to_string()
}

fn virsh(args: &str) -> String {
    format!("{VIRSH} {args}")
}

/// A host where libvirt is installed and runs, with its `default` network
/// and pool as `net` and `pool` say.
fn running_libvirt(net: serde_json::Value) -> Option<FakeHost> {
    let host = kvm_host(DEBIAN_12)?;
    host.installed(&[
        "qemu-system-x86",
        "libvirt-daemon-system",
        "libvirt-clients",
        "libvirt-daemon-system-sysv",
    ]);
    host.write("etc/init.d/virtlogd", "#!/bin/sh\n");
    host.write("etc/init.d/libvirtd", "#!/bin/sh\n");
    host.answering(VIRTLOGD_SOCK);
    host.answering(LIBVIRT_SOCK);
    host.set_state(json!({
        "running": ["libvirtd", "virtlogd"],
        "virsh_net": net,
        "virsh_pool": {"State": "running", "Autostart": "yes"}
    }));
    std::fs::create_dir_all(host.path("sys/class/net/virbr0")).unwrap();
    host.write("sys/class/net/virbr0/flags", "0x1003\n");
    if net["Active"] == "yes" {
        // As libvirt leaves its running NAT network: dnsmasq, forwarding.
        host.bridge_up("virbr0", "192.168.122.1/24");
        host.write("sys/class/net/virbr0/mtu", "1500\n");
        host.forwarding_persisted();
    }
    Some(host)
}

#[test]
fn without_systemd_the_sysv_package_brings_virtlogd_and_libvirtd_which_are_started() {
    let Some(host) = kvm_host(DEBIAN_12) else { return };
    let run = json_run(&host, &["setup", "kvm"]);
    assert_eq!(run.code, Some(0), "{run}");
    let expected = [
        format!("apt-cache policy {KVM_PACKAGES} libvirt-daemon-system-sysv"),
        format!("{APT_INSTALL} {KVM_PACKAGES} libvirt-daemon-system-sysv"),
        "ss -H -lnutp".into(),
        "service virtlogd start".into(),
        "service libvirtd start".into(),
        virsh("net-list --all --name"),
        "ip -j addr show".into(),
        "ip -j -4 route show table all".into(),
        virsh(&format!("net-define {}", definition(&host))),
        virsh("net-start default"),
        virsh("net-autostart default"),
        virsh("pool-list --all --name"),
        virsh("pool-define-as default dir --target /var/lib/libvirt/images"),
        virsh("pool-build default"),
        virsh("pool-start default"),
        virsh("pool-autostart default"),
        // The coexistence step reads the links (no firewall tool here), and
        // the ports again: libvirt started its dnsmasq since they were read.
        "ip -j addr show".into(),
        "ss -H -lnutp".into(),
        virsh("version"),
        virsh("net-dumpxml default"),
        "ip -j addr show".into(),
        // Forwarding persisted for the NAT network: readiness reads the links
        // and the ports again.
        "ip -j addr show".into(),
        "ss -H -lnutp".into(),
    ];
    assert_eq!(run.commands, expected, "{run}");
    assert_eq!(
        detail(&run, "libvirt-daemon"),
        "started virtlogd and libvirtd with its init script"
    );
    assert_eq!(
        detail(&run, "libvirt-network"),
        "default network on virbr0 192.168.122.1/24: defined, started, autostarted"
    );
    assert_eq!(
        detail(&run, "readiness"),
        "libvirt answers; bridge virbr0 up with 192.168.122.1/24; virbr0 is up with 192.168.122.1/24; \
         a DHCP and DNS server (dnsmasq) listens on 192.168.122.1; 192.168.122.0/24 is used by virbr0 alone; \
         no other process holds virbr0's DNS or DHCP port; net.ipv4.ip_forward=1 for NAT; no rule or policy drops virbr0's traffic; virbr0 MTU 1500 <= eth0 MTU 1500"
    );
    // Started means answering: both sockets take connections now.
    for socket in [VIRTLOGD_SOCK, LIBVIRT_SOCK] {
        assert!(
            std::os::unix::net::UnixStream::connect(host.path(socket)).is_ok(),
            "{socket} does not answer"
        );
    }

    let again = json_run(&host, &["setup", "kvm"]);
    assert_eq!(again.code, Some(0), "{again}");
    assert_eq!(again.json()["changed"], false, "{again}");
    assert_eq!(detail(&again, "libvirt-daemon"), "virtlogd and libvirtd answer");
    assert!(
        !again
            .commands
            .iter()
            .any(|c| c.starts_with("apt-get") || c.starts_with("service")),
        "{again}"
    );
}

#[test]
fn a_dry_run_on_a_bare_host_without_systemd_plans_everything_and_exits_0() {
    let host = FakeHost::new(DEBIAN_12);
    let run = json_run(&host, &["--dry-run", "setup", "kvm", "--allow-emulation"]);
    assert_eq!(run.code, Some(0), "{run}");
    let doc = run.json();
    let plans: String = doc["steps"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["plan"].as_array().cloned().unwrap_or_default())
        .map(|p| p.as_str().unwrap().to_string())
        .collect::<Vec<_>>()
        .join("\n");
    for wanted in [
        "libvirt-daemon-system-sysv",
        "run: service virtlogd start",
        "run: service libvirtd start",
        "<ip address='192.168.122.1' netmask='255.255.255.0'>",
        "run: virsh -c qemu:///system net-start default",
        "run: virsh -c qemu:///system net-autostart default",
        "run: virsh -c qemu:///system pool-define-as default dir --target /var/lib/libvirt/images",
        "run: virsh -c qemu:///system pool-autostart default",
    ] {
        assert!(plans.contains(wanted), "the plan lacks {wanted:?}: {run}");
    }
    assert_eq!(run.status_of("libvirt-daemon"), "would-change");
    assert_eq!(run.status_of("libvirt-network"), "would-change");
    assert_eq!(run.status_of("libvirt-pool"), "would-change");
    assert_eq!(run.status_of("readiness"), "skipped");
    // Nothing ran that changes the host, and nothing was written.
    assert!(
        run.commands.iter().all(|c| c.starts_with("apt-cache")
            || c.starts_with("virsh")
            || c.starts_with("ip ")
            || c.starts_with("ss ")),
        "{run}"
    );
    assert!(!host.path("run/container-init").exists(), "{run}");
    assert_eq!(host.state()["running"], serde_json::Value::Null, "{run}");
}

#[test]
fn under_systemd_both_daemons_are_enabled_and_started_through_systemd() {
    let Some(host) = kvm_host(UBUNTU_24_04) else {
        return;
    };
    let host = host.with_systemd();
    let first = json_run(&host, &["setup", "kvm"]);
    assert_eq!(first.code, Some(0), "{first}");
    assert_eq!(
        first.commands[..5],
        [
            format!("apt-cache policy {KVM_PACKAGES}"),
            format!("{APT_INSTALL} {KVM_PACKAGES}"),
            "ss -H -lnutp".to_string(),
            "systemctl enable --now virtlogd".to_string(),
            "systemctl enable --now libvirtd".to_string(),
        ],
        "{first}"
    );
    let again = json_run(&host, &["setup", "kvm"]);
    assert_eq!(again.code, Some(0), "{again}");
    assert_eq!(again.json()["changed"], false, "{again}");
}

#[test]
fn a_running_daemon_is_left_alone_and_only_the_missing_one_started() {
    let Some(host) = running_libvirt(json!({"Active": "yes", "Autostart": "yes"})) else {
        return;
    };
    // virtlogd is not running: its socket is gone.
    std::fs::remove_file(host.path(VIRTLOGD_SOCK)).unwrap();
    let run = json_run(&host, &["setup", "kvm"]);
    assert_eq!(run.code, Some(0), "{run}");
    let started: Vec<&String> = run.commands.iter().filter(|c| c.starts_with("service")).collect();
    assert_eq!(started, ["service virtlogd start"], "{run}");
    assert_eq!(
        detail(&run, "libvirt-daemon"),
        "started virtlogd with its init script"
    );
}

#[test]
fn the_default_network_is_defined_off_192_168_122_when_the_host_uses_it() {
    let Some(host) = kvm_host(DEBIAN_12) else { return };
    // A host that is itself a libvirt guest, often: its uplink is on 192.168.122.0/24.
    host.set_state(json!({
        "addrs": [
            {"ifname": "lo", "addr_info": [{"family": "inet", "local": "127.0.0.1", "prefixlen": 8}]},
            {"ifname": "eth0", "addr_info": [{"family": "inet", "local": "192.168.122.2", "prefixlen": 24}]}
        ],
        "routes": [
            {"dst": "default", "gateway": "192.168.122.1", "dev": "eth0"},
            {"dst": "192.168.122.0/24", "dev": "eth0", "prefsrc": "192.168.122.2"},
            {"dst": "10.147.0.0/24", "dev": "tun0", "scope": "link"}
        ],
    }));
    let run = json_run(&host, &["setup", "kvm"]);
    assert_eq!(run.code, Some(0), "{run}");
    let network: Vec<&String> = run
        .commands
        .iter()
        .skip_while(|c| !c.contains("net-list"))
        .take_while(|c| !c.contains("pool-list"))
        .collect();
    assert_eq!(
        network,
        [
            &virsh("net-list --all --name"),
            "ip -j addr show",
            "ip -j -4 route show table all",
            &virsh(&format!("net-define {}", definition(&host))),
            &virsh("net-start default"),
            &virsh("net-autostart default"),
        ],
        "{run}"
    );
    // 10.147.0.0/24 is routed to tun0: the next free /24.
    assert_eq!(
        std::fs::read_to_string(definition(&host)).unwrap(),
        "<network>\n  <name>default</name>\n  <forward mode='nat'/>\n  \
         <bridge name='virbr0' stp='on' delay='0'/>\n  \
         <ip address='10.147.1.1' netmask='255.255.255.0'>\n    <dhcp>\n      \
         <range start='10.147.1.2' end='10.147.1.254'/>\n    </dhcp>\n  </ip>\n</network>\n"
    );
    assert_eq!(
        detail(&run, "libvirt-network"),
        "default network on virbr0 10.147.1.1/24: defined off 192.168.122.0/24, which the host uses, \
         started, autostarted"
    );
    assert_eq!(
        detail(&run, "readiness"),
        "libvirt answers; bridge virbr0 up with 10.147.1.1/24; virbr0 is up with 10.147.1.1/24; \
         a DHCP and DNS server (dnsmasq) listens on 10.147.1.1; 10.147.1.0/24 is used by virbr0 alone; \
         no other process holds virbr0's DNS or DHCP port; net.ipv4.ip_forward=1 for NAT; no rule or policy drops virbr0's traffic; virbr0 MTU 1500 <= eth0 MTU 1500"
    );

    // Converged: the network's own bridge and routes are no conflict.
    let again = json_run(&host, &["setup", "kvm"]);
    assert_eq!(again.code, Some(0), "{again}");
    assert_eq!(again.json()["changed"], false, "{again}");
    assert!(
        !again.commands.iter().any(|c| c.contains("net-define")),
        "{again}"
    );
}

#[test]
fn an_existing_network_on_a_used_subnet_is_moved_keeping_the_rest_of_its_definition() {
    // libvirt started it before a veth took 192.168.122.2/24.
    let Some(host) = running_libvirt(json!({"Active": "yes", "Autostart": "yes"})) else {
        return;
    };
    host.update_state(json!({
        "addrs": [
            {"ifname": "lo", "addr_info": [{"family": "inet", "local": "127.0.0.1", "prefixlen": 8}]},
            {"ifname": "eth0", "addr_info": [{"family": "inet", "local": "10.147.0.5", "prefixlen": 24}]},
            {"ifname": "veth-ci", "addr_info": [{"family": "inet", "local": "192.168.122.2", "prefixlen": 24}]}
        ],
    }));
    let run = json_run(&host, &["setup", "kvm"]);
    assert_eq!(run.code, Some(0), "{run}");
    let network: Vec<&String> = run
        .commands
        .iter()
        .skip_while(|c| !c.contains("net-list"))
        .take_while(|c| !c.contains("pool-list"))
        .collect();
    assert_eq!(
        network,
        [
            &virsh("net-list --all --name"),
            &virsh("net-list --inactive --name"),
            &virsh("net-list --all --autostart --name"),
            &virsh("net-dumpxml --inactive default"),
            "ip -j addr show",
            "ip -j -4 route show table all",
            &virsh("net-destroy default"),
            &virsh(&format!("net-define {}", definition(&host))),
            &virsh("net-start default"),
        ],
        "{run}"
    );
    let defined = std::fs::read_to_string(definition(&host)).unwrap();
    // eth0 has 10.147.0.0/24 and tun0 10.147.1.0/24 (the fake's defaults).
    // Its uuid and MAC stay (net-define would refuse another uuid); only <ip> moved.
    assert!(
        defined.contains("<uuid>2a4c7b2e-8d4e-4f50-9a4e-0c1b2d3e4f50</uuid>"),
        "{defined}"
    );
    assert!(
        defined.contains("<mac address='52:54:00:12:34:56'/>"),
        "{defined}"
    );
    assert!(defined.contains("<port start='1024' end='65535'/>"), "{defined}");
    assert!(
        defined.contains("<ip address='10.147.2.1' netmask='255.255.255.0'>\n    <dhcp>\n      <range start='10.147.2.2' end='10.147.2.254'/>"),
        "{defined}"
    );
    assert_eq!(
        detail(&run, "libvirt-network"),
        "default network on virbr0 10.147.2.1/24: moved off 192.168.122.0/24, which the host uses, started"
    );

    let again = json_run(&host, &["setup", "kvm"]);
    assert_eq!(again.code, Some(0), "{again}");
    assert_eq!(again.json()["changed"], false, "{again}");
}

#[test]
fn a_network_that_fits_is_left_alone_and_only_started_and_autostarted() {
    let Some(host) = running_libvirt(json!({"Active": "no", "Autostart": "no"})) else {
        return;
    };
    let run = json_run(&host, &["setup", "kvm"]);
    assert_eq!(run.code, Some(0), "{run}");
    let changing: Vec<&String> = run
        .commands
        .iter()
        .filter(|c| {
            !c.contains("-list ")
                && !c.contains("dumpxml")
                && !c.ends_with(" version")
                && !c.starts_with("ip ")
                && !c.starts_with("ss ")
        })
        .collect();
    assert_eq!(
        changing,
        [&virsh("net-start default"), &virsh("net-autostart default")],
        "{run}"
    );
    assert_eq!(run.status_of("libvirt-daemon"), "unchanged");
    assert_eq!(run.status_of("libvirt-pool"), "unchanged");
}

#[test]
fn a_stopped_pool_is_started_and_autostarted_only() {
    let Some(host) = running_libvirt(json!({"Active": "yes", "Autostart": "yes"})) else {
        return;
    };
    host.update_state(json!({"virsh_pool": {"State": "inactive", "Autostart": "no"}}));
    let run = json_run(&host, &["setup", "kvm"]);
    assert_eq!(run.code, Some(0), "{run}");
    let pool: Vec<&String> = run.commands.iter().filter(|c| c.contains("pool-")).collect();
    assert_eq!(
        pool,
        [
            &virsh("pool-list --all --name"),
            &virsh("pool-list --inactive --name"),
            &virsh("pool-list --all --autostart --name"),
            &virsh("pool-start default"),
            &virsh("pool-autostart default"),
        ],
        "{run}"
    );
    assert_eq!(run.status_of("libvirt-network"), "unchanged");
}

#[test]
fn a_daemon_it_starts_does_not_inherit_the_callers_descriptors() {
    // Run under `flock LOCK container-init ...`, libvirtd kept the caller's
    // lock held for as long as it ran.
    let Some(host) = kvm_host(DEBIAN_12) else { return };
    let run = host.run_with_inherited_fd(&["setup", "kvm"]);
    assert_eq!(run.code, Some(0), "{run}");
    let inherited = &host.state()["inherited_fds"];
    assert_eq!(inherited["virtlogd"], json!([]), "{inherited}");
    assert_eq!(inherited["libvirtd"], json!([]), "{inherited}");
}

#[test]
fn an_autostart_link_left_by_a_purge_is_replaced_so_the_network_and_pool_can_be_autostarted() {
    // libvirt was purged and installed again: dpkg does not own the links
    // virsh made, and libvirt refuses to autostart while they are there.
    let Some(host) = running_libvirt(serde_json::Value::Null) else {
        return;
    };
    host.update_state(json!({"virsh_pool": null}));
    for dir in [
        "etc/libvirt/qemu/networks/autostart",
        "etc/libvirt/storage/autostart",
    ] {
        std::fs::create_dir_all(host.path(dir)).unwrap();
        std::os::unix::fs::symlink("/etc/libvirt/gone.xml", host.path(&format!("{dir}/default.xml")))
            .unwrap();
    }
    let run = json_run(&host, &["setup", "kvm"]);
    assert_eq!(run.code, Some(0), "{run}");
    assert_eq!(
        detail(&run, "libvirt-network"),
        "default network on virbr0 192.168.122.1/24: defined, started, \
         stale /etc/libvirt/qemu/networks/autostart/default.xml removed, autostarted"
    );
    assert!(
        detail(&run, "libvirt-pool").contains("stale /etc/libvirt/storage/autostart/default.xml removed"),
        "{run}"
    );
    let again = json_run(&host, &["setup", "kvm"]);
    assert_eq!(again.json()["changed"], false, "{again}");
}

/// Docker started with forwarding off, as at boot (iptables-nft-save), cut
/// down to the chains that decide a bridge's forwarded traffic.
const DOCKER: &str = "# Generated by iptables-nft-save v1.8.9 (nf_tables)
*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:DOCKER - [0:0]
:DOCKER-USER - [0:0]
-A FORWARD -j DOCKER-USER
-A FORWARD -o docker0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A FORWARD -o docker0 -j DOCKER
-A FORWARD -i docker0 ! -o docker0 -j ACCEPT
-A DOCKER-USER -j RETURN
COMMIT
";

const VIRBR0_DOCKER_USER_RULES: [&str; 2] = [
    "iptables-nft -I DOCKER-USER -i virbr0 -m comment --comment 'container-init: virbr0' -j ACCEPT",
    "iptables-nft -I DOCKER-USER -o virbr0 -m comment --comment 'container-init: virbr0' -j ACCEPT",
];

/// The commands of a run that change a firewall.
fn firewall_changes(run: &Run) -> Vec<String> {
    run.commands
        .iter()
        .filter(|c| {
            c.starts_with("iptables-nft -")
                || c.starts_with("iptables-legacy -")
                || c.starts_with("ufw ")
                || c.starts_with("firewall-cmd ")
        })
        .cloned()
        .collect()
}

#[test]
fn a_converged_kvm_host_passes_the_data_path_readiness() {
    let Some(host) = running_libvirt(json!({"Active": "yes", "Autostart": "yes"})) else {
        return;
    };
    let run = json_run(&host, &["setup", "kvm"]);
    assert_eq!(run.code, Some(0), "{run}");
    assert_eq!(run.json()["changed"], false, "{run}");
    assert_eq!(run.status_of("coexistence"), "unchanged");
    assert_eq!(
        detail(&run, "readiness"),
        "libvirt answers; bridge virbr0 up with 192.168.122.1/24; virbr0 is up with 192.168.122.1/24; \
         a DHCP and DNS server (dnsmasq) listens on 192.168.122.1; 192.168.122.0/24 is used by virbr0 alone; \
         no other process holds virbr0's DNS or DHCP port; net.ipv4.ip_forward=1 for NAT; no rule or policy drops virbr0's traffic; virbr0 MTU 1500 <= eth0 MTU 1500"
    );
}

#[test]
fn a_kvm_bridge_without_its_dhcp_server_is_not_ready() {
    let Some(host) = running_libvirt(json!({"Active": "no", "Autostart": "yes"})) else {
        return;
    };
    host.update_state(json!({"no_dnsmasq": true}));
    let run = json_run(&host, &["setup", "kvm"]);
    assert_eq!(run.code, Some(69), "{run}");
    assert!(run.stderr.contains("virbr0"), "{run}");
    assert!(run.stderr.contains("dnsmasq"), "{run}");
}

#[test]
fn docker_drop_opens_virbr0_in_docker_user_with_two_rules_and_a_rerun_adds_nothing() {
    let Some(host) = running_libvirt(json!({"Active": "yes", "Autostart": "yes"})) else {
        return;
    };
    let host = host.with_firewall_tools();
    host.write("usr/bin/dockerd", "");
    host.update_state(json!({"iptables_nft": DOCKER}));
    let first = json_run(&host, &["setup", "kvm"]);
    assert_eq!(first.code, Some(0), "{first}");
    assert_eq!(firewall_changes(&first), VIRBR0_DOCKER_USER_RULES, "{first}");
    assert_eq!(first.status_of("coexistence"), "changed");
    let rules = host.state()["iptables_nft"].as_str().unwrap().to_string();
    assert!(
        rules.contains(
            "-A DOCKER-USER -o virbr0 -m comment --comment \"container-init: virbr0\" -j ACCEPT\n\
             -A DOCKER-USER -i virbr0 -m comment --comment \"container-init: virbr0\" -j ACCEPT\n\
             -A DOCKER-USER -j RETURN\n"
        ),
        "{rules}"
    );
    assert!(
        detail(&first, "readiness").contains("no rule or policy drops virbr0's traffic"),
        "{first}"
    );

    let again = json_run(&host, &["setup", "kvm"]);
    assert_eq!(again.code, Some(0), "{again}");
    assert_eq!(again.json()["changed"], false, "{again}");
    assert_eq!(again.status_of("coexistence"), "unchanged");
    assert!(firewall_changes(&again).is_empty(), "{again}");
    assert_eq!(host.state()["iptables_nft"].as_str().unwrap(), rules);
}

#[test]
fn with_manage_firewall_false_docker_drop_on_virbr0_is_reported_with_69() {
    let Some(host) = running_libvirt(json!({"Active": "yes", "Autostart": "yes"})) else {
        return;
    };
    let host = host.with_firewall_tools();
    host.write("usr/bin/dockerd", "");
    host.update_state(json!({"iptables_nft": DOCKER}));
    let config = host.path("config.yaml");
    std::fs::write(&config, "manage-firewall: false\n").unwrap();
    let run = host.run(&["--config", config.to_str().unwrap(), "setup", "kvm"]);
    assert_eq!(run.code, Some(69), "{run}");
    assert!(firewall_changes(&run).is_empty(), "{run}");
    assert!(run.stderr.contains("Docker drops virbr0's"), "{run}");
    assert!(run.stderr.contains("manage-firewall is false"), "{run}");
    assert!(run.stderr.contains(VIRBR0_DOCKER_USER_RULES[1]), "{run}");
    assert!(run.stdout.contains("failed       coexistence"), "{run}");
}

#[test]
fn the_network_follows_an_uplink_mtu_below_1500_keeping_its_uuid_and_mac() {
    let Some(host) = running_libvirt(json!({"Active": "yes", "Autostart": "yes"})) else {
        return;
    };
    host.write("sys/class/net/eth0/mtu", "1400\n");
    let run = json_run(&host, &["setup", "kvm"]);
    assert_eq!(run.code, Some(0), "{run}");
    let network: Vec<&String> = run
        .commands
        .iter()
        .skip_while(|c| !c.contains("net-list"))
        .take_while(|c| !c.contains("pool-list"))
        .collect();
    assert_eq!(
        network,
        [
            &virsh("net-list --all --name"),
            &virsh("net-list --inactive --name"),
            &virsh("net-list --all --autostart --name"),
            &virsh("net-dumpxml --inactive default"),
            "ip -j addr show",
            "ip -j -4 route show table all",
            &virsh("net-destroy default"),
            &virsh(&format!("net-define {}", definition(&host))),
            &virsh("net-start default"),
        ],
        "{run}"
    );
    let defined = std::fs::read_to_string(definition(&host)).unwrap();
    assert!(
        defined.contains(
            "<bridge name='virbr0' stp='on' delay='0'/>\n  <mtu size='1400'/>\n  <mac address='52:54:00:12:34:56'/>"
        ),
        "{defined}"
    );
    assert!(
        defined.contains("<uuid>2a4c7b2e-8d4e-4f50-9a4e-0c1b2d3e4f50</uuid>"),
        "{defined}"
    );
    assert!(
        defined.contains("<ip address='192.168.122.1' netmask='255.255.255.0'>"),
        "{defined}"
    );
    assert_eq!(
        detail(&run, "libvirt-network"),
        "default network on virbr0 192.168.122.1/24, MTU 1400: MTU changed from 1500 (libvirt's default) to 1400, started"
    );
    assert!(
        detail(&run, "readiness").ends_with("virbr0 MTU 1400 <= eth0 MTU 1400"),
        "{run}"
    );

    let again = json_run(&host, &["setup", "kvm"]);
    assert_eq!(again.code, Some(0), "{again}");
    assert_eq!(again.json()["changed"], false, "{again}");
    assert!(
        !again
            .commands
            .iter()
            .any(|c| c.contains("net-define") || c.contains("net-destroy")),
        "{again}"
    );

    // An MTU set before, now different from the uplink's: replaced in place.
    host.write("sys/class/net/eth0/mtu", "1460\n");
    let moved = json_run(&host, &["setup", "kvm"]);
    assert_eq!(moved.code, Some(0), "{moved}");
    let defined = std::fs::read_to_string(definition(&host)).unwrap();
    assert_eq!(defined.matches("<mtu ").count(), 1, "{defined}");
    assert!(defined.contains("<mtu size='1460'/>"), "{defined}");
    assert!(
        detail(&moved, "libvirt-network").contains("MTU changed from 1400 to 1460"),
        "{moved}"
    );
}

#[test]
fn a_new_network_on_a_low_mtu_uplink_is_defined_with_that_mtu() {
    let Some(host) = kvm_host(DEBIAN_12) else { return };
    host.write("sys/class/net/eth0/mtu", "1460\n");
    let run = json_run(&host, &["setup", "kvm"]);
    assert_eq!(run.code, Some(0), "{run}");
    let defined = std::fs::read_to_string(definition(&host)).unwrap();
    assert!(
        defined.contains("<bridge name='virbr0' stp='on' delay='0'/>\n  <mtu size='1460'/>\n"),
        "{defined}"
    );
    assert!(
        detail(&run, "readiness").ends_with("virbr0 MTU 1460 <= eth0 MTU 1460"),
        "{run}"
    );
}

#[test]
fn check_kvm_runs_the_data_path_checks_on_libvirts_bridge() {
    // Before setup: nothing is there yet, which setup makes (warnings).
    let Some(bare) = kvm_host(DEBIAN_12) else { return };
    let run = bare.run(&["check", "kvm"]);
    assert!(
        run.stdout
            .contains("WARN  runtime         libvirt does not answer"),
        "{run}"
    );
    assert!(
        run.stdout
            .contains("WARN  bridge-up       virbr0 does not exist (fix: run setup; it creates the bridge)"),
        "{run}"
    );

    // A running network behind Docker's DROP: the conflict is named.
    let Some(host) = running_libvirt(json!({"Active": "yes", "Autostart": "yes"})) else {
        return;
    };
    let host = host.with_firewall_tools();
    host.write("usr/bin/dockerd", "");
    host.update_state(json!({"iptables_nft": DOCKER}));
    let run = host.run(&["check", "kvm"]);
    assert_eq!(run.code, Some(69), "{run}");
    assert!(
        run.stdout.contains("PASS  runtime         libvirt answers"),
        "{run}"
    );
    assert!(run.stdout.contains("PASS  bridge-up"), "{run}");
    let line = run
        .stdout
        .lines()
        .find(|l| l.starts_with("FAIL  firewall"))
        .unwrap_or_else(|| panic!("no firewall failure: {run}"));
    assert!(line.contains("Docker drops virbr0's"), "{line}");
    assert!(line.contains(VIRBR0_DOCKER_USER_RULES[0]), "{line}");
    assert!(
        !run.commands.iter().any(|c| c.starts_with("iptables-nft -")),
        "{run}"
    );
}
