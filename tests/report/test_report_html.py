"""The HTML report, rendered from the example runs and opened in headless Chromium."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from analysis.report import write_report
from analysis.stats import fmt
from tests.report.runs import EXPERIMENTS, QUICK_RUN, SWEEP_RUN, add_tokio_failure, copy_run

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
    return write_report(QUICK_RUN, EXPERIMENTS, reports_dir=tmp_path / "reports")


def test_one_self_contained_file_and_a_latest_link(quick_report: Path, tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    assert quick_report == reports / QUICK_RUN.name / "index.html"
    assert (reports / "latest").is_symlink()
    assert (reports / "latest").resolve() == quick_report.parent.resolve()
    html = quick_report.read_text()
    assert quick_report.stat().st_size < MAX_REPORT_BYTES
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert "<script src" not in html and "@import" not in html and "url(http" not in html
    # sweep: /ping, latency vs load, efficiency; blocking: timelines, percentiles; overview
    assert html.count("data:image/png;base64,") == 6
    assert quick_report.stat().st_mode & 0o044 == 0o044  # readable by others (umask 022)


def test_the_report_opens_cleanly_in_chromium(browser, quick_report: Path) -> None:
    page, errors, requests = open_report(browser, quick_report)
    try:
        assert errors == []
        assert all(url.startswith(("file://", "data:")) for url in requests), requests
        shown = images(page)
        assert len(shown) == 6
        for image in shown:
            assert image["complete"] and image["w"] > 0
            assert len(image["alt"]) > 40
        blocking = page.inner_text("#exp-blocking")
        ping = pd.read_csv(QUICK_RUN / "blocking.csv")
        ping = ping[(ping["target"] == "node/event-loop") & (ping["stream"] == "ping")
                    & (ping["metric"] == "latency_p99")].set_index("phase")["value"]
        assert (f"node/event-loop: /ping p99 rose from {fmt(ping['baseline'], 'ms', True)} to "
                f"{fmt(ping['inline'], 'ms', True)}") in blocking
        assert "go/goroutines" in blocking and "behaves like a blocked loop" in blocking
        sweep = pd.read_csv(QUICK_RUN / "sweep.csv")
        goodput = sweep[(sweep["metric"] == "goodput_per_s") & (sweep["mode"] == "closed")
                        ].set_index("target")["value"]
        best = goodput.idxmax()
        assert (f"{best} served the most, {fmt(goodput[best])} responses/s"
                in page.inner_text("#exp-sweep"))
        scorecard = page.inner_text("#scorecard table")
        assert f"{fmt(goodput[best])}/s" in scorecard and "blocked" in scorecard
        assert page.locator("#scorecard figure.story img").is_visible()
        environment = page.inner_text("#environment")
        meta = json.loads((QUICK_RUN / "run.json").read_text())
        versions = [t["runtime_version"] for t in meta["targets"].values()]
        for expected in (meta["git"]["commit"], meta["machine"]["cpu_model"], *versions,
                         "GOMAXPROCS=1", "TOKIO_WORKER_THREADS=1", "native"):
            assert expected in environment
        failures = page.inner_text("#failures")
        assert "noisy" in failures
        for experiment in ("sweep", "blocking"):
            section = page.locator(f"#exp-{experiment}")
            assert section.locator(".concept summary").is_visible()
            assert section.locator("table").count() >= 1
    finally:
        page.close()


def test_tables_sort_when_a_heading_is_clicked(browser, quick_report: Path) -> None:
    page, errors, _ = open_report(browser, quick_report)
    try:
        page.locator("#exp-sweep details.tables summary").click()
        table = page.locator("#exp-sweep table").first
        headings = [t.strip() for t in table.locator("thead th").all_inner_texts()]
        column = headings.index("goodput (2xx/s)")

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
    write_report(QUICK_RUN, EXPERIMENTS, reports_dir=reports)
    second = write_report(SWEEP_RUN, EXPERIMENTS, reports_dir=reports)
    assert (reports / "latest").resolve() == second.parent.resolve()
    page, errors, _ = open_report(browser, second)
    try:
        assert errors == []
        # /ping, /sleep?ms=10, latency vs load, efficiency
        assert all(i["w"] > 0 for i in images(page)) and len(images(page)) == 4
        # two repetitions: a min-max would cover the median half the time, so no interval
        assert "too few repetitions for an interval" in page.inner_text("#exp-sweep")
        assert "cannot tell (n = 2)" in page.locator("#exp-sweep table").first.text_content()
    finally:
        page.close()


def _unknown_experiment(folder: Path) -> None:
    frame = pd.read_csv(folder / "sweep.csv").head(6).copy()
    frame["experiment"] = "made-up"
    frame["pool_size"] = 4
    frame.drop(columns=["endpoint", "connections"]).to_csv(folder / "made-up.csv",
                                                          index=False)


def test_failures_gaps_and_unknown_experiments_are_shown(browser, tmp_path: Path) -> None:
    meta = json.loads((QUICK_RUN / "run.json").read_text())
    targets = {**meta["targets"], "python/select": {"failed": "build failed: no python3"}}
    folder = copy_run(QUICK_RUN, tmp_path, status="interrupted", targets=targets,
                      experiments=["sweep", "blocking", "parallel"])
    _unknown_experiment(folder)
    add_tokio_failure(folder, detail="thread 'main' panicked")
    path = write_report(folder, EXPERIMENTS, reports_dir=tmp_path / "reports")
    page, errors, _ = open_report(browser, path)
    try:
        assert errors == []
        assert "interrupted" in page.inner_text("header [role=alert]")
        problems = page.inner_text("#failures")
        assert "python/select was not measured: build failed: no python3" in problems
        assert "blocking: rust/tokio failed 1 time(s): server stopped answering" in problems
        assert "parallel: no results in this run" in problems
        assert "No results for parallel" in page.inner_text("#exp-parallel")
        generic = page.locator("#exp-made-up").text_content()
        first_metric = pd.read_csv(folder / "made-up.csv")["metric"].iloc[0]
        assert "pool_size=4" in generic and first_metric in generic
        assert "build failed: no python3" in page.inner_text("#scorecard table")
    finally:
        page.close()


def test_a_run_with_no_data_still_renders(browser, tmp_path: Path) -> None:
    folder = tmp_path / "results" / "20261128-000000-0000"
    folder.mkdir(parents=True)
    (folder / "run.json").write_text(json.dumps({
        "schema_version": 1, "run_id": folder.name, "status": "running", "experiments": [],
        "targets": {}}))
    path = write_report(folder, EXPERIMENTS, reports_dir=tmp_path / "reports")
    page, errors, _ = open_report(browser, path)
    try:
        assert errors == []
        assert "nothing to score yet" in page.inner_text("#scorecard")
        assert page.locator("#environment").is_visible()
    finally:
        page.close()


def test_a_table_of_an_unexpected_shape_falls_back_to_generic(tmp_path: Path) -> None:
    folder = copy_run(SWEEP_RUN, tmp_path)
    frame = pd.read_csv(folder / "sweep.csv")
    frame.drop(columns=["connections"]).to_csv(folder / "sweep.csv", index=False)
    html = write_report(folder, EXPERIMENTS, reports_dir=tmp_path / "reports").read_text()
    assert "The analysis of sweep failed on this data" in html
    assert "endpoint=/ping" in html


@pytest.mark.parametrize(("width", "height"), [(1280, 900), (390, 844)])
def test_the_first_screen_is_the_scorecard_and_the_story(browser, quick_report: Path,
                                                         tmp_path: Path, width: int,
                                                         height: int) -> None:
    """What a reader sees before scrolling: the scorecard (and on a wide screen, the story
    figure beside it). The screenshots are kept for a person to look at."""
    page = browser.new_page(viewport={"width": width, "height": height})
    try:
        page.goto(quick_report.as_uri())
        shot = tmp_path / f"first-screen-{width}x{height}.png"
        page.screenshot(path=str(shot))
        assert shot.stat().st_size > 10_000
        table = page.locator("#scorecard table").bounding_box()
        limit = 200 if width >= 1000 else height / 2
        assert table and table["y"] < limit, "the scorecard starts near the top"
        if width >= 1000:
            story = page.locator("#scorecard figure.story img").bounding_box()
            assert story and story["y"] < height and story["x"] > table["x"] + 300
            assert table["y"] + table["height"] < height * 1.1
        cells = page.locator("#scorecard td.level-bad, #scorecard td.level-good").count()
        assert cells >= 4, "verdicts are coloured"
        # No horizontal scrolling of the page itself, even on a phone.
        assert page.evaluate("document.documentElement.scrollWidth") <= width + 1
    finally:
        page.close()
