//! The teardown record and `teardown <type>` against fake hosts: what setup
//! records, and how teardown takes it back (or leaves it) from that record.

#![allow(clippy::disallowed_methods, clippy::disallowed_types)] // tests build and inspect fake hosts directly

mod support;

use serde_json::json;
use support::fake_host::*;
use support::rulesets::UFW_ENABLED;

const RECORD: &str = "var/lib/container-init/record.json";

/// Each entry's kind, what it changes, and the types that need it.
fn entries(host: &FakeHost) -> Vec<serde_json::Value> {
    let text = host.read(RECORD);
    if text.is_empty() {
        return Vec::new();
    }
    serde_json::from_str::<serde_json::Value>(&text).unwrap()["entries"]
        .as_array()
        .unwrap()
        .clone()
}

fn types_of(host: &FakeHost, pred: impl Fn(&serde_json::Value) -> bool) -> Vec<String> {
    let all = entries(host);
    let entry = all
        .iter()
        .find(|e| pred(&e["change"]))
        .unwrap_or_else(|| panic!("no such entry in {}", host.read(RECORD)));
    entry["types"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_string())
        .collect()
}

fn manager(host: &FakeHost, text: &str) -> String {
    let path = host.path("manager.yaml");
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

#[test]
fn setup_records_each_change_before_it_and_a_converged_run_records_nothing_new() {
    let host = FakeHost::new(DEBIAN_12);
    let cfg = manager(&host, "ip-forwarding: true\n");
    let run = json_run(&host, &["setup", "lxd", "--manager-config", &cfg]);
    assert_eq!(run.code, Some(0), "{run}");
    let kinds: Vec<String> = entries(&host)
        .iter()
        .map(|e| {
            let c = &e["change"];
            let what = [&c["path"], &c["key"], &c["name"], &c["object"]]
                .iter()
                .filter_map(|v| v.as_str())
                .collect::<Vec<_>>()
                .join(" ");
            format!("{} {what}", c["kind"].as_str().unwrap())
                .trim()
                .to_string()
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "sysctl net.ipv4.ip_forward",
            "sysctl net.ipv4.conf.all.proxy_arp",
            "file /etc/sysctl.d/60-container-init.conf",
            "packages",
            "service lxd",
            "runtime-object lxdbr0 network",
            "runtime-object default storage-pool",
            "runtime-object default root profile-device",
            "runtime-object default eth0 profile-device",
        ],
        "{}",
        host.read(RECORD)
    );
    let packages = entries(&host)
        .into_iter()
        .find(|e| e["change"]["kind"] == "packages")
        .unwrap();
    assert_eq!(
        packages["change"]["installed"],
        json!(["lxd", "dnsmasq-base", "nftables"])
    );
    let sysctl = &entries(&host)[0]["change"];
    assert_eq!((&sysctl["before"], &sysctl["after"]), (&json!("0"), &json!("1")));

    let before = support::snapshot(host.root.path());
    let again = json_run(&host, &["setup", "lxd", "--manager-config", &cfg]);
    assert_eq!(again.json()["changed"], false, "{again}");
    let after = support::snapshot(host.root.path());
    assert_eq!(
        before.get("var/lib/container-init/record.json"),
        after.get("var/lib/container-init/record.json"),
        "a converged run rewrote the record"
    );

    // A second type that finds forwarding as the first left it needs it too.
    let lxc = json_run(&host, &["setup", "lxc", "--manager-config", &cfg]);
    assert_eq!(lxc.code, Some(0), "{lxc}");
    assert_eq!(
        types_of(&host, |c| c["key"] == "net.ipv4.ip_forward"),
        ["lxc", "lxd"]
    );
    assert_eq!(
        types_of(&host, |c| c["path"] == "/etc/sysctl.d/60-container-init.conf"),
        ["lxc", "lxd"]
    );
    assert_eq!(types_of(&host, |c| c["name"] == "lxdbr0"), ["lxd"]);
}

fn status_by_prefix(run: &Run, prefix: &str) -> (String, String) {
    let steps = run.json()["steps"].as_array().unwrap().clone();
    let step = steps
        .iter()
        .find(|s| s["name"].as_str().unwrap().starts_with(prefix))
        .unwrap_or_else(|| panic!("no step {prefix}: {run}"));
    (
        step["status"].as_str().unwrap().to_string(),
        step["detail"].as_str().unwrap().to_string(),
    )
}

fn assert_nothing_changed(run: &Run) {
    assert_eq!(run.code, Some(0), "{run}");
    assert_eq!(run.json()["changed"], false, "{run}");
}

#[test]
fn lxd_teardown_takes_back_what_setup_did_a_second_changes_nothing_and_setup_works_again() {
    let host = FakeHost::new(DEBIAN_12);
    let cfg = manager(&host, "ip-forwarding: true\n");
    assert_eq!(
        json_run(&host, &["setup", "lxd", "--manager-config", &cfg]).code,
        Some(0)
    );
    // An operator's own key on the profile stays.
    let mut state = host.state();
    state["profile"]["devices"]["eth0"]["boot.priority"] = json!("1");
    state["profile"]["devices"]["gpu"] = json!({"type": "gpu"});
    host.set_state(state);

    let down = json_run(&host, &["teardown", "lxd"]);
    assert_eq!(down.code, Some(0), "{down}");
    assert_eq!(down.json()["command"], "teardown lxd");
    let state = host.state();
    assert_eq!(state["networks"], json!({}), "{down}");
    assert_eq!(state["pools"], json!([]), "{down}");
    assert_eq!(
        state["profile"]["devices"],
        json!({"gpu": {"type": "gpu"}}),
        "{down}"
    );
    assert!(
        !state["running"].as_array().unwrap().contains(&json!("lxd")),
        "{down}"
    );
    assert_eq!(host.read("proc/sys/net/ipv4/ip_forward"), "0\n");
    assert_eq!(host.read("proc/sys/net/ipv4/conf/all/proxy_arp"), "0\n");
    assert!(!host.path("etc/sysctl.d/60-container-init.conf").exists());
    // Newest first: the profile's devices before the pool and the bridge.
    let order: Vec<String> = down
        .commands
        .iter()
        .filter(|c| !c.contains(" query "))
        .cloned()
        .collect();
    assert_eq!(
        order,
        [
            "lxc profile device remove default eth0",
            "lxc profile device remove default root",
            "lxc storage delete default",
            "lxc network delete lxdbr0",
            "lxd shutdown --timeout=120",
        ],
        "{down}"
    );
    assert_eq!(
        status_by_prefix(&down, "packages").0,
        "skipped",
        "packages stay without --purge-packages: {down}"
    );
    assert!(
        host.read("var/lib/dpkg/status").contains("Package: lxd"),
        "{down}"
    );
    // What is left in the record: the packages, for --purge-packages.
    let left: Vec<String> = entries(&host)
        .iter()
        .map(|e| e["change"]["kind"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(left, ["packages"]);

    let again = json_run(&host, &["teardown", "lxd"]);
    assert_nothing_changed(&again);
    assert!(
        again.commands.iter().all(|c| c.contains(" query ")),
        "a second teardown only asks: {again}"
    );

    let up = json_run(&host, &["setup", "lxd", "--manager-config", &cfg]);
    assert_eq!(up.code, Some(0), "{up}");
    assert_eq!(up.status_of("lxd-network"), "changed", "{up}");
    assert_eq!(host.state()["networks"]["lxdbr0"]["ipv4.nat"], "true", "{up}");
}

#[test]
fn guests_of_the_type_refuse_teardown_with_69_naming_them_and_change_nothing() {
    let host = FakeHost::new(DEBIAN_12);
    assert_eq!(json_run(&host, &["setup", "lxd"]).code, Some(0));
    host.update_state(json!({"instances": {"web1": "Running", "db": "Stopped"}}));
    let state = host.state();
    let record = host.read(RECORD);
    let run = json_run(&host, &["teardown", "lxd"]);
    assert_eq!(run.code, Some(69), "{run}");
    assert!(run.stderr.contains("db, web1"), "{run}");
    assert!(run.stderr.contains("never deletes a guest"), "{run}");
    assert_eq!(host.state()["networks"], state["networks"]);
    assert_eq!(host.state()["pools"], state["pools"]);
    assert_eq!(host.read(RECORD), record);
    assert!(run.commands.iter().all(|c| c.contains(" query ")), "{run}");

    // LXC's guests are its directories under /var/lib/lxc.
    let lxc = FakeHost::new(DEBIAN_12);
    assert_eq!(json_run(&lxc, &["setup", "lxc"]).code, Some(0));
    lxc.write("var/lib/lxc/c1/config", "lxc.uts.name = c1\n");
    let run = json_run(&lxc, &["teardown", "lxc"]);
    assert_eq!(run.code, Some(69), "{run}");
    assert!(run.stderr.contains(": c1;"), "{run}");
}

#[test]
fn a_file_changed_since_setup_is_skipped_with_both_values_and_kept() {
    let host = FakeHost::new(DEBIAN_12);
    let cfg = manager(&host, "ip-forwarding: true\nlxc-default-mtu: 1450\n");
    let env = [("CONTAINER_INIT_ADDRESS_ALLOCATION", "true")];
    let args = ["setup", "lxc", "--manager-config", &cfg, "--output", "json"];
    assert_eq!(host.run_with_env(&args, &env).code, Some(0));
    let by_hand = "# mine now\nUSE_LXC_BRIDGE=\"false\"\n";
    host.write("etc/default/lxc-net", by_hand);
    host.write("proc/sys/net/ipv4/conf/all/proxy_arp", "0\n");

    let run = json_run(&host, &["teardown", "lxc"]);
    assert_eq!(run.code, Some(0), "{run}");
    let (status, detail) = status_by_prefix(&run, "file /etc/default/lxc-net");
    assert_eq!(status, "skipped", "{run}");
    assert!(
        detail.contains("# mine now") && detail.contains("Written by container-init"),
        "{detail}"
    );
    assert_eq!(host.read("etc/default/lxc-net"), by_hand);
    // proxy_arp was put back by hand: nothing to do; forwarding goes back.
    assert_eq!(
        status_by_prefix(&run, "sysctl net.ipv4.conf.all.proxy_arp").0,
        "unchanged"
    );
    assert_eq!(host.read("proc/sys/net/ipv4/ip_forward"), "0\n");
    // The MTU line goes, the package's own lines stay.
    assert_eq!(
        host.read("etc/lxc/default.conf"),
        "lxc.net.0.type = veth\nlxc.net.0.link = lxcbr0\nlxc.net.0.flags = up\n"
    );
    let sysctl = status_by_prefix(&run, "sysctl net.ipv4.ip_forward");
    assert_eq!(sysctl.0, "changed", "{run}");
    assert!(
        !host.state()["running"]
            .as_array()
            .unwrap()
            .contains(&json!("lxc-net"))
    );
}

#[test]
fn a_change_two_types_need_is_taken_back_by_the_last_of_them() {
    let host = FakeHost::new(DEBIAN_12);
    let cfg = manager(&host, "ip-forwarding: true\n");
    assert_eq!(
        json_run(&host, &["setup", "lxd", "--manager-config", &cfg]).code,
        Some(0)
    );
    assert_eq!(
        json_run(&host, &["setup", "lxc", "--manager-config", &cfg]).code,
        Some(0)
    );

    let lxd = json_run(&host, &["teardown", "lxd"]);
    assert_eq!(lxd.code, Some(0), "{lxd}");
    let (status, detail) = status_by_prefix(&lxd, "sysctl net.ipv4.ip_forward");
    assert_eq!(
        (status.as_str(), detail.as_str()),
        ("skipped", "kept: setup lxc needs it too")
    );
    assert_eq!(host.read("proc/sys/net/ipv4/ip_forward"), "1\n");
    assert!(host.path("etc/sysctl.d/60-container-init.conf").exists());

    let lxc = json_run(&host, &["teardown", "lxc"]);
    assert_eq!(lxc.code, Some(0), "{lxc}");
    assert_eq!(host.read("proc/sys/net/ipv4/ip_forward"), "0\n");
    assert!(!host.path("etc/sysctl.d/60-container-init.conf").exists());
}

#[test]
fn without_a_record_teardown_changes_nothing_says_why_and_exits_0() {
    let host = FakeHost::new(DEBIAN_12);
    let run = json_run(&host, &["teardown", "incus"]);
    assert_nothing_changed(&run);
    let (_, detail) = status_by_prefix(&run, "record");
    assert!(
        detail.contains("no /var/lib/container-init/record.json"),
        "{detail}"
    );
    assert!(run.commands.is_empty(), "{run}");
}

#[test]
fn dry_run_and_check_show_the_plan_and_change_nothing() {
    let host = FakeHost::new(DEBIAN_12);
    let cfg = manager(&host, "ip-forwarding: true\n");
    assert_eq!(
        json_run(&host, &["setup", "lxd", "--manager-config", &cfg]).code,
        Some(0)
    );
    let before = support::snapshot(host.root.path());
    let state = host.state();

    let plan = host.run(&["teardown", "lxd", "--dry-run"]);
    assert_eq!(plan.code, Some(0), "{plan}");
    assert!(plan.stdout.contains("run: lxc network delete lxdbr0"), "{plan}");
    assert!(
        plan.stdout
            .contains("remove /etc/sysctl.d/60-container-init.conf"),
        "{plan}"
    );
    let check = json_run(&host, &["teardown", "lxd", "--check"]);
    assert_eq!(check.code, Some(2), "{check}");
    assert_eq!(status_by_prefix(&check, "lxd network").0, "would-change");

    assert_eq!(host.state()["networks"], state["networks"]);
    let after = support::snapshot(host.root.path());
    for (path, meta) in &before {
        assert_eq!(after.get(path), Some(meta), "{path} changed in a dry run");
    }
}

#[test]
fn purge_packages_purges_what_setup_installed_and_apt_pulled_in_that_nothing_else_needs() {
    let host = FakeHost::new(DEBIAN_12);
    host.update_state(json!({"pulls_in": {"lxd": ["liblxc1", "squashfs-tools"]}}));
    assert_eq!(json_run(&host, &["setup", "lxd"]).code, Some(0));
    let packages = entries(&host)
        .into_iter()
        .find(|e| e["change"]["kind"] == "packages")
        .unwrap();
    assert_eq!(
        packages["change"]["pulled_in"],
        json!(["liblxc1", "squashfs-tools"])
    );
    // Installed afterwards by someone else, and needing one of them.
    let mut status = host.read("var/lib/dpkg/status");
    status.push_str(
        "\nPackage: lxc-templates\nStatus: install ok installed\nDepends: liblxc1 (>= 5.0)\nVersion: 1.0\n",
    );
    host.write("var/lib/dpkg/status", &status);

    let run = json_run(&host, &["teardown", "lxd", "--purge-packages"]);
    assert_eq!(run.code, Some(0), "{run}");
    let (state, detail) = status_by_prefix(&run, "packages");
    assert_eq!(state, "changed", "{run}");
    assert_eq!(
        detail,
        "purged lxd dnsmasq-base nftables squashfs-tools; kept liblxc1 (needed by lxc-templates)"
    );
    assert!(
        run.commands
            .contains(&"apt-get purge -y lxd dnsmasq-base nftables squashfs-tools".to_string()),
        "{run}"
    );
    let status = host.read("var/lib/dpkg/status");
    for gone in ["lxd", "dnsmasq-base", "nftables", "squashfs-tools"] {
        assert!(
            !status.contains(&format!("Package: {gone}\n")),
            "{gone}: {status}"
        );
    }
    for kept in ["liblxc1", "lxc-templates", "base-files"] {
        assert!(status.contains(&format!("Package: {kept}\n")), "{kept}: {status}");
    }
    assert!(entries(&host).is_empty(), "{}", host.read(RECORD));
    assert_nothing_changed(&json_run(&host, &["teardown", "lxd", "--purge-packages"]));
}

#[test]
fn a_pool_holding_what_setup_did_not_put_there_is_left_named_and_its_packages_stay() {
    let host = FakeHost::new(DEBIAN_12);
    assert_eq!(json_run(&host, &["setup", "lxd"]).code, Some(0));
    host.update_state(
        json!({"pool_used_by": ["/1.0/images/0a1b2c", "/1.0/storage-pools/default/volumes/custom/data"]}),
    );
    let run = json_run(&host, &["teardown", "lxd", "--purge-packages"]);
    assert_eq!(run.code, Some(0), "{run}");
    let (state, detail) = status_by_prefix(&run, "lxd storage-pool default");
    assert_eq!(state, "skipped");
    assert!(
        detail.contains("/1.0/images/0a1b2c, /1.0/storage-pools/default/volumes/custom/data"),
        "{detail}"
    );
    assert_eq!(host.state()["pools"], json!(["default"]));
    assert_eq!(
        host.state()["networks"],
        json!({}),
        "the bridge still goes: {run}"
    );
    let (state, detail) = status_by_prefix(&run, "packages");
    assert_eq!(state, "skipped", "{run}");
    assert!(detail.contains("left in place above needs them"), "{detail}");
    assert!(host.read("var/lib/dpkg/status").contains("Package: lxd\n"));
}

#[test]
fn incus_on_debian_12_loses_its_backports_source_bridge_pool_and_devices() {
    let host = FakeHost::new(DEBIAN_12);
    host.write(
        "etc/apt/sources.list.d/debian.sources",
        "Types: deb\nURIs: http://mirror.example/debian\nSuites: bookworm bookworm-updates\nComponents: main\n",
    );
    host.update_state(json!({"backports_only": true}));
    let up = json_run(&host, &["setup", "incus"]);
    assert_eq!(up.code, Some(0), "{up}");
    let backports = "etc/apt/sources.list.d/container-init-backports.sources";
    assert!(host.path(backports).exists());

    let down = json_run(&host, &["teardown", "incus"]);
    assert_eq!(down.code, Some(0), "{down}");
    assert!(!host.path(backports).exists(), "{down}");
    assert!(host.path("etc/apt/sources.list.d/debian.sources").exists());
    let incus = &host.state()["incus"];
    assert_eq!(incus["networks"], json!({}), "{down}");
    assert_eq!(incus["pools"], json!([]), "{down}");
    assert_eq!(incus["profile"]["devices"], json!({}), "{down}");
    assert!(
        down.commands.contains(&"service incus stop".to_string()),
        "{down}"
    );
    assert!(
        !host.state()["running"]
            .as_array()
            .unwrap()
            .contains(&json!("incus"))
    );
    // Incus's teardown leaves LXD's record alone, and LXD's setup still works.
    assert_nothing_changed(&json_run(&host, &["teardown", "incus"]));
    assert_nothing_changed(&json_run(&host, &["teardown", "lxd"]));
}

#[test]
fn proxies_go_back_apt_file_and_runtime_keys_and_an_operators_key_stays() {
    let host = FakeHost::new(DEBIAN_12);
    host.update_state(json!({"server_config": {
        "core.proxy_ignore_hosts": "by-hand.example",
        "core.proxy_https": "http://before.example:3128",
    }}));
    // An older version's record of what it set: folded in, then gone.
    host.write(
        "var/lib/container-init/proxy.json",
        "{\"lxc\": {\"core.proxy_https\": \"http://before.example:3128\"}}\n",
    );
    let cfg = manager(
        &host,
        "http-proxy: http://proxy.example.com:3128\nhttps-proxy: http://proxy.example.com:3128\n",
    );
    let up = json_run(&host, &["setup", "lxd", "--manager-config", &cfg]);
    assert_eq!(up.code, Some(0), "{up}");
    assert!(!host.path("var/lib/container-init/proxy.json").exists(), "{up}");
    assert!(host.path("etc/apt/apt.conf.d/80container-init-proxy").exists());

    let down = json_run(&host, &["teardown", "lxd"]);
    assert_eq!(down.code, Some(0), "{down}");
    assert!(
        !host.path("etc/apt/apt.conf.d/80container-init-proxy").exists(),
        "{down}"
    );
    // https went back to what it was before this version's setup changed
    // it; http, which was unset, is unset again.
    assert_eq!(
        host.state()["server_config"],
        json!({
            "core.proxy_ignore_hosts": "by-hand.example",
            "core.proxy_https": "http://before.example:3128",
        }),
        "{down}"
    );
}

#[test]
fn ufw_rules_setup_added_are_deleted_and_the_ruleset_is_as_before() {
    let host = FakeHost::new(DEBIAN_12).with_firewall_tools();
    host.update_state(json!({ "iptables_nft": UFW_ENABLED }));
    assert_eq!(json_run(&host, &["setup", "lxc"]).code, Some(0));
    assert_ne!(host.state()["iptables_nft"], UFW_ENABLED);
    let down = json_run(&host, &["teardown", "lxc"]);
    assert_eq!(down.code, Some(0), "{down}");
    let deletes: Vec<&String> = down.commands.iter().filter(|c| c.contains("delete")).collect();
    assert_eq!(
        deletes,
        [
            "ufw route delete allow in on lxcbr0",
            "ufw delete allow in on lxcbr0"
        ],
        "{down}"
    );
    assert_eq!(host.state()["iptables_nft"], UFW_ENABLED, "{down}");
    assert_nothing_changed(&json_run(&host, &["teardown", "lxc"]));
}

#[test]
fn firewalld_gets_the_bridge_out_of_its_trusted_zone_and_docker_user_loses_the_rules() {
    let host = FakeHost::new(DEBIAN_12).with_firewall_tools();
    host.update_state(json!({ "firewalld": {"trusted": ["tun0"], "permanent_trusted": ["tun0"]} }));
    assert_eq!(json_run(&host, &["setup", "lxd"]).code, Some(0));
    assert_eq!(host.state()["firewalld"]["trusted"], json!(["tun0", "lxdbr0"]));
    let down = json_run(&host, &["teardown", "lxd"]);
    assert_eq!(down.code, Some(0), "{down}");
    assert_eq!(
        host.state()["firewalld"],
        json!({"trusted": ["tun0"], "permanent_trusted": ["tun0"]}),
        "{down}"
    );

    let docker = FakeHost::new(DEBIAN_12).with_firewall_tools();
    docker.write("usr/bin/dockerd", "");
    docker.write("proc/sys/net/ipv4/ip_forward", "1\n");
    let rules = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n:DOCKER-USER - [0:0]\n\
                 -A FORWARD -j DOCKER-USER\n-A DOCKER-USER -j RETURN\nCOMMIT\n";
    docker.update_state(json!({ "iptables_nft": rules }));
    let up = json_run(&docker, &["setup", "lxd"]);
    assert_eq!(up.code, Some(0), "{up}");
    assert!(docker.path("etc/sysctl.d/60-container-init.conf").exists());
    let down = json_run(&docker, &["teardown", "lxd"]);
    assert_eq!(down.code, Some(0), "{down}");
    assert_eq!(docker.state()["iptables_nft"], rules, "{down}");
    assert!(
        !docker.path("etc/sysctl.d/60-container-init.conf").exists(),
        "{down}"
    );
    assert_eq!(
        docker.read("proc/sys/net/ipv4/ip_forward"),
        "1\n",
        "Docker's forwarding stays"
    );
}

/// A host with hardware virtualisation (the package names are x86's).
fn kvm_host() -> Option<FakeHost> {
    if std::env::consts::ARCH != "x86_64" {
        return None;
    }
    let host = FakeHost::new(DEBIAN_12);
    host.write("proc/cpuinfo", CPU_VMX);
    host.write("dev/kvm", "");
    Some(host)
}

#[test]
fn kvm_teardown_undefines_the_network_and_pool_setup_defined_and_stops_libvirt() {
    let Some(host) = kvm_host() else { return };
    assert_eq!(json_run(&host, &["setup", "kvm"]).code, Some(0));
    host.update_state(json!({"domains": ["vm1"]}));
    let refused = json_run(&host, &["teardown", "kvm"]);
    assert_eq!(refused.code, Some(69), "{refused}");
    assert!(refused.stderr.contains("vm1"), "{refused}");
    host.update_state(json!({"domains": []}));

    let down = json_run(&host, &["teardown", "kvm"]);
    assert_eq!(down.code, Some(0), "{down}");
    let changes: Vec<&String> = down
        .commands
        .iter()
        .filter(|c| !c.contains("-list") && !c.contains(" list "))
        .collect();
    assert_eq!(
        changes,
        [
            "virsh -c qemu:///system pool-destroy default",
            "virsh -c qemu:///system pool-undefine default",
            "virsh -c qemu:///system net-destroy default",
            "virsh -c qemu:///system net-undefine default",
            "service libvirtd status",
            "service libvirtd stop",
            "service virtlogd status",
            "service virtlogd stop",
        ],
        "{down}"
    );
    let state = host.state();
    assert!(
        state.get("virsh_net").is_none() && state.get("virsh_pool").is_none(),
        "{down}"
    );
    assert!(
        !host
            .path("run/container-init/libvirt-network-default.xml")
            .exists()
    );
    assert_nothing_changed(&json_run(&host, &["teardown", "kvm"]));
}

#[test]
fn kvm_a_pool_with_volumes_stays_and_a_network_that_was_there_is_only_stopped_again() {
    let Some(host) = kvm_host() else { return };
    host.installed(&[
        "qemu-system-x86",
        "libvirt-daemon-system",
        "libvirt-clients",
        "libvirt-daemon-system-sysv",
    ]);
    host.write("etc/init.d/virtlogd", "#!/bin/sh\n");
    host.write("etc/init.d/libvirtd", "#!/bin/sh\n");
    host.update_state(json!({"running": []}));
    // Defined before setup, neither started nor autostarted.
    host.update_state(json!({"virsh_net": {"Active": "no", "Autostart": "no"}}));
    assert_eq!(json_run(&host, &["setup", "kvm"]).code, Some(0));
    let mut state = host.state();
    state["virsh_pool"]["volumes"] = json!(["disk1.qcow2"]);
    host.set_state(state);

    let down = json_run(&host, &["teardown", "kvm"]);
    assert_eq!(down.code, Some(0), "{down}");
    let (status, detail) = status_by_prefix(&down, "libvirt pool default");
    assert_eq!(status, "skipped");
    assert!(detail.contains("disk1.qcow2"), "{detail}");
    let net = &host.state()["virsh_net"];
    assert_eq!(
        (&net["Active"], &net["Autostart"]),
        (&json!("no"), &json!("no")),
        "{down}"
    );
    assert!(host.state()["virsh_pool"].is_object(), "{down}");
}

#[test]
fn a_package_another_types_setup_needs_is_purged_only_by_the_last_teardown() {
    let host = FakeHost::new(DEBIAN_12);
    assert_eq!(json_run(&host, &["setup", "lxd"]).code, Some(0));
    // LXC needs dnsmasq-base too, which setup lxd installed.
    assert_eq!(json_run(&host, &["setup", "lxc"]).code, Some(0));
    assert_eq!(
        types_of(&host, |c| c["kind"] == "packages" && c["installed"][0] == "lxd"),
        ["lxc", "lxd"]
    );
    let lxd = json_run(&host, &["teardown", "lxd", "--purge-packages"]);
    assert_eq!(lxd.code, Some(0), "{lxd}");
    assert_eq!(
        status_by_prefix(&lxd, "packages lxd").1,
        "kept: setup lxc needs it too"
    );
    assert!(
        host.read("var/lib/dpkg/status")
            .contains("Package: dnsmasq-base\n")
    );
    let lxc = json_run(&host, &["teardown", "lxc", "--purge-packages"]);
    assert_eq!(lxc.code, Some(0), "{lxc}");
    let status = host.read("var/lib/dpkg/status");
    for gone in ["lxd", "dnsmasq-base", "nftables", "lxc"] {
        assert!(!status.contains(&format!("Package: {gone}\n")), "{gone}: {lxc}");
    }
}

#[test]
fn kvm_a_network_setup_moved_off_a_used_subnet_gets_its_old_definition_back() {
    let Some(host) = kvm_host() else { return };
    host.installed(&[
        "qemu-system-x86",
        "libvirt-daemon-system",
        "libvirt-clients",
        "libvirt-daemon-system-sysv",
    ]);
    host.write("etc/init.d/virtlogd", "#!/bin/sh\n");
    host.write("etc/init.d/libvirtd", "#!/bin/sh\n");
    host.update_state(json!({
        "virsh_net": {"Active": "no", "Autostart": "yes"},
        "virsh_pool": {"State": "running", "Autostart": "yes"},
        "addrs": [
            {"ifname": "lo", "addr_info": [{"family": "inet", "local": "127.0.0.1", "prefixlen": 8}]},
            {"ifname": "eth0", "addr_info": [{"family": "inet", "local": "10.147.0.5", "prefixlen": 24}]},
            {"ifname": "veth-ci", "addr_info": [{"family": "inet", "local": "192.168.122.2", "prefixlen": 24}]}
        ],
    }));
    let up = json_run(&host, &["setup", "kvm"]);
    assert_eq!(up.code, Some(0), "{up}");
    assert_eq!(host.state()["virsh_net"]["ip"], "10.147.2.1", "{up}");

    let down = json_run(&host, &["teardown", "kvm"]);
    assert_eq!(down.code, Some(0), "{down}");
    let (status, detail) = status_by_prefix(&down, "libvirt network default key definition");
    assert_eq!(status, "changed", "{down}");
    assert_eq!(detail, "libvirt's network default defined as before setup");
    let net = &host.state()["virsh_net"];
    assert_eq!(net["ip"], "192.168.122.1", "{down}");
    // Started by setup, so stopped again; its autostart was the operator's.
    assert_eq!(
        (&net["Active"], &net["Autostart"]),
        (&json!("no"), &json!("yes")),
        "{down}"
    );
    assert!(
        !host
            .path("run/container-init/libvirt-network-default.xml")
            .exists()
    );
    assert_nothing_changed(&json_run(&host, &["teardown", "kvm"]));
}

/// The built binary as nobody, through setpriv when the tests run as root.
fn unprivileged(args: &[&str]) -> Option<std::process::Output> {
    let bin = assert_cmd::cargo::cargo_bin("container-init");
    let root = std::process::Command::new("id")
        .arg("-u")
        .output()
        .unwrap()
        .stdout
        == b"0\n";
    let mut cmd = if root {
        if !std::path::Path::new("/usr/bin/setpriv").exists() {
            return None;
        }
        let mut c = std::process::Command::new("/usr/bin/setpriv");
        c.args(["--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"])
            .arg(&bin);
        c
    } else {
        std::process::Command::new(&bin)
    };
    Some(
        cmd.args(args)
            .env_remove("CONTAINER_INIT_ROOT")
            .env_remove("CONTAINER_INIT_CONFIG")
            .env("PATH", "/nonexistent")
            .output()
            .unwrap(),
    )
}

#[test]
fn without_root_teardown_is_77_at_once_in_check_and_dry_run_too() {
    for mode in [None, Some("--check"), Some("--dry-run")] {
        let mut args: Vec<&str> = mode.into_iter().collect();
        args.extend(["teardown", "lxd", "--output", "json"]);
        let Some(out) = unprivileged(&args) else {
            support::system::skipped("needs /usr/bin/setpriv to run as nobody");
            return;
        };
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(77), "{args:?}: {stderr}");
        assert!(stderr.contains("error: teardown lxd needs root"), "{stderr}");
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(doc["steps"], json!([]), "nothing was even read: {doc}");
    }
}

#[test]
fn a_user_setup_added_to_the_admin_group_is_taken_out_and_one_already_in_stays() {
    let host = FakeHost::new(DEBIAN_12);
    host.installed(&["lxd", "dnsmasq-base", "nftables"]);
    host.write(
        "etc/passwd",
        "alice:x:1000:1000::/home/alice:/bin/sh\nbob:x:1001:1001::/home/bob:/bin/sh\n",
    );
    host.write("etc/group", "lxd:x:998:bob\n");
    assert_eq!(
        json_run(&host, &["setup", "lxd", "--user", "alice"]).code,
        Some(0)
    );
    assert_eq!(json_run(&host, &["setup", "lxd", "--user", "bob"]).code, Some(0));
    assert_eq!(host.read("etc/group"), "lxd:x:998:bob,alice\n");
    let down = json_run(&host, &["teardown", "lxd"]);
    assert_eq!(down.code, Some(0), "{down}");
    assert!(
        down.commands.contains(&"gpasswd -d alice lxd".to_string()),
        "{down}"
    );
    assert_eq!(host.read("etc/group"), "lxd:x:998:bob\n", "{down}");
}
