//! Where the manager config comes from: a local file, the controller, or the
//! built-in defaults, in that order of preference.

use std::collections::BTreeMap;
use std::path::Path;

use crate::config::limits::{cut, quote, shown_path};
use crate::config::manager_config::ManagerConfig;
use crate::config::settings::Settings;
use crate::container_type::ContainerType;
use crate::controller;
use crate::exit::{Exit, coded};
use crate::host;

/// A validated manager config and a few words on where it came from.
#[derive(Debug, Clone)]
pub struct Sourced {
    pub config: ManagerConfig,
    pub source: Source,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    BuiltIn,
    File(String),
    Controller(String),
}

impl Source {
    pub fn describe(&self) -> String {
        match self {
            Source::BuiltIn => "built-in defaults".into(),
            Source::File(path) => format!("from {path}"),
            Source::Controller(origin) => format!("from the controller at {origin}"),
        }
    }
}

pub fn obtain(settings: &Settings, ty: ContainerType, local: Option<&Path>) -> anyhow::Result<Sourced> {
    let (values, source) = if let Some(path) = local {
        (read_local(path)?, Source::File(shown_path(path)))
    } else if let Some(controller) = &settings.controller {
        let origin = controller::request_url(controller, ty)?
            .origin()
            .ascii_serialization();
        (controller::fetch(controller, ty)?, Source::Controller(origin))
    } else {
        return Ok(Sourced {
            config: ManagerConfig::builtin().with_namespace(settings.namespace.as_deref())?,
            source: Source::BuiltIn,
        });
    };
    let config = ManagerConfig::from_values(&values)?.with_namespace(settings.namespace.as_deref())?;
    if !config.unknown.is_empty() {
        // One line, however many: 30,000 keys are one finding, not 30,000.
        log::warn!(
            "the manager config has {} key(s) this version of container-init does not know ({}); \
             they are kept but not used",
            config.unknown.len(),
            unknown_keys(&config)
        );
    }
    Ok(Sourced { config, source })
}

/// The unknown keys of `config`, quoted, as many as fit in a message.
pub fn unknown_keys(config: &ManagerConfig) -> String {
    let listed: Vec<String> = config.unknown.keys().map(|k| quote(k)).collect();
    cut(&listed.join(", "))
}

/// A local manager config: the controller's JSON document, or a flat YAML
/// mapping of the same keys (`-` is stdin). YAML numbers and booleans count
/// as their string forms.
pub fn read_local(path: &Path) -> anyhow::Result<BTreeMap<String, String>> {
    let shown = shown_path(path);
    let bytes = host::read_named(path).map_err(|e| {
        coded(
            Exit::Data,
            format!("cannot read manager config {shown}: {e}; fix --manager-config"),
        )
    })?;
    let text = String::from_utf8(bytes).map_err(|_| {
        coded(
            Exit::Data,
            format!("manager config {shown} is not UTF-8 text; fix --manager-config"),
        )
    })?;
    parse_local(&text).map_err(|why| coded(Exit::Data, format!("invalid manager config {shown}: {why}")))
}

pub fn parse_local(text: &str) -> Result<BTreeMap<String, String>, String> {
    // A byte order mark, as Windows editors write one, is not content.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    crate::config::yaml_shape::check_flat(text)?;
    let doc: serde_yaml::Value = serde_yaml::from_str(text).map_err(|e| match e.location() {
        Some(at) => format!("line {} column {}: {e}", at.line(), at.column()),
        None => e.to_string(),
    })?;
    let map = match doc {
        serde_yaml::Value::Null => return Ok(BTreeMap::new()),
        serde_yaml::Value::Mapping(m) => m,
        _ => return Err("it is not a mapping of keys to values".into()),
    };
    // The controller's envelope, {"config": {...}}, or the mapping itself.
    let map = match (map.len(), map.get("config")) {
        (1, Some(serde_yaml::Value::Mapping(inner))) => inner.clone(),
        _ => map,
    };
    let mut out = BTreeMap::new();
    for (key, value) in map {
        let key = scalar(&key).ok_or("a key is not a plain string")?;
        let value = scalar(&value)
            .ok_or_else(|| format!("the value of {} is not a string, number or boolean", quote(&key)))?;
        out.insert(key, value);
    }
    Ok(out)
}

fn scalar(v: &serde_yaml::Value) -> Option<String> {
    match v {
        serde_yaml::Value::String(s) => Some(s.clone()),
        serde_yaml::Value::Number(n) => Some(n.to_string()),
        serde_yaml::Value::Bool(b) => Some(b.to_string()),
        serde_yaml::Value::Null => Some(String::new()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_envelope_and_flat_yaml_read_the_same() {
        let json =
            parse_local(r#"{"config": {"lxc-default-mtu": "1450", "ip-forwarding": "true"}}"#).unwrap();
        let yaml = parse_local("lxc-default-mtu: 1450\nip-forwarding: true\n").unwrap();
        assert_eq!(json, yaml);
        assert_eq!(yaml["lxc-default-mtu"], "1450");
        assert_eq!(yaml["ip-forwarding"], "true");
    }

    #[test]
    fn a_byte_order_mark_is_dropped() {
        let yaml = parse_local("\u{feff}lxc-default-mtu: 1450\nip-forwarding: true\n").unwrap();
        assert_eq!(yaml["lxc-default-mtu"], "1450");
        assert_eq!(yaml.len(), 2);
    }

    #[test]
    fn nested_values_are_refused_with_the_key() {
        let err = parse_local("a:\n  b: c\n").unwrap_err();
        assert!(err.contains("\"a\""), "{err}");
        assert!(parse_local("- a\n").is_err());
        assert!(parse_local("a: [\n").unwrap_err().contains("line"));
    }
}
