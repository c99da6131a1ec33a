//! Incus takes the same `core.proxy_*` keys as LXD through its own client.
//! `setup incus` is wired elsewhere; this drives the runtime-proxy step with
//! the client `incus` against the fake host's `incus`, through the library.
//! One test in its own binary: it puts the fake on this process's PATH.

#![allow(clippy::disallowed_methods, clippy::disallowed_types)] // tests build and inspect fake hosts directly

use std::path::Path;

use container_init::container_type::ContainerType;
use container_init::host::{Host, Mode};
use container_init::proxy::{ProxySettings, runtime};
use container_init::report::Status;
use serde_json::json;

fn state(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("state.json")).unwrap()).unwrap()
}

fn log(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("log"))
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn incus_gets_the_proxy_keys_converges_and_gives_back_only_its_own() {
    let root = tempfile::tempdir().unwrap();
    let fake_state = tempfile::tempdir().unwrap();
    let bin = tempfile::tempdir().unwrap();
    let fake = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fakes/fake-host.py");
    std::os::unix::fs::symlink(&fake, bin.path().join("incus")).unwrap();
    // Runtime commands run in a clean environment: the fake finds its state
    // from this file beside it.
    std::fs::write(
        bin.path().join("fake-host.json"),
        json!({"state": fake_state.path(), "root": root.path()}).to_string(),
    )
    .unwrap();
    let path = format!("{}:/usr/bin:/bin", bin.path().display());
    // SAFETY: this test binary has this one test, so no other thread reads
    // the environment while it changes.
    unsafe {
        std::env::set_var("PATH", path);
        std::env::set_var("FAKE_HOST_STATE", fake_state.path());
        std::env::set_var("FAKE_HOST_ROOT", root.path());
    }
    std::fs::write(
        fake_state.path().join("state.json"),
        json!({"running": ["incus"], "incus_server_config": {"core.https_address": ":8443"}}).to_string(),
    )
    .unwrap();
    // Proxy keys are setup's to record, for the type it sets up.
    let host = Host::new(root.path(), Mode::Apply).recording_for(ContainerType::Incus);
    let mut settings = ProxySettings::default();
    settings
        .set("http-proxy", "http://proxy.example.com:3128")
        .unwrap();
    settings.set("no-proxy", "localhost,.example.net").unwrap();

    let first = runtime::step(&host, "incus", &settings).unwrap();
    assert_eq!(first.status, Status::Changed, "{first:?}");
    assert_eq!(
        log(fake_state.path()),
        [
            "incus query /1.0",
            "incus config set core.proxy_http http://proxy.example.com:3128",
            "incus config set core.proxy_ignore_hosts localhost,.example.net",
        ]
    );
    assert_eq!(
        state(fake_state.path())["incus_server_config"],
        json!({
            "core.https_address": ":8443",
            "core.proxy_http": "http://proxy.example.com:3128",
            "core.proxy_ignore_hosts": "localhost,.example.net",
        })
    );

    let again = runtime::step(&host, "incus", &settings).unwrap();
    assert_eq!(again.status, Status::Unchanged, "{again:?}");
    assert_eq!(log(fake_state.path()).len(), 4, "a rerun only asks");

    let gone = runtime::step(&host, "incus", &ProxySettings::default()).unwrap();
    assert_eq!(gone.status, Status::Changed, "{gone:?}");
    assert_eq!(
        state(fake_state.path())["incus_server_config"],
        json!({"core.https_address": ":8443"})
    );
    assert!(!root.path().join("var/lib/container-init/proxy.json").exists());
    // Nothing of Incus's proxy is left in the record either.
    assert!(!root.path().join("var/lib/container-init/record.json").exists());
}
