"""The readiness section against a real standard run (tests/fixtures/runs): every number a
finding or a scorecard cell quotes is the measured one, read here with plain pandas."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.load import load_run
from analysis.palette import styles
from analysis.report import write_report
from analysis.stats import fmt
from lab.experiments import registry
from lab.experiments.readiness import summary
from tests.report.runs import EXPERIMENTS, READINESS_RUN

RAW = pd.read_csv(READINESS_RUN / "readiness.csv")


def measured(target: str, metric: str, variant: str | None = None, **where: object) -> float:
    rows = RAW[(RAW["target"] == target) & (RAW["metric"] == metric)]
    if variant is not None:
        rows = rows[rows["variant"] == variant]
    for column, wanted in where.items():
        rows = rows[rows[column] == wanted]
    assert len(rows) == 1, (target, metric, where)
    return float(rows["value"].iloc[0])


@pytest.fixture(scope="module")
def section():
    run = load_run(READINESS_RUN)
    return registry()["readiness"].section(run, styles(run.target_names))


@pytest.fixture(scope="module")
def cells() -> dict[str, dict[str, object]]:
    columns = registry()["readiness"].scorecard(load_run(READINESS_RUN))
    return {c.title: c.cells for c in columns}


def _finding(section, start: str) -> str:
    found = [f for f in section.findings if f.text.startswith(start)]
    assert len(found) == 1, [f.text[:60] for f in section.findings]
    return found[0].text


def test_poll_grows_with_idle_connections_and_epoll_stays_flat(section, cells) -> None:
    slopes = {}
    for target, wait in (("python/poll", "poll"), ("python/epoll-lt", "epoll-lt"),
                         ("python/epoll-et", "epoll-et"), ("rust/tokio", "epoll")):
        cpu0 = measured(target, "cpu_per_request", part="idle", idle=0)
        cpu = measured(target, "cpu_per_request", part="idle", idle=10000)
        idle = RAW[(RAW["target"] == target) & (RAW["metric"] == "cpu_per_request")
                   & (RAW["part"] == "idle")]
        slopes[target] = np.polyfit(idle["idle"], idle["value"], 1)[0] * 1000
        verdict = ("grows" if cpu / cpu0 >= summary.GROWS else "flat"
                   if cpu / cpu0 < summary.FLAT else "slight")
        text = _finding(section, f"{target} ({wait})")
        assert f"{fmt(cpu0)} µs with no idle connection and {fmt(cpu)} µs with 10,000" in text
        assert f"({slopes[target]:+.1f} µs per 1,000 idle connections" in text
        assert text.count(f": {verdict}.") == 1
        assert cells["CPU/ping vs idle conns"][target].text == f"{verdict} x{cpu / cpu0:.1f}"
    # The lesson, measured: poll pays for every idle descriptor, epoll and tokio do not.
    assert slopes["python/poll"] > 50
    assert all(abs(slopes[t]) < slopes["python/poll"] / 20 for t in slopes if t != "python/poll")


def test_select_stops_at_fd_setsize_and_a_pool_at_its_workers(section, cells) -> None:
    assert measured("python/select", "ok", part="idle", idle=1024, stream="ping") == 0
    assert "FD_SETSIZE" in _finding(section, "python/select (select)")
    assert cells["CPU/ping vs idle conns"]["python/select"].text == "none served at 1,024"
    assert measured("python/threadpool", "ok", part="idle", idle=256, stream="ping") == 0
    assert cells["CPU/ping vs idle conns"]["python/threadpool"].text == "none served at 256"
    # a process per connection: 10,000 would need more memory than the budget
    assert RAW[(RAW["target"] == "python/fork") & (RAW["metric"] == "capped_memory")][
        "idle"].tolist() == [10000]
    assert "Levels stop at 1,000" in _finding(section, "python/fork (blocking)")


def test_memory_per_idle_connection_is_the_slope_over_the_levels(cells) -> None:
    for target in ("python/fork", "python/epoll-lt", "rust/tokio"):
        idle = RAW[(RAW["part"] == "idle") & (RAW["target"] == target)]
        wide = idle.pivot_table(index="idle", columns="metric", values="value").dropna(
            subset=["memory"])
        slope = np.polyfit(wide["idle_opened"], wide["memory"], 1)[0]
        assert cells["memory per idle conn"][target].sort == pytest.approx(slope)
    assert cells["memory per idle conn"]["python/fork"].level == "bad"      # a process each
    assert cells["memory per idle conn"]["python/epoll-lt"].level == "good"  # under 1 KB


def test_slow_clients_stall_the_pool_unless_it_drops_them(section, cells) -> None:
    stalled = "WORKERS=256"
    timed = "WORKERS=256,CLIENT_TIMEOUT=1"
    assert measured("python/threadpool", "ok", stalled, part="slow", stream="ping") == 0
    assert cells["slowloris"]["python/threadpool"].text == "stalled"
    assert cells["slowloris"]["python/epoll-lt"].text == "served"
    dropped = measured("python/threadpool", "slow_status_408", timed, part="slow")
    assert dropped > 0
    text = _finding(section, f"python/threadpool ({timed}) kept answering")
    assert f"by closing {dropped:,.0f} slow connections" in text


def test_level_and_edge_counters_per_large_request(section) -> None:
    def per(target: str, name: str, variant: str = "default") -> float:
        return measured(target, f"{name}_per_request", variant, part="large")

    # level-triggered: the wait reports the rest of the request again; edge: read to EAGAIN
    assert per("python/epoll-lt", "waits") == pytest.approx(2, abs=0.2)
    assert per("python/epoll-lt", "eagain") == 0
    assert per("python/epoll-et", "waits") == pytest.approx(1, abs=0.2)
    assert per("python/epoll-et", "reads") == pytest.approx(3, abs=0.2)
    assert per("python/epoll-et", "eagain") == pytest.approx(1, abs=0.2)
    assert measured("python/epoll-et", "ok", "READ_ONCE=1", part="large", stream="large") == 0
    assert "answered none of 100 requests of 6,000 bytes" in _finding(
        section, "python/epoll-et (READ_ONCE=1)")


def test_the_report_has_the_section_figures_and_scorecard(tmp_path) -> None:
    html = write_report(READINESS_RUN, EXPERIMENTS, reports_dir=tmp_path).read_text()
    for title in ("Idle connections: CPU per request and p99", "Memory per idle connection",
                  "Slow clients", "Level vs edge triggered", "CPU/ping vs idle conns",
                  "memory per idle conn", "slowloris"):
        assert title in html, title
