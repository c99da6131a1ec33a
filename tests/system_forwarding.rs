//! `forwarding` against the real kernel, inside a private network namespace
//! so the host's own sysctls are never touched. `--root` points at a temporary
//! tree with the real /proc bound into it, so /etc stays the host's own too.

#![allow(clippy::disallowed_methods, clippy::disallowed_types)] // tests build and inspect fake hosts directly

mod support;

use support::system;

const HOST_KEYS: [&str; 2] = [
    "/proc/sys/net/ipv4/ip_forward",
    "/proc/sys/net/ipv4/conf/all/proxy_arp",
];

fn host_values() -> Vec<String> {
    HOST_KEYS
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect()
}

#[test]
fn enable_sets_the_kernel_and_sysctl_loads_our_file() {
    if !system::available(&["/usr/sbin/sysctl"]) {
        return;
    }
    let host_before = host_values();
    let root = tempfile::tempdir().unwrap();
    let bin = assert_cmd::cargo::cargo_bin("container-init");
    let out = system::in_namespaces(
        r#"
        root=$1; bin=$2
        mount --make-rprivate /
        mkdir -p "$root/proc"
        mount --bind /proc "$root/proc"
        echo 0 > /proc/sys/net/ipv4/ip_forward
        echo 0 > /proc/sys/net/ipv4/conf/all/proxy_arp
        "$bin" --root "$root" forwarding enable >&2
        echo "after-enable $(cat /proc/sys/net/ipv4/ip_forward) $(cat /proc/sys/net/ipv4/conf/all/proxy_arp)"
        "$bin" --root "$root" --output json forwarding enable | grep -c '"status": "unchanged"' | sed 's/^/unchanged-steps /'
        echo 0 > /proc/sys/net/ipv4/ip_forward
        echo 0 > /proc/sys/net/ipv4/conf/all/proxy_arp
        sysctl -p "$root/etc/sysctl.d/60-container-init.conf" >&2
        echo "after-sysctl $(cat /proc/sys/net/ipv4/ip_forward) $(cat /proc/sys/net/ipv4/conf/all/proxy_arp)"
        "$bin" --root "$root" forwarding disable >&2
        echo "after-disable $(cat /proc/sys/net/ipv4/ip_forward) $(cat /proc/sys/net/ipv4/conf/all/proxy_arp)"
        "$bin" --root "$root" --check forwarding enable >/dev/null 2>&1 || echo "check-exit $?"
        "#,
        &[root.path().to_str().unwrap(), bin.to_str().unwrap()],
    );
    assert!(out.contains("after-enable 1 1"), "{out}");
    assert!(out.contains("unchanged-steps 2"), "{out}");
    assert!(out.contains("after-sysctl 1 1"), "{out}");
    assert!(out.contains("after-disable 0 0"), "{out}");
    assert!(out.contains("check-exit 2"), "{out}");
    let file = std::fs::read_to_string(root.path().join("etc/sysctl.d/60-container-init.conf")).unwrap();
    assert!(file.contains("net.ipv4.ip_forward = 0\n"), "{file}");
    assert_eq!(host_values(), host_before, "the host's own sysctls changed");
}
