"""Checkouts go on while a worker dies, Redis restarts or PostgreSQL restarts: nothing is lost.

Each test prepares logged-in buyers with a cart of two cooperatives' products, sends their checkouts
in a stream on several threads, breaks one part of the stack in the middle and mends it, then counts
each checkout (see tally.py) and prints the count in the terminal summary.
"""

from __future__ import annotations

import time

import pytest

from .tally import checkout, error_texts, prepare, run_stream, settle

pytestmark = pytest.mark.postgres_only

BUYERS = 20


def _check(tally, request) -> None:
    tally.record(request.node)
    assert tally.lost == 0, "\n".join(tally.problems)
    assert tally.succeeded + tally.failed_cleanly == tally.sent
    assert tally.succeeded > 0


def test_worker_killed_during_checkouts(app, market, web, worker, mailbox, request):
    shoppers = prepare(web.url, market["buyers"][:BUYERS], market["password"])

    def fault() -> None:
        time.sleep(1.0)
        worker.kill()  # SIGKILL of the process group: pool, beat and all, mid-delivery or not
        time.sleep(1.0)
        worker.start()

    attempts = run_stream(shoppers, error_texts(app), fault)
    tally = settle(app, "worker killed", attempts, market, mailbox)
    _check(tally, request)
    # The worker's death is invisible to buyers: every checkout went through.
    assert tally.succeeded == tally.sent


def test_redis_restarted_during_checkouts(app, market, web, worker, mailbox, redis_server, request):
    shoppers = prepare(web.url, market["buyers"][:BUYERS], market["password"])

    def fault() -> None:
        time.sleep(1.0)
        redis_server.stop()
        time.sleep(1.5)
        redis_server.start()  # same port, empty: queued deliveries are gone, the outbox has them

    attempts = run_stream(shoppers, error_texts(app), fault)
    tally = settle(app, "redis restarted", attempts, market, mailbox)
    _check(tally, request)
    assert tally.succeeded == tally.sent  # no page waits for Redis


def test_postgres_restarted_during_checkouts(app, market, web, worker, mailbox, postgres, request):
    shoppers = prepare(web.url, market["buyers"][:BUYERS], market["password"])

    def fault() -> None:
        time.sleep(1.0)
        postgres.stop()
        time.sleep(1.5)
        postgres.start()

    attempts = run_stream(shoppers, error_texts(app), fault)
    tally = settle(app, "postgres restarted", attempts, market, mailbox)
    _check(tally, request)
    assert tally.failed_cleanly > 0, "the restart fell between checkouts: no checkout met it"

    # The app reconnected by itself: the next buyer logs in, fills a cart and checks out as usual.
    [late] = prepare(web.url, market["buyers"][BUYERS : BUYERS + 1], market["password"])
    again = checkout(late, error_texts(app))
    assert again.seen == "page", again.detail
