//! Property tests of the parsers that take hostile input: a local manager
//! config (JSON or YAML, arbitrary bytes or nearly valid documents) ends in
//! a config or a data error (65), never a panic or a bug (70); the lxc-net
//! values end in a plan or a refusal. Case counts stay modest for CI.

#![allow(clippy::disallowed_methods, clippy::disallowed_types)] // the cases are written to temporary files

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use clap::Parser;
use container_init::cli::Cli;
use container_init::commands::lxc_net::{LxcNet, Request};
use container_init::config::config_source::read_local;
use container_init::config::manager_config::ManagerConfig;
use container_init::exit::{Exit, exit_for};
use container_init::network::addr::{BridgeAddress, BridgeName, Ipv4Net, parse_ipv4};
use container_init::proxy::NoProxy;
use container_init::secret::Token;
use proptest::prelude::*;

/// A hang guard, far above what a case takes (microseconds to milliseconds).
const CASE_LIMIT: Duration = Duration::from_secs(5);

/// Read `bytes` as `--manager-config FILE` would, then validate them.
fn manager_config_outcome(bytes: &[u8]) -> Result<(), Exit> {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), bytes).unwrap();
    let started = Instant::now();
    let outcome = read_local(file.path())
        .and_then(|values| ManagerConfig::from_values(&values))
        .map(|_| ())
        .map_err(|e| exit_for(&e));
    assert!(started.elapsed() < CASE_LIMIT, "took {:?}", started.elapsed());
    outcome
}

/// Pieces that hostile and nearly valid documents are made of.
fn fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("name".to_string()),
        Just("lxc-default-mtu".to_string()),
        Just("ip-forwarding".to_string()),
        Just("enable-nat".to_string()),
        Just("config".to_string()),
        Just(": ".to_string()),
        Just("\n".to_string()),
        Just("  ".to_string()),
        Just("- ".to_string()),
        Just("? ".to_string()),
        Just("[".to_string()),
        Just("]".to_string()),
        Just("{".to_string()),
        Just("}".to_string()),
        Just(", ".to_string()),
        Just("\"".to_string()),
        Just("'".to_string()),
        Just("#".to_string()),
        Just("&a ".to_string()),
        Just("*a".to_string()),
        Just("!!str ".to_string()),
        Just("|\n".to_string()),
        Just(">-\n".to_string()),
        Just("---\n".to_string()),
        Just("yes".to_string()),
        Just("1500".to_string()),
        Just("~".to_string()),
        Just("\\".to_string()),
        "[a-z0-9./-]{0,12}",
        any::<String>().prop_map(|s| s.chars().take(8).collect()),
    ]
}

fn document() -> impl Strategy<Value = String> {
    prop::collection::vec(fragment(), 0..60).prop_map(|parts| parts.concat())
}

/// A JSON envelope of string values, some of them nested or not strings.
fn json_document() -> impl Strategy<Value = String> {
    let value = prop_oneof![
        any::<String>().prop_map(serde_json::Value::String),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<bool>().prop_map(serde_json::Value::Bool),
        Just(serde_json::json!([[["deep"]]])),
        Just(serde_json::json!({"a": {"b": "c"}})),
        Just(serde_json::Value::Null),
    ];
    prop::collection::btree_map(
        prop_oneof![
            "[a-z-]{1,16}",
            Just("lxc-default-mtu".to_string()),
            Just("name".to_string())
        ],
        value,
        0..8,
    )
    .prop_map(|config| serde_json::json!({ "config": config }).to_string())
}

/// Whether `net` touches 0/8, 127/8, 169.254/16, 224/4 or 240/4.
fn reserved(addr: u32, prefix: u8) -> bool {
    [
        (0x0000_0000u32, 8u8),
        (0x7f00_0000, 8),
        (0xa9fe_0000, 16),
        (0xe000_0000, 4),
        (0xf000_0000, 4),
    ]
    .iter()
    .any(|&(base, len)| {
        let mask = u32::MAX << (32 - prefix.min(len));
        addr & mask == base & mask
    })
}

/// Whitespace a server may break an echoed token with.
fn breaks() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("\n ".to_string()),
        Just("\r\n\t".to_string()),
        Just(" ".to_string()),
        Just("\n".to_string())
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn a_bridge_network_parses_only_outside_the_reserved_ones(addr in any::<u32>(), prefix in 8u8..=30) {
        let network = addr & (u32::MAX << (32 - prefix));
        let text = format!("{}/{prefix}", std::net::Ipv4Addr::from(network));
        let parsed = text.parse::<Ipv4Net>();
        prop_assert_eq!(parsed.is_ok(), !reserved(network, prefix), "{}: {:?}", text, parsed);
        let first = format!("{}/{prefix}", std::net::Ipv4Addr::from(network + 1));
        prop_assert_eq!(first.parse::<BridgeAddress>().is_ok(), !reserved(network, prefix), "{}", first);
    }

    #[test]
    fn a_no_proxy_cidr_with_host_bits_is_refused(addr in any::<u32>(), prefix in 0u8..=32) {
        let host_bits = addr & !u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
        let text = format!("{}/{prefix}", std::net::Ipv4Addr::from(addr));
        prop_assert_eq!(NoProxy::parse(&text).is_ok(), host_bits == 0, "{}", text);
    }

    #[test]
    fn a_token_broken_anywhere_by_whitespace_is_redacted(
        token in "[!-~]{8,48}",
        cuts in prop::collection::vec((any::<prop::sample::Index>(), breaks()), 0..4),
        before in "[a-z :]{0,20}",
        after in "[a-z :]{0,20}",
    ) {
        let mut broken = token.clone();
        let mut places: Vec<(usize, String)> = cuts.iter().map(|(i, b)| (i.index(token.len()), b.clone())).collect();
        places.sort_by_key(|p| std::cmp::Reverse(p.0));
        for (at, b) in places {
            broken.insert_str(at, &b);
        }
        let text = format!("{before} {broken} {after}");
        let shown = Token::new(&token).unwrap().redact(&text, false);
        let squeezed: String = shown.chars().filter(|c| !c.is_whitespace()).collect();
        prop_assert!(!squeezed.contains(&token), "{:?} -> {:?}", text, shown);
        prop_assert!(shown.contains("<redacted>"), "{:?} -> {:?}", text, shown);
    }

    #[test]
    fn a_byte_order_mark_changes_no_outcome(doc in document()) {
        let plain = manager_config_outcome(doc.as_bytes());
        let marked = manager_config_outcome(format!("\u{feff}{doc}").as_bytes());
        prop_assert_eq!(plain, marked, "{:?}", doc);
    }

    #[test]
    fn arbitrary_bytes_are_a_config_or_65(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let outcome = manager_config_outcome(&bytes);
        prop_assert!(matches!(outcome, Ok(()) | Err(Exit::Data)), "{outcome:?}");
    }

    #[test]
    fn yaml_like_documents_are_a_config_or_65(doc in document()) {
        let outcome = manager_config_outcome(doc.as_bytes());
        prop_assert!(matches!(outcome, Ok(()) | Err(Exit::Data)), "{doc:?}: {outcome:?}");
    }

    #[test]
    fn json_envelopes_are_a_config_or_65(doc in json_document()) {
        let outcome = manager_config_outcome(doc.as_bytes());
        prop_assert!(matches!(outcome, Ok(()) | Err(Exit::Data)), "{doc:?}: {outcome:?}");
    }

    #[test]
    fn any_string_values_validate_or_are_65(
        values in prop::collection::btree_map(
            prop_oneof![
                Just("name".to_string()), Just("log-dir".to_string()), Just("availability-zone".to_string()),
                Just("lxc-default-mtu".to_string()), Just("ip-forwarding".to_string()),
                Just("enable-nat".to_string()), Just("lxd-snap-channel".to_string()), any::<String>(),
            ],
            any::<String>(),
            0..10,
        )
    ) {
        let values: BTreeMap<String, String> = values;
        match ManagerConfig::from_values(&values) {
            Ok(_) => {}
            Err(e) => prop_assert_eq!(exit_for(&e), Exit::Data, "{}", e),
        }
    }

    #[test]
    fn lxc_net_values_parse_or_are_refused(text in any::<String>(), a in any::<u32>(), b in any::<u32>(), c in any::<u32>(), prefix in 0u8..40, max in any::<u32>()) {
        let _ = text.parse::<BridgeName>();
        let _ = text.parse::<Ipv4Net>();
        let _ = parse_ipv4(&text);
        let network = Ipv4Net::new(std::net::Ipv4Addr::from(a & !(u32::MAX.checked_shr(u32::from(prefix)).unwrap_or(0))), prefix).ok();
        let request = Request {
            bridge: text.parse().ok(),
            network,
            address: Some(std::net::Ipv4Addr::from(b)),
            dhcp_range: Some((std::net::Ipv4Addr::from(b.min(c)), std::net::Ipv4Addr::from(c))),
            dhcp_max: Some(max),
            ..Request::default()
        };
        let _ = LxcNet::plan(&request);
        let _ = LxcNet::plan(&Request { network, ..Request::default() });
    }

    #[test]
    fn lxc_net_options_parse_or_are_usage_errors(value in any::<String>(), option in prop_oneof![
        Just("--bridge"), Just("--network"), Just("--address"), Just("--dhcp-range"), Just("--dhcp-max"),
    ]) {
        // clap's own failures are usage errors (64); none panics.
        let _ = Cli::try_parse_from(["container-init", "lxc-net", "override", option, &value]);
    }
}
