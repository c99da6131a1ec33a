#!/usr/bin/env python3
"""`setup lxd` on this machine: a converged run's median time and the
processes it starts; with --fresh, also a first run from a host without LXD
next to the same work done by hand, both from the same starting point.

--fresh PURGES LXD (its containers, network, pool and packages) from this
machine before each of the two timed runs: use it on a throwaway VM only.
--with-incus also times a converged `setup incus` (Incus already set up),
its rounds interleaved with LXD's, and prints the ratio: the two run the same
code, so the ratio should stay near 1.

    cargo build --release && python3 benches/setup_lxd.py [--fresh] [--with-incus] [ROUNDS]
"""
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
BIN = os.path.abspath(os.path.join(HERE, "..", "target", "release", "container-init"))


def sh(*argv, check=True):
    return subprocess.run(argv, check=check, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def timed(argv):
    start = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def processes_started(argv):
    """Programs the tool executes, from strace: every execve but its own."""
    with tempfile.NamedTemporaryFile() as trace:
        subprocess.run(["strace", "-f", "-qq", "-e", "trace=execve", "-o", trace.name, *argv],
                       check=True, stdout=subprocess.DEVNULL)
        calls = [l for l in open(trace.name) if "execve(" in l and "= 0" in l]
    return len(calls) - 1, [c.split('"')[1] for c in calls[1:]]


def purge_lxd():
    for argv in (["lxc", "profile", "device", "remove", "default", "eth0"],
                 ["lxc", "profile", "device", "remove", "default", "root"],
                 ["lxc", "network", "delete", "lxdbr0"],
                 ["lxc", "storage", "delete", "default"],
                 ["start-stop-daemon", "--stop", "--quiet", "--pidfile", "/run/lxd.pid", "--name", "lxd",
                  "--retry", "10"]):
        sh(*argv, check=False)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "purge", "-y", "lxd", "lxd-client"], check=True, env=env,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def by_hand():
    """What an operator types for the same result (subnet picked beforehand)."""
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    start = time.perf_counter()
    subprocess.run(["apt-get", "install", "-y", "-o", "Dpkg::Options::=--force-confold",
                    "lxd", "dnsmasq-base", "nftables"], check=True, env=env,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for argv in (["start-stop-daemon", "--start", "--quiet", "--oknodo", "--background", "--make-pidfile",
                  "--pidfile", "/run/lxd.pid", "--name", "lxd", "--startas", "/usr/bin/lxd", "--",
                  "--group", "lxd", "--logfile=/var/log/lxd/lxd.log"],
                 ["lxd", "waitready", "--timeout=600"],
                 ["lxc", "network", "create", "lxdbr0", "ipv4.address=10.147.0.1/24", "ipv4.nat=true",
                  "ipv6.address=none"],
                 ["lxc", "storage", "create", "default", "dir"],
                 ["lxc", "profile", "device", "add", "default", "root", "disk", "path=/", "pool=default"],
                 ["lxc", "profile", "device", "add", "default", "eth0", "nic", "network=lxdbr0", "name=eth0"]):
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main():
    args = [a for a in sys.argv[1:] if a not in ("--fresh", "--with-incus")]
    rounds = int(args[0]) if args else 50
    tool = [BIN, "setup", "lxd"]
    if "--fresh" in sys.argv:
        purge_lxd()
        first = timed(tool)
        purge_lxd()
        manual = by_hand()
        purge_lxd()
        timed(tool)
        print(f"first run (host without LXD): container-init {first:.2f} s, by hand {manual:.2f} s, "
              f"ratio {first / manual:.2f}")
    else:
        timed(tool)  # converge first
    incus = [BIN, "setup", "incus"]
    with_incus = "--with-incus" in sys.argv
    if with_incus:
        timed(incus)  # converge first
    runs, incus_runs = [], []
    for _ in range(rounds):
        runs.append(timed(tool))
        if with_incus:
            incus_runs.append(timed(incus))
    count, programs = processes_started(tool)
    print(f"converged setup lxd: median {statistics.median(runs) * 1e3:.1f} ms over {rounds} runs "
          f"(min {min(runs) * 1e3:.1f}, max {max(runs) * 1e3:.1f}); goal < 300 ms")
    print(f"processes started by a converged run: {count} ({', '.join(programs)}); goal <= 5")
    if with_incus:
        lxd_median, incus_median = statistics.median(runs), statistics.median(incus_runs)
        count, programs = processes_started(incus)
        print(f"converged setup incus: median {incus_median * 1e3:.1f} ms over {rounds} runs "
              f"(min {min(incus_runs) * 1e3:.1f}, max {max(incus_runs) * 1e3:.1f}); "
              f"incus/lxd {incus_median / lxd_median:.2f}")
        print(f"processes started by a converged setup incus: {count} ({', '.join(programs)})")


if __name__ == "__main__":
    main()
