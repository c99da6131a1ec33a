//! `setup` on the built binary against fake hosts: a `--root` tree and fake
//! apt-get, apt-cache, snap, systemctl, service, lxd, lxc, virsh and ip that
//! record their command lines (tests/fakes/fake-host.py).

#![allow(clippy::disallowed_methods, clippy::disallowed_types)] // tests build and inspect fake hosts directly

mod support;

use std::time::{Duration, Instant};

use serde_json::json;
use support::assert_one_error_line;
use support::fake_host::*;

#[test]
fn debian_lxd_fresh_run_runs_exactly_these_commands_then_a_second_run_changes_nothing() {
    let host = FakeHost::new(DEBIAN_12);
    let first = json_run(&host, &["setup", "lxd"]);
    assert_eq!(first.code, Some(0), "{first}");
    // No systemd here: LXD is started the way its init script would, and the
    // bridge avoids 10.147.0.0/24 (eth0) and 10.147.1.0/24 (a route).
    let expected = format!(
        "apt-cache policy lxd dnsmasq-base nftables
{APT_INSTALL} lxd dnsmasq-base nftables
ss -H -lnutp
lxc query /1.0/networks/lxdbr0
lxc query /1.0/networks
start-stop-daemon --start --quiet --background --make-pidfile --pidfile /run/lxd.pid --name lxd --startas /usr/bin/lxd -- --group lxd --logfile=/var/log/lxd/lxd.log
lxd waitready --timeout=120
lxc query /1.0/networks/lxdbr0
lxc query /1.0/networks
ip -j addr show
ip -j -4 route show table all
lxc network create lxdbr0 ipv4.address=10.147.2.1/24 ipv4.nat=true ipv6.address=none
lxc query /1.0/storage-pools/default
lxc query /1.0/storage-pools
lxc storage create default dir
lxc query /1.0/profiles/default
lxc profile device add default root disk path=/ pool=default
lxc profile device add default eth0 nic network=lxdbr0 name=eth0
ip -j addr show
ss -H -lnutp
lxc query /1.0/networks/lxdbr0/state
ip -j addr show
ss -H -lnutp"
    );
    // The coexistence step reads the ports again, since LXD started its
    // dnsmasq after the ports step read them. The last two: forwarding
    // persisted for the NAT bridge drops what readiness had read, and it
    // reads the links and the ports again.
    assert_eq!(first.commands, lines(&expected), "{first}");
    assert_eq!(
        first.statuses(),
        [
            ("manager-config", "unchanged"),
            ("host-lock", "unchanged"),
            ("forwarding", "skipped"),
            ("packages", "changed"),
            ("dns-dhcp-ports", "unchanged"),
            ("lxd-daemon", "changed"),
            ("lxd-network", "changed"),
            ("lxd-storage", "changed"),
            ("lxd-profile", "changed"),
            ("nat-forwarding", "unchanged"),
            ("coexistence", "changed"),
            ("readiness", "unchanged"),
        ]
        .map(|(a, b)| (a.to_string(), b.to_string()))
    );
    let doc = first.json();
    assert_eq!(doc["changed"], true);
    assert_eq!(doc["exit_code"], 0);
    assert_eq!(
        host.state()["networks"]["lxdbr0"],
        json!({"ipv4.address": "10.147.2.1/24", "ipv4.nat": "true", "ipv6.address": "none"})
    );

    let before = support::snapshot(host.root.path());
    let second = json_run(&host, &["setup", "lxd"]);
    assert_eq!(second.code, Some(0), "{second}");
    // The ports and the bridge first; the bridge as wanted, the rest at once.
    assert_eq!(
        second.commands[..2],
        ["ss -H -lnutp", "lxc query /1.0/networks/lxdbr0"],
        "{second}"
    );
    assert_eq!(
        sorted(&second.commands),
        sorted(&[
            "ss -H -lnutp",
            "lxc query /1.0/networks/lxdbr0",
            "lxc query /1.0/storage-pools/default",
            "lxc query /1.0/profiles/default",
            "ip -j addr show",
            "lxc query /1.0/networks/lxdbr0/state",
        ]),
        "a converged run starts at most 6 processes and no installer"
    );
    let doc = second.json();
    assert_eq!(doc["changed"], false, "{second}");
    assert!(
        second
            .statuses()
            .iter()
            .all(|(_, s)| s == "unchanged" || s == "skipped"),
        "{second}"
    );
    // Only the lock file's own metadata may differ; no file was rewritten.
    let after = support::snapshot(host.root.path());
    assert_eq!(
        after.keys().collect::<Vec<_>>(),
        before.keys().collect::<Vec<_>>()
    );
    for (path, meta) in &before {
        if !path.ends_with("container-init.lock") {
            assert_eq!(&after[path], meta, "{path} was written by a converged run");
        }
    }
}

#[test]
fn debian_lxd_under_systemd_starts_the_units_with_systemctl() {
    let host = FakeHost::new(DEBIAN_12).with_systemd();
    host.installed(&["lxd", "dnsmasq-base", "nftables"]);
    let run = host.run(&["setup", "lxd"]);
    assert_eq!(run.code, Some(0), "{run}");
    assert_eq!(run.commands[0], "ss -H -lnutp");
    assert_eq!(run.commands[1], "lxc query /1.0/networks/lxdbr0");
    assert_eq!(run.commands[2], "lxc query /1.0/networks");
    assert_eq!(
        run.commands[3..5],
        [
            "systemctl enable --now lxd.socket lxd.service",
            "lxd waitready --timeout=120"
        ]
    );
    assert!(!run.commands.iter().any(|c| c.starts_with("apt-")), "{run}");
    assert!(run.stdout.contains("skipped      forwarding"), "{run}");
}

#[test]
fn an_existing_bridge_that_differs_is_corrected_and_what_fits_stays() {
    let host = FakeHost::new(DEBIAN_12);
    host.installed(&["lxd", "dnsmasq-base", "nftables"]);
    host.set_state(json!({
        "running": ["lxd"],
        "networks": {"lxdbr0": {"ipv4.address": "10.20.30.1/24", "ipv4.nat": "false", "ipv6.address": "auto"}},
        "pools": ["default"],
        "profile": {"devices": {
            "root": {"type": "disk", "path": "/", "pool": "default"},
            "eth0": {"type": "nic", "network": "br-other", "name": "eth0"}
        }}
    }));
    let manager = host.path("manager.yaml");
    std::fs::write(&manager, "lxc-default-mtu: 1450\n").unwrap();
    let run = json_run(
        &host,
        &["setup", "lxd", "--manager-config", manager.to_str().unwrap()],
    );
    assert_eq!(run.code, Some(0), "{run}");
    assert_eq!(
        run.commands,
        [
            "ss -H -lnutp",
            "lxc query /1.0/networks/lxdbr0",
            "lxc network set lxdbr0 bridge.mtu=1450 ipv4.nat=true ipv6.address=none",
            "lxc query /1.0/storage-pools/default",
            "lxc query /1.0/profiles/default",
            "lxc profile device set default eth0 network=lxdbr0",
            "ip -j addr show",
            "ss -H -lnutp",
            "lxc query /1.0/networks/lxdbr0/state",
            // NAT is now on: forwarding persisted, so readiness reads the links
            // and the ports again.
            "ip -j addr show",
            "ss -H -lnutp",
        ],
        "{run}"
    );
    let detail = |step: &str| {
        run.json()["steps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == step)
            .unwrap()["detail"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(
        detail("lxd-network"),
        "lxdbr0 10.20.30.1/24: bridge.mtu (unset) -> 1450, ipv4.nat false -> true, ipv6.address auto -> none"
    );
    assert_eq!(detail("lxd-profile"), "eth0: network br-other -> lxdbr0");
    assert_eq!(run.status_of("lxd-daemon"), "unchanged");
    assert_eq!(run.status_of("lxd-network"), "changed");
    assert_eq!(run.status_of("lxd-storage"), "unchanged");
    assert_eq!(run.status_of("lxd-profile"), "changed");
    assert_eq!(
        host.state()["networks"]["lxdbr0"]["ipv4.address"],
        "10.20.30.1/24",
        "an address someone chose is kept"
    );
}

#[test]
fn enable_nat_false_is_honoured() {
    let host = FakeHost::new(DEBIAN_12);
    host.installed(&["lxd", "dnsmasq-base", "nftables"]);
    let manager = host.path("manager.json");
    std::fs::write(&manager, r#"{"config": {"enable-nat": "false"}}"#).unwrap();
    let run = host.run(&["setup", "lxd", "--manager-config", manager.to_str().unwrap()]);
    assert_eq!(run.code, Some(0), "{run}");
    assert!(
        run.commands.contains(
            &"lxc network create lxdbr0 ipv4.address=10.147.2.1/24 ipv4.nat=false ipv6.address=none".into()
        ),
        "{run}"
    );
}

#[test]
fn ubuntu_lxd_comes_from_snap_on_the_channel_asked_for() {
    let host = FakeHost::new(UBUNTU_24_04).with_systemd();
    let manager = host.path("manager.yaml");
    std::fs::write(&manager, "lxd-snap-channel: 5.20/stable\n").unwrap();
    let args = ["setup", "lxd", "--manager-config", manager.to_str().unwrap()];
    let run = host.run(&args);
    assert_eq!(run.code, Some(0), "{run}");
    assert_eq!(
        run.commands[..4],
        [
            "snap list lxd",
            "snap install lxd --channel=5.20/stable",
            "ss -H -lnutp",
            // socket-activated once installed: answers at once
            "lxc query /1.0/networks/lxdbr0",
        ],
        "{run}"
    );
    assert!(!run.commands.iter().any(|c| c.starts_with("apt")), "{run}");

    let again = host.run(&args);
    assert_eq!(again.code, Some(0), "{again}");
    assert_eq!(again.commands[0], "snap list lxd");
    assert!(
        !again.commands.iter().any(|c| c.starts_with("snap install")),
        "{again}"
    );

    std::fs::write(&manager, "lxd-snap-channel: 5.21/stable\n").unwrap();
    let moved = json_run(&host, &args);
    assert_eq!(moved.code, Some(0), "{moved}");
    assert_eq!(moved.commands[1], "snap refresh lxd --channel=5.21/stable");
    assert_eq!(moved.status_of("packages"), "changed");
}

#[test]
fn ubuntu_without_a_channel_gets_the_default_one() {
    let host = FakeHost::new(UBUNTU_24_04).with_systemd();
    let run = host.run(&["setup", "lxd"]);
    assert_eq!(run.code, Some(0), "{run}");
    assert_eq!(run.commands[1], "snap install lxd --channel=5.21/stable");
}

#[test]
fn apt_get_update_runs_only_when_a_package_has_no_candidate() {
    let host = FakeHost::new(DEBIAN_12);
    host.update_state(json!({"stale_lists": true}));
    let run = host.run(&["setup", "lxd"]);
    assert_eq!(run.code, Some(0), "{run}");
    assert_eq!(
        run.commands[..4],
        [
            "apt-cache policy lxd dnsmasq-base nftables".to_string(),
            "apt-get update".to_string(),
            "apt-cache policy lxd dnsmasq-base nftables".to_string(),
            format!("{APT_INSTALL} lxd dnsmasq-base nftables"),
        ],
        "{run}"
    );
}

#[test]
fn a_dpkg_lock_held_for_a_while_is_waited_out() {
    let host = FakeHost::new(DEBIAN_12);
    let mut holder = support::child::hold_fcntl_lock(&host.path("var/lib/dpkg/lock-frontend"), None);
    let mut tool = support::child::Guarded::spawn(
        host.command(&["setup", "lxd", "-v"], &[])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped()),
    );
    // Released once the tool says it waits for it: no clock decides.
    let stderr = tool.child().stderr.take().unwrap();
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(stderr));
    let waiting = format!("another process (pid {}) holds the dpkg lock", holder.id());
    let mut seen = Vec::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        let found = line.contains(&waiting);
        seen.push(line);
        if found {
            break;
        }
    }
    assert!(seen.iter().any(|l| l.contains(&waiting)), "{seen:#?}");
    // Nothing ran apt-get install while the lock was held.
    assert!(!host.log().iter().any(|c| c.starts_with("apt-get install")));
    holder.kill();
    seen.extend(lines.map(Result::unwrap));
    let status = tool.child().wait().unwrap();
    assert!(status.success(), "{seen:#?}");
    let installs = host
        .log()
        .iter()
        .filter(|c| c.starts_with("apt-get install"))
        .count();
    assert_eq!(installs, 1, "{:?}", host.log());
    assert!(host.read("var/lib/dpkg/status").contains("Package: lxd\n"));
}

#[test]
fn a_dpkg_lock_held_past_the_lock_timeout_gives_75() {
    let host = FakeHost::new(DEBIAN_12);
    let holder = support::child::hold_fcntl_lock(&host.path("var/lib/dpkg/lock-frontend"), None);
    let started = Instant::now();
    let run = host.run(&["setup", "lxd", "--lock-timeout", "1"]);
    assert_eq!(run.code, Some(75), "{run}");
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_one_error_line(&run.stderr);
    assert!(
        run.stderr.contains(&format!(
            "another process (pid {}) still holds the dpkg lock /var/lib/dpkg/lock-frontend",
            holder.id()
        )),
        "{run}"
    );
    drop(holder);
    assert!(!host.read("var/lib/dpkg/status").contains("Package: lxd\n"));
}

#[test]
fn the_host_lock_held_by_another_process_gives_75() {
    let host = FakeHost::new(DEBIAN_12);
    let holder = support::child::hold_flock(&host.path("run/lock/container-init.lock"), None);
    let run = json_run(&host, &["setup", "lxd", "--lock-timeout", "1"]);
    drop(holder);
    assert_eq!(run.code, Some(75), "{run}");
    assert_eq!(run.status_of("host-lock"), "failed");
    assert!(run.commands.is_empty(), "ran without the lock: {run}");
    assert_one_error_line(&run.stderr);
}

#[test]
fn a_failing_command_gives_71_with_its_command_line_and_stderr() {
    let host = FakeHost::new(DEBIAN_12);
    host.update_state(json!({"fail": "lxc storage create"}));
    let run = json_run(&host, &["setup", "lxd"]);
    assert_eq!(run.code, Some(71), "{run}");
    assert_one_error_line(&run.stderr);
    assert!(
        run.stderr.contains(
            "`lxc storage create default dir` failed with exit status 1: Error: lxc failed as the test asked"
        ),
        "{run}"
    );
    let doc = run.json();
    assert_eq!(doc["ok"], false);
    assert_eq!(doc["exit_code"], 71);
    assert_eq!(run.status_of("lxd-storage"), "failed");
    // Nothing after the failure was run.
    assert_eq!(run.commands.last().unwrap(), "lxc storage create default dir");
}

#[test]
fn an_invalid_manager_config_gives_65_before_anything_runs_or_changes() {
    let host = FakeHost::new(DEBIAN_12);
    let manager = host.path("manager.yaml");
    std::fs::write(&manager, "ip-forwarding: true\nlxc-default-mtu: 99999\n").unwrap();
    let before = support::snapshot(host.root.path());
    let run = host.run(&["setup", "lxd", "--manager-config", manager.to_str().unwrap()]);
    assert_eq!(run.code, Some(65), "{run}");
    assert_one_error_line(&run.stderr);
    assert!(run.stderr.contains("lxc-default-mtu"), "{run}");
    assert!(run.stderr.contains("99999"), "{run}");
    assert!(run.commands.is_empty(), "{run}");
    assert_eq!(support::snapshot(host.root.path()), before);
}

#[test]
fn an_unsupported_distribution_gives_69_naming_it_and_installs_nothing() {
    let host = FakeHost::new(FEDORA_40);
    let run = host.run(&["setup", "lxc"]);
    assert_eq!(run.code, Some(69), "{run}");
    assert_one_error_line(&run.stderr);
    assert!(run.stderr.contains("Fedora Linux 40"), "{run}");
    assert!(run.commands.is_empty(), "{run}");
}

#[test]
fn no_install_turns_a_missing_package_into_69() {
    let host = FakeHost::new(DEBIAN_12);
    host.installed(&["lxd"]);
    let run = host.run(&["setup", "lxd", "--no-install"]);
    assert_eq!(run.code, Some(69), "{run}");
    assert!(
        run.stderr.contains("dnsmasq-base nftables not installed"),
        "{run}"
    );
    assert!(run.commands.is_empty(), "{run}");

    let ubuntu = FakeHost::new(UBUNTU_24_04);
    let run = ubuntu.run(&["setup", "lxd", "--no-install"]);
    assert_eq!(run.code, Some(69), "{run}");
    assert_eq!(run.commands, ["snap list lxd"], "{run}");
}

#[test]
fn kvm_without_hardware_virtualisation_gives_69_before_installing() {
    let host = FakeHost::new(DEBIAN_12);
    let run = json_run(&host, &["setup", "kvm"]);
    assert_eq!(run.code, Some(69), "{run}");
    assert_eq!(run.status_of("virtualisation"), "failed");
    assert!(run.commands.is_empty(), "{run}");
    assert!(
        run.json()["error"]
            .as_str()
            .unwrap()
            .contains("--allow-emulation")
    );

    // The CPU flag alone is not enough: /dev/kvm must be there too.
    host.write("proc/cpuinfo", CPU_VMX);
    let run = host.run(&["setup", "kvm"]);
    assert_eq!(run.code, Some(69), "{run}");
    assert!(run.stderr.contains("/dev/kvm absent"), "{run}");
    assert!(run.commands.is_empty(), "{run}");
}

#[test]
fn lxc_writes_forwarding_and_the_lxc_net_override_before_the_package() {
    let host = FakeHost::new(DEBIAN_12);
    let manager = host.path("manager.yaml");
    std::fs::write(&manager, "ip-forwarding: true\nlxc-default-mtu: 1450\n").unwrap();
    let args = ["setup", "lxc", "--manager-config", manager.to_str().unwrap()];
    let env = [("CONTAINER_INIT_ADDRESS_ALLOCATION", "true")];
    let run = host.run_with_env(&args, &env);
    assert_eq!(run.code, Some(0), "{run}");
    assert_eq!(
        run.commands,
        lines(&format!(
            "apt-cache policy lxc dnsmasq-base
{APT_INSTALL} lxc dnsmasq-base
ss -H -lnutp
service lxc-net status
service lxc-net start
ip -j addr show
ss -H -lnutp
lxc-ls --version"
        )),
        "{run}"
    );
    assert_eq!(host.read("proc/sys/net/ipv4/ip_forward"), "1\n");
    assert_eq!(host.read("proc/sys/net/ipv4/conf/all/proxy_arp"), "1\n");
    assert!(
        host.read("etc/sysctl.d/60-container-init.conf")
            .contains("net.ipv4.ip_forward = 1")
    );
    let lxc_net = host.read("etc/default/lxc-net");
    assert!(lxc_net.contains("LXC_DHCP_RANGE"), "{lxc_net}");
    // The package found our file at install time, and kept it.
    assert_eq!(host.state()["lxc_net_at_install"], lxc_net.as_str());
    assert!(
        host.read("etc/lxc/default.conf")
            .contains("lxc.net.0.mtu = 1450\n")
    );

    let mut again_args = args.to_vec();
    again_args.extend(["--output", "json"]);
    let again = host.run_with_env(&again_args, &env);
    assert_eq!(again.code, Some(0), "{again}");
    assert_eq!(again.json()["changed"], false, "{again}");
    assert_eq!(
        again.commands,
        ["ss -H -lnutp", "ip -j addr show", "lxc-ls --version"],
        "{again}"
    );
}

/// lxcbr0 left up after its dnsmasq died, while LXD's dnsmasq holds
/// `0.0.0.0%lxdbr0:67`: /proc/net/udp shows a DHCP socket on every
/// address, but `ss` shows it serves lxdbr0 only. Guests on lxcbr0 would
/// wait for a lease for ever: check fails and setup restarts lxc-net.
#[test]
fn lxcbr0_up_without_its_dnsmasq_fails_check_and_setup_restarts_lxc_net() {
    let host = FakeHost::new(DEBIAN_12);
    let first = host.run(&["setup", "lxc"]);
    assert_eq!(first.code, Some(0), "{first}");
    let mut links = host.state()["link_addrs"].clone();
    links["lxdbr0"] = json!("10.147.0.1/24");
    std::fs::create_dir_all(host.path("sys/class/net/lxdbr0")).unwrap();
    std::fs::write(host.path("sys/class/net/lxdbr0/flags"), "0x1003\n").unwrap();
    host.update_state(json!({"link_addrs": links, "dnsmasq_killed": ["lxcbr0"]}));

    // This fake kernel lacks namespaces, so check fails anyway: the line is
    // what counts.
    let dhcp_line = |run: &Run| {
        run.stdout
            .lines()
            .find(|l| l.contains("dhcp-dns"))
            .unwrap_or_default()
            .to_string()
    };
    let check = host.run(&["check", "lxc"]);
    assert!(
        dhcp_line(&check).contains("nothing listens for DHCP or DNS on 10.0.3.1"),
        "{check}"
    );

    let run = json_run(&host, &["setup", "lxc"]);
    assert_eq!(run.code, Some(0), "{run}");
    assert_eq!(run.status_of("lxc-net-service"), "changed", "{run}");
    assert_eq!(
        detail(&run, "lxc-net-service"),
        "restarted lxc-net: lxcbr0 was up but no DHCP server listened on it"
    );
    assert!(
        run.commands.contains(&"service lxc-net restart".to_string()),
        "{run}"
    );
    assert_eq!(host.state()["dnsmasq_killed"], json!([]));

    let again = json_run(&host, &["setup", "lxc"]);
    assert_eq!(again.json()["changed"], false, "{again}");
    let check = host.run(&["check", "lxc"]);
    assert!(
        dhcp_line(&check).starts_with("PASS") && dhcp_line(&check).contains("listens on 10.0.3.1"),
        "{check}"
    );
}

/// lxc-net's flag file left without its bridge (a killed run, or an
/// lxc-net in a namespace that shared /run): its `start` would refuse with
/// "already running"; setup restarts it, which clears the flag, and notes
/// the start for teardown.
#[test]
fn a_network_up_flag_left_without_the_bridge_is_restarted_past() {
    let host = FakeHost::new(DEBIAN_12);
    host.installed(&["lxc", "dnsmasq-base"]);
    host.write("run/lxc/network_up", "");
    let run = json_run(&host, &["setup", "lxc"]);
    assert_eq!(run.code, Some(0), "{run}");
    assert_eq!(
        detail(&run, "lxc-net-service"),
        "restarted lxc-net for lxcbr0: /run/lxc/network_up was left without it"
    );
    assert!(
        run.commands.contains(&"service lxc-net restart".to_string()),
        "{run}"
    );
    assert!(host.path("sys/class/net/lxcbr0").exists());
    let record = host.read("var/lib/container-init/record.json");
    assert!(record.contains("\"lxc-net\""), "{record}");
    let again = json_run(&host, &["setup", "lxc"]);
    assert_eq!(again.json()["changed"], false, "{again}");
}

#[test]
fn lxc_without_address_allocation_leaves_lxc_net_alone() {
    let host = FakeHost::new(DEBIAN_12).with_systemd();
    let run = json_run(&host, &["setup", "lxc"]);
    assert_eq!(run.code, Some(0), "{run}");
    assert_eq!(run.status_of("lxc-net"), "skipped");
    assert_eq!(run.status_of("lxc-mtu"), "skipped");
    assert_eq!(host.read("etc/default/lxc-net"), "USE_LXC_BRIDGE=\"true\"\n");
    assert!(
        run.commands
            .contains(&"systemctl enable --now lxc-net".to_string()),
        "{run}"
    );
}

#[test]
fn dry_run_shows_the_plan_and_changes_nothing() {
    let host = FakeHost::new(DEBIAN_12);
    let before = support::snapshot(host.root.path());
    let run = host.run(&["--dry-run", "setup", "lxd"]);
    assert_eq!(run.code, Some(0), "{run}");
    assert!(
        run.stdout.contains(&format!(
            "run: DEBIAN_FRONTEND=noninteractive {APT_INSTALL} lxd dnsmasq-base nftables"
        )),
        "{run}"
    );
    assert!(run.stdout.contains("would-change"), "{run}");
    assert!(
        run.stdout.contains("run: lxc storage create default dir"),
        "{run}"
    );
    // Only questions were asked.
    for cmd in &run.commands {
        assert!(
            cmd.starts_with("apt-cache ")
                || cmd.starts_with("lxc query ")
                || cmd.starts_with("ip -j -4 ")
                || cmd == "ip -j addr show"
                || cmd == "ss -H -lnutp",
            "a dry run ran {cmd}: {run}"
        );
    }
    assert_eq!(support::snapshot(host.root.path()), before);
    assert_eq!(host.state(), json!({}), "a dry run changed the fake tools' state");
}

#[test]
fn check_mode_exits_2_with_changes_pending_and_0_when_converged() {
    let host = FakeHost::new(DEBIAN_12);
    let pending = json_run(&host, &["--check", "setup", "lxd"]);
    assert_eq!(pending.code, Some(2), "{pending}");
    assert_eq!(pending.status_of("packages"), "would-change");
    assert!(!host.read("var/lib/dpkg/status").contains("Package: lxd\n"));

    assert_eq!(host.run(&["setup", "lxd"]).code, Some(0));
    let converged = host.run(&["--check", "setup", "lxd"]);
    assert_eq!(converged.code, Some(0), "{converged}");
}

#[test]
fn ubuntu_lxc_comes_from_apt_under_systemd_and_converges() {
    // kvm's counterpart is in tests/cli_setup_kvm.rs.
    let host = FakeHost::new(UBUNTU_24_04).with_systemd();
    let first = json_run(&host, &["setup", "lxc"]);
    assert_eq!(first.code, Some(0), "{first}");
    assert_eq!(
        first.commands[..5],
        [
            "apt-cache policy lxc dnsmasq-base".to_string(),
            format!("{APT_INSTALL} lxc dnsmasq-base"),
            "ss -H -lnutp".to_string(),
            "systemctl is-active --quiet lxc-net".to_string(),
            "systemctl enable --now lxc-net".to_string(),
        ],
        "{first}"
    );
    assert!(!first.commands.iter().any(|c| c.starts_with("snap")), "{first}");

    let again = json_run(&host, &["setup", "lxc"]);
    assert_eq!(again.code, Some(0), "{again}");
    assert_eq!(again.json()["changed"], false, "{again}");
    assert!(
        !again
            .commands
            .iter()
            .any(|c| c.starts_with("apt") || c.contains("enable")),
        "{again}"
    );
}

#[test]
fn a_held_package_counts_as_installed() {
    let host = FakeHost::new(DEBIAN_12);
    assert_eq!(host.run(&["setup", "lxd"]).code, Some(0));
    // `apt-mark hold lxd` changes only the first word of its status.
    let status = host.read("var/lib/dpkg/status");
    let held = status.replace(
        "Package: lxd\nStatus: install ok installed",
        "Package: lxd\nStatus: hold ok installed",
    );
    assert_ne!(held, status, "the fake wrote lxd's status differently: {status}");
    host.write("var/lib/dpkg/status", &held);
    let converged = json_run(&host, &["--check", "setup", "lxd"]);
    assert_eq!(converged.code, Some(0), "{converged}");
    assert_eq!(converged.status_of("packages"), "unchanged");
    assert!(
        !converged.commands.iter().any(|c| c.starts_with("apt-")),
        "{converged}"
    );
}

#[test]
fn a_caller_locale_does_not_reach_the_tools() {
    // The fakes refuse to run without LC_ALL=C, as a translated tool would
    // answer in words the tool does not parse.
    let host = FakeHost::new(DEBIAN_12);
    let env = [("LC_ALL", "de_DE.UTF-8"), ("LANG", "de_DE.UTF-8")];
    let first = host.run_with_env(&["setup", "lxd"], &env);
    assert_eq!(first.code, Some(0), "{first}");
    let second = host.run_with_env(&["--check", "setup", "lxd"], &env);
    assert_eq!(second.code, Some(0), "{second}");
}

/// Whether this machine can show the difference a locale makes: the German
/// locale is generated (.ci/run does it) and apt knows the LXD packages.
fn german_apt_available() -> Result<(), String> {
    let locales = std::process::Command::new("locale")
        .arg("-a")
        .output()
        .map_err(|e| e.to_string())?;
    if !String::from_utf8_lossy(&locales.stdout).contains("de_DE.utf8") {
        return Err("the de_DE.UTF-8 locale is not generated (locale-gen)".into());
    }
    let policy = std::process::Command::new("apt-cache")
        .args(["policy", "lxd", "dnsmasq-base", "nftables"])
        .env("LC_ALL", "C")
        .output()
        .map_err(|e| e.to_string())?;
    if String::from_utf8_lossy(&policy.stdout).contains("Candidate: (none)") {
        return Err("apt has no candidate for lxd here (apt-get update)".into());
    }
    Ok(())
}

#[test]
fn a_real_apt_cache_answers_in_english_whatever_the_callers_locale() {
    if let Err(why) = german_apt_available() {
        assert!(
            std::env::var_os("CONTAINER_INIT_SYSTEM_TESTS").is_none(),
            "cannot run: {why}"
        );
        support::system::skipped(&why);
        return;
    }
    // The real apt-cache translates "Candidate:" under de_DE.UTF-8; read
    // in German, every package would lack a candidate.
    let host = FakeHost::new(DEBIAN_12);
    host.use_real("apt-cache", std::path::Path::new("/usr/bin/apt-cache"));
    let run = host.run_with_env(
        &["--output", "json", "setup", "lxd"],
        &[("LC_ALL", "de_DE.UTF-8")],
    );
    assert_eq!(run.code, Some(0), "{run}");
    assert!(!run.commands.iter().any(|c| c == "apt-get update"), "{run}");
    assert!(run.commands.iter().any(|c| c.starts_with(APT_INSTALL)), "{run}");
}
