"""Hooks the areas call where something happens: each turns one change into the messages it owes.

They run inside the caller's transaction and never commit. Links are paths built without a
request, so the same hook works from a page and from a background task.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Any

from flask import current_app
from sqlalchemy import select

from ..accounts.models import User
from ..extensions import db
from .models import Kind
from .services import notify

if TYPE_CHECKING:
    from ..orders.models import Order, OrderEvent, Purchase
    from ..payments.models import Payment, Refund
    from ..programs.models import SupportProgram
    from ..registry.models import Unit, UnitApplication


def _path(endpoint: str, **values: Any) -> str:
    """Return the path of `endpoint`, with or without a request."""
    return current_app.url_map.bind("localhost").build(endpoint, values)


def _staff_of(unit_id: int) -> list[User]:
    from ..registry.models import UnitStaff

    return list(
        db.session.scalars(
            select(User).join(UnitStaff, UnitStaff.user_id == User.id).where(UnitStaff.unit_id == unit_id)
        )
    )


def _order_payload(order: Order, **extra: Any) -> dict[str, Any]:
    purchase = order.purchase
    return {
        "number": purchase.number,
        "order_id": order.id,
        "unit_id": order.unit_id,
        "unit_name": order.unit.name,
        "subtotal_vnd": order.subtotal_vnd,
        "link": _path("orders.purchase", number=purchase.number),
        **extra,
    }


def purchase_placed(purchase: Purchase) -> None:
    """A receipt to the buyer, a new order to each cooperative's staff, low stock to whoever it concerns."""
    orders = list(purchase.orders)
    notify(
        Kind.ORDER_PLACED,
        user=purchase.buyer,
        object_key=f"purchase-{purchase.id}",
        payload={
            "role": "buyer",
            "number": purchase.number,
            "total_vnd": purchase.total_vnd,
            "payment_method": str(purchase.payment_method),
            "units": [o.unit.name for o in orders],
            "link": _path("orders.purchase", number=purchase.number),
        },
    )
    taken: dict[int, int] = defaultdict(int)
    for order in orders:
        payload = _order_payload(
            order, role="staff", link=_path("orders.unit_order", unit_id=order.unit_id, order_id=order.id)
        )
        payload["lines"] = [[line.product_name, line.quantity, line.sale_unit] for line in order.lines]
        for line in order.lines:
            taken[line.product_id] += line.quantity
        for staff in _staff_of(order.unit_id):
            notify(Kind.ORDER_PLACED, user=staff, object_key=f"order-{order.id}", payload=payload)
    _low_stock(purchase, taken)


def _low_stock(purchase: Purchase, taken: dict[int, int]) -> None:
    """Warn staff of products this checkout took to or below their threshold (crossing it, once)."""
    from ..catalog.models import Product

    if not taken:
        return
    products = db.session.scalars(select(Product).where(Product.id.in_(taken)).order_by(Product.id))
    for product in products:
        before = product.stock + taken[product.id]
        if not (product.stock <= product.low_stock_threshold < before):
            continue
        payload = {
            "product_name": product.name,
            "stock": product.stock,
            "threshold": product.low_stock_threshold,
            "unit_id": product.unit_id,
            "link": _path("catalog_manage.stock", product_id=product.id),
        }
        for staff in _staff_of(product.unit_id):
            notify(
                Kind.LOW_STOCK, user=staff, object_key=f"product-{product.id}-purchase-{purchase.id}", payload=payload
            )


def order_moved(order: Order, event: OrderEvent, *, by_staff: bool) -> None:
    """Tell the buyer (and on a buyer's or the system's cancellation, the staff) of a move."""
    from ..orders.models import OrderStatus

    to = event.to_status
    kinds = {
        OrderStatus.CONFIRMED: Kind.ORDER_CONFIRMED,
        OrderStatus.SHIPPED: Kind.ORDER_SHIPPED,
        OrderStatus.DELIVERED: Kind.ORDER_DELIVERED,
    }
    if to is OrderStatus.CANCELLED:
        kind = Kind.ORDER_REJECTED if by_staff else Kind.ORDER_CANCELLED
    else:
        kind = kinds.get(to)
    if kind is None:
        return
    payload = _order_payload(
        order, reason=event.reason, carrier=order.carrier, tracking_code=order.tracking_code, role="buyer"
    )
    object_key = f"order-{order.id}-event-{event.id}"
    notify(kind, user=order.purchase.buyer, object_key=object_key, payload=payload)
    if kind is Kind.ORDER_CANCELLED:
        staff_payload = {
            **payload,
            "role": "staff",
            "link": _path("orders.unit_order", unit_id=order.unit_id, order_id=order.id),
        }
        for staff in _staff_of(order.unit_id):
            if staff.id != event.actor_id:
                notify(kind, user=staff, object_key=object_key, payload=staff_payload)


def application_decided(application: UnitApplication) -> None:
    """Tell the applicant the province approved or rejected their cooperative."""
    from ..registry.models import ApplicationStatus

    unit = application.unit
    payload = {"unit_name": unit.name, "unit_id": unit.id, "reason": application.decision_reason}
    if application.status is ApplicationStatus.APPROVED:
        kind = Kind.UNIT_APPROVED
        payload["link"] = _path("registry.unit", unit_id=unit.id)
    elif application.status is ApplicationStatus.REJECTED:
        kind = Kind.UNIT_REJECTED
        payload["link"] = _path("registry.my_units")
    else:
        return
    notify(kind, user=application.applicant, object_key=f"application-{application.id}", payload=payload)


def payment_expiring(order: Order) -> None:
    """Remind the buyer to pay an order that will soon lapse (once per order)."""
    payload = _order_payload(order, expires_at=order.expires_at.isoformat() if order.expires_at else None)
    payload["role"] = "buyer"
    notify(Kind.PAYMENT_EXPIRING, user=order.purchase.buyer, object_key=f"order-{order.id}", payload=payload)


def payment_received(payment: Payment) -> None:
    """Tell the buyer their payment arrived, and the cooperative's staff that the order is paid.

    Not for a method paid on delivery (cash): the money changed hands at the door, and the delivery
    message says so.
    """
    from ..orders.payments import payment_option

    option = payment_option(payment.method)
    if option is not None and option.paid_on_delivery:
        return
    order = payment.order
    payload = _order_payload(order, role="buyer", amount_vnd=payment.amount_vnd, method=str(payment.method))
    object_key = f"payment-{payment.id}"
    notify(Kind.PAYMENT_RECEIVED, user=order.purchase.buyer, object_key=object_key, payload=payload)
    staff_payload = {
        **payload,
        "role": "staff",
        "link": _path("orders.unit_order", unit_id=order.unit_id, order_id=order.id),
    }
    for staff in _staff_of(order.unit_id):
        if staff.id != payment.recorded_by_id:  # whoever recorded the transfer knows already
            notify(Kind.PAYMENT_RECEIVED, user=staff, object_key=object_key, payload=staff_payload)


def payment_failed(payment: Payment) -> None:
    """Tell the buyer a payment failed, and why: once for a failed attempt, once when it failed for good."""
    from ..payments.models import PaymentStatus

    final = payment.status is PaymentStatus.FAILED
    payload = _order_payload(
        payment.order,
        role="buyer",
        amount_vnd=payment.amount_vnd,
        reason=payment.failure_reason,
        final=final,
        expires_at=payment.order.expires_at.isoformat() if payment.order.expires_at and not final else None,
    )
    # A declined card is often retried at once: one message per payment for attempts, not one per decline.
    object_key = f"payment-{payment.id}-{'final' if final else 'attempt'}"
    notify(Kind.PAYMENT_FAILED, user=payment.purchase.buyer, object_key=object_key, payload=payload)


def refund_settled(refund: Refund) -> None:
    """Tell the buyer a refund went back to them."""
    payment = refund.payment
    payload = _order_payload(
        refund.order, role="buyer", amount_vnd=refund.amount_vnd, paid_vnd=payment.amount_vnd, reason=refund.reason
    )
    notify(Kind.REFUNDED, user=payment.purchase.buyer, object_key=f"refund-{refund.id}", payload=payload)


def _program_payload(program: SupportProgram, unit: Unit) -> dict[str, Any]:
    return {
        "program_id": program.id,
        "title": program.title,
        "kind": str(program.kind),
        "budget_vnd": program.budget_vnd,
        "opens_on": program.opens_on.isoformat(),
        "closes_on": program.closes_on.isoformat(),
        "closes_on_vn": program.closes_on.strftime("%d/%m/%Y"),
        "unit_id": unit.id,
        "unit_name": unit.name,
        "link": _path("programs.unit_programs", unit_id=unit.id),
    }


def program_opened(program: SupportProgram, unit: Unit, user: User) -> list:
    """Tell one staff member of an eligible cooperative that a program opened (once per unit and user)."""
    return notify(
        Kind.PROGRAM_OPENED,
        user=user,
        object_key=f"program-{program.id}-unit-{unit.id}",
        payload=_program_payload(program, unit),
    )


def program_deadline(program: SupportProgram, unit: Unit, user: User) -> list:
    """Remind one staff member of an eligible cooperative that has not applied that the window closes soon."""
    return notify(
        Kind.PROGRAM_DEADLINE,
        user=user,
        object_key=f"program-{program.id}-unit-{unit.id}-deadline",
        payload=_program_payload(program, unit),
    )
