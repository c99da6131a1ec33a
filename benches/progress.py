#!/usr/bin/env python3
"""What showing progress costs a converged run: this build against a baseline
binary (another commit's build), alternated in the same run.

Two converged runs, text output to a pipe (each step's line is written as it
ends) and to /dev/null:
- `forwarding enable` on a --root tree (no process is started);
- `setup lxd` on the fake host of the CLI tests (tests/fakes/fake-host.py on
  PATH; nothing real is touched), where most of the time is the fakes' own.

    cargo build --release && cp target/release/container-init /tmp/ours
    git worktree add /tmp/baseline main && (cd /tmp/baseline && cargo build --release)
    python3 benches/progress.py /tmp/baseline/target/release/container-init /tmp/ours [ROUNDS]
"""
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
FAKE = os.path.join(HERE, "..", "tests", "fakes", "fake-host.py")
# As tests/support/fake_host.rs installs them.
TOOLS = ["apt-get", "apt-cache", "apt-config", "snap", "systemctl", "service", "start-stop-daemon", "lxd",
         "lxc", "incus", "usermod", "lxc-ls", "virsh", "ip", "dpkg-query", "dpkg"]


def timed(argv, env, stdout):
    start = time.perf_counter()
    subprocess.run(argv, check=True, env=env, stdout=stdout, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def forwarding_root():
    root = tempfile.mkdtemp(prefix="ci-bench-fwd-")
    for path, value in (("proc/sys/net/ipv4/ip_forward", "0\n"),
                        ("proc/sys/net/ipv4/conf/all/proxy_arp", "0\n")):
        os.makedirs(os.path.join(root, os.path.dirname(path)), exist_ok=True)
        with open(os.path.join(root, path), "w") as f:
            f.write(value)
    return root, ["--root", root, "forwarding", "enable"], dict(os.environ)


def fake_lxd_host():
    root = tempfile.mkdtemp(prefix="ci-bench-root-")
    state = tempfile.mkdtemp(prefix="ci-bench-state-")
    bin_dir = tempfile.mkdtemp(prefix="ci-bench-bin-")
    for tool in TOOLS:
        os.symlink(os.path.abspath(FAKE), os.path.join(bin_dir, tool))
    # Runtime commands run in a clean environment: the fakes find their state here.
    with open(os.path.join(bin_dir, "fake-host.json"), "w") as f:
        json.dump({"state": state, "root": root}, f)
    files = {
        "etc/os-release": 'NAME="Debian GNU/Linux"\nVERSION_ID="12"\nID=debian\n',
        "proc/cpuinfo": "processor\t: 0\nflags\t\t: fpu\n",
        "proc/sys/net/ipv4/ip_forward": "0\n",
        "proc/sys/net/ipv4/conf/all/proxy_arp": "0\n",
        "var/lib/dpkg/status": "Package: base-files\nStatus: install ok installed\nVersion: 12.4\n",
    }
    for path, text in files.items():
        os.makedirs(os.path.join(root, os.path.dirname(path)), exist_ok=True)
        with open(os.path.join(root, path), "w") as f:
            f.write(text)
    with open(os.path.join(state, "state.json"), "w") as f:
        f.write("{}")
    env = {"PATH": bin_dir, "FAKE_HOST_STATE": state, "FAKE_HOST_ROOT": root}
    return root, ["--root", root, "setup", "lxd"], env


def compare(name, baseline, ours, args, env, rounds):
    for binary in (baseline, ours):  # converge once with each
        subprocess.run([binary, *args], check=True, env=env, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
    for label, stdout in (("pipe", subprocess.PIPE), ("/dev/null", subprocess.DEVNULL)):
        base, mine = [], []
        for _ in range(rounds):  # alternate, so drift hits both alike
            base.append(timed([baseline, *args], env, stdout))
            mine.append(timed([ours, *args], env, stdout))
        mb, mo = statistics.median(base), statistics.median(mine)
        print(f"{name:<28} stdout {label:<9}  baseline {mb*1e3:8.3f} ms  ours {mo*1e3:8.3f} ms  "
              f"ratio {mo/mb:.3f}  (goal <= 1.05)")


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    baseline, ours = (os.path.abspath(p) for p in sys.argv[1:3])
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 200
    print(f"rounds {rounds}; baseline {baseline}; ours {ours}")
    _, args, env = forwarding_root()
    compare("forwarding enable (--root)", baseline, ours, args, env, rounds)
    _, args, env = fake_lxd_host()
    compare("setup lxd (fake host)", baseline, ours, args, env, max(rounds // 10, 10))


if __name__ == "__main__":
    main()
