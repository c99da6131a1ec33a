#!/bin/bash
# Build a Debian VM image for the VM tests (tests/vm_debian.rs), at the host's
# native speed: mmdebstrap makes the root with systemd, cloud-init and
# Debian's cloud kernel (plus EXTRA packages, installed as apt installs them,
# Recommends included), `mkfs.ext4 -d` turns it into a disk image without a
# loop mount, and the kernel and initrd are copied out for a direct boot.
#
# Usage: build-image.sh SUITE OUT_DIR PUBKEY_FILE [EXTRA_PACKAGE...]
# Leaves OUT_DIR/{disk.raw,vmlinuz,initrd.img}; everything world-readable
# (QEMU may run as another user).
#
# NO_CLOUD_INIT=1 leaves cloud-init out and lets systemd-networkd take eth0
# by DHCP itself: trixie's cloud-init declares `Conflicts: firewalld`, so a
# Debian 13 host with firewalld has no cloud-init.
#
# UFW_ON=1 turns ufw on from the first boot with ssh allowed, as a hardened
# cloud image comes (`ufw allow 22/tcp` only writes ufw's rule files while
# ufw is inactive, so it runs in the chroot; ufw.service loads them at boot).
#
# On bookworm, bookworm-backports is a source too, so that EXTRA can name
# `incus-base/bookworm-backports`.
#
# Installed services that the tests start themselves later (Docker: the
# tests enable it after setup, then reboot) are disabled here.
set -euo pipefail

suite=${1:?usage: build-image.sh SUITE OUT_DIR PUBKEY_FILE [EXTRA...]}
out=${2:?}
pubkey=${3:?}
shift 3
extra=$(echo "$@" | tr ' ' ',')

mirror=http://deb.debian.org/debian
# What a Debian cloud image has that matters here: systemd as PID 1, cloud-init
# with netplan rendering systemd-networkd, resolved, sshd (the test's way in),
# curl (the README's recipe fetches the .deb with it). busybox-static is the
# test's own: its guests and its test host are busybox.
base=systemd-sysv,systemd-resolved,udev,dbus,linux-image-cloud-amd64,initramfs-tools
if [ "${NO_CLOUD_INIT:-}" != 1 ]; then
  base=$base,cloud-init,netplan.io
fi
base=$base,openssh-server,curl,ca-certificates,iproute2,kmod,procps,busybox-static,less
backports=
case $suite in
  trixie) base=$base,systemd-timesyncd ;;
  bookworm) backports="deb $mirror bookworm-backports main" ;;
esac

# A build killed half-way leaves mmdebstrap's mounts in its root: unmount
# them before removing anything, and never cross into another file system.
findmnt -rn -o TARGET | { grep "^$out/" || true; } | sort -r | xargs -r umount -l
rm -rf --one-file-system "$out"
mkdir -p "$out"
root=$out/root

mmdebstrap --mode=root --variant=apt --format=directory \
  --aptopt='APT::Install-Recommends "true"' \
  --include="$base${extra:+,$extra}" \
  --customize-hook='rm -f "$1/etc/apt/apt.conf.d/99mmdebstrap"' \
  --customize-hook="copy-in $pubkey /etc/ssh" \
  --customize-hook='set -e
    r=$1
    mv "$r/etc/ssh/$(basename '"$pubkey"')" "$r/etc/ssh/container-init-vm-test.keys"
    chmod 0644 "$r/etc/ssh/container-init-vm-test.keys"
    printf "AuthorizedKeysFile .ssh/authorized_keys /etc/ssh/container-init-vm-test.keys\nPermitRootLogin prohibit-password\nUseDNS no\n" \
      > "$r/etc/ssh/sshd_config.d/container-init-vm-test.conf"
    if [ -d "$r/etc/cloud/cloud.cfg.d" ]; then
      # The NoCloud seed is the only data source: no probing of cloud
      # metadata. The host keys made at build time are kept: generating
      # them again takes half a minute under TCG, on every boot.
      printf "datasource_list: [NoCloud, None]\nssh_deletekeys: false\nssh_genkeytypes: []\n" \
        > "$r/etc/cloud/cloud.cfg.d/90-container-init-vm-test.cfg"
    else
      printf "[Match]\nName=en* eth*\n\n[Network]\nDHCP=yes\n" > "$r/etc/systemd/network/20-vm-test-dhcp.network"
      chroot "$r" systemctl enable systemd-networkd.service
    fi
    for unit in docker.service docker.socket; do
      if [ -e "$r/usr/lib/systemd/system/$unit" ] || [ -e "$r/lib/systemd/system/$unit" ]; then
        chroot "$r" systemctl disable "$unit"
      fi
    done
    if [ "${UFW_ON:-}" = 1 ]; then
      chroot "$r" ufw allow 22/tcp
      sed -i "s/^ENABLED=no/ENABLED=yes/" "$r/etc/ufw/ufw.conf"
      chroot "$r" systemctl enable ufw.service
    fi
    printf "LABEL=root / ext4 rw,errors=remount-ro 0 1\n" > "$r/etc/fstab"
    printf "debian\n" > "$r/etc/hostname"
    # man-db rebuilds its index after every install: minutes under TCG, for
    # pages nobody reads in these VMs.
    echo "man-db man-db/auto-update boolean false" | chroot "$r" debconf-set-selections
    rm -f "$r/var/lib/man-db/auto-update"
    rm -f "$r/etc/machine-id" "$r/var/lib/dbus/machine-id"
    : > "$r/etc/machine-id"' \
  "$suite" "$root" \
  "deb $mirror $suite main" "deb $mirror $suite-updates main" \
  ${backports:+"$backports"}

cp "$(ls "$root"/boot/vmlinuz-* | tail -n 1)" "$out/vmlinuz"
cp "$(ls "$root"/boot/initrd.img-* | tail -n 1)" "$out/initrd.img"
# Room for the runtimes' storage pools and Docker.
mkfs.ext4 -q -L root -d "$root" "$out/disk.raw" 12G
rm -rf --one-file-system "$root"
chmod 0644 "$out/vmlinuz" "$out/initrd.img" "$out/disk.raw"
chmod 0755 "$out"
