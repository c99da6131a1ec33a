//! `check <type>` on the built binary against fake hosts: read-only, one
//! PASS/WARN/FAIL line per requirement, exit 0 or 69.

#![allow(clippy::disallowed_methods, clippy::disallowed_types)] // tests build and inspect fake hosts directly

mod support;

use support::fake_host::*;

/// A host that has everything a container runtime needs.
fn capable(os_release: &str) -> FakeHost {
    let host = FakeHost::new(os_release);
    for ns in ["mnt", "uts", "ipc", "pid", "net", "user"] {
        host.write(&format!("proc/self/ns/{ns}"), "");
    }
    host.write("sys/fs/cgroup/cgroup.controllers", "cpu memory pids\n");
    host.write("proc/sys/kernel/osrelease", "6.1.0-28-amd64\n");
    host.write(
        "lib/modules/6.1.0-28-amd64/modules.dep",
        "kernel/net/bridge/bridge.ko: kernel/net/802/stp.ko\n",
    );
    host.write("sys/module/veth/refcnt", "0\n");
    host
}

fn verdicts(run: &Run) -> Vec<(String, String)> {
    run.json()["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap().to_string(),
                c["result"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn verdict(run: &Run, name: &str) -> String {
    verdicts(run)
        .into_iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("no check {name}: {run}"))
        .1
}

/// Disk space depends on the machine the tests run on; everything else is
/// the fixture's.
fn exit_matches_fails(run: &Run) {
    let fails = verdicts(run).iter().filter(|(_, v)| v == "FAIL").count();
    assert_eq!(run.code, Some(if fails == 0 { 0 } else { 69 }), "{run}");
}

#[test]
fn a_capable_debian_host_passes_and_nothing_is_run_or_written() {
    let host = capable(DEBIAN_12);
    let before = support::snapshot(host.root.path());
    let run = host.run(&["check", "lxd", "--output", "json"]);
    exit_matches_fails(&run);
    for name in [
        "distribution",
        "namespaces",
        "cgroups",
        "bridge",
        "veth",
        "nesting",
    ] {
        assert_eq!(verdict(&run, name), "PASS", "{name}: {run}");
    }
    // Read-only queries only: whether LXD answers, the interfaces, the pool.
    // (all at once, so in any order)
    assert_eq!(
        sorted(&run.commands),
        sorted(&[
            "lxc query /1.0/networks/lxdbr0",
            "lxc query /1.0/networks",
            "ip -j addr show",
            "ss -H -lnutp",
            "lxc query /1.0/storage-pools/default"
        ]),
        "{run}"
    );
    assert_eq!(support::snapshot(host.root.path()), before);

    let text = host.run(&["check", "lxd"]);
    assert!(
        text.stdout
            .contains("PASS  distribution    Debian GNU/Linux 12 (bookworm) is supported\n"),
        "{text}"
    );
    assert!(
        text.stdout
            .contains("PASS  bridge          bridge is available as a module\n"),
        "{text}"
    );
}

#[test]
fn ubuntu_is_supported_too() {
    let run = capable(UBUNTU_24_04).run(&["check", "lxc", "--output", "json"]);
    exit_matches_fails(&run);
    assert_eq!(verdict(&run, "distribution"), "PASS");
}

#[test]
fn an_unsupported_distribution_fails_with_69() {
    let run = capable(FEDORA_40).run(&["check", "lxd"]);
    assert_eq!(run.code, Some(69), "{run}");
    assert!(
        run.stdout.contains("FAIL  distribution    Fedora Linux 40"),
        "{run}"
    );
    assert!(
        run.stdout
            .contains("(fix: use Debian 12 or later, or Ubuntu (24.04 or later for Incus))"),
        "{run}"
    );
}

#[test]
fn incus_passes_on_debian_12_and_ubuntu_24_04_and_fails_on_older_ubuntu() {
    for os in [DEBIAN_12, DEBIAN_13, UBUNTU_24_04] {
        let run = capable(os).run(&["check", "incus", "--output", "json"]);
        exit_matches_fails(&run);
        assert_eq!(verdict(&run, "distribution"), "PASS", "{run}");
        // The data-path checks' read-only queries only.
        assert_eq!(
            sorted(&run.commands),
            sorted(&[
                "incus query /1.0/networks/incusbr0",
                "incus query /1.0/networks",
                "ip -j addr show",
                "ss -H -lnutp",
                "incus query /1.0/storage-pools/default"
            ]),
            "{run}"
        );
    }
    let jammy = capable(
        "PRETTY_NAME=\"Ubuntu 22.04.4 LTS\"\nNAME=\"Ubuntu\"\nVERSION_ID=\"22.04\"\nID=ubuntu\nID_LIKE=debian\n",
    );
    let run = jammy.run(&["check", "incus"]);
    assert_eq!(run.code, Some(69), "{run}");
    assert!(
        run.stdout
            .contains("FAIL  distribution    Ubuntu 22.04.4 LTS has no Incus package"),
        "{run}"
    );
    let lxd = jammy.run(&["check", "lxd", "--output", "json"]);
    assert_eq!(verdict(&lxd, "distribution"), "PASS", "LXD is fine there: {lxd}");
}

#[test]
fn kvm_without_virtualisation_fails_and_with_it_passes() {
    let host = capable(DEBIAN_12);
    let run = host.run(&["check", "kvm", "--output", "json"]);
    assert_eq!(run.code, Some(69), "{run}");
    assert_eq!(verdict(&run, "virtualisation"), "FAIL");
    assert!(run.stdout.contains("--allow-emulation"), "{run}");

    host.write("proc/cpuinfo", CPU_VMX);
    host.write("dev/kvm", "");
    let run = host.run(&["check", "kvm", "--output", "json"]);
    assert_eq!(verdict(&run, "virtualisation"), "PASS");
    exit_matches_fails(&run);
}

#[test]
fn kvm_without_virtualisation_warns_with_allow_emulation_as_setup_goes_on() {
    let host = capable(DEBIAN_12);
    let run = host.run(&["check", "kvm", "--allow-emulation", "--output", "json"]);
    assert_eq!(verdict(&run, "virtualisation"), "WARN", "{run}");
    assert!(run.stdout.contains("guests will be slow"), "{run}");
    exit_matches_fails(&run);
    let run = host.run(&["check", "kvm", "--allow-emulation"]);
    assert!(
        run.stdout
            .lines()
            .any(|l| l.starts_with("WARN  virtualisation  no hardware virtualisation")),
        "{run}"
    );
}

#[test]
fn missing_namespaces_and_cgroups_fail_with_the_fix() {
    let host = FakeHost::new(DEBIAN_12);
    host.write("proc/self/ns/mnt", "");
    let run = host.run(&["check", "lxc"]);
    assert_eq!(run.code, Some(69), "{run}");
    assert!(
        run.stdout
            .contains("FAIL  namespaces      missing namespaces: uts, ipc, pid, net, user"),
        "{run}"
    );
    assert!(run.stdout.contains("FAIL  cgroups"), "{run}");
    assert!(run.stdout.contains("mount cgroup2 on /sys/fs/cgroup"), "{run}");
}

#[test]
fn a_kernel_built_without_veth_fails_and_an_unknown_kernel_warns() {
    let host = capable(DEBIAN_12);
    std::fs::remove_dir_all(host.path("sys/module/veth")).unwrap();
    host.write(
        "boot/config-6.1.0-28-amd64",
        "CONFIG_BRIDGE=m\n# CONFIG_VETH is not set\n",
    );
    let run = host.run(&["check", "lxd", "--output", "json"]);
    assert_eq!(verdict(&run, "veth"), "FAIL", "{run}");
    assert_eq!(run.code, Some(69), "{run}");

    std::fs::remove_file(host.path("boot/config-6.1.0-28-amd64")).unwrap();
    let run = host.run(&["check", "lxd", "--output", "json"]);
    assert_eq!(verdict(&run, "veth"), "WARN", "{run}");
    exit_matches_fails(&run);

    // Built in, without parameters: only the kernel's symbol table shows it.
    host.write(
        "proc/kallsyms",
        "ffffffff81dbb6e0 t veth_get_stats64\nffffffff81dbb6f0 t veth_xmit\n",
    );
    let run = host.run(&["check", "lxd"]);
    assert!(
        run.stdout
            .contains("PASS  veth            veth is built into the running kernel\n"),
        "{run}"
    );
}

#[test]
fn inside_a_container_nesting_is_a_warning() {
    let host = capable(DEBIAN_12);
    host.write("run/systemd/container", "lxc\n");
    let run = host.run(&["check", "lxd"]);
    assert!(
        run.stdout
            .contains("WARN  nesting         this host is itself a container (lxc)"),
        "{run}"
    );
    assert!(run.stdout.contains("security.nesting=true"), "{run}");
}

#[test]
fn an_unknown_type_is_a_usage_error() {
    let run = capable(DEBIAN_12).run(&["check", "docker"]);
    assert_eq!(run.code, Some(64), "{run}");
    assert!(run.stderr.starts_with("error:"), "{run}");
}
