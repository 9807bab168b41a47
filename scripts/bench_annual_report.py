"""Annual report benchmark on PostgreSQL: the report of one province and of the whole country.

    DATABASE_URL=postgresql://... .venv/bin/python scripts/bench_annual_report.py [--reuse] [--runs 5]

Builds a country-sized registry with INSERT ... SELECT generate_series (35,000 HTX, 75,000 THT, 140
unions, 1,181 credit funds across the 34 provinces, about 6 million declared members; 2,000 cooperatives
keep a member register of 20; 1,000,000 minimal orders; final assessments for 2024), ANALYZEs it, then
prints a Markdown table: `annual_report` (the JSON contract) and `report_details` (the page: the contract,
the kind-and-sector table and the data-quality checks) for the largest province and for the country,
cold-ish (the first call on a fresh connection) and warm (p50 of --runs), beside baselines measured in the
same run (a bare `SELECT count(*) FROM units`, one GROUP BY kind, sector over units).
The data is committed: point it at a throwaway database (`make bench` creates one).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from benchlib import Rows  # noqa: E402
from sqlalchemy import text  # noqa: E402

from ktt_market import create_app  # noqa: E402
from ktt_market.core import places  # noqa: E402
from ktt_market.extensions import db  # noqa: E402
from ktt_market.province.report import annual_report, report_details  # noqa: E402

YEAR = 2024
COUNTS = {"HTX": 35_000, "THT": 75_000, "LHHTX": 140, "QTDND": 1_181}
# Average declared members by kind: 35,000 x 60 + 75,000 x 20 + 140 x 8 + 1,181 x 2,000 = about 6 million.
MEMBERS = {"HTX": 60, "THT": 20, "LHHTX": 8, "QTDND": 2_000}
ORDERS = 1_000_000
REGISTERS, REGISTER_SIZE = 2_000, 20


def run(sql: str, **params) -> None:
    db.session.execute(text(sql), params)


def load() -> None:
    """Fill the registry, registers, assessments and orders, all in SQL."""
    t0 = time.perf_counter()
    wards = [(p, w) for p in places.provinces() for w in places.wards_of(p)]
    run("CREATE TEMP TABLE bench_wards (i int PRIMARY KEY, province_code int, ward_code int)")
    db.session.execute(
        text("INSERT INTO bench_wards VALUES (:i, :p, :w)"),
        [{"i": i, "p": p, "w": w} for i, (p, w) in enumerate(wards)],
    )
    offset = 0
    for kind, count in COUNTS.items():
        # Founding dates spread over 1995-2025; about 8% dissolved, 5% stopped, 40% outside agriculture;
        # member counts vary around the kind's average (from half to one and a half).
        run(
            """
            INSERT INTO units (kind, registration_code, name, sector, founded_on, stopped_on, dissolved_on,
                               province_code, ward_code, declared_members, charter_capital_vnd, platform_status,
                               created_at, updated_at)
            SELECT CAST(:kind AS text), CAST(:kind AS text) || '-' || g, 'Đơn vị ' || CAST(:kind AS text) || ' ' || g,
                   CASE WHEN g % 5 < 2 THEN 'non_agriculture' ELSE 'agriculture' END,
                   f.founded,
                   CASE WHEN g % 20 = 7 THEN f.founded + 200 + (g % 900) END,
                   CASE WHEN g % 12 = 5 THEN f.founded + 300 + (g % 2500) END,
                   w.province_code, w.ward_code,
                   :members / 2 + (g * 7919) % (:members + 1),
                   (1 + g % 50) * 20000000::bigint,
                   CASE WHEN g % 4 = 0 THEN 'approved' ELSE 'not_joined' END,
                   now(), now()
            FROM generate_series(1, :count) g
            CROSS JOIN LATERAL (SELECT date '1995-01-01' + ((g::bigint * 104729) % 11300)::int AS founded) f
            JOIN bench_wards w ON w.i = (g * 31 + :offset) % :wards
            """,
            kind=kind,
            count=count,
            members=MEMBERS[kind],
            offset=offset,
            wards=len(wards),
        )
        offset += count
    # Dates past today would be odd but harmless; keep stops and dissolutions before 2026.
    run("UPDATE units SET dissolved_on = NULL WHERE dissolved_on > date '2025-12-31'")
    run("UPDATE units SET stopped_on = NULL WHERE stopped_on > date '2025-12-31' OR stopped_on >= dissolved_on")
    run(
        """
        INSERT INTO members (unit_id, code, full_name, category, role, joined_on, left_on, created_at, updated_at)
        SELECT u.id, 'M' || m, 'Thành viên ' || m, 'official', 'member', u.founded_on + m,
               CASE WHEN m % 7 = 0 THEN u.founded_on + 400 + m END, now(), now()
        FROM (SELECT id, founded_on FROM units WHERE kind = 'HTX' AND founded_on IS NOT NULL
              ORDER BY id LIMIT :registers) u
        CROSS JOIN generate_series(1, :size) m
        """,
        registers=REGISTERS,
        size=REGISTER_SIZE,
    )
    # Final grades for 2024 on about 80% of the cooperatives and unions, a score per unit.
    run(
        """
        INSERT INTO assessments (unit_id, year, rubric_id, status, score, grade, created_at, updated_at)
        SELECT id, :year, 1, CASE WHEN id % 9 = 0 THEN 'imported' ELSE 'final' END, s.score,
               CASE WHEN s.score >= 80 THEN 'good' WHEN s.score >= 65 THEN 'fair'
                    WHEN s.score >= 50 THEN 'average' ELSE 'weak' END,
               now(), now()
        FROM units CROSS JOIN LATERAL (SELECT 30 + (id * 37) % 70 AS score) s
        WHERE kind IN ('HTX', 'LHHTX') AND id % 5 <> 0 AND founded_on < date '2024-01-01'
        """,
        year=YEAR,
    )
    run(
        "INSERT INTO users (email, password_hash, full_name, role, locale, active, auth_version, created_at,"
        " updated_at) VALUES ('bench-buyer@example.vn', 'x', 'Người mua', 'buyer', 'vi', true, 1, now(), now())"
    )
    run(
        """
        INSERT INTO purchases (number, buyer_id, idempotency_key, contact_name, phone, province_code, ward_code,
                               street, payment_method, total_vnd, created_at)
        SELECT 'B' || g, (SELECT id FROM users WHERE email = 'bench-buyer@example.vn'), 'bench-' || g,
               'Người mua', '0900000000', 86, 29242, 'Đường 1', 'cod', 100000, now()
        FROM generate_series(1, :orders) g
        """,
        orders=ORDERS,
    )
    run(
        """
        INSERT INTO orders (purchase_id, unit_id, status, subtotal_vnd, placed_at, created_at, updated_at)
        SELECT p.id, h.id, 'delivered', 100000, now() - (p.id % 700) * interval '1 day', now(), now()
        FROM purchases p
        JOIN (SELECT id, row_number() OVER (ORDER BY id) - 1 AS n FROM units WHERE kind = 'HTX') h
          ON h.n = p.id % :htx
        """,
        htx=COUNTS["HTX"],
    )
    db.session.commit()
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
    print(f"loaded in {time.perf_counter() - t0:.1f} s", flush=True)


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    db.session.rollback()  # end the transaction, as a request does
    return (time.perf_counter() - t0) * 1000


def measure(label: str, fn, runs: int) -> tuple[str, float, float]:
    """Time `fn` on a fresh connection (cold-ish), then `runs` times more (p50 warm), in ms."""
    db.session.remove()
    db.engine.dispose()
    cold = timed(fn)
    warm = statistics.median(timed(fn) for _ in range(runs))
    return label, cold, warm


def emit(rows: list[tuple[str, float, float]], data: str) -> None:
    """Write the timings as report rows: the report's calls beside the GROUP BY baseline of the same run."""
    out = Rows("annual report")
    group_by = rows[1]
    for label, cold, warm in rows:
        label = label.replace("`", "")
        for when, value, base in (("cold-ish", cold, group_by[1]), ("warm p50", warm, group_by[2])):
            if label.startswith("baseline"):
                out.add(f"{label}, {when}", value, "ms", note=data)
            else:
                out.add(
                    f"{label}, {when}",
                    value,
                    "ms",
                    baseline=f"one GROUP BY kind, sector over units, {when}",
                    baseline_value=base,
                    note=data,
                )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reuse", action="store_true", help="use the registry already loaded")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    app = create_app()
    with app.test_request_context():
        if not args.reuse:
            load()
        totals = db.session.execute(text("SELECT count(*), sum(declared_members) FROM units")).one()
        orders = db.session.scalar(text("SELECT count(*) FROM orders"))
        province = db.session.scalar(
            text("SELECT province_code FROM units GROUP BY province_code ORDER BY count(*) DESC LIMIT 1")
        )
        in_province = db.session.scalar(text("SELECT count(*) FROM units WHERE province_code = :p"), {"p": province})
        print(
            f"\n{totals[0]:,} units, {totals[1]:,} declared members, {orders:,} orders;"
            f" province {province} ({places.province_name(province)}): {in_province:,} units\n"
        )
        rows = [
            measure("baseline: `SELECT count(*) FROM units`", lambda: db.session.execute(
                text("SELECT count(*) FROM units")).all(), args.runs),
            measure("baseline: one GROUP BY kind, sector over units", lambda: db.session.execute(
                text("SELECT kind, sector, count(*), sum(declared_members) FROM units GROUP BY kind, sector")).all(),
                args.runs),
            measure(f"`annual_report`, province {province}", lambda: annual_report(province, YEAR), args.runs),
            measure("`annual_report`, whole country", lambda: annual_report(None, YEAR), args.runs),
            measure(f"`report_details` (page), province {province}", lambda: report_details(province, YEAR),
                    args.runs),
            measure("`report_details` (page), whole country", lambda: report_details(None, YEAR), args.runs),
        ]  # fmt: skip
        print("| run | cold-ish ms | warm p50 ms |\n|---|---:|---:|")
        for label, cold, warm in rows:
            print(f"| {label} | {cold:.0f} | {warm:.0f} |")
        emit(rows, f"{totals[0]:,} units, {orders:,} orders; province {province}: {in_province:,} units")
        report = annual_report(None, YEAR)
        print(
            f"\ncountry {YEAR}: {report['cooperatives']['total']:,} HTX, {report['cooperative_groups']['total']:,} THT,"
            f" {report['members']:,} members of HTX/unions/funds, eligible {report['classification']['eligible']:,}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
