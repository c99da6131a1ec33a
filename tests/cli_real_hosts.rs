//! `setup` against fake hosts left the way boots, crashes and operators leave
//! real ones (issue 15): a hung daemon, a zombie in the pid file, a caller's
//! `LXD_DIR` and lxc remote, an install a reboot interrupted, no root. The
//! LXD family's step logic on such hosts (an operator's keys on the profile,
//! a stale DHCP range, running instances) is tested in process, in
//! src/runtime/lxd_family.rs, with the table-driven runner.

#![allow(clippy::disallowed_methods, clippy::disallowed_types)] // tests build and inspect fake hosts directly

mod support;

use std::time::{Duration, Instant};

use serde_json::json;
use support::assert_one_error_line;
use support::fake_host::*;

const APT_INSTALL: &str =
    "apt-get install -y -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold";
const DPKG_QUERY: &str = r"dpkg-query -W -f '${Package} ${db:Status-Abbrev}\n'";
const DPKG_CONFIGURE: &str = "dpkg --force-confdef --force-confold --configure -a";

/// A second run changes nothing and says so.
fn assert_converged(host: &FakeHost, ty: &str) {
    let again = json_run(host, &["setup", ty]);
    assert_eq!(again.code, Some(0), "{again}");
    assert_eq!(again.json()["changed"], false, "{again}");
}

/// A Debian host with LXD installed, running and fully set up.
fn converged_debian_lxd() -> FakeHost {
    let host = FakeHost::new(DEBIAN_12);
    host.installed(&["lxd", "dnsmasq-base", "nftables"]);
    host.set_state(json!({
        "running": ["lxd"],
        "networks": {"lxdbr0": {"ipv4.address": "10.147.2.1/24", "ipv4.nat": "true", "ipv6.address": "none"}},
        "pools": ["default"],
        "profile": {"devices": {
            "root": {"type": "disk", "path": "/", "pool": "default"},
            "eth0": {"type": "nic", "network": "lxdbr0", "name": "eth0"}
        }}
    }));
    host.bridge_up("lxdbr0", "10.147.2.1/24");
    host.forwarding_persisted();
    host
}

fn process_gone(pid: &str) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/{}/stat", pid.trim())).unwrap_or_default();
    stat.is_empty() || stat.contains(") Z ")
}

#[test]
fn a_hung_lxd_gives_75_within_the_runtime_timeout_naming_lxd_and_the_query() {
    let host = converged_debian_lxd();
    host.update_state(json!({"hang": "lxc query /1.0/networks/lxdbr0"}));
    for mode in [None, Some("--check")] {
        let mut args: Vec<&str> = mode.into_iter().collect();
        args.extend(["setup", "lxd", "--runtime-timeout", "1"]);
        let started = Instant::now();
        let run = host.run(&args);
        let took = started.elapsed();
        assert_eq!(run.code, Some(75), "{mode:?}: {run}");
        // One second, then SIGTERM; python dies at once.
        assert!(took < Duration::from_secs(10), "{mode:?}: took {took:?}");
        assert_one_error_line(&run.stderr);
        assert!(
            run.stderr
                .contains("LXD did not answer within 1s: `lxc query /1.0/networks/lxdbr0`"),
            "{run}"
        );
        assert!(run.stderr.contains("--runtime-timeout"), "{run}");
        let pid = std::fs::read_to_string(host.state.path().join("hung.pid")).unwrap();
        assert!(process_gone(&pid), "the hung lxc ({pid}) was left running");
    }
    host.update_state(json!({"hang": null}));
    assert_converged(&host, "lxd");
}

#[test]
fn check_lxd_on_a_hung_lxd_gives_75_within_the_runtime_timeout() {
    // check asks LXD through setup's own probe: the runtime environment and
    // the runtime timeout, from the flag or the environment as for setup.
    let host = converged_debian_lxd();
    host.update_state(json!({"hang": "lxc query /1.0/networks/lxdbr0"}));
    for (args, env) in [
        (&["check", "lxd", "--runtime-timeout", "1"][..], &[][..]),
        (
            &["check", "lxd"][..],
            &[("CONTAINER_INIT_RUNTIME_TIMEOUT", "1")][..],
        ),
    ] {
        let started = Instant::now();
        let run = host.run_with_env(args, env);
        let took = started.elapsed();
        assert_eq!(run.code, Some(75), "{args:?}: {run}");
        assert!(took < Duration::from_secs(10), "{args:?}: took {took:?}");
        assert_one_error_line(&run.stderr);
        assert!(
            run.stderr
                .contains("LXD did not answer within 1s: `lxc query /1.0/networks/lxdbr0`"),
            "{run}"
        );
        let pid = std::fs::read_to_string(host.state.path().join("hung.pid")).unwrap();
        assert!(process_gone(&pid), "the hung lxc ({pid}) was left running");
    }
}

#[test]
fn check_lxd_asks_the_systems_lxd_whatever_lxd_dir_the_caller_exports() {
    let host = converged_debian_lxd();
    let home = foreign_home();
    let caller_home = home.path().to_str().unwrap();
    let env = [
        ("LXD_DIR", "/tmp/x"),
        ("LXD_CONF", caller_home),
        ("HOME", caller_home),
    ];
    let run = json_run_with_env(&host, &["check", "lxd"], &env);
    // The system's LXD answers with its bridge; under the caller's LXD_DIR
    // or remote the fake would not answer at all.
    let runtime = run.json()["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "runtime")
        .cloned()
        .unwrap_or_else(|| panic!("no runtime line: {run}"));
    assert_eq!(runtime["result"], "PASS", "{run}");
    assert_eq!(runtime["reason"], "LXD answers", "{run}");
    assert_runtime_env_clean(&host, caller_home);
}

#[test]
fn the_runtime_timeout_comes_from_the_flag_then_the_environment_then_the_config_file() {
    let config = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(config.path(), "runtime-timeout: 9\n").unwrap();
    let conf = config.path().to_str().unwrap();
    for (args, env, want) in [
        (vec![], vec![], "--timeout=120"),
        (vec!["--config", conf], vec![], "--timeout=9"),
        (
            vec!["--config", conf],
            vec![("CONTAINER_INIT_RUNTIME_TIMEOUT", "7")],
            "--timeout=7",
        ),
        (
            vec!["--config", conf, "--runtime-timeout", "5"],
            vec![("CONTAINER_INIT_RUNTIME_TIMEOUT", "7")],
            "--timeout=5",
        ),
    ] {
        let host = FakeHost::new(DEBIAN_12);
        host.installed(&["lxd", "dnsmasq-base", "nftables"]);
        let mut all = vec!["setup", "lxd"];
        all.extend(args.iter().copied());
        let run = host.run_with_env(&all, &env);
        assert_eq!(run.code, Some(0), "{run}");
        assert!(
            run.commands.contains(&format!("lxd waitready {want}")),
            "{args:?} {env:?}: {run}"
        );
    }
    let host = FakeHost::new(DEBIAN_12);
    let bad = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(bad.path(), "runtime-timeout: 0\n").unwrap();
    let run = host.run(&["--config", bad.path().to_str().unwrap(), "setup", "lxd"]);
    assert_eq!(run.code, Some(78), "{run}");
    let run = host.run(&["setup", "lxd", "--runtime-timeout", "0"]);
    assert_eq!(run.code, Some(64), "{run}");
}

#[test]
fn a_zombie_in_the_pid_file_is_not_a_running_lxd_it_is_removed_and_lxd_started() {
    let host = converged_debian_lxd();
    // `lxd shutdown` a moment ago: the daemon is a zombie, its pid file stays.
    host.update_state(json!({"running": []}));
    host.write("run/lxd.pid", "4242\n");
    host.write("proc/4242/stat", "4242 (lxd) Z 1 4242 4242 0 -1\n");
    let run = json_run(&host, &["setup", "lxd"]);
    assert_eq!(run.code, Some(0), "{run}");
    assert_eq!(
        run.commands[..5],
        [
            "ss -H -lnutp",
            "lxc query /1.0/networks/lxdbr0",
            "lxc query /1.0/networks",
            "start-stop-daemon --start --quiet --background --make-pidfile --pidfile /run/lxd.pid --name lxd --startas /usr/bin/lxd -- --group lxd --logfile=/var/log/lxd/lxd.log",
            "lxd waitready --timeout=120",
        ],
        "{run}"
    );
    assert_eq!(run.status_of("lxd-daemon"), "changed");
    assert!(detail(&run, "lxd-daemon").starts_with("started LXD"), "{run}");
    assert!(
        host.state()["running"]
            .as_array()
            .unwrap()
            .contains(&json!("lxd"))
    );
    assert_converged(&host, "lxd");
}

#[test]
fn a_live_lxd_that_never_answers_is_75_and_never_reported_started() {
    let host = converged_debian_lxd();
    host.update_state(json!({"running": []}));
    host.write("run/lxd.pid", "4242\n");
    host.write("proc/4242/stat", "4242 (lxd) S 1 4242 4242 0 -1\n");
    let run = json_run(&host, &["setup", "lxd", "--runtime-timeout", "3"]);
    assert_eq!(run.code, Some(75), "{run}");
    assert!(
        run.commands.contains(&"lxd waitready --timeout=3".to_string()),
        "{run}"
    );
    assert_eq!(run.status_of("lxd-daemon"), "failed");
    assert!(!run.stdout.contains("started LXD"), "{run}");
    assert!(
        run.stderr.contains("LXD did not answer on its socket within 3s"),
        "{run}"
    );
    assert!(
        host.path("run/lxd.pid").exists(),
        "a live daemon's pid file was removed"
    );
}

/// A HOME whose lxc config sends every command to a remote on loopback.
fn foreign_home() -> tempfile::TempDir {
    let home = tempfile::tempdir().unwrap();
    let conf = home.path().join(".config/lxc");
    std::fs::create_dir_all(&conf).unwrap();
    std::fs::write(
        conf.join("config.yml"),
        "default-remote: bogus\nremotes:\n  bogus:\n    addr: https://127.0.0.1:8443\n    protocol: lxd\n",
    )
    .unwrap();
    home
}

fn assert_runtime_env_clean(host: &FakeHost, caller_home: &str) {
    let log = host.env_log();
    let runtime: Vec<&serde_json::Value> = log
        .iter()
        .filter(|e| {
            let cmd = e["command"].as_str().unwrap();
            [
                "lxc ",
                "lxd ",
                "start-stop-daemon ",
                "snap start",
                "systemctl enable",
            ]
            .iter()
            .any(|p| cmd.starts_with(p))
        })
        .collect();
    assert!(!runtime.is_empty(), "{log:?}");
    for entry in runtime {
        let env = &entry["env"];
        assert_eq!(env["LC_ALL"], "C", "{entry}");
        assert!(env.get("LXD_DIR").is_none(), "{entry}");
        assert!(env.get("INCUS_DIR").is_none(), "{entry}");
        assert!(env.get("LIBVIRT_DEFAULT_URI").is_none(), "{entry}");
        let home = env["HOME"].as_str().unwrap();
        assert_ne!(home, caller_home, "{entry}");
        assert!(home.starts_with("/tmp/container-init-home."), "{entry}");
        assert_eq!(env["LXD_CONF"], format!("{home}/lxc"), "{entry}");
    }
}

#[test]
fn lxd_dir_and_a_foreign_default_remote_in_the_callers_environment_do_not_steer_setup_debian() {
    let host = FakeHost::new(DEBIAN_12);
    host.installed(&["lxd", "dnsmasq-base", "nftables"]);
    let home = foreign_home();
    let caller_home = home.path().to_str().unwrap();
    let env = [
        ("LXD_DIR", "/tmp/x"),
        ("LXD_CONF", caller_home),
        ("INCUS_DIR", "/tmp/y"),
        ("LIBVIRT_DEFAULT_URI", "qemu+ssh://198.51.100.7/system"),
        ("HOME", caller_home),
    ];
    let run = json_run_with_env(&host, &["setup", "lxd"], &env);
    assert_eq!(run.code, Some(0), "{run}");
    let state = host.state();
    assert!(
        state.get("foreign_lxd").is_none(),
        "a second LXD was started: {state}"
    );
    assert!(state["running"].as_array().unwrap().contains(&json!("lxd")));
    assert!(state["networks"]["lxdbr0"].is_object(), "{state}");
    assert_runtime_env_clean(&host, caller_home);
    let again = json_run_with_env(&host, &["setup", "lxd"], &env);
    assert_eq!(again.code, Some(0), "{again}");
    assert_eq!(again.json()["changed"], false, "{again}");
}

#[test]
fn lxd_dir_and_a_foreign_default_remote_do_not_steer_setup_ubuntu() {
    let host = FakeHost::new(UBUNTU_24_04).with_systemd();
    let home = foreign_home();
    let caller_home = home.path().to_str().unwrap();
    let env = [("LXD_DIR", "/tmp/x"), ("HOME", caller_home)];
    let run = json_run_with_env(&host, &["setup", "lxd"], &env);
    assert_eq!(run.code, Some(0), "{run}");
    assert!(host.state().get("foreign_lxd").is_none());
    assert_runtime_env_clean(&host, caller_home);
    let again = json_run_with_env(&host, &["setup", "lxd"], &env);
    assert_eq!(again.json()["changed"], false, "{again}");
}

/// `dpkg --unpack lxc_*.deb` then a reboot: lxc unpacked in the journal,
/// and one more journal entry.
fn interrupt_lxc_install(host: &FakeHost) {
    host.write(
        "var/lib/dpkg/updates/0001",
        "Package: lxc\nStatus: install ok unpacked\nVersion: 1:5.0.2-1+deb12u2\n",
    );
    host.write("var/lib/dpkg/updates/0000", "");
}

#[test]
fn an_interrupted_install_is_finished_first_then_setup_goes_on_debian_and_ubuntu() {
    for os in [DEBIAN_12, UBUNTU_24_04] {
        let host = FakeHost::new(os).with_systemd();
        interrupt_lxc_install(&host);

        let dry = host.run(&["--dry-run", "setup", "lxc"]);
        assert_eq!(dry.code, Some(0), "{dry}");
        assert!(
            dry.stdout
                .contains(&format!("run: DEBIAN_FRONTEND=noninteractive {DPKG_CONFIGURE}")),
            "{dry}"
        );
        assert!(
            dry.stdout.contains(&format!(
                "run: DEBIAN_FRONTEND=noninteractive {APT_INSTALL} dnsmasq-base\n"
            )),
            "the unpacked lxc is not installed again: {dry}"
        );

        let run = json_run(&host, &["setup", "lxc"]);
        assert_eq!(run.code, Some(0), "{run}");
        assert_eq!(
            run.commands[..4],
            [
                format!("{DPKG_QUERY} lxc dnsmasq-base"),
                DPKG_CONFIGURE.to_string(),
                "apt-cache policy dnsmasq-base".to_string(),
                format!("{APT_INSTALL} dnsmasq-base"),
            ],
            "{run}"
        );
        assert_eq!(run.status_of("dpkg-recovery"), "changed");
        assert_eq!(
            detail(&run, "dpkg-recovery"),
            "finished an interrupted install with `dpkg --configure -a` (entries in /var/lib/dpkg/updates; lxc half-installed)"
        );
        assert!(!host.path("var/lib/dpkg/updates/0000").exists());

        let again = json_run(&host, &["setup", "lxc"]);
        assert_eq!(again.code, Some(0), "{again}");
        assert_eq!(again.json()["changed"], false, "{again}");
        assert!(
            !again.commands.iter().any(|c| c.starts_with("dpkg")),
            "a converged run reads the status file, no process: {again}"
        );
        assert!(
            !again.statuses().iter().any(|(n, _)| n == "dpkg-recovery"),
            "{again}"
        );
    }
}

#[test]
fn a_package_dpkg_finished_in_its_journal_is_not_missing() {
    let host = FakeHost::new(DEBIAN_12);
    host.installed(&["dnsmasq-base"]);
    host.write(
        "var/lib/dpkg/updates/0003",
        "Package: lxc\nStatus: install ok installed\nVersion: 1:5.0.2-1+deb12u2\n",
    );
    let run = json_run(&host, &["setup", "lxc"]);
    assert_eq!(run.code, Some(0), "{run}");
    assert!(
        !run.commands.iter().any(|c| c.starts_with("apt-get install")),
        "lxc was counted as missing: {run}"
    );
    assert_eq!(run.status_of("packages"), "unchanged");
    assert_eq!(run.status_of("dpkg-recovery"), "changed");
    assert_converged(&host, "lxc");
}

#[test]
fn a_run_that_waited_for_the_host_lock_says_so() {
    let host = converged_debian_lxd();
    // Held for a second from before the run: the run waits, then gets it.
    let holder = support::child::hold_flock(&host.path("run/lock/container-init.lock"), Some(1));
    let run = json_run(&host, &["setup", "lxd"]);
    drop(holder);
    assert_eq!(run.code, Some(0), "{run}");
    let lock_detail = detail(&run, "host-lock");
    assert!(
        lock_detail.starts_with("holding /run/lock/container-init.lock (waited ")
            && lock_detail.ends_with("s for another container-init)"),
        "{lock_detail}"
    );
    assert_eq!(
        detail(&json_run(&host, &["setup", "lxd"]), "host-lock"),
        "holding /run/lock/container-init.lock"
    );
}

/// The built binary as an unprivileged user: as itself when the tests do
/// not run as root, else through setpriv as nobody.
fn unprivileged(args: &[&str]) -> std::process::Output {
    let bin = assert_cmd::cargo::cargo_bin("container-init");
    let root = std::process::Command::new("id")
        .arg("-u")
        .output()
        .unwrap()
        .stdout
        == b"0\n";
    let mut cmd = if root {
        let mut c = std::process::Command::new("/usr/bin/setpriv");
        c.args(["--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"])
            .arg(&bin);
        c
    } else {
        std::process::Command::new(&bin)
    };
    cmd.args(args)
        .env_remove("CONTAINER_INIT_ROOT")
        .env_remove("CONTAINER_INIT_CONFIG")
        // Nothing may run: no tool is on this PATH.
        .env("PATH", "/nonexistent")
        .output()
        .unwrap()
}

#[test]
fn without_root_setup_is_77_at_once_in_check_and_dry_run_too() {
    // A root-only config file is not even read: 77, not 78.
    let config = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(config.path(), "runtime-timeout: 5\n").unwrap();
    std::fs::set_permissions(config.path(), std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let config = config.path().to_str().unwrap();
    for mode in [None, Some("--check"), Some("--dry-run")] {
        for ty in ["lxd", "lxc", "kvm"] {
            let mut args: Vec<&str> = mode.into_iter().collect();
            args.extend(["setup", ty, "--output", "json", "--config", config]);
            let out = unprivileged(&args);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(77), "{args:?}: {stderr}");
            assert_one_error_line(&stderr);
            assert!(
                stderr.contains(&format!(
                    "error: setup {ty} needs root: the runtime's socket is root-only"
                )),
                "{stderr}"
            );
            let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            assert_eq!(doc["steps"], json!([]), "nothing was even read: {doc}");
        }
    }
}

#[test]
fn without_root_check_still_runs_and_names_what_it_could_not_read() {
    // A root tree whose init environment only root may read, as on a real host.
    let host = FakeHost::new(DEBIAN_12);
    host.write("proc/1/environ", "container=lxc\0");
    let environ = host.path("proc/1/environ");
    let mode = |m| std::os::unix::fs::PermissionsExt::from_mode(m);
    std::fs::set_permissions(&environ, mode(0o600)).unwrap();
    std::fs::set_permissions(host.root.path(), mode(0o755)).unwrap();
    let root = host.root.path().to_str().unwrap();
    let out = unprivileged(&["--root", root, "check", "lxd"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(matches!(out.status.code(), Some(0 | 69)), "{stdout}");
    assert!(stdout.contains("PASS  distribution"), "{stdout}");
    let am_root = std::process::Command::new("id")
        .arg("-u")
        .output()
        .unwrap()
        .stdout
        == b"0\n";
    if am_root {
        assert!(
            stdout
                .lines()
                .any(|l| l.starts_with("WARN  nesting")
                    && l.contains("cannot read /proc/1/environ without root")),
            "{stdout}"
        );
        // Root reads it and sees the container.
        let run = host.run(&["check", "lxd"]);
        assert!(
            run.stdout.contains("this host is itself a container (lxc)"),
            "{run}"
        );
    }
}

/// A Debian 13 host with Incus installed, running and fully set up.
fn converged_debian_incus() -> FakeHost {
    let host = FakeHost::new(DEBIAN_13);
    host.installed(&["incus-base", "incus-client", "dnsmasq-base"]);
    host.set_state(json!({
        "running": ["incus"],
        "incus": {
            "networks": {"incusbr0": {"ipv4.address": "10.147.2.1/24", "ipv4.nat": "true", "ipv6.address": "none"}},
            "pools": ["default"],
            "profile": {"devices": {
                "root": {"type": "disk", "path": "/", "pool": "default"},
                "eth0": {"type": "nic", "network": "incusbr0", "name": "eth0"}
            }}
        }
    }));
    host.bridge_up("incusbr0", "10.147.2.1/24");
    host.forwarding_persisted();
    host
}

#[test]
fn a_hung_incus_gives_75_within_the_runtime_timeout_naming_incus_and_the_query() {
    let host = converged_debian_incus();
    assert_converged(&host, "incus");
    host.update_state(json!({"hang": "incus query /1.0/networks/incusbr0"}));
    let started = Instant::now();
    let run = host.run(&["setup", "incus", "--runtime-timeout", "1"]);
    assert_eq!(run.code, Some(75), "{run}");
    assert!(started.elapsed() < Duration::from_secs(10), "{run}");
    assert_one_error_line(&run.stderr);
    assert!(
        run.stderr
            .contains("Incus did not answer within 1s: `incus query /1.0/networks/incusbr0`"),
        "{run}"
    );
    let pid = std::fs::read_to_string(host.state.path().join("hung.pid")).unwrap();
    assert!(process_gone(&pid), "the hung incus ({pid}) was left running");
    host.update_state(json!({"hang": null}));
    assert_converged(&host, "incus");
}

#[test]
fn incus_dir_and_a_callers_home_do_not_steer_setup_incus() {
    let host = converged_debian_incus();
    let home = foreign_home();
    let caller_home = home.path().to_str().unwrap();
    let env = [
        ("INCUS_DIR", "/tmp/y"),
        ("INCUS_CONF", caller_home),
        ("LXD_DIR", "/tmp/x"),
        ("HOME", caller_home),
    ];
    let run = json_run_with_env(&host, &["setup", "incus"], &env);
    assert_eq!(run.code, Some(0), "{run}");
    assert_eq!(run.json()["changed"], false, "{run}");
    let log = host.env_log();
    let incus: Vec<&serde_json::Value> = log
        .iter()
        .filter(|e| e["command"].as_str().unwrap().starts_with("incus "))
        .collect();
    assert!(!incus.is_empty(), "{log:?}");
    for entry in incus {
        let env = &entry["env"];
        assert_eq!(env["LC_ALL"], "C", "{entry}");
        assert!(env.get("INCUS_DIR").is_none(), "{entry}");
        assert!(env.get("LXD_DIR").is_none(), "{entry}");
        let home = env["HOME"].as_str().unwrap();
        assert_ne!(home, caller_home, "{entry}");
        assert!(home.starts_with("/tmp/container-init-home."), "{entry}");
    }
}

#[test]
fn incus_profile_corrections_set_only_the_keys_that_differ_and_keep_the_operators() {
    let host = converged_debian_incus();
    let mut state = host.state();
    state["incus"]["pools"] = json!(["default", "other"]);
    state["incus"]["profile"] = json!({"devices": {
        "root": {"type": "disk", "path": "/", "pool": "other", "size": "5GiB"},
        "eth0": {"type": "nic", "network": "incusbr0", "name": "eth0", "boot.priority": "10"}
    }});
    host.set_state(state);
    let run = json_run(&host, &["setup", "incus"]);
    assert_eq!(run.code, Some(0), "{run}");
    assert!(
        run.commands
            .contains(&"incus profile device set default root pool=default".to_string()),
        "{run}"
    );
    assert!(!run.commands.iter().any(|c| c.contains("device remove")), "{run}");
    assert_eq!(detail(&run, "incus-profile"), "root: pool other -> default");
    assert_eq!(
        host.state()["incus"]["profile"]["devices"]["root"],
        json!({"type": "disk", "path": "/", "pool": "default", "size": "5GiB"})
    );
    assert_converged(&host, "incus");
}
