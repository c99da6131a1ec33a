//! Ubuntu's LXD snap on fake Ubuntu 24.04 hosts: `setup lxd` moves it only
//! up, and only when the manager config asks for a channel; `check lxd`
//! warns about a move it will not make (tests/fakes/fake-host.py).

#![allow(clippy::disallowed_methods, clippy::disallowed_types)] // tests build and inspect fake hosts directly

mod support;

use serde_json::json;
use support::fake_host::*;

/// A converged Ubuntu LXD host whose snap tracks `installed`.
fn lxd_host(installed: &str) -> FakeHost {
    let host = FakeHost::new(UBUNTU_24_04).with_systemd();
    let first = host.run(&["setup", "lxd"]);
    assert_eq!(first.code, Some(0), "{first}");
    host.update_state(json!({"snaps": {"lxd": installed}}));
    host
}

/// `setup lxd` with `lxd-snap-channel` set to `wanted` (none when `None`).
fn setup(host: &FakeHost, wanted: Option<&str>, extra: &[&str]) -> Run {
    let manager = host.path("manager.yaml");
    let doc = wanted.map_or(String::new(), |w| format!("lxd-snap-channel: {w:?}\n"));
    std::fs::write(&manager, doc).unwrap();
    let mut args = vec![
        "setup",
        "lxd",
        "--output",
        "json",
        "--manager-config",
        manager.to_str().unwrap(),
    ];
    args.extend(extra);
    host.run(&args)
}

fn packages_step(run: &Run) -> serde_json::Value {
    run.json()["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "packages")
        .cloned()
        .unwrap_or_else(|| panic!("no packages step: {run}"))
}

fn snap_commands(run: &Run) -> Vec<&str> {
    run.commands
        .iter()
        .map(String::as_str)
        .filter(|c| c.starts_with("snap"))
        .collect()
}

/// What every run that does not move the snap must show.
fn assert_no_move(host: &FakeHost, installed: &str, run: &Run) {
    assert_eq!(run.code, Some(0), "{run}");
    assert_eq!(snap_commands(run), ["snap list lxd"], "{run}");
    assert_eq!(packages_step(run)["status"], "unchanged", "{run}");
    assert_eq!(host.state()["snaps"]["lxd"], installed, "{run}");
    assert_eq!(run.json()["changed"], false, "{run}");
}

/// A refused move: unchanged, exit 0, and a warning naming both channels and why.
fn assert_refused(host: &FakeHost, installed: &str, wanted: &str, why: &str) {
    let run = setup(host, Some(wanted), &[]);
    assert_no_move(host, installed, &run);
    let detail = packages_step(&run)["detail"].as_str().unwrap().to_string();
    let wanted_canonical = if wanted.contains('/') {
        wanted.to_string()
    } else {
        format!("{wanted}/stable")
    };
    for part in [installed, wanted_canonical.as_str(), why] {
        assert!(detail.contains(part), "{part:?} not in {detail:?}");
    }
    assert!(
        run.stderr.contains(&format!("container-init: warn: {detail}")),
        "{run}"
    );
    // --check agrees that there is nothing to do.
    let checked = setup(host, Some(wanted), &["--check"]);
    assert_no_move(host, installed, &checked);

    // `check lxd` gives the same text as a WARN, and runs only `snap list`.
    let manager = host.path("manager.yaml");
    let check = host.run(&[
        "check",
        "lxd",
        "--output",
        "json",
        "--manager-config",
        manager.to_str().unwrap(),
    ]);
    // snap list, then the data-path checks' read-only queries.
    assert_eq!(check.commands[0], "snap list lxd", "{check}");
    assert_eq!(
        sorted(&check.commands),
        sorted(&[
            "snap list lxd",
            "lxc query /1.0/networks/lxdbr0",
            "ip -j addr show",
            "ss -H -lnutp",
            "lxc query /1.0/storage-pools/default",
            "lxc query /1.0/storage-pools/default/resources"
        ]),
        "{check}"
    );
    let line = check.json()["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "lxd-snap")
        .cloned()
        .unwrap_or_else(|| panic!("no lxd-snap check: {check}"));
    assert_eq!(line["result"], "WARN", "{check}");
    assert_eq!(line["reason"], detail.as_str(), "{check}");
    assert!(line["fix"].as_str().unwrap().contains(installed), "{check}");
}

#[test]
fn an_older_track_is_never_planned() {
    let host = lxd_host("6/stable");
    assert_refused(&host, "6/stable", "5.21/stable", "older track");
}

#[test]
fn latest_is_never_left_for_a_numbered_track() {
    let host = lxd_host("latest/stable");
    assert_refused(
        &host,
        "latest/stable",
        "5.21/stable",
        "latest is newer than every numbered track",
    );
}

#[test]
fn a_more_stable_risk_of_the_same_track_is_never_planned() {
    let host = lxd_host("5.21/edge");
    assert_refused(&host, "5.21/edge", "5.21/stable", "more stable risk");
}

#[test]
fn without_a_channel_an_installed_snap_is_never_refreshed() {
    let host = lxd_host("5.0/stable");
    let run = setup(&host, None, &[]);
    assert_no_move(&host, "5.0/stable", &run);
    let detail = packages_step(&run)["detail"].as_str().unwrap().to_string();
    assert!(detail.contains("no lxd-snap-channel asked for"), "{detail}");
    assert!(!run.stderr.contains("warn"), "{run}");
    // No manager config at all: the built-in defaults ask for no channel either.
    let builtin = host.run(&["setup", "lxd", "--output", "json"]);
    assert_no_move(&host, "5.0/stable", &builtin);

    // Nothing asked for, nothing to warn about: `check` runs no snap command,
    // only the data-path checks' read-only queries.
    let check = host.run(&["check", "lxd", "--output", "json"]);
    assert_eq!(
        sorted(&check.commands),
        sorted(&[
            "lxc query /1.0/networks/lxdbr0",
            "ip -j addr show",
            "ss -H -lnutp",
            "lxc query /1.0/storage-pools/default",
            "lxc query /1.0/storage-pools/default/resources"
        ]),
        "{check}"
    );
    assert!(!check.stdout.contains("lxd-snap"), "{check}");
}

#[test]
fn the_same_channel_is_no_move_however_it_is_written() {
    let host = lxd_host("5.21/stable");
    for wanted in ["5.21/stable", "5.21"] {
        let run = setup(&host, Some(wanted), &[]);
        assert_no_move(&host, "5.21/stable", &run);
        assert_eq!(
            packages_step(&run)["detail"],
            "snap lxd tracking 5.21/stable",
            "{run}"
        );
        assert!(!run.stderr.contains("warn"), "{run}");
    }
    let latest = lxd_host("latest/edge");
    let run = setup(&latest, Some("edge"), &[]);
    assert_no_move(&latest, "latest/edge", &run);
}

/// A newer track: shown by --check and --dry-run as a planned refresh, then
/// run, reported as an upgrade, and left alone by the next run.
fn assert_upgraded(installed: &str, wanted: &str, refresh: &str) {
    let host = lxd_host(installed);
    for mode in ["--check", "--dry-run"] {
        let plan = setup(&host, Some(wanted), &[mode]);
        assert_eq!(plan.code, Some(if mode == "--check" { 2 } else { 0 }), "{plan}");
        assert_eq!(snap_commands(&plan), ["snap list lxd"], "{plan}");
        let step = packages_step(&plan);
        assert_eq!(step["status"], "would-change", "{plan}");
        assert_eq!(step["plan"], json!([format!("run: {refresh}")]), "{plan}");
        assert_eq!(host.state()["snaps"]["lxd"], installed);
    }

    let run = setup(&host, Some(wanted), &[]);
    assert_eq!(run.code, Some(0), "{run}");
    assert_eq!(snap_commands(&run), ["snap list lxd", refresh], "{run}");
    let step = packages_step(&run);
    assert_eq!(step["status"], "changed", "{run}");
    let detail = step["detail"].as_str().unwrap();
    assert!(
        detail.starts_with(&format!("snap lxd upgrade from {installed} to ")),
        "{detail}"
    );
    assert!(detail.contains("restarts the lxd daemon"), "{detail}");
    let now = refresh.trim_start_matches("snap refresh lxd --channel=");
    assert_eq!(host.state()["snaps"]["lxd"], now);

    let again = setup(&host, Some(wanted), &[]);
    assert_no_move(&host, now, &again);
}

#[test]
fn a_newer_numbered_track_is_refreshed_to() {
    assert_upgraded(
        "5.0/stable",
        "5.21/stable",
        "snap refresh lxd --channel=5.21/stable",
    );
    assert_upgraded("5.21/stable", "6/stable", "snap refresh lxd --channel=6/stable");
}

#[test]
fn a_track_without_a_risk_is_read_as_stable() {
    assert_upgraded("5.0/stable", "5.21", "snap refresh lxd --channel=5.21/stable");
    // and an upgrade in `check`, which is no warning.
    let host = lxd_host("5.0/stable");
    let manager = host.path("manager.yaml");
    std::fs::write(&manager, "lxd-snap-channel: 6\n").unwrap();
    let check = host.run(&["check", "lxd", "--manager-config", manager.to_str().unwrap()]);
    assert!(
        check.stdout.contains(
            "PASS  lxd-snap        setup upgrades snap lxd from 5.0/stable to 6/stable; \
             the refresh restarts the lxd daemon"
        ),
        "{check}"
    );
}

#[test]
fn a_fresh_install_takes_the_channel_asked_for_or_the_default() {
    let host = FakeHost::new(UBUNTU_24_04).with_systemd();
    let run = setup(&host, Some("6"), &[]);
    assert_eq!(run.code, Some(0), "{run}");
    assert_eq!(
        snap_commands(&run),
        ["snap list lxd", "snap install lxd --channel=6/stable"],
        "{run}"
    );

    let host = FakeHost::new(UBUNTU_24_04).with_systemd();
    let run = setup(&host, None, &[]);
    assert_eq!(
        snap_commands(&run),
        ["snap list lxd", "snap install lxd --channel=5.21/stable"],
        "{run}"
    );
}

#[test]
fn a_malformed_channel_is_65_before_anything_runs() {
    let host = lxd_host("5.21/stable");
    for bad in ["5.21/nightly", "5.21/stable;reboot", "a/b/c/d", "/stable"] {
        let run = setup(&host, Some(bad), &[]);
        assert_eq!(run.code, Some(65), "{bad}: {run}");
        assert!(run.commands.is_empty(), "{bad}: {run}");
        assert!(run.stderr.contains("lxd-snap-channel"), "{run}");

        let manager = host.path("manager.yaml");
        let check = host.run(&["check", "lxd", "--manager-config", manager.to_str().unwrap()]);
        assert_eq!(check.code, Some(65), "{bad}: {check}");
        assert!(check.commands.is_empty(), "{bad}: {check}");
    }
}

#[test]
fn check_asks_the_controller_of_the_config_file_only_for_lxd() {
    use support::https::{Server, json as reply};
    let host = lxd_host("latest/stable");
    let server = Server::start(
        false,
        vec![reply(200, r#"{"config": {"lxd-snap-channel": "5.21/stable"}}"#)],
    );
    host.write(
        "etc/container-init/config.yaml",
        &format!("controller:\n  url: {}\nmachine: \"4\"\n", server.url()),
    );
    let token = [("CONTAINER_INIT_TOKEN", "s3cret-token")];

    let lxc = host.run_with_env(&["check", "lxc"], &token);
    assert!(server.heads().is_empty(), "check lxc asked the controller: {lxc}");
    assert_eq!(
        sorted(&lxc.commands),
        sorted(&["lxc-ls --version", "ip -j addr show", "ss -H -lnutp"]),
        "{lxc}"
    );

    let run = host.run_with_env(&["check", "lxd"], &token);
    let heads = server.heads();
    assert_eq!(heads.len(), 1, "{run}");
    assert!(
        heads[0].starts_with("GET /v1/container-manager-config/lxd?machine=4 "),
        "{}",
        heads[0]
    );
    assert_eq!(run.commands[0], "snap list lxd", "{run}");
    assert_eq!(
        sorted(&run.commands),
        sorted(&[
            "snap list lxd",
            "lxc query /1.0/networks/lxdbr0",
            "ip -j addr show",
            "ss -H -lnutp",
            "lxc query /1.0/storage-pools/default",
            "lxc query /1.0/storage-pools/default/resources"
        ]),
        "{run}"
    );
    assert!(
        run.stdout.contains(
            "WARN  lxd-snap        snap lxd left on latest/stable: lxd-snap-channel asks for 5.21/stable, \
             but latest is newer than every numbered track"
        ),
        "{run}"
    );
    assert!(!run.stdout.contains("s3cret-token") && !run.stderr.contains("s3cret-token"));
}
