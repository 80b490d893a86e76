"""Closed loop: wrk and the pacer's closed mode fill one result, and agree.

Both against servers that are the bottleneck, so that neither generator is measured:
a /sleep?ms=5 on 16 connections (the server's timer bounds goodput near 16 / 5 ms), and
a pool of 4 prefork workers given 16 connections (12 wait in the accept queue forever).
"""

from __future__ import annotations

import pytest

from lab.loadgen import closed_loop_tool, run_closed_loop
from tests.load.conftest import serve

TOOLS = ("wrk", "pacer")


def test_pacer_goodput_within_10_percent_of_wrks(backend) -> None:
    # Interleaved twice (wrk, pacer, wrk, pacer), so that drift on a shared machine
    # hits both tools alike.
    runs: dict[str, list] = {tool: [] for tool in TOOLS}
    with serve(backend, "rust/tokio-current-thread") as server:
        url = f"http://127.0.0.1:{server.port}/sleep?ms=5"
        for _ in range(2):
            for tool in TOOLS:
                runs[tool].append(run_closed_loop(backend, url, 16, 2, tool=tool)[0])
    for tool, results in runs.items():
        for r in results:
            assert r.tool == tool and r.never_served == 0 and r.errors_total == 0, r
            assert r.setup_s is not None and r.setup_s == r.steady_start_s < 1, r
            # 16 connections can complete at most one request per 5 ms each.
            assert 1000 < r.goodput_per_s <= 16 / 0.005, r
            assert r.steady_goodput_per_s == pytest.approx(r.goodput_per_s, rel=0.2), r
    wrk, pacer = (sum(r.ok for r in runs[t]) / sum(r.duration_s for r in runs[t]) for t in TOOLS)
    assert pacer == pytest.approx(wrk, rel=0.10), (wrk, pacer)


@pytest.mark.parametrize("tool", TOOLS)
def test_connections_beyond_a_pools_workers_are_never_served(backend, tool) -> None:
    with serve(backend, "python/prefork", WORKERS="4") as server:
        result, _ = run_closed_loop(backend, f"http://127.0.0.1:{server.port}/ping", 16, 2,
                                    tool=tool)
    assert result.never_served == 12, result
    # The twelve wait in the accept queue (wrk's samples read it; the pacer does not).
    assert result.accept_queue == (12 if tool == "wrk" else None), result
    assert result.setup_s is None and result.ok > 0, result
    assert result.steady_start_s == pytest.approx(0.5, abs=result.resolution_s + 0.01)
    assert result.steady_goodput_per_s and result.steady_goodput_per_s > 0


def test_wrk_is_the_closed_loop_tool_where_it_is_installed(backend) -> None:
    assert closed_loop_tool(backend) == "wrk"  # CI installs wrk; docker always has it
