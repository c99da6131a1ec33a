//! Hostile input and impatient operators (issue 10): oversized and nested
//! inputs, symlinks out of `--root`, kills during writes, the JSON document
//! on every failure, and commands that run together. Hostile hosts (issue
//! 23): FIFOs and devices where files belong, unbounded host files, lost
//! output, immutable files, reserved networks, the spelling of `/`. Runs that could hang
//! (before these fixes some did) or that are signalled are spawned with a
//! guard; the others use the `Test` builder.

#![allow(clippy::disallowed_methods, clippy::disallowed_types)] // tests build and inspect roots directly

mod support;

use std::io::Write;
use std::os::unix::fs::symlink;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use support::fake_host::{DEBIAN_12, FakeHost};
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
/// Its output is read as it comes, so that a large one cannot fill a pipe
/// and hold the child up.
fn finish(mut child: Child, what: &str) -> Output {
    fn drain(pipe: Option<impl std::io::Read + Send + 'static>) -> std::thread::JoinHandle<Vec<u8>> {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut bytes);
            }
            bytes
        })
    }
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > HANG {
            child.kill().unwrap();
            panic!("{what} still ran after {HANG:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Output {
        status: child.wait().unwrap(),
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    }
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
fn a_link_loop_under_root_is_an_error_and_never_reaches_the_host() {
    // ROOT/proc -> /proc means ROOT/proc again, a loop. Handed to the kernel
    // unresolved, it is the host's own /proc.
    let root = tempfile::tempdir().unwrap();
    symlink("/proc", root.path().join("proc")).unwrap();
    let out = Test::new()
        .root(root.path())
        .args(["forwarding", "status"])
        .output();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(71), "{}{stderr}", text(&out.stdout));
    assert!(stderr.contains("Too many levels of symbolic links"), "{stderr}");
    assert_one_error_line(&stderr);

    // A write the same way: ROOT/etc -> OUT/etc, and ROOT/OUT -> OUT, a loop
    // inside the root; the kernel would follow it to OUT/etc on this host
    // (a directory of the test, standing for the host's /etc).
    let outside = tempfile::tempdir().unwrap();
    let out_dir = outside.path();
    std::fs::create_dir(out_dir.join("etc")).unwrap();
    let root = root_with_link("etc", &out_dir.join("etc"));
    let looped = root.path().join(out_dir.strip_prefix("/").unwrap());
    std::fs::create_dir_all(looped.parent().unwrap()).unwrap();
    symlink(out_dir, &looped).unwrap();
    let out = Test::new()
        .root(root.path())
        .args(["forwarding", "enable"])
        .output();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(73), "{}{stderr}", text(&out.stdout));
    assert!(stderr.contains("Too many levels of symbolic links"), "{stderr}");
    assert_eq!(
        std::fs::read_dir(out_dir.join("etc")).unwrap().count(),
        0,
        "a write went through the loop to the host"
    );
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

/// Hold the host lock under `root` with flock(1) until the guard drops; the
/// guard kills flock and its sleep together.
fn hold_host_lock(root: &Path) -> support::child::Guarded {
    support::child::hold_flock(&root.join("run/lock/container-init.lock"), None)
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
        let holder = hold_host_lock(root.path());
        let mut child = tool()
            .arg("--root")
            .arg(root.path())
            .args(["--output", "json"])
            .args(args)
            .spawn()
            .unwrap();
        // It says it waits for the lock, rather than changing anything.
        let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
        let mut said = String::new();
        while !said.contains("waiting for") {
            let mut line = String::new();
            let read = std::io::BufRead::read_line(&mut stderr, &mut line).unwrap();
            assert!(read > 0, "{args:?} ended without waiting for the lock: {said}");
            said.push_str(&line);
        }
        assert!(child.try_wait().unwrap().is_none(), "{args:?}: {said}");
        let _ = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(child.id().to_string())
            .status();
        let out = finish(child, "a signalled run");
        drop(holder);
        let mut rest = String::new();
        std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
        let stderr = said + &rest;
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

// Hostile hosts, round two (issue 23): special files where files belong,
// unbounded host files, lost output, immutable files, reserved networks,
// the spelling of `/`, and echoes past the quote limit.

/// Make a FIFO at `path` (its directory too).
fn mkfifo(path: &Path) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let _ = std::fs::remove_file(path);
    let status = Command::new("mkfifo").arg(path).status().unwrap();
    assert!(status.success(), "mkfifo {}", path.display());
}

/// Spawn `cmd`, and insist that it ends by itself within a few seconds.
fn ends_soon(cmd: &mut Command, what: &str) -> (Output, Duration) {
    let started = Instant::now();
    let out = run(cmd, what);
    let took = started.elapsed();
    assert!(took < Duration::from_secs(10), "{what} took {took:?}");
    (out, took)
}

#[test]
fn a_fifo_where_the_host_has_a_file_is_refused_at_once_naming_it() {
    let cases: [(&str, &[&str]); 11] = [
        ("etc/sysctl.d/60-container-init.conf", &["forwarding", "enable"]),
        ("etc/default/lxc-net", &["lxc-net", "override"]),
        ("etc/default/lxc-net", &["lxc-net", "show"]),
        ("etc/default/lxc-net.orig", &["lxc-net", "restore"]),
        ("proc/sys/net/ipv4/ip_forward", &["forwarding", "status"]),
        ("etc/os-release", &["setup", "lxd"]),
        ("var/lib/dpkg/status", &["setup", "lxc", "--dry-run"]),
        (
            "etc/container-init/config.yaml",
            &["manager-config", "show", "lxd"],
        ),
        ("run/lock/container-init.lock", &["forwarding", "enable"]),
        ("proc/cpuinfo", &["check", "kvm"]),
        ("proc/net/route", &["check", "lxd"]),
    ];
    for (file, args) in cases {
        let host = FakeHost::new(DEBIAN_12);
        mkfifo(&host.path(file));
        let mut cmd = host.command(args, &[]);
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let (out, _) = ends_soon(&mut cmd, &format!("{args:?} with a FIFO at {file}"));
        let said = format!("{}{}", text(&out.stdout), text(&out.stderr));
        // `check`'s MTU line goes without the routing table (a WARN of its
        // own); what matters there is that it does not wait on the FIFO.
        if file == "proc/net/route" {
            continue;
        }
        assert!(
            said.contains("a FIFO, not a regular file"),
            "{file} {args:?}: {said}"
        );
        let name = Path::new(file).file_name().unwrap().to_str().unwrap();
        assert!(said.contains(name), "{file} {args:?}: {said}");
        if !args.contains(&"check") {
            assert_ne!(out.status.code(), Some(0), "{file} {args:?}: {said}");
            assert_one_error_line(&text(&out.stderr));
        }
    }
}

#[test]
fn a_device_or_a_huge_sparse_file_on_the_host_is_refused_in_bounded_memory() {
    // /dev/zero's device numbers, as R/etc/os-release.
    let host = FakeHost::new(DEBIAN_12);
    std::fs::remove_file(host.path("etc/os-release")).unwrap();
    let made = Command::new("mknod")
        .arg(host.path("etc/os-release"))
        .args(["c", "1", "5"])
        .status()
        .unwrap();
    if made.success() {
        let mut cmd = host.command(&["check", "lxd"], &[]);
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let (out, _) = ends_soon(&mut cmd, "check lxd with a device as os-release");
        let said = format!("{}{}", text(&out.stdout), text(&out.stderr));
        assert!(said.contains("a character device, not a regular file"), "{said}");
    } else {
        support::system::skipped("mknod is not allowed here; the device case is not run");
    }

    // A 400 MB sparse lxc-net: refused naming the file and its bound.
    let host = FakeHost::new(DEBIAN_12);
    std::fs::create_dir_all(host.path("etc/default")).unwrap();
    let file = std::fs::File::create(host.path("etc/default/lxc-net")).unwrap();
    file.set_len(400 * 1000 * 1000).unwrap();
    for args in [&["lxc-net", "override", "--dry-run"][..], &["lxc-net", "show"]] {
        let mut cmd = host.command(args, &[]);
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let (out, took) = ends_soon(&mut cmd, "a 400 MB lxc-net");
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(71), "{stderr}");
        assert!(
            stderr.contains("larger than 1 MiB, the most container-init reads of /etc/default/lxc-net"),
            "{stderr}"
        );
        assert!(out.stdout.len() < 4096, "{} bytes of stdout", out.stdout.len());
        assert!(took < Duration::from_secs(3), "{took:?}");
    }
}

#[test]
fn a_dry_runs_diff_of_a_large_foreign_file_is_cut() {
    let host = FakeHost::new(DEBIAN_12);
    let lines: String = (0..40_000).map(|i| format!("# old line {i}\n")).collect();
    assert!(lines.len() < 1024 * 1024);
    host.write("etc/default/lxc-net", &lines);
    let mut cmd = host.command(&["lxc-net", "override", "--dry-run"], &[]);
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let (out, _) = ends_soon(&mut cmd, "lxc-net override --dry-run of a large file");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.len() < 200 * 1024, "{} bytes of plan", stdout.len());
    assert!(
        stdout.contains("lines of the diff of /etc/default/lxc-net not shown"),
        "{}",
        &stdout[..2000]
    );
}

#[test]
fn dpkg_status_past_1_mib_has_its_own_bound() {
    let host = FakeHost::new(DEBIAN_12);
    let mut status = host.read("var/lib/dpkg/status");
    while status.len() < 3 * 1024 * 1024 {
        let n = status.len();
        status.push_str(&format!(
            "\nPackage: filler-{n}\nStatus: install ok installed\nVersion: 1.0\nDescription: {}\n",
            "x".repeat(200)
        ));
    }
    host.write("var/lib/dpkg/status", &status);
    let run = host.run(&["setup", "lxc", "--dry-run", "--no-install"]);
    assert!(!run.stderr.contains("larger than"), "{run}");
    assert!(!run.stderr.contains("dpkg/status"), "{run}");
}

/// `manager-config show lxd` reading `source` as `flag`, signalled after a
/// second of waiting: the FIFO has no writer.
fn signalled_while_reading(flag: &str, signal: i32) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("input");
    mkfifo(&fifo);
    let root = tempfile::tempdir().unwrap();
    let mut cmd = tool();
    cmd.arg("--root").arg(root.path()).args(["--output", "json"]);
    let rest: Vec<std::ffi::OsString> = match flag {
        "--config" => vec![
            "--config".into(),
            fifo.clone().into(),
            "manager-config".into(),
            "show".into(),
            "lxd".into(),
        ],
        "--manager-config" => vec![
            "manager-config".into(),
            "show".into(),
            "lxd".into(),
            flag.into(),
            fifo.clone().into(),
        ],
        _ => vec![
            "manager-config".into(),
            "show".into(),
            "lxd".into(),
            "--controller".into(),
            "https://127.0.0.1:9".into(),
            flag.into(),
            fifo.clone().into(),
        ],
    };
    let child = cmd.args(rest).spawn().unwrap();
    std::thread::sleep(Duration::from_millis(1000));
    assert!(
        Path::new(&format!("/proc/{}", child.id())).exists(),
        "{flag}: it did not wait for the FIFO"
    );
    let _ = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(child.id().to_string())
        .status();
    let started = Instant::now();
    let out = finish(child, "a run waiting on a FIFO");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{flag}: {:?}",
        started.elapsed()
    );
    out
}

#[test]
fn a_named_fifo_is_read_when_written_and_a_signal_ends_the_wait() {
    for (flag, signal, code) in [
        ("--manager-config", 15, 143),
        ("--config", 2, 130),
        ("--token-file", 1, 129),
        ("--ca-cert", 3, 131),
    ] {
        let out = signalled_while_reading(flag, signal);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{flag}: {stderr}");
        assert_one_error_line(&stderr);
        assert_eq!(json_of(&out)["exit_code"], code, "{flag}");
    }

    // stdin as a pipe whose writer neither writes nor closes it.
    let root = tempfile::tempdir().unwrap();
    let mut child = tool()
        .arg("--root")
        .arg(root.path())
        .args(["manager-config", "show", "lxd", "--manager-config", "-"])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    let held_open = child.stdin.take();
    std::thread::sleep(Duration::from_millis(1000));
    let _ = Command::new("kill")
        .arg("-15")
        .arg(child.id().to_string())
        .status();
    let started = Instant::now();
    let out = finish(child, "a run waiting on stdin");
    drop(held_open);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(out.status.code(), Some(143), "{}", text(&out.stderr));

    // With a writer, a FIFO is read as a pipe is.
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("config");
    mkfifo(&fifo);
    let writer = {
        let fifo = fifo.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            std::fs::write(&fifo, "lxc-default-mtu: 1450\n").unwrap();
        })
    };
    let root = tempfile::tempdir().unwrap();
    let (out, _) = ends_soon(
        tool()
            .arg("--root")
            .arg(root.path())
            .args(["manager-config", "show", "lxd", "--manager-config"])
            .arg(&fifo),
        "a FIFO with a writer",
    );
    writer.join().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("lxc-default-mtu: '1450'"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn a_byte_order_mark_is_dropped_from_yaml() {
    let dir = tempfile::tempdir().unwrap();
    let manager = dir.path().join("m.yaml");
    std::fs::write(&manager, "\u{feff}lxc-default-mtu: 1450\nip-forwarding: true\n").unwrap();
    let config = dir.path().join("c.yaml");
    std::fs::write(&config, "\u{feff}machine: \"4\"\nnamespace: ns-x\n").unwrap();
    let out = show_local(&manager, &["--config", config.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("lxc-default-mtu: '1450'") && stdout.contains("name: ns-x"),
        "{stdout}"
    );
}

/// `/dev/full` for a standard stream.
fn full() -> Stdio {
    Stdio::from(std::fs::OpenOptions::new().write(true).open("/dev/full").unwrap())
}

#[test]
fn a_report_that_cannot_reach_stdout_is_74_and_a_closed_pipe_is_quiet() {
    let root = root_with_link("unused", Path::new("/nonexistent"));
    let dir = tempfile::tempdir().unwrap();
    let manager = dir.path().join("m.yaml");
    std::fs::write(&manager, "lxc-default-mtu: 1450\n").unwrap();
    let manager = manager.to_str().unwrap();
    let cases: [&[&str]; 6] = [
        &["--output", "json", "forwarding", "status"],
        &["forwarding", "enable", "--no-persist"],
        &["manager-config", "show", "lxd", "--manager-config", manager],
        &["--version"],
        &["completions", "bash"],
        &["man"],
    ];
    for args in cases {
        let out = run(
            tool().arg("--root").arg(root.path()).args(args).stdout(full()),
            "stdout on /dev/full",
        );
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(74), "{args:?}: {stderr}");
        assert_one_error_line(&stderr);
        assert!(stderr.contains("stdout"), "{args:?}: {stderr}");
        assert!(!stderr.contains("panic"), "{args:?}: {stderr}");

        // A stdout the caller closed (`>&-`).
        let mut closed = Command::new("sh");
        closed
            .args(["-c", "exec \"$@\" >&-", "sh"])
            .arg(assert_cmd::cargo::cargo_bin("container-init"))
            .arg("--root")
            .arg(root.path())
            .args(args)
            .env_remove("CONTAINER_INIT_ROOT")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let out = run(&mut closed, "stdout closed");
        assert_eq!(out.status.code(), Some(74), "{args:?} >&-: {}", text(&out.stderr));

        // A caller's own /dev/null, opened read-write as Python's
        // subprocess.DEVNULL opens it, is a choice and no error.
        let null = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/null")
            .unwrap();
        let out = run(
            tool().arg("--root").arg(root.path()).args(args).stdout(null),
            "stdout on /dev/null",
        );
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?} >/dev/null: {}",
            text(&out.stderr)
        );

        // A reader that went away (`| head`): quiet, and the job's status.
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let out = run(
            tool().arg("--root").arg(root.path()).args(args).stdout(writer),
            "a closed pipe",
        );
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?} | head: {}",
            text(&out.stderr)
        );
        assert!(
            !text(&out.stderr).contains("error"),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
}

#[test]
fn a_full_stderr_keeps_the_documented_code() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yaml");
    std::fs::write(&bad, "lxc-default-mtu: 12\n").unwrap();
    let root = tempfile::tempdir().unwrap();
    let out = run(
        tool()
            .arg("--root")
            .arg(root.path())
            .args(["manager-config", "show", "lxd", "--manager-config"])
            .arg(&bad)
            .stderr(full()),
        "stderr on /dev/full",
    );
    assert_eq!(out.status.code(), Some(65));
    // Both full: stdout's failure is the one to report, and nothing panics.
    let good = dir.path().join("good.yaml");
    std::fs::write(&good, "lxc-default-mtu: 1450\n").unwrap();
    let out = run(
        tool()
            .arg("--root")
            .arg(root.path())
            .args(["-v", "manager-config", "show", "lxd", "--manager-config"])
            .arg(&good)
            .stdout(full())
            .stderr(full()),
        "both on /dev/full",
    );
    assert_eq!(out.status.code(), Some(74));
    // A usage error too.
    let out = run(tool().args(["setup", "nope"]).stderr(full()), "a usage error");
    assert_eq!(out.status.code(), Some(64));
}

/// `chattr` on a path, `true` when it worked.
fn chattr(flag: &str, path: &Path) -> bool {
    Command::new("chattr")
        .arg(flag)
        .arg(path)
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

#[test]
fn an_immutable_or_append_only_file_is_73_for_root() {
    // SAFETY: geteuid(2) cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        support::system::skipped("not root; chattr +i/+a cannot be tried");
        return;
    }
    for flag in ["+i", "+a"] {
        let root = root_with_link("unused", Path::new("/nonexistent"));
        let lxc_net = root.path().join("etc/default/lxc-net");
        std::fs::create_dir_all(lxc_net.parent().unwrap()).unwrap();
        std::fs::write(&lxc_net, "USE_LXC_BRIDGE=\"false\"\n").unwrap();
        std::fs::write(
            root.path().join("etc/default/lxc-net.orig"),
            "USE_LXC_BRIDGE=\"false\"\n",
        )
        .unwrap();
        if !chattr(flag, &lxc_net) {
            support::system::skipped(&format!("chattr {flag} is not supported on this file system"));
            return;
        }
        let out = run(
            tool()
                .arg("--root")
                .arg(root.path())
                .args(["lxc-net", "override"]),
            "lxc-net override on an immutable file",
        );
        chattr(&flag.replace('+', "-"), &lxc_net);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(73), "{flag}: {stderr}");
        assert!(stderr.contains("(immutable?)"), "{flag}: {stderr}");
        assert!(!stderr.contains("run as root"), "{flag}: {stderr}");
        assert_eq!(
            std::fs::read_to_string(&lxc_net).unwrap(),
            "USE_LXC_BRIDGE=\"false\"\n"
        );
    }
}

#[test]
fn the_lxc_net_original_keeps_its_owner_and_mode() {
    // SAFETY: geteuid(2) cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        support::system::skipped("not root; a file cannot be given away");
        return;
    }
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let root = root_with_link("unused", Path::new("/nonexistent"));
    let lxc_net = root.path().join("etc/default/lxc-net");
    std::fs::create_dir_all(lxc_net.parent().unwrap()).unwrap();
    std::fs::write(&lxc_net, "USE_LXC_BRIDGE=\"false\"\n").unwrap();
    std::os::unix::fs::chown(&lxc_net, Some(1234), Some(5678)).unwrap();
    std::fs::set_permissions(&lxc_net, std::fs::Permissions::from_mode(0o4750)).unwrap();
    Test::new()
        .root(root.path())
        .args(["lxc-net", "override"])
        .code(0);
    let orig = std::fs::metadata(root.path().join("etc/default/lxc-net.orig")).unwrap();
    assert_eq!((orig.uid(), orig.gid()), (1234, 5678));
    assert_eq!(orig.mode() & 0o7777, 0o4750);
    // And restore puts both back.
    Test::new().root(root.path()).args(["lxc-net", "restore"]).code(0);
    let back = std::fs::metadata(&lxc_net).unwrap();
    assert_eq!(
        (back.uid(), back.gid(), back.mode() & 0o7777),
        (1234, 5678, 0o4750)
    );
}

#[test]
fn reserved_networks_are_refused_for_a_bridge_with_each_inputs_code() {
    let root = root_with_link("unused", Path::new("/nonexistent"));
    for network in [
        "127.0.0.0/8",
        "0.0.0.0/8",
        "224.0.0.0/4",
        "240.0.0.0/4",
        "255.255.255.0/24",
        "239.1.1.0/24",
    ] {
        let out = Test::new()
            .root(root.path())
            .args(["lxc-net", "override", "--network", network])
            .code(64);
        let stderr = stderr_of(&out);
        assert!(!root.path().join("etc/default/lxc-net").exists(), "{network}");
        assert!(
            stderr.contains("no bridge can use") || stderr.contains("prefix"),
            "{network}: {stderr}"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    for subnet in ["239.1.1.1/24", "0.0.0.1/24", "127.0.0.1/8"] {
        let config = dir.path().join("c.yaml");
        std::fs::write(&config, format!("bridge-subnet: {subnet}\n")).unwrap();
        let out = Test::new()
            .root(root.path())
            .arg("--config")
            .arg(&config)
            .args(["manager-config", "show", "lxd"])
            .code(78);
        assert!(
            stderr_of(&out).contains("no bridge can use"),
            "{subnet}: {}",
            stderr_of(&out)
        );
    }
    // no-proxy: loopback belongs there; host bits in a CIDR do not.
    let manager = dir.path().join("m.yaml");
    std::fs::write(&manager, "no-proxy: 127.0.0.1,localhost,10.0.0.0/8\n").unwrap();
    let out = show_local(&manager, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    std::fs::write(&manager, "no-proxy: 10.0.0.1/8\n").unwrap();
    let out = show_local(&manager, &[]);
    assert_eq!(out.status.code(), Some(65), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("host bits"), "{}", text(&out.stderr));
}

#[test]
fn a_root_spelt_otherwise_is_still_the_system() {
    // Unprivileged, a root that is `/` under another spelling needs root
    // as `/` does, before any command is run.
    if !Path::new("/usr/bin/setpriv").exists() {
        support::system::skipped("no setpriv; the unprivileged run is not tried");
        return;
    }
    for spelling in ["/tmp/..", "/./", "//"] {
        let out = run(
            Command::new("/usr/bin/setpriv")
                .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
                .arg(assert_cmd::cargo::cargo_bin("container-init"))
                .args(["--root", spelling, "setup", "lxd", "--dry-run"])
                .env("PATH", "/nonexistent")
                .env_remove("CONTAINER_INIT_CONFIG")
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped()),
            "setup as nobody",
        );
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(77), "{spelling}: {stderr}");
        assert!(stderr.contains("needs root"), "{spelling}: {stderr}");
    }
}

#[test]
fn echoed_values_are_cut_clap_errors_and_root_included() {
    let long_root = format!("/{}", "r".repeat(100 * 1024));
    let out = Test::new()
        .args(["--root", &long_root, "--output", "json", "lxc-net", "show"])
        .code(64);
    let stderr = stderr_of(&out);
    assert!(stderr.len() < 1000, "{} bytes of stderr", stderr.len());
    assert!(
        stdout_of(&out).len() < 2000,
        "{} bytes of JSON",
        stdout_of(&out).len()
    );

    let bridge = "b".repeat(120 * 1024);
    for args in [
        vec![
            "--output".to_string(),
            "json".into(),
            "lxc-net".into(),
            "override".into(),
            "--bridge".into(),
            bridge.clone(),
        ],
        vec!["lxc-net".into(), "override".into(), format!("--bridge={bridge}")],
        vec![
            "lxc-net".into(),
            "override".into(),
            "--network".into(),
            bridge.clone(),
        ],
        vec!["lxc-net".into(), bridge.clone()],
    ] {
        let out = Test::new().args(&args).code(64);
        let stderr = stderr_of(&out);
        assert!(
            stderr.len() < 2000,
            "{} bytes of stderr: {}",
            stderr.len(),
            &stderr[..300]
        );
        assert!(
            stderr.contains("more characters") || stderr.contains("..."),
            "{stderr}"
        );
        assert!(
            stdout_of(&out).len() < 2000,
            "{} bytes of stdout",
            stdout_of(&out).len()
        );
    }

    let long_config = format!("/nonexistent/{}", "c".repeat(3000));
    let out = Test::new()
        .args(["--config", &long_config, "manager-config", "show", "lxd"])
        .code(78);
    assert!(stderr_of(&out).len() < 1000, "{}", stderr_of(&out).len());
}

#[test]
fn a_token_file_others_can_read_is_warned_about() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("token");
    std::fs::write(&token, "s3cret\n").unwrap();
    let root = tempfile::tempdir().unwrap();
    for (mode, warned) in [(0o644, true), (0o600, false), (0o640, false)] {
        std::fs::set_permissions(&token, std::fs::Permissions::from_mode(mode)).unwrap();
        let out = Test::new()
            .root(root.path())
            .args([
                "manager-config",
                "show",
                "lxd",
                "--controller",
                "ftp://x",
                "--token-file",
            ])
            .arg(&token)
            .code(78);
        let stderr = stderr_of(&out);
        assert_eq!(
            stderr.contains("readable by every user"),
            warned,
            "{mode:o}: {stderr}"
        );
        assert!(!stderr.contains("s3cret"), "{stderr}");
    }
}

#[test]
fn thousands_of_unknown_keys_are_one_warning_line() {
    let dir = tempfile::tempdir().unwrap();
    let manager = dir.path().join("m.yaml");
    let doc: String = (0..30_000).map(|i| format!("zz-unknown-{i}: v\n")).collect();
    assert!(doc.len() < 1024 * 1024);
    std::fs::write(&manager, doc).unwrap();
    let out = show_local(&manager, &[]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{}", &stderr[..stderr.len().min(500)]);
    assert_eq!(
        stderr.lines().filter(|l| l.contains("warn")).count(),
        1,
        "{}",
        &stderr[..stderr.len().min(500)]
    );
    assert!(stderr.len() < 2000, "{} bytes of warnings", stderr.len());
    assert!(stderr.contains("30000 key(s)"), "{stderr}");
}

/// Twelve runs at once on one root, each taking the host lock: every one
/// waits its turn and succeeds. A lock that probes, lets go and locks again
/// can lose the lock between the two to another run and answer 75 at once.
#[test]
fn twelve_runs_at_once_on_one_root_all_succeed() {
    let root = root_with_link("unused", Path::new("/nonexistent"));
    let children: Vec<Child> = (0..12)
        .map(|i| {
            let action = if i % 2 == 0 { "enable" } else { "disable" };
            tool()
                .arg("--root")
                .arg(root.path())
                .args(["forwarding", action])
                .spawn()
                .unwrap()
        })
        .collect();
    for (i, child) in children.into_iter().enumerate() {
        let out = finish(child, "one of twelve runs");
        assert_eq!(
            out.status.code(),
            Some(0),
            "run {i}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let left = std::fs::read_to_string(root.path().join("proc/sys/net/ipv4/ip_forward")).unwrap();
    assert!(left == "0\n" || left == "1\n", "{left:?}");
}
