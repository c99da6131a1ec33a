#!/usr/bin/env python3
"""`container-init manager-config show lxd` against a loopback HTTPS server,
next to curl fetching the same URL with the same CA and token, in one run.

Prints the median wall time of each whole process and its peak RSS (GNU
time's %M; its own floor is shown too).

    cargo build --release && python3 benches/manager_config.py [ROUNDS]
"""
import http.server
import os
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
BIN = os.path.abspath(os.path.join(HERE, "..", "target", "release", "container-init"))
BODY = b'{"config": {"lxc-default-mtu": "1450", "ip-forwarding": "true", "name": "juju-machine-4"}}'
TOKEN = "bench-token"


def make_pki(d):
    def run(*args):
        subprocess.run(["openssl", *args], cwd=d, check=True, capture_output=True)
    run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", "ca.key", "-out", "ca.pem", "-days", "1", "-subj", "/CN=bench ca",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign")
    run("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1")
    with open(os.path.join(d, "ext"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n")
    run("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
        "-out", "server.pem", "-days", "1", "-extfile", "ext")


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        ok = self.headers.get("Authorization") == f"Bearer {TOKEN}"
        body = BODY if ok else b'{"error": "no"}'
        self.send_response(200 if ok else 401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def wall(argv, env):
    start = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, env=env)
    return time.perf_counter() - start


def peak_rss_kib(argv, env):
    out = subprocess.run(["/usr/bin/time", "-f", "%M", *argv], check=True, env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    return int(out.stderr.strip().splitlines()[-1])


def main(rounds):
    d = tempfile.mkdtemp(prefix="ci-bench-")
    make_pki(d)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(os.path.join(d, "server.pem"), os.path.join(d, "server.key"))
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"https://127.0.0.1:{server.server_address[1]}"
    ca = os.path.join(d, "ca.pem")
    env = dict(os.environ, CONTAINER_INIT_TOKEN=TOKEN)
    env.pop("CONTAINER_INIT_CONFIG", None)

    ours = [BIN, "--root", d, "manager-config", "show", "lxd", "--controller", url, "--ca-cert", ca,
            "--machine", "4"]
    curl = ["curl", "-sf", "--cacert", ca, "-H", "Accept: application/json",
            "-H", f"Authorization: Bearer {TOKEN}", f"{url}/v1/container-manager-config/lxd?machine=4"]
    for argv in (ours, curl):  # warm up, and check both really get the config
        out = subprocess.run(argv, check=True, capture_output=True, env=env).stdout
        assert b"1450" in out, out

    t_ours, t_curl = [], []
    for _ in range(rounds):
        t_ours.append(wall(ours, env))
        t_curl.append(wall(curl, env))
    rss_ours = max(peak_rss_kib(ours, env) for _ in range(10))
    rss_curl = max(peak_rss_kib(curl, env) for _ in range(10))
    floor = peak_rss_kib(["/bin/true"], env)
    m_ours, m_curl = statistics.median(t_ours), statistics.median(t_curl)
    print(f"rounds {rounds}")
    print(f"container-init manager-config show: median {m_ours*1e3:.2f} ms, peak RSS {rss_ours/1024:.2f} MiB")
    print(f"curl (baseline):                    median {m_curl*1e3:.2f} ms, peak RSS {rss_curl/1024:.2f} MiB")
    print(f"time(1) floor:                                          peak RSS {floor/1024:.2f} MiB")
    print(f"ratio (ours / curl): time {m_ours/m_curl:.2f}, memory {rss_ours/rss_curl:.2f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100)
