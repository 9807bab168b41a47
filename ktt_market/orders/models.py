"""Carts, purchases (one checkout) and their orders (one per cooperative), order history and reviews."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Integer, SmallInteger, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..core.enums import enum_column
from ..core.models import TimestampMixin, UTCDateTime, utcnow
from ..extensions import db


class Cart(TimestampMixin, db.Model):
    """A visitor's cart (by a random token kept in the session) or a user's cart."""

    __tablename__ = "carts"

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)

    items: Mapped[list[CartItem]] = relationship(
        back_populates="cart", cascade="all, delete-orphan", order_by="CartItem.id"
    )


class CartItem(db.Model):
    __tablename__ = "cart_items"
    __table_args__ = (
        UniqueConstraint("cart_id", "product_id"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cart_id: Mapped[int] = mapped_column(ForeignKey("carts.id", ondelete="CASCADE"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"), index=True)
    quantity: Mapped[int] = mapped_column(Integer)

    cart: Mapped[Cart] = relationship(back_populates="items")
    product = relationship("Product")


class PaymentMethod(enum.StrEnum):
    COD = "cod"  # cash on delivery
    BANK_TRANSFER = "bank_transfer"  # VietQR
    CARD = "card"  # Stripe


class Purchase(db.Model):
    """One checkout: what the buyer sees whole. Split into one Order per cooperative."""

    __tablename__ = "purchases"
    __table_args__ = (CheckConstraint("total_vnd >= 0", name="total_not_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)  # shown to people, e.g. KTT-7QX4M2
    buyer_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"), index=True)
    # The checkout form's one-time key: submitting the same checkout twice finds this purchase.
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    contact_name: Mapped[str] = mapped_column(String(120))
    phone: Mapped[str] = mapped_column(String(20))
    province_code: Mapped[int] = mapped_column(Integer)
    ward_code: Mapped[int] = mapped_column(Integer)
    street: Mapped[str] = mapped_column(String(255))
    note: Mapped[str | None] = mapped_column(Text)
    payment_method: Mapped[PaymentMethod] = mapped_column(enum_column(PaymentMethod, "payment_method"))
    total_vnd: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)

    buyer = relationship("User")
    orders: Mapped[list[Order]] = relationship(back_populates="purchase", order_by="Order.id")


class OrderStatus(enum.StrEnum):
    PENDING_PAYMENT = "pending_payment"
    PLACED = "placed"
    CONFIRMED = "confirmed"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"


class Order(TimestampMixin, db.Model):
    """The part of a purchase one cooperative fulfils. Moves only through orders.states."""

    __tablename__ = "orders"
    __table_args__ = (CheckConstraint("subtotal_vnd >= 0", name="subtotal_not_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    purchase_id: Mapped[int] = mapped_column(ForeignKey("purchases.id", ondelete="CASCADE"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="RESTRICT"), index=True)
    status: Mapped[OrderStatus] = mapped_column(enum_column(OrderStatus, "order_status"), index=True)
    subtotal_vnd: Mapped[int] = mapped_column(BigInteger)
    carrier: Mapped[str | None] = mapped_column(String(80))
    tracking_code: Mapped[str | None] = mapped_column(String(80))
    # Unpaid orders lapse at this time and give their stock back.
    expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), index=True)
    # Set once when the stock of this order went back: returning it twice is impossible.
    stock_returned_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    placed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    delivered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    purchase: Mapped[Purchase] = relationship(back_populates="orders")
    unit = relationship("Unit")
    lines: Mapped[list[OrderLine]] = relationship(back_populates="order", order_by="OrderLine.id")
    events: Mapped[list[OrderEvent]] = relationship(back_populates="order", order_by="OrderEvent.id")


class OrderLine(db.Model):
    """One product in an order, with name and price as they were at checkout."""

    __tablename__ = "order_lines"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("unit_price_vnd > 0", name="price_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="RESTRICT"), index=True)
    product_name: Mapped[str] = mapped_column(String(200))
    sale_unit: Mapped[str] = mapped_column(String(12))
    unit_price_vnd: Mapped[int] = mapped_column(BigInteger)
    quantity: Mapped[int] = mapped_column(Integer)
    line_total_vnd: Mapped[int] = mapped_column(BigInteger)

    order: Mapped[Order] = relationship(back_populates="lines")
    product = relationship("Product")


class OrderEvent(db.Model):
    """One move of an order's state: who, when, why. Buyer and cooperative both see it."""

    __tablename__ = "order_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    from_status: Mapped[OrderStatus | None] = mapped_column(enum_column(OrderStatus, "order_event_from"))
    to_status: Mapped[OrderStatus] = mapped_column(enum_column(OrderStatus, "order_event_to"))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    order: Mapped[Order] = relationship(back_populates="events")
    actor = relationship("User")


class Review(TimestampMixin, db.Model):
    """A buyer's rating of one order line (the product) and of the cooperative; one per line."""

    __tablename__ = "reviews"
    __table_args__ = (
        CheckConstraint("product_rating BETWEEN 1 AND 5", name="product_rating_range"),
        CheckConstraint("unit_rating BETWEEN 1 AND 5", name="unit_rating_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_line_id: Mapped[int] = mapped_column(ForeignKey("order_lines.id", ondelete="CASCADE"), unique=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"), index=True)
    buyer_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    product_rating: Mapped[int] = mapped_column(SmallInteger)
    unit_rating: Mapped[int] = mapped_column(SmallInteger)
    text: Mapped[str | None] = mapped_column(Text)
    reply: Mapped[str | None] = mapped_column(Text)
    replied_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    reported_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    report_reason: Mapped[str | None] = mapped_column(Text)
    hidden_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    hidden_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    hidden_reason: Mapped[str | None] = mapped_column(Text)

    buyer = relationship("User", foreign_keys=[buyer_id])
    line = relationship("OrderLine")
