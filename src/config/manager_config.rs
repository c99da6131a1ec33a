//! The container manager config: string values from the controller (or a
//! local file, or the built-in defaults), every known key parsed and
//! validated before anything on the host changes.

use std::collections::BTreeMap;

use crate::config::limits::quote;
use crate::exit::{Exit, coded};
use crate::proxy::ProxySettings;
use crate::runtime::snap_channel::Channel;

/// Values that live only in `log::warn!` and `show`: kept, never acted upon.
pub const KNOWN_KEYS: [&str; 12] = [
    "name",
    "log-dir",
    "availability-zone",
    "lxc-default-mtu",
    "ip-forwarding",
    "enable-nat",
    "lxd-snap-channel",
    "http-proxy",
    "https-proxy",
    "no-proxy",
    "apt-http-proxy",
    "apt-https-proxy",
];

pub const MTU_RANGE: std::ops::RangeInclusive<u32> = 576..=9216;

/// A validated manager config.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ManagerConfig {
    pub name: Option<String>,
    pub log_dir: Option<String>,
    pub availability_zone: Option<String>,
    pub lxc_default_mtu: Option<u32>,
    pub ip_forwarding: bool,
    /// `None`: the runtime's own default (on for the LXD bridge).
    pub enable_nat: Option<bool>,
    pub lxd_snap_channel: Option<Channel>,
    /// `http-proxy`, `https-proxy`, `no-proxy`, `apt-http-proxy`, `apt-https-proxy`.
    pub proxy: ProxySettings,
    /// Keys this version does not know, kept as they came.
    pub unknown: BTreeMap<String, String>,
}

impl ManagerConfig {
    /// What `setup` uses with no controller and no `--manager-config`.
    pub fn builtin() -> ManagerConfig {
        ManagerConfig::default()
    }

    /// Parse and validate string values; the first bad one is a data error
    /// (65) naming the key and the value. Empty values count as unset.
    pub fn from_values(values: &BTreeMap<String, String>) -> anyhow::Result<ManagerConfig> {
        let mut config = ManagerConfig::default();
        for (key, value) in values {
            if value.is_empty() {
                continue;
            }
            // Their errors must not echo a value that may hold a password.
            if config.proxy.set(key, value)? {
                continue;
            }
            let invalid = |why: &str| {
                coded(
                    Exit::Data,
                    format!(
                        "invalid manager config: {key}={}: {why}; fix it on the controller or in --manager-config",
                        quote(value)
                    ),
                )
            };
            match key.as_str() {
                "name" => config.name = Some(identifier(value).map_err(invalid)?),
                "log-dir" => config.log_dir = Some(absolute_path(value).map_err(invalid)?),
                "availability-zone" => config.availability_zone = Some(printable(value).map_err(invalid)?),
                "lxc-default-mtu" => config.lxc_default_mtu = Some(mtu(value).map_err(invalid)?),
                "ip-forwarding" => config.ip_forwarding = boolean(value).map_err(invalid)?,
                "enable-nat" => config.enable_nat = Some(boolean(value).map_err(invalid)?),
                "lxd-snap-channel" => config.lxd_snap_channel = Some(Channel::parse(value).map_err(invalid)?),
                _ => {
                    if !key
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
                    {
                        return Err(coded(
                            Exit::Data,
                            format!("invalid manager config: key {} is not a plain name", quote(key)),
                        ));
                    }
                    config
                        .unknown
                        .insert(key.clone(), printable(value).map_err(invalid)?);
                }
            }
        }
        Ok(config)
    }

    /// The tool's `namespace` setting wins over the controller's `name`.
    pub fn with_namespace(mut self, namespace: Option<&str>) -> anyhow::Result<ManagerConfig> {
        if let Some(ns) = namespace {
            let name = identifier(ns).map_err(|why| {
                coded(
                    Exit::Config,
                    format!("invalid namespace setting {}: {why}", quote(ns)),
                )
            })?;
            self.name = Some(name);
        }
        Ok(self)
    }

    /// Every value as a string, keys sorted: what `show` prints.
    pub fn to_values(&self) -> BTreeMap<String, String> {
        let mut out = self.unknown.clone();
        let mut put = |k: &str, v: Option<String>| {
            if let Some(v) = v {
                out.insert(k.to_string(), v);
            }
        };
        put("name", self.name.clone());
        put("log-dir", self.log_dir.clone());
        put("availability-zone", self.availability_zone.clone());
        put("lxc-default-mtu", self.lxc_default_mtu.map(|m| m.to_string()));
        put("ip-forwarding", Some(self.ip_forwarding.to_string()));
        put("enable-nat", self.enable_nat.map(|b| b.to_string()));
        put(
            "lxd-snap-channel",
            self.lxd_snap_channel.as_ref().map(Channel::to_string),
        );
        for (k, v) in self.proxy.values() {
            put(k, Some(v));
        }
        out
    }
}

fn identifier(v: &str) -> Result<String, &'static str> {
    let ok = v.len() <= 63
        && v.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && v.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    if ok {
        Ok(v.to_string())
    } else {
        Err("use 1 to 63 letters, digits, '-', '_' or '.', starting with a letter or digit")
    }
}

fn absolute_path(v: &str) -> Result<String, &'static str> {
    let ok = v.starts_with('/')
        && v.len() <= 4096
        && !v.split('/').any(|part| part == "..")
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./+@".contains(c));
    if ok {
        Ok(v.to_string())
    } else {
        Err("use an absolute path of letters, digits and -_./+@, without '..'")
    }
}

fn printable(v: &str) -> Result<String, &'static str> {
    if v.len() <= 1024 && !v.chars().any(char::is_control) {
        Ok(v.to_string())
    } else {
        Err("use at most 1024 characters and no control characters")
    }
}

fn mtu(v: &str) -> Result<u32, &'static str> {
    const WHY: &str = "must be an integer from 576 to 9216";
    if v.is_empty() || v.len() > 5 || !v.bytes().all(|b| b.is_ascii_digit()) {
        return Err(WHY);
    }
    let n: u32 = v.parse().map_err(|_| WHY)?;
    if MTU_RANGE.contains(&n) { Ok(n) } else { Err(WHY) }
}

fn boolean(v: &str) -> Result<bool, &'static str> {
    match v {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err("must be true or false"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exit::exit_for;

    fn parse(pairs: &[(&str, &str)]) -> anyhow::Result<ManagerConfig> {
        let values = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        ManagerConfig::from_values(&values)
    }

    #[test]
    fn good_values() {
        let table: &[(&str, &str)] = &[
            ("name", "juju-machine-4"),
            ("name", "a"),
            ("log-dir", "/var/log/juju"),
            ("availability-zone", "zone a (east)"),
            ("lxc-default-mtu", "576"),
            ("lxc-default-mtu", "1500"),
            ("lxc-default-mtu", "9216"),
            ("ip-forwarding", "true"),
            ("ip-forwarding", "false"),
            ("enable-nat", "false"),
            ("lxd-snap-channel", "5.21/stable"),
            ("lxd-snap-channel", "latest/edge"),
            ("lxd-snap-channel", "stable"),
            ("lxd-snap-channel", "5.0/candidate/hotfix-1"),
            ("lxd-snap-channel", "5.21"),
            ("lxd-snap-channel", "6"),
            ("some-future-key", "anything at all"),
            ("lxc-default-mtu", ""),
        ];
        for (k, v) in table {
            assert!(parse(&[(k, v)]).is_ok(), "{k}={v:?} was refused");
        }
    }

    #[test]
    fn bad_values_are_65_and_named() {
        let table: &[(&str, &str)] = &[
            ("name", "-leading-dash"),
            ("name", "has space"),
            ("name", "$(id)"),
            ("name", &"x".repeat(64)),
            ("log-dir", "relative/path"),
            ("log-dir", "/var/log/../../etc"),
            ("log-dir", "/var/log;rm"),
            ("availability-zone", "a\nb"),
            ("lxc-default-mtu", "575"),
            ("lxc-default-mtu", "9217"),
            ("lxc-default-mtu", "1500.0"),
            ("lxc-default-mtu", "+1500"),
            ("lxc-default-mtu", " 1500"),
            ("lxc-default-mtu", "0x5dc"),
            ("lxc-default-mtu", "abc"),
            ("lxc-default-mtu", "99999999999999999999"),
            ("ip-forwarding", "yes"),
            ("ip-forwarding", "True"),
            ("ip-forwarding", "1"),
            ("enable-nat", "on"),
            ("lxd-snap-channel", "5.21/stable;id"),
            ("lxd-snap-channel", "5.21/nightly"),
            ("lxd-snap-channel", "99999999999/stable"),
            ("lxd-snap-channel", "5.21/stable/"),
            ("lxd-snap-channel", "$(id)/stable"),
            ("lxd-snap-channel", "a/b/c/d"),
            ("lxd-snap-channel", "/stable"),
            ("weird key", "x"),
        ];
        for (k, v) in table {
            let err = parse(&[(k, v)]).unwrap_err();
            assert_eq!(exit_for(&err), Exit::Data, "{k}={v:?}");
            let msg = err.to_string();
            assert!(msg.contains(k), "{msg}");
            if !k.contains(' ') {
                assert!(msg.contains(&format!("{v:?}")), "{msg}");
            }
        }
    }

    #[test]
    fn typed_values_and_round_trip() {
        let c = parse(&[
            ("lxc-default-mtu", "1450"),
            ("ip-forwarding", "true"),
            ("enable-nat", "false"),
            ("future", "x"),
        ])
        .unwrap();
        assert_eq!(c.lxc_default_mtu, Some(1450));
        assert!(c.ip_forwarding);
        assert_eq!(c.enable_nat, Some(false));
        let values = c.to_values();
        assert_eq!(
            values.keys().collect::<Vec<_>>(),
            ["enable-nat", "future", "ip-forwarding", "lxc-default-mtu"]
        );
        assert_eq!(ManagerConfig::from_values(&values).unwrap(), c);
    }

    #[test]
    fn proxy_keys_are_typed_shown_canonically_and_round_trip() {
        let c = parse(&[
            ("http-proxy", "http://Proxy.example:3128/"),
            ("no-proxy", "localhost, .corp"),
            ("apt-https-proxy", "https://[::1]:3142"),
        ])
        .unwrap();
        assert!(c.unknown.is_empty());
        let values = c.to_values();
        assert_eq!(values["http-proxy"], "http://proxy.example:3128");
        assert_eq!(values["no-proxy"], "localhost,.corp");
        assert_eq!(values["apt-https-proxy"], "https://[::1]:3142");
        assert_eq!(ManagerConfig::from_values(&values).unwrap(), c);
        let err = parse(&[("https-proxy", "http://u:secretpw@p")]).unwrap_err();
        assert_eq!(exit_for(&err), Exit::Data);
        assert!(err.to_string().contains("https-proxy") && !err.to_string().contains("secretpw"));
    }

    #[test]
    fn namespace_overrides_name() {
        let c = parse(&[("name", "juju-abc")]).unwrap();
        let c = c.with_namespace(Some("mine")).unwrap();
        assert_eq!(c.name.as_deref(), Some("mine"));
        let err = ManagerConfig::default()
            .with_namespace(Some("bad name"))
            .unwrap_err();
        assert_eq!(exit_for(&err), Exit::Config);
    }
}
