"""The catalogue: categories, products of approved units, their images, certificates and batches."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..core.enums import enum_column
from ..core.models import TimestampMixin, UTCDateTime, utcnow
from ..extensions import db


class Category(db.Model):
    """A node of the managed category tree (rice, fruit, seafood, ...); names in both languages."""

    __tablename__ = "categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id", ondelete="RESTRICT"), index=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    name_vi: Mapped[str] = mapped_column(String(120))
    name_en: Mapped[str] = mapped_column(String(120))
    position: Mapped[int] = mapped_column(Integer, default=0)

    parent: Mapped[Category | None] = relationship(remote_side="Category.id", back_populates="children")
    children: Mapped[list[Category]] = relationship(back_populates="parent", order_by="Category.position")

    def name(self, locale: str) -> str:
        return self.name_en if str(locale) == "en" else self.name_vi


class SaleUnit(enum.StrEnum):
    KG = "kg"
    BOX = "box"  # hộp / thùng
    BOTTLE = "bottle"  # chai
    BAG = "bag"  # túi / bao
    PIECE = "piece"  # cái / trái
    PACK = "pack"  # gói
    JAR = "jar"  # hũ
    LITRE = "litre"  # lít


class Product(TimestampMixin, db.Model):
    """Something an approved unit sells; stock is whole sale units and never below zero."""

    __tablename__ = "products"
    __table_args__ = (
        CheckConstraint("price_vnd > 0", name="price_positive"),
        CheckConstraint("stock >= 0", name="stock_not_negative"),
        CheckConstraint("min_quantity >= 1", name="min_quantity_positive"),
        CheckConstraint("quantity_step >= 1", name="quantity_step_positive"),
        Index("ix_products_listing", "published", "category_id", "id"),
        UniqueConstraint("unit_id", "sku"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"), index=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id", ondelete="RESTRICT"), index=True)
    sku: Mapped[str] = mapped_column(String(40))  # the unit's own product code, unique within the unit
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    sale_unit: Mapped[SaleUnit] = mapped_column(enum_column(SaleUnit, "sale_unit"), default=SaleUnit.KG)
    min_quantity: Mapped[int] = mapped_column(Integer, default=1)
    quantity_step: Mapped[int] = mapped_column(Integer, default=1)
    price_vnd: Mapped[int] = mapped_column(BigInteger)
    stock: Mapped[int] = mapped_column(Integer, default=0)
    low_stock_threshold: Mapped[int] = mapped_column(Integer, default=5)
    published: Mapped[bool] = mapped_column(Boolean, default=False)
    featured: Mapped[bool] = mapped_column(Boolean, default=False)
    # Lower-case, diacritic-free name, unit name and category for search (core.text.fold), kept by the services.
    search_text: Mapped[str] = mapped_column(Text, default="")
    # Denormalised for listing filters and sorting without joins; kept by the services.
    province_code: Mapped[int] = mapped_column(Integer, index=True)
    rating_avg: Mapped[float | None] = mapped_column()
    rating_count: Mapped[int] = mapped_column(Integer, default=0)

    unit = relationship("Unit")
    category: Mapped[Category] = relationship()
    images: Mapped[list[ProductImage]] = relationship(
        back_populates="product", cascade="all, delete-orphan", order_by="ProductImage.position"
    )
    certifications: Mapped[list[Certification]] = relationship(
        back_populates="product", cascade="all, delete-orphan", order_by="Certification.valid_until.desc()"
    )
    batches: Mapped[list[Batch]] = relationship(
        back_populates="product", cascade="all, delete-orphan", order_by="Batch.produced_on.desc()"
    )


class ProductImage(db.Model):
    """A re-encoded product photo and its thumbnail, stored under names the server chose."""

    __tablename__ = "product_images"

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(120), unique=True)
    thumb_key: Mapped[str] = mapped_column(String(120), unique=True)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    position: Mapped[int] = mapped_column(Integer, default=0)
    alt: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    product: Mapped[Product] = relationship(back_populates="images")


class CertificationKind(enum.StrEnum):
    OCOP = "ocop"
    VIETGAP = "vietgap"
    ORGANIC = "organic"
    OTHER = "other"


class Certification(db.Model):
    """A certificate of a product; shown only while valid (valid_until not passed)."""

    __tablename__ = "certifications"
    __table_args__ = (
        CheckConstraint("kind <> 'ocop' OR stars BETWEEN 3 AND 5", name="ocop_has_stars"),
        CheckConstraint("valid_until >= issued_on", name="valid_after_issued"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"), index=True)
    kind: Mapped[CertificationKind] = mapped_column(enum_column(CertificationKind, "certification_kind"))
    stars: Mapped[int | None] = mapped_column(SmallInteger)
    number: Mapped[str] = mapped_column(String(80))
    issuer: Mapped[str | None] = mapped_column(String(200))
    name: Mapped[str | None] = mapped_column(String(120))  # for kind "other"
    issued_on: Mapped[dt.date] = mapped_column(Date)
    valid_until: Mapped[dt.date] = mapped_column(Date, index=True)

    product: Mapped[Product] = relationship(back_populates="certifications")

    def is_valid_on(self, day: dt.date) -> bool:
        return self.issued_on <= day <= self.valid_until


class Batch(db.Model):
    """A production batch with its public traceability page (opened by a QR code)."""

    __tablename__ = "batches"
    __table_args__ = (UniqueConstraint("product_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(60))
    produced_on: Mapped[dt.date] = mapped_column(Date)
    expires_on: Mapped[dt.date | None] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)
    # The public address of the traceability page: unguessable, so batches cannot be enumerated.
    public_token: Mapped[str] = mapped_column(String(40), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    product: Mapped[Product] = relationship(back_populates="batches")
