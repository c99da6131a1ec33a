//! apt's proxy: a file the tool owns in `/etc/apt/apt.conf.d/`, written
//! before the packages step so that this run's installs use it, and kept
//! for the operator's next `apt-get`. It is removed when the keys are gone.

use super::{NoProxyEntry, ProxySettings, ProxyUrl};
use crate::host::Host;
use crate::report::{Outcome, Status};

pub const APT_CONF: &str = "/etc/apt/apt.conf.d/80container-init-proxy";

/// The file's content, or `None` when apt gets no proxy. Also the entries
/// of `no-proxy` that apt cannot take: its per-host setting matches one
/// exact host name, so `.domain`, CIDRs and IPv6 addresses are left out.
pub fn conf(settings: &ProxySettings) -> (Option<String>, Vec<String>) {
    let http = settings.apt_http();
    let https = settings.apt_https();
    if http.is_none() && https.is_none() {
        return (None, Vec::new());
    }
    let mut direct = Vec::new();
    let mut skipped = Vec::new();
    for entry in settings.no_proxy.iter().flat_map(|n| &n.0) {
        match entry {
            NoProxyEntry::Host(h) => direct.push(h.clone()),
            NoProxyEntry::V4(ip) => direct.push(ip.to_string()),
            other => skipped.push(other.to_string()),
        }
    }
    let mut out = String::from(
        "// Written by container-init from the manager config (http-proxy, https-proxy,\n\
         // apt-http-proxy, apt-https-proxy, no-proxy); removed when those keys are gone.\n",
    );
    for (scheme, url) in [("http", http), ("https", https)] {
        if let Some(url) = url {
            out.push_str(&line(&format!("Acquire::{scheme}::Proxy"), url));
            for host in &direct {
                out.push_str(&format!("Acquire::{scheme}::Proxy::{host} \"DIRECT\";\n"));
            }
        }
    }
    (Some(out), skipped)
}

fn line(key: &str, url: &ProxyUrl) -> String {
    format!("{key} \"{url}\";\n")
}

pub fn step(host: &Host, settings: &ProxySettings) -> anyhow::Result<Outcome> {
    let (wanted, skipped) = conf(settings);
    let Some(content) = wanted else {
        let change = crate::record::remove_file(host, APT_CONF)?;
        return Ok(if change.is_change() {
            Outcome::new(
                Status::of_change(host.applies()),
                format!("removed {APT_CONF}: no proxy for apt in the manager config"),
            )
            .with_plan(change.plan(host))
        } else {
            Outcome::new(Status::Unchanged, "no proxy for apt")
        });
    };
    // Not secret (credentials are refused), and apt run by any user reads it.
    let change = crate::record::write_file(host, APT_CONF, content.as_bytes(), 0o644)?;
    let mut detail = [("http", settings.apt_http()), ("https", settings.apt_https())]
        .iter()
        .filter_map(|(k, v)| v.map(|v| format!("{k}={v}")))
        .collect::<Vec<_>>()
        .join(" ");
    detail = format!("{APT_CONF}: {detail}");
    if !skipped.is_empty() {
        detail.push_str(&format!(
            "; apt cannot bypass the proxy for {} (it takes exact host names only)",
            skipped.join(",")
        ));
    }
    Ok(
        Outcome::new(Status::if_changed(change.is_change(), host.applies()), detail)
            .with_plan(change.plan(host)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(pairs: &[(&str, &str)]) -> ProxySettings {
        let mut s = ProxySettings::default();
        for (k, v) in pairs {
            assert!(s.set(k, v).unwrap());
        }
        s
    }

    #[test]
    fn the_file_names_both_proxies_and_the_direct_hosts() {
        let s = settings(&[
            ("http-proxy", "http://proxy:3128/"),
            ("https-proxy", "https://[2001:db8::1]:3129"),
            ("apt-http-proxy", "http://aptcache:3142"),
            ("no-proxy", "localhost,10.1.2.3,.corp.example,192.168.0.0/16,::1"),
        ]);
        let (content, skipped) = conf(&s);
        let content = content.unwrap();
        let body: Vec<&str> = content.lines().filter(|l| !l.starts_with("//")).collect();
        assert_eq!(
            body,
            [
                "Acquire::http::Proxy \"http://aptcache:3142\";",
                "Acquire::http::Proxy::localhost \"DIRECT\";",
                "Acquire::http::Proxy::10.1.2.3 \"DIRECT\";",
                "Acquire::https::Proxy \"https://[2001:db8::1]:3129\";",
                "Acquire::https::Proxy::localhost \"DIRECT\";",
                "Acquire::https::Proxy::10.1.2.3 \"DIRECT\";",
            ]
        );
        assert_eq!(skipped, [".corp.example", "192.168.0.0/16", "::1"]);
    }

    #[test]
    fn no_file_without_a_proxy_for_apt() {
        assert_eq!(conf(&settings(&[("no-proxy", "localhost")])).0, None);
        assert_eq!(conf(&ProxySettings::default()).0, None);
    }

    /// Deterministic pseudo-random strings over an alphabet rich in what
    /// apt's configuration language gives meaning to.
    fn strings(seed: u64, n: usize) -> Vec<String> {
        const ALPHABET: &[u8] = b"htps:/[]0123456789.abcdefxyz-_@;\"{}#\n \t'\\*?%&=,ABZ";
        let mut state = seed;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let prefixes = ["http://", "https://", "http://[", "", "https://a.b:"];
        (0..n)
            .map(|_| {
                let prefix = prefixes[(next() % prefixes.len() as u64) as usize];
                let len = (next() % 24) as usize;
                let tail: String = (0..len)
                    .map(|_| ALPHABET[(next() % ALPHABET.len() as u64) as usize] as char)
                    .collect();
                format!("{prefix}{tail}")
            })
            .collect()
    }

    /// Whatever is accepted renders into lines that apt reads as one key and
    /// one quoted value: nothing in a value can end it or start a comment.
    #[test]
    fn any_accepted_url_renders_as_one_apt_value() {
        let mut accepted = 0;
        for candidate in strings(0x9E37_79B9_7F4A_7C15, 200_000) {
            let Ok(url) = ProxyUrl::parse(&candidate) else {
                continue;
            };
            accepted += 1;
            let rendered = url.to_string();
            assert!(
                !rendered.contains(['"', ';', '{', '}', '\n', '\r', '#', ' ', '\t', '\\', '@'])
                    && !rendered.split_once("://").unwrap().1.contains("//"),
                "{candidate:?} rendered as {rendered:?}"
            );
            let mut s = ProxySettings::default();
            s.set("http-proxy", &candidate).unwrap();
            let (content, _) = conf(&s);
            let content = content.unwrap();
            let body: Vec<&str> = content.lines().filter(|l| !l.starts_with("//")).collect();
            assert_eq!(body.len(), 1, "{candidate:?}: {content}");
            let value = body[0]
                .strip_prefix("Acquire::http::Proxy \"")
                .and_then(|v| v.strip_suffix("\";"))
                .unwrap_or_else(|| panic!("{candidate:?}: {content}"));
            assert_eq!(value, rendered);
        }
        assert!(accepted > 50, "the generator found only {accepted} valid URLs");
    }
}
