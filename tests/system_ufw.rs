//! Real ufw, in a private network and mount namespace (never this machine's
//! own firewall): a bridge with a DHCP server, a veth "guest" in its own
//! namespace, an uplink to a test host on 198.51.100.0/24. With ufw's
//! defaults the guest gets no lease and no way out, and `check lxc` names
//! ufw; `setup lxc` allows the bridge in and routed, and then the guest gets
//! both; a rerun changes nothing. ufw's files are copies bind-mounted over
//! /etc/ufw, so the machine's own stay as they were.

#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod support;

const SCRIPT: &str = r#"
BIN=$1 WORK=$2
mount -t sysfs sysfs /sys
mount -t tmpfs tmpfs /run/lock
mkdir -p /run/netns && mount -t tmpfs tmpfs /run/netns
cp -a /etc/ufw "$WORK/etc-ufw" && mount --bind "$WORK/etc-ufw" /etc/ufw
# setup may persist forwarding (Docker is installed here) or an MTU: into copies.
for d in /etc/sysctl.d /etc/lxc; do
  mkdir -p "$d" "$WORK/copy$d" && cp -a "$d/." "$WORK/copy$d/" && mount --bind "$WORK/copy$d" "$d"
done
sed 's|^IPT_SYSCTL=.*|IPT_SYSCTL=/dev/null|' /etc/default/ufw > "$WORK/default-ufw"
mount --bind "$WORK/default-ufw" /etc/default/ufw
ip link set lo up

# The uplink, and the test host behind it.
ip netns add outside
ip link add up0 type veth peer name eth0 netns outside
ip addr add 198.51.100.1/24 dev up0
ip link set up0 up
ip -n outside addr add 198.51.100.2/24 dev eth0
ip -n outside link set eth0 up
ip -n outside link set lo up
ip route add default via 198.51.100.2 dev up0
mkdir -p "$WORK/www" && echo ok-from-test-host > "$WORK/www/index.html"
ip netns exec outside busybox httpd -p 80 -h "$WORK/www"

# The bridge as lxc-net makes it: address, NAT, forwarding, dnsmasq.
ip link add lxcbr0 type bridge
ip addr add 10.0.3.1/24 dev lxcbr0
ip link set lxcbr0 up
echo 1 > /proc/sys/net/ipv4/ip_forward
nft add table ip ci-nat
nft 'add chain ip ci-nat post { type nat hook postrouting priority 100; }'
nft add rule ip ci-nat post ip saddr 10.0.3.0/24 oifname up0 masquerade
dnsmasq --conf-file=/dev/null --bind-interfaces --listen-address 10.0.3.1 --interface lxcbr0 \
  --except-interface lo --dhcp-range 10.0.3.2,10.0.3.254 --pid-file="$WORK/dnsmasq.pid" \
  --dhcp-leasefile="$WORK/leases"

# The guest.
ip netns add guest
ip link add vg0 type veth peer name eth0 netns guest
ip link set vg0 master lxcbr0 up
ip -n guest link set eth0 up
ip -n guest link set lo up
cat > "$WORK/udhcpc.script" <<'EOS'
#!/bin/sh
case "$1" in
  bound|renew)
    ip addr flush dev "$interface"
    ip addr add "$ip/${mask:-24}" dev "$interface"
    [ -z "${router:-}" ] || ip route replace default via ${router%% *} dev "$interface" ;;
esac
EOS
chmod +x "$WORK/udhcpc.script"
# dnsmasq pings an address for up to 3 s before it offers it: wait longer.
lease() { ip netns exec guest busybox udhcpc -i eth0 -n -q -t 4 -T 2 -s "$WORK/udhcpc.script" >/dev/null 2>&1; }
# busybox's nc: Debian's static busybox wget crashes.
out() {
  printf 'GET / HTTP/1.0\r\n\r\n' | ip netns exec guest busybox nc -w 3 198.51.100.2 80 2>/dev/null \
    | grep -q ok-from-test-host
}

ufw --force enable >/dev/null
if lease; then echo "before: lease"; else echo "before: no lease"; fi
# A guest with a static address, to try the way out without DHCP.
ip -n guest addr add 10.0.3.200/24 dev eth0
ip -n guest route add default via 10.0.3.1
if out; then echo "before: out"; else echo "before: not out"; fi
ip -n guest addr flush dev eth0

set +e
"$BIN" check lxc > "$WORK/check-before" 2>&1
echo "check before: $?"
"$BIN" setup lxc --output json > "$WORK/setup" 2>&1
echo "setup: $?"
iptables-save | grep -v '^#' > "$WORK/rules-1"
"$BIN" setup lxc --output json > "$WORK/setup-again" 2>&1
echo "setup again: $?"
iptables-save | grep -v '^#' > "$WORK/rules-2"
"$BIN" check lxc > "$WORK/check-after" 2>&1
echo "check after: $?"
set -e
if lease; then echo "after: lease"; else echo "after: no lease"; fi
if out; then echo "after: out"; else echo "after: not out"; fi
ufw status | grep -i lxcbr0 > "$WORK/ufw-status" || true
kill "$(cat "$WORK/dnsmasq.pid")"
ip netns pids outside | xargs -r kill
"#;

#[test]
fn ufw_in_a_namespace_lets_the_guest_in_and_out_only_after_setup() {
    if !support::system::available(&[
        "/usr/sbin/ufw",
        "/usr/sbin/dnsmasq",
        "/bin/busybox",
        "/usr/bin/lxc-ls",
    ]) {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let bin = assert_cmd::cargo::cargo_bin("container-init");
    let log = support::system::in_namespaces(SCRIPT, &[bin.to_str().unwrap(), work.path().to_str().unwrap()]);
    let read = |name: &str| std::fs::read_to_string(work.path().join(name)).unwrap_or_default();
    let steps = |name: &str| {
        let doc: serde_json::Value = serde_json::from_str(&read(name))
            .unwrap_or_else(|e| panic!("{name} is not JSON ({e}): {}\n{log}", read(name)));
        doc
    };
    assert_eq!(
        log.lines().collect::<Vec<_>>(),
        [
            "before: no lease",
            "before: not out",
            "check before: 69",
            "setup: 0",
            "setup again: 0",
            "check after: 0",
            "after: lease",
            "after: out",
        ],
        "{log}\ncheck before:\n{}\nsetup:\n{}\nsetup again:\n{}\ncheck after:\n{}",
        read("check-before"),
        read("setup"),
        read("setup-again"),
        read("check-after")
    );
    let check_before = read("check-before");
    assert!(
        check_before
            .lines()
            .any(|l| l.starts_with("FAIL  firewall")
                && l.contains("ufw drops lxcbr0's DHCP requests to the host")),
        "{check_before}"
    );
    let setup = steps("setup");
    let coexistence = setup["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "coexistence")
        .unwrap()
        .clone();
    assert_eq!(coexistence["status"], "changed", "{setup}");
    assert!(
        coexistence["detail"]
            .as_str()
            .unwrap()
            .starts_with("ufw opened for "),
        "{setup}"
    );
    assert_eq!(steps("setup-again")["changed"], false, "{}", read("setup-again"));
    assert_eq!(read("rules-1"), read("rules-2"), "a rerun changed the rules");
    let status = read("ufw-status");
    assert!(
        status.contains("ALLOW") && status.contains("on lxcbr0"),
        "{status}"
    );
}
