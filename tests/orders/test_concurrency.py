"""Concurrent checkouts and cancellations on PostgreSQL: never oversold, stock returned once."""

from __future__ import annotations

import threading

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from ktt_market.accounts.models import User
from ktt_market.catalog.models import Product
from ktt_market.core.errors import ServiceError
from ktt_market.extensions import db
from ktt_market.orders.cart import cart_for_user
from ktt_market.orders.checkout import new_idempotency_key, place_purchase, purchase_by_key
from ktt_market.orders.models import Order, OrderStatus, Purchase
from ktt_market.orders.states import return_stock, transition

from .conftest import details

pytestmark = pytest.mark.postgres_only

THREADS = 20


def run_together(count: int, work) -> list:
    """Run work(i) in `count` threads released at the same moment; return what each returned or raised."""
    barrier = threading.Barrier(count, timeout=30)
    results: list = [None] * count

    def runner(i: int) -> None:
        try:
            results[i] = work(i, barrier)
        except BaseException as exc:
            results[i] = exc

    threads = [threading.Thread(target=runner, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not any(t.is_alive() for t in threads)
    return results


def test_twenty_buyers_five_units_exactly_five_sold(app, make_user, make_unit, make_product, fill_cart):
    unit = make_unit(name="HTX Cam Sành")
    product = make_product(unit, name="Cam sành", stock=5, price_vnd=30_000)
    buyers = [make_user() for _ in range(THREADS)]
    for buyer in buyers:
        fill_cart(buyer, {product: 1})

    def buy(i: int, barrier: threading.Barrier) -> str:
        with app.app_context(), app.test_request_context(), force_locale("en"):
            try:
                actor = db.session.get(User, buyers[i].id)
                cart = cart_for_user(actor.id)
                db.session.commit()  # give the connection back: 20 threads share a smaller pool
                barrier.wait()
                place_purchase(cart, actor=actor, details=details(), idempotency_key=new_idempotency_key())
                db.session.commit()
                return "sold"
            except ServiceError as exc:
                db.session.rollback()
                return exc.message
            finally:
                db.session.remove()

    results = run_together(THREADS, buy)
    errors = [r for r in results if isinstance(r, BaseException)]
    assert not errors, errors
    assert results.count("sold") == 5
    assert all(r == "sold" or "sold out" in r for r in results), results
    with app.app_context():
        assert db.session.get(Product, product.id).stock == 0
        assert db.session.scalar(select(func.count()).select_from(Purchase)) == 5
        assert db.session.scalar(select(func.sum(Order.subtotal_vnd))) == 5 * 30_000


def test_two_products_locked_in_one_order_never_deadlock(app, make_user, make_unit, make_product, fill_cart):
    """Carts holding the same two products (added in either order) check out without a deadlock."""
    unit = make_unit()
    first = make_product(unit, stock=6)
    second = make_product(unit, stock=6)
    buyers = [make_user() for _ in range(10)]
    for i, buyer in enumerate(buyers):
        fill_cart(buyer, {first: 1, second: 1} if i % 2 else {second: 1, first: 1})

    def buy(i: int, barrier: threading.Barrier) -> str:
        with app.app_context(), app.test_request_context(), force_locale("en"):
            try:
                actor = db.session.get(User, buyers[i].id)
                cart = cart_for_user(actor.id)
                db.session.commit()
                barrier.wait()
                place_purchase(cart, actor=actor, details=details(), idempotency_key=new_idempotency_key())
                db.session.commit()
                return "sold"
            except ServiceError as exc:
                db.session.rollback()
                return exc.message
            finally:
                db.session.remove()

    results = run_together(len(buyers), buy)
    assert not [r for r in results if isinstance(r, BaseException)], results
    assert results.count("sold") == 6
    with app.app_context():
        assert (db.session.get(Product, first.id).stock, db.session.get(Product, second.id).stock) == (0, 0)


def test_the_same_form_sent_twice_at_once_makes_one_purchase(app, make_user, make_unit, make_product, fill_cart):
    unit = make_unit()
    product = make_product(unit, stock=10)
    buyer = make_user()
    fill_cart(buyer, {product: 2})
    key = new_idempotency_key()

    def submit(i: int, barrier: threading.Barrier) -> str:
        with app.app_context(), app.test_request_context(), force_locale("en"):
            try:
                actor = db.session.get(User, buyer.id)
                cart = cart_for_user(actor.id)
                db.session.commit()
                barrier.wait()
                purchase = place_purchase(cart, actor=actor, details=details(), idempotency_key=key)
                db.session.commit()
                return purchase.number
            except (IntegrityError, ServiceError):
                # What the checkout page does: roll back and look for the purchase the twin made.
                db.session.rollback()
                return purchase_by_key(key).number
            finally:
                db.session.remove()

    results = run_together(2, submit)
    assert not [r for r in results if isinstance(r, BaseException)], results
    assert results[0] == results[1]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Purchase)) == 1
        assert db.session.get(Product, product.id).stock == 8


@pytest.fixture
def placed_order(app, buyer, staff_a, products, place):
    place(buyer, {products["pomelo"]: 4})
    with app.app_context():
        order_id = db.session.scalar(select(Order.id))
    return order_id


def test_concurrent_cancel_and_reject_return_stock_once(app, placed_order, buyer, staff_a, products, stock_of):
    assert stock_of(products["pomelo"]) == 6
    actors = [buyer, staff_a] * 3

    def cancel(i: int, barrier: threading.Barrier) -> str:
        with app.app_context(), app.test_request_context(), force_locale("en"):
            try:
                actor = db.session.get(User, actors[i].id)
                order = db.session.get(Order, placed_order)
                db.session.commit()
                barrier.wait()
                transition(order, OrderStatus.CANCELLED, actor=actor, reason="Không cần nữa")
                db.session.commit()
                return "cancelled"
            except ServiceError:
                db.session.rollback()
                return "refused"
            finally:
                db.session.remove()

    results = run_together(len(actors), cancel)
    assert sorted(results) == ["cancelled"] + ["refused"] * (len(actors) - 1), results
    assert stock_of(products["pomelo"]) == 10


def test_concurrent_stock_returns_happen_once(app, placed_order, products, stock_of):
    def give_back(i: int, barrier: threading.Barrier) -> bool:
        with app.app_context():
            try:
                order = db.session.get(Order, placed_order)
                db.session.commit()
                barrier.wait()
                returned = return_stock(order)
                db.session.commit()
                return returned
            finally:
                db.session.remove()

    results = run_together(8, give_back)
    assert sorted(results) == [False] * 7 + [True], results
    assert stock_of(products["pomelo"]) == 10
