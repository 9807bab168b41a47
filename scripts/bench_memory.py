"""Peak memory of each process kind under load: web worker, Celery worker (pool child), Celery main.

    DATABASE_URL=postgresql://... .venv/bin/python scripts/bench_memory.py [--seconds 20] [--shoppers 4]

Starts its own Redis and an SMTP server that keeps what it accepts (tests/support/mailbox.py), then the
stack as the Procfile runs it: gunicorn with 2 workers and one Celery worker with concurrency 2 (no
beat). For `--seconds` it loads the home, search and product pages with wrk (`-t2 -c32`, the paths in
turn) while `--shoppers` buyers check out over HTTP one order after another, each order sending two
e-mails through the worker. Every 0.2 s it reads VmHWM (the kernel's high-water mark of the resident set)
and VmRSS from /proc/<pid>/status of each gunicorn worker, each Celery pool child and the Celery main
process, and reports the largest of each kind. Baseline, in the same run: the bare Flask app
(scripts/bench_bare_app.py) under gunicorn with 2 workers and the same wrk load. Aim: under 200 MB each.
The data is committed: point it at a throwaway database (`make bench` creates one).
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import quote_plus

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from bench_notifications import PASSWORD, Worker, make_shop  # noqa: E402
from benchlib import PeakSampler, Rows, children_of  # noqa: E402
from sqlalchemy import select  # noqa: E402

from ktt_market import create_app  # noqa: E402
from ktt_market.accounts.passwords import hash_password  # noqa: E402
from ktt_market.catalog.models import Product, SaleUnit  # noqa: E402
from ktt_market.core.text import fold  # noqa: E402
from ktt_market.extensions import db  # noqa: E402
from tests.support.mailbox import Mailbox  # noqa: E402
from tests.support.processes import BIN, Process, Web, app_env  # noqa: E402
from tests.support.services import RedisServer, free_port  # noqa: E402
from tests.support.shopper import PROVINCE, Shopper  # noqa: E402

AIM_MB = 200
WRK_THREADS, WRK_CONNECTIONS = 2, 32
SEARCHES = ["ca phe", "buoi da xanh", "mật ong", "gao st25", "keo dua", "xoai"]
NAMES = ["Bưởi da xanh", "Mật ong hoa nhãn", "Gạo ST25", "Cà phê rang xay", "Kẹo dừa sáp", "Xoài cát Hòa Lộc"]
QUALITIES = ["loại 1", "hữu cơ", "đặc biệt", "thượng hạng", "truyền thống"]
PACKS = ["túi 1kg", "hộp 500g", "chai 500ml", "bao 5kg"]
KINDS = ["web worker", "Celery worker (pool child)", "Celery main"]


def add_products(unit_id: int, count: int) -> list[int]:
    """Give the cooperative `count` published products to browse and search; return their ids."""
    products = []
    for n in range(count):
        name = f"{NAMES[n % len(NAMES)]} {QUALITIES[n // len(NAMES) % len(QUALITIES)]} {PACKS[n % len(PACKS)]}"
        products.append(
            Product(
                unit_id=unit_id,
                category_id=2,
                sku=f"MEM-{n:05d}",
                name=name,
                description="Sản phẩm của hợp tác xã, thu hoạch và đóng gói tại vườn. " * 3,
                sale_unit=SaleUnit.KG,
                price_vnd=20_000 + 1_000 * (n % 200),
                stock=500,
                published=True,
                province_code=PROVINCE,
                search_text=fold(name),
            )
        )
    db.session.add_all(products)
    db.session.flush()
    return [p.id for p in products]


def wrk_script(paths: list[str], directory: Path) -> Path:
    """Write a wrk Lua script that requests `paths` in turn."""
    quoted = ", ".join(f'"{p}"' for p in paths)
    script = directory / "mix.lua"
    script.write_text(
        f"local paths = {{{quoted}}}\n"
        "local i = 0\n"
        "request = function()\n"
        "  i = i + 1\n"
        '  return wrk.format("GET", paths[(i % #paths) + 1])\n'
        "end\n"
    )
    return script


_RPS = re.compile(r"Requests/sec:\s+([\d.]+)")


def run_wrk(url: str, script: Path, seconds: int) -> dict:
    """Load `url` with the mix for `seconds`; return requests/s and the error lines."""
    argv = [
        "wrk",
        f"-t{WRK_THREADS}",
        f"-c{WRK_CONNECTIONS}",
        f"-d{seconds}s",
        "--timeout",
        "10s",
        "-s",
        str(script),
        url,
    ]
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    errors = [line.strip() for line in out.splitlines() if "Non-2xx" in line or "Socket errors" in line]
    return {"rps": float(_RPS.search(out).group(1)), "errors": errors}


def wait_up(url: str, proc: Process, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.proc.poll() is not None:
            raise SystemExit(f"{proc.name} exited:\n{proc.output()[-3000:]}")
        try:
            if requests.get(url, timeout=5).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{url} did not answer in {timeout}s")


class Shoppers:
    """Buyers checking out over HTTP, each in a thread, one order after another until stopped."""

    def __init__(self, base_url: str, emails: list[str], product_id: int):
        self.shoppers = [Shopper(base_url).login(email, PASSWORD) for email in emails]
        self.product_id = product_id
        self.placed = 0
        self.failed: list[str] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._shop, args=(s,), daemon=True) for s in self.shoppers]

    def _shop(self, shopper: Shopper) -> None:
        while not self._stop.is_set():
            try:
                shopper.add(self.product_id, 1)
                shopper.checkout()
            except (AssertionError, requests.RequestException) as exc:
                with self._lock:
                    self.failed.append(str(exc)[:200])
                time.sleep(0.5)
                continue
            with self._lock:
                self.placed += 1

    def start(self) -> Shoppers:
        for t in self._threads:
            t.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=60)


def measure_bare(script: Path, seconds: int, tmp: Path) -> tuple[dict, float]:
    """Serve the bare Flask app with gunicorn (2 workers) under the mix; return wrk's figures and the worker peak."""
    port = free_port()
    argv = [str(BIN / "gunicorn"), "--workers", "2", "--bind", f"127.0.0.1:{port}", "--chdir", str(ROOT / "scripts")]
    bare = Process("bare", [*argv, "bench_bare_app:app"], dict(os.environ), tmp)
    bare.start()
    try:
        wait_up(f"http://127.0.0.1:{port}/", bare)
        sampler = PeakSampler({"bare": lambda: children_of(bare.proc.pid)})
        sampler.start()
        load = run_wrk(f"http://127.0.0.1:{port}", script, seconds)
        return load, sampler.stop()["bare"]
    finally:
        bare.stop()


def _stop_on_sigterm(signum, frame) -> None:
    raise SystemExit(128 + signum)  # unwinds through the finally blocks that stop every process


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=20, help="how long wrk loads the pages")
    parser.add_argument("--shoppers", type=int, default=4, help="buyers checking out during the load")
    parser.add_argument("--products", type=int, default=600)
    parser.add_argument(
        "--keep-logs", action="store_true", help="keep the processes' logs (with gunicorn's access log)"
    )
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        raise SystemExit("the memory benchmark needs PostgreSQL (DATABASE_URL)")
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install -y wrk")
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    logging.getLogger("mail.log").setLevel(logging.WARNING)

    rows = Rows("memory")
    tmp = Path(tempfile.mkdtemp(prefix="ktt-bench-memory-"))
    started: list = []
    ok = False
    try:
        redis = RedisServer(tmp / "redis").start()
        started.append(redis)
        box = Mailbox().start()
        started.append(box)
        env = app_env(
            DATABASE_URL=os.environ["DATABASE_URL"],
            REDIS_URL=redis.url,
            MAIL_SERVER="127.0.0.1",
            MAIL_PORT=str(box.port),
            KTT_INSTANCE_PATH=str(tmp / "instance"),
            SECRET_KEY="bench-memory-secret",  # noqa: S106 (a throwaway database)
            KTT_BASE_URL="https://ktt.example",
            KTT_LOGIN_RATE_LIMIT="1000 per minute",
        )
        os.environ["KTT_INSTANCE_PATH"] = str(tmp / "instance")
        app = create_app()
        with app.app_context():
            shop = make_shop(str(int(time.time() * 1000)), hash_password(PASSWORD), args.shoppers)
            unit_id = db.session.scalar(select(Product.unit_id).where(Product.id == shop["product_id"]))
            product_ids = add_products(unit_id, args.products)
            db.session.commit()
            db.session.remove()
            db.engine.dispose()

        paths = ["/"] + [f"/search?q={quote_plus(q)}" for q in SEARCHES]
        paths += ["/search", "/search?page=2"] + [f"/p/{pid}" for pid in product_ids[:: max(1, len(product_ids) // 8)]]
        script = wrk_script(paths, tmp)
        load_line = f"wrk -t{WRK_THREADS} -c{WRK_CONNECTIONS} -d{args.seconds}s over {len(paths)} paths"

        print(f"baseline: bare Flask app, gunicorn 2 workers, {load_line}", flush=True)
        bare_load, bare_peak = measure_bare(script, args.seconds, tmp)

        web = Web(env, tmp)
        web.argv[-1:-1] = ["--access-logfile", "-"]  # as the Procfile's web line
        web.start()
        started.append(web)
        worker = Worker(env, tmp, concurrency=2).start()
        started.append(worker)
        for path in paths:  # every page answers before the clock starts
            response = requests.get(web.url + path, timeout=30)
            if response.status_code != 200:
                raise SystemExit(f"{path}: {response.status_code}")

        sampler = PeakSampler(
            {
                "web worker": lambda: children_of(web.proc.pid),
                "Celery worker (pool child)": lambda: children_of(worker.proc.pid),
                "Celery main": lambda: [worker.proc.pid],
                "gunicorn master": lambda: [web.proc.pid],
            }
        )
        sampler.start()
        print(f"the app: gunicorn 2 workers, Celery concurrency 2, {load_line}, {args.shoppers} shoppers", flush=True)
        shoppers = Shoppers(web.url, shop["buyers"], shop["product_id"]).start()
        app_load = run_wrk(web.url, script, args.seconds)
        shoppers.stop()
        owed = 2 * shoppers.placed  # the buyer's receipt and the cooperative's notice
        deadline = time.monotonic() + 60
        while len(box.received) < owed and time.monotonic() < deadline:
            time.sleep(0.1)
        peaks = sampler.stop()
        ok = True
    finally:
        for thing in reversed(started):
            try:
                thing.stop()
            except Exception as exc:  # stop the rest whatever one of them does
                print(f"stopping {type(thing).__name__}: {exc}", file=sys.stderr)
        if ok and not args.keep_logs:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print(f"logs kept in {tmp}", file=sys.stderr)

    bare_mb = bare_peak.hwm_mb
    baseline = "bare Flask app's gunicorn worker, same wrk load"
    print(f"\n### Peak memory under load ({load_line}; {shoppers.placed} checkouts, {len(box.received)} e-mails)")
    print("\n| process kind | processes | peak RSS (VmHWM) MB | largest sampled VmRSS MB | vs bare | aim |")
    print("|---|---:|---:|---:|---:|---|")
    print(
        f"| bare Flask gunicorn worker (baseline) | {len(bare_peak.pids)} | {bare_mb:.1f}"
        f" | {bare_peak.rss_mb:.1f} | 1.00 | |"
    )
    rows.add(
        f"peak RSS of a gunicorn worker, bare Flask app (baseline), {load_line}",
        bare_mb,
        "MB",
        note=f"VmHWM; largest sampled VmRSS {bare_peak.rss_mb:.1f} MB",
    )
    for kind, peak in peaks.items():
        aimed = kind in KINDS
        met = peak.hwm_mb < AIM_MB
        verdict = ("met" if met else "NOT met") if aimed else ""
        print(
            f"| {kind} | {len(peak.pids)} | {peak.hwm_mb:.1f} | {peak.rss_mb:.1f} | {peak.hwm_mb / bare_mb:.2f} |"
            f" {f'< {AIM_MB} MB: {verdict}' if aimed else ''} |"
        )
        note = f"VmHWM, max of {len(peak.pids)} process(es); largest sampled VmRSS {peak.rss_mb:.1f} MB"
        if aimed:
            note += f"; aim: under {AIM_MB} MB: {verdict}"
        rows.add(f"peak RSS: {kind}", peak.hwm_mb, "MB", baseline=baseline, baseline_value=bare_mb, note=note)

    print("\n| load | requests/s | errors |\n|---|---:|---|")
    print(f"| bare Flask app (baseline) | {bare_load['rps']:,.0f} | {'; '.join(bare_load['errors'])} |")
    print(f"| the app: home, search, product | {app_load['rps']:,.0f} | {'; '.join(app_load['errors'])} |")
    rows.add("requests/s, bare Flask app (baseline), the same mix of paths", bare_load["rps"], "req/s", note=load_line)
    rows.add(
        "requests/s, home + search + product pages during checkouts (memory run)",
        app_load["rps"],
        "req/s",
        baseline="bare Flask app, the same mix of paths",
        baseline_value=bare_load["rps"],
        note="; ".join([load_line, "gunicorn 2 workers", *app_load["errors"]]),
    )
    failed = len(shoppers.failed)
    rows.add(
        f"checkouts during the load ({args.shoppers} buyers, one order after another)",
        shoppers.placed,
        "orders",
        note=f"{failed} failed; {len(box.received)} of {owed} e-mails received",
    )
    print(f"\n{shoppers.placed} checkouts ({failed} failed), {len(box.received)} of {owed} e-mails received")
    if shoppers.failed:
        print(f"first failure: {shoppers.failed[0]}")
    met = all(peaks[k].hwm_mb < AIM_MB for k in KINDS)
    print(f"(aim: every process kind under {AIM_MB} MB: {'met' if met else 'NOT met'})")


if __name__ == "__main__":
    main()
