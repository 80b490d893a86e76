"""The readiness experiment's planning and arithmetic: points from target facts, the
memory projection, the sampler's window, verdicts, and the pacer's background flags."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import pytest

from lab.backends.docker_cpu import anon_bytes
from lab.experiments.readiness import measure, spec, summary
from lab.experiments.readiness.sampler import Sampler, Snapshot
from lab.loadgen import Background
from lab.targets import discover

TARGETS = {t.name: t for t in discover()}
STANDARD = spec.PROFILES["standard"]


def _points(target: str, variant: bool = False) -> list[tuple]:
    return [p.params for p in spec.points(STANDARD, TARGETS[target], variant)]


def test_levels_come_from_facts_and_stop_at_a_limit_which_is_run() -> None:
    assert STANDARD.idle_levels_for(TARGETS["python/epoll-lt"]) == [0, 1000, 10000]
    # select: runtime.toml max_connections (FD_SETSIZE), the limit itself shows the failure
    assert STANDARD.idle_levels_for(TARGETS["python/select"]) == [0, 1000, 1024]
    # pools (pool_knob): the experiment's pool size
    assert STANDARD.idle_levels_for(TARGETS["python/prefork"]) == [0, STANDARD.pool_size]
    assert spec.knobs_for(TARGETS["python/prefork"], STANDARD) == {"WORKERS": "256"}
    assert spec.knobs_for(TARGETS["go/goroutines"], STANDARD) == {}


def test_the_largest_level_comes_last_and_reactors_get_the_large_request() -> None:
    assert _points("python/epoll-lt") == [
        (("part", "idle"), ("idle", 0)), (("part", "idle"), ("idle", 1000)),
        (("part", "slow"), ("slow", STANDARD.slow_clients)),
        (("part", "large"), ("head_bytes", spec.LARGE_HEAD)),
        (("part", "idle"), ("idle", 10000))]
    assert [p[0][1] for p in _points("go/goroutines")] == ["idle"] * 2 + ["slow", "idle"]
    # a variant (runtime.toml variants.readiness) runs only the parts it is about
    assert [p[0][1] for p in _points("python/epoll-et", variant=True)] == ["slow", "large"]


def test_sessions_add_the_runtime_toml_variants() -> None:
    chosen = [TARGETS[n] for n in ("python/epoll-et", "python/threadpool", "rust/tokio")]
    sessions = spec.sessions(STANDARD, chosen)
    assert sorted((s.target.name, s.variant) for s in sessions) == [
        ("python/epoll-et", "READ_ONCE=1"), ("python/epoll-et", "default"),
        ("python/threadpool", "WORKERS=256"), ("python/threadpool", "WORKERS=256,CLIENT_TIMEOUT=1"),
        ("rust/tokio", "default")]
    assert STANDARD.slow_clients > STANDARD.pool_size  # the slow clients outnumber a pool


def test_every_profile_has_a_baseline_and_outnumbers_its_pools() -> None:
    for profile in spec.PROFILES.values():
        assert profile.idle_levels[0] == 0 and list(profile.idle_levels) == sorted(
            profile.idle_levels)
        assert profile.slow_clients > profile.pool_size


def test_memory_is_projected_from_the_last_two_levels() -> None:
    assert measure._projection([], 1000) is None
    assert measure._projection([(0, 10)], 1000) is None
    # 1.5 MB per connection (a process each): 1,000 -> 5,000 lands at 7.5 GB
    held = [(100, 160_000_000), (1000, 1_510_000_000)]
    assert measure._projection(held, 5000) == pytest.approx(7_510_000_000)
    assert measure._projection(held, 5000) > measure.MEMORY_BUDGET


@dataclass
class _Server:
    def cpu_seconds(self) -> float:
        return 0.0

    def memory_bytes(self) -> int:
        return 0

    def descriptors(self) -> int:
        return 0


def test_the_window_keeps_only_samples_inside_it() -> None:
    sampler = Sampler(_Server())  # type: ignore[arg-type]
    # CPU: 0.2 CPU-s/s before the window (setting up idle connections), 0.05 inside it
    sampler.cpu = [(9.0, 1.0), (9.9, 1.18), (10.0, 1.2), (10.5, 1.225), (11.0, 1.25),
                   (11.5, 1.4)]
    sampler.snapshots = [Snapshot(9.5, 9.7, 100, 10), Snapshot(10.1, 10.3, 500, 1010),
                         Snapshot(10.4, 10.6, 520, 1010), Snapshot(10.9, 11.3, 50, 10)]
    window = sampler.window(10.0, 11.0, held=(9.95, 11.05))
    assert window.cpu_rate == pytest.approx(0.05)
    assert (window.cpu_samples, window.cpu_span) == (3, pytest.approx(1.0))
    assert (window.memory, window.descriptors, window.snapshots) == (510, 1010, 2)
    assert sampler.window(20.0, 21.0, held=(20.0, 21.0)).cpu_rate is None


@pytest.mark.parametrize(("ratio", "verdict"), [(None, "n/a"), (0.6, "flat"), (1.29, "flat"),
                                                (1.5, "slight"), (2.0, "grows"), (13.7, "grows")])
def test_growth_verdicts(ratio: float | None, verdict: str) -> None:
    assert summary.growth(ratio) == verdict


def test_sizes_and_memory_levels() -> None:
    assert [summary.size(x) for x in (512, 23_900, 1_530_000, 3 * 1024**3)] == [
        "512 B", "23.3 KB", "1.46 MB", "3 GB"]
    assert [summary.memory_level(x) for x in (600, 23_000, 1_500_000, None)] == [
        "good", "mixed", "bad", "none"]


def _rows(target: str, variant: str, rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame([{"target": target, "runtime": target.split("/")[0],
                          "model": target.split("/")[1], "backend": "native",
                          "variant": variant, "knobs": "{}", "repetition": 0, "part": part,
                          "idle": idle, "slow": slow, "head_bytes": float("nan"),
                          "stream": stream, "metric": metric, "value": value, "unit": "",
                          "flags": ""}
                         for part, idle, slow, stream, metric, value in rows])


def test_slow_verdicts_count_the_pings_answered() -> None:
    frame = pd.concat([
        _rows("python/prefork", "WORKERS=256", [
            ("slow", float("nan"), 320.0, "ping", "sent", 600), ("slow", float("nan"), 320.0,
                                                                  "ping", "ok", 0),
            ("slow", float("nan"), 320.0, "ping", "latency_p99", float("inf"))]),
        _rows("python/prefork", "WORKERS=256,CLIENT_TIMEOUT=1", [
            ("slow", float("nan"), 320.0, "ping", "sent", 600),
            ("slow", float("nan"), 320.0, "ping", "ok", 600),
            ("slow", float("nan"), 320.0, "slow", "slow_status_408", 309),
            ("slow", float("nan"), 320.0, "slow", "slow_closed_by_server", 309)])])
    from analysis.stats import aggregate

    slow = summary.slow_summary(aggregate(frame)).set_index("variant")
    assert slow.loc["WORKERS=256", "verdict"] == "stalled"
    assert slow.loc["WORKERS=256,CLIENT_TIMEOUT=1", "verdict"] == "served"
    assert slow.loc["WORKERS=256,CLIENT_TIMEOUT=1", "statuses"] == {"408": 309}


def test_background_connections_become_pacer_flags() -> None:
    assert Background().flags() == []
    assert Background(idle=10000, idle_wait_s=20, prime_wait_s=1).flags() == [
        "-idle", "10000", "-idle-wait", "20s", "-prime-wait", "1s"]
    assert Background(slow=320, slow_interval_s=0.1, pad=(("large", 6000),)).flags() == [
        "-slow", "320", "-slow-interval", "0.1s", "-pad", "large=6000"]


def test_a_cgroup_reports_its_anonymous_memory() -> None:
    assert anon_bytes({"cache": "2293760", "rss": "1", "total_rss": "19554304"}) == 19554304
    assert anon_bytes({"anon": "4096", "file": "8192"}) == 4096  # cgroup v2
    assert anon_bytes({"cache": "1"}) is None
