"""Parsing what wrk and the pacer print, on outputs recorded from real runs (loadgen/testdata)."""

from __future__ import annotations

import pytest

from lab import LOADGEN_DIR
from lab.errors import LabError
from lab.loadgen import Stream, parse_pacer_records, parse_pacer_summary, parse_wrk

TESTDATA = LOADGEN_DIR / "testdata"


def test_wrk_report_line_is_parsed_and_text_is_ignored() -> None:
    result = parse_wrk((TESTDATA / "wrk_ping.stdout.txt").read_text())
    assert result.requests == 192745
    assert result.duration_s == pytest.approx(3.002099)
    assert result.requests_per_s == pytest.approx(64203.412)
    assert result.errors_total == 0
    assert result.latency_ms["p99"] == pytest.approx(10.659)
    assert set(result.latency_ms) == {"min", "mean", "stdev", "max", "p50", "p75", "p90",
                                      "p99", "p99_9"}


def test_wrk_status_errors_are_counted() -> None:
    result = parse_wrk((TESTDATA / "wrk_status_errors.stdout.txt").read_text())
    assert result.errors["status"] > 0
    assert result.errors_total >= result.errors["status"]


def test_wrk_output_without_the_report_line_is_an_error() -> None:
    with pytest.raises(LabError, match="LABJSON"):
        parse_wrk("Running 1s test @ http://127.0.0.1:1/\n  1 requests in 1.00s\n")


def test_pacer_records_and_summary() -> None:
    records = parse_pacer_records((TESTDATA / "pacer_records.csv").read_text())
    summary = parse_pacer_summary((TESTDATA / "pacer_summary.json").read_text())
    assert records and {r.stream for r in records} == {s["name"] for s in summary["streams"]}
    assert all(r.sent_ns >= r.intended_ns for r in records if r.status)
    first = records[0]
    assert first.latency_ms == (first.done_ns - first.intended_ns) / 1e6
    for stream in summary["streams"]:
        assert stream["scheduled"] == sum(1 for r in records if r.stream == stream["name"])


def test_pacer_failed_requests_have_status_0_and_an_error() -> None:
    records = parse_pacer_records((TESTDATA / "pacer_connect_refused.csv").read_text())
    assert records and all(r.status == 0 and r.error for r in records)
    assert all(r.sent_ns is None for r in records)


def test_pacer_output_with_other_columns_is_an_error() -> None:
    with pytest.raises(LabError, match="columns"):
        parse_pacer_records("a,b\n1,2\n")


def test_stream_flag_carries_rate_and_phase() -> None:
    assert Stream("cpu", "/cpu?ms=100", 2, 250).flag() == "cpu=/cpu?ms=100@2+250ms"
    assert Stream("ping", "/ping", 200).flag() == "ping=/ping@200"
