//! Hostile input and impatient operators (issue 10): oversized and nested
//! inputs, symlinks out of `--root`, kills during writes, the JSON document
//! on every failure, and commands that run together. Runs that could hang
//! (before these fixes some did) or that are signalled are spawned with a
//! guard; the others use the `Test` builder.

#![allow(clippy::disallowed_methods)] // tests build and inspect roots directly

mod support;

use std::io::Write;
use std::os::unix::fs::symlink;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use support::*;

/// Longer than any of these runs takes when it works; past it the run is
/// killed and the test fails, instead of hanging the suite.
const HANG: Duration = Duration::from_secs(30);

fn tool() -> Command {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("container-init"));
    for var in [
        "CONTAINER_INIT_ROOT",
        "CONTAINER_INIT_CONFIG",
        "RUST_LOG",
        "CONTAINER_INIT_TOKEN",
    ] {
        cmd.env_remove(var);
    }
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// Wait for `child`, killing it (and failing) should it outlast [`HANG`].
fn finish(mut child: Child, what: &str) -> Output {
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > HANG {
            child.kill().unwrap();
            panic!("{what} still ran after {HANG:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    child.wait_with_output().unwrap()
}

fn run(cmd: &mut Command, what: &str) -> Output {
    finish(cmd.spawn().unwrap(), what)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn json_of(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not one JSON document ({e}): {}", text(&out.stdout)))
}

/// `manager-config show lxd --manager-config <path>` under an empty root.
fn show_local(path: &Path, extra: &[&str]) -> Output {
    let root = tempfile::tempdir().unwrap();
    run(
        tool()
            .arg("--root")
            .arg(root.path())
            .args(extra)
            .args(["manager-config", "show", "lxd", "--manager-config"])
            .arg(path),
        &format!("manager-config show with {}", path.display()),
    )
}

#[test]
fn nested_yaml_is_refused_at_once_as_65() {
    let dir = tempfile::tempdir().unwrap();
    for (name, doc) in [
        ("flow", format!("name: {}", "[".repeat(1024 * 1024 - 16))),
        (
            "closed",
            format!("name: {}{}\n", "[".repeat(100_000), "]".repeat(100_000)),
        ),
        ("block", format!("name:\n{}x\n", "- ".repeat(500_000))),
        ("json", format!("{{\"config\": {}", "{\"a\": ".repeat(150_000))),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, doc).unwrap();
        let out = show_local(&path, &["--output", "json"]);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(65), "{name}: {stderr}");
        assert_one_error_line(&stderr);
        assert!(
            stderr.contains(": line ") && stderr.contains("nested deeper") || stderr.contains("a list"),
            "{name}: {stderr}"
        );
        assert_eq!(json_of(&out)["exit_code"], 65);
    }
}

#[test]
fn inputs_past_1_mib_are_refused_in_bounded_memory() {
    let zero = Path::new("/dev/zero");
    let out = show_local(zero, &[]);
    assert_eq!(out.status.code(), Some(65), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("larger than 1 MiB"),
        "{}",
        text(&out.stderr)
    );

    // stdin: 2 MiB of a flat mapping.
    let root = tempfile::tempdir().unwrap();
    let mut child = tool()
        .arg("--root")
        .arg(root.path())
        .args(["manager-config", "show", "lxd", "--manager-config", "-"])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let feeder = std::thread::spawn(move || {
        let line = b"some-key-of-many: some value\n";
        for _ in 0..(2 * 1024 * 1024 / line.len()) {
            if stdin.write_all(line).is_err() {
                break;
            }
        }
    });
    let out = finish(child, "manager-config show -");
    feeder.join().unwrap();
    assert_eq!(out.status.code(), Some(65), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("larger than 1 MiB"),
        "{}",
        text(&out.stderr)
    );

    // The token, the CA and the config file: the tool's own settings, 78.
    for flags in [
        vec!["--controller", "https://127.0.0.1:9", "--token-file", "/dev/zero"],
        vec!["--controller", "https://127.0.0.1:9", "--ca-cert", "/dev/zero"],
    ] {
        let out = run(
            tool()
                .arg("--root")
                .arg(root.path())
                .args(["manager-config", "show", "lxd"])
                .args(&flags),
            &format!("{flags:?}"),
        );
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(78), "{flags:?}: {stderr}");
        assert!(stderr.contains("larger than 1 MiB"), "{flags:?}: {stderr}");
    }
    let out = run(
        tool().arg("--root").arg(root.path()).args([
            "--config",
            "/dev/zero",
            "manager-config",
            "show",
            "lxd",
        ]),
        "--config /dev/zero",
    );
    assert_eq!(out.status.code(), Some(78), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("larger than 1 MiB"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn an_error_quotes_at_most_200_characters_of_a_value() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big-name");
    std::fs::write(&path, format!("name: {}\n", "x".repeat(900 * 1024))).unwrap();
    let out = show_local(&path, &["--output", "json"]);
    let stderr = text(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(65),
        "{}",
        &stderr[..stderr.len().min(300)]
    );
    assert!(stderr.len() < 1000, "{} bytes of stderr", stderr.len());
    assert!(
        stderr.contains(&format!("{}\"... (", "x".repeat(200))),
        "{stderr}"
    );
    let error = json_of(&out)["error"].as_str().unwrap().to_string();
    assert!(error.len() < 1000, "{} bytes of JSON error", error.len());
}

/// A root with `proc/sys` knobs, and `link` (relative to it) a symlink to `target`.
fn root_with_link(link: &str, target: &Path) -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    for knob in [
        "proc/sys/net/ipv4/ip_forward",
        "proc/sys/net/ipv4/conf/all/proxy_arp",
    ] {
        std::fs::create_dir_all(root.path().join(knob).parent().unwrap()).unwrap();
        std::fs::write(root.path().join(knob), "0\n").unwrap();
    }
    let link = root.path().join(link);
    std::fs::create_dir_all(link.parent().unwrap()).unwrap();
    symlink(target, link).unwrap();
    root
}

#[test]
fn root_confines_symlinks_for_reads_and_writes() {
    let outside = tempfile::tempdir().unwrap();
    let inside = |root: &Path, path: &str| root.join(outside.path().strip_prefix("/").unwrap()).join(path);

    // ROOT/etc/default -> /outside: lxc-net writes ROOT/outside/lxc-net.
    let root = root_with_link("etc/default", outside.path());
    Test::new()
        .root(root.path())
        .args(["lxc-net", "override"])
        .code(0);
    assert!(inside(root.path(), "lxc-net").is_file());

    // ROOT/etc -> /outside: forwarding writes ROOT/outside/sysctl.d/...
    let root = root_with_link("etc", outside.path());
    Test::new()
        .root(root.path())
        .args(["forwarding", "enable"])
        .code(0);
    assert!(inside(root.path(), "sysctl.d/60-container-init.conf").is_file());
    assert_eq!(
        std::fs::read_dir(outside.path()).unwrap().count(),
        0,
        "something was written outside the root"
    );

    // Reads too: a link out of the root shows what is inside it.
    std::fs::write(outside.path().join("lxc-net"), "LXC_BRIDGE=\"outside0\"\n").unwrap();
    let root = root_with_link("etc/default", outside.path());
    let out = Test::new().root(root.path()).args(["lxc-net", "show"]).output();
    assert!(!text(&out.stdout).contains("outside0"), "{}", text(&out.stdout));
    std::fs::remove_file(outside.path().join("lxc-net")).unwrap();

    // A relative link inside the root still works.
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("srv/default")).unwrap();
    std::fs::create_dir_all(root.path().join("etc")).unwrap();
    symlink("../srv/default", root.path().join("etc/default")).unwrap();
    Test::new()
        .root(root.path())
        .args(["lxc-net", "override"])
        .code(0);
    assert!(root.path().join("srv/default/lxc-net").is_file());
}

#[test]
fn the_largest_lock_timeout_does_not_panic_and_prints_json() {
    let root = tempfile::tempdir().unwrap();
    for mode in [&["--check"][..], &[]] {
        let out = run(
            tool()
                .arg("--root")
                .arg(root.path())
                .args(mode)
                .args([
                    "--output",
                    "json",
                    "setup",
                    "lxc",
                    "--lock-timeout",
                    "18446744073709551615",
                ])
                // No os-release under the root: the run stops at the packages
                // step, before anything is installed.
                .args(["--manager-config", "/dev/null"]),
            "setup --lock-timeout max",
        );
        let stderr = text(&out.stderr);
        assert_ne!(out.status.code(), Some(70), "{stderr}");
        let doc = json_of(&out);
        assert_eq!(Some(doc["exit_code"].as_i64().unwrap() as i32), out.status.code());
        assert!(!stderr.contains("panic"), "{stderr}");
    }
}

#[test]
fn every_failure_prints_one_json_document() {
    for (args, code) in [
        (
            vec!["--root", "/does/not/exist", "--output", "json", "lxc-net", "show"],
            64,
        ),
        (vec!["--output", "json", "setup", "nope"], 64),
        (vec!["--output=json", "forwarding", "sideways"], 64),
        (vec!["--output", "json", "--no-such-flag", "lxc-net", "show"], 64),
        (vec!["--output", "json"], 64),
    ] {
        let out = Test::new().args(&args).code(code);
        let doc: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
        assert_eq!(doc["exit_code"], code, "{args:?}");
        assert_eq!(doc["ok"], false, "{args:?}");
        assert!(
            doc["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{args:?}: {doc}"
        );
    }
    // Without --output json, stdout stays empty for a usage error.
    let out = Test::new().args(["setup", "nope"]).code(64);
    assert!(out.get_output().stdout.is_empty());
}

/// Leftovers of interrupted writes anywhere below `root`.
fn temp_leftovers(root: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let entry = entry.unwrap();
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with(".atomicwrite")
                || (name.contains(".container-init-") && name.ends_with(".tmp"))
            {
                found.push(entry.path().display().to_string());
            }
            if entry.file_type().unwrap().is_dir() {
                stack.push(entry.path());
            }
        }
    }
    found
}

#[test]
fn kills_during_writes_leave_no_temporary_files() {
    let root = root_with_link("unused", Path::new("/nonexistent"));
    let commands: [&[&str]; 4] = [
        &["lxc-net", "override", "--bridge", "kill0"],
        &["forwarding", "enable"],
        &["lxc-net", "override", "--bridge", "kill1"],
        &["forwarding", "disable"],
    ];
    // How long a run takes here, so that the kills land all over it.
    let started = Instant::now();
    for args in commands {
        let out = run(tool().arg("--root").arg(root.path()).args(args), "a timing run");
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    }
    let span = (started.elapsed() / 4).as_micros().max(1000) as u64;
    let mut killed = 0;
    for i in 0..120u64 {
        let args = commands[(i % 4) as usize];
        let child = tool().arg("--root").arg(root.path()).args(args).spawn().unwrap();
        std::thread::sleep(Duration::from_micros(i * 7919 % span));
        let signal = if i % 3 == 0 { 15 } else { 9 };
        let _ = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(child.id().to_string())
            .status();
        let out = finish(child, "a killed run");
        if out.status.signal() == Some(9) {
            killed += 1;
        }
        if out.status.code() == Some(143) {
            assert_one_error_line(&text(&out.stderr));
        }
    }
    assert!(killed > 0, "no run was killed mid-way");
    // The next runs that write in those directories sweep what is left.
    for args in commands {
        let out = run(tool().arg("--root").arg(root.path()).args(args), "a final run");
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    }
    assert_eq!(temp_leftovers(root.path()), Vec::<String>::new());
    for knob in [
        "proc/sys/net/ipv4/ip_forward",
        "proc/sys/net/ipv4/conf/all/proxy_arp",
    ] {
        assert_eq!(
            std::fs::read_to_string(root.path().join(knob)).unwrap(),
            "0\n",
            "{knob}"
        );
    }
}

/// Hold the host lock under `root` with flock(1) until the child is killed.
fn hold_host_lock(root: &Path) -> Child {
    let lock = root.join("run/lock/container-init.lock");
    std::fs::create_dir_all(lock.parent().unwrap()).unwrap();
    let holder = Command::new("flock")
        .arg(&lock)
        .args(["sleep", "60"])
        .spawn()
        .unwrap();
    let started = Instant::now();
    while Command::new("flock")
        .arg("-n")
        .arg(&lock)
        .arg("true")
        .status()
        .unwrap()
        .success()
    {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "flock never took the lock"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    holder
}

#[test]
fn forwarding_and_lxc_net_wait_for_the_host_lock_and_stop_on_a_signal() {
    for (args, signal, code) in [
        (&["forwarding", "enable"][..], 15, 143),
        (&["forwarding", "disable"][..], 2, 130),
        (&["lxc-net", "override"][..], 15, 143),
    ] {
        let root = root_with_link("unused", Path::new("/nonexistent"));
        // `disable` needs something to disable.
        for knob in [
            "proc/sys/net/ipv4/ip_forward",
            "proc/sys/net/ipv4/conf/all/proxy_arp",
        ] {
            std::fs::write(root.path().join(knob), "1\n").unwrap();
        }
        let mut holder = hold_host_lock(root.path());
        let child = tool()
            .arg("--root")
            .arg(root.path())
            .args(["--output", "json"])
            .args(args)
            .spawn()
            .unwrap();
        // It waits for the lock rather than changing anything.
        std::thread::sleep(Duration::from_millis(1500));
        assert!(
            Path::new(&format!("/proc/{}", child.id())).exists(),
            "{args:?} did not wait for the lock"
        );
        let _ = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(child.id().to_string())
            .status();
        let out = finish(child, "a signalled run");
        holder.kill().unwrap();
        holder.wait().unwrap();
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{args:?}: {stderr}");
        assert_one_error_line(&stderr);
        assert_eq!(json_of(&out)["exit_code"], code);
        assert_eq!(temp_leftovers(root.path()), Vec::<String>::new());
        assert!(
            !root.path().join("etc").exists(),
            "{args:?} wrote without the lock"
        );
    }
}

#[test]
fn manager_config_show_quotes_what_yaml_1_1_would_not_read_as_a_string() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.yaml");
    std::fs::write(
        &path,
        "availability-zone: \"yes\"\nzz-a: \"on\"\nzz-b: \"off\"\nzz-c: \"n\"\nzz-d: \"~\"\nzz-e: \"0o17\"\nname: plain\n",
    )
    .unwrap();
    let out = show_local(&path, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "availability-zone: 'yes'\nip-forwarding: 'false'\nname: plain\nzz-a: 'on'\nzz-b: 'off'\nzz-c: 'n'\nzz-d: '~'\nzz-e: '0o17'\n"
    );
}
