"""Payment methods behind one small interface, so that new methods need no change to checkout.

A method is a class with a `code` (a `PaymentMethod` value stored on the purchase), a `label`, the
status its orders start in, `available(app)` (offered at checkout?) and `start(purchase)`, called by
the checkout page after the purchase is committed: it returns where to send the buyer to pay (a URL),
or None when there is nothing to pay now. The payments area (payments/methods.py) registers cash on
delivery, bank transfer and card here.
"""

from __future__ import annotations

from typing import ClassVar

from flask import Flask

from ..accounts.models import User
from .models import Order, OrderStatus, PaymentMethod, Purchase


class PaymentOption:
    """One way to pay; subclasses set the class attributes and may override the hooks."""

    code: ClassVar[PaymentMethod]
    label: ClassVar[str]
    hint: ClassVar[str | None] = None
    # Orders of a method that is paid later start as pending_payment and lapse when not paid in time.
    initial_status: ClassVar[OrderStatus] = OrderStatus.PENDING_PAYMENT
    # Paid in cash when the goods arrive: the cooperative confirms the cash when it marks delivery.
    paid_on_delivery: ClassVar[bool] = False

    def available(self, app: Flask) -> bool:
        """Whether checkout offers this method (e.g. only when its keys are configured)."""
        return True

    def start(self, purchase: Purchase) -> str | None:
        """Begin paying for a committed purchase; return the URL to send the buyer to, or None."""
        return None

    # Hooks called inside the transaction of the change (they flush, never commit).

    def on_placed(self, purchase: Purchase) -> None:
        """Record what is owed for a purchase just placed (its orders are flushed)."""

    def on_cancelled(self, order: Order, *, actor: User | None) -> None:
        """React to an order cancelled (by the buyer, the cooperative, or lapsing unpaid)."""

    def on_delivered(self, order: Order, *, actor: User | None) -> None:
        """React to an order the cooperative marked delivered."""


_REGISTRY: dict[PaymentMethod, PaymentOption] = {}


def register_payment_method(option: PaymentOption) -> PaymentOption:
    """Offer `option` at checkout (a later registration of the same code replaces the earlier one)."""
    _REGISTRY[PaymentMethod(option.code)] = option
    return option


def unregister_payment_method(code: PaymentMethod | str) -> None:
    """Stop offering a method (tests and configuration use this)."""
    _REGISTRY.pop(PaymentMethod(code), None)


def payment_option(code: PaymentMethod | str) -> PaymentOption | None:
    """The registered method with this code, or None."""
    try:
        return _REGISTRY.get(PaymentMethod(code))
    except ValueError:
        return None


def available_payment_options(app: Flask) -> list[PaymentOption]:
    """The methods checkout offers now, in the order they were registered."""
    return [option for option in _REGISTRY.values() if option.available(app)]
