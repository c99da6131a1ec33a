//! Names the commit a binary was built from, for `container-init --version`.
//!
//! Sets `CONTAINER_INIT_VERSION` to the package version, followed by the
//! commit when there is one: from the git checkout the crate is built in, or
//! from the `.cargo_vcs_info.json` that `cargo package` writes. A tarball
//! without either builds too, with the version alone.

// This script runs at compile time on the build machine, not in the tool:
// the runtime's rule that every command and file access goes through `Host`
// does not apply here, and `Host` is not available to a build script.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// As many hex digits as rustc prints for its own commit.
const SHORT: usize = 9;

fn main() {
    let manifest_dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let version = std::env::var("CARGO_PKG_VERSION").expect("cargo sets it");
    println!("cargo:rerun-if-changed=build.rs");
    let vcs_info = manifest_dir.join(".cargo_vcs_info.json");
    let commit = if vcs_info.is_file() {
        println!("cargo:rerun-if-changed=.cargo_vcs_info.json");
        commit_from_vcs_info(&vcs_info)
    } else {
        commit_from_git(&manifest_dir)
    };
    let full = match commit {
        Some(commit) => format!("{version} ({commit})"),
        None => version,
    };
    println!("cargo:rustc-env=CONTAINER_INIT_VERSION={full}");
}

/// `cargo package` records the commit it packaged as `"sha1": "<40 hex>"`.
fn commit_from_vcs_info(path: &Path) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    let after = text.split("\"sha1\"").nth(1)?;
    let hex: String = after
        .chars()
        .skip_while(|c| !c.is_ascii_hexdigit())
        .take_while(char::is_ascii_hexdigit)
        .collect();
    (hex.len() >= SHORT).then(|| hex[..SHORT].to_string())
}

/// HEAD of the git checkout whose top level is this crate, if any. A crate
/// unpacked inside some other repository (`target/package/` of this one, a
/// tarball under a home directory kept in git) must not take that
/// repository's commit.
fn commit_from_git(manifest_dir: &Path) -> Option<String> {
    let toplevel = git(manifest_dir, &["rev-parse", "--show-toplevel"])?;
    if Path::new(&toplevel).canonicalize().ok()? != manifest_dir.canonicalize().ok()? {
        return None;
    }
    // Run again after a commit, a checkout or a reset: each moves HEAD, and
    // git logs every move of HEAD in logs/HEAD.
    for file in ["HEAD", "logs/HEAD"] {
        watch(manifest_dir, file);
    }
    git(manifest_dir, &["rev-parse", &format!("--short={SHORT}"), "HEAD"])
}

fn watch(manifest_dir: &Path, git_file: &str) {
    let path = git(
        manifest_dir,
        &["rev-parse", "--path-format=absolute", "--git-path", git_file],
    );
    if let Some(path) = path.filter(|p| Path::new(p).exists()) {
        println!("cargo:rerun-if-changed={path}");
    }
}

/// The trimmed stdout of a successful git command; `None` when git is
/// missing or fails (no repository, no commit yet).
fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("LC_ALL", "C")
        .output()
        .ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    let text = text.trim();
    (out.status.success() && !text.is_empty()).then(|| text.to_string())
}
