//! What cuts a NAT bridge's guests off besides the firewall, against Debian's
//! own lxc-net and dnsmasq, inside private network and mount namespaces:
//! `/proc/sys/net` is the namespace's own, and /etc/sysctl.d, /run and the
//! tool's record are tmpfs there, so the host's own are never touched.

#![allow(clippy::disallowed_methods)] // tests build and inspect fake hosts directly

mod support;

use support::system;

const LXC_NET: &str = "/usr/libexec/lxc/lxc-net";

/// Mounts that keep what the script and the tool write inside the
/// namespace; `$1` is a scratch directory of the test.
const PRIVATE_MOUNTS: &str = r#"
    scratch=$1
    mount --make-rprivate /
    mount -t sysfs sysfs /sys
    mount -t tmpfs tmpfs /run
    mkdir -p /run/lock
    mount -t tmpfs tmpfs /etc/sysctl.d
    mkdir -p "$scratch/dpkg"
    mount --bind /var/lib/dpkg "$scratch/dpkg"
    mount -t tmpfs tmpfs /var/lib
    mkdir -p /var/lib/dpkg /var/lib/misc
    mount --move "$scratch/dpkg" /var/lib/dpkg
    ip link set lo up
"#;

#[test]
fn forwarding_reset_under_lxc_net_is_turned_back_on_by_setup_lxc() {
    if !system::available(&[LXC_NET, "/usr/sbin/dnsmasq", "/usr/bin/lxc-ls"]) {
        return;
    }
    let scratch = tempfile::tempdir().unwrap();
    let bin = assert_cmd::cargo::cargo_bin("container-init");
    // lxc-net's defaults, whatever the host's own file says.
    std::fs::write(
        scratch.path().join("lxc-net"),
        "USE_LXC_BRIDGE=\"true\"\nLXC_BRIDGE=\"lxcbr0\"\nLXC_ADDR=\"10.0.3.1\"\nLXC_NETMASK=\"255.255.255.0\"\nLXC_NETWORK=\"10.0.3.0/24\"\nLXC_DHCP_RANGE=\"10.0.3.2,10.0.3.254\"\nLXC_DHCP_MAX=\"253\"\n",
    )
    .unwrap();
    let script = format!(
        r#"{PRIVATE_MOUNTS}
        mount --bind "$scratch/lxc-net" /etc/default/lxc-net
        trap '{LXC_NET} stop >&2 || true' EXIT
        {LXC_NET} start >&2
        echo "started: $(cat /proc/sys/net/ipv4/ip_forward)"
        echo 0 > /proc/sys/net/ipv4/ip_forward
        "$2" --output json setup lxc > "$scratch/first.json" || echo "first exit $?"
        echo "after: $(cat /proc/sys/net/ipv4/ip_forward)"
        cat /etc/sysctl.d/60-container-init.conf
        "$2" --output json setup lxc > "$scratch/again.json" || echo "again exit $?"
        "#
    );
    let out = system::in_namespaces(
        &script,
        &[scratch.path().to_str().unwrap(), bin.to_str().unwrap()],
    );
    let read = |name: &str| -> serde_json::Value {
        let text = std::fs::read_to_string(scratch.path().join(name)).unwrap();
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}: {text}\n{out}"))
    };
    assert!(out.contains("started: 1"), "lxc-net turns it on itself: {out}");
    assert!(!out.contains("exit"), "{out}");
    assert!(out.contains("after: 1"), "{out}");
    assert!(out.contains("net.ipv4.ip_forward = 1"), "{out}");
    let first = read("first.json");
    let step = first["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "nat-forwarding")
        .unwrap_or_else(|| panic!("{first}"));
    assert_eq!(step["status"], "changed", "{first}");
    let again = read("again.json");
    assert_eq!(again["changed"], false, "{again}");
}

#[test]
fn a_process_on_udp_53_of_every_address_fails_check_lxc_and_check_lxd() {
    if !system::available(&["/usr/bin/python3", "/usr/bin/ss"]) {
        return;
    }
    let bin = assert_cmd::cargo::cargo_bin("container-init");
    // The holder lives only as long as the namespace's shell: killed on exit.
    let out = system::in_namespaces(
        r#"
        mount --make-rprivate /
        mount -t tmpfs tmpfs /run
        ip link set lo up
        python3 -c 'import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 53))
open("/run/held", "w").close()
time.sleep(600)' &
        holder=$!
        trap 'kill $holder' EXIT
        while [ ! -e /run/held ]; do sleep 0.05; done
        echo "holder $holder"
        for ty in lxc lxd; do
            code=0
            "$1" --output json check "$ty" > /run/check.json || code=$?
            echo "$ty exit $code"
            cat /run/check.json
        done
        "#,
        &[bin.to_str().unwrap()],
    );
    let pid = out
        .lines()
        .find_map(|l| l.strip_prefix("holder "))
        .unwrap_or_else(|| panic!("{out}"));
    for ty in ["lxc", "lxd"] {
        assert!(out.contains(&format!("{ty} exit 69")), "{out}");
    }
    let named = format!("UDP 0.0.0.0:53 is held by python3 (pid {pid}: ");
    for bridge in ["lxcbr0", "lxdbr0"] {
        let reason = out
            .lines()
            .find(|l| l.contains("\"reason\"") && l.contains(&named) && l.contains(bridge))
            .unwrap_or_else(|| panic!("{named} for {bridge}: {out}"));
        assert!(reason.contains("s.bind((\\\"0.0.0.0\\\", 53))"), "{reason}");
    }
}
