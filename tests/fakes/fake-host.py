#!/usr/bin/python3
"""A fake host's tools, for the setup/check CLI tests.

One script, installed under each tool's name (apt-get, apt-cache, snap,
systemctl, service, start-stop-daemon, lxd, lxc, lxc-ls, virsh, ip,
dpkg-query). Each call appends its command line to $FAKE_HOST_STATE/log and
answers from $FAKE_HOST_STATE/state.json the way the real tool answers, changing
that state (and files under $FAKE_HOST_ROOT, such as dpkg's status file and
/sys/class/net/<bridge>/flags) the way the real tool changes the host.

state.json keys, all optional:
  running          units/daemons that run ("lxd", "lxc-net", "libvirtd")
  snaps            {"lxd": "5.21/stable"}: installed snaps and their channel
  networks         {"lxdbr0": {config...}}: LXD networks
  pools            ["default"]: LXD storage pools
  pool_details     {"default": {"driver": "btrfs", "config": {...}}}: a pool's driver and
                   config (a pool without details is dir); `storage create` fills it in
  block_devices    {"/dev/vdb": {"name": "vdb", "signatures": [{"type": "ext4",
                   "offset": "0x438"}], "mountpoint": null, "children": []}}: what
                   lsblk and wipefs see; `wipefs --all` clears the signatures and
                   appends the device to "wiped"
  vgs, zpools      ["vg0"], ["tank"]: LVM volume groups and ZFS pools that exist
  profile          {"devices": {...}}: LXD's default profile
  virsh_net        {"Active": "yes", "Autostart": "yes", "ip": "192.168.122.1",
                   "netmask": "255.255.255.0"}: libvirt's default network (ip and
                   netmask default to libvirt's own); while active, its bridge
                   virbr0 is up and holds that address in `ip addr`
  virsh_pool       {"State": "running", "Autostart": "yes"}: libvirt's default pool

libvirtd and virtlogd, once started, answer on their sockets under the root
(run/libvirt/libvirt-sock, run/libvirt/virtlogd-sock): a small listener
process that lives while the root does.
  stale_lists      true: apt-cache has no candidate until `apt-get update`
  (dpkg lock)      apt-get fails as apt does while another process holds an
                   fcntl lock on $FAKE_HOST_ROOT/var/lib/dpkg/lock-frontend
  fail             a command-line prefix: that command fails with exit 1
  hang             a command-line prefix: that command hangs (a SIGSTOPped daemon)
  addrs, routes    what `ip -j -4 addr show` / `ip -j -4 route show table all` print (JSON)
  routes6          what `ip -j -6 route show default` prints (JSON; none by default)
  link_addrs6      {"lxcbr0": "fd42::1/64"}: IPv6 addresses in /proc/net/if_inet6 and
                   `ip -j addr show` (lxc-net and libvirt set their bridge's)
  snap_config      {"proxy.http": ...}: `snap set system` options
  server_config    {"core.proxy_http": ...}: LXD's server config (`lxc config set`)
  incus_server_config  the same for Incus (`incus config set`)
  apt_proxy_at_install  written by the fake apt-get install: the tool's apt proxy
                   file as it was when the packages were installed ("" if none)
  instances        {"c1": "Running"}: LXD instances and their status
  foreign_lxd      set by the fakes: a second LXD started under the caller's LXD_DIR

Runtime commands run in a cleaned environment, so the fakes find their state
through fake-host.json beside them (written by tests/support/fake_host.rs),
and record the environment each got in $STATE/env.jsonl. dpkg-query folds
dpkg's journal (var/lib/dpkg/updates/*) into the status file, as dpkg does.
  snap_config      {"proxy.http": ...}: `snap set system` options
  server_config    {"core.proxy_http": ...}: LXD's server config (`lxc config set`)
  incus_server_config  the same for Incus (`incus config set`)
  apt_proxy_at_install  written by the fake apt-get install: the tool's apt proxy
                   file as it was when the packages were installed ("" if none)
  link_addrs       {"lxdbr0": "10.147.2.1/24"}: IPv4 addresses `ip -j addr show` gives
                   interfaces under $FAKE_HOST_ROOT/sys/class/net (a runtime
                   bringing its bridge up sets it, and starts "dnsmasq": its
                   sockets appear in /proc/net/udp)
  no_dnsmasq       true: a bridge comes up without its DHCP/DNS server
  dnsmasq_late     N: the bridges' dnsmasq shows in `ss` only after N more
                   reads, as LXD starts it a moment after its API answers
  dnsmasq_killed   ["lxcbr0"]: bridges whose dnsmasq died while they stayed
                   up; starting the runtime's network again brings it back
  ss_extra         lines `ss -H -lnutp` prints besides each bridge's dnsmasq
                   (DNS on the bridge's address, DHCP on 0.0.0.0%bridge:67)
  iptables_nft, iptables_legacy, iptables_v6_nft
                   what iptables-nft-save / iptables-legacy-save print; the
                   iptables-nft/-legacy and ufw fakes change them
  nft              extra items of `nft -j list ruleset` (a JSON list)
  firewalld        {"trusted": [...], "permanent_trusted": [...]}: firewalld
                   runs, with these interfaces in its trusted zone

Environment: FAKE_APT_INSTALL_SECONDS makes `apt-get install` take that long,
reporting its progress on the APT::Status-Fd descriptor when one is given.
"""

import json
import os
import shlex
import socket
import sys
import time
import xml.etree.ElementTree as ET


def where():
    beside = os.path.join(os.path.dirname(os.path.abspath(sys.argv[0])), "fake-host.json")
    if os.path.exists(beside):
        with open(beside) as f:
            paths = json.load(f)
        return paths["state"], paths["root"]
    return os.environ["FAKE_HOST_STATE"], os.environ["FAKE_HOST_ROOT"]


STATE_DIR, ROOT = where()
STATE_FILE = os.path.join(STATE_DIR, "state.json")
RECORDED_ENV = ["PATH", "HOME", "LC_ALL", "LXD_DIR", "LXD_CONF", "INCUS_DIR", "INCUS_CONF", "LIBVIRT_DEFAULT_URI"]
SYSTEM_LXD_DIR = "/var/lib/lxd"

ADDRS = [
    {"ifindex": 1, "ifname": "lo", "addr_info": [{"family": "inet", "local": "127.0.0.1", "prefixlen": 8}]},
    {"ifindex": 2, "ifname": "eth0", "addr_info": [{"family": "inet", "local": "10.147.0.5", "prefixlen": 24}]},
]
ROUTES = [
    {"dst": "default", "gateway": "10.147.0.1", "dev": "eth0", "flags": []},
    {"dst": "10.147.1.0/24", "dev": "tun0", "scope": "link", "flags": []},
]


def load():
    try:
        with open(STATE_FILE) as f:
            return json.load(f)
    except FileNotFoundError:
        return {}


def save(state):
    # Replaced whole: the tool asks several fakes at once (its reads run in
    # parallel), and a reader must never see a half-written file.
    temp = f"{STATE_FILE}.{os.getpid()}"
    with open(temp, "w") as f:
        json.dump(state, f, indent=1, sort_keys=True)
    os.replace(temp, STATE_FILE)


def fail(message, code=1):
    sys.stderr.write(message + "\n")
    sys.exit(code)


BRIDGE_ADDRS = {"lxcbr0": "10.0.3.1/24", "virbr0": "192.168.122.1/24"}


def set_link(name, up=True, state=None, address=None):
    path = os.path.join(ROOT, "sys/class/net", name)
    os.makedirs(path, exist_ok=True)
    with open(os.path.join(path, "flags"), "w") as f:
        f.write("0x1003\n" if up else "0x1002\n")
    if state is not None:
        address = address or BRIDGE_ADDRS.get(name)
        if address:
            state.setdefault("link_addrs", {})[name] = address
        write_udp(state)


def hex_ip(ip):
    """An address as /proc/net/udp prints it on a little-endian machine."""
    a, b, c, d = (int(x) for x in ip.split("."))
    return "%02X%02X%02X%02X" % (d, c, b, a)


def write_udp(state):
    """dnsmasq's sockets for every bridge up: DHCP on 0.0.0.0:67, DNS on the
    bridge's address."""
    lines = ["  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops"]
    if not state.get("no_dnsmasq"):
        sockets = []
        for name, address in sorted(state.get("link_addrs", {}).items()):
            if name in ("eth0", "lo") or name in state.get("dnsmasq_killed", []):
                continue
            sockets.append((address.split("/")[0], 53))
        if sockets:
            sockets.append(("0.0.0.0", 67))
        for i, (ip, port) in enumerate(sockets):
            lines.append("%4d: %s:%04X 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 %d 2 0000000000000000 0" % (i, hex_ip(ip), port, 1000 + i))
    write_root_file("proc/net/udp", "\n".join(lines) + "\n")


def write_if_inet6(state):
    """/proc/net/if_inet6 for the IPv6 addresses the state gives (link_addrs6)."""
    import ipaddress
    lines = []
    for i, (name, address) in enumerate(sorted(state.get("link_addrs6", {}).items())):
        ip_, prefix = address.split("/")
        hexed = ipaddress.IPv6Address(ip_).exploded.replace(":", "")
        lines.append("%s %02x %02x 00 80 %8s" % (hexed, i + 2, int(prefix), name))
    write_root_file("proc/net/if_inet6", "".join(l + "\n" for l in lines))


def lxc_net_ipv6():
    """LXC_IPV6_ADDR/LXC_IPV6_MASK of etc/default/lxc-net, as lxc-net reads them."""
    values = {}
    try:
        with open(os.path.join(ROOT, "etc/default/lxc-net")) as f:
            for line in f:
                if "=" in line and not line.startswith("#"):
                    k, v = line.strip().split("=", 1)
                    values[k] = v.strip('"')
    except FileNotFoundError:
        pass
    if values.get("LXC_IPV6_ADDR") and values.get("LXC_IPV6_MASK") and values.get("LXC_IPV6_NETWORK"):
        return values["LXC_IPV6_ADDR"] + "/" + values["LXC_IPV6_MASK"]
    return None


def set_ip_forward():
    """LXD and lxc-net turn forwarding on when they bring up a NAT bridge."""
    write_root_file("proc/sys/net/ipv4/ip_forward", "1\n")


SOCKETS = {"libvirtd": "run/libvirt/libvirt-sock", "virtlogd": "run/libvirt/virtlogd-sock"}


def serve_socket(relative):
    """A daemon's socket that accepts connections, in a process of its own."""
    path = os.path.join(ROOT, relative)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if os.path.exists(path):
        os.unlink(path)
    bound_r, bound_w = os.pipe()
    if os.fork() != 0:
        os.close(bound_w)
        os.read(bound_r, 1)  # back once the socket listens
        os.close(bound_r)
        return
    os.close(bound_r)
    os.setsid()
    # Off the tool's pipes: the runner waits for them to close.
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(16)
    listener.settimeout(0.5)
    os.write(bound_w, b"x")
    os.close(bound_w)
    deadline = time.time() + 600
    # Gone with the test's root (a temporary directory), at the latest in 10 minutes.
    while time.time() < deadline and os.path.exists(path):
        try:
            conn, _ = listener.accept()
            conn.close()
        except OSError:
            pass
    os._exit(0)


def run_unit(state, unit):
    # What a daemon started now would inherit besides stdin, stdout and
    # stderr (the fake's own descriptors are opened close-on-exec).
    state.setdefault("inherited_fds", {})[unit] = sorted(
        int(fd) for fd in os.listdir("/proc/self/fd") if int(fd) > 2 and os.path.exists(f"/proc/self/fd/{fd}")
        and not os.readlink(f"/proc/self/fd/{fd}").startswith("/proc/")
    )
    running = state.setdefault("running", [])
    if unit not in running:
        running.append(unit)
    if unit in SOCKETS:
        serve_socket(SOCKETS[unit])
    if unit == "lxc-net":
        write_root_file(LXC_NET_FLAG, "")
        if "lxcbr0" in state.get("dnsmasq_killed", []):
            state["dnsmasq_killed"].remove("lxcbr0")
        set_link("lxcbr0", state=state)
        set_ip_forward()
        v6 = lxc_net_ipv6()
        addrs6 = state.setdefault("link_addrs6", {})
        addrs6.pop("lxcbr0", None)
        if v6:
            addrs6["lxcbr0"] = v6
            write_root_file("proc/sys/net/ipv6/conf/all/forwarding", "1\n")
        write_if_inet6(state)
    if unit == "libvirtd" and state.get("virsh_net", {}).get("Active") == "yes":
        bring_up_virbr0(state, state["virsh_net"].get("live") or state["virsh_net"])


def dpkg_lock_held():
    """Whether another process holds dpkg's frontend lock, as apt finds out."""
    import fcntl
    path = os.path.join(ROOT, "var/lib/dpkg/lock-frontend")
    if not os.path.exists(path):
        return False
    with open(path, "a") as f:
        try:
            fcntl.lockf(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return True
        fcntl.lockf(f, fcntl.LOCK_UN)
    return False


def stop_unit(state, unit):
    running = state.setdefault("running", [])
    if unit in running:
        running.remove(unit)
    if unit in SOCKETS:
        path = os.path.join(ROOT, SOCKETS[unit])
        if os.path.exists(path):
            os.unlink(path)
    if unit == "lxc-net":
        flag = os.path.join(ROOT, LXC_NET_FLAG)
        if os.path.exists(flag):
            os.unlink(flag)
        state.get("link_addrs", {}).pop("lxcbr0", None)
        if state.get("link_addrs6", {}).pop("lxcbr0", None):
            write_if_inet6(state)
        set_link("lxcbr0", up=False, state=state)


def dependencies(stanza):
    out = []
    for field in ("Depends", "Pre-Depends"):
        for group in stanza.get(field, "").split(","):
            names = [alt.split()[0].split(":")[0] for alt in group.split("|") if alt.strip()]
            if names:
                out.append(names)
    return out


def purge_closure(names):
    """What purging `names` removes: them, and every installed package that
    then has a dependency nothing installed satisfies."""
    db = {n: st for n, st in dpkg_database().items() if st["Status"].endswith(" installed")}
    gone = set(n for n in names if n in db)
    changed = True
    while changed:
        changed = False
        for name, st in db.items():
            if name in gone:
                continue
            for group in dependencies(st):
                if all(alt in gone or alt not in db for alt in group) and any(alt in gone for alt in group):
                    gone.add(name)
                    changed = True
                    break
    return gone


def apt_get(state, args):
    if os.environ.get("DEBIAN_FRONTEND") != "noninteractive":
        fail("E: apt-get was run without DEBIAN_FRONTEND=noninteractive (the fake refuses)", 2)
    if dpkg_lock_held():
        fail(
            "E: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 4242 (apt-get)\n"
            "E: Unable to acquire the dpkg frontend lock (/var/lib/dpkg/lock-frontend), is another process using it?",
            100,
        )
    status_fd = None
    while args[:1] == ["-o"] and args[1].startswith("APT::Status-Fd="):
        status_fd = int(args[1].split("=", 1)[1])
        args = args[2:]
    if args[:1] == ["update"]:
        state["stale_lists"] = False
        with_backports = os.path.exists(os.path.join(ROOT, BACKPORTS_FILE))
        state["backports_lists"] = with_backports
        return
    if journal_files():
        fail("E: dpkg was interrupted, you must manually run 'dpkg --configure -a' to correct the problem.", 100)
    if args[:2] == ["-s", "purge"]:
        for name in sorted(purge_closure(args[2:])):
            print(f"Purg {name} [1.0]")
        return
    if args[:1] == ["purge"]:
        names = [a for a in args[1:] if not a.startswith("-")]
        gone = purge_closure(names)
        status = os.path.join(ROOT, "var/lib/dpkg/status")
        with open(status) as f:
            blocks = f.read().split("\n\n")
        kept = [b for b in blocks if not any(line == f"Package: {g}" for g in gone for line in b.splitlines())]
        with open(status, "w") as f:
            f.write("\n\n".join(kept))
        state.setdefault("purged", []).extend(sorted(gone))
        return
    if args[:1] == ["install"]:
        proxy = os.path.join(ROOT, "etc/apt/apt.conf.d/80container-init-proxy")
        state["apt_proxy_at_install"] = open(proxy).read() if os.path.exists(proxy) else ""
        if state.get("stale_lists"):
            fail("E: Unable to locate package " + args[-1], 100)
        packages = [a for a in args[1:] if not a.startswith("-") and not a.startswith("Dpkg::")]
        if "-t" in args:
            packages.remove(args[args.index("-t") + 1])
        for p in packages:
            if only_in_backports(state, p) and (not state.get("backports_lists") or "-t" not in args):
                fail(f"E: Unable to locate package {p} (it is in bookworm-backports only)", 100)
        slow_install(packages, status_fd)
        # What apt pulls in with them (state "pulls_in": {"lxd": ["liblxc1"]}).
        for p in list(packages):
            packages += [d for d in state.get("pulls_in", {}).get(p, []) if d not in packages]
        status = os.path.join(ROOT, "var/lib/dpkg/status")
        os.makedirs(os.path.dirname(status), exist_ok=True)
        with open(status, "a") as f:
            for p in packages:
                f.write(f"\nPackage: {p}\nStatus: install ok installed\nVersion: 1.0\n")
        for p in packages:
            install_files(state, p)
        return
    fail("E: the fake apt-get does not know " + shlex.join(args), 100)


def slow_install(packages, status_fd):
    seconds = float(os.environ.get("FAKE_APT_INSTALL_SECONDS", "0"))
    if seconds <= 0:
        return
    steps = 10
    for i in range(steps):
        if status_fd is not None:
            percent = 100.0 * i / steps
            os.write(status_fd, f"pmstatus:{packages[0]}:{percent}:Unpacking {packages[0]} (amd64)\n".encode())
        time.sleep(seconds / steps)


def write_root_file(relative, content):
    path = os.path.join(ROOT, relative)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(content)


def install_files(state, package):
    """What the real packages put on the host that the tool looks at."""
    if package == "lxc":
        write_root_file("etc/init.d/lxc-net", "#!/bin/sh\n")
        lxc_net = os.path.join(ROOT, "etc/default/lxc-net")
        if os.path.exists(lxc_net):
            # --force-confold: an existing config file is kept.
            with open(lxc_net) as f:
                state["lxc_net_at_install"] = f.read()
        else:
            write_root_file("etc/default/lxc-net", 'USE_LXC_BRIDGE="true"\n')
        write_root_file("etc/lxc/default.conf", "lxc.net.0.type = veth\nlxc.net.0.link = lxcbr0\nlxc.net.0.flags = up\n")
    elif package == "incus-base":
        write_root_file("etc/init.d/incus", "#!/bin/sh\n")
        group = os.path.join(ROOT, "etc/group")
        text = open(group).read() if os.path.exists(group) else "root:x:0:\n"
        if "\nincus-admin:" not in "\n" + text:
            text += "incus-admin:x:997:\n"
        write_root_file("etc/group", text)
    elif package == "libvirt-daemon-system-sysv":
        # Debian keeps libvirt's init scripts out of libvirt-daemon-system.
        write_root_file("etc/init.d/libvirtd", "#!/bin/sh\n")
        write_root_file("etc/init.d/virtlogd", "#!/bin/sh\n")


def journal_files():
    updates = os.path.join(ROOT, "var/lib/dpkg/updates")
    if not os.path.isdir(updates):
        return []
    return sorted(os.path.join(updates, n) for n in os.listdir(updates) if n.isdigit())


def stanzas(text):
    out = []
    for block in text.split("\n\n"):
        fields = {}
        for line in block.splitlines():
            if ": " in line and not line.startswith(" "):
                k, v = line.split(": ", 1)
                fields[k] = v.strip()
        if "Package" in fields:
            out.append(fields)
    return out


def dpkg_database():
    """Packages by name: the status file, then the journal over it."""
    db = {}
    status = os.path.join(ROOT, "var/lib/dpkg/status")
    if os.path.exists(status):
        with open(status) as f:
            for st in stanzas(f.read()):
                db[st["Package"]] = st
    for path in journal_files():
        with open(path) as f:
            for st in stanzas(f.read()):
                db[st["Package"]] = st
    return db


ABBREV = {"not-installed": "n", "config-files": "c", "half-installed": "H", "unpacked": "U",
          "half-configured": "F", "triggers-awaited": "W", "triggers-pending": "t", "installed": "i"}
WANT = {"unknown": "u", "install": "i", "hold": "h", "deinstall": "r", "purge": "p"}


def dpkg_query(state, args):
    assert args[:3] == ["-W", "-f", "${Package} ${db:Status-Abbrev}\n"], args
    db = dpkg_database()
    missing = False
    for p in args[3:]:
        st = db.get(p)
        if st is None:
            sys.stderr.write(f"dpkg-query: no packages found matching {p}\n")
            missing = True
            continue
        want, _flag, status = st["Status"].split()
        print(f"{p} {WANT[want]}{ABBREV[status]} ")
    sys.exit(1 if missing else 0)


def dpkg(state, args):
    if args[-2:] == ["--configure", "-a"]:
        db = dpkg_database()
        for st in db.values():
            want, flag, status = st["Status"].split()
            if status in ("unpacked", "half-configured", "half-installed", "triggers-awaited", "triggers-pending"):
                st["Status"] = f"{want} ok installed"
        with open(os.path.join(ROOT, "var/lib/dpkg/status"), "w") as f:
            f.write("\n\n".join("\n".join(f"{k}: {v}" for k, v in st.items()) for st in db.values()) + "\n")
        for path in journal_files():
            os.remove(path)
        for name in db:
            install_files(state, name)
        print("Setting up lxc (1:5.0.2-1+deb12u2) ...")
        return
    fail("the fake dpkg does not know " + shlex.join(args), 2)


BACKPORTS_FILE = "etc/apt/sources.list.d/container-init-backports.sources"


def only_in_backports(state, package):
    return state.get("backports_only") and package.startswith("incus")


def apt_cache(state, args):
    assert args[0] == "policy", args
    for p in args[1:]:
        none = state.get("stale_lists") or (only_in_backports(state, p) and not state.get("backports_lists"))
        candidate = "(none)" if none else "1.0"
        print(f"{p}:\n  Installed: (none)\n  Candidate: {candidate}\n  Version table:")


def snap(state, args):
    snaps = state.setdefault("snaps", {})
    if args[0] == "list":
        name = args[1]
        if name not in snaps:
            fail("error: no matching snaps installed")
        print("Name  Version      Rev    Tracking       Publisher   Notes")
        print(f"{name}   5.21.2-xyz   30000  {snaps[name]}    canonical** -")
    elif args[0] in ("install", "refresh"):
        channel = args[2].split("=", 1)[1]
        snaps[args[1]] = channel
        # The snap's daemon is socket-activated once installed.
        run_unit(state, args[1])
        print(f"{args[1]} ({channel}) 5.21.2 from Canonical** installed")
    elif args[:2] == ["start", "--enable"]:
        run_unit(state, args[2])
    elif args[:2] == ["stop", "--disable"]:
        stop_unit(state, args[2])
    elif args[:2] == ["remove", "--purge"]:
        snaps.pop(args[2], None)
        stop_unit(state, args[2])
    elif args == ["get", "-d", "system"]:
        # The whole system config as one document; snapd answers it (exit 0)
        # also where no proxy.* option was ever set.
        config = state.get("snap_config", {})
        proxy = {k.split(".", 1)[1]: v for k, v in config.items() if k.startswith("proxy.")}
        doc = {"refresh": {"timer": "00:00~24:00/4"}}
        if proxy:
            doc["proxy"] = proxy
        print(json.dumps(doc, indent=2))
    elif args[:2] == ["set", "system"]:
        config = state.setdefault("snap_config", {})
        for word in args[2:]:
            k, v = word.split("=", 1)
            config[k] = v
    elif args[:2] == ["unset", "system"]:
        config = state.setdefault("snap_config", {})
        for k in args[2:]:
            config.pop(k, None)
    else:
        fail("error: the fake snap does not know " + shlex.join(args))


def systemctl(state, args):
    if args[:2] == ["is-active", "--quiet"]:
        sys.exit(0 if args[2] in state.get("running", []) else 3)
    if args[:2] == ["enable", "--now"]:
        for unit in args[2:]:
            run_unit(state, unit.removesuffix(".service").removesuffix(".socket"))
            state.setdefault("enabled", []).append(unit)
        return
    if args[:2] == ["is-enabled", "--quiet"]:
        sys.exit(0 if args[2] in state.get("enabled", []) else 1)
    if args[0] == "stop":
        stop_unit(state, args[1].removesuffix(".service").removesuffix(".socket"))
        return
    if args[0] == "disable":
        state["enabled"] = [u for u in state.get("enabled", []) if u != args[1]]
        return
    if args[0] == "restart":
        run_unit(state, args[1])
        return
    fail("the fake systemctl does not know " + shlex.join(args))


LXC_NET_FLAG = "run/lxc/network_up"


def service(state, args):
    unit, action = args
    if unit == "lxc-net" and action == "status":
        # Debian's lxc-net script knows no `status`.
        print("Usage: /etc/init.d/lxc-net {start|stop|restart|reload|force-reload}")
        sys.exit(2)
    if action == "status":
        sys.exit(0 if unit in state.get("running", []) else 3)
    if unit == "lxc-net" and action == "start" and os.path.exists(os.path.join(ROOT, LXC_NET_FLAG)):
        # As lxc-net: its flag file says it runs, whatever is left of it.
        print("lxc-net is already running")
        sys.exit(1)
    if action == "restart":
        stop_unit(state, unit)
    if action in ("start", "restart"):
        run_unit(state, unit)
        return
    if action == "stop":
        stop_unit(state, unit)
        return
    fail("the fake service does not know " + shlex.join(args))


def start_stop_daemon(state, args):
    if "--start" in args and "--name" in args:
        name = args[args.index("--name") + 1]
        if name == "lxd" and os.environ.get("LXD_DIR", SYSTEM_LXD_DIR) != SYSTEM_LXD_DIR:
            # The daemon takes LXD_DIR from its environment: a second, empty LXD.
            state["foreign_lxd"] = os.environ["LXD_DIR"]
            return
        pidfile = args[args.index("--pidfile") + 1] if "--pidfile" in args else None
        if pidfile and os.path.exists(os.path.join(ROOT, pidfile.lstrip("/"))):
            # start-stop-daemon believes a pid file whose process it finds,
            # zombies included: nothing is done.
            if "--oknodo" in args:
                return
            sys.exit(1)
        if name in state.get("running", []):
            sys.exit(0 if "--oknodo" in args else 1)
        run_unit(state, name)
        if pidfile:
            write_root_file(pidfile.lstrip("/"), "4242\n")
            write_root_file("proc/4242/stat", "4242 (lxd) S 1 4242 4242 0 -1\n")
        return
    fail("the fake start-stop-daemon does not know " + shlex.join(args))


def lxd_socket_answers(state):
    return "lxd" in state.get("running", []) and os.environ.get("LXD_DIR", SYSTEM_LXD_DIR) == SYSTEM_LXD_DIR


def lxd(state, args):
    if args[0] == "waitready":
        timeout = next((a.split("=", 1)[1] for a in args if a.startswith("--timeout=")), "0")
        if not lxd_socket_answers(state):
            fail(f"Error: LXD still not running after {timeout}s timeout (the fake is not started)")
        return
    if args[0] == "shutdown":
        stop_unit(state, "lxd")
        pid = os.path.join(ROOT, "run/lxd.pid")
        if os.path.exists(pid):
            os.unlink(pid)
        return
    fail("the fake lxd does not know " + shlex.join(args))


def key_values(words):
    return dict(w.split("=", 1) for w in words)


def default_remote():
    conf = os.environ.get("LXD_CONF") or os.path.join(os.environ.get("HOME", "/root"), ".config/lxc")
    path = os.path.join(conf, "config.yml")
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                if line.startswith("default-remote:"):
                    return line.split(":", 1)[1].strip()
    return "local"


FAMILY = {
    # client: (daemon unit, bridge, where its objects live in the state: top level for LXD)
    "lxc": ("lxd", "lxdbr0", None),
    "incus": ("incus", "incusbr0", "incus"),
}


def lxc(state, args, client="lxc"):
    _unit, bridge, _key = FAMILY[client]
    if client == "incus":
        if args[:2] == ["admin", "waitready"]:
            timeout = next((a.split("=", 1)[1] for a in args if a.startswith("--timeout=")), "0")
            if "incus" not in state.get("running", []):
                fail(f"Error: Incus still not running after {timeout}s timeout (the fake is not started)")
            return
        if "incus" not in state.get("running", []):
            fail('Error: Get "http://unix.socket/1.0": dial unix /var/lib/incus/unix.socket: connect: no such file or directory')
        objects = state.setdefault("incus", {})
    else:
        objects = state
    lxd_like(state, objects, args, bridge, client)


def incus(state, args):
    lxc(state, args, "incus")


def lxd_like(state, objects, args, bridge, client):
    """LXD's and Incus's shared API and client commands."""
    if client == "lxc" and default_remote() != "local":
        fail('Error: Get "https://127.0.0.1:8443/1.0": dial tcp 127.0.0.1:8443: connect: connection refused')
    if client == "lxc" and not lxd_socket_answers(state):
        socket = os.path.join(os.environ.get("LXD_DIR", SYSTEM_LXD_DIR), "unix.socket")
        fail(
            f'Error: Get "http://unix.socket/1.0": dial unix {socket}: '
            "connect: no such file or directory"
        )
    # Server config where the proxy tests read it: top level for both.
    config_key = "server_config" if client == "lxc" else "incus_server_config"
    objects_config = state
    networks = objects.setdefault("networks", {})
    pools = objects.setdefault("pools", [])
    profile = objects.setdefault("profile", {"devices": {}})
    if args[0] == "query":
        path = args[1]
        if path == "/1.0":
            print(json.dumps({"config": objects_config.get(config_key, {}), "api_status": "stable"}))
        elif path == "/1.0/networks":
            # The daemon lists the host's interfaces beside its own networks.
            names = sorted(set(networks) | {"lo", "eth0"})
            print(json.dumps([f"/1.0/networks/{name}" for name in names]))
        elif path == "/1.0/storage-pools":
            # Incus 6.0 prints nothing at all for an empty collection.
            if pools or client != "incus":
                print(json.dumps([f"/1.0/storage-pools/{name}" for name in pools]))
        elif path == f"/1.0/networks/{bridge}":
            if bridge not in networks:
                fail("Error: Network not found")
            used_by = [f"/1.0/profiles/default" for d in profile["devices"].values() if d.get("network") == bridge]
            print(json.dumps({"config": networks[bridge], "managed": True, "type": "bridge", "used_by": used_by}))
        elif path == "/1.0/instances?all-projects=true":
            print(json.dumps([f"/1.0/instances/{name}" for name in state.get("instances", {})]))
        elif path == f"/1.0/networks/{bridge}/state":
            if bridge not in networks:
                fail("Error: Network not found")
            print(json.dumps({"state": "up"}))
        elif path == "/1.0/storage-pools/default":
            if "default" not in pools:
                fail("Error: Storage pool not found")
            used_by = [f"/1.0/profiles/default" for d in profile["devices"].values() if d.get("pool") == "default"]
            used_by += objects.get("pool_used_by", [])
            details = objects.get("pool_details", {}).get("default", {"driver": "dir", "config": {"source": f"/var/lib/{_runtime_dir(client)}/storage-pools/default"}})
            print(json.dumps(dict({"name": "default", "status": "Created", "used_by": used_by}, **details)))
        elif path == "/1.0/storage-pools/default/resources":
            if "default" not in pools:
                fail("Error: Storage pool not found")
            print(json.dumps({"space": {"used": 1 << 30, "total": 30 << 30}, "inodes": {"used": 0, "total": 0}}))
        elif path == "/1.0/profiles/default":
            used_by = [f"/1.0/instances/{name}" for name in state.get("instances", {})]
            print(json.dumps(dict(profile, used_by=used_by)))
        elif path.startswith("/1.0/instances/"):
            name = path.split("/")[3].split("?")[0]
            if name not in state.get("instances", {}):
                fail("Error: Instance not found")
            print(json.dumps({"name": name, "status": state["instances"][name]}))
        else:
            fail("Error: not found")
    elif args[:2] == ["network", "create"]:
        networks[args[2]] = key_values(args[3:])
        bring_up_lxd_network(state, networks[args[2]], args[2])
    elif args[:2] == ["network", "set"]:
        networks[args[2]].update(key_values(args[3:]))
        bring_up_lxd_network(state, networks[args[2]], args[2])
    elif args[:2] == ["network", "unset"]:
        networks[args[2]].pop(args[3], None)
    elif args[:2] == ["network", "delete"]:
        del networks[args[2]]
        state.get("link_addrs", {}).pop(args[2], None)
        path = os.path.join(ROOT, "sys/class/net", args[2])
        for name in os.listdir(path) if os.path.isdir(path) else []:
            os.unlink(os.path.join(path, name))
        if os.path.isdir(path):
            os.rmdir(path)
    elif args[:2] == ["storage", "delete"]:
        pools.remove(args[2])
    elif args[:2] == ["config", "set"] and len(args) == 4:
        objects_config.setdefault(config_key, {})[args[2]] = args[3]
    elif args[:2] == ["config", "unset"] and len(args) == 3:
        objects_config.setdefault(config_key, {}).pop(args[2], None)
    elif args[:2] == ["storage", "create"]:
        name, driver, config = args[2], args[3], key_values(args[4:])
        if name in pools:
            fail(f"Error: Storage pool {name} already exists")
        pools.append(name)
        source = config.get("source", "")
        config["volatile.initial_source"] = source
        if driver != "dir" and not source:
            config["source"] = f"/var/lib/{_runtime_dir(client)}/disks/{name}.img"
            config.setdefault("size", "5GiB")
        elif driver == "btrfs" and source.startswith("/dev/"):
            config["source"] = "/dev/disk/by-uuid/0b7e1f6e-fake"
        if driver == "lvm":
            config.setdefault("lvm.vg_name", source if source and not source.startswith("/") else name)
            config.setdefault("lvm.thinpool_name", "LXDThinPool")
        if driver == "zfs":
            config.setdefault("zfs.pool_name", source if source and not source.startswith("/") else name)
        objects.setdefault("pool_details", {})[name] = {"driver": driver, "config": config}
    elif args[:3] == ["profile", "device", "add"]:
        device = key_values(args[6:])
        device["type"] = args[5]
        profile["devices"][args[4]] = device
    elif args[:3] == ["profile", "device", "remove"]:
        del profile["devices"][args[4]]
    elif args[:3] == ["profile", "device", "set"]:
        profile["devices"][args[4]].update(key_values(args[5:]))
    elif args[:3] == ["profile", "device", "unset"]:
        profile["devices"][args[4]].pop(args[5], None)
    else:
        fail(f"Error: the fake {client} does not know " + shlex.join(args))


def _runtime_dir(client):
    return "incus" if client == "incus" else "lxd"


def block_device(state, path):
    dev = state.get("block_devices", {}).get(path)
    if dev is None:
        fail(f"lsblk: {path}: not a block device", 32)
    return dev


def lsblk_entry(dev):
    return {
        "name": dev["name"],
        "type": dev.get("type", "disk"),
        "fstype": dev.get("fstype"),
        "pttype": dev.get("pttype"),
        "mountpoint": dev.get("mountpoint"),
        "children": [lsblk_entry(c) for c in dev.get("children", [])],
    }


def lsblk(state, args):
    """lsblk -J -o NAME,TYPE,FSTYPE,PTTYPE,MOUNTPOINT -- DEV"""
    assert args[:4] == ["-J", "-o", "NAME,TYPE,FSTYPE,PTTYPE,MOUNTPOINT", "--"], args
    dev = block_device(state, args[4])
    print(json.dumps({"blockdevices": [lsblk_entry(dev)]}))


def wipefs(state, args):
    if args[:3] == ["--no-act", "--json", "--"]:
        dev = block_device(state, args[3])
        sigs = [dict({"device": dev["name"]}, **sig) for sig in dev.get("signatures", [])]
        if sigs:
            print(json.dumps({"signatures": sigs}))
        return
    if args[:2] == ["--all", "--"]:
        dev = block_device(state, args[2])
        dev["signatures"] = []
        dev.pop("fstype", None)
        dev.pop("pttype", None)
        state.setdefault("wiped", []).append(args[2])
        return
    fail("the fake wipefs does not know " + shlex.join(args))


def vgs(state, args):
    assert args[:3] == ["--noheadings", "-o", "vg_name"], args
    if args[3] not in state.get("vgs", []):
        fail(f'  Volume group "{args[3]}" not found', 5)
    print("  " + args[3])


def zpool(state, args):
    assert args[:4] == ["list", "-H", "-o", "name"], args
    if args[4] not in state.get("zpools", []):
        fail(f"cannot open '{args[4]}': no such pool")
    print(args[4])


def gpasswd(state, args):
    assert args[:1] == ["-d"], args
    user, group = args[1], args[2]
    path = os.path.join(ROOT, "etc/group")
    with open(path) as f:
        lines = f.read().splitlines()
    for i, line in enumerate(lines):
        fields = line.split(":")
        if fields[0] == group:
            members = [m for m in fields[3].split(",") if m]
            if user not in members:
                fail(f"gpasswd: user '{user}' is not a member of '{group}'", 3)
            fields[3] = ",".join(m for m in members if m != user)
            lines[i] = ":".join(fields)
            break
    else:
        fail(f"gpasswd: group '{group}' does not exist in /etc/group", 3)
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    print(f"Removing user {user} from group {group}")


def usermod(state, args):
    assert args[:1] == ["-aG"] and args[2] == "--", args
    group, user = args[1], args[3]
    path = os.path.join(ROOT, "etc/group")
    with open(path) as f:
        lines = f.read().splitlines()
    for i, line in enumerate(lines):
        fields = line.split(":")
        if fields[0] == group:
            members = [m for m in fields[3].split(",") if m]
            fields[3] = ",".join(members + [user])
            lines[i] = ":".join(fields)
            break
    else:
        fail(f"usermod: group '{group}' does not exist", 6)
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


NET_UUID = "2a4c7b2e-8d4e-4f50-9a4e-0c1b2d3e4f50"
NET_MAC = "52:54:00:12:34:56"


def net_xml(net):
    """What libvirt 9.0's `net-dumpxml` prints for the default network."""
    ip = net.get("ip", "192.168.122.1")
    mask = net.get("netmask", "255.255.255.0")
    base = ip.rsplit(".", 1)[0]
    mtu = f"  <mtu size='{net['mtu']}'/>\n" if net.get("mtu") else ""
    nat66 = " ipv6='yes'" if net.get("nat66") else ""
    v6 = f"  <ip family='ipv6' address='{net['ip6']}' prefix='64'>\n  </ip>\n" if net.get("ip6") else ""
    return (
        f"<network>\n  <name>default</name>\n  <uuid>{NET_UUID}</uuid>\n"
        f"  <forward mode='nat'>\n    <nat{nat66}>\n      <port start='1024' end='65535'/>\n    </nat>\n  </forward>\n"
        f"  <bridge name='virbr0' stp='on' delay='0'/>\n{mtu}  <mac address='{NET_MAC}'/>\n"
        f"  <ip address='{ip}' netmask='{mask}'>\n    <dhcp>\n"
        f"      <range start='{base}.2' end='{base}.254'/>\n    </dhcp>\n  </ip>\n{v6}</network>\n"
    )


def bring_up_virbr0(state, live):
    """What libvirt does when it starts its NAT network: virbr0 up with its
    address and MTU (Ethernet's unless the definition has one), dnsmasq on
    it, forwarding on."""
    ip, mask = live.get("ip", "192.168.122.1"), live.get("netmask", "255.255.255.0")
    set_link("virbr0", state=state, address=f"{ip}/{prefix_of(mask)}")
    write_root_file("sys/class/net/virbr0/mtu", f"{live.get('mtu') or 1500}\n")
    set_ip_forward()
    addrs6 = state.setdefault("link_addrs6", {})
    addrs6.pop("virbr0", None)
    if live.get("ip6"):
        addrs6["virbr0"] = live["ip6"] + "/64"
        write_root_file("proc/sys/net/ipv6/conf/all/forwarding", "1\n")
    write_if_inet6(state)


def prefix_of(mask):
    return sum(bin(int(part)).count("1") for part in mask.split("."))


def virbr0_lines(state):
    """What `ip -j` shows of virbr0 while the default network is active."""
    net = state.get("virsh_net")
    if not net or net["Active"] != "yes":
        return [], []
    live = net.get("live") or net
    ip, prefix = live.get("ip", "192.168.122.1"), prefix_of(live.get("netmask", "255.255.255.0"))
    base = ip.rsplit(".", 1)[0]
    return (
        [{"ifindex": 9, "ifname": "virbr0", "addr_info": [{"family": "inet", "local": ip, "prefixlen": prefix}]}],
        [
            {"dst": f"{base}.0/{prefix}", "dev": "virbr0", "protocol": "kernel", "scope": "link", "prefsrc": ip},
            {"type": "local", "dst": ip, "dev": "virbr0", "table": "local", "protocol": "kernel", "prefsrc": ip},
        ],
    )


def listed(flags, defined, active, autostart):
    """Whether `net-list`/`pool-list` with these flags lists the object."""
    if not defined:
        return False
    if "--all" in flags:
        shown = True
    elif "--inactive" in flags:
        shown = not active
    else:
        shown = active
    if "--autostart" in flags:
        shown = shown and autostart
    return shown


def autostart_link(state, where, what):
    """libvirt 9.0 makes the link and refuses when one is already there."""
    link = os.path.join(ROOT, "etc/libvirt", where, "autostart/default.xml")
    if os.path.lexists(link):
        fail(
            f"error: failed to mark {what} default as autostarted\n"
            f"error: Failed to create symlink '/etc/libvirt/{where}/autostart/default.xml' to "
            f"'/etc/libvirt/{where}/default.xml': File exists"
        )
    os.makedirs(os.path.dirname(link), exist_ok=True)
    os.symlink(f"/etc/libvirt/{where}/default.xml", link)


def bring_up_lxd_network(state, config, name):
    set_link(name, state=state, address=config.get("ipv4.address"))
    if "bridge.mtu" in config:
        write_root_file(f"sys/class/net/{name}/mtu", config["bridge.mtu"] + "\n")
    if config.get("ipv4.nat") == "true":
        set_ip_forward()
    v6 = config.get("ipv6.address", "none")
    addrs6 = state.setdefault("link_addrs6", {})
    if v6 not in ("", "none", "auto"):
        addrs6[name] = v6
        write_root_file("proc/sys/net/ipv6/conf/all/forwarding", "1\n")
    else:
        addrs6.pop(name, None)
    write_if_inet6(state)


def virsh(state, args):
    assert args[:2] == ["-c", "qemu:///system"], args
    args = args[2:]
    if "libvirtd" not in state.get("running", []):
        fail("error: failed to connect to the hypervisor\nerror: Failed to connect socket to '/var/run/libvirt/libvirt-sock': No such file or directory")
    what, rest = args[0], args[1:]
    net = state.get("virsh_net")
    pool = state.get("virsh_pool")
    if what == "version":
        print("Compiled against library: libvirt 9.0.0\nUsing library: libvirt 9.0.0")
    elif what == "net-list":
        assert "--name" in rest, args
        if listed(rest, net is not None, net and net["Active"] == "yes", net and net["Autostart"] == "yes"):
            print("default")
        print()
    elif what == "net-dumpxml":
        if net is None:
            fail("error: failed to get network 'default'\nerror: Network not found: no network with matching name 'default'")
        live = net.get("live") if net["Active"] == "yes" and "--inactive" not in rest else None
        sys.stdout.write(net_xml(live or net))
    elif what == "net-define":
        root = ET.parse(rest[0]).getroot()
        assert root.findtext("name") == "default", rest
        uuid = root.findtext("uuid")
        if net is not None and uuid not in (None, NET_UUID):
            fail(f"error: operation failed: network 'default' already exists with uuid {NET_UUID}")
        ip = root.find("ip")
        mtu = root.find("mtu")
        ip6 = root.find("ip[@family='ipv6']")
        nat = root.find("forward/nat")
        defined = {"ip": ip.get("address"), "netmask": ip.get("netmask"),
                   "mtu": mtu.get("size") if mtu is not None else None,
                   "ip6": ip6.get("address") if ip6 is not None else None,
                   "nat66": nat is not None and nat.get("ipv6") == "yes"}
        if net is None:
            net = state["virsh_net"] = {"Active": "no", "Autostart": "no"}
        net.update(defined)
    elif what == "net-start":
        if net["Active"] == "yes":
            fail("error: Failed to start network default\nerror: Requested operation is not valid: network is already active")
        net["Active"] = "yes"
        net["live"] = {"ip": net.get("ip", "192.168.122.1"), "netmask": net.get("netmask", "255.255.255.0"),
                       "mtu": net.get("mtu"), "ip6": net.get("ip6")}
        bring_up_virbr0(state, net["live"])
    elif what == "net-destroy":
        net["Active"] = "no"
        net.pop("live", None)
        state.get("link_addrs", {}).pop("virbr0", None)
        if state.get("link_addrs6", {}).pop("virbr0", None):
            write_if_inet6(state)
        set_link("virbr0", up=False, state=state)
    elif what == "net-autostart" and "--disable" in rest:
        os.unlink(os.path.join(ROOT, "etc/libvirt/qemu/networks/autostart/default.xml"))
        net["Autostart"] = "no"
    elif what == "net-autostart":
        autostart_link(state, "qemu/networks", "network")
        net["Autostart"] = "yes"
    elif what == "pool-list":
        assert "--name" in rest, args
        if listed(rest, pool is not None, pool and pool["State"] == "running", pool and pool["Autostart"] == "yes"):
            print("default")
        print()
    elif what == "list":
        assert rest == ["--all", "--name"], args
        for name in state.get("domains", []):
            print(name)
        print()
    elif what == "net-undefine":
        if net["Active"] == "yes":
            net.pop("ip", None)
        else:
            del state["virsh_net"]
        link = os.path.join(ROOT, "etc/libvirt/qemu/networks/autostart/default.xml")
        if os.path.lexists(link):
            os.unlink(link)
    elif what == "pool-destroy":
        pool["State"] = "inactive"
    elif what == "pool-undefine":
        del state["virsh_pool"]
        link = os.path.join(ROOT, "etc/libvirt/storage/autostart/default.xml")
        if os.path.lexists(link):
            os.unlink(link)
    elif what == "vol-list":
        for name in pool.get("volumes", []):
            print(name)
        print()
    elif what == "pool-define-as":
        state["virsh_pool"] = {"State": "inactive", "Autostart": "no"}
    elif what == "pool-build":
        pass
    elif what == "pool-start":
        pool["State"] = "running"
    elif what == "pool-autostart":
        autostart_link(state, "storage", "pool")
        pool["Autostart"] = "yes"
    else:
        fail("error: the fake virsh does not know " + shlex.join(args))


def ip_json_links(state):
    """`ip -j addr show` for the interfaces under sys/class/net."""
    base = os.path.join(ROOT, "sys/class/net")
    out = [{"ifindex": 1, "ifname": "lo", "flags": ["LOOPBACK", "UP", "LOWER_UP"], "mtu": 65536,
            "addr_info": [{"family": "inet", "local": "127.0.0.1", "prefixlen": 8}]}]
    addrs = dict({"eth0": "10.147.0.5/24"}, **state.get("link_addrs", {}))
    names = sorted(os.listdir(base)) if os.path.isdir(base) else []
    for i, name in enumerate(names):
        d = os.path.join(base, name)

        def read(f, default):
            try:
                with open(os.path.join(d, f)) as fh:
                    return fh.read().strip()
            except FileNotFoundError:
                return default
        flags = int(read("flags", "0x1003"), 16)
        link = {"ifindex": i + 2, "ifname": name, "flags": ["BROADCAST", "MULTICAST"] + (["UP"] if flags & 1 else []),
                "mtu": int(read("mtu", "1500")), "addr_info": []}
        if name in addrs:
            ip_, prefix = addrs[name].split("/")
            link["addr_info"].append({"family": "inet", "local": ip_, "prefixlen": int(prefix)})
        if name in state.get("link_addrs6", {}):
            ip_, prefix = state["link_addrs6"][name].split("/")
            link["addr_info"].append({"family": "inet6", "local": ip_, "prefixlen": int(prefix), "scope": "global"})
        out.append(link)
    return out


def ip(state, args):
    addrs, routes = virbr0_lines(state)
    if args == ["-j", "-4", "addr", "show"]:
        print(json.dumps(state.get("addrs", ADDRS) + addrs))
    elif args == ["-j", "-4", "route", "show", "table", "all"]:
        print(json.dumps(state.get("routes", ROUTES) + routes))
    elif args == ["-j", "-6", "route", "show", "default"]:
        print(json.dumps(state.get("routes6", [])))
    elif args == ["-j", "addr", "show"]:
        # Every interface with every address: the links under sys/class/net,
        # and the addresses the state gives (eth0's, a VPN's, virbr0's).
        links = ip_json_links(state)
        for extra in state.get("addrs", ADDRS) + addrs:
            same = next((l for l in links if l["ifname"] == extra["ifname"]), None)
            if same is None:
                links.append(dict({"flags": ["UP", "LOWER_UP"], "mtu": 1500}, **extra))
                continue
            known = {a.get("local") for a in same["addr_info"]}
            same["addr_info"] += [a for a in extra.get("addr_info", []) if a.get("local") not in known]
        print(json.dumps(links))
    else:
        fail("the fake ip does not know " + shlex.join(args))


def ss(state, args):
    if args != ["-H", "-lnutp"]:
        fail("the fake ss does not know " + shlex.join(args))
    lines = []
    late = state.get("dnsmasq_late", 0)
    if late:
        state["dnsmasq_late"] = late - 1
    if not state.get("no_dnsmasq") and not late:
        killed = state.get("dnsmasq_killed", [])
        bridges = [(n, a) for n, a in sorted(state.get("link_addrs", {}).items())
                   if n not in ("eth0", "lo") and n not in killed]
        for i, (name, address) in enumerate(bridges):
            pid = 4000 + i
            users = f'users:(("dnsmasq",pid={pid},fd=6))'
            ip_ = address.split("/")[0]
            lines.append(f"udp UNCONN 0 0 {ip_}:53 0.0.0.0:* {users}")
            lines.append(f"udp UNCONN 0 0 0.0.0.0%{name}:67 0.0.0.0:* {users}")
            lines.append(f"tcp LISTEN 0 32 {ip_}:53 0.0.0.0:* {users}")
    lines += state.get("ss_extra", [])
    print("\n".join(lines))


def apt_config(state, args):
    """`apt-config dump`: the `Key "value";` lines of the files under the root."""
    assert args == ["dump"], args
    for directory in ("etc/apt/apt.conf.d",):
        path = os.path.join(ROOT, directory)
        for name in sorted(os.listdir(path)) if os.path.isdir(path) else []:
            with open(os.path.join(path, name)) as f:
                for line in f:
                    if line.strip() and not line.startswith("//"):
                        sys.stdout.write(line)


def lxc_ls(state, args):
    print("5.0.2")


def iptables_text(state, backend):
    return state.get("iptables_" + backend, "")


def add_rule(text, chain, line, first):
    """Put `line` into chain `chain` of *filter: first of the chain's rules
    (-I) or last (-A), as iptables-save would then print it."""
    lines = text.splitlines()
    start = lines.index("*filter")
    end = start + lines[start:].index("COMMIT")
    mine = [i for i in range(start, end) if lines[i].startswith(f"-A {chain} ")]
    if first and mine:
        at = mine[0]
    elif mine:
        at = mine[-1] + 1
    else:
        at = end
    lines.insert(at, line)
    return "\n".join(lines) + "\n"


def save_words(args):
    return " ".join(f'"{a}"' if (" " in a or ":" in a) else a for a in args)


def iptables_save(backend):
    def tool(state, args):
        sys.stdout.write(iptables_text(state, backend))
    return tool


def iptables(backend):
    def tool(state, args):
        if args[0] in ("-C", "-D"):
            text = iptables_text(state, backend)
            line = f"-A {args[1]} " + save_words(args[2:])
            lines = text.splitlines()
            if line not in lines:
                fail("iptables: Bad rule (does a matching rule exist in that chain?).")
            if args[0] == "-D":
                lines.remove(line)
                state["iptables_" + backend] = "\n".join(lines) + "\n"
            return
        if args[0] not in ("-I", "-A"):
            fail(f"the fake iptables-{backend} does not know " + shlex.join(args))
        chain = args[1]
        text = iptables_text(state, backend)
        if f":{chain} " not in text:
            fail(f"iptables: No chain/target/match by that name.")
        state["iptables_" + backend] = add_rule(text, chain, f"-A {chain} " + save_words(args[2:]), args[0] == "-I")
    return tool


UFW_RULES = {
    "allow in on": ("ufw-user-input", "-i"),
    "route allow in on": ("ufw-user-forward", "-i"),
    "route allow out on": ("ufw-user-forward", "-o"),
}


def ufw(state, args):
    backend = state.get("ufw_backend", "nft")
    text = iptables_text(state, backend)
    if ":ufw-user-input " not in text:
        fail("ERROR: ufw is not active (fake)")
    added = state.setdefault("ufw_added", [])
    if args == ["show", "added"]:
        print("Added user rules (see 'ufw status' for running firewall):")
        for rule in added:
            print("ufw " + rule)
        return
    if args[:1] == ["delete"] or args[:2] == ["route", "delete"]:
        words = args[1:] if args[0] == "delete" else ["route"] + args[2:]
        rule = " ".join(words)
        if rule not in added:
            fail("Could not delete non-existent rule")
        added.remove(rule)
        chain, flag = UFW_RULES[" ".join(words[:-1])]
        lines = text.splitlines()
        lines.remove(f"-A {chain} {flag} {words[-1]} -j ACCEPT")
        state["iptables_" + backend] = "\n".join(lines) + "\n"
        print("Rule deleted")
        return
    words = " ".join(args[:-1])
    name = args[-1]
    rule = {
        "allow in on": ("ufw-user-input", f"-i {name}"),
        "route allow in on": ("ufw-user-forward", f"-i {name}"),
        "route allow out on": ("ufw-user-forward", f"-o {name}"),
    }.get(words)
    if rule is None:
        fail("ERROR: the fake ufw does not know " + shlex.join(args))
    chain, match = rule
    state["iptables_" + backend] = add_rule(text, chain, f"-A {chain} {match} -j ACCEPT", False)
    added.append(" ".join(args))
    print("Rule added")


def firewall_cmd(state, args):
    fw = state.get("firewalld")
    if fw is None:
        fail("FirewallD is not running", 252)
    permanent = "--permanent" in args
    rest = [a for a in args if a != "--permanent"]
    key = "permanent_trusted" if permanent else "trusted"
    verb = rest[1].split("=", 1)[0] if len(rest) == 2 else ""
    if len(rest) != 2 or rest[0] != "--zone=trusted" or verb not in (
            "--change-interface", "--query-interface", "--remove-interface"):
        fail("the fake firewall-cmd does not know " + shlex.join(args))
    name = rest[1].split("=", 1)[1]
    if verb == "--query-interface":
        present = name in fw.get(key, [])
        print("yes" if present else "no")
        sys.exit(0 if present else 1)
    if verb == "--remove-interface":
        if name in fw.get(key, []):
            fw[key].remove(name)
        print("success")
        return
    if name not in fw.setdefault(key, []):
        fw[key].append(name)
    print("success")


def nft_item(kind, **fields):
    return {kind: dict({"family": "inet", "table": "firewalld"}, **fields)}


def firewalld_items(fw):
    """firewalld's nft table, cut down to what decides a bridge's traffic."""
    def match(key, value):
        return {"match": {"op": "==", "left": {"meta": {"key": key}}, "right": value}}
    established = {"match": {"op": "in", "left": {"ct": {"key": "state"}}, "right": ["established", "related"]}}
    reject = {"reject": {"type": "icmpx", "expr": "admin-prohibited"}}
    items = [{"table": {"family": "inet", "name": "firewalld", "handle": 9}}]
    chains = [
        ("filter_INPUT", {"type": "filter", "hook": "input", "prio": 10, "policy": "accept"}),
        ("filter_FORWARD", {"type": "filter", "hook": "forward", "prio": 10, "policy": "accept"}),
        ("filter_INPUT_ZONES", {}), ("filter_FORWARD_IN_ZONES", {}),
        ("filter_IN_trusted", {}), ("filter_IN_public", {}), ("filter_FWDI_trusted", {}), ("filter_FWDI_public", {}),
    ]
    for name, extra in chains:
        items.append(nft_item("chain", name=name, handle=len(items), **extra))
    rules = [
        ("filter_INPUT", [established, {"accept": None}]),
        ("filter_INPUT", [match("iifname", "lo"), {"accept": None}]),
        ("filter_INPUT", [{"jump": {"target": "filter_INPUT_ZONES"}}]),
        ("filter_INPUT", [reject]),
        ("filter_FORWARD", [established, {"accept": None}]),
        ("filter_FORWARD", [{"jump": {"target": "filter_FORWARD_IN_ZONES"}}]),
        ("filter_FORWARD", [reject]),
    ]
    for name in fw.get("trusted", []):
        rules.append(("filter_INPUT_ZONES", [match("iifname", name), {"goto": {"target": "filter_IN_trusted"}}]))
        rules.append(("filter_FORWARD_IN_ZONES", [match("iifname", name), {"goto": {"target": "filter_FWDI_trusted"}}]))
    rules += [
        ("filter_INPUT_ZONES", [{"goto": {"target": "filter_IN_public"}}]),
        ("filter_FORWARD_IN_ZONES", [{"goto": {"target": "filter_FWDI_public"}}]),
        ("filter_IN_trusted", [{"accept": None}]),
        ("filter_FWDI_trusted", [{"accept": None}]),
        ("filter_IN_public", [{"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}}, "right": 22}}, {"accept": None}]),
        ("filter_IN_public", [reject]),
    ]
    for chain, expr in rules:
        items.append(nft_item("rule", chain=chain, handle=len(items), expr=expr))
    return items


def nft(state, args):
    if args != ["-j", "list", "ruleset"]:
        fail("the fake nft does not know " + shlex.join(args))
    items = [{"metainfo": {"version": "1.0.6", "release_name": "Lester Gooch #5", "json_schema_version": 1}}]
    # iptables-nft's tables, whose rules nft shows as opaque xt expressions.
    for backend, family in (("nft", "ip"), ("v6_nft", "ip6")):
        for line in iptables_text(state, backend).splitlines():
            if line.startswith("*"):
                items.append({"table": {"family": family, "name": line[1:], "handle": len(items)}})
    items += state.get("nft", [])
    if state.get("firewalld") is not None:
        items += firewalld_items(state["firewalld"])
    print(json.dumps({"nftables": items}))


TOOLS = {
    "apt-get": apt_get,
    "apt-cache": apt_cache,
    "apt-config": apt_config,
    "snap": snap,
    "systemctl": systemctl,
    "service": service,
    "start-stop-daemon": start_stop_daemon,
    "lxd": lxd,
    "lxc": lxc,
    "incus": incus,
    "usermod": usermod,
    "gpasswd": gpasswd,
    "lxc-ls": lxc_ls,
    "virsh": virsh,
    "ip": ip,
    "ss": ss,
    "dpkg-query": dpkg_query,
    "dpkg": dpkg,
    "lsblk": lsblk,
    "wipefs": wipefs,
    "vgs": vgs,
    "zpool": zpool,
    "nft": nft,
    "iptables-nft-save": iptables_save("nft"),
    "iptables-legacy-save": iptables_save("legacy"),
    "iptables-nft": iptables("nft"),
    "ip6tables-nft-save": iptables_save("v6_nft"),
    "ip6tables-nft": iptables("v6_nft"),
    "iptables-legacy": iptables("legacy"),
    "ufw": ufw,
    "firewall-cmd": firewall_cmd,
}


def main():
    name = os.path.basename(sys.argv[0])
    args = sys.argv[1:]
    # One line per command: a newline in an argument is logged as \n.
    line = shlex.join([name] + args).replace("\n", "\\n")
    with open(os.path.join(STATE_DIR, "log"), "a") as f:
        f.write(line + "\n")
    with open(os.path.join(STATE_DIR, "env.jsonl"), "a") as f:
        env = {k: os.environ[k] for k in RECORDED_ENV if k in os.environ}
        f.write(json.dumps({"command": line, "env": env}) + "\n")
    if os.environ.get("LC_ALL") != "C":
        # A translated tool says "Aktiv:" where the tool parses "Active:".
        fail(f"{name}: run without LC_ALL=C (the fake refuses)", 2)
    state = load()
    before = json.dumps(state, sort_keys=True)
    prefix = state.get("fail")
    if prefix and line.startswith(prefix):
        fail(f"Error: {name} failed as the test asked (fake)", 1)
    prefix = state.get("hang")
    if prefix and line.startswith(prefix):
        with open(os.path.join(STATE_DIR, "hung.pid"), "w") as f:
            f.write(f"{os.getpid()}\n")
        time.sleep(3600)
    try:
        TOOLS[name](state, args)
    finally:
        # Only a fake that changed something writes: reads run at once.
        if json.dumps(state, sort_keys=True) != before:
            save(state)


if __name__ == "__main__":
    main()
