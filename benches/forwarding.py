#!/usr/bin/env python3
"""Converged `forwarding enable` against procps' `sysctl -n` reading the same
two keys, side by side in one run.

Runs inside private network and mount namespaces (it re-executes itself under
`unshare`), with the real /proc bound into a temporary --root, so the host's
sysctls and /etc are untouched. Prints median wall time of each, their ratio,
the peak RSS of each, and the processes the tool started (from strace).

    cargo build --release && python3 benches/forwarding.py [ROUNDS]
"""
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
BIN = os.path.join(HERE, "..", "target", "release", "container-init")


def timed(argv):
    """Wall seconds of one run of argv."""
    start = time.perf_counter()
    pid = os.posix_spawn(argv[0], argv, os.environ, file_actions=[
        (os.POSIX_SPAWN_OPEN, 1, "/dev/null", os.O_WRONLY, 0)])
    _, status = os.waitpid(pid, 0)
    elapsed = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{argv} failed")
    return elapsed


def peak_rss_kib(argv):
    """Peak RSS of argv as GNU time sees it. A child forked from Python would
    carry Python's own pages into ru_maxrss; time(1) is a ~1 MiB launcher."""
    out = subprocess.run(["/usr/bin/time", "-f", "%M"] + argv, check=True,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    return int(out.stderr.strip().splitlines()[-1])


def inside(rounds):
    root = tempfile.mkdtemp(prefix="ci-bench-")
    os.makedirs(os.path.join(root, "proc"))
    subprocess.run(["mount", "--make-rprivate", "/"], check=True)
    subprocess.run(["mount", "--bind", "/proc", os.path.join(root, "proc")], check=True)
    tool = [os.path.abspath(BIN), "--root", root, "forwarding", "enable"]
    subprocess.run(tool, check=True, stdout=subprocess.DEVNULL)  # converge once
    sysctl = ["/usr/sbin/sysctl", "-n", "net.ipv4.ip_forward", "net.ipv4.conf.all.proxy_arp"]

    ours, theirs = [], []
    for _ in range(rounds):  # alternate, so drift hits both alike
        ours.append(timed(tool))
        theirs.append(timed(sysctl))
    ours_rss = [peak_rss_kib(tool) for _ in range(20)]
    theirs_rss = [peak_rss_kib(sysctl) for _ in range(20)]
    launcher_rss = peak_rss_kib(["/bin/true"])

    trace = os.path.join(root, "trace")
    subprocess.run(["strace", "-f", "-qq", "-e", "trace=execve,fork,vfork,clone,clone3",
                    "-o", trace] + tool, check=True, stdout=subprocess.DEVNULL)
    with open(trace) as f:
        calls = f.read().splitlines()
    execs = sum("execve(" in c for c in calls)
    forks = sum(("fork(" in c) or ("clone" in c) for c in calls)

    m_ours, m_theirs = statistics.median(ours), statistics.median(theirs)
    print(f"rounds                         {rounds}")
    print(f"container-init forwarding enable (converged): median {m_ours*1e3:.3f} ms, peak RSS {max(ours_rss)/1024:.2f} MiB")
    print(f"sysctl -n (baseline):                         median {m_theirs*1e3:.3f} ms, peak RSS {max(theirs_rss)/1024:.2f} MiB")
    print(f"launcher floor (time true):                   peak RSS {launcher_rss/1024:.2f} MiB")
    print(f"ratio (ours / baseline)        {m_ours/m_theirs:.2f}  (goal <= 1.5)")
    print(f"processes started by the tool  {forks} (execve of itself: {execs})")
    print(f"peak RSS under 10 MiB          {max(ours_rss) < 10 * 1024}")


if __name__ == "__main__":
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1] != "--inside" else 300
    if "--inside" in sys.argv:
        inside(int(sys.argv[-1]))
    else:
        os.execvp("unshare", ["unshare", "--net", "--mount", "--", sys.executable,
                              os.path.abspath(__file__), "--inside", str(rounds)])
