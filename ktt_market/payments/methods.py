"""Cash on delivery and bank transfer by VietQR, as payment methods checkout offers.

Each is one class behind orders.payments.PaymentOption: its hooks open the payments of a purchase
just placed and close or settle them as its orders move.
"""

from __future__ import annotations

from flask import Flask, current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..accounts.models import User
from ..core.errors import ServiceError
from ..orders.models import Order, OrderStatus, PaymentMethod, Purchase
from ..orders.payments import PaymentOption, register_payment_method
from . import transfers
from .models import Collector, PaymentStatus
from .services import open_payments, payment_closed, payment_of, payment_succeeded


class CashOnDelivery(PaymentOption):
    """The buyer pays the carrier; the cooperative records the cash when it marks the order delivered."""

    code = PaymentMethod.COD
    label = _l("Cash on delivery")
    hint = _l("Pay the carrier when the goods arrive.")
    initial_status = OrderStatus.PLACED
    paid_on_delivery = True

    def on_placed(self, purchase: Purchase) -> None:
        """Owe each cooperative its order's amount, in cash at the door."""
        open_payments(purchase, collector_for=lambda order: (Collector.COOPERATIVE, None))

    def on_delivered(self, order: Order, *, actor: User | None) -> None:
        """Record the cash the cooperative says it received with the delivery."""
        payment = payment_of(order)
        if payment is not None:
            payment_succeeded(payment, actor=actor)

    def on_cancelled(self, order: Order, *, actor: User | None) -> None:
        """Nothing to collect any more."""
        payment = payment_of(order)
        if payment is not None:
            payment_closed(payment, expired=False)


class BankTransfer(PaymentOption):
    """The buyer transfers to the account shown with a VietQR code; the receiver records it by reference."""

    code = PaymentMethod.BANK_TRANSFER
    label = _l("Bank transfer (VietQR)")
    hint = _l("Scan the QR code with your banking app; the order goes ahead once the transfer is recorded.")
    initial_status = OrderStatus.PENDING_PAYMENT

    def available(self, app: Flask) -> bool:
        """Offer it when the platform or at least one cooperative can receive transfers."""
        return transfers.platform_account(app.config) is not None or transfers.any_unit_has_account()

    def on_placed(self, purchase: Purchase) -> None:
        """Give each order its receiving account and a unique reference; refuse a cart nobody can be paid for."""
        config = current_app.config
        taken: set[str] = set()
        details = {}
        for position, order in enumerate(purchase.orders, start=1):
            found = transfers.receiving_account(order, config)
            if found is None:
                raise ServiceError(
                    _(
                        "%(unit)s cannot receive bank transfers yet: choose another payment method.",
                        unit=order.unit.name,
                    ),
                    field="payment_method",
                )
            collector, account = found
            details[order.id] = (
                collector,
                {**account, "reference": transfers.new_reference(purchase, position, taken=taken)},
            )
        open_payments(purchase, collector_for=lambda order: details[order.id])

    def on_cancelled(self, order: Order, *, actor: User | None) -> None:
        """Stop waiting for the transfer (lapsed when the system cancels), or owe it back if it arrived."""
        payment = payment_of(order)
        if payment is None:
            return
        if payment.status is PaymentStatus.PENDING:
            payment_closed(payment, expired=actor is None)
        else:
            # Whoever watches the receiving account sends it back and records it (payments.transfers_page).
            transfers.refund_paid_transfer(payment, actor=actor)


def register_methods() -> None:
    """Offer cash on delivery and bank transfer at checkout."""
    register_payment_method(CashOnDelivery())
    register_payment_method(BankTransfer())
