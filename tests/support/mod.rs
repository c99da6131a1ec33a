//! Shared pieces of the CLI tests: the built binary, fixture trees under
//! `tests/fixtures/<case>/{in,expected}`, and tree comparison.
#![allow(dead_code)]
// The support code builds fake hosts and test trees directly, outside Host.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

pub mod child;
pub mod e2e_host;
pub mod fake_host;
pub mod guest_image;
pub mod https;
pub mod proxy;
pub mod rulesets;
pub mod system;
pub mod test;

#[allow(unused_imports)] // not every test binary uses it
pub use test::Test;

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use tempfile::TempDir;

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// What the caller's shell could set that would change a test's run.
pub const LEAKY_ENV: [&str; 13] = [
    "CONTAINER_INIT_ROOT",
    "CONTAINER_INIT_CONFIG",
    "RUST_LOG",
    "NO_COLOR",
    "CONTAINER_INIT_TOKEN",
    // The controller honours these as curl does; only a test that sets
    // them gets a proxy.
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "all_proxy",
];

/// The binary under test, with an environment that cannot leak in from the
/// caller's shell.
pub fn bin() -> Command {
    let mut cmd = Command::cargo_bin("container-init").unwrap();
    for var in LEAKY_ENV {
        cmd.env_remove(var);
    }
    cmd
}

/// A temporary root holding a copy of `tests/fixtures/<case>/in`.
pub fn root_from(case: &str) -> TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_tree(&fixtures().join(case).join("in"), dir.path());
    dir
}

pub fn copy_tree(from: &Path, to: &Path) {
    for entry in walk(from) {
        let target = to.join(entry.strip_prefix(from).unwrap());
        if entry.is_dir() {
            fs::create_dir_all(&target).unwrap();
        } else {
            fs::create_dir_all(target.parent().unwrap()).unwrap();
            fs::copy(&entry, &target).unwrap();
        }
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path.clone());
            }
            out.push(path);
        }
    }
    out.sort();
    out
}

/// Every regular file below `root`, by relative path, with its bytes.
pub fn files(root: &Path) -> BTreeMap<String, Vec<u8>> {
    walk(root)
        .into_iter()
        .filter(|p| p.is_file())
        .map(|p| {
            (
                p.strip_prefix(root).unwrap().display().to_string(),
                fs::read(&p).unwrap(),
            )
        })
        .collect()
}

/// The tree under `root` equals `tests/fixtures/<case>/expected`, file for file.
pub fn assert_tree(root: &Path, case: &str) {
    let want = files(&fixtures().join(case).join("expected"));
    let got = files(root);
    let names = |m: &BTreeMap<String, Vec<u8>>| m.keys().cloned().collect::<Vec<_>>();
    assert_eq!(
        names(&got),
        names(&want),
        "files under the root differ from {case}/expected"
    );
    for (name, bytes) in &want {
        assert_eq!(
            String::from_utf8_lossy(&got[name]),
            String::from_utf8_lossy(bytes),
            "{name} differs from {case}/expected"
        );
    }
}

/// Mode, inode and mtime of every file: equal snapshots mean nothing was written.
pub fn snapshot(root: &Path) -> BTreeMap<String, (u32, u64, i64, i64)> {
    walk(root)
        .into_iter()
        .map(|p| {
            let m = fs::metadata(&p).unwrap();
            (
                p.display().to_string(),
                (m.mode(), m.ino(), m.mtime(), m.mtime_nsec()),
            )
        })
        .collect()
}

pub fn stdout_of(out: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&out.get_output().stdout).into_owned()
}

pub fn stderr_of(out: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&out.get_output().stderr).into_owned()
}

/// The stderr of a failure: exactly one `error:` line, first.
pub fn assert_one_error_line(stderr: &str) {
    let errors = stderr.lines().filter(|l| l.starts_with("error:")).count();
    assert_eq!(errors, 1, "want one error: line in {stderr:?}");
}
