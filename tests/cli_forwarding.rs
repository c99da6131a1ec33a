//! `forwarding` on the built binary against `--root` fixture trees.

#![allow(clippy::disallowed_methods, clippy::disallowed_types)] // tests build and inspect fake hosts directly

mod support;

use support::*;

const ENABLE: [&str; 2] = ["forwarding", "enable"];

#[test]
fn enable_on_a_fresh_host_sets_kernel_and_file_and_leaves_sysctl_conf() {
    let root = root_from("forwarding-fresh");
    let out = Test::new().root(root.path()).args(ENABLE).code(0);
    let text = stdout_of(&out);
    assert!(text.contains("changed      forwarding-kernel"), "{text}");
    assert!(text.contains("changed      forwarding-persist"), "{text}");
    assert_tree(root.path(), "forwarding-fresh");
}

#[test]
fn a_second_run_changes_nothing_and_says_so() {
    let root = root_from("forwarding-fresh");
    Test::new().root(root.path()).args(ENABLE).code(0);
    let before = snapshot(root.path());
    let out = Test::new()
        .root(root.path())
        .args(ENABLE)
        .args(["--output", "json"])
        .code(0);
    assert_eq!(snapshot(root.path()), before, "a converged run wrote a file");
    let doc: serde_json::Value = serde_json::from_str(&stdout_of(&out)).unwrap();
    assert_eq!(doc["changed"], false);
    assert_eq!(doc["ok"], true);
    assert!(
        doc["steps"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["status"] == "unchanged"),
        "{doc}"
    );
}

#[test]
fn an_appended_file_is_rewritten_with_one_line_per_key() {
    let root = root_from("forwarding-duplicates");
    Test::new().root(root.path()).args(ENABLE).code(0);
    assert_tree(root.path(), "forwarding-duplicates");
    for _ in 0..3 {
        Test::new().root(root.path()).args(ENABLE).code(0);
    }
    assert_tree(root.path(), "forwarding-duplicates");
}

#[test]
fn disable_sets_both_to_zero() {
    let root = root_from("forwarding-disable");
    Test::new()
        .root(root.path())
        .args(["forwarding", "disable"])
        .code(0);
    assert_tree(root.path(), "forwarding-disable");
}

#[test]
fn no_persist_touches_the_kernel_only() {
    let root = root_from("forwarding-no-persist");
    let out = Test::new()
        .root(root.path())
        .args(["forwarding", "enable", "--no-persist"])
        .code(0);
    assert!(stdout_of(&out).contains("skipped      forwarding-persist  --no-persist"));
    assert_tree(root.path(), "forwarding-no-persist");
}

#[test]
fn check_exits_2_with_a_plan_and_changes_nothing() {
    let root = root_from("forwarding-fresh");
    let before = snapshot(root.path());
    let out = Test::new().root(root.path()).args(ENABLE).arg("--check").code(2);
    assert_eq!(snapshot(root.path()), before);
    let text = stdout_of(&out);
    assert!(text.contains("would-change forwarding-kernel"), "{text}");
    assert!(text.contains("+net.ipv4.ip_forward = 1"), "{text}");
    assert_one_error_line(&stderr_of(&out));

    Test::new().root(root.path()).args(ENABLE).code(0);
    Test::new().root(root.path()).args(ENABLE).arg("--check").code(0);
}

#[test]
fn dry_run_exits_0_and_changes_nothing() {
    let root = root_from("forwarding-fresh");
    let before = snapshot(root.path());
    let out = Test::new()
        .root(root.path())
        .args(ENABLE)
        .arg("--dry-run")
        .code(0);
    assert_eq!(snapshot(root.path()), before);
    assert!(stdout_of(&out).contains("write 1 to /proc/sys/net/ipv4/ip_forward"));
}

#[test]
fn root_comes_from_the_environment_too() {
    let root = root_from("forwarding-fresh");
    Test::new()
        .env("CONTAINER_INIT_ROOT", root.path())
        .args(ENABLE)
        .code(0);
    assert_tree(root.path(), "forwarding-fresh");
}

#[test]
fn status_prints_running_and_persisted_values() {
    let root = root_from("forwarding-duplicates");
    let out = Test::new()
        .root(root.path())
        .args(["forwarding", "status"])
        .code(0);
    let text = stdout_of(&out);
    assert!(
        text.contains("net.ipv4.ip_forward          running=1 persisted=1"),
        "{text}"
    );
    assert!(
        text.contains("net.ipv4.conf.all.proxy_arp  running=0 persisted=1"),
        "{text}"
    );
}

#[test]
fn a_kernel_without_the_knob_is_69() {
    let root = tempfile::tempdir().unwrap();
    let out = Test::new().root(root.path()).args(ENABLE).code(69);
    let err = stderr_of(&out);
    assert_one_error_line(&err);
    assert!(err.contains("the kernel has no net.ipv4.ip_forward"), "{err}");
}

#[test]
fn an_unwritable_sysctl_d_is_73_and_the_json_names_the_failed_step() {
    let root = root_from("forwarding-fresh");
    // A file where the directory should be: nothing can be created in it.
    std::fs::write(root.path().join("etc/sysctl.d"), "in the way\n").unwrap();
    let out = Test::new()
        .root(root.path())
        .args(ENABLE)
        .args(["--output", "json"])
        .code(73);
    let doc: serde_json::Value = serde_json::from_str(&stdout_of(&out)).unwrap();
    assert_eq!(doc["ok"], false);
    assert_eq!(doc["exit_code"], 73);
    assert_eq!(doc["steps"][1]["name"], "forwarding-persist");
    assert_eq!(doc["steps"][1]["status"], "failed");
    assert!(doc["error"].as_str().unwrap().contains("cannot write"), "{doc}");
    let err = stderr_of(&out);
    assert_one_error_line(&err);
    assert!(err.starts_with("error: cannot write "), "{err}");
}

#[test]
fn without_permission_it_is_77() {
    let root = root_from("forwarding-fresh");
    // Apply as root first so only the file write is left to refuse.
    Test::new()
        .root(root.path())
        .args(["forwarding", "enable", "--no-persist"])
        .code(0);
    let bin_path = assert_cmd::cargo::cargo_bin("container-init");
    let out = std::process::Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(&bin_path)
        .arg("--root")
        .arg(root.path())
        .args(ENABLE)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(77),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_one_error_line(&err);
    assert!(err.contains("run as root"), "{err}");
}

#[test]
fn a_converged_run_spawns_no_process() {
    let root = root_from("forwarding-duplicates");
    Test::new().root(root.path()).args(ENABLE).code(0);
    let trace = tempfile::NamedTempFile::new().unwrap();
    let status = std::process::Command::new("strace")
        .args(["-f", "-qq", "-e", "trace=execve,fork,vfork,clone,clone3", "-o"])
        .arg(trace.path())
        .arg(assert_cmd::cargo::cargo_bin("container-init"))
        .arg("--root")
        .arg(root.path())
        .args(ENABLE)
        .status()
        .unwrap();
    assert!(status.success());
    let calls = std::fs::read_to_string(trace.path()).unwrap();
    // "1234  execve(\"/path/...\", ...": the syscall's name, not the paths
    // (a checkout in /tmp/ci-clone/ would count as a clone otherwise).
    let names: Vec<&str> = calls
        .lines()
        .filter_map(|l| l.split_whitespace().nth(1)?.split('(').next())
        .collect();
    let execs = names.iter().filter(|n| **n == "execve").count();
    let forks = names
        .iter()
        .filter(|n| n.contains("fork") || n.starts_with("clone"))
        .count();
    assert_eq!((execs, forks), (1, 0), "{calls}");
}
