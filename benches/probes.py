#!/usr/bin/env python3
"""Converged `setup lxd` and `check lxd` against their own sequential floor.

The floor is what the tool itself runs in that run, as `strace -f -e execve`
shows it, run one after another by a shell script: the same programs with
the same arguments, nothing of the tool's own work. A run that asks its
independent reads at once (Host::prefetch) should take well under that
floor; the goal is at most 0.6 of it.

Both run on the fake host of the CLI tests (tests/fakes/fake-host.py on
PATH, with the firewall tools, as on a host with nftables and Docker's
iptables-nft), so nothing real is touched. The tool and the script are
timed in alternation, so that drift in the machine's load hits both alike;
medians over ROUNDS runs of each.

    cargo build && python3 benches/probes.py [BINARY] [ROUNDS]

BINARY defaults to target/release/container-init, or target/debug/ when
there is no release build.
"""
import json
import os
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, ".."))
FAKE = os.path.join(REPO, "tests", "fakes", "fake-host.py")
# As tests/support/fake_host.rs installs them, with the firewall tools.
TOOLS = ["apt-get", "apt-cache", "apt-config", "snap", "systemctl", "service", "start-stop-daemon", "lxd",
         "lxc", "incus", "usermod", "lxc-ls", "virsh", "ip", "dpkg-query", "dpkg", "nft",
         "iptables-nft-save", "iptables-legacy-save", "iptables-nft", "iptables-legacy", "ufw", "firewall-cmd"]
ROUTES = ("Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
          "eth0\t00000000\t0100930A\t0003\t0\t0\t0\t00000000\t0\t0\t0\n"
          "eth0\t0000930A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n")


def binary():
    if len(sys.argv) > 1 and not sys.argv[1].isdigit():
        return os.path.abspath(sys.argv[1])
    for profile in ("release", "debug"):
        path = os.path.join(REPO, "target", profile, "container-init")
        if os.path.exists(path):
            return path
    sys.exit("build the tool first: cargo build")


def fake_lxd_host(workdir):
    root, state, bin_dir = (os.path.join(workdir, d) for d in ("root", "state", "bin"))
    for d in (root, state, bin_dir):
        os.makedirs(d)
    for tool in TOOLS:
        os.symlink(FAKE, os.path.join(bin_dir, tool))
    # Runtime commands run in a clean environment: the fakes find their state here.
    with open(os.path.join(bin_dir, "fake-host.json"), "w") as f:
        json.dump({"state": state, "root": root}, f)
    files = {
        "etc/os-release": 'NAME="Debian GNU/Linux"\nVERSION_ID="12"\nID=debian\n',
        "proc/cpuinfo": "processor\t: 0\nflags\t\t: fpu\n",
        "proc/sys/net/ipv4/ip_forward": "1\n",
        "proc/sys/net/ipv4/conf/all/proxy_arp": "0\n",
        "proc/net/route": ROUTES,
        "sys/class/net/eth0/mtu": "1500\n",
        "sys/class/net/eth0/flags": "0x1003\n",
        "var/lib/dpkg/status": "Package: base-files\nStatus: install ok installed\nVersion: 12.4\n",
    }
    for path, text in files.items():
        os.makedirs(os.path.join(root, os.path.dirname(path)), exist_ok=True)
        with open(os.path.join(root, path), "w") as f:
            f.write(text)
    with open(os.path.join(state, "state.json"), "w") as f:
        f.write("{}")
    env = {"PATH": bin_dir, "FAKE_HOST_STATE": state, "FAKE_HOST_ROOT": root, "LC_ALL": "C"}
    return root, bin_dir, env


def run(argv, env):
    """Seconds `argv` took; `check` exits 69 on a fake host without kernel modules, which is fine."""
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    took = time.perf_counter() - start
    if done.returncode not in (0, 69):
        sys.exit(f"{shlex.join(argv)} exited {done.returncode}: {done.stderr.decode()[-500:]}")
    return took


def commands_of(argv, env):
    """The argv of every program the tool executed, from strace (threads'
    calls come split in an `<unfinished ...>` and a `resumed` line)."""
    with tempfile.NamedTemporaryFile() as trace:
        subprocess.run([shutil.which("strace") or "strace", "-f", "-qq", "-s", "4096", "-e", "trace=execve",
                        "-o", trace.name, *argv], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        lines = open(trace.name).read().splitlines()
    pending, done = {}, []
    for line in lines:
        pid, _, call = line.partition(" ")
        call = call.strip()
        if call.startswith("execve("):
            args = call.split("[", 1)[1].split("]", 1)[0]
            words = [bytes(a, "utf-8").decode("unicode_escape") for a in re.findall(r'"((?:[^"\\]|\\.)*)"', args)]
            if call.endswith("<unfinished ...>"):
                pending[pid] = words
            elif call.endswith("= 0"):
                done.append(words)
        elif call.startswith("<... execve resumed>") and call.endswith("= 0") and pid in pending:
            done.append(pending.pop(pid))
    return done[1:]  # the first is the tool itself


def floor_script(commands, bin_dir, path):
    """The same commands, one after another, in the environment the fakes need."""
    with open(path, "w") as f:
        f.write("#!/bin/sh\nset -e\n")
        f.write(f"export PATH={shlex.quote(bin_dir)} LC_ALL=C\n")
        for argv in commands:
            f.write(shlex.join(argv) + " >/dev/null\n")
    os.chmod(path, 0o755)


def measure(name, tool_argv, env, bin_dir, workdir, rounds):
    commands = commands_of(tool_argv, env)
    script = os.path.join(workdir, name.replace(" ", "-") + ".sh")
    floor_script(commands, bin_dir, script)
    run(tool_argv, env)
    run([script], env)
    tool, floor = [], []
    for _ in range(rounds):
        tool.append(run(tool_argv, env))
        floor.append(run([script], env))
    # Where the time goes: each command alone, and what the tool's own shape
    # allows on this machine (its first read alone, the reads asked at once
    # shared out over the CPUs, then what it reads after them).
    each = []
    for argv in commands:
        times = [run(argv, dict(env, PATH=bin_dir)) for _ in range(max(rounds // 5, 3))]
        each.append(statistics.median(times))
    mt, mf = statistics.median(tool), statistics.median(floor)
    progs = " ".join(shlex.join(c[:3]) + ("…" if len(c) > 3 else "") for c in commands)
    print(f"{name}: {len(commands)} commands ({progs})")
    print(f"  tool {mt * 1e3:7.1f} ms  (min {min(tool) * 1e3:.1f})   sequential floor {mf * 1e3:7.1f} ms  "
          f"(min {min(floor) * 1e3:.1f})   ratio {mt / mf:.2f}  (goal <= 0.60)")
    cpus = os.cpu_count() or 1
    print("  each alone: " + ", ".join(f"{c[0]} {' '.join(c[1:3])} {t * 1e3:.0f} ms" for c, t in zip(commands, each)))
    print(f"  sum of the commands alone {sum(each) * 1e3:.0f} ms; the longest {max(each) * 1e3:.0f} ms; "
          f"on {cpus} CPUs the reads asked at once take at least sum/{cpus} = {sum(each) / cpus * 1e3:.0f} ms "
          f"of CPU-bound fakes")
    return mt / mf


def main():
    tool = binary()
    rounds = int(sys.argv[-1]) if sys.argv[-1].isdigit() else 30
    with tempfile.TemporaryDirectory(prefix="ci-bench-probes-") as workdir:
        root, bin_dir, env = fake_lxd_host(workdir)
        setup = [tool, "--root", root, "setup", "lxd"]
        run(setup, env)  # converge
        run(setup, env)
        print(f"binary {tool}; {rounds} rounds each, alternated; {os.cpu_count()} CPUs, "
              f"load {os.getloadavg()[0]:.1f}")
        measure("converged setup lxd", setup, env, bin_dir, workdir, rounds)
        measure("check lxd", [tool, "--root", root, "check", "lxd"], env, bin_dir, workdir, rounds)


if __name__ == "__main__":
    main()
