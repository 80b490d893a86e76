"""The HTML report, rendered from the example runs and opened in headless Chromium."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from analysis.report import write_report
from tests.report.runs import QUICK_RUN, SWEEP_RUN, add_tokio_failure, copy_run

MAX_REPORT_BYTES = 5 * 2**20


def open_report(browser, path: Path):
    """The page, its console errors and every URL it requested."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    requests: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: requests.append(r.url))
    page.goto(path.as_uri(), wait_until="load")
    return page, errors, requests


def images(page) -> list[dict]:
    return page.evaluate("Array.from(document.images).map(i => ({w: i.naturalWidth, "
                         "complete: i.complete, alt: i.alt}))")


@pytest.fixture
def quick_report(tmp_path: Path) -> Path:
    return write_report(QUICK_RUN, reports_dir=tmp_path / "reports")


def test_one_self_contained_file_and_a_latest_link(quick_report: Path, tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    assert quick_report == reports / QUICK_RUN.name / "index.html"
    assert (reports / "latest").is_symlink()
    assert (reports / "latest").resolve() == quick_report.parent.resolve()
    html = quick_report.read_text()
    assert quick_report.stat().st_size < MAX_REPORT_BYTES
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert "<script src" not in html and "@import" not in html and "url(http" not in html
    assert html.count("data:image/png;base64,") == 5


def test_the_report_opens_cleanly_in_chromium(browser, quick_report: Path) -> None:
    page, errors, requests = open_report(browser, quick_report)
    try:
        assert errors == []
        assert all(url.startswith(("file://", "data:")) for url in requests), requests
        shown = images(page)
        assert len(shown) == 5
        for image in shown:
            assert image["complete"] and image["w"] > 0
            assert len(image["alt"]) > 40
        summary = page.inner_text("#summary")
        assert "node/event-loop: /ping p99 rose from 5.7 ms to 101 ms" in summary
        assert "go/goroutines" in summary and "partly isolated" in summary
        assert "rust/tokio was fastest with 85,963 req/s" in summary
        assert page.locator("h2#summary-h").is_visible()
        environment = page.inner_text("#environment")
        meta = json.loads((QUICK_RUN / "run.json").read_text())
        for expected in (meta["git"]["commit"], meta["machine"]["cpu_model"], "go1.26.8",
                         "v20.20.2", "GOMAXPROCS=1", "TOKIO_WORKER_THREADS=1", "native"):
            assert expected in environment
        failures = page.inner_text("#failures")
        assert "late-dispatch" in failures and "rust/tokio" in failures
        for experiment in ("sweep", "blocking"):
            section = page.locator(f"#exp-{experiment}")
            assert section.locator(".concept").is_visible()
            assert section.locator("table").count() >= 1
    finally:
        page.close()


def test_tables_sort_when_a_heading_is_clicked(browser, quick_report: Path) -> None:
    page, errors, _ = open_report(browser, quick_report)
    try:
        table = page.locator("#exp-sweep table").first
        column = [t.strip() for t in table.locator("thead th").all_inner_texts()].index("req/s")

        def values() -> list[float]:
            cells = table.locator(f"tbody tr td:nth-child({column + 1})").all_inner_texts()
            return [float(c.replace(",", "")) for c in cells]

        table.locator("thead th button").nth(column).click()
        assert values() == sorted(values())
        table.locator("thead th button").nth(column).click()
        assert values() == sorted(values(), reverse=True)
        assert table.locator("thead th").nth(column).get_attribute("aria-sort") == "descending"
        assert errors == []
    finally:
        page.close()


def test_a_second_run_renders_and_becomes_latest(browser, tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    write_report(QUICK_RUN, reports_dir=reports)
    second = write_report(SWEEP_RUN, reports_dir=reports)
    assert (reports / "latest").resolve() == second.parent.resolve()
    page, errors, _ = open_report(browser, second)
    try:
        assert errors == []
        assert all(i["w"] > 0 for i in images(page)) and len(images(page)) == 3
        assert "the lead is beyond noise" in page.inner_text("#summary")
        assert "n/a (1 repetition)" not in page.inner_text("#exp-sweep table")
    finally:
        page.close()


def _unknown_experiment(folder: Path) -> None:
    frame = pd.read_csv(folder / "sweep.csv").head(6).copy()
    frame["experiment"] = "threadpool"
    frame["pool_size"] = 4
    frame.drop(columns=["endpoint", "connections"]).to_csv(folder / "threadpool.csv",
                                                          index=False)


def test_failures_gaps_and_unknown_experiments_are_shown(browser, tmp_path: Path) -> None:
    meta = json.loads((QUICK_RUN / "run.json").read_text())
    targets = {**meta["targets"], "python/select": {"failed": "build failed: no python3"}}
    folder = copy_run(QUICK_RUN, tmp_path, status="interrupted", targets=targets,
                      experiments=["sweep", "blocking", "parallel"])
    _unknown_experiment(folder)
    add_tokio_failure(folder, detail="thread 'main' panicked")
    path = write_report(folder, reports_dir=tmp_path / "reports")
    page, errors, _ = open_report(browser, path)
    try:
        assert errors == []
        assert "interrupted" in page.inner_text("header [role=alert]")
        problems = page.inner_text("#failures")
        assert "python/select was not measured: build failed: no python3" in problems
        assert "blocking: rust/tokio failed 1 time(s): server stopped answering" in problems
        assert "parallel: no results in this run" in problems
        assert "No results for parallel" in page.inner_text("#exp-parallel")
        generic = page.inner_text("#exp-threadpool")
        assert "pool_size=4" in generic and "requests_per_s" in generic
        assert "python/select" in page.inner_text("#summary table")
    finally:
        page.close()


def test_a_run_with_no_data_still_renders(browser, tmp_path: Path) -> None:
    folder = tmp_path / "results" / "20261128-000000-0000"
    folder.mkdir(parents=True)
    (folder / "run.json").write_text(json.dumps({
        "schema_version": 1, "run_id": folder.name, "status": "running", "experiments": [],
        "targets": {}}))
    path = write_report(folder, reports_dir=tmp_path / "reports")
    page, errors, _ = open_report(browser, path)
    try:
        assert errors == []
        assert "no experiments and no result tables" in page.inner_text("#summary")
        assert page.locator("#environment").is_visible()
    finally:
        page.close()


def test_a_table_of_an_unexpected_shape_falls_back_to_generic(tmp_path: Path) -> None:
    folder = copy_run(SWEEP_RUN, tmp_path)
    frame = pd.read_csv(folder / "sweep.csv")
    frame.drop(columns=["connections"]).to_csv(folder / "sweep.csv", index=False)
    html = write_report(folder, reports_dir=tmp_path / "reports").read_text()
    assert "The dedicated analysis of sweep failed on this data" in html
    assert "endpoint=/ping" in html
