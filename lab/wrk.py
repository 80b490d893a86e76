"""wrk (closed loop), with loadgen/wrk/report.lua and the kernel's view of its sockets.

report.lua's done() hook prints one line `LABJSON {...}`; wrk's own text is never read for
numbers, and its latency percentiles are not exported at all (wrk "corrects" them with
synthetic samples before done() sees them).

wrk cannot tell its connections apart (its Lua hooks get no connection identity), so
which of them were served is read from the kernel: while wrk runs, a shell loop beside it
samples `ss -Htin state established dst HOST:PORT` every SAMPLE_INTERVAL_S. A socket whose
tcp_info has no `bytes_received` has not had one byte of response yet. From the samples:
how many connections never got a byte, when every one had (set-up), and the bytes received
between two samples, from which the steady-state rate follows (wrk's mean response size
being bytes / requests). The samples at the window's end that see wrk closing its sockets
(its duration lasts until its threads stop) are left out (lab.loadgen.before_closing).
Each sample also reads the server's accept queue (`ss -Hltn sport = :PORT`, the Recv-Q of
a listening socket), where connections wait that the client believes established but the
server has not accepted: what tells a server that accepts slowly from one that accepted
and does not answer. What this cannot see: a connection wrk closed and re-opened shows as
a new socket (served again from zero), and one that was never established (its SYN
dropped) appears in no sample, so it counts as never served.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import urlsplit

from lab.backends import Backend
from lab.errors import LabError

WRK_MARKER = "LABJSON "
SAMPLE_MARKER = "LABSS "
SAMPLE_INTERVAL_S = 0.1
WRK_TIMEOUT_S = 5

# Runs wrk ("$@") and samples its sockets to the server until it exits; the samples go to
# stderr as `LABSS <ns since start> <sockets> <sockets with response bytes> <bytes>
# <queued>`, queued being the connections in the server's accept queues (the Recv-Q of its
# listening sockets on the port; -1 where none is in sight: a server in another namespace).
# The queue is read after the sockets, so that what it holds was unserved at both reads.
SAMPLER = r"""
dst=$1; shift
t0=$(date +%s%N)
"$@" & pid=$!
while kill -0 "$pid" 2>/dev/null; do
  t=$(( $(date +%s%N) - t0 ))
  sockets=$(ss -Htin state established dst "$dst")
  queued=$(ss -Hltn "sport = :${dst##*:}" | awk '{ q += $2 } END { print NR ? q : -1 }')
  printf '%s\n' "$sockets" | awk -v t="$t" -v q="$queued" '
    /^[^ \t]/ { n++ }
    match($0, /bytes_received:[0-9]+/) { s++; b += substr($0, RSTART + 15, RLENGTH - 15) }
    END { printf "LABSS %s %d %d %.0f %d\n", t, n, s, b, q }' >&2
  sleep 0.1
done
wait "$pid"
"""


@dataclass(frozen=True)
class SocketSample:
    """One look at the load side's established sockets to the server."""

    t_s: float          # since the sampler started wrk
    sockets: int
    served: int         # sockets that have received at least one byte
    bytes: int          # bytes received by all of them
    accept_queue: int | None = None  # connections the server has not accepted yet (None:
                                     # its listener was out of sight, or an older record)


@dataclass(frozen=True)
class WrkResult:
    requests: int           # completed responses, any status
    duration_s: float
    bytes: int
    errors: dict[str, int]  # wrk's counters: connect read write timeout, status (> 399)
    rate_samples: dict[str, float]  # per-thread ~100 ms rates: min mean stdev max p50 p90 p99
    samples: tuple[SocketSample, ...] = ()

    @property
    def requests_per_s(self) -> float:
        return self.requests / self.duration_s if self.duration_s > 0 else 0.0

    @property
    def non_2xx(self) -> int:
        """wrk counts statuses above 399 only (a 3xx would pass as success)."""
        return self.errors.get("status", 0)

    @property
    def errors_total(self) -> int:
        return sum(self.errors.values())

    @property
    def socket_errors(self) -> dict[str, int]:
        return {k: v for k, v in self.errors.items() if k != "status"}


def parse_wrk(stdout: str, stderr: str = "") -> WrkResult:
    """The LABJSON line of a wrk run (and the socket samples, if any); LabError if none."""
    for line in stdout.splitlines():
        if line.startswith(WRK_MARKER):
            data = json.loads(line[len(WRK_MARKER):])
            rates = data.get("rate_samples") or {}
            return WrkResult(
                requests=int(data["requests"]), duration_s=data["duration_us"] / 1e6,
                bytes=int(data["bytes"]), errors={k: int(v) for k, v in data["errors"].items()},
                rate_samples={k: float(v) for k, v in rates.items() if v is not None},
                samples=parse_samples(stderr))
    raise LabError("wrk printed no LABJSON line (did report.lua run?)",
                   detail=(stdout + stderr)[-2000:])


def parse_samples(text: str) -> tuple[SocketSample, ...]:
    samples = []
    for line in text.splitlines():
        if line.startswith(SAMPLE_MARKER):
            t_ns, sockets, served, received, *queued = line[len(SAMPLE_MARKER):].split()
            accept_queue = int(queued[0]) if queued and int(queued[0]) >= 0 else None
            samples.append(SocketSample(int(t_ns) / 1e9, int(sockets), int(served),
                                        int(received), accept_queue))
    return tuple(samples)


def wrk_argv(backend: Backend, url: str, connections: int, duration_s: int,
             timeout_s: int = WRK_TIMEOUT_S, sample: bool = True) -> list[str]:
    """wrk with one thread per load CPU (never more threads than connections), run beside
    the socket sampler unless sample=False."""
    paths = backend.loadgen_paths()
    threads = max(1, min(connections, len(backend.cpus.load)))
    argv = [paths["wrk"], f"-t{threads}", f"-c{connections}", f"-d{duration_s}s",
            f"--timeout={timeout_s}s", "-s", paths["wrk_script"], url]
    if not sample:
        return argv
    parts = urlsplit(url)
    return ["sh", "-c", SAMPLER, "sampler", f"{parts.hostname}:{parts.port or 80}", *argv]
