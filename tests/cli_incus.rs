//! `setup incus` against fake hosts: Incus from the main archive (Debian 13,
//! Ubuntu 24.04) and from bookworm-backports (Debian 12), the same converge
//! steps as LXD, `--user`, bridges beyond 10/8, `bridge-subnet`, and Ubuntu's
//! LXD decided by `snap list lxd` whatever /usr/sbin/lxd is.

#![allow(clippy::disallowed_methods, clippy::disallowed_types)] // tests build and inspect fake hosts directly

mod support;

use serde_json::json;
use support::assert_one_error_line;
use support::fake_host::*;
const BACKPORTS_FILE: &str = "etc/apt/sources.list.d/container-init-backports.sources";

/// The commands after the packages, the same for every host with Incus
/// installed and no systemd: the init script, then the family's steps.
/// A fresh setup's commands after the packages. The last two: forwarding
/// persisted for the NAT bridge drops what readiness had read, and it reads
/// the links and the ports again.
fn incus_converge_commands(start: &str, address: &str) -> String {
    format!(
        "ss -H -lnutp
incus query /1.0/networks/incusbr0
incus query /1.0/networks
{start}
incus admin waitready --timeout=120
incus query /1.0/networks/incusbr0
incus query /1.0/networks
ip -j addr show
ip -j -4 route show table all
incus network create incusbr0 ipv4.address={address} ipv4.nat=true ipv6.address=none
incus query /1.0/storage-pools/default
incus query /1.0/storage-pools
incus storage create default dir
incus query /1.0/profiles/default
incus profile device add default root disk path=/ pool=default
incus profile device add default eth0 nic network=incusbr0 name=eth0
ip -j addr show
ss -H -lnutp
incus query /1.0/networks/incusbr0/state
ip -j addr show
ss -H -lnutp"
    )
}

fn assert_second_run_changes_nothing(host: &FakeHost) {
    let before = support::snapshot(host.root.path());
    let again = json_run(host, &["setup", "incus"]);
    assert_eq!(again.code, Some(0), "{again}");
    assert_eq!(again.json()["changed"], false, "{again}");
    // The ports and the bridge first; the bridge as wanted, the rest at once.
    assert_eq!(
        again.commands[..2],
        ["ss -H -lnutp", "incus query /1.0/networks/incusbr0"],
        "{again}"
    );
    assert_eq!(
        sorted(&again.commands),
        sorted(&[
            "ss -H -lnutp",
            "incus query /1.0/networks/incusbr0",
            "incus query /1.0/storage-pools/default",
            "incus query /1.0/profiles/default",
            "ip -j addr show",
            "incus query /1.0/networks/incusbr0/state",
        ]),
        "{again}"
    );
    let after = support::snapshot(host.root.path());
    for (path, meta) in &before {
        if !path.ends_with("container-init.lock") {
            assert_eq!(
                after.get(path),
                Some(meta),
                "{path} was written by a converged run"
            );
        }
    }
}

#[test]
fn debian_13_installs_incus_from_the_main_archive_and_converges_like_lxd() {
    let host = FakeHost::new(DEBIAN_13);
    let first = json_run(&host, &["setup", "incus"]);
    assert_eq!(first.code, Some(0), "{first}");
    let expected = format!(
        "apt-cache policy incus-base incus-client dnsmasq-base
{APT_INSTALL} incus-base incus-client dnsmasq-base
{}",
        incus_converge_commands("service incus start", "10.147.2.1/24")
    );
    assert_eq!(first.commands, lines(&expected), "{first}");
    assert_eq!(
        first.statuses(),
        [
            ("manager-config", "unchanged"),
            ("host-lock", "unchanged"),
            ("forwarding", "skipped"),
            ("packages", "changed"),
            ("dns-dhcp-ports", "unchanged"),
            ("incus-daemon", "changed"),
            ("incus-network", "changed"),
            ("incus-storage", "changed"),
            ("incus-profile", "changed"),
            ("nat-forwarding", "unchanged"),
            ("coexistence", "changed"),
            ("readiness", "unchanged"),
        ]
        .map(|(a, b)| (a.to_string(), b.to_string()))
    );
    assert!(!host.path(BACKPORTS_FILE).exists(), "no backports on Debian 13");
    assert_eq!(
        host.state()["incus"]["networks"]["incusbr0"],
        json!({"ipv4.address": "10.147.2.1/24", "ipv4.nat": "true", "ipv6.address": "none"})
    );
    // LXD's objects were not touched: Incus's are its own.
    assert!(host.state().get("networks").is_none(), "{first}");
    assert_second_run_changes_nothing(&host);
}

#[test]
fn ubuntu_24_04_installs_incus_from_apt_and_starts_it_with_systemd() {
    let host = FakeHost::new(UBUNTU_24_04).with_systemd();
    let run = json_run(&host, &["setup", "incus"]);
    assert_eq!(run.code, Some(0), "{run}");
    assert_eq!(
        run.commands[..7],
        [
            "apt-cache policy incus-base incus-client dnsmasq-base".to_string(),
            format!("{APT_INSTALL} incus-base incus-client dnsmasq-base"),
            "ss -H -lnutp".to_string(),
            "incus query /1.0/networks/incusbr0".to_string(),
            "incus query /1.0/networks".to_string(),
            "systemctl enable --now incus.socket incus.service".to_string(),
            "incus admin waitready --timeout=120".to_string(),
        ],
        "{run}"
    );
    assert!(!run.commands.iter().any(|c| c.starts_with("snap")), "{run}");
    assert_second_run_changes_nothing(&host);
}

#[test]
fn debian_12_adds_bookworm_backports_in_its_own_file_and_installs_only_incus_from_it() {
    let host = FakeHost::new(DEBIAN_12);
    host.write(
        "etc/apt/sources.list.d/debian.sources",
        "Types: deb\nURIs: http://mirror.example/debian\nSuites: bookworm bookworm-updates\nComponents: main\n\
         Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n",
    );
    host.update_state(json!({"backports_only": true}));

    let plan = host.run(&["setup", "incus", "--dry-run"]);
    assert_eq!(plan.code, Some(0), "{plan}");
    assert!(
        plan.stdout
            .contains("+++ /etc/apt/sources.list.d/container-init-backports.sources"),
        "{plan}"
    );
    assert!(plan.stdout.contains("+Suites: bookworm-backports"), "{plan}");
    assert!(plan.stdout.contains("-t bookworm-backports incus-base"), "{plan}");
    assert!(!host.path(BACKPORTS_FILE).exists(), "a dry run writes nothing");

    let first = json_run(&host, &["setup", "incus"]);
    assert_eq!(first.code, Some(0), "{first}");
    let expected = format!(
        "apt-cache policy incus-base incus-client dnsmasq-base
apt-get update
apt-cache policy incus-base incus-client dnsmasq-base
{APT_INSTALL} -t bookworm-backports incus-base incus-client dnsmasq-base
{}",
        incus_converge_commands("service incus start", "10.147.2.1/24")
    );
    assert_eq!(first.commands, lines(&expected), "{first}");
    assert_eq!(
        host.read(BACKPORTS_FILE),
        "# Written by container-init: Incus comes from bookworm-backports on this release.\n\
         # Only what `setup incus` installs is taken from it (apt-get install -t bookworm-backports).\n\
         Types: deb\nURIs: http://mirror.example/debian\nSuites: bookworm-backports\nComponents: main\n\
         Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n"
    );
    let said = detail(&first, "packages");
    assert!(said.contains("from bookworm-backports"), "{said}");
    assert!(said.contains(BACKPORTS_FILE), "{said}");
    // The host's own source file is read, never changed.
    assert!(
        host.read("etc/apt/sources.list.d/debian.sources")
            .starts_with("Types: deb\nURIs: http://mirror.example")
    );
    assert_second_run_changes_nothing(&host);
}

#[test]
fn a_host_inside_10_slash_8_gets_a_172_16_bridge() {
    let host = FakeHost::new(DEBIAN_13);
    host.installed(&["incus-base", "incus-client", "dnsmasq-base"]);
    host.update_state(json!({
        "running": ["incus"],
        "addrs": [
            {"ifname": "lo", "addr_info": [{"family": "inet", "local": "127.0.0.1", "prefixlen": 8}]},
            {"ifname": "eth0", "addr_info": [{"family": "inet", "local": "10.20.0.5", "prefixlen": 8}]},
        ],
        "routes": [
            {"dst": "default", "gateway": "10.0.0.1", "dev": "eth0"},
            {"dst": "172.16.0.0/24", "dev": "docker0", "scope": "link"},
        ],
    }));
    let run = json_run(&host, &["setup", "incus"]);
    assert_eq!(run.code, Some(0), "{run}");
    assert!(
        run.commands.contains(
            &"incus network create incusbr0 ipv4.address=172.16.1.1/24 ipv4.nat=true ipv6.address=none"
                .to_string()
        ),
        "{run}"
    );
    assert_eq!(
        detail(&run, "incus-network"),
        "incusbr0 172.16.1.1/24 nat=true ipv6=none"
    );
}

#[test]
fn bridge_subnet_pins_the_address_and_an_overlap_with_the_host_is_65() {
    let host = FakeHost::new(DEBIAN_13);
    host.installed(&["incus-base", "incus-client", "dnsmasq-base"]);
    host.update_state(json!({"running": ["incus"]}));
    host.write(
        "etc/container-init/config.yaml",
        "bridge-subnet: 192.168.77.1/24\n",
    );
    let run = json_run(&host, &["setup", "incus"]);
    assert_eq!(run.code, Some(0), "{run}");
    assert_eq!(
        host.state()["incus"]["networks"]["incusbr0"]["ipv4.address"],
        "192.168.77.1/24"
    );

    // 10.147.0.5/24 is eth0's (the fake's default addresses).
    let clash = FakeHost::new(DEBIAN_13);
    clash.installed(&["incus-base", "incus-client", "dnsmasq-base"]);
    clash.update_state(json!({"running": ["incus"]}));
    clash.write(
        "etc/container-init/config.yaml",
        "bridge-subnet: 10.147.0.200/25\n",
    );
    let run = clash.run(&["setup", "incus"]);
    assert_eq!(run.code, Some(65), "{run}");
    assert_one_error_line(&run.stderr);
    assert!(
        run.stderr
            .contains("bridge-subnet 10.147.0.200/25 overlaps 10.147.0.0/24"),
        "{run}"
    );
    assert!(
        !run.commands.iter().any(|c| c.contains("network create")),
        "{run}"
    );

    clash.write("etc/container-init/config.yaml", "bridge-subnet: 10.147.0.0/24\n");
    let run = clash.run(&["setup", "incus"]);
    assert_eq!(
        run.code,
        Some(78),
        "a network address is no bridge address: {run}"
    );
    assert!(run.stderr.contains("bridge-subnet"), "{run}");
}

#[test]
fn user_joins_the_admin_group_once_and_bad_or_unknown_users_are_refused() {
    let host = FakeHost::new(DEBIAN_13);
    host.installed(&["incus-base", "incus-client", "dnsmasq-base"]);
    host.write(
        "etc/passwd",
        "root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000::/home/alice:/bin/sh\n",
    );
    host.write("etc/group", "root:x:0:\nincus-admin:x:997:\nlxd:x:998:\n");
    host.update_state(json!({"running": ["incus"]}));
    let run = json_run(&host, &["setup", "incus", "--user", "alice"]);
    assert_eq!(run.code, Some(0), "{run}");
    assert!(
        run.commands
            .contains(&"usermod -aG incus-admin -- alice".to_string()),
        "{run}"
    );
    assert_eq!(run.status_of("incus-user"), "changed");
    assert!(
        host.read("etc/group").contains("\nincus-admin:x:997:alice\n"),
        "{}",
        host.read("etc/group")
    );
    let again = json_run(&host, &["setup", "incus", "--user", "alice"]);
    assert_eq!(again.status_of("incus-user"), "unchanged", "{again}");
    assert!(
        !again.commands.iter().any(|c| c.starts_with("usermod")),
        "{again}"
    );

    let unknown = host.run(&["setup", "incus", "--user", "bob"]);
    assert_eq!(unknown.code, Some(65), "{unknown}");
    assert_one_error_line(&unknown.stderr);
    assert!(unknown.stderr.contains("--user bob: no such user"), "{unknown}");

    let lxc = host.run(&["setup", "lxc", "--user", "alice"]);
    assert_eq!(lxc.code, Some(64), "{lxc}");
    assert_one_error_line(&lxc.stderr);
    assert!(lxc.commands.is_empty(), "{lxc}");

    for bad in ["-G", "a:b", "1000"] {
        let run = host.run(&["setup", "incus", &format!("--user={bad}")]);
        assert_eq!(run.code, Some(64), "{bad}: {run}");
        assert!(run.commands.is_empty(), "{bad}: {run}");
    }
}

#[test]
fn user_for_lxd_joins_the_lxd_group() {
    let host = FakeHost::new(DEBIAN_12);
    host.installed(&["lxd", "dnsmasq-base", "nftables"]);
    host.write("etc/passwd", "alice:x:1000:1000::/home/alice:/bin/sh\n");
    host.write("etc/group", "lxd:x:998:\n");
    let run = json_run(&host, &["setup", "lxd", "--user", "alice"]);
    assert_eq!(run.code, Some(0), "{run}");
    assert!(
        run.commands.contains(&"usermod -aG lxd -- alice".to_string()),
        "{run}"
    );
    assert_eq!(run.status_of("lxd-user"), "changed");
}

#[test]
fn ubuntu_lxd_is_installed_from_snap_even_where_usr_sbin_lxd_is_the_installer_stub() {
    // Ubuntu 25.04's lxd-installer puts a stub at /usr/sbin/lxd that offers
    // to install the snap: its presence says nothing; `snap list lxd` does.
    let host = FakeHost::new(UBUNTU_24_04).with_systemd();
    host.write(
        "usr/sbin/lxd",
        "#!/bin/sh\necho 'Installing LXD snap, please be patient.'\n",
    );
    host.write("usr/bin/lxc", "#!/bin/sh\nexec /usr/sbin/lxd\n");
    let run = json_run(&host, &["setup", "lxd"]);
    assert_eq!(run.code, Some(0), "{run}");
    assert_eq!(
        run.commands[..2],
        ["snap list lxd", "snap install lxd --channel=5.21/stable"],
        "{run}"
    );
    let again = json_run(&host, &["setup", "lxd"]);
    assert_eq!(again.commands[0], "snap list lxd", "{again}");
    assert!(
        !again.commands.iter().any(|c| c.starts_with("snap install")),
        "{again}"
    );
}

#[test]
fn incus_is_69_where_the_release_has_no_package() {
    let host = FakeHost::new(
        "PRETTY_NAME=\"Ubuntu 22.04.4 LTS\"\nNAME=\"Ubuntu\"\nVERSION_ID=\"22.04\"\nID=ubuntu\nID_LIKE=debian\n",
    );
    let run = host.run(&["setup", "incus"]);
    assert_eq!(run.code, Some(69), "{run}");
    assert_one_error_line(&run.stderr);
    assert!(
        run.stderr.contains("Ubuntu 22.04.4 LTS has no Incus package"),
        "{run}"
    );
    assert!(run.commands.is_empty(), "{run}");
}
