//! `check`'s proxy line: the proxies that apt, snap and the runtime use now,
//! read from each where it keeps them, and a WARN when they disagree. Only
//! consumers installed on the host are asked, so a host without them runs
//! nothing.

use super::{NoProxy, ProxyUrl, runtime, snap};
use crate::check_result::{Check, Verdict, check};
use crate::host::{CommandLine, Host};

/// One consumer's proxies, as it holds them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Seen {
    pub consumer: &'static str,
    pub http: Option<String>,
    pub https: Option<String>,
    /// `None` for apt, which has no such list.
    pub no_proxy: Option<Option<String>>,
}

/// apt's effective proxies, from `apt-config dump` (every file, in apt's order).
pub fn apt(host: &Host) -> Option<Seen> {
    if !host.exists("/usr/bin/apt-config") {
        return None;
    }
    let out = host.query(&CommandLine::new("apt-config").arg("dump")).ok()?;
    let mut seen = Seen {
        consumer: "apt",
        ..Seen::default()
    };
    for line in out.stdout.lines() {
        let Some((key, rest)) = line.split_once(' ') else {
            continue;
        };
        let value = rest.trim_end_matches(';').trim_matches('"').to_string();
        if key.eq_ignore_ascii_case("Acquire::http::Proxy") {
            seen.http = Some(value);
        } else if key.eq_ignore_ascii_case("Acquire::https::Proxy") {
            seen.https = Some(value);
        }
    }
    Some(seen)
}

pub fn snap(host: &Host) -> Option<Seen> {
    if !host.exists("/usr/bin/snap") {
        return None;
    }
    let map = snap::current(host).ok().flatten()?;
    Some(Seen {
        consumer: "snap",
        http: map.get("proxy.http").cloned(),
        https: map.get("proxy.https").cloned(),
        no_proxy: Some(map.get("proxy.no-proxy").cloned()),
    })
}

/// The runtime behind `client` (`lxc` for LXD, `incus`), when its client is
/// installed and its daemon answers.
pub fn runtime(host: &Host, client: &str) -> Option<Seen> {
    let installed = [format!("/usr/bin/{client}"), format!("/snap/bin/{client}")]
        .iter()
        .any(|p| host.exists(p));
    if !installed {
        return None;
    }
    let map = runtime::current(host, client).ok().flatten()?;
    Some(Seen {
        consumer: runtime::runtime_name(client),
        http: map.get("core.proxy_http").cloned(),
        https: map.get("core.proxy_https").cloned(),
        no_proxy: Some(map.get("core.proxy_ignore_hosts").cloned()),
    })
}

/// The same proxy written two ways (`http://p:3128/`, `http://P:3128`) is one.
fn url(v: &Option<String>) -> Option<String> {
    let v = v.as_deref().filter(|v| !v.is_empty())?;
    Some(ProxyUrl::parse(v).map_or_else(|_| v.to_string(), |u| u.to_string()))
}

fn list(v: &Option<String>) -> Option<String> {
    let v = v.as_deref().filter(|v| !v.is_empty())?;
    Some(NoProxy::parse(v).map_or_else(
        |_| v.to_string(),
        |n| {
            let mut parts: Vec<String> = n.0.iter().map(ToString::to_string).collect();
            parts.sort();
            parts.join(",")
        },
    ))
}

fn shown(v: &Option<String>) -> &str {
    v.as_deref().unwrap_or("none")
}

/// `None` when no consumer uses a proxy: nothing to compare.
pub fn verdict(seen: &[Seen]) -> Option<Check> {
    let any = seen.iter().any(|s| {
        url(&s.http).is_some()
            || url(&s.https).is_some()
            || s.no_proxy.as_ref().is_some_and(|n| list(n).is_some())
    });
    if !any {
        return None;
    }
    let same = |f: &dyn Fn(&Seen) -> Option<Option<String>>| {
        let values: Vec<Option<String>> = seen.iter().filter_map(f).collect();
        values.windows(2).all(|w| w[0] == w[1])
    };
    let agree = same(&|s| Some(url(&s.http)))
        && same(&|s| Some(url(&s.https)))
        && same(&|s| s.no_proxy.as_ref().map(list));
    let names: Vec<&str> = seen.iter().map(|s| s.consumer).collect();
    let describe = |s: &Seen| {
        let mut d = format!(
            "{} http={} https={}",
            s.consumer,
            shown(&url(&s.http)),
            shown(&url(&s.https))
        );
        if let Some(n) = &s.no_proxy {
            d.push_str(&format!(" no-proxy={}", shown(&list(n))));
        }
        d
    };
    if agree {
        return Some(check(
            "proxy",
            Verdict::Pass,
            format!(
                "{} agree: {}",
                names.join(", "),
                describe(&seen[0]).split_once(' ').map_or("", |x| x.1)
            ),
            "",
        ));
    }
    let each: Vec<String> = seen.iter().map(describe).collect();
    Some(check(
        "proxy",
        Verdict::Warn,
        format!("proxy settings disagree: {}", each.join("; ")),
        "set http-proxy, https-proxy and no-proxy in the manager config and run setup \
         (an apt-http-proxy for an apt cache differs on purpose)",
    ))
}

/// What `check` shows for a runtime reached with `client` (`None` for
/// runtimes without proxy settings of their own).
pub fn check_line(host: &Host, client: Option<&str>) -> Option<Check> {
    let seen: Vec<Seen> = [apt(host), snap(host), client.and_then(|c| runtime(host, c))]
        .into_iter()
        .flatten()
        .collect();
    verdict(&seen)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(consumer: &'static str, http: Option<&str>, no_proxy: Option<Option<&str>>) -> Seen {
        Seen {
            consumer,
            http: http.map(str::to_string),
            https: None,
            no_proxy: no_proxy.map(|n| n.map(str::to_string)),
        }
    }

    #[test]
    fn no_proxy_anywhere_is_no_line() {
        assert!(verdict(&[seen("apt", None, None), seen("LXD", None, Some(None))]).is_none());
    }

    #[test]
    fn the_same_proxy_written_two_ways_agrees() {
        let c = verdict(&[
            seen("apt", Some("http://P:3128/"), None),
            seen("LXD", Some("http://p:3128"), Some(Some("b,a"))),
            seen("snap", Some("http://p:3128"), Some(Some("a, b"))),
        ])
        .unwrap();
        assert_eq!(c.result, Verdict::Pass, "{c:?}");
        assert!(
            c.reason.starts_with("apt, LXD, snap agree: http=http://p:3128"),
            "{c:?}"
        );
    }

    #[test]
    fn a_runtime_without_the_proxy_is_a_warning() {
        let c = verdict(&[
            seen("apt", Some("http://p:3128"), None),
            seen("LXD", None, Some(None)),
        ])
        .unwrap();
        assert_eq!(c.result, Verdict::Warn);
        assert!(c.reason.contains("apt http=http://p:3128"), "{c:?}");
        assert!(c.reason.contains("LXD http=none"), "{c:?}");
    }
}
