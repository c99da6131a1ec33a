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
  profile          {"devices": {...}}: LXD's default profile
  virsh_net        {"Active": "yes", "Autostart": "yes"}: libvirt's default network
  virsh_pool       {"State": "running", "Autostart": "yes"}: libvirt's default pool
  stale_lists      true: apt-cache has no candidate until `apt-get update`
  dpkg_locked_until  epoch seconds: apt-get says the dpkg lock is held until then
  fail             a command-line prefix: that command fails with exit 1
  addrs, routes    what `ip -j -4 addr show` / `ip -j -4 route show table all` print (JSON)
  snap_config      {"proxy.http": ...}: `snap set system` options
  server_config    {"core.proxy_http": ...}: LXD's server config (`lxc config set`)
  incus_server_config  the same for Incus (`incus config set`)
  apt_proxy_at_install  written by the fake apt-get install: the tool's apt proxy
                   file as it was when the packages were installed ("" if none)
"""

import json
import os
import shlex
import sys
import time

STATE_DIR = os.environ["FAKE_HOST_STATE"]
ROOT = os.environ["FAKE_HOST_ROOT"]
STATE_FILE = os.path.join(STATE_DIR, "state.json")

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
    with open(STATE_FILE, "w") as f:
        json.dump(state, f, indent=1, sort_keys=True)


def fail(message, code=1):
    sys.stderr.write(message + "\n")
    sys.exit(code)


def set_link(name, up=True):
    path = os.path.join(ROOT, "sys/class/net", name)
    os.makedirs(path, exist_ok=True)
    with open(os.path.join(path, "flags"), "w") as f:
        f.write("0x1003\n" if up else "0x1002\n")


def run_unit(state, unit):
    running = state.setdefault("running", [])
    if unit not in running:
        running.append(unit)
    if unit == "lxc-net":
        set_link("lxcbr0")
    if unit == "libvirtd" and state.get("virsh_net", {}).get("Active") == "yes":
        set_link("virbr0")


def apt_get(state, args):
    if os.environ.get("DEBIAN_FRONTEND") != "noninteractive":
        fail("E: apt-get was run without DEBIAN_FRONTEND=noninteractive (the fake refuses)", 2)
    if time.time() < state.get("dpkg_locked_until", 0):
        fail(
            "E: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 4242 (apt-get)\n"
            "E: Unable to acquire the dpkg frontend lock (/var/lib/dpkg/lock-frontend), is another process using it?",
            100,
        )
    if args[:1] == ["update"]:
        state["stale_lists"] = False
        return
    if args[:1] == ["install"]:
        proxy = os.path.join(ROOT, "etc/apt/apt.conf.d/80container-init-proxy")
        state["apt_proxy_at_install"] = open(proxy).read() if os.path.exists(proxy) else ""
        if state.get("stale_lists"):
            fail("E: Unable to locate package " + args[-1], 100)
        packages = [a for a in args[1:] if not a.startswith("-") and not a.startswith("Dpkg::")]
        status = os.path.join(ROOT, "var/lib/dpkg/status")
        os.makedirs(os.path.dirname(status), exist_ok=True)
        with open(status, "a") as f:
            for p in packages:
                f.write(f"\nPackage: {p}\nStatus: install ok installed\nVersion: 1.0\n")
        for p in packages:
            install_files(state, p)
        return
    fail("E: the fake apt-get does not know " + shlex.join(args), 100)


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
    elif package == "libvirt-daemon-system":
        write_root_file("etc/init.d/libvirtd", "#!/bin/sh\n")


def apt_cache(state, args):
    assert args[0] == "policy", args
    for p in args[1:]:
        candidate = "(none)" if state.get("stale_lists") else "1.0"
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
    elif args[:2] == ["get", "system"] and args[2:] == ["proxy", "-d"]:
        config = state.get("snap_config", {})
        proxy = {k.split(".", 1)[1]: v for k, v in config.items() if k.startswith("proxy.")}
        if not proxy:
            fail('error: snap "core" has no "proxy" configuration option')
        print(json.dumps({"proxy": proxy}, indent=2))
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
        return
    if args[0] == "restart":
        run_unit(state, args[1])
        return
    fail("the fake systemctl does not know " + shlex.join(args))


def service(state, args):
    unit, action = args
    if action == "status":
        sys.exit(0 if unit in state.get("running", []) else 3)
    if action in ("start", "restart"):
        run_unit(state, unit)
        return
    fail("the fake service does not know " + shlex.join(args))


def start_stop_daemon(state, args):
    if "--start" in args and "--name" in args:
        run_unit(state, args[args.index("--name") + 1])
        return
    fail("the fake start-stop-daemon does not know " + shlex.join(args))


def lxd(state, args):
    if args[0] == "waitready":
        if "lxd" not in state.get("running", []):
            fail("Error: LXD still not running after 600s timeout (the fake is not started)")
        return
    fail("the fake lxd does not know " + shlex.join(args))


def key_values(words):
    return dict(w.split("=", 1) for w in words)


def incus(state, args):
    """Incus's client takes the same server keys as LXD's; only those are faked."""
    if "incus" not in state.get("running", []):
        fail("Error: Failed to connect to local daemon (the fake incus is not started)")
    config = state.setdefault("incus_server_config", {})
    if args == ["query", "/1.0"]:
        print(json.dumps({"config": config, "api_status": "stable"}))
    elif args[:2] == ["config", "set"] and len(args) == 4:
        config[args[2]] = args[3]
    elif args[:2] == ["config", "unset"] and len(args) == 3:
        config.pop(args[2], None)
    else:
        fail("Error: the fake incus does not know " + shlex.join(args))


def lxc(state, args):
    if "lxd" not in state.get("running", []):
        fail(
            'Error: Get "http://unix.socket/1.0": dial unix /var/lib/lxd/unix.socket: '
            "connect: no such file or directory"
        )
    networks = state.setdefault("networks", {})
    pools = state.setdefault("pools", [])
    profile = state.setdefault("profile", {"devices": {}})
    if args[0] == "query":
        path = args[1]
        if path == "/1.0":
            print(json.dumps({"config": state.get("server_config", {}), "api_status": "stable"}))
        elif path == "/1.0/networks/lxdbr0":
            if "lxdbr0" not in networks:
                fail("Error: Network not found")
            print(json.dumps({"config": networks["lxdbr0"], "managed": True, "type": "bridge"}))
        elif path == "/1.0/networks/lxdbr0/state":
            if "lxdbr0" not in networks:
                fail("Error: Network not found")
            print(json.dumps({"state": "up"}))
        elif path == "/1.0/storage-pools/default":
            if "default" not in pools:
                fail("Error: Storage pool not found")
            print(json.dumps({"name": "default", "driver": "dir"}))
        elif path == "/1.0/profiles/default":
            print(json.dumps(profile))
        else:
            fail("Error: not found")
    elif args[:2] == ["network", "create"]:
        networks[args[2]] = key_values(args[3:])
    elif args[:2] == ["network", "set"]:
        networks[args[2]].update(key_values(args[3:]))
    elif args[:2] == ["config", "set"] and len(args) == 4:
        state.setdefault("server_config", {})[args[2]] = args[3]
    elif args[:2] == ["config", "unset"] and len(args) == 3:
        state.setdefault("server_config", {}).pop(args[2], None)
    elif args[:2] == ["storage", "create"]:
        pools.append(args[2])
    elif args[:3] == ["profile", "device", "add"]:
        device = key_values(args[6:])
        device["type"] = args[5]
        profile["devices"][args[4]] = device
    elif args[:3] == ["profile", "device", "remove"]:
        del profile["devices"][args[4]]
    else:
        fail("Error: the fake lxc does not know " + shlex.join(args))


def virsh(state, args):
    assert args[:2] == ["-c", "qemu:///system"], args
    args = args[2:]
    if "libvirtd" not in state.get("running", []):
        fail("error: failed to connect to the hypervisor\nerror: Failed to connect socket to '/var/run/libvirt/libvirt-sock': No such file or directory")
    what = args[0]
    if what == "version":
        print("Compiled against library: libvirt 9.0.0\nUsing library: libvirt 9.0.0")
    elif what == "net-info":
        net = state.get("virsh_net")
        if net is None:
            fail("error: failed to get network 'default'\nerror: Network not found: no network with matching name 'default'")
        print(f"Name:           default\nActive:         {net['Active']}\nPersistent:     yes\nAutostart:      {net['Autostart']}\nBridge:         virbr0")
    elif what == "net-define":
        state["virsh_net"] = {"Active": "no", "Autostart": "no"}
    elif what == "net-start":
        state["virsh_net"]["Active"] = "yes"
        set_link("virbr0")
    elif what == "net-autostart":
        state["virsh_net"]["Autostart"] = "yes"
    elif what == "pool-info":
        pool = state.get("virsh_pool")
        if pool is None:
            fail("error: failed to get pool 'default'\nerror: Storage pool not found: no storage pool with matching name 'default'")
        print(f"Name:           default\nState:          {pool['State']}\nPersistent:     yes\nAutostart:      {pool['Autostart']}")
    elif what == "pool-define-as":
        state["virsh_pool"] = {"State": "inactive", "Autostart": "no"}
    elif what == "pool-build":
        pass
    elif what == "pool-start":
        state["virsh_pool"]["State"] = "running"
    elif what == "pool-autostart":
        state["virsh_pool"]["Autostart"] = "yes"
    else:
        fail("error: the fake virsh does not know " + shlex.join(args))


def ip(state, args):
    if args == ["-j", "-4", "addr", "show"]:
        print(json.dumps(state.get("addrs", ADDRS)))
    elif args == ["-j", "-4", "route", "show", "table", "all"]:
        print(json.dumps(state.get("routes", ROUTES)))
    else:
        fail("the fake ip does not know " + shlex.join(args))


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
    "lxc-ls": lxc_ls,
    "virsh": virsh,
    "ip": ip,
}


def main():
    name = os.path.basename(sys.argv[0])
    args = sys.argv[1:]
    line = shlex.join([name] + args)
    with open(os.path.join(STATE_DIR, "log"), "a") as f:
        f.write(line + "\n")
    if os.environ.get("LC_ALL") != "C":
        # A translated tool says "Aktiv:" where the tool parses "Active:".
        fail(f"{name}: run without LC_ALL=C (the fake refuses)", 2)
    state = load()
    prefix = state.get("fail")
    if prefix and line.startswith(prefix):
        fail(f"Error: {name} failed as the test asked (fake)", 1)
    try:
        TOOLS[name](state, args)
    finally:
        save(state)


if __name__ == "__main__":
    main()
