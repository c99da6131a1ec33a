//! The Ansible example (`examples/ansible/container-init.yml`) run by a real
//! `ansible-playbook` against localhost, with the built binary on a fake host
//! (`--root`, the fake tools of tests/fakes/fake-host.py).
//!
//! `CONTAINER_INIT_ANSIBLE_PLAYBOOK` names the `ansible-playbook` to use, and
//! then the test must run (`.ci/run` sets it to a virtual environment's); without
//! it, `ansible-playbook` from PATH, and the test is skipped when there is none.

#![allow(clippy::disallowed_methods, clippy::disallowed_types)] // runs ansible-playbook and builds its files directly

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};
use support::fake_host::*;
use tempfile::TempDir;

const REQUIRED: &str = "CONTAINER_INIT_ANSIBLE_PLAYBOOK";

fn ansible_playbook() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(REQUIRED) {
        return Some(PathBuf::from(path));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("ansible-playbook"))
        .find(|p| p.is_file())
}

/// One `ansible-playbook` run.
struct Play {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Play {
    /// A count from localhost's line in the play recap
    /// (`localhost : ok=1 changed=0 unreachable=0 failed=0 ...`).
    fn recap(&self, name: &str) -> u32 {
        let line = self
            .stdout
            .lines()
            .skip_while(|l| !l.starts_with("PLAY RECAP"))
            .find(|l| l.starts_with("localhost"))
            .unwrap_or_else(|| panic!("no recap for localhost: {self}"));
        line.split_whitespace()
            .find_map(|field| field.strip_prefix(&format!("{name}=")))
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no {name}= in {line:?}: {self}"))
    }

    /// Both streams: where Ansible prints a failed task's message differs
    /// between versions.
    fn output(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

impl std::fmt::Display for Play {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {:?}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// Runs the example playbook on `host` the way an operator would, with the
/// test's own additions passed as the playbook's variables.
struct Ansible {
    playbook: PathBuf,
    /// Ansible's home, temporary files and the variables file.
    dir: TempDir,
}

impl Ansible {
    fn new(playbook: PathBuf) -> Ansible {
        Ansible {
            playbook,
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn run(&self, host: &FakeHost, manager_config: &Path, extra: &[&str]) -> Play {
        let environment: serde_json::Map<String, Value> = host
            .tool_env()
            .into_iter()
            .map(|(k, v)| (k.to_string(), json!(v)))
            .collect();
        let vars = json!({
            // Already root here; the example's default is to become root.
            "container_init_become": false,
            "container_init_type": "lxd",
            "container_init_manager_config": manager_config,
            // A global option and one of setup's: both must reach the tool
            // after `setup <type>`, where clap takes them.
            "container_init_args": ["--root", host.root.path(), "--lock-timeout", "30"],
            "container_init_environment": environment,
            "ansible_python_interpreter": "{{ ansible_playbook_python }}",
        });
        let vars_file = self.dir.path().join("vars.json");
        std::fs::write(&vars_file, vars.to_string()).unwrap();
        let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/ansible/container-init.yml");
        let out = Command::new(&self.playbook)
            .args(["-i", "localhost,", "-c", "local", "-e"])
            .arg(format!("@{}", vars_file.display()))
            .args(extra)
            .arg(example)
            .current_dir(self.dir.path())
            .env("CONTAINER_INIT_BIN", env!("CARGO_BIN_EXE_container-init"))
            .env("ANSIBLE_HOME", self.dir.path().join("home"))
            .env("ANSIBLE_LOCAL_TEMP", self.dir.path().join("tmp"))
            .env("ANSIBLE_REMOTE_TEMP", self.dir.path().join("tmp"))
            .env("ANSIBLE_NOCOLOR", "1")
            .env_remove("ANSIBLE_CONFIG")
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", self.playbook.display()));
        Play {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

fn ansible_or_skip() -> Option<Ansible> {
    match ansible_playbook() {
        Some(path) => Some(Ansible::new(path)),
        None => {
            support::system::skipped(&format!(
                "ansible-playbook is not on PATH; set {REQUIRED} to one \
                 (python3 -m venv v && v/bin/pip install ansible-core) to run this test"
            ));
            None
        }
    }
}

fn manager_config(host: &FakeHost, text: &str) -> PathBuf {
    host.write("manager.yaml", text);
    host.path("manager.yaml")
}

#[test]
fn the_playbook_changes_a_fresh_host_then_reports_changed_0_twice_and_in_check_mode() {
    let Some(ansible) = ansible_or_skip() else { return };
    let host = FakeHost::new(DEBIAN_12);
    let config = manager_config(&host, "lxc-default-mtu: 1450\n");

    let first = ansible.run(&host, &config, &[]);
    assert_eq!(first.code, Some(0), "{first}");
    assert_eq!(first.recap("changed"), 1, "{first}");
    assert_eq!(first.recap("failed"), 0, "{first}");
    // The type and the manager config came from the variables.
    assert_eq!(
        host.state()["networks"]["lxdbr0"]["bridge.mtu"],
        "1450",
        "{first}"
    );

    let second = ansible.run(&host, &config, &[]);
    assert_eq!(second.code, Some(0), "{second}");
    assert_eq!(second.recap("changed"), 0, "{second}");
    assert_eq!(second.recap("failed"), 0, "{second}");

    let before = host.state();
    let check = ansible.run(&host, &config, &["--check"]);
    assert_eq!(check.code, Some(0), "{check}");
    assert_eq!(check.recap("changed"), 0, "{check}");
    assert_eq!(check.recap("failed"), 0, "{check}");
    assert_eq!(host.state(), before, "check mode changed the fake host");
}

#[test]
fn check_mode_on_a_fresh_host_reports_changed_and_changes_nothing() {
    let Some(ansible) = ansible_or_skip() else { return };
    let host = FakeHost::new(DEBIAN_12);
    let config = manager_config(&host, "lxc-default-mtu: 1450\n");
    let before = host.state();

    let check = ansible.run(&host, &config, &["--check"]);
    assert_eq!(check.code, Some(0), "{check}");
    // container-init --check exited 2, "would change", and changed nothing.
    assert_eq!(check.recap("changed"), 1, "{check}");
    assert_eq!(check.recap("failed"), 0, "{check}");
    assert_eq!(host.state(), before, "check mode changed the fake host");
    assert!(
        !host.read("var/lib/dpkg/status").contains("Package: lxd"),
        "check mode installed LXD"
    );
}

#[test]
fn a_failing_setup_fails_the_host_with_container_inits_error() {
    let Some(ansible) = ansible_or_skip() else { return };
    let host = FakeHost::new(DEBIAN_12);
    let config = manager_config(&host, "lxc-default-mtu: 99999\n");

    let play = ansible.run(&host, &config, &[]);
    assert_eq!(play.code, Some(2), "{play}");
    assert_eq!(play.recap("failed"), 1, "{play}");
    assert!(
        play.output().contains(
            "container-init setup lxd exited 65: invalid manager config: lxc-default-mtu=\"99999\""
        ),
        "{play}"
    );
    assert_eq!(play.recap("changed"), 0, "{play}");
}
