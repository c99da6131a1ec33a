//! `--version` names the package version, and the commit when the binary was
//! built from a git checkout (build.rs).

#![allow(clippy::disallowed_methods, clippy::disallowed_types)] // asks git what build.rs should have found

mod support;

use std::path::Path;
use std::process::Command;

use support::*;

/// The commit build.rs should have found: HEAD, when this crate is the top
/// level of a git checkout.
fn checkout_commit() -> Option<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let git = |args: &[&str]| {
        let out = Command::new("git").arg("-C").arg(dir).args(args).output().ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
    };
    let toplevel = git(&["rev-parse", "--show-toplevel"])?;
    if Path::new(&toplevel).canonicalize().ok()? != dir.canonicalize().ok()? {
        return None;
    }
    git(&["rev-parse", "--short=9", "HEAD"])
}

#[test]
fn version_names_the_package_version_and_the_commit_built_from() {
    let want = match checkout_commit() {
        Some(commit) => format!("container-init {} ({commit})\n", env!("CARGO_PKG_VERSION")),
        None => format!("container-init {}\n", env!("CARGO_PKG_VERSION")),
    };
    for flag in ["--version", "-V"] {
        let out = Test::new().arg(flag).code(0);
        assert_eq!(stdout_of(&out), want, "{flag}");
    }
}
