//! Completion scripts and the man page, generated from the clap definitions.
//! The generated files are committed under `completions/` and `man/`; a test
//! fails when they drift.

use clap::CommandFactory;
use clap_complete::Shell;

use crate::cli::Cli;
use crate::exit::Exit;

pub const SHELLS: [Shell; 5] = [
    Shell::Bash,
    Shell::Zsh,
    Shell::Fish,
    Shell::Elvish,
    Shell::PowerShell,
];

pub fn completion(shell: Shell) -> Vec<u8> {
    let mut cmd = Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, "container-init", &mut out);
    out
}

/// Where `completion(shell)` is committed.
pub fn completion_file(shell: Shell) -> String {
    let ext = match shell {
        Shell::Bash => "bash",
        Shell::Zsh => "zsh",
        Shell::Fish => "fish",
        Shell::Elvish => "elv",
        Shell::PowerShell => "ps1",
        _ => "txt",
    };
    format!("completions/container-init.{ext}")
}

/// Section 8: an administration command, run by root.
pub const MAN_SECTION: &str = "8";
pub const MAN_FILE: &str = "man/container-init.8";

/// Environment variables the tool reads, for the man page.
pub const ENVIRONMENT: &[(&str, &str)] = &[
    ("CONTAINER_INIT_ROOT", "the default for --root"),
    ("CONTAINER_INIT_CONFIG", "the default for --config"),
    ("CONTAINER_INIT_CONTROLLER", "the default for --controller"),
    (
        "CONTAINER_INIT_TOKEN",
        "the controller token itself (--token-file wins over it; the config file's token-file loses)",
    ),
    ("CONTAINER_INIT_CA_CERT", "the default for --ca-cert"),
    ("CONTAINER_INIT_MACHINE", "the default for --machine"),
    ("CONTAINER_INIT_NAMESPACE", "the default for --namespace"),
    (
        "CONTAINER_INIT_ADDRESS_ALLOCATION",
        "true or false; beats address-allocation in the config file (setup lxc writes lxc-net with it)",
    ),
    (
        "CONTAINER_INIT_RUNTIME_TIMEOUT",
        "the default for setup --runtime-timeout; beats runtime-timeout in the config file",
    ),
    (
        "NO_COLOR",
        "when set and not empty, plain text as with --no-color",
    ),
    ("RUST_LOG", "log filter in env_logger syntax; overrides -v and -q"),
];

/// Files the tool reads or writes, for the man page.
pub const FILES: &[(&str, &str)] = &[
    (
        "/etc/container-init/config.yaml",
        "the tool's own settings, read under --root when --config is not given and the file exists",
    ),
    (
        "/etc/sysctl.d/60-container-init.conf",
        "IPv4 forwarding and proxy ARP after reboot (setup persists ip_forward alone for NAT next to Docker); owned by container-init and rewritten whole",
    ),
    (
        "/etc/default/lxc-net",
        "the lxc-net bridge settings written by lxc-net override; mode 0644",
    ),
    (
        "/etc/default/lxc-net.orig",
        "the first lxc-net file container-init replaced, put back by lxc-net restore",
    ),
    (
        "/etc/lxc/default.conf",
        "setup lxc sets lxc.net.0.mtu here from lxc-default-mtu, one line, keeping the rest",
    ),
    (
        "/etc/apt/apt.conf.d/80container-init-proxy",
        "apt's proxy from the manager config's proxy keys; owned by container-init, removed when the keys are gone",
    ),
    (
        "/var/lib/container-init/record.json",
        "the teardown record: each change setup made, noted before it was made, with what was there before and the types whose setup needs it; mode 0600, at most 4 MiB and 4096 changes, written whole and atomically; teardown walks it newest first",
    ),
    (
        "/var/lib/container-init/proxy.json",
        "what an older version set in snap's and the runtime's proxy settings; read once by setup, folded into the record and removed",
    ),
    (
        "/var/lib/dpkg/status",
        "read to tell which packages are installed, without running a process, while dpkg's journal is empty",
    ),
    (
        "/var/lib/dpkg/updates/",
        "dpkg's journal: entries mean an interrupted install, finished with dpkg --configure -a; package states are then read with dpkg-query",
    ),
    (
        "/etc/apt/sources.list.d/container-init-backports.sources",
        "bookworm-backports for setup incus on Debian 12 (only Incus is installed from it), written when Incus is missing and the host lists no bookworm-backports",
    ),
    (
        "/etc/group, /etc/passwd",
        "read by setup --user to see whether the user exists and is already in the admin group",
    ),
    (
        "/run/lxd.pid",
        "written by start-stop-daemon when setup lxd starts LXD on a host without systemd; removed first when its process is gone or a zombie",
    ),
    (
        "/tmp/container-init-home.*",
        "a private, empty HOME (mode 0700) for runtime commands, removed when the run ends",
    ),
    (
        "/run/lock/container-init.lock",
        "the host lock: one container-init changes a host at a time",
    ),
    (
        "/proc/sys/net/ipv4/ip_forward, /proc/sys/net/ipv4/conf/all/proxy_arp",
        "read and written directly",
    ),
    (
        "/proc/net/route, /proc/net/udp, /sys/class/net, /proc/net/ip_tables_names",
        "read by the data-path checks: the uplink, dnsmasq's sockets, MTUs, whether legacy iptables is in use",
    ),
];

pub fn man_page() -> Vec<u8> {
    // The package version alone: the committed page must not change with
    // every commit that `--version` names.
    let cmd = Cli::command().version(env!("CARGO_PKG_VERSION"));
    let man = clap_mangen::Man::new(cmd.clone()).section(MAN_SECTION);
    let mut out = Vec::new();
    // clap_mangen writes to a Vec, which cannot fail.
    man.render_title(&mut out).expect("write to Vec");
    man.render_name_section(&mut out).expect("write to Vec");
    man.render_synopsis_section(&mut out).expect("write to Vec");
    man.render_description_section(&mut out).expect("write to Vec");
    man.render_options_section(&mut out).expect("write to Vec");
    out.extend_from_slice(commands_section(&cmd).as_bytes());
    out.extend_from_slice(SETUP_SECTION.as_bytes());
    out.extend_from_slice(TEARDOWN_SECTION.as_bytes());
    out.extend_from_slice(PROXY_SECTION.as_bytes());
    out.extend_from_slice(STORAGE_SECTION.as_bytes());
    out.extend_from_slice(OUTPUT_SECTION.as_bytes());
    out.extend_from_slice(CONTROLLER_SECTION.as_bytes());
    out.extend_from_slice(LIMITS_SECTION.as_bytes());
    out.extend_from_slice(exit_section().as_bytes());
    out.extend_from_slice(table_section("ENVIRONMENT", ENVIRONMENT).as_bytes());
    out.extend_from_slice(table_section("FILES", FILES).as_bytes());
    man.render_version_section(&mut out).expect("write to Vec");
    out
}

/// The record and what `teardown` does with it.
const TEARDOWN_SECTION: &str = r#".SH TEARDOWN
\fBsetup\fR notes each change in /var/lib/container\-init/record.json before it
makes it: a file with its previous content and mode (or that there was none),
a sysctl with its previous running value, a firewall rule with its backend
(iptables\-nft or \-legacy in DOCKER\-USER, ufw, firewalld), a bridge, pool
or profile device it created, a runtime key with its previous value, a
service it started or enabled, a user it added to the admin group, the packages it installed with those apt
pulled in for them, libvirt's network and pool. An object that was there
before (a bridge, a pool) is not the tool's and is not recorded. A setup that
finds a change of another type's setup in place (forwarding, the sysctl file)
marks it as needed by its own type too; a converged setup writes nothing.
.PP
\fBteardown\fR \fITYPE\fR takes the host lock, refuses with 69 while guests of
that type exist (naming them: LXD and Incus instances in every project,
libvirt domains, LXC containers under /var/lib/lxc), and walks the record
newest first. A change the host still shows as setup left it is taken back
(\fBchanged\fR); one already as before setup is \fBunchanged\fR; one someone
changed since is left and reported \fBskipped\fR with both values; a change
another type still needs is kept for the last of them. A pool that holds
images or volumes setup did not put there, or a bridge still in use, is left
and named, and then the type's packages are kept too. Packages are purged
only with \fB\-\-purge\-packages\fR: those the record says setup installed and
what apt pulled in for them, minus any another installed package depends on,
and only when apt's simulation removes nothing else. A second teardown
changes nothing; \fBsetup\fR afterwards works as on a fresh host. Without a
record (a host an older version prepared) teardown changes nothing, says so,
and exits 0. A record that cannot be read is refused with 65.
"#;

/// The storage pool of LXD and Incus, and the data-safety rule.
const STORAGE_SECTION: &str = r#".SH STORAGE
\fBsetup lxd\fR and \fBsetup incus\fR make the pool \fBdefault\fR with \fBstorage\-driver\fR
(config file) or \fB\-\-storage\-driver\fR: \fBdir\fR (the default), \fBbtrfs\fR (needs btrfs in
the kernel; installs btrfs\-progs), \fBlvm\fR, a thin pool (needs dm_thin_pool; installs lvm2 and
thin\-provisioning\-tools) or \fBzfs\fR (needs the zfs module; installs zfsutils\-linux). The kernel
is checked before anything is installed: a missing driver is 69 naming it; on Debian, ZFS needs
zfs\-dkms from contrib, which container\-init names but neither enables nor builds.
.PP
\fBstorage\-source\fR is a block device (/dev/...), a directory on a mounted btrfs file system, or
an LVM volume group or ZFS pool (a name); without it the runtime makes a loop file of
\fBstorage\-size\fR (such as 30GiB) or its default size, and reattaches it itself after a reboot.
.PP
Never over data: a device holding a file system signature or a partition table (\fBwipefs\fR,
\fBlsblk\fR) is refused with 69 naming what is on it, and nothing is written to it, unless
\fBstorage\-wipe: true\fR (\fB\-\-storage\-wipe\fR), which clears it with \fBwipefs \-\-all\fR. A device
that is mounted or in use (a holder, an imported ZFS pool, no exclusive open) is refused always.
.PP
Without \fBstorage\-driver\fR any existing pool \fBdefault\fR fits. With it, an existing pool of
another driver or source is never deleted, converted or moved: 69, naming it and what to do.
\fBcheck lxd\fR and \fBcheck incus\fR show the pool's driver and free space, and warn on \fBdir\fR when
the kernel has a copy\-on\-write driver.
"#;

/// The proxy keys and where each consumer gets them.
const PROXY_SECTION: &str = r#".SH PROXY
The manager\-config keys \fBhttp\-proxy\fR, \fBhttps\-proxy\fR and \fBno\-proxy\fR
go to apt, to snap (\fBsnap set system proxy.http proxy.https proxy.no\-proxy\fR,
Ubuntu's LXD only) and to LXD (\fBcore.proxy_http\fR, \fBcore.proxy_https\fR,
\fBcore.proxy_ignore_hosts\fR); \fBapt\-http\-proxy\fR and \fBapt\-https\-proxy\fR
replace the first two for apt only. apt gets
/etc/apt/apt.conf.d/80container\-init\-proxy, written before the packages are
installed, with a "DIRECT" entry for each no\-proxy host name or IPv4 address
(apt cannot take domains, CIDRs or IPv6 there). Only differing keys change; a
key removed from the manager config unsets what setup had set for it, and only
while it still holds that value (recorded in /var/lib/container\-init/record.json).
A proxy URL is http:// or https://, a host, an optional port and an optional
trailing /; anything else, credentials included, exits 65 naming the key.
The controller request honours HTTPS_PROXY, HTTP_PROXY, ALL_PROXY and NO_PROXY
as curl does, except that a token sent over plain http (loopback only) never
goes through a proxy. \fBcheck\fR warns when apt, snap and LXD disagree.
"#;

/// What `setup` does, in order.
const SETUP_SECTION: &str = r#".SH SETUP
\fBsetup\fR \fITYPE\fR converges the host in this order, one reported step each:
the manager config (validated before anything changes, 65); the host lock
(\fB\-\-lock\-timeout\fR, then 75); for kvm, hardware virtualisation (CPU flag
vmx or svm and /dev/kvm, else 69 before anything is installed, unless
\fB\-\-allow\-emulation\fR); forwarding when ip\-forwarding is true; for lxc with
forwarding and address\-allocation, the lxc\-net override before the package;
an install a reboot or a kill interrupted, finished with dpkg \-\-configure \-a
(its own step, dpkg\-recovery, shown by \fB\-\-dry\-run\fR);
the packages, only when missing (apt with DEBIAN_FRONTEND=noninteractive and
\-\-force\-confold, apt\-get update only without an install candidate, waiting out
the dpkg lock; Ubuntu's LXD from snap, see LXD SNAP CHANNEL; \fB\-\-no\-install\fR makes a missing package 69);
the runtime (lxd and incus: daemon, lxdbr0 or incusbr0 on a free private /24 chosen by container\-init,
NAT from enable\-nat, IPv6 off, MTU, pool default, profile default; lxc: lxc\-net
and its bridge with a DHCP server on it (restarted when ss shows none there, or when
/run/lxc/network_up is left without the bridge), the MTU in /etc/lxc/default.conf; kvm: virtlogd and libvirtd,
libvirt's default network and storage pool; with no lxc\-default\-mtu, a bridge follows an uplink
MTU below 1500, for kvm as <mtu size='N'/> in libvirt's default network); coexistence (below);
and a read\-only readiness probe of the
data path: the runtime answers, the bridge is up with its IPv4 address, a DHCP
and DNS server listens on it, forwarding is on where NAT is, no iptables or
nftables rule or policy (legacy and nft backends, every table) drops the
bridge's forwarded traffic or its DHCP and DNS, the bridge MTU is not larger
than the uplink's (the device of the default route). A host whose guests would
be cut off exits 69 naming the cause and the fix. KVM's bridge (libvirt's
default network, virbr0) goes through the same coexistence step and checks, in
\fBsetup kvm\fR and \fBcheck kvm\fR. Services go through
systemd when it runs the host, else through service(8); LXD without systemd is
started with start\-stop\-daemon. A daemon counts as started when its socket
answers (libvirt: /run/libvirt/libvirt\-sock and /run/libvirt/virtlogd\-sock),
waited for at most \fB\-\-runtime\-timeout\fR, then 75.
.PP
Without systemd, \fBsetup kvm\fR also installs libvirt\-daemon\-system\-sysv
(Debian keeps libvirtd's and virtlogd's init scripts there) and starts
virtlogd before libvirtd: guests cannot start without it. A dry run on a host
without libvirt plans the install, both starts and the network and pool.
libvirt's default network stays on libvirt's 192.168.122.0/24 unless the host
already uses an address or route overlapping it (a host that is itself a
libvirt guest); it is then defined on the first free private /24, chosen as
for lxdbr0. An existing default network is moved only when its subnet
overlaps something else on the host, by replacing its <ip> element alone
(virsh net\-dumpxml \-\-inactive, net\-destroy, net\-define, net\-start); one that
fits is left alone. Daemons started by container\-init do not inherit its
open descriptors (a caller's flock(1) lock stays the caller's). SIGINT and SIGTERM are passed to the running
command, SIGHUP and SIGQUIT as SIGTERM; it is waited for, and the exit is then 129, 130, 131 or 143.
.PP
Without root, \fBsetup\fR exits 77 at once, with \fB\-\-check\fR and \fB\-\-dry\-run\fR too:
the runtime's socket, dpkg and the services are root\-only.
.PP
Runtime commands (lxc, lxd, virsh, start\-stop\-daemon, snap, systemctl, service
for the runtime) run in a fixed environment: PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/snap/bin
(under a \fB\-\-root\fR other than /, the caller's PATH), LC_ALL=C, and a private,
empty HOME and LXD_CONF; never the caller's LXD_DIR, INCUS_DIR, LXD_CONF,
LIBVIRT_DEFAULT_URI or lxc remotes, so that setup prepares the system's own daemon.
Each is bounded by \fB\-\-runtime\-timeout\fR (default 120 seconds; runtime\-timeout in
the config file): past it, its process group gets SIGTERM, then SIGKILL, and
the exit is 75 naming the runtime and the command that waited. A daemon counts
as started once it answers on its socket (lxd waitready); a pid file whose
process is gone or a zombie does not count as a running daemon.
.PP
Corrections change only the keys that differ (lxc profile device set, lxc
network set or unset) and the report names each with its old and new value;
an operator's other keys (a disk size, a NIC's boot.priority) stay. A DHCP
range outside the bridge's subnet is unset. A root disk correction on a profile
that running instances use exits 69 naming them: LXD cannot move a running
instance's root disk.
\fBCoexistence\fR (config key manage\-firewall, default true): whatever else on
the host drops the bridge's traffic is opened for that bridge only, and only
where it does. Docker's FORWARD policy DROP: two rules at the top of Docker's
DOCKER\-USER chain, \fB\-i\fR and \fB\-o\fR the bridge, with the comment
"container\-init: \fIBRIDGE\fR", through iptables\-nft or iptables\-legacy as Docker
uses; with NAT, net.ipv4.ip_forward=1 is persisted in
/etc/sysctl.d/60\-container\-init.conf, so that at boot Docker finds forwarding on
and leaves the FORWARD policy alone (it sets DROP only when it has to turn
forwarding on itself). ufw: \fBufw allow in on\fR, \fBufw route allow in on\fR,
\fBufw route allow out on\fR \fIBRIDGE\fR, as needed. firewalld: the bridge goes into
the trusted zone, permanently and now. With br_netfilter's
bridge\-nf\-call\-iptables=1, guest\-to\-guest traffic crosses FORWARD too and the
same \-i rule covers it. Docker 29's nftables backend adds no jump to
DOCKER\-USER: a FORWARD policy DROP its iptables backend left is opened with the
same rules in FORWARD itself; where Docker's own tables (ip and ip6
docker\-bridges) drop the bridge (their filter\-FORWARD policy is drop when Docker
turned forwarding on itself), setup exits 69 with Docker's fix: persist forwarding
and restart Docker, or \-\-bridge\-accept\-fwmark. A rule that container\-init does
not own is named and left alone (69).
A NAT bridge whose forwarding someone turned off gets net.ipv4.ip_forward=1 back,
now and persisted (step nat\-forwarding); proxy ARP is left to \fBforwarding
enable\fR. DNS and DHCP ports (step dns\-dhcp\-ports, and the readiness and
\fBcheck\fR line of that name): UDP or TCP 53 on the bridge's address held by
anything but the runtime's dnsmasq (bind9 binds every address), or a socket on
every address for 53 or UDP 67 bound to no device, is named with its process, pid
and command line (from \fBss \-H \-lnutp\fR), and is 69 from setup, FAIL in
check. Runtimes' own dnsmasqs, bound to their bridges (0.0.0.0%virbr0:67), are no
clash.
\fBIPv6\fR (config key bridge\-ipv6, flag \fB\-\-bridge\-ipv6\fR): none (default), auto
(a free /64 in fd00::/8 derived from /etc/machine\-id and the bridge's name) or an
address/64. LXD and Incus: ipv6.address, and ipv6.nat following enable\-nat; lxc:
LXC_IPV6_ADDR, LXC_IPV6_MASK, LXC_IPV6_NETWORK and LXC_IPV6_NAT in
/etc/default/lxc\-net (lxc\-net restarted when its bridge lacks the address); kvm:
an IPv6 <ip> and <nat ipv6='yes'/> in libvirt's default network. Guests use
SLAAC from the bridge's router advertisements. Before any runtime turns IPv6
forwarding on (step ipv6\-forwarding), interfaces whose IPv6 default route the
kernel took from a router advertisement (proto ra, accept_ra=1) get
accept_ra=2, and net.ipv6.conf.all.forwarding=1 is set for NAT66, both now and
in /etc/sysctl.d/60\-container\-init\-ipv6.conf; interfaces whose advertisements
systemd\-networkd handles (accept_ra=0) are left alone. The data\-path checks
then cover IPv6 too (the bridge's address, router advertisements from dnsmasq,
IPv6 forwarding, ip6tables and nft ip6/inet drops): Docker's ip6tables FORWARD
policy DROP fails check and is opened by setup with ip6tables rules in
DOCKER\-USER, as for IPv4. With manage\-firewall: false, a conflict is reported with the
commands that would open it, and the exit is 69. \fB\-\-dry\-run\fR shows every
command; a rerun adds nothing.
.PP
\fBcheck\fR \fITYPE\fR prints PASS, WARN or FAIL per requirement with the reason and
the fix, and exits 69 when something required fails. For lxd from snap it reads
the manager config from the same sources as \fBsetup\fR (\fB\-\-manager\-config\fR,
else a configured controller) and, when lxd\-snap\-channel is set, runs
\fBsnap list lxd\fR and says what \fBsetup\fR would do with the installed snap.
.PP
For lxd, incus, lxc and kvm (the bridge of libvirt's default network) it runs the
same data\-path checks as setup's readiness, so that it names before setup every
conflict setup would fix (Docker, ufw, firewalld, forwarding, MTU, subnet
collisions); what setup creates (the bridge, forwarding) only warns.
.SS INCUS
\fBsetup incus\fR runs the same steps as \fBsetup lxd\fR through the same code
(incus\-daemon, incus\-network, incus\-storage, incus\-profile): client incus,
incus admin waitready, bridge incusbr0, group incus\-admin, systemd units
incus.socket and incus.service, without systemd service incus start. It
installs incus\-base, incus\-client and dnsmasq\-base, never incus, whose QEMU
from bookworm\-backports breaks the bookworm QEMU that \fBsetup kvm\fR installs.
Debian 13 and Ubuntu 24.04 and later install from their own archive. Debian 12
installs from bookworm\-backports: the source goes into
/etc/apt/sources.list.d/container\-init\-backports.sources (deb822, the mirror
and Signed\-By of the host's own bookworm source, which must be a plain
http(s) URI, else 65; shown by \fB\-\-dry\-run\fR; left alone when present, and
not written when the host already lists bookworm\-backports), then apt\-get
install \-t bookworm\-backports, so that nothing else comes from backports.
Older releases have no Incus (69).
.SS "BRIDGE ADDRESS"
lxdbr0 and incusbr0 get the first /24 that overlaps no address or route of the
host, from 10.0.0.0/8 (10.147.0.0 on), then 172.16.0.0/12, then
192.168.0.0/16; \fBbridge\-subnet\fR in the config file (an address with its
prefix, such as 10.20.30.1/24; invalid is 78) pins it, and one that overlaps an
address or route of the host is 65.
.SS "ADMIN GROUP"
\fB\-\-user\fR \fINAME\fR (lxd, incus) adds that user to the runtime's admin
group (lxd, incus\-admin) with usermod \-aG, only when /etc/group does not
already list them (steps lxd\-user, incus\-user). A name that is not a plain
login name is 64; a user missing from /etc/passwd is 65.
.SS "LXD SNAP CHANNEL"
lxd\-snap\-channel is \fItrack\fR/\fIrisk\fR[/\fIbranch\fR]; a track alone means
\fItrack\fR/stable, a risk alone latest/\fIrisk\fR. The default, 5.21/stable, applies to a
fresh install only: with no channel asked for, an installed LXD snap is never
refreshed. Channels compare as versions: numbered tracks as numbers
(5.0 < 5.21 < 6), latest newer than every numbered track, and within a track
stable < candidate < beta < edge. A newer channel is refreshed to (snap refresh,
which restarts the LXD daemon; reported as an upgrade and shown by \fB\-\-dry\-run\fR
and \fB\-\-check\fR). A move that can lower LXD's version (an older track, latest
to a numbered track, a more stable risk of the same track) or that nothing
orders (named tracks, branches) is never made, because LXD cannot start on a
database that a newer LXD has upgraded: the packages step is unchanged, the exit
0, and a warning names both channels and why; \fBcheck lxd\fR gives the same
text as a WARN.
"#;

/// The limits on hostile input, and what `--root` confines.
const LIMITS_SECTION: &str = r#".SH LIMITS
Every input is at most 1 MiB, read in bounded memory: a larger
\fB\-\-manager\-config\fR (file or \-) exits 65; a larger \fB\-\-token\-file\fR,
\fB\-\-ca\-cert\fR or \fB\-\-config\fR exits 78; a larger controller body 76. A
manager config nested deeper than a flat mapping is refused before it is
parsed (65; 78 for the config file). An error message quotes at most 200
characters of a value, a path or a value clap repeats in a usage error.
.PP
The host's own files (os\-release, dpkg's status, /etc/default/lxc\-net and
/etc/default/lxc\-net.orig, the sysctl file, the config file, the lock file, /proc and /sys knobs)
are read only when they are regular files, opened without blocking: a FIFO,
socket or device in their place is refused at once (71), naming it. Each is
read up to a bound of its own (1 MiB; dpkg's status, /proc/kallsyms and
/proc/net/* 256 MiB, module lists 64 MiB, the kernel config 16 MiB), named
when exceeded. A dry run's diff of one file stops after 64 KiB. A file the
operator names may be a pipe or a FIFO; a signal ends the wait for it. A UTF\-8
byte order mark before a YAML or PEM file is dropped. A bridge network may not
be in 0.0.0.0/8, 127.0.0.0/8, 169.254.0.0/16, 224.0.0.0/4 or 240.0.0.0/4; a
no\-proxy CIDR must have its host bits zero. A token file every user can read is
warned about. A write that root is refused (an immutable or append\-only file) is
73. A report that cannot be written to stdout is 74; a closed pipe ends quietly.
\fB\-\-root\fR is compared with / after it is resolved.
.PP
Under \fB\-\-root\fR every path is resolved inside the root, symlinks included:
an absolute link /x means ROOT/x and .. stops at the root. Commands run with
LC_ALL=C. Files are replaced through an unnamed temporary file, so a kill
leaves no temporary file behind. \fBforwarding\fR and \fBlxc\-net\fR take the
host lock when they have something to change, and every command exits 129,
130, 131 or 143 on SIGHUP, SIGINT, SIGQUIT or SIGTERM; SIGUSR1 does not end a
run.
"#;

/// What is shown while a command runs, and where.
const OUTPUT_SECTION: &str = r#".SH OUTPUT
In text output each step's line is written to stdout, and flushed, as soon as
the step ends, to a terminal or a pipe alike; the checks and facts follow at
exit. Step names are padded to a fixed column so that no line waits for the
later steps. With \fB\-\-output json\fR stdout holds one JSON document, written
at exit.
.PP
While a step runs, and stderr is a terminal, one live line on stderr shows the
step, the command it is running and how long that has taken, with apt's own
progress (from APT::Status\-Fd) while apt works; it is replaced by the step's
line when the step ends, and by nothing when the tool is interrupted. There is
no live line with \fB\-q\fR, \fB\-\-no\-color\fR or NO_COLOR, \fB\-\-output json\fR, or TERM=dumb.
Without it, and unless \fB\-q\fR, a command still running after 3 seconds gets one
plain line on stderr (container\-init: \fISTEP\fR: waiting for `\fICOMMAND\fR'), so that a
log shows what the tool is waiting for.
"#;

/// How to point the tool at a controller, with the config file and an example.
const CONTROLLER_SECTION: &str = r#".SH CONTROLLER
The manager config comes from \fB\-\-manager\-config\fR FILE when given, else from
the controller when one is configured, else from the built\-in defaults (no
forwarding, NAT and MTU left to the runtime).
The request is \fBGET\fR \fIURL\fR/v1/container\-manager\-config/\fITYPE\fR[?machine=\fIID\fR]
with \fBAccept: application/json\fR and, when a token is configured,
\fBAuthorization: Bearer\fR \fItoken\fR; the answer must be
{"config": {"key": "value", ...}} of at most 1 MiB.
.PP
HTTPS is verified against the system's CAs plus \fB\-\-ca\-cert\fR. Plain http://
is refused with a token unless the host is loopback. Redirects are not followed.
Connection failures, timeouts, 429 and 5xx answers are retried with exponential
backoff within \fB\-\-timeout\fR seconds in all (default 30), then exit 75;
401 and 403 exit 77 at once; other answers exit 76; an untrusted certificate
exits 78; a body that stops before its end is retried, then 75. A URL with
user:password@ (the password is not repeated) or over 2048 bytes exits 78.
The token never appears in output or logs, nor any piece of it that a
server echoes back.
.PP
Precedence: flag, then environment variable, then the config file, then the
default. The config file (\fB\-\-config\fR, default /etc/container\-init/config.yaml):
.PP
.nf
controller:
  url: https://10.1.2.3:17070
  token\-file: /etc/container\-init/token
  ca\-cert: /etc/container\-init/controller\-ca.pem
machine: "4"
namespace: juju\-machine\-4
address\-allocation: false
runtime\-timeout: 120
manage\-firewall: true
.fi
.PP
Unknown keys in it are errors (exit 78, naming the file and the line).
.PP
Example:
.PP
.nf
container\-init manager\-config show lxd \e
    \-\-controller https://10.1.2.3:17070 \-\-ca\-cert ca.pem \e
    \-\-token\-file /etc/container\-init/token \-\-machine 4
.fi
"#;

fn roff_escape(s: &str) -> String {
    let s = s.replace('\\', "\\\\").replace('-', "\\-");
    // A line starting with . or ' would be read as a request.
    if s.starts_with('.') || s.starts_with('\'') {
        format!("\\&{s}")
    } else {
        s
    }
}

/// Every subcommand with its options, so one page documents the whole tool.
fn commands_section(cmd: &clap::Command) -> String {
    let mut out = String::from(".SH \"COMMAND OPTIONS\"\n");
    let mut stack: Vec<(String, &clap::Command)> = cmd
        .get_subcommands()
        .map(|c| (c.get_name().to_string(), c))
        .collect();
    stack.reverse();
    while let Some((path, sub)) = stack.pop() {
        out.push_str(&format!(".TP\n\\fBcontainer\\-init {}\\fR\n", roff_escape(&path)));
        out.push_str(&roff_escape(
            &sub.get_about().map(|a| a.to_string()).unwrap_or_default(),
        ));
        out.push('\n');
        for arg in sub
            .get_arguments()
            .filter(|a| !a.is_global_set() && a.get_long().is_some())
        {
            let long = arg.get_long().unwrap_or_default();
            let value = match arg.get_value_names() {
                Some(names) if arg.get_action().takes_values() => format!(" {}", names.join(" ")),
                _ => String::new(),
            };
            let help = arg.get_help().map(|h| h.to_string()).unwrap_or_default();
            out.push_str(&format!(
                ".RS\n.TP\n\\fB\\-\\-{}\\fR{}\n{}\n.RE\n",
                roff_escape(long),
                roff_escape(&value),
                roff_escape(&help)
            ));
        }
        let mut children: Vec<(String, &clap::Command)> = sub
            .get_subcommands()
            .filter(|c| c.get_name() != "help")
            .map(|c| (format!("{path} {}", c.get_name()), c))
            .collect();
        children.reverse();
        stack.extend(children);
    }
    out
}

fn exit_section() -> String {
    let mut out = String::from(".SH \"EXIT STATUS\"\n");
    for exit in Exit::ALL {
        out.push_str(&format!(
            ".TP\n\\fB{}\\fR ({})\n{}\n",
            exit.code(),
            roff_escape(exit.name()),
            roff_escape(exit.meaning())
        ));
    }
    out.push_str(
        ".PP\nEvery non\\-zero exit prints one \\fBerror:\\fR line to stderr saying what failed and \
         what to do, followed by \\fBcaused by:\\fR lines.\n",
    );
    out
}

fn table_section(title: &str, rows: &[(&str, &str)]) -> String {
    let mut out = format!(".SH {title}\n");
    for (name, meaning) in rows {
        out.push_str(&format!(
            ".TP\n\\fB{}\\fR\n{}\n",
            roff_escape(name),
            roff_escape(meaning)
        ));
    }
    out
}
