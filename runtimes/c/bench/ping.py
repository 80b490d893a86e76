#!/usr/bin/env python3
"""/ping against nginx, c/epoll and c/io_uring: goodput and requests per server CPU-second.

    make -C runtimes/c bench                # or: python3 runtimes/c/bench/ping.py --help

Natively, on this machine: each server pinned to one CPU (--server-cpu, default 1), wrk on
another (--load-cpu, default 0), the servers measured in turn, round after round, so that
drift on a shared machine hits them all alike. nginx is the reference, not a lab target
(`apt-get install nginx-light`): one worker, keep-alive on, no access log (no lab server
logs per request), `location = /ping { return 200 "pong"; }`.

Goodput is what wrk counts (2xx responses per second); server CPU is utime + stime from
/proc of the server's processes (nginx: master and worker) over the measured window.
When wrk saturates its own CPU, goodput measures wrk; requests per server CPU-second
still compares the servers, which is why it is the headline. Ratios are of medians over
the rounds, all from this one run. Standard library only.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent  # runtimes/c
TICKS = os.sysconf("SC_CLK_TCK")
NGINX_CONF = """\
worker_processes 1;
daemon off;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    keepalive_requests 100000000;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    server {{
        listen 127.0.0.1:{port} backlog=4096;
        location = /ping {{
            default_type "text/plain; charset=utf-8";
            return 200 "pong";
        }}
    }}
}}
"""


@dataclass
class Sample:
    server: str
    round: int
    requests: int
    seconds: float
    server_cpu_s: float
    load_cpu_s: float
    errors: int

    @property
    def goodput(self) -> float:
        return self.requests / self.seconds

    @property
    def per_cpu_s(self) -> float:
        return self.requests / self.server_cpu_s if self.server_cpu_s else float("nan")


def fail(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr)
    sys.exit(2)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tree_cpu_seconds(root: int) -> float:
    """utime + stime of a process and its descendants (live ones), from /proc."""
    parents: dict[int, int] = {}
    ticks: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            text = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        fields = text[text.rindex(")") + 2:].split()
        parents[int(entry.name)] = int(fields[1])
        ticks[int(entry.name)] = int(fields[11]) + int(fields[12])
    members, frontier = {root}, {root}
    while frontier:
        frontier = {pid for pid, ppid in parents.items() if ppid in frontier} - members
        members |= frontier
    return sum(ticks.get(pid, 0) for pid in members) / TICKS


def wait_for_ping(port: int, proc: subprocess.Popen, timeout: float = 10.0) -> None:
    request = b"GET /ping HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            fail(f"the server exited with status {proc.returncode} before answering /ping")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(request)
                if s.recv(64).startswith(b"HTTP/1.1 200"):
                    return
        except OSError:
            time.sleep(0.05)
    fail(f"no answer to /ping on port {port} within {timeout:.0f} s")


def start(server: str, port: int, cpu: str, tmp: Path) -> subprocess.Popen:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOST": "127.0.0.1",
           "PORT": str(port)}
    if server == "nginx":
        conf = tmp / "nginx.conf"
        conf.write_text(NGINX_CONF.format(tmp=tmp, port=port))
        argv = ["nginx", "-p", str(tmp), "-e", str(tmp / "error.log"), "-c", str(conf)]
    else:
        argv = [str(HERE / "build" / server.removeprefix("c/"))]
    return subprocess.Popen(["taskset", "-c", cpu, *argv], env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stop(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=5)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def wrk(port: int, cpu: str, connections: int, seconds: int) -> tuple[int, float, int, float]:
    """requests, seconds, errors, wrk's CPU seconds."""
    before = os.times()
    out = subprocess.run(
        ["taskset", "-c", cpu, "wrk", "-t1", f"-c{connections}", f"-d{seconds}s",
         f"http://127.0.0.1:{port}/ping"], capture_output=True, text=True, check=True).stdout
    after = os.times()
    done = re.search(r"(\d+) requests in ([\d.]+)(m?s)", out)
    if done is None:
        fail(f"cannot read wrk's output:\n{out}")
    seconds_run = float(done[2]) / (1000 if done[3] == "ms" else 1)
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    errors += int(m[1]) if (m := re.search(r"Non-2xx or 3xx responses: (\d+)", out)) else 0
    load = (after.children_user - before.children_user
            + after.children_system - before.children_system)
    return int(done[1]), seconds_run, errors, load


def measure(server: str, rnd: int, args: argparse.Namespace) -> Sample:
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        proc = start(server, port, args.server_cpu, Path(tmp))
        try:
            wait_for_ping(port, proc)
            wrk(port, args.load_cpu, args.connections, 1)  # warm-up
            cpu_before = tree_cpu_seconds(proc.pid)
            requests, seconds, errors, load = wrk(port, args.load_cpu, args.connections,
                                                  args.seconds)
            cpu = tree_cpu_seconds(proc.pid) - cpu_before
        finally:
            stop(proc)
    return Sample(server, rnd, requests, seconds, cpu, load, errors)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=5, help="measured seconds per run")
    parser.add_argument("--rounds", type=int, default=5, help="runs of each server")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--server-cpu", default="1")
    parser.add_argument("--load-cpu", default="0")
    parser.add_argument("--servers", default="nginx,c/epoll,c/io_uring")
    args = parser.parse_args()
    servers = args.servers.split(",")
    for tool, package in (("wrk", "wrk"), ("taskset", "util-linux"), ("nginx", "nginx-light")):
        if tool == "nginx" and "nginx" not in servers:
            continue
        if shutil.which(tool) is None:
            fail(f"{tool} is not installed: apt-get install {package}")
    for server in servers:
        if server != "nginx" and not (HERE / "build" / server.removeprefix("c/")).exists():
            fail(f"{server} is not built: run `make` in {HERE}")

    samples: list[Sample] = []
    for rnd in range(args.rounds):
        for server in servers:
            sample = measure(server, rnd, args)
            samples.append(sample)
            print(f"round {rnd + 1}/{args.rounds} {server:<11} {sample.goodput:>9.0f} req/s  "
                  f"{sample.per_cpu_s:>9.0f} req/CPU-s  server CPU {sample.server_cpu_s:5.2f} s"
                  f"  wrk CPU {sample.load_cpu_s:5.2f} s  errors {sample.errors}",
                  file=sys.stderr)

    summary = {}
    for server in servers:
        mine = [s for s in samples if s.server == server]
        summary[server] = {
            "goodput": statistics.median(s.goodput for s in mine),
            "per_cpu_s": statistics.median(s.per_cpu_s for s in mine),
            "per_cpu_s_range": [min(s.per_cpu_s for s in mine), max(s.per_cpu_s for s in mine)],
            "server_cpu_utilisation": statistics.median(s.server_cpu_s / s.seconds
                                                        for s in mine),
            "load_cpu_utilisation": statistics.median(s.load_cpu_s / s.seconds for s in mine),
            "errors": sum(s.errors for s in mine),
        }
    print(f"\n/ping, {args.connections} connections, {args.rounds} x {args.seconds} s, "
          f"server on CPU {args.server_cpu}, wrk on CPU {args.load_cpu} (medians)")
    print(f"{'server':<11} {'req/s':>9} {'req/CPU-s':>10} {'(min - max)':>17} "
          f"{'server CPU':>10} {'wrk CPU':>8}")
    for server, row in summary.items():
        low, high = row["per_cpu_s_range"]
        print(f"{server:<11} {row['goodput']:>9.0f} {row['per_cpu_s']:>10.0f} "
              f"{f'({low:.0f} - {high:.0f})':>17} {row['server_cpu_utilisation']:>10.0%} "
              f"{row['load_cpu_utilisation']:>8.0%}")
    ratios = {}
    for a, b in (("c/epoll", "nginx"), ("c/io_uring", "c/epoll"), ("c/io_uring", "nginx")):
        if a in summary and b in summary:
            ratios[f"{a} / {b}"] = {
                metric: summary[a][metric] / summary[b][metric]
                for metric in ("per_cpu_s", "goodput")}
            print(f"{a} / {b}: {ratios[f'{a} / {b}']['per_cpu_s']:.2f}x requests per CPU-s, "
                  f"{ratios[f'{a} / {b}']['goodput']:.2f}x goodput")
    out = HERE / "build" / "bench"
    out.mkdir(parents=True, exist_ok=True)
    path = out / time.strftime("ping-%Y%m%d-%H%M%S.json")
    path.write_text(json.dumps({"args": vars(args), "samples": [asdict(s) for s in samples],
                                "summary": summary, "ratios": ratios}, indent=2))
    print(f"raw samples: {path}")


if __name__ == "__main__":
    main()
