"""Reviews written at the same moment on PostgreSQL: the product's count stays exact and no one deadlocks."""

from __future__ import annotations

import threading

import pytest

pytestmark = pytest.mark.postgres_only

BUYERS = 6


def test_simultaneous_reviews_of_one_product_all_count(app, make_order, make_user, unit, product):
    from ktt_market.accounts.models import User
    from ktt_market.catalog.models import Product
    from ktt_market.extensions import db
    from ktt_market.orders.models import OrderLine
    from ktt_market.reviews import services

    buyers = [make_user() for _ in range(BUYERS)]
    lines = [make_order(unit, b, [(product, 1)]).line_ids[0] for b in buyers]
    start = threading.Barrier(BUYERS)
    errors: list[BaseException] = []

    def write(buyer_id: int, line_id: int, stars: int) -> None:
        try:
            with app.test_request_context():
                actor = db.session.get(User, buyer_id)
                line = db.session.get(OrderLine, line_id)
                start.wait(timeout=10)
                services.create_review(line, actor=actor, product_rating=stars, unit_rating=stars)
                db.session.commit()
                db.session.remove()
        except BaseException as exc:
            errors.append(exc)

    threads = [
        threading.Thread(target=write, args=(b.id, line, 1 + i % 5))
        for i, (b, line) in enumerate(zip(buyers, lines, strict=True))
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not errors
    with app.app_context():
        p = db.session.get(Product, product.id)
        expected = [1 + i % 5 for i in range(BUYERS)]
        assert p.rating_count == BUYERS
        assert p.rating_avg == round(sum(expected) / BUYERS, 2)
        db.session.remove()
