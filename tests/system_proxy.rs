//! Behind a real proxy, on this machine: tinyproxy from Debian's packages on
//! 127.0.0.1, with its own config and log in the test's temporary directory.
//! `setup lxc` on a host where lxc is missing downloads the package through
//! it, `setup lxd` gives LXD the proxy, reruns change nothing, and a config
//! without the keys takes everything back.
//!
//! It changes the host's apt configuration and installs packages, so it runs
//! only with CONTAINER_INIT_E2E=1. Other end-to-end tests must not run while
//! the apt proxy file exists: run it under the shared lock
//! (`flock /tmp/ci/e2e.lock env CONTAINER_INIT_E2E=1 cargo test --test system_proxy`).
//! All steps are one test function, so they run in order.

#![allow(clippy::disallowed_methods, clippy::disallowed_types)] // tests drive the real machine directly

mod support;

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};
use std::time::{Duration, Instant};

const APT_FILE: &str = "/etc/apt/apt.conf.d/80container-init-proxy";
const LXD_KEYS: [&str; 3] = ["core.proxy_http", "core.proxy_https", "core.proxy_ignore_hosts"];

struct Tinyproxy {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Tinyproxy {
    fn start(dir: &Path) -> Tinyproxy {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let log = dir.join("tinyproxy.log");
        let conf = dir.join("tinyproxy.conf");
        std::fs::write(
            &conf,
            format!(
                "Port {port}\nListen 127.0.0.1\nTimeout 600\nMaxClients 50\nAllow 127.0.0.1\n\
                 LogLevel Info\nLogFile \"{}\"\nPidFile \"{}\"\n",
                log.display(),
                dir.join("tinyproxy.pid").display()
            ),
        )
        .unwrap();
        // -d: in the foreground, as this test's child, so that it stops with it.
        let child = Command::new("tinyproxy")
            .args(["-d", "-c"])
            .arg(&conf)
            .spawn()
            .expect("tinyproxy runs");
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "tinyproxy never listened on {port}");
            std::thread::sleep(Duration::from_millis(50));
        }
        Tinyproxy { child, port, log }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Tinyproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whatever happens, the host's apt and LXD lose this test's proxy.
struct Restore {
    proxy: String,
}

impl Drop for Restore {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(APT_FILE);
        let _ = std::fs::remove_file("/var/lib/container-init/proxy.json");
        for (key, value) in lxd_proxy_keys() {
            if value.starts_with(&self.proxy)
                || key == "core.proxy_ignore_hosts" && value.contains(".example.invalid")
            {
                let _ = Command::new("lxc").args(["config", "unset", &key]).status();
            }
        }
    }
}

fn tool(args: &[&str]) -> (Output, serde_json::Value) {
    let out = Command::new(assert_cmd::cargo::cargo_bin("container-init"))
        .args(args)
        .args(["--output", "json"])
        .env_remove("CONTAINER_INIT_ROOT")
        .env_remove("CONTAINER_INIT_CONFIG")
        .output()
        .unwrap();
    let doc = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out, doc)
}

fn setup(ty: &str, config: &Path) -> serde_json::Value {
    let started = Instant::now();
    let (out, doc) = tool(&["setup", ty, "--manager-config", config.to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{doc}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("setup {ty}: {:?}, changed={}", started.elapsed(), doc["changed"]);
    doc
}

fn status<'a>(doc: &'a serde_json::Value, step: &str) -> &'a str {
    doc["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == step)
        .and_then(|s| s["status"].as_str())
        .unwrap_or_else(|| panic!("no step {step}: {doc}"))
}

fn assert_converged(doc: &serde_json::Value) {
    assert_eq!(doc["changed"], false, "a rerun changed something: {doc}");
}

fn run(program: &str, args: &[&str]) -> String {
    let out = Command::new(program)
        .args(args)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{program} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn lxd_proxy_keys() -> Vec<(String, String)> {
    let Ok(out) = Command::new("lxc").args(["query", "/1.0"]).output() else {
        return Vec::new();
    };
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    LXD_KEYS
        .iter()
        .filter_map(|k| doc["config"][k].as_str().map(|v| (k.to_string(), v.to_string())))
        .collect()
}

fn config_file(dir: &Path, name: &str, values: serde_json::Value) -> PathBuf {
    let path = dir.join(name);
    let mut f = std::fs::File::create(&path).unwrap();
    writeln!(f, "{}", serde_json::json!({ "config": values })).unwrap();
    path
}

#[test]
#[ignore = "end-to-end: changes this machine; CONTAINER_INIT_E2E=1 cargo test -- --include-ignored (.ci/run)"]
fn behind_tinyproxy_apt_and_lxd_use_it_reruns_change_nothing_and_removal_restores_the_host() {
    if !support::system::e2e() {
        return;
    }
    if !Path::new("/usr/bin/tinyproxy").exists() {
        let required = std::env::var_os("CONTAINER_INIT_SYSTEM_TESTS").is_some_and(|v| v == "1");
        assert!(!required, "tinyproxy is not installed (.ci/run installs it)");
        support::system::skipped("needs tinyproxy (apt-get install tinyproxy)");
        return;
    }
    assert!(!Path::new(APT_FILE).exists(), "{APT_FILE} exists before the test");
    let lxc_net_was_up = Path::new("/sys/class/net/lxcbr0").exists();
    let work = tempfile::tempdir().unwrap();
    let proxy = Tinyproxy::start(work.path());
    let _restore = Restore { proxy: proxy.url() };
    let with_proxy = config_file(
        work.path(),
        "with-proxy.json",
        serde_json::json!({
            "http-proxy": proxy.url(),
            "https-proxy": proxy.url(),
            "no-proxy": "localhost,127.0.0.1,.example.invalid",
        }),
    );
    let without = config_file(work.path(), "without.json", serde_json::json!({}));

    // A host where lxc is missing and no .deb is cached: it must be fetched.
    run(
        "apt-get",
        &["-o", "DPkg::Lock::Timeout=600", "purge", "-y", "-q", "lxc"],
    );
    run("apt-get", &["clean"]);

    let first = setup("lxc", &with_proxy);
    assert_eq!(status(&first, "apt-proxy"), "changed", "{first}");
    assert_eq!(status(&first, "packages"), "changed", "{first}");
    let log = proxy.log();
    assert!(
        log.lines()
            .any(|l| l.contains("GET http://") && l.contains("/lxc_") && l.contains(".deb")),
        "the proxy's log shows no lxc .deb:\n{log}"
    );
    let dump = run("apt-config", &["dump"]);
    assert!(
        dump.contains(&format!("Acquire::http::Proxy \"{}\";", proxy.url())),
        "{dump}"
    );
    assert!(
        dump.contains("Acquire::http::Proxy::localhost \"DIRECT\";"),
        "{dump}"
    );
    assert_converged(&setup("lxc", &with_proxy));

    let lxd = setup("lxd", &with_proxy);
    assert_ne!(status(&lxd, "runtime-proxy"), "failed");
    assert_eq!(
        lxd_proxy_keys(),
        [
            ("core.proxy_http".to_string(), proxy.url()),
            ("core.proxy_https".to_string(), proxy.url()),
            (
                "core.proxy_ignore_hosts".to_string(),
                "localhost,127.0.0.1,.example.invalid".to_string()
            ),
        ]
    );
    assert_converged(&setup("lxd", &with_proxy));

    // Without the keys: what the tool set goes, and only that.
    let removed = setup("lxd", &without);
    assert_eq!(status(&removed, "apt-proxy"), "changed", "{removed}");
    assert_eq!(status(&removed, "runtime-proxy"), "changed", "{removed}");
    assert!(!Path::new(APT_FILE).exists());
    assert_eq!(lxd_proxy_keys(), []);
    assert!(!run("apt-config", &["dump"]).contains("Acquire::http::Proxy"));
    assert_converged(&setup("lxc", &without));
    assert_converged(&setup("lxd", &without));

    if !lxc_net_was_up {
        // `setup lxc` started lxc-net; a host that did not run it gets it stopped.
        let _ = Command::new("service").args(["lxc-net", "stop"]).status();
    }
}
