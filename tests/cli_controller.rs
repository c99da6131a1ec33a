//! `manager-config show` against a real HTTPS server on 127.0.0.1, with a CA
//! made for the test. Every run is at `-vv` and checks that the token shows up
//! nowhere on stdout or stderr.

#![allow(clippy::disallowed_methods, clippy::disallowed_types)] // tests build and inspect fake hosts directly

mod support;

use std::time::{Duration, Instant};

use support::https::{Reply, Server, json, pki};
use support::*;

const TOKEN: &str = "s3cret-T0KEN-do-not-print";
const GOOD: &str =
    r#"{"config": {"lxc-default-mtu": "1450", "ip-forwarding": "true", "name": "juju-x", "zz-new": "kept"}}"#;

fn token_file() -> tempfile::NamedTempFile {
    let f = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(f.path(), format!("{TOKEN}\n")).unwrap();
    f
}

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    took: Duration,
}

/// Run `manager-config show lxd` at -vv with `args`, asserting the token is
/// not printed whatever happens.
fn show(args: &[&str], env: &[(&str, &str)]) -> Run {
    let root = tempfile::tempdir().unwrap();
    let mut cmd = Test::new()
        .root(root.path())
        .args(["-vv", "manager-config", "show", "lxd"])
        .args(args);
    for (k, v) in env {
        cmd = cmd.env(k, v);
    }
    let started = Instant::now();
    let out = cmd.output();
    let run = Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        took: started.elapsed(),
    };
    assert!(!run.stdout.contains(TOKEN), "token on stdout: {}", run.stdout);
    assert!(!run.stderr.contains(TOKEN), "token on stderr: {}", run.stderr);
    if run.code != Some(0) {
        assert_one_error_line(&run.stderr);
    }
    run
}

fn with_ca(server: &Server, tok: &tempfile::NamedTempFile) -> Vec<String> {
    vec![
        "--controller".into(),
        server.url(),
        "--ca-cert".into(),
        pki().ca_cert().display().to_string(),
        "--token-file".into(),
        tok.path().display().to_string(),
    ]
}

fn args(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

#[test]
fn success_with_the_ca_prints_sorted_yaml_and_sends_the_token() {
    let server = Server::start(true, vec![json(200, GOOD)]);
    let tok = token_file();
    let mut a = with_ca(&server, &tok);
    a.extend(["--machine".into(), "4".into()]);
    let run = show(&args(&a), &[]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(
        run.stdout,
        "ip-forwarding: 'true'\nlxc-default-mtu: '1450'\nname: juju-x\nzz-new: kept\n"
    );
    assert!(
        run.stderr
            .contains("1 key(s) this version of container-init does not know (\"zz-new\")"),
        "{}",
        run.stderr
    );
    let heads = server.heads();
    assert_eq!(heads.len(), 1);
    let head = heads[0].to_ascii_lowercase();
    assert!(
        head.starts_with("get /v1/container-manager-config/lxd?machine=4 http/1.1\r\n"),
        "{head}"
    );
    assert!(head.contains("accept: application/json\r\n"), "{head}");
    assert!(
        heads[0].contains(&format!("authorization: Bearer {TOKEN}\r\n")),
        "{}",
        heads[0]
    );
}

#[test]
fn json_format_and_namespace_override() {
    let server = Server::start(true, vec![json(200, GOOD)]);
    let tok = token_file();
    let mut a = with_ca(&server, &tok);
    a.extend([
        "--format".into(),
        "json".into(),
        "--namespace".into(),
        "mine".into(),
    ]);
    let run = show(&args(&a), &[]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(doc["name"], "mine");
    assert_eq!(doc["lxc-default-mtu"], "1450");
}

#[test]
fn without_the_ca_the_certificate_is_not_trusted() {
    let server = Server::start(true, vec![json(200, GOOD)]);
    let tok = token_file();
    let url = server.url();
    let tf = tok.path().display().to_string();
    let run = show(&["--controller", &url, "--token-file", &tf], &[]);
    assert_eq!(run.code, Some(78), "{}", run.stderr);
    assert!(run.stderr.contains("was not trusted"), "{}", run.stderr);
    assert!(run.stderr.contains("--ca-cert"), "{}", run.stderr);
    let other = pki().other_ca_cert().display().to_string();
    let run = show(
        &["--controller", &url, "--token-file", &tf, "--ca-cert", &other],
        &[],
    );
    assert_eq!(run.code, Some(78), "{}", run.stderr);
    assert!(
        server.heads().is_empty(),
        "a request went out over an untrusted connection"
    );
}

#[test]
fn no_token_no_authorization_header() {
    let server = Server::start(true, vec![json(200, GOOD)]);
    let ca = pki().ca_cert().display().to_string();
    let run = show(&["--controller", &server.url(), "--ca-cert", &ca], &[]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(!server.heads()[0].to_ascii_lowercase().contains("authorization"));
}

fn failing(status: u16, body: &str) -> (Run, usize) {
    let server = Server::start(true, vec![json(status, body)]);
    let tok = token_file();
    let mut a = with_ca(&server, &tok);
    a.extend(["--timeout".into(), "2".into()]);
    let run = show(&args(&a), &[]);
    (run, server.heads().len())
}

#[test]
fn refusals_are_77_at_once() {
    for status in [401, 403] {
        let (run, requests) = failing(status, &format!(r#"{{"error": "bad token {TOKEN}"}}"#));
        assert_eq!(run.code, Some(77), "{status}: {}", run.stderr);
        assert_eq!(requests, 1, "{status} was retried");
        assert!(run.stderr.contains("check the token"), "{}", run.stderr);
        assert!(run.stderr.contains("bad token <redacted>"), "{}", run.stderr);
    }
}

#[test]
fn not_found_is_76_with_the_servers_message() {
    let (run, requests) = failing(404, r#"{"error": "no such machine \"4\""}"#);
    assert_eq!(run.code, Some(76), "{}", run.stderr);
    assert_eq!(requests, 1);
    assert!(
        run.stderr.contains("404 Not Found: no such machine \"4\""),
        "{}",
        run.stderr
    );
    let (run, _) = failing(400, "bad request, friend");
    assert_eq!(run.code, Some(76), "{}", run.stderr);
    assert!(run.stderr.contains("bad request, friend"), "{}", run.stderr);
}

#[test]
fn server_errors_and_429_are_retried_until_the_budget_then_75() {
    for status in [500, 503, 429] {
        let (run, requests) = failing(status, "busy");
        assert_eq!(run.code, Some(75), "{status}: {}", run.stderr);
        assert!(requests >= 2, "{status}: only {requests} request(s)");
        assert!(run.took < Duration::from_secs(6), "{status} took {:?}", run.took);
        assert!(run.stderr.contains("raise --timeout"), "{}", run.stderr);
    }
}

#[test]
fn a_500_then_a_200_succeeds() {
    for first in [
        json(500, "oops"),
        json(429, "slow down"),
        Reply::With(502, vec![], vec![]),
    ] {
        let server = Server::start(true, vec![first, json(200, GOOD)]);
        let tok = token_file();
        let run = show(&args(&with_ca(&server, &tok)), &[]);
        assert_eq!(run.code, Some(0), "{}", run.stderr);
        assert_eq!(server.heads().len(), 2);
        assert!(run.stderr.contains("trying again"), "{}", run.stderr);
    }
}

#[test]
fn bodies_that_are_not_a_manager_config_are_76() {
    let big = format!(r#"{{"config": {{"a": "{}"}}}}"#, "x".repeat(2 * 1024 * 1024));
    for body in [
        "<html><body>Welcome to nginx</body></html>",
        r#"{"config": {"lxc-default-mtu": "15"#,
        r#"{"config": {"lxc-default-mtu": 1500}}"#,
        r#"{"settings": {}}"#,
        big.as_str(),
    ] {
        let (run, requests) = failing(200, body);
        assert_eq!(
            run.code,
            Some(76),
            "{}: {}",
            &body[..body.len().min(60)],
            run.stderr
        );
        assert_eq!(requests, 1);
        assert!(
            run.stderr.contains("manager config") || run.stderr.contains("1 MiB"),
            "{}",
            run.stderr
        );
    }
}

#[test]
fn an_invalid_value_from_the_controller_is_65() {
    let (run, _) = failing(200, r#"{"config": {"lxc-default-mtu": "9999"}}"#);
    assert_eq!(run.code, Some(65), "{}", run.stderr);
    assert!(run.stderr.contains("lxc-default-mtu=\"9999\""), "{}", run.stderr);
}

#[test]
fn a_server_that_never_answers_is_bounded_by_the_budget() {
    let server = Server::start(true, vec![Reply::Hang]);
    let tok = token_file();
    let mut a = with_ca(&server, &tok);
    a.extend(["--timeout".into(), "2".into()]);
    let run = show(&args(&a), &[]);
    assert_eq!(run.code, Some(75), "{}", run.stderr);
    assert!(
        run.took >= Duration::from_secs(2),
        "gave up early: {:?}",
        run.took
    );
    assert!(run.took < Duration::from_secs(6), "took {:?}", run.took);
}

#[test]
fn nothing_listening_is_75() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("https://127.0.0.1:{port}");
    let run = show(
        &["--controller", &url, "--timeout", "1"],
        &[("CONTAINER_INIT_TOKEN", TOKEN)],
    );
    assert_eq!(run.code, Some(75), "{}", run.stderr);
    assert!(run.stderr.contains("could not connect"), "{}", run.stderr);
}

#[test]
fn plain_http_on_loopback_with_a_token_but_never_elsewhere() {
    let server = Server::start(false, vec![json(200, GOOD)]);
    let run = show(
        &["--controller", &server.url()],
        &[("CONTAINER_INIT_TOKEN", TOKEN)],
    );
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(server.heads()[0].contains("authorization: Bearer"));
    // 192.0.2.0/24 is TEST-NET-1: nothing is sent, the URL is refused first.
    let run = show(
        &["--controller", "http://192.0.2.1:17070"],
        &[("CONTAINER_INIT_TOKEN", TOKEN)],
    );
    assert_eq!(run.code, Some(78), "{}", run.stderr);
    assert!(run.stderr.contains("never sent in clear text"), "{}", run.stderr);
}

#[test]
fn settings_come_from_the_config_file_and_the_environment() {
    let server = Server::start(true, vec![json(200, GOOD)]);
    let tok = token_file();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.yaml");
    std::fs::write(
        &config,
        format!(
            "controller:\n  url: {}\n  token-file: {}\n  ca-cert: {}\nmachine: 7\nnamespace: from-file\n",
            server.url(),
            tok.path().display(),
            pki().ca_cert().display()
        ),
    )
    .unwrap();
    let cfg = config.display().to_string();
    let run = show(&["--config", &cfg], &[]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(run.stdout.contains("name: from-file"), "{}", run.stdout);
    assert!(server.heads()[0].contains("?machine=7 "), "{}", server.heads()[0]);

    // The environment beats the file, the flag beats the environment.
    let run = show(
        &[],
        &[("CONTAINER_INIT_CONFIG", &cfg), ("CONTAINER_INIT_MACHINE", "8")],
    );
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(server.heads()[1].contains("?machine=8 "), "{}", server.heads()[1]);
    let run = show(
        &["--machine", "9"],
        &[("CONTAINER_INIT_CONFIG", &cfg), ("CONTAINER_INIT_MACHINE", "8")],
    );
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(server.heads()[2].contains("?machine=9 "), "{}", server.heads()[2]);

    // The default config file is read under --root.
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("etc/container-init")).unwrap();
    std::fs::copy(&config, root.path().join("etc/container-init/config.yaml")).unwrap();
    let out = Test::new()
        .root(root.path())
        .args(["manager-config", "show", "lxd"])
        .output();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(server.heads().len(), 4);
}

#[test]
fn an_invalid_config_file_is_78_naming_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("bad.yaml");
    std::fs::write(
        &config,
        "controller:\n  url: https://x\nmachine: 4\nsurprise: true\n",
    )
    .unwrap();
    let cfg = config.display().to_string();
    let run = show(&["--config", &cfg], &[]);
    assert_eq!(run.code, Some(78), "{}", run.stderr);
    assert!(
        run.stderr.contains(&cfg) && run.stderr.contains("line 4"),
        "{}",
        run.stderr
    );
    let run = show(&["--config", "/nonexistent/config.yaml"], &[]);
    assert_eq!(run.code, Some(78), "{}", run.stderr);
    assert!(run.stderr.contains("/nonexistent/config.yaml"), "{}", run.stderr);
}

#[test]
fn without_a_controller_the_defaults_are_shown_and_said_to_be() {
    let run = show(&[], &[]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(run.stdout.contains("built-in defaults"), "{}", run.stdout);
    assert!(run.stdout.contains("ip-forwarding: 'false'"), "{}", run.stdout);
    assert!(
        run.stderr.contains("note: no controller is configured"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_local_manager_config_file_or_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("mc.yaml");
    std::fs::write(&file, "lxc-default-mtu: 1400\nenable-nat: false\n").unwrap();
    let f = file.display().to_string();
    let run = show(&["--manager-config", &f], &[]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(run.stdout.contains("enable-nat: 'false'\n"), "{}", run.stdout);
    let out = Test::new()
        .args(["manager-config", "show", "kvm", "--manager-config", "-"])
        .stdin("ip-forwarding: maybe\n")
        .output();
    assert_eq!(out.status.code(), Some(65));
    assert!(String::from_utf8_lossy(&out.stderr).contains("ip-forwarding=\"maybe\""));
}

#[test]
fn trace_logging_of_every_crate_does_not_leak_the_token() {
    let server = Server::start(true, vec![json(500, "x"), json(200, GOOD)]);
    let tok = token_file();
    let run = show(&args(&with_ca(&server, &tok)), &[("RUST_LOG", "trace")]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(
        run.stderr.lines().count() > 10,
        "trace logging produced nothing: {}",
        run.stderr
    );
}

#[test]
fn a_token_echoed_after_4080_spaces_is_not_printed_even_in_part() {
    let echo = format!("{}Authorization: Bearer {TOKEN}", " ".repeat(4080));
    let (run, _) = failing(401, &echo);
    assert_eq!(run.code, Some(77), "{}", run.stderr);
    assert!(!run.stderr.contains(&TOKEN[..6]), "{}", run.stderr);
    assert!(run.stderr.contains("Bearer <redacted>"), "{}", run.stderr);
}

#[test]
fn a_body_that_stops_mid_way_is_retried_then_75() {
    let server = Server::start(
        true,
        vec![Reply::CutShort(200, br#"{"config": {"name": "#.to_vec())],
    );
    let tok = token_file();
    let mut a = with_ca(&server, &tok);
    a.extend(["--timeout".into(), "2".into()]);
    let run = show(&args(&a), &[]);
    assert_eq!(run.code, Some(75), "{}", run.stderr);
    assert!(server.heads().len() >= 2, "not retried: {}", run.stderr);
    assert!(run.stderr.contains("stopped before its end"), "{}", run.stderr);
}

/// `manager-config show` against `url`, signalled once it has tried and
/// failed (or started) the first request.
fn signalled_while_fetching(url: &str, signal: i32) -> (Option<i32>, String, String, Duration) {
    let root = tempfile::tempdir().unwrap();
    let child = std::process::Command::new(assert_cmd::cargo::cargo_bin("container-init"))
        .arg("--root")
        .arg(root.path())
        .args([
            "-v",
            "--output",
            "json",
            "manager-config",
            "show",
            "lxd",
            "--timeout",
            "20",
        ])
        .args(["--controller", url])
        .args(["--ca-cert", &pki().ca_cert().display().to_string()])
        .env("CONTAINER_INIT_TOKEN", TOKEN)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(1));
    let sent = Instant::now();
    let status = std::process::Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        sent.elapsed(),
    )
}

#[test]
fn sigint_during_the_retries_and_sigterm_during_a_request_stop_the_fetch() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (code, stdout, stderr, took) = signalled_while_fetching(&format!("https://127.0.0.1:{port}"), 2);
    assert_eq!(code, Some(130), "{stderr}");
    assert!(
        took < Duration::from_secs(5),
        "took {took:?} after SIGINT: {stderr}"
    );
    assert_one_error_line(&stderr);
    let doc: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(doc["exit_code"], 130);

    let server = Server::start(true, vec![Reply::Hang]);
    let (code, _, stderr, took) = signalled_while_fetching(&server.url(), 15);
    assert_eq!(code, Some(143), "{stderr}");
    assert!(
        took < Duration::from_secs(5),
        "took {took:?} after SIGTERM: {stderr}"
    );
    assert_one_error_line(&stderr);
}

/// A 429 answer with `Retry-After: 0`, the controller asking for no wait.
fn too_many_requests_now() -> Reply {
    Reply::With(
        429,
        vec![
            ("Content-Type".into(), "application/json".into()),
            ("Retry-After".into(), "0".into()),
        ],
        br#"{"error": "slow down"}"#.to_vec(),
    )
}

#[test]
fn retry_after_0_still_backs_off_and_warns_once() {
    let server = Server::start(true, vec![too_many_requests_now()]);
    let tok = token_file();
    let mut a = with_ca(&server, &tok);
    a.extend(["--timeout".into(), "3".into()]);
    let run = show(&args(&a), &[]);
    assert_eq!(run.code, Some(75), "{}", run.stderr);
    let requests = server.heads().len();
    // 0.25 s, 0.5 s, 1 s, 2 s: at most five requests fit in 3 s.
    assert!((2..=5).contains(&requests), "{requests} requests in 3 s");
    let warnings = run
        .stderr
        .lines()
        .filter(|l| l.contains("warn:") && l.contains("trying again"))
        .count();
    assert_eq!(warnings, 1, "{}", run.stderr);
    assert!(
        run.stderr.len() < 8 * 1024,
        "{} bytes of stderr",
        run.stderr.len()
    );
}

#[test]
fn retries_stop_after_a_bounded_number_of_attempts() {
    // Plain HTTP on loopback, without a token: each answer comes at once, so
    // only the cap ends the run long before --timeout.
    let server = Server::start(false, vec![too_many_requests_now()]);
    let run = show(&["--controller", &server.url(), "--timeout", "120"], &[]);
    assert_eq!(run.code, Some(75), "{}", run.stderr);
    assert_eq!(server.heads().len(), 10, "{}", run.stderr);
    assert!(run.stderr.contains("(10 attempts)"), "{}", run.stderr);
    assert!(run.took < Duration::from_secs(60), "{:?}", run.took);
}

#[test]
fn a_token_echoed_across_lines_is_not_printed_in_part() {
    let (head, tail) = TOKEN.split_at(10);
    for body in [
        // Valid JSON: the line break is escaped in the string.
        format!(r#"{{"error": "bad token {head}\n  {tail} for machine 4"}}"#),
        // Not JSON: a raw line break and an indent.
        format!("bad token {head}\n  {tail} for machine 4"),
        format!("bad token {head}\r\n\t{tail}"),
    ] {
        let (run, _) = failing(401, &body);
        assert_eq!(run.code, Some(77), "{}", run.stderr);
        assert!(!run.stderr.contains(head), "{}", run.stderr);
        assert!(!run.stderr.contains(tail), "{}", run.stderr);
        assert!(run.stderr.contains("<redacted>"), "{}", run.stderr);
    }
}

#[test]
fn a_ca_file_with_a_byte_order_mark_is_read() {
    let server = Server::start(true, vec![json(200, GOOD)]);
    let tok = token_file();
    let pem = std::fs::read(pki().ca_cert()).unwrap();
    let ca = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(ca.path(), [b"\xEF\xBB\xBF".as_slice(), &pem].concat()).unwrap();
    let run = show(
        &[
            "--controller",
            &server.url(),
            "--ca-cert",
            ca.path().to_str().unwrap(),
            "--token-file",
            tok.path().to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(run.code, Some(0), "{}", run.stderr);
}
