"""Time the registry import (plan + apply) of 10,000 rows on the database DATABASE_URL points to.

    DATABASE_URL=postgresql://... .venv/bin/python scripts/bench_registry_import.py [--rows N] [--keep]

Three rounds: create every row, re-import unchanged, then update every row. Nothing is kept unless
--keep is given (the transaction is rolled back), so it is safe to run against a development database.
The schema must exist (`flask db upgrade`).
"""

from __future__ import annotations

import argparse
import csv
import io
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import Rows
from flask_babel import force_locale
from sqlalchemy import insert

from ktt_market import create_app
from ktt_market.core import places
from ktt_market.core.models import utcnow
from ktt_market.core.spreadsheets import read_sheet
from ktt_market.extensions import db
from ktt_market.registry.importing import COLUMNS, apply_import, plan_import
from ktt_market.registry.models import Unit

PROVINCE = 86
BASELINE = "read the CSV + one bare bulk INSERT, no checks"
ROWS = Rows("registry import")


def make_file(rows: int, capital_step: int) -> bytes:
    """Return a CSV of `rows` units in province 86; `capital_step` varies one column between rounds."""
    wards = list(places.wards_of(PROVINCE))
    rng = random.Random(PROVINCE)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for n in range(rows):
        writer.writerow(
            [
                f"BENCH-{n:07d}",
                f"Hợp tác xã thử nghiệm {n}",
                rng.choice(["THT", "HTX", "HTX", "LHHTX", "QTDND"]),
                rng.choice(["agriculture", "non_agriculture"]),
                f"{rng.randint(1995, 2023)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
                "",
                "",
                rng.choice(wards),
                rng.randint(0, 500),
                rng.randint(1, 5_000) * 1_000_000 + capital_step,
            ]
        )
    return out.getvalue().encode("utf-8")


def baseline(data: bytes) -> float:
    """Time what no import can avoid: reading the file into rows, and one bulk INSERT of them."""
    start = time.perf_counter()
    sheet = read_sheet(data)
    read = time.perf_counter()
    db.session.execute(
        insert(Unit),
        [
            {
                "kind": r["kind"],
                "registration_code": "B-" + r["registration_code"],
                "name": r["name"],
                "sector": r["sector"],
                "province_code": PROVINCE,
                "ward_code": int(r["ward_code"]),
                "declared_members": int(r["members"]),
                "charter_capital_vnd": int(r["charter_capital_vnd"]),
                "platform_status": "not_joined",
                "created_at": utcnow(),
                "updated_at": utcnow(),
            }
            for _, r in sheet.rows
        ],
    )
    db.session.flush()
    done = time.perf_counter()
    print(
        f"{'baseline':<10} {len(sheet.rows)} rows: read {read - start:.2f}s, bare bulk insert {done - read:.2f}s, "
        f"total {done - start:.2f}s = {len(sheet.rows) / (done - start):,.0f} rows/s (no checks, no diff)"
    )
    db.session.rollback()
    ROWS.add(f"baseline: {BASELINE}, {len(sheet.rows):,} rows", done - start, "s")
    return done - start


FIGURES = {
    "create": "create (check every row, diff, bulk insert)",
    "unchanged": "re-import unchanged (checks and diff, nothing written)",
    "update": "update every row",
}


def timed_round(label: str, data: bytes, base: float) -> None:
    start = time.perf_counter()
    plan = plan_import(data, actor=None, province_code=PROVINCE)
    planned = time.perf_counter()
    if not plan.ok:
        print(f"{label}: {len(plan.errors)} errors, first: {plan.errors[0]}", file=sys.stderr)
        raise SystemExit(1)
    apply_import(plan)
    db.session.flush()
    done = time.perf_counter()
    total = done - start
    print(
        f"{label:<10} {plan.total_rows} rows: plan {planned - start:.2f}s, apply {done - planned:.2f}s, "
        f"total {total:.2f}s = {plan.total_rows / total:,.0f} rows/s "
        f"(created {plan.created}, updated {plan.updated}, unchanged {plan.unchanged})"
    )
    ROWS.add(
        f"{FIGURES[label]}, {plan.total_rows:,} rows",
        total,
        "s",
        baseline=BASELINE,
        baseline_value=base,
        note=f"plan {planned - start:.2f} s + apply {done - planned:.2f} s; {plan.total_rows / total:,.0f} rows/s",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--keep", action="store_true", help="commit the imported units instead of rolling back")
    args = parser.parse_args()

    app = create_app()
    with app.app_context(), force_locale("en"):
        print(f"database: {db.engine.url.render_as_string(hide_password=True)}")
        first = make_file(args.rows, 0)
        base = baseline(first)
        timed_round("create", first, base)
        timed_round("unchanged", first, base)
        timed_round("update", make_file(args.rows, 1), base)
        if args.keep:
            db.session.commit()
        else:
            db.session.rollback()


if __name__ == "__main__":
    main()
