"""`make bench`: run every benchmark of the project and write one report, bench/report.json and bench/report.md.

    .venv/bin/python scripts/bench.py [--only NAME ...] [--note TEXT] [--out DIR]

Starts a PostgreSQL server of its own; each benchmark gets a freshly migrated database and writes its
rows (figure, value, unit, the baseline measured in the same run) through scripts/benchlib.py to a file
named by KTT_BENCH_JSON; this script gathers them under a header saying when, on what machine and at
which commit. Each benchmark's own printout goes to the terminal as it runs. A benchmark that fails is
named in the report's header (with the rows it wrote before failing) and the exit status is 1.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.services import PostgresServer  # noqa: E402

BENCHMARKS = [
    "scripts/bench_registry_import.py",
    "scripts/bench_catalog.py",
    "scripts/bench_notifications.py",
    "scripts/bench_annual_report.py",
    "scripts/bench_load.py",  # the browse, search and checkout mix: run when it is there
    "scripts/bench_memory.py",
]
COLUMNS = ["benchmark", "figure", "value", "unit", "baseline", "baseline value", "ratio"]


def machine(server: PostgresServer) -> dict:
    """Describe the machine: cores, memory, CPU model, Python and PostgreSQL versions."""
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.partition(":")[2].strip()
            break
    meminfo = dict(line.split(":", 1) for line in Path("/proc/meminfo").read_text().splitlines() if ":" in line)
    ram_gb = int(meminfo["MemTotal"].split()[0]) / 1024 / 1024
    import psycopg

    with psycopg.connect(f"postgresql://postgres@127.0.0.1:{server.port}/postgres") as conn:
        postgres = conn.execute("SHOW server_version").fetchone()[0]
    return {
        "cores": os.cpu_count(),
        "ram_gb": round(ram_gb, 1),
        "cpu": cpu,
        "os": platform.platform(),
        "python": platform.python_version(),
        "postgresql": postgres,
    }


def git_commit() -> str:
    """Return the checked-out commit, marked when the working tree differs from it."""
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, capture_output=True)
    return head + (" (with uncommitted changes)" if dirty.stdout.strip() else "")


def run_one(script: str, server: PostgresServer, index: int, out_dir: Path) -> tuple[list[dict], str | None]:
    """Run one benchmark on a freshly migrated database; return its rows and an error, if it failed."""
    rows_file = out_dir / f"{Path(script).stem}.json"
    url = server.create_database(f"ktt_bench_{index}")
    env = dict(os.environ, DATABASE_URL=url, FLASK_APP="app.py", KTT_BENCH_JSON=str(rows_file))
    migrated = subprocess.run(
        [sys.executable, "-m", "flask", "db", "upgrade"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    if migrated.returncode:
        return [], f"migration failed: {migrated.stderr.strip().splitlines()[-1:]}"
    done = subprocess.run([sys.executable, script], cwd=ROOT, env=env)
    rows = json.loads(rows_file.read_text()) if rows_file.exists() else []
    return rows, (f"exited with status {done.returncode}" if done.returncode else None)


def _fmt(value: float | None) -> str:
    if value is None:
        return "–"
    if abs(value) >= 100 or float(value).is_integer():
        return f"{value:,.0f}"
    return f"{value:,.1f}" if abs(value) >= 10 else f"{value:,.2f}"


def ratio(row: dict) -> float | None:
    """Return value / baseline value, when both are there."""
    if row.get("baseline_value") in (None, 0) or row.get("value") is None:
        return None
    return row["value"] / row["baseline_value"]


def table(rows: list[dict]) -> list[str]:
    """Return the lines of the Markdown table of `rows`."""
    lines = ["| " + " | ".join(COLUMNS) + " |", "|---|---|---:|---|---|---:|---:|"]
    for row in rows:
        r = ratio(row)
        cells = [
            row["benchmark"],
            row["figure"],
            _fmt(row["value"]),
            row["unit"],
            row["baseline"] or "–",
            _fmt(row["baseline_value"]),
            "–" if r is None else f"{r:.2f}",
        ]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return lines


def markdown(report: dict) -> str:
    """Render the report as Markdown: the header, one table of every row, and the notes by benchmark."""
    h = report["header"]
    m = h["machine"]
    lines = [
        "# KTT Market benchmark report",
        "",
        f"- Date: {h['date']} (took {h['minutes']:.1f} min)",
        f"- Machine: {m['cores']} cores, {m['ram_gb']} GB RAM, {m['cpu']}; {m['os']}",
        f"- Python {m['python']}, PostgreSQL {m['postgresql']}",
        f"- Commit: {h['commit']}",
        f"- Load average: {h['load_before']} before, {h['load_after']} after",
    ]
    if h.get("note"):
        lines.append(f"- Note: {h['note']}")
    if h["failed"]:
        lines.append(f"- FAILED: {'; '.join(h['failed'])}")
    lines += [
        f"- Benchmarks: {', '.join(h['benchmarks'])}",
        "- Regenerate: `make bench` (or `.venv/bin/python scripts/bench.py`)",
        "",
        "Ratio is value / baseline value, the baseline measured in the same run: above 1 is more requests or",
        "more time than the baseline, so for times lower is better and for rates higher is better.",
        "",
        *table(report["rows"]),
    ]
    # A note shared by several rows of a benchmark is said once; a note of one row names its figure.
    said: dict[tuple[str, str], list[str]] = {}
    for row in report["rows"]:
        if row["note"]:
            said.setdefault((row["benchmark"], row["note"]), []).append(row["figure"])
    if said:
        lines += ["", "## Notes", ""]
        for (benchmark, note), figures in said.items():
            where = f"{benchmark}, {figures[0]}" if len(figures) == 1 else f"{benchmark} ({len(figures)} rows)"
            lines.append(f"- {where}: {note}")
    return "\n".join(lines) + "\n"


def _stop_on_sigterm(signum, frame) -> None:
    raise SystemExit(128 + signum)  # unwinds through the finally block that stops PostgreSQL


def main() -> int:
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="*", help="run only these benchmarks (file names, e.g. bench_memory)")
    parser.add_argument("--note", default=os.environ.get("BENCH_NOTE", ""), help="a line for the report's header")
    parser.add_argument("--out", default=str(ROOT / "bench"), help="where to write report.json and report.md")
    args = parser.parse_args()

    scripts = [s for s in BENCHMARKS if (ROOT / s).exists()]
    if args.only:
        scripts = [s for s in scripts if Path(s).stem in args.only or s in args.only]
    started, clock = dt.datetime.now(dt.UTC), time.monotonic()
    header = {
        "date": started.strftime("%Y-%m-%d %H:%M UTC"),
        "machine": {},
        "commit": git_commit(),
        "note": args.note,
        "load_before": f"{os.getloadavg()[0]:.1f}",
        "benchmarks": [Path(s).stem for s in scripts],
        "failed": [],
    }
    rows: list[dict] = []
    base = Path(tempfile.mkdtemp(prefix="ktt-bench-pg-"))
    base.chmod(0o755)
    rows_dir = Path(tempfile.mkdtemp(prefix="ktt-bench-rows-"))
    server = PostgresServer(base).start()
    try:
        header["machine"] = machine(server)
        for index, script in enumerate(scripts):
            print(f"\n== {script}", flush=True)
            got, error = run_one(script, server, index, rows_dir)
            rows += got
            if error:
                header["failed"].append(f"{Path(script).stem}: {error}")
                print(f"!! {script}: {error}", flush=True)
    finally:
        server.stop()
        shutil.rmtree(base, ignore_errors=True)
        shutil.rmtree(rows_dir, ignore_errors=True)
    header["load_after"] = f"{os.getloadavg()[0]:.1f}"
    header["minutes"] = (time.monotonic() - clock) / 60
    report = {"header": header, "rows": rows}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps(report, ensure_ascii=False, indent=1) + "\n")
    (out / "report.md").write_text(markdown(report))
    print(f"\nwrote {out / 'report.json'} and {out / 'report.md'}: {len(rows)} rows", flush=True)
    if header["failed"]:
        print("FAILED: " + "; ".join(header["failed"]), file=sys.stderr)
    return 1 if header["failed"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
