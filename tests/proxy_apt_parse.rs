//! apt itself reads the proxy file: for generated proxy URLs that the tool
//! accepts, `apt-config -c FILE dump` gains exactly the keys the tool meant
//! and nothing else; for the injection attempt apt would have obeyed, the
//! tool refuses the value. Needs apt-config (Debian and Ubuntu have it).

#![allow(clippy::disallowed_methods, clippy::disallowed_types)] // tests run apt-config directly

mod support;

use std::collections::BTreeSet;
use std::process::Command;

use container_init::proxy::{ProxySettings, apt};

fn dump(extra: Option<&std::path::Path>) -> BTreeSet<String> {
    let mut cmd = Command::new("apt-config");
    if let Some(file) = extra {
        cmd.arg("-c").arg(file);
    }
    let out = cmd.arg("dump").output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.starts_with("CommandLine::"))
        .map(str::to_string)
        .collect()
}

/// Valid proxy URLs from a small grammar, deterministic.
fn urls(n: usize) -> Vec<String> {
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let hosts = [
        "proxy",
        "p-1.example.com",
        "a.b.c.d.e",
        "10.0.0.1",
        "255.255.255.255",
        "[::1]",
        "[2001:db8::ff:1]",
        "[::ffff:10.0.0.1]",
        "xn--bcher-kva.example",
        "0.0.0.0",
    ];
    (0..n)
        .map(|_| {
            let scheme = if next() % 2 == 0 { "http" } else { "https" };
            let host = hosts[(next() % hosts.len() as u64) as usize];
            let port = match next() % 3 {
                0 => String::new(),
                _ => format!(":{}", 1 + next() % 65535),
            };
            let slash = if next() % 2 == 0 { "/" } else { "" };
            format!("{scheme}://{host}{port}{slash}")
        })
        .collect()
}

#[test]
fn apt_reads_each_accepted_proxy_as_one_value_and_nothing_more() {
    if Command::new("apt-config").arg("dump").output().is_err() {
        support::system::skipped("needs apt-config");
        return;
    }
    let baseline = dump(None);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("80container-init-proxy");
    for (i, http) in urls(60).into_iter().enumerate() {
        let mut settings = ProxySettings::default();
        settings.set("http-proxy", &http).unwrap();
        settings.set("https-proxy", &http).unwrap();
        settings
            .set("no-proxy", "localhost,10.1.2.3,.skipped.example,fd00::/8")
            .unwrap();
        let (content, _) = apt::conf(&settings);
        std::fs::write(&file, content.unwrap()).unwrap();
        let got: BTreeSet<String> = dump(Some(&file)).difference(&baseline).cloned().collect();
        let shown = settings.http.as_ref().unwrap().to_string();
        let want: BTreeSet<String> = [
            // The parent nodes apt's tree gains, without values.
            "Acquire::http \"\";".to_string(),
            "Acquire::https \"\";".to_string(),
            format!("Acquire::http::Proxy \"{shown}\";"),
            format!("Acquire::https::Proxy \"{shown}\";"),
            "Acquire::http::Proxy::localhost \"DIRECT\";".into(),
            "Acquire::http::Proxy::10.1.2.3 \"DIRECT\";".into(),
            "Acquire::https::Proxy::localhost \"DIRECT\";".into(),
            "Acquire::https::Proxy::10.1.2.3 \"DIRECT\";".into(),
        ]
        .into();
        let want: BTreeSet<String> = want.difference(&baseline).cloned().collect();
        assert_eq!(got, want, "case {i}: {http}");
    }
}

#[test]
fn the_injection_apt_would_obey_is_refused() {
    let hostile = "http://127.0.0.1:1/\"; APT::Update::Pre-Invoke {\"touch /tmp/pwned\";}; //";
    let mut settings = ProxySettings::default();
    assert!(settings.set("http-proxy", hostile).is_err());
    assert_eq!(apt::conf(&settings).0, None);
    if Command::new("apt-config").arg("dump").output().is_err() {
        return;
    }
    // Written by hand the way a naive tool would, apt takes it as a hook.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("naive");
    std::fs::write(&file, format!("Acquire::http::Proxy \"{hostile}\";\n")).unwrap();
    assert!(
        dump(Some(&file))
            .iter()
            .any(|l| l.contains("Pre-Invoke:: \"touch /tmp/pwned\"")),
        "apt no longer parses the injection; the test shows nothing"
    );
}
