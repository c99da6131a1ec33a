//! `lxc-net` on the built binary against `--root` fixture trees, including
//! hostile values that must never reach the file.

#![allow(clippy::disallowed_methods, clippy::disallowed_types)] // tests build and inspect fake hosts directly

mod support;

use std::fs;

use support::*;

const LAB: [&str; 10] = [
    "--bridge",
    "br-lab",
    "--network",
    "192.168.77.0/24",
    "--address",
    "192.168.77.10",
    "--dhcp-range",
    "192.168.77.100,192.168.77.199",
    "--dhcp-max",
    "50",
];

fn override_cmd(root: &std::path::Path) -> Test {
    Test::new().root(root).args(["lxc-net", "override"])
}

#[test]
fn override_keeps_the_foreign_original_and_writes_ours() {
    let root = root_from("lxc-net-foreign");
    let out = override_cmd(root.path()).args(LAB).code(0);
    let text = stdout_of(&out);
    assert!(text.contains("changed      lxc-net-original"), "{text}");
    assert!(
        text.contains("changed      lxc-net             br-lab 192.168.77.10/24"),
        "{text}"
    );
    assert_tree(root.path(), "lxc-net-foreign");
    let mode = fs::metadata(root.path().join("etc/default/lxc-net")).unwrap();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&mode.permissions()) & 0o777,
        0o644
    );
}

#[test]
fn override_twice_changes_nothing_the_second_time() {
    let root = root_from("lxc-net-foreign");
    override_cmd(root.path()).args(LAB).code(0);
    let before = snapshot(root.path());
    let out = override_cmd(root.path()).args(LAB).code(0);
    assert_eq!(snapshot(root.path()), before);
    let text = stdout_of(&out);
    assert!(text.contains("skipped      lxc-net-original"), "{text}");
    assert!(text.contains("unchanged    lxc-net"), "{text}");
}

#[test]
fn a_hand_edit_after_override_does_not_replace_the_first_original() {
    let root = root_from("lxc-net-foreign");
    override_cmd(root.path()).args(LAB).code(0);
    fs::write(
        root.path().join("etc/default/lxc-net"),
        "USE_LXC_BRIDGE=\"false\"\n",
    )
    .unwrap();
    override_cmd(root.path()).args(LAB).code(0);
    assert_tree(root.path(), "lxc-net-foreign");
}

#[test]
fn restore_puts_the_original_back_byte_for_byte() {
    let root = root_from("lxc-net-restore");
    let out = Test::new().root(root.path()).args(["lxc-net", "restore"]).code(0);
    assert!(stdout_of(&out).contains("restored /etc/default/lxc-net"));
    assert_tree(root.path(), "lxc-net-restore");
    let out = Test::new().root(root.path()).args(["lxc-net", "restore"]).code(0);
    assert!(stdout_of(&out).contains("unchanged    lxc-net             nothing to restore"));
}

#[test]
fn override_then_restore_round_trips() {
    let root = root_from("lxc-net-foreign");
    let original = fs::read(root.path().join("etc/default/lxc-net")).unwrap();
    override_cmd(root.path()).code(0);
    Test::new().root(root.path()).args(["lxc-net", "restore"]).code(0);
    assert_eq!(
        fs::read(root.path().join("etc/default/lxc-net")).unwrap(),
        original
    );
    assert!(!root.path().join("etc/default/lxc-net.orig").exists());
}

#[test]
fn restore_without_an_original_removes_our_file() {
    let root = tempfile::tempdir().unwrap();
    override_cmd(root.path()).code(0);
    assert!(!root.path().join("etc/default/lxc-net.orig").exists());
    Test::new().root(root.path()).args(["lxc-net", "restore"]).code(0);
    assert!(!root.path().join("etc/default/lxc-net").exists());
}

#[test]
fn show_prints_the_values_without_running_them() {
    let root = root_from("lxc-net-restore");
    let out = Test::new()
        .root(root.path())
        .args(["lxc-net", "show", "--output", "json"])
        .code(0);
    let doc: serde_json::Value = serde_json::from_str(&stdout_of(&out)).unwrap();
    let facts = doc["facts"].as_array().unwrap();
    let get = |k: &str| facts.iter().find(|f| f["key"] == k).map(|f| f["value"].clone());
    assert_eq!(get("LXC_BRIDGE"), Some("br-lab".into()));
    assert_eq!(
        get("LXC_DHCP_RANGE"),
        Some("192.168.77.100,192.168.77.199,infinite".into())
    );
}

#[test]
fn check_and_dry_run_write_nothing() {
    let root = root_from("lxc-net-foreign");
    let before = snapshot(root.path());
    let out = override_cmd(root.path()).args(LAB).arg("--check").code(2);
    assert!(stdout_of(&out).contains("+LXC_BRIDGE=\"br-lab\""));
    override_cmd(root.path()).args(LAB).arg("--dry-run").code(0);
    assert_eq!(snapshot(root.path()), before);
}

/// Values a script or a careless copy-paste might hand us. None may reach a
/// file that a root shell sources.
const HOSTILE: &[(&str, &str)] = &[
    ("--bridge", "br0\"; reboot; \""),
    ("--bridge", "$(reboot)"),
    ("--bridge", "`id`"),
    ("--bridge", "br0;id"),
    ("--bridge", "br0\nLXC_ADDR=1.2.3.4"),
    ("--bridge", "br'0"),
    ("--bridge", "averyveryverylongbridge"),
    ("--bridge", ""),
    ("--network", "10.0.3.0/24\"; id; \""),
    ("--network", "10.0.3.0/$(id)"),
    ("--network", "10.0.3.0/33"),
    ("--network", "10.0.3.0/-1"),
    ("--network", "10.0.3.0/4"),
    ("--network", "10.0.3.0"),
    ("--network", "10.0.3.1/24"),
    ("--network", "10.0.3.0/24\n"),
    ("--address", "10.0.3.1;id"),
    ("--address", "$(id)"),
    ("--address", "10.0.3.1\nUSE_LXC_BRIDGE=false"),
    ("--address", "10.0.4.1"),
    ("--address", "10.0.3.255"),
    ("--dhcp-range", "10.0.3.2,10.0.3.254,infinite"),
    ("--dhcp-range", "10.0.3.2,10.0.3.254;id"),
    ("--dhcp-range", "10.0.3.2,10.0.9.254"),
    ("--dhcp-range", "10.0.3.9,10.0.3.2"),
    ("--dhcp-range", "10.0.3.1,10.0.3.9"),
    ("--dhcp-max", "253; reboot"),
    ("--dhcp-max", "$(id)"),
    ("--dhcp-max", "-1"),
    ("--dhcp-max", "0"),
    ("--dhcp-max", "1e3"),
    ("--dhcp-max", "99999999999"),
];

#[test]
fn hostile_values_exit_64_and_leave_the_file_as_it_was() {
    let root = root_from("lxc-net-foreign");
    let before = snapshot(root.path());
    for (option, value) in HOSTILE {
        let out = override_cmd(root.path()).args([option, value]).assert();
        let code = out.get_output().status.code();
        assert_eq!(code, Some(64), "{option} {value:?} gave {code:?}");
        let err = stderr_of(&out);
        assert_one_error_line(&err);
        assert!(err.starts_with("error:"), "{option} {value:?}: {err}");
        assert_eq!(
            snapshot(root.path()),
            before,
            "{option} {value:?} touched the tree"
        );
    }
}

#[test]
fn usage_errors_are_64_not_clap_2() {
    Test::new().args(["lxc-net"]).code(64);
    Test::new().args(["lxc-net", "frobnicate"]).code(64);
    Test::new().args(["frobnicate"]).code(64);
    Test::new().args(["--output", "xml", "lxc-net", "show"]).code(64);
    Test::new()
        .args(["--dry-run", "--check", "lxc-net", "show"])
        .code(64);
    let out = Test::new()
        .args(["--root", "/does/not/exist", "lxc-net", "show"])
        .code(64);
    assert_one_error_line(&stderr_of(&out));
    Test::new().arg("--help").code(0);
    Test::new().arg("--version").code(0);
}

#[test]
fn an_unwritable_etc_default_is_73_and_nothing_is_half_written() {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("etc")).unwrap();
    // A file where the directory should be: lxc-net cannot be created below it.
    std::fs::write(root.path().join("etc/default"), "in the way\n").unwrap();
    let before = snapshot(root.path());
    let out = override_cmd(root.path()).code(73);
    let err = stderr_of(&out);
    assert_one_error_line(&err);
    assert!(err.starts_with("error: cannot write "), "{err}");
    // Only the host lock, taken before the write, is new.
    let mut after = snapshot(root.path());
    after.retain(|path, _| !path.contains("/run"));
    assert_eq!(after, before);
}

#[test]
fn without_permission_it_is_77() {
    let root = root_from("lxc-net-foreign");
    let out = std::process::Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(assert_cmd::cargo::cargo_bin("container-init"))
        .arg("--root")
        .arg(root.path())
        .args(["lxc-net", "override"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(77), "{err}");
    assert_one_error_line(&err);
}
