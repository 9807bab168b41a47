"""Notifications benchmark: e-mails a minute through one Celery worker on Redis, and order-to-mailbox latency.

    DATABASE_URL=postgresql://... .venv/bin/python scripts/bench_notifications.py [--quick]
        [--messages N] [--orders N] [--concurrency N]

Starts its own Redis, an SMTP server that records what it accepts (tests/support/mailbox.py), gunicorn
(2 workers) and ONE Celery worker process as the Procfile's worker line runs it (`--concurrency 2`, no
embedded beat: this script hands the messages out itself), then prints Markdown tables of
  (a) throughput: N pending order_placed e-mails to N people (the real Vietnamese templates), from one
      run of the dispatcher until the SMTP server has them all and the outbox shows them all sent,
      beside a plain loop in one process rendering and sending the same messages (no queue, no
      outbox writes): the floor the worker adds its overhead to. It checks that no message arrived twice;
  (b) latency: orders placed over HTTP one at a time, from sending the checkout POST to the
      cooperative's e-mail arriving, beside the checkout POST's own response time.
The data is committed (people, a cooperative, outbox rows, orders): point it at a throwaway database
(`make bench` creates one). `--quick` (500 messages, 50 orders) is the fast check.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from benchlib import Rows, percentile  # noqa: E402
from sqlalchemy import func, insert, select, update  # noqa: E402

from ktt_market import create_app  # noqa: E402
from ktt_market.accounts.models import Role, User  # noqa: E402
from ktt_market.accounts.passwords import hash_password  # noqa: E402
from ktt_market.catalog.models import Product, SaleUnit  # noqa: E402
from ktt_market.core.models import utcnow  # noqa: E402
from ktt_market.core.text import fold  # noqa: E402
from ktt_market.extensions import db  # noqa: E402
from ktt_market.notifications.models import Channel, Kind, OutboxMessage, OutboxStatus  # noqa: E402
from ktt_market.registry.models import PlatformStatus, Sector, StaffRole, Unit, UnitKind, UnitStaff  # noqa: E402
from tests.support.mailbox import Mailbox, Received  # noqa: E402
from tests.support.processes import Process, Web, app_env  # noqa: E402
from tests.support.services import RedisServer  # noqa: E402
from tests.support.shopper import PROVINCE, WARD, Shopper, hidden  # noqa: E402

PASSWORD = "mat-khau-bench-thong-bao"  # noqa: S105 (the throwaway benchmark buyers' password)
WARMUP_MESSAGES = 20  # each side renders its first messages (template compile, connections) before the clock
WARMUP_ORDERS = 6  # every gunicorn worker and pool process has served a checkout before the clock
FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Huỳnh", "Võ", "Đặng", "Bùi"]
GIVEN = ["Thị Lan", "Văn Bưởi", "Thị Hồng Nhung", "Minh Đức", "Thanh Hương", "Quốc Bảo", "Ngọc Ánh", "Văn Tâm"]
LINES = [["Bưởi da xanh loại 1", 2, "kg"], ["Mật ong hoa nhãn", 1, "bottle"], ["Gạo ST25 túi 5kg", 3, "bag"]]
UNIT_NAME = "Hợp tác xã Nông nghiệp Bưởi Da Xanh Trà Vinh"
ROWS = Rows("notifications")


def _path(app, endpoint: str, **values) -> str:
    return app.url_map.bind("localhost").build(endpoint, values)


# ---------------------------------------------------------------- data


def make_people(tag: str, count: int, password_hash: str, prefix: str) -> list[int]:
    """Insert `count` buyers with distinct addresses in one statement; return their ids."""
    now = utcnow()
    rows = [
        {
            "email": f"{prefix}-{tag}-{n:05d}@example.vn",
            "password_hash": password_hash,
            "full_name": f"{FAMILY[n % len(FAMILY)]} {GIVEN[n // len(FAMILY) % len(GIVEN)]}",
            "role": Role.BUYER,
            "locale": "vi",
            "created_at": now,
            "updated_at": now,
        }
        for n in range(count)
    ]
    db.session.execute(insert(User), rows)
    return list(db.session.scalars(select(User.id).where(User.email.like(f"{prefix}-{tag}-%")).order_by(User.id)))


def make_outbox(app, tag: str, user_ids: list[int], *, due: dt.datetime) -> list[int]:
    """Insert one pending order_placed e-mail per user, half receipts and half new-order notices."""
    emails = dict(db.session.execute(select(User.id, User.email).where(User.id.in_(user_ids))).all())
    now = utcnow()
    rows = []
    for n, user_id in enumerate(user_ids):
        number = f"KTT-B{tag[-4:]}-{n:05d}"
        if n % 2:
            lines = LINES[: 1 + n % len(LINES)]
            payload = {
                "role": "staff",
                "number": number,
                "order_id": n,
                "unit_id": 1,
                "unit_name": UNIT_NAME,
                "subtotal_vnd": 60_000 * (1 + n % 5),
                "lines": lines,
                "link": _path(app, "orders.unit_order", unit_id=1, order_id=n + 1),
            }
        else:
            payload = {
                "role": "buyer",
                "number": number,
                "total_vnd": 185_000 + 1_000 * (n % 50),
                "payment_method": "cod",
                "units": [UNIT_NAME, "Hợp tác xã Mật ong Cầu Đất"],
                "link": _path(app, "orders.purchase", number=number),
            }
        rows.append(
            {
                "key": f"{Kind.ORDER_PLACED}:bench-{tag}-{n}:{user_id}:{Channel.EMAIL}",
                "channel": Channel.EMAIL,
                "user_id": user_id,
                "recipient": emails[user_id],
                "kind": str(Kind.ORDER_PLACED),
                "locale": "vi",
                "payload": payload,
                "status": OutboxStatus.PENDING,
                "attempts": 0,
                "next_attempt_at": due,
                "created_at": now,
            }
        )
    db.session.execute(insert(OutboxMessage), rows)
    return list(
        db.session.scalars(select(OutboxMessage.id).where(OutboxMessage.key.like(f"{Kind.ORDER_PLACED}:bench-{tag}-%")))
    )


def make_shop(tag: str, password_hash: str, buyers: int) -> dict:
    """A cooperative with a manager and a product with plenty of stock, and `buyers` buyers."""
    unit = Unit(
        kind=UnitKind.COOPERATIVE,
        registration_code=f"BENCH-NOTIFY-{tag}",
        name=UNIT_NAME,
        sector=Sector.AGRICULTURE,
        founded_on=dt.date(2018, 3, 1),
        ward_code=WARD,
        province_code=PROVINCE,
        declared_members=25,
        charter_capital_vnd=500_000_000,
        platform_status=PlatformStatus.APPROVED,
    )
    manager = User(
        email=f"quanly-{tag}@htx-buoi.vn", password_hash=password_hash, full_name="Trần Văn Bưởi", role=Role.BUYER
    )
    db.session.add_all([unit, manager])
    db.session.flush()
    db.session.add(UnitStaff(unit_id=unit.id, user_id=manager.id, role=StaffRole.OWNER))
    product = Product(
        unit_id=unit.id,
        category_id=2,
        sku=f"BUOI-{tag}",
        name="Bưởi da xanh loại 1",
        sale_unit=SaleUnit.KG,
        price_vnd=60_000,
        stock=1_000_000,
        published=True,
        province_code=PROVINCE,
        search_text=fold(f"Bưởi da xanh loại 1 {UNIT_NAME}"),
    )
    db.session.add(product)
    emails = [f"nguoimua-{tag}-{n}@example.vn" for n in range(buyers)]
    db.session.add_all(
        User(email=e, password_hash=password_hash, full_name=f"{FAMILY[n]} {GIVEN[n]}", role=Role.BUYER)
        for n, e in enumerate(emails)
    )
    db.session.flush()
    return {"product_id": product.id, "manager": manager.email, "buyers": emails}


# ---------------------------------------------------------------- the baseline: a plain loop


def send_loop(ids_file: str) -> None:
    """Child process: render and send the given outbox messages in a loop; print the timing as JSON."""
    from ktt_market.notifications.channels import EmailChannel

    spec = json.loads(Path(ids_file).read_text())
    app = create_app()
    with app.app_context():
        channel = EmailChannel()
        messages = {m.id: m for m in db.session.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(spec["all"])))}
        for message_id in spec["warm"]:
            channel.send(messages[message_id])
        start, cpu = time.perf_counter(), time.process_time()
        for message_id in spec["timed"]:
            channel.send(messages[message_id])
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    print(json.dumps({"seconds": elapsed, "cpu": cpu}))


# ---------------------------------------------------------------- the stack


class Worker(Process):
    """ONE Celery worker process, as the Procfile's worker line starts it."""

    def __init__(self, env: dict[str, str], log_dir: Path, *, concurrency: int):
        argv = [
            str(Path(sys.executable).parent / "celery"), "-A", "workers.celery_app", "worker",
            "--loglevel", "INFO", "--concurrency", str(concurrency), "--hostname", "bench@%h",
        ]  # fmt: skip
        super().__init__("worker", argv, env, log_dir)

    def start(self) -> Worker:
        super().start()
        self.wait_for_output(" ready.", timeout=60)
        return self


def wait_for_mail(box: Mailbox, count: int, *, worker: Process, timeout: float) -> None:
    """Wait until `box` holds `count` messages (polling: the box's own wait scans every message each time)."""
    deadline = time.monotonic() + timeout
    while len(box.received) < count:
        if time.monotonic() > deadline:
            raise SystemExit(f"only {len(box.received)} of {count} e-mails arrived in {timeout:.0f}s")
        if worker.proc.poll() is not None:
            raise SystemExit(f"the worker exited:\n{worker.output()[-3000:]}")
        time.sleep(0.01)


def group_cpu(pgid: int) -> float:
    """Return the CPU seconds used so far by the live processes of group `pgid` (the worker and its pool)."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:  # the process ended meanwhile
            continue
        if int(fields[2]) == pgid:  # pgrp, then utime and stime in clock ticks
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def count_sent(ids: list[int]) -> int:
    n = db.session.scalar(
        select(func.count()).where(OutboxMessage.id.in_(ids), OutboxMessage.status == OutboxStatus.SENT)
    )
    db.session.rollback()  # a fresh snapshot next time
    return n


def bench_throughput(app, args, box: Mailbox, baseline_box: Mailbox, worker: Worker, env: dict, tmp: Path) -> dict:
    """Return the baseline loop's and the worker's time for `args.messages` e-mails."""
    from ktt_market.notifications.tasks import deliver, dispatch_pending

    tag = str(int(time.time() * 1000))
    n = args.messages
    password_hash = hash_password(PASSWORD)
    later = utcnow() + dt.timedelta(days=1)  # not due until the clock starts: warm-up dispatches only its own
    people = make_people(tag, n + WARMUP_MESSAGES, password_hash, "nhan")
    warm = make_outbox(app, tag + "w", people[:WARMUP_MESSAGES], due=utcnow())
    timed = make_outbox(app, tag, people[WARMUP_MESSAGES:], due=later)
    db.session.commit()

    # Baseline: the same messages, rendered and sent by one plain process to its own SMTP server.
    ids_file = tmp / "baseline-ids.json"
    ids_file.write_text(json.dumps({"all": warm + timed, "warm": warm, "timed": timed}))
    child_env = dict(env, MAIL_PORT=str(baseline_box.port))
    done = subprocess.run(
        [sys.executable, __file__, "--send-loop", str(ids_file)],
        cwd=ROOT, env=child_env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if done.returncode:
        raise SystemExit(f"baseline loop failed:\n{done.stdout}\n{done.stderr[-3000:]}")
    baseline = json.loads(done.stdout.strip().splitlines()[-1])
    if len(baseline_box.received) != n + WARMUP_MESSAGES:
        raise SystemExit(f"baseline: {len(baseline_box.received)} e-mails arrived, not {n + WARMUP_MESSAGES}")

    # The worker: warm up on its own rows, then one run of the dispatcher hands out the whole batch.
    for message_id in warm:
        deliver.apply_async((message_id,))
    wait_for_mail(box, WARMUP_MESSAGES, worker=worker, timeout=60)
    while count_sent(warm) < len(warm):
        time.sleep(0.05)
    db.session.execute(update(OutboxMessage).where(OutboxMessage.id.in_(timed)).values(next_attempt_at=utcnow()))
    db.session.commit()

    cpu_before = group_cpu(worker.proc.pid)
    start = time.monotonic()
    handed_out = dispatch_pending(limit=n)
    dispatched = time.monotonic()
    if handed_out != n:
        raise SystemExit(f"the dispatcher handed out {handed_out} messages, not {n}")
    wait_for_mail(box, n + WARMUP_MESSAGES, worker=worker, timeout=max(120, n / 10))
    last_arrival = max(r.arrived_at for r in box.received)
    deadline = time.monotonic() + 30
    while count_sent(timed) < n:
        if time.monotonic() > deadline:
            raise SystemExit(f"outbox: {count_sent(timed)} of {n} marked sent 30 s after the last e-mail")
        time.sleep(0.02)
    all_sent = time.monotonic()
    worker_cpu = group_cpu(worker.proc.pid) - cpu_before

    time.sleep(2)  # a duplicate would be on its way now
    received = box.received[WARMUP_MESSAGES:]
    return {
        "baseline": baseline["seconds"],
        "baseline_cpu": baseline["cpu"],
        "worker_cpu": worker_cpu,
        "dispatch": dispatched - start,
        "last_arrival": last_arrival - start,
        "worker": all_sent - start,
        "received": len(received),
        "sample": received[-1].subject,
        "distinct": len({r.message_id for r in received}),
    }


class TimedShopper(Shopper):
    """A Shopper whose checkout returns the POST's own response time beside the purchase number."""

    def timed_checkout(self) -> tuple[str, float, float]:
        """Place the cart's order; return (number, time the POST was sent, its response time)."""
        path = f"/checkout?province={PROVINCE}"
        page = self.get(path).text
        data = {
            "csrf_token": hidden(page, "csrf_token"),
            "contact_name": "Nguyễn Thị Lan",
            "phone": "0912 345 678",
            "ward_code": str(WARD),
            "street": "12 Nguyễn Đáng",
            "note": "",
            "payment_method": "cod",
            "idempotency_key": hidden(page, "idempotency_key"),
            "expected_total": hidden(page, "expected_total"),
        }
        sent = time.monotonic()
        response = self.http.post(self.base + path, data=data, timeout=30, allow_redirects=False)
        answered = time.monotonic()
        match = re.search(r"/orders/(KTT-[A-Z0-9-]+)$", response.headers.get("Location", ""))
        if response.status_code != 302 or not match:
            # The page's messages and field errors say why; the whole page would bury them.
            said = re.findall(r'<(?:li|span) class="errors?"[^>]*>(.*?)</', response.text) + re.findall(
                r'<ul class="errors"[^>]*><li>(.*?)</li>', response.text
            )
            raise SystemExit(f"checkout failed ({response.status_code}): {said or response.text[:1000]}")
        return match.group(1), sent, answered - sent


def _mail_for(box: Mailbox, to: str, number: str, *, worker: Process, timeout: float = 30) -> Received:
    deadline = time.monotonic() + timeout
    while True:
        for mail in reversed(box.received):
            if to in mail.rcpt and number in mail.subject:
                return mail
        if time.monotonic() > deadline:
            raise SystemExit(f"no e-mail about {number} to {to} within {timeout:.0f}s")
        if worker.proc.poll() is not None:
            raise SystemExit(f"the worker exited:\n{worker.output()[-3000:]}")
        time.sleep(0.002)


def bench_latency(args, box: Mailbox, web: Web, worker: Worker, shop: dict) -> dict:
    """Place orders one at a time; return the checkout POST times and the e-mails' latencies (s)."""
    shoppers = [TimedShopper(web.url).login(email, PASSWORD) for email in shop["buyers"]]
    post, to_coop, to_buyer = [], [], []
    for i in range(WARMUP_ORDERS + args.orders):
        shopper = shoppers[i % len(shoppers)]
        shopper.add(shop["product_id"], 1)
        number, sent, answered = shopper.timed_checkout()
        coop_mail = _mail_for(box, shop["manager"], number, worker=worker)
        buyer_mail = _mail_for(box, shop["buyers"][i % len(shoppers)], number, worker=worker)
        if i >= WARMUP_ORDERS:
            post.append(answered)
            to_coop.append(coop_mail.arrived_at - sent)
            to_buyer.append(buyer_mail.arrived_at - sent)
    time.sleep(2)  # a duplicate would be on its way now
    to_manager = box.to(shop["manager"])
    return {
        "post": post,
        "coop": to_coop,
        "buyer": to_buyer,
        "manager_mails": len(to_manager),
        "manager_distinct": len({m.message_id for m in to_manager}),
    }


# ---------------------------------------------------------------- output


def print_throughput(result: dict, n: int, concurrency: int) -> None:
    base = result["baseline"]
    rate_base = n / base * 60
    rate = n / result["worker"] * 60
    print(f"\n### Throughput: {n:,} order_placed e-mails to {n:,} people")
    cpu_base = result["baseline_cpu"] / n * 1000
    cpu = result["worker_cpu"] / n * 1000
    print("\n| run | time | e-mails/min | vs loop | CPU ms per e-mail |\n|---|---:|---:|---:|---:|")
    print(f"| baseline: one process renders and sends in a loop (no queue, no outbox writes) | {base:.1f} s"
          f" | {rate_base:,.0f} | 1.00 | {cpu_base:.1f} |")  # fmt: skip
    print(f"| one Celery worker (concurrency {concurrency}) on Redis: dispatcher run → all received, outbox all sent"
          f" | {result['worker']:.1f} s | {rate:,.0f} | {rate / rate_base:.2f} | {cpu:.1f} |")  # fmt: skip
    print(
        "\nCPU: the sending processes' own (the loop; the worker's main process and its pool), not PostgreSQL's,"
        " Redis's or the SMTP server's; it moves less than the times when other work shares the machine."
    )
    print(
        f"The dispatcher handed them out in {result['dispatch']:.2f} s; the last e-mail arrived at"
        f" {result['last_arrival']:.1f} s. Duplicates: {result['received'] - result['distinct']}"
        f" ({result['distinct']:,} distinct Message-IDs in {result['received']:,} e-mails, {n:,} owed)."
    )
    print(f"Last subject received: {result['sample']}")
    aim = f"aim: at least 2,000 e-mails a minute through one worker: {'met' if rate >= 2000 else 'NOT met'}"
    print(f"({aim})")
    loop = "one process renders and sends in a loop (no queue, no outbox writes)"
    what = f"{n:,} order_placed e-mails"
    dupes = result["received"] - result["distinct"]
    ROWS.add(f"baseline: {loop}, {what}", rate_base, "e-mails/min", note=f"{base:.1f} s")
    ROWS.add(
        f"one Celery worker (concurrency {concurrency}) on Redis, {what}: dispatcher run → all received, all sent",
        rate,
        "e-mails/min",
        baseline=loop,
        baseline_value=rate_base,
        note=f"{result['worker']:.1f} s; duplicates: {dupes}; {aim}",
    )
    ROWS.add(f"baseline: {loop}: CPU per e-mail", cpu_base, "ms")
    ROWS.add(
        f"one Celery worker (concurrency {concurrency}): CPU per e-mail (main process and pool)",
        cpu,
        "ms",
        baseline=loop,
        baseline_value=cpu_base,
    )


def _row(label: str, values: list[float]) -> str:
    ms = [v * 1000 for v in values]
    return (
        f"| {label} | {percentile(ms, 50):.0f} | {percentile(ms, 95):.0f} | {percentile(ms, 99):.0f} | {max(ms):.0f} |"
    )


def print_latency(result: dict, orders: int, concurrency: int) -> None:
    print(
        f"\n### Latency: {orders} orders over HTTP, one at a time (gunicorn 2 workers,"
        f" one Celery worker with concurrency {concurrency}, kick after commit)"
    )
    print("\n| from sending the checkout POST to | p50 ms | p95 ms | p99 ms | max ms |\n|---|---:|---:|---:|---:|")
    print(_row("its response (baseline: what the buyer waits anyway)", result["post"]))
    print(_row("the cooperative's e-mail received", result["coop"]))
    print(_row("the buyer's receipt received", result["buyer"]))
    expected = WARMUP_ORDERS + orders
    dupes = result["manager_mails"] - result["manager_distinct"]
    print(f"\nThe cooperative got {result['manager_mails']} e-mails for {expected} orders; duplicates: {dupes}.")
    p50 = percentile(result["coop"], 50)
    aim = f"aim: p50 under 1 s from order to e-mail: {'met' if p50 < 1 else 'NOT met'}"
    print(f"({aim})")
    what = f"{orders} orders over HTTP one at a time (gunicorn 2 workers, Celery concurrency {concurrency})"
    post = "checkout POST → its response"
    for p in (50, 95, 99):
        base = percentile(result["post"], p) * 1000
        ROWS.add(f"baseline: {post}, p{p}", base, "ms", note=what)
        for key, label in (("coop", "the cooperative's e-mail received"), ("buyer", "the buyer's receipt received")):
            ROWS.add(
                f"checkout POST → {label}, p{p}",
                percentile(result[key], p) * 1000,
                "ms",
                baseline=post,
                baseline_value=base,
                note=f"{what}; duplicates: {dupes}; {aim}" if key == "coop" and p == 50 else what,
            )


# ---------------------------------------------------------------- main


def _stop_on_sigterm(signum, frame) -> None:
    raise SystemExit(128 + signum)  # unwinds through the finally blocks that stop every process


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="500 messages and 50 orders: a fast check")
    parser.add_argument("--messages", type=int, help="e-mails for the throughput run (default 3,000)")
    parser.add_argument("--orders", type=int, help="orders for the latency run (default 200)")
    parser.add_argument("--buyers", type=int, default=4, help="buyers taking turns to place the orders")
    parser.add_argument(
        "--concurrency", type=int, default=2, help="the worker's pool processes (the Procfile's default: 2)"
    )
    parser.add_argument("--send-loop", help=argparse.SUPPRESS)  # the baseline's child process
    args = parser.parse_args()
    if args.send_loop:
        send_loop(args.send_loop)
        return
    args.messages = args.messages or (500 if args.quick else 3_000)
    args.orders = args.orders or (50 if args.quick else 200)
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        raise SystemExit("the notifications benchmark needs PostgreSQL (DATABASE_URL)")
    if not list((ROOT / "ktt_market" / "translations").glob("*/LC_MESSAGES/messages.mo")):
        raise SystemExit("compile the translations first (`make translations`): the e-mails are timed in Vietnamese")
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    # aiosmtpd logs every SMTP command at INFO: noise, and CPU taken from the processes being timed.
    logging.getLogger("mail.log").setLevel(logging.WARNING)

    tmp = Path(tempfile.mkdtemp(prefix="ktt-bench-notify-"))
    started: list = []
    ok = False
    try:
        redis = RedisServer(tmp / "redis").start()
        started.append(redis)
        box = Mailbox().start()
        started.append(box)
        baseline_box = Mailbox().start()
        started.append(baseline_box)
        env = app_env(
            DATABASE_URL=os.environ["DATABASE_URL"],
            REDIS_URL=redis.url,
            MAIL_SERVER="127.0.0.1",
            MAIL_PORT=str(box.port),
            KTT_INSTANCE_PATH=str(tmp / "instance"),
            SECRET_KEY="bench-notifications-secret",  # noqa: S106 (a throwaway database)
            KTT_BASE_URL="https://ktt.example",
            KTT_LOGIN_RATE_LIMIT="1000 per minute",
        )
        os.environ["REDIS_URL"] = redis.url  # this process publishes the dispatcher's tasks
        os.environ["KTT_INSTANCE_PATH"] = str(tmp / "instance")
        app = create_app()
        with app.app_context():
            shop = make_shop(str(int(time.time() * 1000)), hash_password(PASSWORD), args.buyers)
            db.session.commit()
            print(
                f"One Celery worker process, concurrency {args.concurrency} (the Procfile's default is 2;"
                f" try --concurrency 1), on Redis; gunicorn 2 workers; {os.cpu_count()} CPU(s),"
                # Other work on the machine moves both figures of a pair: the load says how much there was.
                f" load average {os.getloadavg()[0]:.1f} at the start",
                flush=True,
            )
            worker = Worker(env, tmp, concurrency=args.concurrency).start()
            started.append(worker)
            throughput = bench_throughput(app, args, box, baseline_box, worker, env, tmp)
            print_throughput(throughput, args.messages, args.concurrency)
            db.session.remove()

            web = Web(env, tmp).start()
            started.append(web)
            latency = bench_latency(args, box, web, worker, shop)
            print_latency(latency, args.orders, args.concurrency)
            db.session.remove()
            db.engine.dispose()
        ok = True
    finally:
        for thing in reversed(started):
            try:
                thing.stop()
            except Exception as exc:  # stop the rest whatever one of them does
                print(f"stopping {type(thing).__name__}: {exc}", file=sys.stderr)
        if ok:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print(f"logs kept in {tmp}", file=sys.stderr)


if __name__ == "__main__":
    main()
