"""The benchmark report's plumbing: rows written as they come, peaks read from /proc, one Markdown table."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

import benchlib  # noqa: E402

import bench  # noqa: E402

pytestmark = pytest.mark.core


def test_rows_are_written_to_the_file_named_by_the_environment_after_each_figure(tmp_path, monkeypatch):
    path = tmp_path / "rows.json"
    monkeypatch.setenv(benchlib.ENV, str(path))
    rows = benchlib.Rows("catalogue")
    rows.add("bare Flask route: requests/s", 900.0, "req/s")
    assert len(json.loads(path.read_text())) == 1

    rows.add("listing: requests/s", 450.123456, "req/s", baseline="bare Flask route", baseline_value=900, note="wrk")

    assert json.loads(path.read_text())[1] == {
        "benchmark": "catalogue",
        "figure": "listing: requests/s",
        "value": 450.123,
        "unit": "req/s",
        "baseline": "bare Flask route",
        "baseline_value": 900,
        "note": "wrk",
    }


def test_without_the_environment_nothing_is_written(tmp_path, monkeypatch):
    monkeypatch.delenv(benchlib.ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    benchlib.Rows("memory").add("peak RSS: web worker", float("nan"), "MB")
    assert list(tmp_path.iterdir()) == []


def test_percentile_is_the_nearest_rank():
    values = list(range(1, 101))
    assert benchlib.percentile(values, 50) == 51
    assert benchlib.percentile(values, 99) == 99
    assert benchlib.percentile([7.0], 99) == 7.0


def test_the_sampler_reports_the_peak_of_each_kind_of_process():
    child = subprocess.Popen([sys.executable, "-c", "b = bytearray(60 * 1024 * 1024); import time; time.sleep(30)"])
    try:
        sampler = benchlib.PeakSampler(
            {"this process": lambda: [os.getpid()], "its children": lambda: benchlib.children_of(os.getpid())},
            interval=0.05,
        )
        sampler.start()
        time.sleep(1.5)
        peaks = sampler.stop()
    finally:
        child.kill()
        child.wait()
    assert peaks["its children"].pids == {child.pid}
    assert peaks["its children"].hwm_mb > 60
    assert peaks["this process"].samples > 1
    assert 0 < peaks["this process"].rss_mb <= peaks["this process"].hwm_mb


def test_an_ended_process_has_no_status():
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    assert benchlib.proc_status(child.pid) == {}


def test_the_markdown_report_has_a_header_and_one_row_per_figure_with_its_ratio():
    report = {
        "header": {
            "date": "2026-11-28 01:00 UTC",
            "minutes": 12.5,
            "machine": {"cores": 2, "ram_gb": 23.5, "cpu": "AMD EPYC", "os": "Linux", "python": "3.11.7",
                        "postgresql": "15.18"},
            "commit": "abc123",
            "note": "shared machine",
            "load_before": "4.0",
            "load_after": "5.0",
            "benchmarks": ["bench_catalog", "bench_memory"],
            "failed": ["bench_load: exited with status 1"],
        },
        "rows": [
            {"benchmark": "memory", "figure": "peak RSS: bare | worker", "value": 29.5, "unit": "MB", "baseline": "",
             "baseline_value": None, "note": ""},
            {"benchmark": "memory", "figure": "peak RSS: web worker", "value": 195.3, "unit": "MB",
             "baseline": "bare Flask worker", "baseline_value": 29.5, "note": "aim: under 200 MB: met"},
        ],
    }  # fmt: skip

    text = bench.markdown(report)

    assert "2 cores, 23.5 GB RAM, AMD EPYC" in text
    assert "Python 3.11.7, PostgreSQL 15.18" in text
    assert "- Commit: abc123" in text
    assert "- Note: shared machine" in text
    assert "FAILED: bench_load: exited with status 1" in text
    assert "| memory | peak RSS: bare \\| worker | 29.5 | MB | – | – | – |" in text
    assert "| memory | peak RSS: web worker | 195 | MB | bare Flask worker | 29.5 | 6.62 |" in text
    assert "- memory, peak RSS: web worker: aim: under 200 MB: met" in text
