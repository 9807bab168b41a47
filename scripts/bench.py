"""`make bench`: run the project's benchmarks on a PostgreSQL server started for the purpose.

Each benchmark prints its figures beside a baseline measured in the same run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.services import PostgresServer  # noqa: E402

BENCHMARKS = [
    "scripts/bench_registry_import.py",
    "scripts/bench_catalog.py",
    "scripts/bench_notifications.py",
    "scripts/bench_annual_report.py",
]


def main() -> int:
    base = Path(tempfile.mkdtemp(prefix="ktt-bench-pg-"))
    base.chmod(0o755)
    server = PostgresServer(base).start()
    try:
        env = dict(os.environ, DATABASE_URL=server.create_database("ktt_bench"), FLASK_APP="app.py")
        subprocess.run(
            [sys.executable, "-m", "flask", "db", "upgrade"], cwd=ROOT, env=env, check=True, capture_output=True
        )
        for script in BENCHMARKS:
            print(f"== {script}", flush=True)
            subprocess.run([sys.executable, script], cwd=ROOT, env=env, check=True)
    finally:
        server.stop()
        shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
