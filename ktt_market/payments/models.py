"""What was paid, by whom and how; refunds; Stripe events seen; and each cooperative's ledger.

Money is whole đồng (BigInteger). A payment belongs to one cooperative order: a purchase from two
cooperatives has two payments, each refunded and accounted for on its own. The ledger is
append-only: a balance is always the sum of its entries.
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..core.enums import enum_column
from ..core.models import TimestampMixin, UTCDateTime, utcnow
from ..extensions import db
from ..orders.models import PaymentMethod


class PaymentStatus(enum.StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # given up for good (an asynchronous payment that failed)
    EXPIRED = "expired"  # never came: the order lapsed
    CANCELLED = "cancelled"  # nothing to collect any more: the order was cancelled before paying


class Collector(enum.StrEnum):
    """Who holds the money: the platform (card, transfers to its account) or the cooperative itself."""

    PLATFORM = "platform"
    COOPERATIVE = "cooperative"


class Payment(TimestampMixin, db.Model):
    """The payment owed for one cooperative order, by the purchase's method."""

    __tablename__ = "payments"
    __table_args__ = (CheckConstraint("amount_vnd > 0", name="amount_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), unique=True)
    purchase_id: Mapped[int] = mapped_column(ForeignKey("purchases.id", ondelete="CASCADE"), index=True)
    method: Mapped[PaymentMethod] = mapped_column(enum_column(PaymentMethod, "payment_row_method"))
    collector: Mapped[Collector] = mapped_column(enum_column(Collector, "payment_collector"))
    amount_vnd: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[PaymentStatus] = mapped_column(
        enum_column(PaymentStatus, "payment_status"), default=PaymentStatus.PENDING, index=True
    )
    # Bank transfer: the reference the buyer types (unique), and the account it goes to, as shown.
    reference: Mapped[str | None] = mapped_column(String(25), unique=True)
    bank_bin: Mapped[str | None] = mapped_column(String(6))
    bank_account: Mapped[str | None] = mapped_column(String(19))
    bank_account_name: Mapped[str | None] = mapped_column(String(50))
    # Card: Stripe's PaymentIntent id once known.
    provider_ref: Mapped[str | None] = mapped_column(String(255), index=True)
    failure_reason: Mapped[str | None] = mapped_column(String(300))
    paid_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    order = relationship("Order")
    purchase = relationship("Purchase")
    refunds: Mapped[list[Refund]] = relationship(back_populates="payment", order_by="Refund.id")


class CheckoutStatus(enum.StrEnum):
    OPEN = "open"
    COMPLETE = "complete"
    EXPIRED = "expired"


class CardCheckout(TimestampMixin, db.Model):
    """The Stripe Checkout Session of one purchase paid by card."""

    __tablename__ = "card_checkouts"
    __table_args__ = (CheckConstraint("amount_vnd > 0", name="amount_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    purchase_id: Mapped[int] = mapped_column(ForeignKey("purchases.id", ondelete="CASCADE"), unique=True)
    session_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    payment_intent_id: Mapped[str | None] = mapped_column(String(255), index=True)
    url: Mapped[str | None] = mapped_column(Text)
    amount_vnd: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[CheckoutStatus] = mapped_column(
        enum_column(CheckoutStatus, "checkout_status"), default=CheckoutStatus.OPEN
    )
    expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    purchase = relationship("Purchase")


class RefundStatus(enum.StrEnum):
    PENDING = "pending"  # asked of the provider, not confirmed yet
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class Refund(TimestampMixin, db.Model):
    """Money going back to the buyer for (part of) one cooperative order."""

    __tablename__ = "refunds"
    __table_args__ = (CheckConstraint("amount_vnd > 0", name="amount_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id", ondelete="CASCADE"), index=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    amount_vnd: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[RefundStatus] = mapped_column(
        enum_column(RefundStatus, "refund_status"), default=RefundStatus.PENDING, index=True
    )
    reason: Mapped[str | None] = mapped_column(Text)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    provider_ref: Mapped[str | None] = mapped_column(String(255), unique=True)  # Stripe's re_… id
    failure_reason: Mapped[str | None] = mapped_column(String(300))
    settled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    payment: Mapped[Payment] = relationship(back_populates="refunds")
    order = relationship("Order")


class StripeEvent(db.Model):
    """A Stripe event already handled: its id is the key, so a repeated delivery does nothing."""

    __tablename__ = "stripe_events"

    id: Mapped[str] = mapped_column(String(255), primary_key=True)  # evt_…
    type: Mapped[str] = mapped_column(String(100))
    object_id: Mapped[str | None] = mapped_column(String(255))
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class EntryKind(enum.StrEnum):
    SALE = "sale"  # collected by the platform for the cooperative (+)
    FEE = "fee"  # the platform's fee on a sale (−)
    REFUND = "refund"  # money given back to the buyer (−)
    FEE_REFUND = "fee_refund"  # the fee's share of a refund, returned to the cooperative (+)
    PAYOUT = "payout"  # paid out to the cooperative's bank account (−)


class LedgerEntry(db.Model):
    """One line of a cooperative's account with the platform. Never updated, never deleted."""

    __tablename__ = "ledger_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="RESTRICT"), index=True)
    # What caused it, e.g. "sale:order:12", "refund:5", "payout:9": the same cause never books twice.
    key: Mapped[str] = mapped_column(String(100), unique=True)
    kind: Mapped[EntryKind] = mapped_column(enum_column(EntryKind, "ledger_entry_kind"))
    amount_vnd: Mapped[int] = mapped_column(BigInteger)  # signed: + owed to the cooperative
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id", ondelete="RESTRICT"), index=True)
    refund_id: Mapped[int | None] = mapped_column(ForeignKey("refunds.id", ondelete="RESTRICT"))
    payout_id: Mapped[int | None] = mapped_column(ForeignKey("payouts.id", ondelete="RESTRICT"))
    memo: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


class PayoutBatch(db.Model):
    """One payout run by an admin: a bank batch paying several cooperatives."""

    __tablename__ = "payout_batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The run form's one-time key: the same form sent twice finds this batch.
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    payouts: Mapped[list[Payout]] = relationship(back_populates="batch", order_by="Payout.id")


class Payout(db.Model):
    """Money paid to one cooperative in a batch, with the bank's reference."""

    __tablename__ = "payouts"
    __table_args__ = (CheckConstraint("amount_vnd > 0", name="amount_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("payout_batches.id", ondelete="RESTRICT"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="RESTRICT"), index=True)
    amount_vnd: Mapped[int] = mapped_column(BigInteger)
    bank_reference: Mapped[str] = mapped_column(String(100))
    # The account paid into, as it was: the unit may change its account later.
    bank_bin: Mapped[str] = mapped_column(String(6))
    bank_account: Mapped[str] = mapped_column(String(19))
    bank_account_name: Mapped[str] = mapped_column(String(50))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    batch: Mapped[PayoutBatch] = relationship(back_populates="payouts")
    unit = relationship("Unit")
