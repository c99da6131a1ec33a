//! Proxy settings from the manager config: the two strict value types
//! ([`ProxyUrl`], [`NoProxy`]) and [`ProxySettings`], which says what each
//! consumer gets. Where each consumer keeps them: [`apt`] (a file the tool
//! owns), [`snap`] (`snap set system proxy.*`), [`runtime`] (LXD's and
//! Incus's `core.proxy_*`), with [`record`] remembering what the tool set so
//! that removing a key removes only that. [`agreement`] is `check`'s view.
//!
//! The values land in apt's configuration language, which has no escapes:
//! a quote, a semicolon or a newline in a URL would end the value and start
//! new configuration. So a proxy URL is a scheme, a host and a port, and
//! nothing else gets through. Credentials (`user:password@`) are refused:
//! snap and LXD show their proxy settings to anyone allowed to query them,
//! so there is no place to keep a password where only root can read it.

pub mod agreement;
pub mod apt;
pub mod converge;
pub mod record;
pub mod runtime;
pub mod snap;

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

/// The manager-config keys this module reads.
pub const KEYS: [&str; 5] = [
    "http-proxy",
    "https-proxy",
    "no-proxy",
    "apt-http-proxy",
    "apt-https-proxy",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    Http,
    Https,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Host {
    /// A DNS name, lower-case.
    Name(String),
    V4(Ipv4Addr),
    V6(Ipv6Addr),
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Name(name) => f.write_str(name),
            Host::V4(ip) => write!(f, "{ip}"),
            Host::V6(ip) => write!(f, "[{ip}]"),
        }
    }
}

/// `http://` or `https://`, a host, an optional port and an optional `/`:
/// nothing else. Shown without the trailing `/`, the same way to every
/// consumer, so that a rerun compares equal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyUrl {
    pub scheme: Scheme,
    pub host: Host,
    pub port: Option<u16>,
}

impl fmt::Display for ProxyUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = match self.scheme {
            Scheme::Http => "http",
            Scheme::Https => "https",
        };
        write!(f, "{scheme}://{}", self.host)?;
        if let Some(port) = self.port {
            write!(f, ":{port}")?;
        }
        Ok(())
    }
}

impl ProxyUrl {
    /// The reason is fixed text: it never repeats the value, which may hold
    /// a password.
    pub fn parse(value: &str) -> Result<ProxyUrl, &'static str> {
        let (scheme, rest) = if let Some(rest) = value.strip_prefix("http://") {
            (Scheme::Http, rest)
        } else if let Some(rest) = value.strip_prefix("https://") {
            (Scheme::Https, rest)
        } else {
            return Err("use http://HOST[:PORT] or https://HOST[:PORT]");
        };
        let authority = rest.strip_suffix('/').unwrap_or(rest);
        if authority.contains('@') {
            return Err(
                "credentials (user:password@) are not accepted: the proxy settings of snap and \
                 LXD are readable by their users; use a proxy that allows this host by address",
            );
        }
        if authority.contains('/') {
            return Err("only a scheme, a host and a port are allowed (no path, no //)");
        }
        if authority.is_empty() {
            return Err("the host is missing");
        }
        let (host, port) = if let Some(inner) = authority.strip_prefix('[') {
            let (ip, after) = inner
                .split_once(']')
                .ok_or("an IPv6 address needs its closing ]")?;
            let ip: Ipv6Addr = ip
                .parse()
                .map_err(|_| "the bracketed host is not an IPv6 address")?;
            let port = match after {
                "" => None,
                _ => Some(port(after.strip_prefix(':').ok_or("only a :PORT may follow ]")?)?),
            };
            (Host::V6(ip), port)
        } else {
            let (host, port) = match authority.split_once(':') {
                Some((host, p)) => (host, Some(port(p)?)),
                None => (authority, None),
            };
            (host_name_or_v4(host)?, port)
        };
        Ok(ProxyUrl { scheme, host, port })
    }
}

fn port(p: &str) -> Result<u16, &'static str> {
    const WHY: &str = "the port must be a number from 1 to 65535";
    if p.is_empty() || p.len() > 5 || !p.bytes().all(|b| b.is_ascii_digit()) {
        return Err(WHY);
    }
    match p.parse::<u16>() {
        Ok(0) | Err(_) => Err(WHY),
        Ok(n) => Ok(n),
    }
}

/// A DNS name (letters, digits, `-` in dot-separated labels) or a dotted
/// IPv4 address; all-numeric names must be a valid address.
fn host_name_or_v4(host: &str) -> Result<Host, &'static str> {
    const WHY: &str = "the host must be a DNS name, an IPv4 address or a bracketed IPv6 address";
    if host.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return host.parse::<Ipv4Addr>().map(Host::V4).map_err(|_| WHY);
    }
    if dns_name(host) {
        Ok(Host::Name(host.to_ascii_lowercase()))
    } else {
        Err(WHY)
    }
}

fn dns_name(name: &str) -> bool {
    name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

/// One entry of `no-proxy`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoProxyEntry {
    /// Exactly this host name.
    Host(String),
    /// `.example.com`: every name below it.
    Domain(String),
    V4(Ipv4Addr),
    V6(Ipv6Addr),
    V4Net(Ipv4Addr, u8),
    V6Net(Ipv6Addr, u8),
}

impl fmt::Display for NoProxyEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NoProxyEntry::Host(h) => f.write_str(h),
            NoProxyEntry::Domain(d) => write!(f, ".{d}"),
            NoProxyEntry::V4(ip) => write!(f, "{ip}"),
            NoProxyEntry::V6(ip) => write!(f, "{ip}"),
            NoProxyEntry::V4Net(ip, len) => write!(f, "{ip}/{len}"),
            NoProxyEntry::V6Net(ip, len) => write!(f, "{ip}/{len}"),
        }
    }
}

impl NoProxyEntry {
    fn parse(entry: &str) -> Result<NoProxyEntry, &'static str> {
        const WHY: &str = "each entry must be a host name, a .domain, an IPv4 or IPv6 address, or a CIDR";
        if let Some((ip, len)) = entry.split_once('/') {
            let len: u8 = if !len.is_empty() && len.len() <= 3 && len.bytes().all(|b| b.is_ascii_digit()) {
                len.parse().map_err(|_| WHY)?
            } else {
                return Err(WHY);
            };
            // 10.0.0.1/8 is a typo for 10.0.0.0/8, or for 10.0.0.1: either way
            // it does not say which, and consumers read it differently.
            const HOST_BITS: &str =
                "a CIDR names a network: its host bits must be zero (10.0.0.0/8, not 10.0.0.1/8)";
            if let Ok(ip) = ip.parse::<Ipv4Addr>() {
                return match len {
                    0..=32
                        if u32::from(ip) & !u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0) != 0 =>
                    {
                        Err(HOST_BITS)
                    }
                    0..=32 => Ok(NoProxyEntry::V4Net(ip, len)),
                    _ => Err(WHY),
                };
            }
            if let Ok(ip) = ip.parse::<Ipv6Addr>() {
                return match len {
                    0..=128
                        if u128::from(ip) & !u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0)
                            != 0 =>
                    {
                        Err(HOST_BITS)
                    }
                    0..=128 => Ok(NoProxyEntry::V6Net(ip, len)),
                    _ => Err(WHY),
                };
            }
            return Err(WHY);
        }
        if entry.contains(':') {
            return entry.parse::<Ipv6Addr>().map(NoProxyEntry::V6).map_err(|_| WHY);
        }
        if let Some(domain) = entry.strip_prefix('.') {
            return if dns_name(domain) {
                Ok(NoProxyEntry::Domain(domain.to_ascii_lowercase()))
            } else {
                Err(WHY)
            };
        }
        match host_name_or_v4(entry).map_err(|_| WHY)? {
            Host::V4(ip) => Ok(NoProxyEntry::V4(ip)),
            Host::Name(name) => Ok(NoProxyEntry::Host(name)),
            Host::V6(_) => unreachable!("no brackets reach here"),
        }
    }
}

/// `no-proxy`: comma-separated entries, spaces around them allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoProxy(pub Vec<NoProxyEntry>);

impl NoProxy {
    pub fn parse(value: &str) -> Result<NoProxy, &'static str> {
        let entries = value
            .split(',')
            .map(|e| e.trim_matches(' '))
            .filter(|e| !e.is_empty())
            .map(NoProxyEntry::parse)
            .collect::<Result<Vec<_>, _>>()?;
        if entries.is_empty() {
            return Err("list at least one host, .domain, address or CIDR");
        }
        Ok(NoProxy(entries))
    }
}

impl fmt::Display for NoProxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.0.iter().map(ToString::to_string).collect();
        f.write_str(&parts.join(","))
    }
}

/// The validated proxy keys of a manager config.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProxySettings {
    pub http: Option<ProxyUrl>,
    pub https: Option<ProxyUrl>,
    pub no_proxy: Option<NoProxy>,
    pub apt_http: Option<ProxyUrl>,
    pub apt_https: Option<ProxyUrl>,
}

impl ProxySettings {
    /// Parse one proxy key; `false` when `key` is not one of [`KEYS`].
    /// The error names the key and shows the value only when it cannot
    /// hold a password.
    pub fn set(&mut self, key: &str, value: &str) -> anyhow::Result<bool> {
        let invalid = |why: &str| {
            crate::exit::coded(
                crate::exit::Exit::Data,
                format!(
                    "invalid manager config: {key}={}: {why}; fix it on the controller or in --manager-config",
                    shown(value)
                ),
            )
        };
        let url = || ProxyUrl::parse(value).map_err(invalid);
        match key {
            "http-proxy" => self.http = Some(url()?),
            "https-proxy" => self.https = Some(url()?),
            "apt-http-proxy" => self.apt_http = Some(url()?),
            "apt-https-proxy" => self.apt_https = Some(url()?),
            "no-proxy" => self.no_proxy = Some(NoProxy::parse(value).map_err(invalid)?),
            _ => return Ok(false),
        }
        Ok(true)
    }

    pub fn is_empty(&self) -> bool {
        *self == ProxySettings::default()
    }

    /// apt's proxies: the apt-only keys win over the general ones.
    pub fn apt_http(&self) -> Option<&ProxyUrl> {
        self.apt_http.as_ref().or(self.http.as_ref())
    }

    pub fn apt_https(&self) -> Option<&ProxyUrl> {
        self.apt_https.as_ref().or(self.https.as_ref())
    }

    /// Every value as the manager config would give it back.
    pub fn values(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        let mut put = |k, v: Option<String>| {
            if let Some(v) = v {
                out.push((k, v));
            }
        };
        put("http-proxy", self.http.as_ref().map(ToString::to_string));
        put("https-proxy", self.https.as_ref().map(ToString::to_string));
        put("no-proxy", self.no_proxy.as_ref().map(ToString::to_string));
        put("apt-http-proxy", self.apt_http.as_ref().map(ToString::to_string));
        put(
            "apt-https-proxy",
            self.apt_https.as_ref().map(ToString::to_string),
        );
        out
    }

    /// The general keys in the shape snap and the runtimes take them:
    /// `http`, `https`, `no-proxy`, each only when set.
    /// The general settings under a consumer's own names for them (snap's
    /// `proxy.http`, LXD's `core.proxy_http`, ...).
    pub fn keyed(&self, key: fn(Kind) -> &'static str) -> std::collections::BTreeMap<String, String> {
        self.general()
            .into_iter()
            .map(|(kind, v)| (key(kind).to_string(), v))
            .collect()
    }

    pub fn general(&self) -> Vec<(Kind, String)> {
        let mut out = Vec::new();
        if let Some(u) = &self.http {
            out.push((Kind::Http, u.to_string()));
        }
        if let Some(u) = &self.https {
            out.push((Kind::Https, u.to_string()));
        }
        if let Some(n) = &self.no_proxy {
            out.push((Kind::NoProxy, n.to_string()));
        }
        out
    }
}

/// Whether a consumer's proxy step has anything to look at: a wanted key,
/// or a key the tool set earlier that may need taking back.
pub fn in_play(
    host: &crate::host::Host,
    consumer: &str,
    wanted: &std::collections::BTreeMap<String, String>,
) -> anyhow::Result<bool> {
    Ok(!wanted.is_empty() || !record::Record::load(host)?.of(consumer).is_empty())
}

/// Which of the three general settings a consumer's key holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    Http,
    Https,
    NoProxy,
}

/// A value for an error message: quoted on one line and at most 200
/// characters, or not at all when it holds an `@` (a password, perhaps).
pub fn shown(value: &str) -> String {
    if value.contains('@') {
        "(value not shown: it may hold a password)".to_string()
    } else {
        crate::config::limits::quote(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exit::{Exit, exit_for};

    #[test]
    fn good_proxy_urls_and_how_they_are_shown() {
        for (given, shown) in [
            ("http://proxy.example.com:3128", "http://proxy.example.com:3128"),
            ("http://proxy.example.com:3128/", "http://proxy.example.com:3128"),
            ("https://Proxy.Example.com", "https://proxy.example.com"),
            ("http://10.0.0.1:8080/", "http://10.0.0.1:8080"),
            ("http://[2001:db8::1]:3128", "http://[2001:db8::1]:3128"),
            ("http://[::1]", "http://[::1]"),
            ("http://squid", "http://squid"),
            ("http://a-b.c:65535", "http://a-b.c:65535"),
        ] {
            let url = ProxyUrl::parse(given).unwrap_or_else(|e| panic!("{given}: {e}"));
            assert_eq!(url.to_string(), shown);
            assert_eq!(ProxyUrl::parse(shown).unwrap(), url, "{shown} reparses");
        }
    }

    pub(crate) const HOSTILE: &[&str] = &[
        "http://127.0.0.1:1/\"; APT::Update::Pre-Invoke {\"touch /tmp/pwned\";}; //",
        "http://127.0.0.1:1/\";",
        "http://p\";",
        "http://p:3128;",
        "http://p:3128 ",
        " http://p:3128",
        "http://p:3128\n",
        "http://p:3128\nAPT::x \"y\";",
        "http://p:3128/#",
        "http://p:3128#x",
        "http://p:3128//",
        "http://p:3128/path",
        "http://p:3128/?q=1",
        "http://p:3128/ // comment",
        "http://p{}",
        "http://p}",
        "http://'p'",
        "http://p%0a",
        "http://user:hunter2@p:3128",
        "http://user@p:3128",
        "http://:hunter2@p",
        "ftp://p:21",
        "socks5://p:1080",
        "HTTP://p",
        "http:/p",
        "http://",
        "http:///",
        "http://p:0",
        "http://p:65536",
        "http://p:80:80",
        "http://p:-1",
        "http://p:",
        "http://-p",
        "http://p_q",
        "http://999.1.1.1",
        "http://1.2.3",
        "http://[::1",
        "http://[::1]x",
        "http://[fe80::1%eth0]",
        "http://[not-v6]",
        "http://p\t",
        "p:3128",
    ];

    #[test]
    fn hostile_and_wrong_urls_are_refused() {
        for bad in HOSTILE {
            assert!(ProxyUrl::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn the_error_names_the_key_and_never_a_password() {
        let mut s = ProxySettings::default();
        let err = s.set("http-proxy", "http://user:hunter2@p:3128").unwrap_err();
        assert_eq!(exit_for(&err), Exit::Data);
        let msg = err.to_string();
        assert!(msg.contains("http-proxy"), "{msg}");
        assert!(!msg.contains("hunter2"), "{msg}");
        assert!(msg.contains("credentials"), "{msg}");
        let err = s.set("apt-https-proxy", "http://p;x").unwrap_err();
        assert!(
            err.to_string().contains(r#"apt-https-proxy="http://p;x""#),
            "{err}"
        );
        let err = s.set("no-proxy", "a\nb").unwrap_err();
        assert!(!err.to_string().contains('\n'), "{err}");
    }

    #[test]
    fn no_proxy_entries() {
        let list =
            NoProxy::parse("localhost, 127.0.0.1,.example.com,10.0.0.0/8,::1,fd00::/8,Host-A").unwrap();
        assert_eq!(
            list.to_string(),
            "localhost,127.0.0.1,.example.com,10.0.0.0/8,::1,fd00::/8,host-a"
        );
        assert_eq!(NoProxy::parse(&list.to_string()).unwrap(), list);
        for bad in [
            "",
            ",",
            "*",
            "*.example.com",
            "a;b",
            "a b",
            "a\"",
            "a}",
            "10.0.0.0/33",
            "10.0.0.0/",
            "fd00::/129",
            "http://x",
            "a/8",
            "..x",
            "x\n",
            "#x",
            "10.0.0.1/8",
            "192.168.1.1/24",
            "fd00::1/8",
        ] {
            assert!(NoProxy::parse(bad).is_err(), "{bad:?} was accepted");
        }
        assert!(NoProxy::parse("10.0.0.1/8").unwrap_err().contains("host bits"));
        // Loopback belongs in no-proxy, whatever a bridge may not use.
        for good in [
            "127.0.0.1",
            "127.0.0.0/8",
            "::1",
            "localhost",
            "0.0.0.0/0",
            "10.0.0.1/32",
        ] {
            assert!(NoProxy::parse(good).is_ok(), "{good:?} was refused");
        }
    }

    #[test]
    fn apt_keys_override_the_general_ones() {
        let mut s = ProxySettings::default();
        s.set("http-proxy", "http://general:3128").unwrap();
        s.set("https-proxy", "http://general:3128").unwrap();
        s.set("apt-http-proxy", "http://aptcache:3142").unwrap();
        assert_eq!(s.apt_http().unwrap().to_string(), "http://aptcache:3142");
        assert_eq!(s.apt_https().unwrap().to_string(), "http://general:3128");
        assert!(!s.set("name", "x").unwrap());
    }
}
