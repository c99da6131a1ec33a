//! The tool's own settings: command-line flag, then environment, then the
//! YAML config file, then the built-in default.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::config::limits::shown_path;
use crate::exit::{Exit, coded};
use crate::host::{self, Host};
use crate::network::addr::BridgeAddress;
use crate::network::ipv6::BridgeIpv6;
use crate::runtime::storage::{Driver, Request, Size, Source};
use crate::secret::Token;

pub const DEFAULT_CONFIG_PATH: &str = "/etc/container-init/config.yaml";
pub const TOKEN_ENV: &str = "CONTAINER_INIT_TOKEN";
/// The most any query, start or readiness wait on a runtime may take.
pub use crate::host::DEFAULT_RUNTIME_TIMEOUT;
/// Bounds of `--runtime-timeout` and `runtime-timeout`, in seconds.
pub const RUNTIME_TIMEOUT_RANGE: std::ops::RangeInclusive<u64> = 1..=86_400;

/// `/etc/container-init/config.yaml`. Unknown keys are errors: a typo in a
/// file that steers a host should not pass silently.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ConfigFile {
    #[serde(default)]
    pub controller: ControllerSection,
    pub machine: Option<StringOrNumber>,
    pub namespace: Option<String>,
    pub address_allocation: Option<bool>,
    /// The bridge's address instead of the first free /24.
    pub bridge_subnet: Option<String>,
    /// `none`, `auto` or an address/64 for the bridge's IPv6.
    pub bridge_ipv6: Option<String>,
    /// Open the runtime's bridge in Docker, ufw and firewalld (default true).
    pub manage_firewall: Option<bool>,
    /// Seconds; `--runtime-timeout` and its environment variable win.
    pub runtime_timeout: Option<u64>,
    /// LXD/Incus pool `default`: dir, btrfs, lvm or zfs.
    pub storage_driver: Option<String>,
    pub storage_source: Option<String>,
    pub storage_size: Option<String>,
    pub storage_wipe: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ControllerSection {
    pub url: Option<String>,
    pub token_file: Option<PathBuf>,
    pub ca_cert: Option<PathBuf>,
}

/// `machine: 4` and `machine: "4"` mean the same machine.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum StringOrNumber {
    String(String),
    Number(u64),
}

impl StringOrNumber {
    fn into_string(self) -> String {
        match self {
            StringOrNumber::String(s) => s,
            StringOrNumber::Number(n) => n.to_string(),
        }
    }
}

impl ConfigFile {
    /// The explicitly named file (which must exist), or the default one under
    /// `--root` when it exists. Either must parse (78 naming file and line).
    pub fn load(explicit: Option<&Path>, host: &Host) -> anyhow::Result<(ConfigFile, Option<PathBuf>)> {
        let (text, path) = match explicit {
            Some(path) => {
                let text = host::read_named_text(path).map_err(|e| {
                    coded(
                        Exit::Config,
                        format!(
                            "cannot read config file {}: {e}; fix --config or CONTAINER_INIT_CONFIG",
                            shown_path(path)
                        ),
                    )
                })?;
                (text, path.to_path_buf())
            }
            // The host's own file: a regular file, or an error at once.
            None => {
                let path = host.shown(DEFAULT_CONFIG_PATH);
                let cannot = |why: String| {
                    coded(
                        Exit::Config,
                        format!(
                            "cannot read config file {}: {why}; fix it or remove it",
                            path.display()
                        ),
                    )
                };
                let Some(bytes) = host
                    .read_file(DEFAULT_CONFIG_PATH)
                    .map_err(|e| cannot(e.to_string()))?
                else {
                    return Ok((ConfigFile::default(), None));
                };
                let text = String::from_utf8(bytes).map_err(|_| cannot("it is not UTF-8 text".into()))?;
                (text, path)
            }
        };
        let file = ConfigFile::parse(&text).map_err(|why| {
            coded(
                Exit::Config,
                format!("invalid config file {}: {why}", shown_path(&path)),
            )
        })?;
        Ok((file, Some(path)))
    }

    pub fn parse(text: &str) -> Result<ConfigFile, String> {
        // A byte order mark, as Windows editors write one, is not content.
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        if text.trim().is_empty() {
            return Ok(ConfigFile::default());
        }
        crate::config::yaml_shape::check_flat(text)?;
        serde_yaml::from_str(text).map_err(|e| match e.location() {
            Some(at) => format!("line {} column {}: {e}", at.line(), at.column()),
            None => e.to_string(),
        })
    }
}

/// What the command line and environment say; `None` means "not given".
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub controller: Option<String>,
    pub token_file: Option<PathBuf>,
    pub ca_cert: Option<PathBuf>,
    pub machine: Option<String>,
    pub namespace: Option<String>,
    pub address_allocation: Option<bool>,
    pub timeout: Duration,
    /// Seconds, from `--runtime-timeout` or `CONTAINER_INIT_RUNTIME_TIMEOUT`.
    pub runtime_timeout: Option<u64>,
    /// `--bridge-ipv6`, already validated.
    pub bridge_ipv6: Option<BridgeIpv6>,
    /// `--storage-*`, each already validated on its own.
    pub storage: StorageFlags,
}

/// The storage flags of `setup` and `check`.
#[derive(Debug, Clone, Default)]
pub struct StorageFlags {
    pub driver: Option<Driver>,
    pub source: Option<Source>,
    pub size: Option<Size>,
    pub wipe: Option<bool>,
}

/// Where and how to reach the controller.
#[derive(Debug, Clone)]
pub struct ControllerSettings {
    pub url: String,
    pub token: Option<Token>,
    pub ca_cert: Option<PathBuf>,
    pub machine: Option<String>,
    /// The whole budget for the fetch, retries included.
    pub timeout: Duration,
}

#[derive(Debug, Clone)]
pub struct Settings {
    /// `None` when no controller is configured anywhere.
    pub controller: Option<ControllerSettings>,
    pub namespace: Option<String>,
    pub address_allocation: bool,
    /// `bridge-subnet`: validated here; its overlap with the host's networks
    /// is for the step that creates the bridge to refuse (65).
    pub bridge_subnet: Option<BridgeAddress>,
    /// `bridge-ipv6`, validated (78 from the file, 64 from the flag).
    pub bridge_ipv6: BridgeIpv6,
    pub runtime_timeout: Duration,
    pub manage_firewall: bool,
    /// The LXD/Incus pool `default`.
    pub storage: Request,
}

impl Settings {
    pub fn resolve(
        flags: &Overrides,
        file: ConfigFile,
        env_token: Option<String>,
    ) -> anyhow::Result<Settings> {
        let storage = storage_request(&flags.storage, &file)?;
        let url = flags.controller.clone().or(file.controller.url);
        let token = match (&flags.token_file, env_token, &file.controller.token_file) {
            (Some(path), _, _) => Some(read_token_file(path)?),
            (None, Some(raw), _) => Some(Token::new(&raw).map_err(|why| {
                coded(
                    Exit::Config,
                    format!("the token in {TOKEN_ENV} {why}; set it to the controller's token"),
                )
            })?),
            (None, None, Some(path)) => Some(read_token_file(path)?),
            (None, None, None) => None,
        };
        let ca_cert = flags.ca_cert.clone().or(file.controller.ca_cert);
        let machine = flags
            .machine
            .clone()
            .or(file.machine.map(StringOrNumber::into_string));
        let controller = match url {
            Some(url) => Some(ControllerSettings {
                url,
                token,
                ca_cert,
                machine,
                timeout: flags.timeout,
            }),
            None => {
                if flags.token_file.is_some() || flags.ca_cert.is_some() {
                    return Err(coded(
                        Exit::Config,
                        "--token-file or --ca-cert was given but no controller URL; \
                         add --controller URL, CONTAINER_INIT_CONTROLLER or controller.url in the config file",
                    ));
                }
                None
            }
        };
        let bridge_subnet = file
            .bridge_subnet
            .as_deref()
            .map(|text| {
                text.parse::<BridgeAddress>()
                    .map_err(|why| coded(Exit::Config, format!("bridge-subnet in the config file: {why}")))
            })
            .transpose()?;
        let bridge_ipv6 = match (flags.bridge_ipv6, file.bridge_ipv6.as_deref()) {
            (Some(flag), _) => flag,
            (None, Some(text)) => text
                .parse::<BridgeIpv6>()
                .map_err(|why| coded(Exit::Config, format!("bridge-ipv6 in the config file: {why}")))?,
            (None, None) => BridgeIpv6::None,
        };
        let runtime_timeout = match (flags.runtime_timeout, file.runtime_timeout) {
            (Some(secs), _) => Duration::from_secs(secs),
            (None, Some(secs)) if RUNTIME_TIMEOUT_RANGE.contains(&secs) => Duration::from_secs(secs),
            (None, Some(secs)) => {
                return Err(coded(
                    Exit::Config,
                    format!(
                        "runtime-timeout: {secs} in the config file is out of range; give {} to {} seconds",
                        RUNTIME_TIMEOUT_RANGE.start(),
                        RUNTIME_TIMEOUT_RANGE.end()
                    ),
                ));
            }
            (None, None) => DEFAULT_RUNTIME_TIMEOUT,
        };
        Ok(Settings {
            storage,
            bridge_subnet,
            bridge_ipv6,
            runtime_timeout,
            controller,
            namespace: flags.namespace.clone().or(file.namespace),
            address_allocation: flags
                .address_allocation
                .or(file.address_allocation)
                .unwrap_or(false),
            manage_firewall: file.manage_firewall.unwrap_or(true),
        })
    }
}

/// Flags over the file, each value checked, then the values together.
pub fn storage_request(flags: &StorageFlags, file: &ConfigFile) -> anyhow::Result<Request> {
    fn from_file<T: std::str::FromStr<Err = String>>(value: &Option<String>) -> anyhow::Result<Option<T>> {
        value
            .as_deref()
            .map(|v| {
                v.parse::<T>()
                    .map_err(|why| coded(Exit::Config, format!("in the config file: {why}")))
            })
            .transpose()
    }
    let driver = match flags.driver {
        Some(d) => Some(d),
        None => from_file::<Driver>(&file.storage_driver)?,
    };
    let source = match &flags.source {
        Some(s) => Some(s.clone()),
        None => from_file::<Source>(&file.storage_source)?,
    };
    let size = match flags.size {
        Some(s) => Some(s),
        None => from_file::<Size>(&file.storage_size)?,
    };
    let wipe = flags.wipe.or(file.storage_wipe).unwrap_or(false);
    Request::new(driver, source, size, wipe).map_err(|why| coded(Exit::Config, why))
}

fn read_token_file(path: &Path) -> anyhow::Result<Token> {
    let raw = host::read_named_text(path).map_err(|e| {
        coded(
            Exit::Config,
            format!(
                "cannot read token file {}: {e}; fix --token-file or controller.token-file",
                shown_path(path)
            ),
        )
    })?;
    // As ssh does with a key file, if only as a warning: a secret that
    // every user of the host can read is no longer one.
    if let Some(mode) = host::named_file_mode(path).filter(|m| m & 0o004 != 0) {
        log::warn!(
            "token file {} is readable by every user of this host (mode {mode:04o}); \
             make it readable by its owner only: chmod 600 {0}",
            shown_path(path)
        );
    }
    Token::new(&raw).map_err(|why| {
        coded(
            Exit::Config,
            format!(
                "token file {} {why}; put the controller's token in it",
                shown_path(path)
            ),
        )
    })
}

#[cfg(test)]
#[allow(clippy::disallowed_methods, clippy::disallowed_types)]
mod tests {
    use super::*;
    use crate::exit::exit_for;

    const FULL: &str = "controller:\n  url: https://10.1.2.3:17070\n  token-file: /etc/container-init/token\n  ca-cert: /etc/container-init/controller-ca.pem\nmachine: \"4\"\nnamespace: juju-machine-4\naddress-allocation: false\n";

    #[test]
    fn the_contracts_example_parses() {
        let f = ConfigFile::parse(FULL).unwrap();
        assert_eq!(f.controller.url.as_deref(), Some("https://10.1.2.3:17070"));
        assert_eq!(f.namespace.as_deref(), Some("juju-machine-4"));
        assert_eq!(f.address_allocation, Some(false));
        assert_eq!(f.machine.unwrap().into_string(), "4");
        assert_eq!(
            ConfigFile::parse("machine: 7\n")
                .unwrap()
                .machine
                .unwrap()
                .into_string(),
            "7"
        );
    }

    #[test]
    fn bridge_subnet_is_validated_as_a_config_error() {
        let ok = ConfigFile::parse("bridge-subnet: 172.20.0.1/24\n").unwrap();
        let s = Settings::resolve(&Overrides::default(), ok, None).unwrap();
        assert_eq!(s.bridge_subnet.unwrap().to_string(), "172.20.0.1/24");
        let bad = ConfigFile::parse("bridge-subnet: \"10.0.0.0/24\\nx\"\n").unwrap();
        let err = Settings::resolve(&Overrides::default(), bad, None).unwrap_err();
        assert_eq!(exit_for(&err), Exit::Config);
        assert!(err.to_string().contains("bridge-subnet"), "{err}");
    }

    #[test]
    fn bridge_ipv6_flag_then_file_then_none() {
        let file = || ConfigFile::parse("bridge-ipv6: fd42:7:8:9::1/64\n").unwrap();
        let s = Settings::resolve(&Overrides::default(), file(), None).unwrap();
        assert_eq!(s.bridge_ipv6.to_string(), "fd42:7:8:9::1/64");
        let flags = Overrides {
            bridge_ipv6: Some(BridgeIpv6::Auto),
            ..Overrides::default()
        };
        assert_eq!(
            Settings::resolve(&flags, file(), None).unwrap().bridge_ipv6,
            BridgeIpv6::Auto
        );
        let none = Settings::resolve(&Overrides::default(), ConfigFile::default(), None).unwrap();
        assert_eq!(none.bridge_ipv6, BridgeIpv6::None);
        let bad = ConfigFile::parse("bridge-ipv6: \"fd42::1/64\\nLXC_X=$(id)\"\n").unwrap();
        let err = Settings::resolve(&Overrides::default(), bad, None).unwrap_err();
        assert_eq!(exit_for(&err), Exit::Config);
        assert!(
            err.to_string().starts_with("bridge-ipv6 in the config file: "),
            "{err}"
        );
    }

    #[test]
    fn errors_name_the_line() {
        let err = ConfigFile::parse("controller:\n  url: x\n  tokenfile: y\n").unwrap_err();
        assert!(err.starts_with("line 3 "), "{err}");
        let err = ConfigFile::parse("machine: [\n").unwrap_err();
        assert!(err.contains("line "), "{err}");
        let err = ConfigFile::parse("address-allocation: maybe\n").unwrap_err();
        assert!(err.starts_with("line 1 "), "{err}");
    }

    #[test]
    fn flags_beat_the_file() {
        let flags = Overrides {
            controller: Some("https://flag".into()),
            machine: Some("9".into()),
            timeout: Duration::from_secs(3),
            ..Overrides::default()
        };
        let file =
            ConfigFile::parse("controller:\n  url: https://file\nmachine: 4\nnamespace: ns\n").unwrap();
        let s = Settings::resolve(&flags, file, None).unwrap();
        let c = s.controller.unwrap();
        assert_eq!(c.url, "https://flag");
        assert_eq!(c.machine.as_deref(), Some("9"));
        assert_eq!(s.namespace.as_deref(), Some("ns"));
    }

    #[test]
    fn runtime_timeout_flag_then_file_then_default() {
        let file = || ConfigFile::parse("runtime-timeout: 30\n").unwrap();
        let resolve = |flag: Option<u64>, file: ConfigFile| {
            let flags = Overrides {
                runtime_timeout: flag,
                ..Overrides::default()
            };
            Settings::resolve(&flags, file, None).map(|s| s.runtime_timeout)
        };
        assert_eq!(resolve(Some(5), file()).unwrap(), Duration::from_secs(5));
        assert_eq!(resolve(None, file()).unwrap(), Duration::from_secs(30));
        assert_eq!(
            resolve(None, ConfigFile::default()).unwrap(),
            DEFAULT_RUNTIME_TIMEOUT
        );
        let err = resolve(None, ConfigFile::parse("runtime-timeout: 0\n").unwrap()).unwrap_err();
        assert_eq!(exit_for(&err), Exit::Config);
        assert!(err.to_string().contains("runtime-timeout: 0"), "{err}");
    }

    #[test]
    fn token_precedence_flag_then_env_then_file() {
        let dir = tempfile::tempdir().unwrap();
        let flag_file = dir.path().join("flag");
        let conf_file = dir.path().join("conf");
        std::fs::write(&flag_file, "from-flag\n").unwrap();
        std::fs::write(&conf_file, "from-file\n").unwrap();
        let file = || ConfigFile {
            controller: ControllerSection {
                url: Some("https://c".into()),
                token_file: Some(conf_file.clone()),
                ca_cert: None,
            },
            ..ConfigFile::default()
        };
        let bearer = |flags: &Overrides, env: Option<&str>| {
            let s = Settings::resolve(flags, file(), env.map(str::to_string)).unwrap();
            s.controller.unwrap().token.unwrap().bearer()
        };
        let with_flag = Overrides {
            token_file: Some(flag_file.clone()),
            ..Overrides::default()
        };
        assert_eq!(bearer(&with_flag, Some("from-env")), "Bearer from-flag");
        assert_eq!(bearer(&Overrides::default(), Some("from-env")), "Bearer from-env");
        assert_eq!(bearer(&Overrides::default(), None), "Bearer from-file");
    }

    #[test]
    fn a_missing_token_file_is_78_without_a_controller_it_is_78_too() {
        let flags = Overrides {
            controller: Some("https://c".into()),
            token_file: Some("/nonexistent/token".into()),
            ..Overrides::default()
        };
        let err = Settings::resolve(&flags, ConfigFile::default(), None).unwrap_err();
        assert_eq!(exit_for(&err), Exit::Config);
        assert!(err.to_string().contains("/nonexistent/token"));
        let flags = Overrides {
            ca_cert: Some("/x".into()),
            ..Overrides::default()
        };
        let err = Settings::resolve(&flags, ConfigFile::default(), None).unwrap_err();
        assert_eq!(exit_for(&err), Exit::Config);
    }
}
