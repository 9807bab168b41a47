"""The load script runs, in a tiny mode, and every checkout it reports is an order in the database."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.postgres_only

ROOT = Path(__file__).resolve().parents[2]


def test_load_script_completes_with_no_lost_order(database_url, tmp_path):
    rows = tmp_path / "rows.json"
    done = subprocess.run(
        [sys.executable, "scripts/bench_load.py", "--seconds", "3", "--users", "6", "--products", "120",
         "--buyers", "6", "--no-worker"],
        cwd=ROOT,
        env={**_env(), "DATABASE_URL": database_url, "KTT_BENCH_JSON": str(rows)},
        capture_output=True,
        text=True,
        timeout=240,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    summary = re.search(
        r"(\d+) purchases in the database .*; (\d+) checkouts reached .*lost (\d+), doubled (\d+)", done.stdout
    )
    assert summary, done.stdout
    stored, succeeded, lost, doubled = map(int, summary.groups())
    assert (lost, doubled) == (0, 0) and stored == succeeded
    figures = {row["figure"]: row for row in json.loads(rows.read_text())}
    assert figures["requests/s, whole mix"]["value"] > 0
    assert figures["requests/s, whole mix"]["baseline_value"] > 0  # the bare app, measured in the same run
    assert {"browse: p99", "search: p99"} <= set(figures)
    assert all(row["benchmark"] == "load mix" for row in figures.values())


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "KTT_BENCH_JSON"}}
