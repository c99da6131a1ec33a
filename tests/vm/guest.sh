#!/bin/sh
# Runs inside a VM of the VM tests (tests/vm_debian.rs), as root.
#
#   guest.sh testhost          the test host: a network namespace behind a veth
#                              on TEST-NET (198.51.100.2), serving one page; it
#                              has no route to any guest, so only NAT gets
#                              answers home
#   guest.sh guest TYPE NAME   a busybox guest of TYPE (lxd, incus, lxc): it
#                              must get a DHCP lease and fetch that page; prints
#                              `LEASE <address>` and `OUT ok`, or says what it
#                              saw and exits 1; the guest is deleted at the end
set -eu

NS=ci-vm-host
HOST_IF=ci-vm-h0
TEST_HOST=198.51.100.2
BODY="container-init vm test host"
IMAGE=ci-vm-busybox

testhost() {
    if ! ip netns list | grep -qw "$NS"; then
        ip netns add "$NS"
        ip link add "$HOST_IF" type veth peer name eth0 netns "$NS"
        ip addr add 198.51.100.1/24 dev "$HOST_IF"
        ip link set "$HOST_IF" up
        ip -n "$NS" addr add "$TEST_HOST/24" dev eth0
        ip -n "$NS" link set eth0 up
        ip -n "$NS" link set lo up
    fi
    mkdir -p /run/ci-vm-www
    echo "$BODY" > /run/ci-vm-www/index.html
    if [ -z "$(ip netns pids "$NS")" ]; then
        # busybox httpd without -f goes to the background by itself.
        ip netns exec "$NS" busybox httpd -p 80 -h /run/ci-vm-www
    fi
    echo "TESTHOST $TEST_HOST"
}

# From inside the guest: a ping, then the page over TCP (busybox nc: the
# static busybox's wget crashes).
reaches() {
    $exec ping -c 1 -W 3 "$TEST_HOST" >/dev/null 2>&1 &&
        printf 'GET / HTTP/1.0\r\n\r\n' | $exec nc -w 5 "$TEST_HOST" 80 2>/dev/null | grep -q "$BODY"
}

diagnose() {
    echo "--- in the guest: ip addr; ip route"
    $exec ip addr 2>&1 || true
    $exec ip route 2>&1 || true
    echo "--- on the VM: ip -br addr; ip route; sysctl"
    ip -br addr || true
    ip route || true
    sysctl net.ipv4.ip_forward || true
    echo "--- nft list ruleset"
    nft list ruleset 2>&1 | head -n 200 || true
    if command -v iptables-save >/dev/null; then
        echo "--- iptables-save"
        iptables-save 2>&1 | head -n 200 || true
    fi
}

guest() {
    ty=$1
    name=$2
    case $ty in
        lxd | incus)
            client=lxc
            [ "$ty" = incus ] && client=incus
            if ! $client image info "$IMAGE" >/dev/null 2>&1; then
                sh /root/busybox-image.sh "/root/ci-vm-image-$ty" "$IMAGE" "$client" >/dev/null
            fi
            $client launch "$IMAGE" "$name" -q
            exec="$client exec $name --"
            lease() { $client list "$name" --format csv -c 4 | grep -o '^[0-9.]*' || true; }
            remove() { $client delete --force "$name" >/dev/null 2>&1 || true; }
            ;;
        lxc)
            lxc-create -q -n "$name" -t busybox >/dev/null
            lxc-start -n "$name"
            exec="lxc-attach -n $name --"
            lease() { lxc-info -n "$name" -iH | head -n 1; }
            remove() { lxc-stop -k -n "$name" >/dev/null 2>&1 || true; lxc-destroy -n "$name" >/dev/null 2>&1 || true; }
            ;;
        *) echo "unknown guest type $ty" >&2; exit 64 ;;
    esac
    address=
    for _ in $(seq 1 120); do
        address=$(lease)
        [ -n "$address" ] && break
        sleep 1
    done
    if [ -z "$address" ]; then
        echo "LEASE none"
        diagnose
        remove
        exit 1
    fi
    echo "LEASE $address"
    for _ in $(seq 1 12); do
        if reaches; then
            echo "OUT ok"
            remove
            return 0
        fi
        sleep 5
    done
    echo "OUT failed: $name ($address) cannot reach $TEST_HOST"
    diagnose
    remove
    exit 1
}

case ${1:-} in
    testhost) testhost ;;
    guest) guest "${2:?type}" "${3:?name}" ;;
    *) echo "usage: guest.sh testhost | guest TYPE NAME" >&2; exit 64 ;;
esac
