//! `lxc-net override` read by Debian's own lxc-net script, inside private
//! mount and network namespaces: our file is bound over /etc/default/lxc-net
//! there, and the bridge it makes exists only in that namespace.

#![allow(clippy::disallowed_methods, clippy::disallowed_types)] // tests build and inspect fake hosts directly

mod support;

use support::system;

const LXC_NET: &str = "/usr/libexec/lxc/lxc-net";

#[test]
fn debians_lxc_net_brings_up_the_bridge_we_asked_for() {
    if !system::available(&[
        LXC_NET,
        "/etc/default/lxc-net",
        "/usr/sbin/dnsmasq",
        "/usr/sbin/iptables",
    ]) {
        return;
    }
    let root = tempfile::tempdir().unwrap();
    let bin = assert_cmd::cargo::cargo_bin("container-init");
    assert_cmd::Command::new(&bin)
        .arg("--root")
        .arg(root.path())
        .args([
            "lxc-net",
            "override",
            "--bridge",
            "br-ci-test",
            "--network",
            "10.250.7.0/24",
        ])
        .assert()
        .code(0);
    let host_default = std::fs::read("/etc/default/lxc-net").unwrap();
    let out = system::in_namespaces(
        r#"
        root=$1
        mount --make-rprivate /
        mount -t sysfs sysfs /sys
        mount -t tmpfs tmpfs /run
        mkdir -p /var/lib/misc
        mount -t tmpfs tmpfs /var/lib/misc
        mount --bind "$root/etc/default/lxc-net" /etc/default/lxc-net
        ip link set lo up
        trap '/usr/libexec/lxc/lxc-net stop >&2 || true' EXIT
        /usr/libexec/lxc/lxc-net start >&2
        ip -4 -o addr show dev br-ci-test
        ip -o link show dev br-ci-test
        tr '\0' ' ' < "/proc/$(cat /run/lxc/dnsmasq.pid)/cmdline"; echo
        "#,
        &[root.path().to_str().unwrap()],
    );
    assert!(out.contains("inet 10.250.7.1/24"), "{out}");
    assert!(out.contains("state UP") || out.contains(",UP"), "{out}");
    assert!(
        out.contains("--dhcp-range 10.250.7.2,10.250.7.254,infinite"),
        "{out}"
    );
    assert!(out.contains("--dhcp-lease-max=253"), "{out}");
    assert_eq!(
        std::fs::read("/etc/default/lxc-net").unwrap(),
        host_default,
        "host file changed"
    );
    assert!(
        !std::path::Path::new("/sys/class/net/br-ci-test").exists(),
        "bridge leaked to the host"
    );
}
