#!/usr/bin/env python3
"""What the data-path readiness and the coexistence step cost a converged
`setup lxd`, measured against the code before them in the same run.

Builds the baseline (default: the `main` branch) in a git worktree under
target/, converges this machine with the current binary, then times both
binaries in alternation (so that drift in the machine's load hits both
alike) and reports the medians, their difference and the processes each
starts. Needs LXD set up on this machine (`container-init setup lxd`).

    cargo build --release && python3 benches/datapath.py [ROUNDS] [--baseline REF]
"""
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, ".."))
CURRENT = os.path.join(REPO, "target", "release", "container-init")


def build_baseline(ref):
    tree = os.path.join(REPO, "target", "bench-baseline")
    target = os.path.join(REPO, "target", "bench-baseline-target")
    if os.path.isdir(tree):
        subprocess.run(["git", "-C", tree, "checkout", "-q", "--detach", ref], check=True)
    else:
        subprocess.run(["git", "-C", REPO, "worktree", "add", "-q", "--detach", tree, ref], check=True)
    subprocess.run(["cargo", "build", "-q", "--release", "--target-dir", target], cwd=tree, check=True)
    return os.path.join(target, "release", "container-init")


def timed(argv):
    start = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def processes_started(argv):
    with tempfile.NamedTemporaryFile() as trace:
        subprocess.run(["strace", "-f", "-qq", "-e", "trace=execve", "-o", trace.name, *argv],
                       check=True, stdout=subprocess.DEVNULL)
        calls = [l for l in open(trace.name) if "execve(" in l and "= 0" in l]
    return [c.split('"')[1] for c in calls[1:]]


def main():
    args = sys.argv[1:]
    ref = "main"
    if "--baseline" in args:
        i = args.index("--baseline")
        ref = args[i + 1]
        del args[i:i + 2]
    rounds = int(args[0]) if args else 40
    baseline = build_baseline(ref)
    tools = {"baseline": [baseline, "setup", "lxd"], "current": [CURRENT, "setup", "lxd"]}
    timed(tools["current"])  # converge first
    times = {name: [] for name in tools}
    for _ in range(rounds):
        for name, argv in tools.items():
            times[name].append(timed(argv))
    med = {name: statistics.median(t) * 1e3 for name, t in times.items()}
    for name in tools:
        progs = processes_started(tools[name])
        print(f"{name:8} ({ref if name == 'baseline' else 'this tree'}): converged setup lxd median "
              f"{med[name]:.1f} ms (min {min(times[name]) * 1e3:.1f}, max {max(times[name]) * 1e3:.1f}) "
              f"over {rounds} runs; {len(progs)} processes: {', '.join(os.path.basename(p) for p in progs)}")
    print(f"data-path readiness and firewall checks add {med['current'] - med['baseline']:.1f} ms "
          f"(goal <= 20 ms); converged total {med['current']:.1f} ms (goal < 300 ms)")


if __name__ == "__main__":
    main()
