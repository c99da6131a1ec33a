//! Proxy keys against fake hosts: apt's file, snap's and LXD's settings,
//! reruns, removal, refusals; and the controller request through a proxy
//! on 127.0.0.1 to the loopback HTTPS server.

#![allow(clippy::disallowed_methods, clippy::disallowed_types)] // tests build and inspect fake hosts directly

mod support;

use std::path::Path;

use serde_json::json;
use support::assert_one_error_line;
use support::fake_host::*;
use support::https::{Server, json as reply, pki};
use support::proxy::Proxy;

const APT_FILE: &str = "etc/apt/apt.conf.d/80container-init-proxy";
const RECORD: &str = "var/lib/container-init/record.json";

/// The proxy keys the record says the tool set.
fn recorded_proxy_keys(host: &FakeHost) -> Vec<String> {
    let text = host.read(RECORD);
    if text.is_empty() {
        return Vec::new();
    }
    let record: serde_json::Value = serde_json::from_str(&text).unwrap();
    record["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["change"]["kind"] == "runtime-key")
        .filter_map(|e| e["change"]["key"].as_str())
        .filter(|k| k.starts_with("core.proxy_") || k.starts_with("proxy."))
        .map(str::to_string)
        .collect()
}

/// A manager config file, as the controller's JSON document.
fn config(values: serde_json::Value) -> tempfile::NamedTempFile {
    let f = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(f.path(), json!({ "config": values }).to_string()).unwrap();
    f
}

fn setup(host: &FakeHost, ty: &str, cfg: &tempfile::NamedTempFile, extra: &[&str]) -> Run {
    let path = cfg.path().to_str().unwrap();
    let mut args = vec!["setup", ty, "--manager-config", path, "--output", "json"];
    args.extend(extra);
    host.run(&args)
}

fn proxies() -> serde_json::Value {
    json!({
        "http-proxy": "http://proxy.example.com:3128",
        "https-proxy": "http://proxy.example.com:3128/",
        "no-proxy": "localhost,127.0.0.1,.corp.example,10.0.0.0/8",
    })
}

fn step_names(run: &Run) -> Vec<String> {
    run.statuses().into_iter().map(|(n, _)| n).collect()
}

#[test]
fn debian_lxd_behind_a_proxy_apt_before_packages_then_lxd_keys_and_a_rerun_changes_nothing() {
    let host = FakeHost::new(DEBIAN_12);
    let cfg = config(proxies());
    let first = setup(&host, "lxd", &cfg, &[]);
    assert_eq!(first.code, Some(0), "{first}");
    let apt = host.read(APT_FILE);
    let body: Vec<&str> = apt.lines().filter(|l| !l.starts_with("//")).collect();
    assert_eq!(
        body,
        [
            "Acquire::http::Proxy \"http://proxy.example.com:3128\";",
            "Acquire::http::Proxy::localhost \"DIRECT\";",
            "Acquire::http::Proxy::127.0.0.1 \"DIRECT\";",
            "Acquire::https::Proxy \"http://proxy.example.com:3128\";",
            "Acquire::https::Proxy::localhost \"DIRECT\";",
            "Acquire::https::Proxy::127.0.0.1 \"DIRECT\";",
        ]
    );
    // The install of this very run saw the file.
    assert_eq!(host.state()["apt_proxy_at_install"], json!(apt), "{first}");
    let names = step_names(&first);
    let at = |n: &str| {
        names
            .iter()
            .position(|s| s == n)
            .unwrap_or_else(|| panic!("no {n}: {first}"))
    };
    assert!(at("apt-proxy") < at("packages"));
    assert!(at("lxd-daemon") < at("runtime-proxy") && at("runtime-proxy") < at("lxd-network"));
    assert_eq!(first.status_of("apt-proxy"), "changed");
    assert_eq!(first.status_of("runtime-proxy"), "changed");
    let detail = first.json()["steps"][at("apt-proxy")]["detail"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        detail.contains("apt cannot bypass the proxy for .corp.example,10.0.0.0/8"),
        "{detail}"
    );
    assert_eq!(
        host.state()["server_config"],
        json!({
            "core.proxy_http": "http://proxy.example.com:3128",
            "core.proxy_https": "http://proxy.example.com:3128",
            "core.proxy_ignore_hosts": "localhost,127.0.0.1,.corp.example,10.0.0.0/8",
        })
    );
    let sets: Vec<&String> = first
        .commands
        .iter()
        .filter(|c| c.starts_with("lxc config"))
        .collect();
    assert_eq!(
        sets,
        [
            "lxc config set core.proxy_http http://proxy.example.com:3128",
            "lxc config set core.proxy_https http://proxy.example.com:3128",
            "lxc config set core.proxy_ignore_hosts localhost,127.0.0.1,.corp.example,10.0.0.0/8",
        ]
    );
    assert!(!first.commands.iter().any(|c| c.starts_with("snap")), "{first}");

    let before = support::snapshot(host.root.path());
    let second = setup(&host, "lxd", &cfg, &[]);
    assert_eq!(second.code, Some(0), "{second}");
    assert_eq!(second.json()["changed"], false, "{second}");
    assert_eq!(second.status_of("apt-proxy"), "unchanged");
    assert_eq!(second.status_of("runtime-proxy"), "unchanged");
    assert!(
        second.commands.contains(&"lxc query /1.0".to_string()),
        "{second}"
    );
    assert!(
        !second.commands.iter().any(|c| c.starts_with("lxc config")),
        "{second}"
    );
    let after = support::snapshot(host.root.path());
    for (path, meta) in &before {
        if !path.ends_with("container-init.lock") {
            assert_eq!(&after[path], meta, "{path} was written by a converged run");
        }
    }
}

#[test]
fn removing_the_keys_removes_what_the_tool_set_and_nothing_an_operator_set() {
    let host = FakeHost::new(DEBIAN_12);
    // An operator's own setting, before container-init ever ran.
    host.update_state(json!({"server_config": {"core.proxy_ignore_hosts": "by-hand.example"}}));
    let cfg = config(json!({
        "http-proxy": "http://proxy.example.com:3128",
        "https-proxy": "http://proxy.example.com:3128",
    }));
    assert_eq!(setup(&host, "lxd", &cfg, &[]).code, Some(0));
    assert!(host.path(APT_FILE).exists());
    assert!(!recorded_proxy_keys(&host).is_empty(), "{}", host.read(RECORD));
    // Someone changes one of ours by hand afterwards: it is theirs now.
    let mut state = host.state();
    state["server_config"]["core.proxy_https"] = json!("http://other.example:8080");
    host.set_state(state);

    let none = config(json!({}));
    let run = setup(&host, "lxd", &none, &[]);
    assert_eq!(run.code, Some(0), "{run}");
    assert_eq!(run.status_of("apt-proxy"), "changed");
    assert_eq!(run.status_of("runtime-proxy"), "changed");
    assert!(!host.path(APT_FILE).exists(), "{run}");
    assert!(
        recorded_proxy_keys(&host).is_empty(),
        "{run}\n{}",
        host.read(RECORD)
    );
    assert_eq!(
        host.state()["server_config"],
        json!({
            "core.proxy_https": "http://other.example:8080",
            "core.proxy_ignore_hosts": "by-hand.example",
        })
    );
    assert!(
        run.commands
            .contains(&"lxc config unset core.proxy_http".to_string()),
        "{run}"
    );

    // Nothing of ours is left: the proxy steps are not even shown, and
    // nothing is asked.
    let again = setup(&host, "lxd", &none, &[]);
    assert_eq!(again.code, Some(0), "{again}");
    assert!(
        !step_names(&again).iter().any(|n| n.ends_with("-proxy")),
        "{again}"
    );
    assert!(!again.commands.contains(&"lxc query /1.0".to_string()), "{again}");
}

#[test]
fn apt_keys_override_the_general_ones_for_apt_only() {
    let host = FakeHost::new(DEBIAN_12);
    let cfg = config(json!({
        "http-proxy": "http://proxy.example.com:3128",
        "apt-http-proxy": "http://aptcache.example.com:3142",
    }));
    let run = setup(&host, "lxc", &cfg, &[]);
    assert_eq!(run.code, Some(0), "{run}");
    let apt = host.read(APT_FILE);
    assert!(
        apt.contains("Acquire::http::Proxy \"http://aptcache.example.com:3142\";"),
        "{apt}"
    );
    assert!(!apt.contains("https::Proxy"), "{apt}");
    // lxc has no daemon with proxy settings of its own.
    assert!(!step_names(&run).contains(&"runtime-proxy".to_string()), "{run}");
}

#[test]
fn ubuntu_lxd_sets_snaps_proxy_before_the_snap_install_and_converges() {
    let host = FakeHost::new(UBUNTU_24_04);
    let cfg = config(proxies());
    let run = setup(&host, "lxd", &cfg, &[]);
    assert_eq!(run.code, Some(0), "{run}");
    let snap_set = "snap set system proxy.http=http://proxy.example.com:3128 \
                    proxy.https=http://proxy.example.com:3128 \
                    proxy.no-proxy=localhost,127.0.0.1,.corp.example,10.0.0.0/8";
    let at = |c: &str| {
        run.commands
            .iter()
            .position(|x| x.starts_with(c))
            .unwrap_or_else(|| panic!("no {c}: {run}"))
    };
    assert_eq!(run.commands[at("snap get")], "snap get -d system");
    assert_eq!(run.commands[at("snap set")], snap_set);
    assert!(at("snap set") < at("snap install"), "{run}");
    assert_eq!(run.status_of("snap-proxy"), "changed");
    assert_eq!(
        host.state()["snap_config"],
        json!({
            "proxy.http": "http://proxy.example.com:3128",
            "proxy.https": "http://proxy.example.com:3128",
            "proxy.no-proxy": "localhost,127.0.0.1,.corp.example,10.0.0.0/8",
        })
    );
    assert_eq!(
        host.state()["server_config"]["core.proxy_http"],
        "http://proxy.example.com:3128"
    );

    let again = setup(&host, "lxd", &cfg, &[]);
    assert_eq!(again.code, Some(0), "{again}");
    assert_eq!(again.json()["changed"], false, "{again}");
    assert!(
        !again.commands.iter().any(|c| c.starts_with("snap set")),
        "{again}"
    );

    // An operator's snap option that the tool did not set stays.
    let mut state = host.state();
    state["snap_config"]["proxy.ftp"] = json!("http://ftp-proxy:21");
    host.set_state(state);
    let removed = setup(&host, "lxd", &config(json!({})), &[]);
    assert_eq!(removed.code, Some(0), "{removed}");
    assert!(
        removed
            .commands
            .contains(&"snap unset system proxy.http proxy.https proxy.no-proxy".to_string()),
        "{removed}"
    );
    assert_eq!(
        host.state()["snap_config"],
        json!({"proxy.ftp": "http://ftp-proxy:21"})
    );
}

#[test]
fn a_dry_run_shows_the_apt_file_and_the_lxd_commands_and_changes_nothing() {
    let host = FakeHost::new(DEBIAN_12);
    host.installed(&["lxd", "dnsmasq-base", "nftables"]);
    host.update_state(json!({"running": ["lxd"]}));
    let before = support::snapshot(host.root.path());
    let cfg = config(proxies());
    let run = setup(&host, "lxd", &cfg, &["--dry-run"]);
    assert_eq!(run.code, Some(0), "{run}");
    assert_eq!(run.status_of("apt-proxy"), "would-change");
    assert_eq!(run.status_of("runtime-proxy"), "would-change");
    let plan = run.json()["steps"].to_string();
    assert!(
        plan.contains("+Acquire::http::Proxy \\\"http://proxy.example.com:3128\\\";"),
        "{plan}"
    );
    assert!(
        plan.contains("run: lxc config set core.proxy_http http://proxy.example.com:3128"),
        "{plan}"
    );
    assert!(!run.commands.iter().any(|c| c.starts_with("lxc config")), "{run}");
    assert_eq!(support::snapshot(host.root.path()), before);
    assert_eq!(host.state().get("server_config"), None);
}

/// Values that would break out of apt's quoted string, start a comment or
/// smuggle a password: each is refused with 65 before anything runs, the
/// key is named, no password is echoed, and apt's directory is untouched.
#[test]
fn injection_and_credentials_are_refused_with_65_and_apt_conf_d_is_unchanged() {
    let hostile = [
        "http://127.0.0.1:1/\"; APT::Update::Pre-Invoke {\"touch /tmp/pwned\";}; //",
        "http://p:3128\";",
        "http://p:3128;",
        "http://p{x}",
        "http://p:3128\nAPT::Get::Assume-Yes \"true\";",
        "http://p:3128/ // comment",
        "http://p:3128/#comment",
        "http://p:3128/path",
        "http://p:3128 ",
        "ftp://p:21",
        "http://user:hunter2pw@p:3128",
        "http://hunter2pw@p:3128",
    ];
    let host = FakeHost::new(DEBIAN_12);
    host.write(
        "etc/apt/apt.conf.d/70debconf",
        "DPkg::Pre-Install-Pkgs {\"/usr/sbin/dpkg-preconfigure --apt || true\";};\n",
    );
    let before = support::files(&host.path("etc/apt"));
    for key in ["http-proxy", "https-proxy", "apt-http-proxy", "apt-https-proxy"] {
        for value in hostile {
            let cfg = config(json!({ key: value }));
            let run = host.run(&["setup", "lxc", "--manager-config", cfg.path().to_str().unwrap()]);
            assert_eq!(run.code, Some(65), "{key}={value:?}: {run}");
            assert_one_error_line(&run.stderr);
            assert!(run.stderr.contains(key), "{run}");
            assert!(
                !run.stderr.contains("hunter2pw") && !run.stdout.contains("hunter2pw"),
                "{run}"
            );
            assert!(run.commands.is_empty(), "{run}");
        }
    }
    for value in ["localhost;x", "a\"b", "a{b}", "a\nb", "#x", "*", "a//b", "a,b c"] {
        let cfg = config(json!({ "http-proxy": "http://p:3128", "no-proxy": value }));
        let run = host.run(&["setup", "lxc", "--manager-config", cfg.path().to_str().unwrap()]);
        assert_eq!(run.code, Some(65), "no-proxy={value:?}: {run}");
        assert!(run.stderr.contains("no-proxy"), "{run}");
    }
    assert_eq!(support::files(&host.path("etc/apt")), before);
    assert!(!Path::new("/tmp/pwned").exists());
}

#[test]
fn manager_config_show_prints_the_proxy_keys_as_they_are_applied() {
    let host = FakeHost::new(DEBIAN_12);
    let cfg = config(proxies());
    let run = host.run(&[
        "manager-config",
        "show",
        "lxd",
        "--manager-config",
        cfg.path().to_str().unwrap(),
    ]);
    assert_eq!(run.code, Some(0), "{run}");
    assert!(
        run.stdout
            .contains("https-proxy: http://proxy.example.com:3128\n"),
        "{run}"
    );
    assert!(
        run.stdout
            .contains("no-proxy: localhost,127.0.0.1,.corp.example,10.0.0.0/8\n"),
        "{run}"
    );
    assert!(!run.stderr.contains("not known"), "{run}");
}

fn check_host() -> FakeHost {
    let host = FakeHost::new(DEBIAN_12);
    // Capable of containers, so that only the proxy line can WARN.
    for ns in ["mnt", "uts", "ipc", "pid", "net", "user"] {
        host.write(&format!("proc/self/ns/{ns}"), "");
    }
    host.write("sys/fs/cgroup/cgroup.controllers", "cpu memory pids\n");
    host.write("sys/module/bridge/refcnt", "0\n");
    host.write("sys/module/veth/refcnt", "0\n");
    // Installed, so that check asks them.
    host.write("usr/bin/apt-config", "");
    host.write("usr/bin/lxc", "");
    host.update_state(json!({"running": ["lxd"]}));
    host
}

#[test]
fn check_warns_when_apt_and_lxd_disagree_and_passes_when_they_agree() {
    let host = check_host();
    let run = host.run(&["check", "lxd"]);
    assert!(!run.stdout.contains("proxy"), "no proxy anywhere, no line: {run}");

    host.write(APT_FILE, "Acquire::http::Proxy \"http://a.example:3128\";\n");
    host.update_state(json!({"server_config": {"core.proxy_http": "http://b.example:3128"}}));
    let run = host.run(&["check", "lxd"]);
    let line = run
        .stdout
        .lines()
        .find(|l| l.contains("proxy "))
        .unwrap_or_else(|| panic!("{run}"));
    assert!(line.starts_with("WARN  proxy"), "{line}");
    assert!(line.contains("apt http=http://a.example:3128"), "{line}");
    assert!(line.contains("LXD http=http://b.example:3128"), "{line}");
    assert_eq!(run.code, Some(0), "a WARN does not fail: {run}");

    host.update_state(json!({"server_config": {"core.proxy_http": "http://a.example:3128/"}}));
    let run = host.run(&["check", "lxd"]);
    assert!(
        run.stdout
            .contains("PASS  proxy           apt, LXD agree: http=http://a.example:3128"),
        "{run}"
    );
}

// The controller request through a proxy.

const TOKEN: &str = "pr0xy-T0KEN-never-in-clear";
const GOOD: &str = r#"{"config": {"lxc-default-mtu": "1450"}}"#;

fn token_file() -> tempfile::NamedTempFile {
    let f = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(f.path(), TOKEN).unwrap();
    f
}

fn show(controller: &str, tok: &tempfile::NamedTempFile, env: &[(&str, &str)]) -> std::process::Output {
    let root = tempfile::tempdir().unwrap();
    let mut t = support::Test::new().root(root.path()).args([
        "manager-config",
        "show",
        "lxd",
        "--timeout",
        "5",
        "--controller",
        controller,
        "--ca-cert",
        pki().ca_cert().to_str().unwrap(),
        "--token-file",
        tok.path().to_str().unwrap(),
    ]);
    for (k, v) in env {
        t = t.env(k, v);
    }
    let out = t.output();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!text.contains(TOKEN), "token in the output: {text}");
    out
}

#[test]
fn https_to_the_controller_goes_through_https_proxy_as_a_tunnel() {
    let server = Server::start(true, vec![reply(200, GOOD)]);
    let proxy = Proxy::start("{}");
    let tok = token_file();
    let out = show(&server.url(), &tok, &[("HTTPS_PROXY", &proxy.url())]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let heads = proxy.heads();
    assert_eq!(heads.len(), 1, "{heads:?}");
    assert!(
        heads[0].starts_with(&format!("CONNECT 127.0.0.1:{} ", server.port)),
        "{heads:?}"
    );
    // The token travelled inside TLS: the proxy never saw it.
    assert!(!heads[0].contains(TOKEN), "{heads:?}");
    assert!(
        server.heads()[0].contains(&format!("Bearer {TOKEN}")),
        "{:?}",
        server.heads()
    );
}

#[test]
fn no_proxy_sends_the_controller_request_direct() {
    let server = Server::start(true, vec![reply(200, GOOD)]);
    let proxy = Proxy::start("{}");
    let tok = token_file();
    let out = show(
        &server.url(),
        &tok,
        &[("https_proxy", &proxy.url()), ("NO_PROXY", "127.0.0.1")],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(proxy.heads().is_empty(), "{:?}", proxy.heads());
    assert_eq!(server.heads().len(), 1);
}

/// A token may cross plain http only to loopback; a proxy is another host,
/// so that request never goes through HTTP_PROXY.
#[test]
fn a_token_over_plain_http_to_loopback_never_goes_through_the_proxy() {
    let server = Server::start(false, vec![reply(200, GOOD)]);
    let proxy = Proxy::start(GOOD);
    let tok = token_file();
    let env = [
        ("HTTP_PROXY", proxy.url()),
        ("http_proxy", proxy.url()),
        ("ALL_PROXY", proxy.url()),
    ];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let out = show(&server.url(), &tok, &env);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(proxy.heads().is_empty(), "the proxy saw {:?}", proxy.heads());
    assert!(server.heads()[0].contains(&format!("Bearer {TOKEN}")));
}

#[test]
fn without_a_token_plain_http_uses_the_proxy_as_curl_would() {
    let server = Server::start(false, vec![reply(200, GOOD)]);
    let proxy = Proxy::start(GOOD);
    let root = tempfile::tempdir().unwrap();
    let out = support::Test::new()
        .root(root.path())
        .args([
            "manager-config",
            "show",
            "lxd",
            "--timeout",
            "5",
            "--controller",
            &server.url(),
        ])
        .env("HTTP_PROXY", proxy.url())
        .output();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let heads = proxy.heads();
    assert_eq!(heads.len(), 1, "{heads:?}");
    assert!(
        heads[0].starts_with(&format!(
            "GET http://127.0.0.1:{}/v1/container-manager-config/lxd ",
            server.port
        )),
        "{heads:?}"
    );
    assert!(server.heads().is_empty());
}
