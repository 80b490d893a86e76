"""The lab's network probe: the idle round-trip time from the load generator's host to
the server address, as the time a TCP connect takes (SYN out, SYN-ACK back: one round
trip, answered by the server host's kernel, no server code in it). Each side first prints
its machine as one JSON line.

python3 netprobe.py listen ADDRESS PORT SECONDS   on the server engine: accept, close
python3 netprobe.py connect ADDRESS PORT COUNT    on the load engine: one JSON line of
                                                  round-trip times in microseconds
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time


def machine() -> dict[str, object]:
    model = ""
    with open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/sys/kernel/random/boot_id") as boot:
        boot_id = boot.read().strip()
    return {"cpu_model": model, "cpus": os.cpu_count(), "boot_id": boot_id,
            "kernel": os.uname().release}


def listen(address: str, port: int, seconds: float) -> None:
    with socket.create_server((address, port), backlog=64) as server:
        server.settimeout(0.2)
        print("listening", flush=True)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            conn.close()


def connect(address: str, port: int, count: int) -> None:
    rtts = []
    for _ in range(count):
        started = time.perf_counter_ns()
        with socket.create_connection((address, port), timeout=5):
            rtts.append((time.perf_counter_ns() - started) / 1000)
        time.sleep(0.01)
    print(json.dumps({"rtt_us": rtts}), flush=True)


if __name__ == "__main__":
    mode, address, port, amount = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    print(json.dumps(machine()), flush=True)
    if mode == "listen":
        listen(address, port, float(amount))
    else:
        connect(address, port, int(amount))
