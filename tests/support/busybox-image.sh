#!/bin/sh
# Build a tiny busybox-only LXD or Incus container image (unified tarball:
# metadata.yaml + rootfs/) and import it as ALIAS with CLIENT (lxc, the
# default, or incus: both import the same format).
# Needs: busybox-static (apt-get install -y busybox-static), a running daemon.
# Usage: busybox-image.sh WORKDIR ALIAS [CLIENT]
set -eu

WORK=${1:?usage: busybox-image.sh WORKDIR ALIAS}
ALIAS=${2:?usage: busybox-image.sh WORKDIR ALIAS}
CLIENT=${3:-lxc}
BB=/bin/busybox

[ -x "$BB" ] || { echo "missing $BB (apt-get install -y busybox-static)" >&2; exit 1; }

rm -rf "$WORK"
mkdir -p "$WORK/rootfs"
R="$WORK/rootfs"

# Directory skeleton (LXC mounts /proc, /sys, /dev itself; the mount points must exist).
for d in bin sbin etc etc/init.d proc sys dev run tmp root var var/run usr/bin usr/sbin usr/share/udhcpc; do
    mkdir -p "$R/$d"
done
chmod 1777 "$R/tmp"

cp "$BB" "$R/bin/busybox"
# One symlink per applet, into /bin (sh, init, ip, udhcpc, ...).
for applet in $("$BB" --list); do
    [ "$applet" = busybox ] && continue
    ln -sf busybox "$R/bin/$applet"
done
ln -sf ../bin/busybox "$R/sbin/init"

cat > "$R/etc/inittab" <<'EOF'
::sysinit:/etc/init.d/rcS
::respawn:-/bin/sh
::shutdown:/bin/sync
EOF

cat > "$R/etc/init.d/rcS" <<'EOF'
#!/bin/sh
/bin/hostname -F /etc/hostname 2>/dev/null
/bin/ip link set lo up
# DHCP from the LXD bridge's dnsmasq (only talks on the container's eth0 / lxdbr0).
/bin/udhcpc -b -i eth0 -s /usr/share/udhcpc/default.script -q >/dev/null 2>&1 &
EOF
chmod 755 "$R/etc/init.d/rcS"

cat > "$R/usr/share/udhcpc/default.script" <<'EOF'
#!/bin/sh
case "$1" in
    deconfig) /bin/ip -4 addr flush dev "$interface"; /bin/ip link set "$interface" up ;;
    bound|renew)
        /bin/ip -4 addr flush dev "$interface"
        /bin/ip -4 addr add "$ip/${mask:-24}" dev "$interface"
        [ -n "${router:-}" ] && /bin/ip -4 route replace default via ${router%% *} dev "$interface"
        : > /etc/resolv.conf
        for s in ${dns:-}; do echo "nameserver $s" >> /etc/resolv.conf; done
        ;;
esac
exit 0
EOF
chmod 755 "$R/usr/share/udhcpc/default.script"

printf 'root:x:0:0:root:/root:/bin/sh\n' > "$R/etc/passwd"
printf 'root:x:0:\n' > "$R/etc/group"
printf 'tiny\n' > "$R/etc/hostname"
: > "$R/etc/resolv.conf"

cat > "$WORK/metadata.yaml" <<EOF
architecture: x86_64
creation_date: $(date +%s)
properties:
  description: tiny busybox test image
  os: busybox
  release: "1"
  architecture: x86_64
templates:
  /etc/hostname:
    when:
      - create
      - copy
    template: hostname.tpl
EOF
mkdir -p "$WORK/templates"
printf '{{ container.name }}\n' > "$WORK/templates/hostname.tpl"

tar -C "$WORK" --numeric-owner -czf "$WORK.tar.gz" metadata.yaml templates rootfs
echo "tarball: $WORK.tar.gz ($(du -h "$WORK.tar.gz" | cut -f1))"

# Re-import: drop an existing alias first so the script is re-runnable.
if "$CLIENT" image info "$ALIAS" >/dev/null 2>&1; then
    "$CLIENT" image delete "$ALIAS"
fi
"$CLIENT" image import "$WORK.tar.gz" --alias "$ALIAS"
