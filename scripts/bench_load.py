"""Load benchmark: a browse, search and checkout mix against gunicorn on PostgreSQL, beside a bare Flask app.

    [DATABASE_URL=postgresql://...] .venv/bin/python scripts/bench_load.py [--seconds 30] [--users 32]

The stack runs as the Procfile runs it: gunicorn (--workers, 4 sync workers by default), Redis and a
Celery worker with beat (when redis-server is installed; e-mails go to the worker's log). The data
is the demo (`flask demo load`) plus copies of its products up to --products, and --buyers buyers.
It all goes into a scratch database of its own on the server of DATABASE_URL, dropped afterwards,
so the database handed in is left as it was; without DATABASE_URL a PostgreSQL server is started
for the run.

Locust (headless, a subprocess) runs --users closed-loop users for --seconds: 70 % browse (home,
a category, a product), 25 % search (with and without diacritics), 5 % checkout (log in once, add
a product, open the checkout form, place a cash-on-delivery order). Then the same users load the
bare Flask app of scripts/bench_bare_app.py, served the same way, for the baseline.

Printed: requests/s, p50/p95/p99 per kind, failures, and the orders in the database beside the
checkouts that reached their purchase page: they must be the same purchases, none lost, none twice.
With KTT_BENCH_JSON=<path> the figures are also written there as the report's rows.
The exit status is 1 when an order is lost or doubled.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from ktt_market.core.text import fold  # noqa: E402
from tests.support.processes import Worker  # noqa: E402
from tests.support.services import PostgresServer, RedisServer, free_port  # noqa: E402

BIN = Path(sys.executable).parent
BENCHMARK = "load mix"
DEMO_PASSWORD = "ktt-demo-2026"  # noqa: S105 (the demo's published password: ktt_market.demo.data)
PROVINCE, WARD = 86, 29242  # Vĩnh Long, Phường Trà Vinh
SEARCH_WORDS = ["bưởi", "mật ong", "kẹo dừa", "gạo", "tôm khô", "dừa sáp", "xoài cát", "chiếu cói"]
KINDS = ("browse", "search", "checkout", "checkout-step")


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))] if ordered else 0.0


# ---------------------------------------------------------------- the database


def scratch_database(url: str) -> tuple[str, str]:
    """Create an empty database beside the one of `url`; return its URL and the server's admin DSN."""
    base = make_url(url)
    name = f"{base.database or 'ktt'}_load_{os.getpid()}"
    admin = base.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return base.set(database=name).render_as_string(hide_password=False), admin


def drop_database(admin: str, url: str) -> None:
    name = make_url(url).database
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def flask(env: dict, *args: str) -> None:
    done = subprocess.run([str(BIN / "flask"), *args], cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"flask {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")


def _dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _columns(conn, table: str) -> list[str]:
    rows = conn.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = %s AND column_name <> 'id'"
        " ORDER BY ordinal_position",
        (table,),
    )
    return [r[0] for r in rows]


def grow(url: str, products: int, buyers: int) -> dict:
    """Copy the demo's products up to `products` and its buyer into `buyers` buyers; return the plan."""
    with psycopg.connect(_dsn(url)) as conn:
        demo = conn.execute("SELECT count(*) FROM products").fetchone()[0]
        copies = max(0, -(-products // max(demo, 1)) - 1)
        cols = _columns(conn, "products")
        # Copy k of each product: its SKU and name get the lot number, its search text too.
        select = ", ".join(
            {
                "sku": "p.sku || '-L' || g",
                "name": "p.name || ' lô ' || g",
                "search_text": "p.search_text || ' lo ' || g",
            }.get(c, f"p.{c}")
            for c in cols
        )
        conn.execute(
            f"INSERT INTO products ({', '.join(cols)}) SELECT {select}"
            " FROM products p CROSS JOIN generate_series(1, %s) g",
            (copies,),
        )
        ucols = _columns(conn, "users")
        uselect = ", ".join("'load' || g || '@buyer.ktt.vn'" if c == "email" else f"u.{c}" for c in ucols)
        conn.execute(
            f"INSERT INTO users ({', '.join(ucols)}) SELECT {uselect}"
            " FROM users u CROSS JOIN generate_series(1, %s) g WHERE u.email = 'buyer@ktt.vn'",
            (buyers,),
        )
        # Checkouts buy from plenty: a sold-out refusal would be a clean failure, not what is measured.
        conn.execute("UPDATE products SET stock = 1000000 WHERE published AND min_quantity = 1 AND quantity_step = 1")
        ids = [r[0] for r in conn.execute("SELECT id FROM products WHERE published ORDER BY id")]
        buyable = [
            r[0]
            for r in conn.execute(
                "SELECT p.id FROM products p JOIN units u ON u.id = p.unit_id WHERE p.published"
                " AND p.min_quantity = 1 AND p.quantity_step = 1 AND u.platform_status = 'approved'"
                " AND p.price_vnd > 0 ORDER BY p.id LIMIT 200"
            )
        ]
        slugs = [r[0] for r in conn.execute("SELECT slug FROM categories ORDER BY id")]
        conn.commit()
    with psycopg.connect(_dsn(url), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    queries = [q for word in SEARCH_WORDS for q in (word, fold(word))]
    return {
        "products": ids,
        "checkout_products": buyable,
        "categories": slugs,
        "queries": queries,
        "buyers": [{"email": f"load{n}@buyer.ktt.vn", "password": DEMO_PASSWORD} for n in range(1, buyers + 1)],
        "province": PROVINCE,
        "ward": WARD,
    }


# ---------------------------------------------------------------- serving and loading


def serve(target: str, chdir: Path, env: dict, workers: int, log: Path) -> tuple[subprocess.Popen, str]:
    """Start gunicorn with `workers` sync workers on `target`; return it and its address once it answers."""
    port = free_port()
    out = log.open("ab")
    proc = subprocess.Popen(
        [str(BIN / "gunicorn"), "-w", str(workers), "-k", "sync", "-b", f"127.0.0.1:{port}", "--chdir", str(chdir),
         "--log-level", "warning", target],
        env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    out.close()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"gunicorn {target} exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url + "/", timeout=10) as response:  # noqa: S310 (our own server)
                if response.status == 200:
                    for _ in range(4 * workers):  # every worker opens its connections before the clock starts
                        urllib.request.urlopen(url + "/", timeout=10).read()  # noqa: S310
                    return proc, url
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"{url} did not answer within 60 s")


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def run_locust(url: str, plan_file: Path, work: Path, *, users: int, seconds: int, bare: bool) -> dict:
    """Run the locust users against `url`; return the timings, failures and purchases they recorded."""
    results = work / ("bare.json" if bare else "mix.json")
    env = dict(os.environ, LOAD_PLAN=str(plan_file), LOAD_RESULTS=str(results), LOAD_BARE="1" if bare else "0")
    subprocess.run(
        [str(BIN / "locust"), "-f", str(ROOT / "scripts" / "locust_load.py"), "--headless", "--host", url,
         "-u", str(users), "-r", str(users), "-t", f"{seconds}s", "--only-summary", "--loglevel", "ERROR",
         "--stop-timeout", "10"],
        cwd=work, env=env, check=False, stdout=subprocess.DEVNULL, stderr=(work / "locust.log").open("ab"),
    )  # fmt: skip
    if not results.exists():
        raise SystemExit(f"locust wrote no results:\n{(work / 'locust.log').read_text()[-3000:]}")
    data = json.loads(results.read_text())
    data["seconds"] = seconds  # locust's -t: the clock starts once every user is spawned
    return data


def summarise(data: dict) -> dict:
    """Return requests/s overall and p50/p95/p99 (ms), count and failures per kind."""
    total = sum(len(v) for v in data["timings"].values())
    kinds = {}
    for kind in KINDS:
        values = data["timings"].get(kind, [])
        if values:
            kinds[kind] = {
                "count": len(values),
                "rps": len(values) / data["seconds"],
                "failures": data["failures"].get(kind, 0),
                **{f"p{p}": percentile(values, p) for p in (50, 95, 99)},
            }
    return {"rps": total / data["seconds"], "total": total, "kinds": kinds}


def check_orders(url: str, placed: list[str]) -> dict:
    """Compare the purchases in the database with the checkouts that reached their purchase page."""
    with psycopg.connect(_dsn(url)) as conn:
        stored = [r[0] for r in conn.execute("SELECT number FROM purchases")]
        orders = conn.execute("SELECT count(*) FROM orders").fetchone()[0]
        lines = conn.execute("SELECT count(*) FROM order_lines").fetchone()[0]
    seen, kept = set(placed), set(stored)
    return {
        "stored": len(stored),
        "succeeded": len(placed),
        "orders": orders,
        "lines": lines,
        "lost": len(seen - kept),  # a purchase page for a purchase the database does not have
        "unseen": len(kept - seen),  # stored, but the buyer never saw its page (a failed or cut-off checkout)
        "doubled": len(placed) - len(seen),  # two checkouts shown the same purchase
    }


# ---------------------------------------------------------------- the report


class Rows:
    """The report's rows, written to $KTT_BENCH_JSON (when set) after each one."""

    def __init__(self) -> None:
        self.path = os.environ.get("KTT_BENCH_JSON") or None
        self.rows: list[dict] = []

    def add(self, figure: str, value: float, unit: str, *, baseline: str = "", baseline_value=None, note=""):
        self.rows.append(
            {
                "benchmark": BENCHMARK,
                "figure": figure,
                "value": round(value, 2),
                "unit": unit,
                "baseline": baseline,
                "baseline_value": None if baseline_value is None else round(baseline_value, 2),
                "note": note,
            }
        )
        if self.path:
            Path(self.path).write_text(json.dumps(self.rows, ensure_ascii=False, indent=1))


def report(mix: dict, bare: dict | None, orders: dict, args, rows: Rows) -> None:
    setting = f"{args.users} locust users, closed loop, {args.seconds} s; gunicorn {args.workers} sync workers"
    base_name = "bare Flask app (scripts/bench_bare_app.py), same users and gunicorn"
    print(f"\n### Load mix: {setting}\n")
    print("| kind | requests | requests/s | p50 ms | p95 ms | p99 ms | failures |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    rows_of = [(kind, stats) for kind, stats in mix["kinds"].items()]
    if bare:
        rows_of.append(("bare Flask app (baseline)", bare["kinds"]["browse"] | {"rps": bare["rps"]}))
    for kind, s in rows_of:
        print(
            f"| {kind} | {s['count']:,} | {s['rps']:,.1f} | {s['p50']:.0f} | {s['p95']:.0f} | {s['p99']:.0f} |"
            f" {s['failures']} |"
        )
    failures = sum(s["failures"] for s in mix["kinds"].values())
    print(f"\nAll requests of the mix: {mix['total']:,}, {mix['rps']:,.1f}/s, failures {failures}")
    if bare:
        print(f"Bare Flask app, the same users: {bare['rps']:,.1f} requests/s ({mix['rps'] / bare['rps']:.2f} of it)")
    print(
        f"Orders: {orders['stored']} purchases in the database ({orders['orders']} orders, {orders['lines']} lines);"
        f" {orders['succeeded']} checkouts reached their purchase page; lost {orders['lost']},"
        f" doubled {orders['doubled']}, stored without the page {orders['unseen']}"
    )

    bare_rps = bare["rps"] if bare else None
    rows.add("requests/s, whole mix", mix["rps"], "requests/s", baseline=base_name, baseline_value=bare_rps,
             note=f"{setting}; 70 % browse, 25 % search, 5 % checkout")  # fmt: skip
    for kind, s in mix["kinds"].items():
        for p in (50, 95, 99):
            rows.add(
                f"{kind}: p{p}",
                s[f"p{p}"],
                "ms",
                baseline=base_name if bare else "",
                baseline_value=bare["kinds"]["browse"][f"p{p}"] if bare else None,
                note=f"{s['count']:,} requests, {s['rps']:,.1f}/s, failures {s['failures']}",
            )
    rows.add("failed requests", failures, "requests", note=f"of {mix['total']:,}")
    rows.add(
        "checkouts that reached their purchase page",
        orders["succeeded"],
        "checkouts",
        baseline="purchases stored in the database",
        baseline_value=orders["stored"],
        note=f"lost {orders['lost']}, doubled {orders['doubled']}, stored without the page {orders['unseen']}",
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=30, help="length of the mix's run (the baseline: half)")
    parser.add_argument("--users", type=int, default=32)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers")
    parser.add_argument("--products", type=int, default=3000, help="products in the catalogue (demo copies)")
    parser.add_argument("--buyers", type=int, default=64)
    parser.add_argument("--no-baseline", action="store_true", help="skip the bare Flask app")
    parser.add_argument("--no-worker", action="store_true", help="no Redis and Celery worker beside the web")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="ktt-bench-load-"))
    work.chmod(0o755)
    server = redis = worker = web = None
    admin = db_url = None
    try:
        if os.environ.get("DATABASE_URL"):
            db_url, admin = scratch_database(os.environ["DATABASE_URL"])
        else:
            server = PostgresServer(work / "pg").start()
            db_url = server.create_database("ktt_load")
        env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "MAIL_SERVER", "KTT_BENCH_JSON"}}
        env.update(
            DATABASE_URL=db_url,
            FLASK_APP="app.py",
            KTT_INSTANCE_PATH=str(work / "instance"),
            SECRET_KEY=os.environ.get("SECRET_KEY") or "bench-load-secret",
            KTT_LOGIN_RATE_LIMIT="100000 per minute",  # every user logs in from 127.0.0.1
            PYTHONUNBUFFERED="1",
        )
        t0 = time.monotonic()
        flask(env, "db", "upgrade")
        flask(env, "demo", "load")
        plan = grow(db_url, args.products, max(args.buyers, args.users))
        plan_file = work / "plan.json"
        plan_file.write_text(json.dumps(plan, ensure_ascii=False))
        print(f"data: {len(plan['products']):,} published products, {len(plan['buyers'])} buyers"
              f" ({time.monotonic() - t0:.1f} s)")  # fmt: skip

        if not args.no_worker and shutil.which("redis-server"):
            redis = RedisServer(work / "redis").start()
            env["REDIS_URL"] = redis.url
            worker = Worker(env, work).start()
        web, url = serve("app:app", ROOT, env, args.workers, work / "web.log")
        mix = run_locust(url, plan_file, work, users=args.users, seconds=args.seconds, bare=False)
        stop(web)
        web = None
        orders = check_orders(db_url, mix["placed"])

        bare = None
        if not args.no_baseline:
            web, url = serve("bench_bare_app:app", ROOT / "scripts", env, args.workers, work / "bare.log")
            bare = summarise(
                run_locust(url, plan_file, work, users=args.users, seconds=max(3, args.seconds // 2), bare=True)
            )
            # The bare app's every request is a "/" of one kind or another: one set of figures.
            everything = [t for v in json.loads((work / "bare.json").read_text())["timings"].values() for t in v]
            bare["kinds"]["browse"] = {
                "count": len(everything),
                "rps": bare["rps"],
                "failures": sum(s["failures"] for s in bare["kinds"].values()),
                **{f"p{p}": percentile(everything, p) for p in (50, 95, 99)},
            }
        report(summarise(mix), bare, orders, args, Rows())
        return 1 if orders["lost"] or orders["doubled"] or orders["unseen"] else 0
    finally:
        if web is not None:
            stop(web)
        if worker is not None:
            worker.stop()
        if redis is not None:
            redis.stop()
        if admin and db_url:
            drop_database(admin, db_url)
        if server is not None:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
