//! Gate for the system tests, which need root and `unshare`. Where those are
//! missing the tests say so and pass; with `CONTAINER_INIT_SYSTEM_TESTS=1`
//! (set by `.ci/run`) a missing prerequisite fails them instead.

use std::process::Command;

/// The built tool on this real host: no `--root`, no config file from the
/// caller's environment.
pub fn tool(args: &[&str]) -> std::process::Output {
    Command::new(assert_cmd::cargo::cargo_bin("container-init"))
        .args(args)
        .env_remove("CONTAINER_INIT_ROOT")
        .env_remove("CONTAINER_INIT_CONFIG")
        .output()
        .unwrap()
}

/// Run a command that must succeed; its stdout.
pub fn run(program: &str, args: &[&str]) -> String {
    let out = Command::new(program).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{program} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The JSON report of a run, or a panic showing both streams.
pub fn json(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

pub fn available(needs: &[&str]) -> bool {
    let required = std::env::var_os("CONTAINER_INIT_SYSTEM_TESTS").is_some_and(|v| v == "1");
    let mut missing: Vec<String> = needs
        .iter()
        .filter(|path| !std::path::Path::new(path).exists())
        .map(|p| p.to_string())
        .collect();
    let unshare = Command::new("unshare")
        .args(["--net", "--mount", "true"])
        .status();
    if !unshare.is_ok_and(|s| s.success()) {
        missing.push("`unshare --net --mount` (root)".into());
    }
    if missing.is_empty() {
        return true;
    }
    let what = missing.join(", ");
    assert!(!required, "system test prerequisites missing: {what}");
    skipped(&format!(
        "needs {what}; set CONTAINER_INIT_SYSTEM_TESTS=1 to make this a failure"
    ));
    false
}

/// Whether end-to-end tests may change this machine (`CONTAINER_INIT_E2E=1`,
/// set by `.ci/run` on throwaway VMs); otherwise the skip is said out loud.
pub fn e2e() -> bool {
    if std::env::var("CONTAINER_INIT_E2E").as_deref() == Ok("1") {
        return true;
    }
    skipped(
        "end-to-end: set CONTAINER_INIT_E2E=1 on a throwaway machine to let it install and change this host",
    );
    false
}

/// Say that a test did not run, where the runner's capture cannot hide it:
/// `eprintln!` output of a passing test is swallowed, a raw write to the
/// stderr handle is not.
pub fn skipped(why: &str) {
    use std::io::Write;
    let test = std::thread::current()
        .name()
        .unwrap_or("a system test")
        .to_string();
    let _ = writeln!(std::io::stderr(), "SKIPPED {test}: {why}");
}

/// Run a shell script inside fresh network and mount namespaces; its
/// positional parameters are `args`. Returns stdout, panicking with stderr on
/// failure.
pub fn in_namespaces(script: &str, args: &[&str]) -> String {
    let out = Command::new("unshare")
        .args(["--net", "--mount", "--", "sh", "-euc", script, "sh"])
        .args(args)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "namespace script failed ({:?})\nstdout:\n{stdout}\nstderr:\n{stderr}",
        out.status
    );
    stdout
}
