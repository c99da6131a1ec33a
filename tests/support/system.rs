//! Gate for the system tests, which need root and `unshare`. Where those are
//! missing the tests say so and pass; with `CONTAINER_INIT_SYSTEM_TESTS=1`
//! (set by `.ci/run`) a missing prerequisite fails them instead.

use std::process::Command;

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
    eprintln!("skipped: system test needs {what}; set CONTAINER_INIT_SYSTEM_TESTS=1 to make this a failure");
    false
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
