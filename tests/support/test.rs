//! A builder for one run of the binary, in the manner of just's tests:
//! `Test::new().root(dir).args(["forwarding", "enable"]).code(0)`.

use std::ffi::OsStr;
use std::path::Path;

use assert_cmd::assert::Assert;

use super::bin;

pub struct Test(assert_cmd::Command);

impl Default for Test {
    fn default() -> Test {
        Test::new()
    }
}

impl Test {
    /// The binary with an environment that cannot leak in from the caller.
    pub fn new() -> Test {
        Test(bin())
    }

    /// Run against a `--root` tree.
    pub fn root(mut self, root: &Path) -> Test {
        self.0.arg("--root").arg(root);
        self
    }

    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Test {
        self.0.arg(arg);
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Test
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.0.args(args);
        self
    }

    pub fn env(mut self, key: &str, value: impl AsRef<OsStr>) -> Test {
        self.0.env(key, value);
        self
    }

    pub fn stdin(mut self, input: impl Into<Vec<u8>>) -> Test {
        self.0.write_stdin(input);
        self
    }

    /// Run, and insist on this exit status.
    pub fn code(self, code: i32) -> Assert {
        self.assert().code(code)
    }

    /// Run with `--output json`, insist on this exit status, and parse stdout.
    pub fn json(self, code: i32) -> serde_json::Value {
        let out = self.args(["--output", "json"]).code(code);
        let stdout = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("not one JSON document ({e}): {stdout}"))
    }

    pub fn assert(mut self) -> Assert {
        self.0.assert()
    }

    pub fn output(mut self) -> std::process::Output {
        self.0.output().unwrap()
    }
}
