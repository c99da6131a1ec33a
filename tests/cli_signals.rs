//! SIGHUP, SIGINT, SIGQUIT and SIGTERM during `setup`: the signal reaches
//! the child that is running (a hang-up or a quit as SIGTERM), the tool
//! waits for it, and exits 128 + the signal with one error line and the JSON
//! document. SIGUSR1 does not end a run.

#![allow(clippy::disallowed_methods, clippy::disallowed_types)] // tests build and inspect fake hosts directly

mod support;

use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

use support::*;

/// A Debian host with LXD installed, and an `lxc` that hangs until signalled.
fn hanging_host() -> (tempfile::TempDir, tempfile::TempDir, std::path::PathBuf) {
    let root = tempfile::tempdir().unwrap();
    let etc = root.path().join("etc");
    std::fs::create_dir_all(&etc).unwrap();
    std::fs::write(
        etc.join("os-release"),
        "ID=debian\nVERSION_ID=\"12\"\nPRETTY_NAME=\"Debian GNU/Linux 12\"\n",
    )
    .unwrap();
    let dpkg = root.path().join("var/lib/dpkg");
    std::fs::create_dir_all(&dpkg).unwrap();
    let status: String = ["lxd", "dnsmasq-base", "nftables"]
        .iter()
        .map(|p| format!("Package: {p}\nStatus: install ok installed\n\n"))
        .collect();
    std::fs::write(dpkg.join("status"), status).unwrap();

    let bin = tempfile::tempdir().unwrap();
    let mark = bin.path().join("mark");
    let lxc = bin.path().join("lxc");
    std::fs::write(
        &lxc,
        format!(
            // A background job of a non-interactive shell ignores SIGINT, so
            // the trap ends it as a well-behaved child (apt, a script) would.
            "#!/bin/sh\ntrap 'echo \"got $1\" >> {mark}; kill $!; exit 1' TERM INT\necho started >> {mark}\nsleep 30 &\nwait\n",
            mark = mark.display()
        )
        .replace("$1", "signal"),
    )
    .unwrap();
    std::fs::set_permissions(&lxc, std::fs::Permissions::from_mode(0o755)).unwrap();
    (root, bin, mark)
}

fn interrupted_by(signal: i32) -> (Option<i32>, String, String) {
    let (code, mark, stderr, _) = interrupted_by_after(&[signal], &[]);
    (code, mark, stderr)
}

/// `setup lxd` with `extra` arguments, sent `signals` in turn (a little
/// apart) once the fake `lxc` runs; exit code, the child's mark, stderr and
/// stdout.
fn interrupted_by_after(signals: &[i32], extra: &[&str]) -> (Option<i32>, String, String, String) {
    let (root, bin, mark) = hanging_host();
    let path = format!("{}:{}", bin.path().display(), std::env::var("PATH").unwrap());
    let child = std::process::Command::new(assert_cmd::cargo::cargo_bin("container-init"))
        .arg("--root")
        .arg(root.path())
        .args(["setup", "lxd"])
        .args(extra)
        .env("PATH", path)
        .env_remove("CONTAINER_INIT_CONFIG")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while !std::fs::read_to_string(&mark)
        .unwrap_or_default()
        .contains("started")
    {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the fake lxc never started"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // Only the tool gets the signal, as with `kill` or a service manager.
    for signal in signals {
        unsafe_kill(child.id(), *signal);
        std::thread::sleep(Duration::from_millis(300));
    }
    let out = child.wait_with_output().unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "the tool did not stop in time"
    );
    (
        out.status.code(),
        std::fs::read_to_string(&mark).unwrap(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

fn unsafe_kill(pid: u32, signal: i32) {
    let status = std::process::Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn sigterm_reaches_the_child_and_exits_143() {
    let (code, mark, stderr) = interrupted_by(15);
    assert_eq!(code, Some(143), "{stderr}");
    assert!(mark.contains("got signal"), "the child was not signalled: {mark}");
    assert_one_error_line(&stderr);
    assert!(stderr.contains("SIGTERM"), "{stderr}");
}

#[test]
fn sigint_reaches_the_child_and_exits_130() {
    let (code, mark, stderr) = interrupted_by(2);
    assert_eq!(code, Some(130), "{stderr}");
    assert!(mark.contains("got signal"), "the child was not signalled: {mark}");
    assert_one_error_line(&stderr);
}

#[test]
fn sighup_and_sigquit_end_the_run_like_sigterm_with_129_and_131() {
    for (signal, code, name) in [(1, 129, "SIGHUP"), (3, 131, "SIGQUIT")] {
        let (got, mark, stderr, stdout) = interrupted_by_after(&[signal], &["--output", "json"]);
        assert_eq!(got, Some(code), "{name}: {stderr}");
        // Passed on as SIGTERM: the child stops, and dumps no core.
        assert!(
            mark.contains("got signal"),
            "{name}: the child was not stopped: {mark}"
        );
        assert_one_error_line(&stderr);
        assert!(stderr.contains(name), "{stderr}");
        let doc: serde_json::Value =
            serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
        assert_eq!(doc["exit_code"], code);
        assert_eq!(doc["ok"], false);
    }
}

#[test]
fn sigusr1_does_not_end_the_run() {
    // SIGUSR1 first: the run goes on (its child is not stopped) until SIGTERM.
    let (code, mark, stderr, _) = interrupted_by_after(&[10, 15], &[]);
    assert_eq!(code, Some(143), "{stderr}");
    assert_eq!(mark.matches("got signal").count(), 1, "{mark}");
    assert!(stderr.contains("SIGTERM"), "{stderr}");
}
