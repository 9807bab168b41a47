"""Catalogue verbs for a unit's staff: products, stock, photos, certificates and batches.

Services flush and never commit; the request commits once. The acting user is explicit (None is the
command line or the demo loader, which are trusted). Every rule about what a product may hold lives
here, so that forms, the spreadsheet import and the demo all obey the same ones.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import ColumnElement, and_, exists, func, select

from ..accounts.models import User
from ..audit import services as audit
from ..core.errors import PermissionDenied, ServiceError
from ..core.i18n import local_today
from ..core.images import store_image
from ..core.storage import get_storage
from ..core.text import fold, nfc
from ..extensions import db
from ..registry.access import staff_role
from ..registry.models import Unit
from .access import require_can_sell
from .models import Batch, Category, Certification, CertificationKind, Product, ProductImage, SaleUnit

SKU_PREFIX = "SP"  # sản phẩm
_AUTO_SKU = re.compile(rf"^{SKU_PREFIX}(\d+)$")
MAX_SKU, MAX_NAME, MAX_DESCRIPTION = 40, 200, 10_000
MAX_PRICE_VND = 10_000_000_000  # ten billion đồng: anything above is a typing slip
MAX_QUANTITY = 1_000_000_000  # fits the Integer columns with room to spare
MAX_IMAGES = 10
OCOP_MONTHS = 36  # Decision 148/QĐ-TTg: an OCOP certificate is valid 36 months
VIETGAP_MONTHS = 24  # a VietGAP certificate is valid at most two years


# ------------------------------------------------------------------ data and checks


@dataclass
class ProductData:
    """What a form, an import row or the demo says about a product. None means "keep" on update."""

    name: str | None = None
    category_id: int | None = None
    price_vnd: int | None = None
    sale_unit: SaleUnit | str | None = None
    sku: str | None = None
    description: str | None = None
    min_quantity: int | None = None
    quantity_step: int | None = None
    stock: int | None = None
    low_stock_threshold: int | None = None
    published: bool | None = None

    @classmethod
    def of(cls, data: ProductData | Mapping[str, Any]) -> ProductData:
        """Accept a ProductData or a mapping of its fields (unknown keys are ignored)."""
        if isinstance(data, ProductData):
            return data
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


# Defaults a new product takes for what the data leaves out.
_CREATE_DEFAULTS = {
    "sale_unit": SaleUnit.KG,
    "min_quantity": 1,
    "quantity_step": 1,
    "stock": 0,
    "low_stock_threshold": 5,
    "published": False,
}


def clean_sku(value: str | None) -> str | None:
    """Normalise a product code: NFC, no blanks around, upper case ("sp01" and "SP01" are one)."""
    return (nfc(value) or "").upper() or None


def _check_actor(unit: Unit, actor: User | None) -> None:
    # Views already 404 for outsiders; this keeps the rule true for every other caller too.
    if actor is not None and staff_role(actor, unit.id) is None:
        raise PermissionDenied(_("Only the staff of this unit can manage its products."))


def _lock_unit(unit: Unit) -> None:
    # Two staff creating products at once must not both take the same automatic code (PostgreSQL;
    # SQLite has a single writer anyway and ignores FOR UPDATE).
    db.session.execute(select(Unit.id).where(Unit.id == unit.id).with_for_update())


def next_sku(unit: Unit) -> str:
    """Return the next free automatic product code of `unit` ("SP0001", "SP0002", ...)."""
    codes = db.session.scalars(
        select(Product.sku).where(Product.unit_id == unit.id, Product.sku.like(f"{SKU_PREFIX}%"))
    )
    numbers = [int(m.group(1)) for c in codes if (m := _AUTO_SKU.match(c))]
    return f"{SKU_PREFIX}{max(numbers, default=0) + 1:04d}"


def sku_taken(unit: Unit, sku: str, product: Product | None = None) -> bool:
    """Tell whether another product of `unit` already has `sku`."""
    query = select(Product.id).where(Product.unit_id == unit.id, Product.sku == sku)
    if product is not None and product.id is not None:
        query = query.where(Product.id != product.id)
    return db.session.scalar(query.limit(1)) is not None


def check_product(unit: Unit, data: ProductData, *, product: Product | None = None) -> list[ServiceError]:
    """Return every reason `data` cannot be saved for `unit` (empty when it can), each with its field."""
    errors: list[ServiceError] = []

    def bad(field: str, message: str) -> None:
        errors.append(ServiceError(message, field))

    creating = product is None
    name = nfc(data.name) if data.name is not None else None
    if creating or data.name is not None:
        if not name:
            bad("name", _("Enter the product's name."))
        elif len(name) > MAX_NAME:
            bad("name", _("At most %(n)d characters.", n=MAX_NAME))
    if creating or data.category_id is not None:
        if data.category_id is None or db.session.get(Category, data.category_id) is None:
            bad("category_id", _("Choose a category from the list."))
    if creating or data.price_vnd is not None:
        if data.price_vnd is None:
            bad("price_vnd", _("Enter the price in đồng."))
        elif not isinstance(data.price_vnd, int) or data.price_vnd <= 0:
            bad("price_vnd", _("The price must be a whole number of đồng above zero."))
        elif data.price_vnd > MAX_PRICE_VND:
            bad("price_vnd", _("The price is too high: check the number."))
    if data.sale_unit is not None:
        try:
            SaleUnit(data.sale_unit)
        except ValueError:
            bad("sale_unit", _("Choose a unit of sale from the list."))
    for field, least, message in (
        ("min_quantity", 1, _("The minimum quantity must be at least 1.")),
        ("quantity_step", 1, _("The quantity step must be at least 1.")),
        ("stock", 0, _("Stock cannot be negative.")),
        ("low_stock_threshold", 0, _("The low-stock warning cannot be negative.")),
    ):
        value = getattr(data, field)
        if value is None:
            continue
        if not isinstance(value, int) or value < least:
            bad(field, message)
        elif value > MAX_QUANTITY:
            bad(field, _("The number is too large: check it."))
    if data.description is not None and len(data.description) > MAX_DESCRIPTION:
        bad("description", _("At most %(n)d characters.", n=MAX_DESCRIPTION))
    sku = clean_sku(data.sku)
    if sku is not None:
        if len(sku) > MAX_SKU:
            bad("sku", _("At most %(n)d characters.", n=MAX_SKU))
        elif sku_taken(unit, sku, product):
            bad("sku", _("Another product of this unit already has the code %(sku)s.", sku=sku))
    return errors


def _raise_first(errors: list[ServiceError]) -> None:
    if errors:
        raise errors[0]


# ------------------------------------------------------------------ search fields


def category_names(category: Category | None) -> list[str]:
    """Return the names (both languages) of a category and its ancestors, nearest first."""
    names: list[str] = []
    seen: set[int] = set()
    while category is not None and category.id not in seen:
        seen.add(category.id)
        names += [category.name_vi, category.name_en]
        category = category.parent
    return names


def refresh_search_fields(product: Product) -> None:
    """Recompute the product's folded search text and its copy of the unit's province."""
    unit = product.unit if product.unit is not None else db.session.get(Unit, product.unit_id)
    category = product.category if product.category is not None else db.session.get(Category, product.category_id)
    product.search_text = fold(" ".join([product.name or "", unit.name, *category_names(category)]))
    product.province_code = unit.province_code


# ------------------------------------------------------------------ products


def _apply(product: Product, data: ProductData) -> None:
    if data.name is not None:
        product.name = nfc(data.name)
    if data.category_id is not None:
        product.category = db.session.get(Category, data.category_id)
    if data.sale_unit is not None:
        product.sale_unit = SaleUnit(data.sale_unit)
    if data.description is not None:
        # Line breaks are the writer's paragraphs: keep them (NFC is applied on flush).
        product.description = data.description.strip() or None
    for name in ("price_vnd", "min_quantity", "quantity_step", "stock", "low_stock_threshold"):
        value = getattr(data, name)
        if value is not None:
            setattr(product, name, value)


def create_product(unit: Unit, *, actor: User | None, data: ProductData | Mapping[str, Any]) -> Product:
    """Add a product to `unit`; a blank code gets the next automatic one (SP0001, ...)."""
    _check_actor(unit, actor)
    require_can_sell(unit)
    data = ProductData.of(data)
    _raise_first(check_product(unit, data))
    _lock_unit(unit)
    product = Product(unit=unit, sku=clean_sku(data.sku) or next_sku(unit))
    for name, default in _CREATE_DEFAULTS.items():
        setattr(product, name, default)
    _apply(product, data)
    product.published = bool(data.published)
    refresh_search_fields(product)
    db.session.add(product)
    db.session.flush()
    return product


def update_product(product: Product, *, actor: User | None, data: ProductData | Mapping[str, Any]) -> Product:
    """Change what `data` sets of a product (None fields are kept); publishing needs an approved unit."""
    unit = product.unit
    _check_actor(unit, actor)
    data = ProductData.of(data)
    _raise_first(check_product(unit, data, product=product))
    sku = clean_sku(data.sku)
    if sku is not None:
        product.sku = sku
    _apply(product, data)
    if data.published is not None and data.published != product.published:
        _set_published(product, data.published)
    refresh_search_fields(product)
    db.session.flush()
    return product


def _set_published(product: Product, published: bool) -> None:
    if published:
        require_can_sell(product.unit)
    product.published = published


def set_published(product: Product, *, actor: User | None, published: bool) -> Product:
    """Put a product on sale or take it off; only an approved unit may put one on sale."""
    _check_actor(product.unit, actor)
    _set_published(product, published)
    db.session.flush()
    return product


def adjust_stock(product: Product, *, actor: User | None, stock: int) -> Product:
    """Set the stock on hand to what the staff counted (a whole number, zero or more)."""
    _check_actor(product.unit, actor)
    if not isinstance(stock, int) or isinstance(stock, bool) or stock < 0:
        raise ServiceError(_("Stock cannot be negative."), "stock")
    if stock > MAX_QUANTITY:
        raise ServiceError(_("The number is too large: check it."), "stock")
    # Wait for a checkout that is taking stock from this product right now, then set the counted value.
    db.session.execute(select(Product.id).where(Product.id == product.id).with_for_update())
    product.stock = stock
    db.session.flush()
    return product


# ------------------------------------------------------------------ photos


def add_image(product: Product, *, actor: User | None, data: bytes, alt: str | None = None) -> ProductImage:
    """Check, clean and store a photo of the product (last in order); raise ImageRejected when refused.

    The files are written before the transaction commits: a rolled-back request leaves two unreferenced
    files behind, never a row without its file.
    """
    _check_actor(product.unit, actor)
    if len(product.images) >= MAX_IMAGES:
        raise ServiceError(_("A product can have at most %(n)d photos.", n=MAX_IMAGES), "file")
    stored = store_image(data)
    position = max((i.position for i in product.images), default=-1) + 1
    image = ProductImage(
        key=stored.key,
        thumb_key=stored.thumb_key,
        width=stored.width,
        height=stored.height,
        position=position,
        alt=(nfc(alt) or None) if alt else None,
    )
    product.images.append(image)
    db.session.flush()
    return image


def remove_image(image: ProductImage, *, actor: User | None) -> list[str]:
    """Remove a photo; return its storage keys, for `delete_files` once the transaction committed."""
    product = image.product
    _check_actor(product.unit, actor)
    keys = [image.key, image.thumb_key]
    product.images.remove(image)
    for position, other in enumerate(product.images):
        other.position = position
    db.session.flush()
    return keys


def move_image(image: ProductImage, *, actor: User | None, offset: int) -> None:
    """Move a photo earlier (-1) or later (+1) in the product's order; the first is the main photo."""
    product = image.product
    _check_actor(product.unit, actor)
    images = sorted(product.images, key=lambda i: (i.position, i.id))
    index = images.index(image)
    target = index + (1 if offset > 0 else -1)
    if 0 <= target < len(images):
        images[index], images[target] = images[target], images[index]
    for position, other in enumerate(images):
        other.position = position
    db.session.flush()


def delete_files(keys: list[str]) -> None:
    """Delete stored files (call after the commit that dropped their rows)."""
    storage = get_storage()
    for key in keys:
        storage.delete(key)


# ------------------------------------------------------------------ certifications


@dataclass
class CertificationData:
    kind: CertificationKind | str
    number: str | None = None
    issued_on: dt.date | None = None
    valid_until: dt.date | None = None
    stars: int | None = None
    issuer: str | None = None
    name: str | None = None


def add_months(day: dt.date, months: int) -> dt.date:
    """Return the same day `months` later (the month's last day when it is shorter)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def add_certification(product: Product, *, actor: User | None, data: CertificationData) -> Certification:
    """Record a certificate of the product: OCOP (3 to 5 stars, 36 months), VietGAP (2 years), organic, other."""
    _check_actor(product.unit, actor)
    try:
        kind = CertificationKind(data.kind)
    except ValueError:
        raise ServiceError(_("Choose a kind of certificate from the list."), "kind") from None
    number = nfc(data.number)
    if not number:
        raise ServiceError(_("Enter the certificate number."), "number")
    if len(number) > 80:
        raise ServiceError(_("At most %(n)d characters.", n=80), "number")
    if data.issued_on is None:
        raise ServiceError(_("Enter the date the certificate was issued."), "issued_on")
    if data.issued_on > local_today():
        raise ServiceError(_("The date cannot be in the future."), "issued_on")
    issuer = nfc(data.issuer) or None
    if issuer and len(issuer) > 200:
        raise ServiceError(_("At most %(n)d characters.", n=200), "issuer")
    name = nfc(data.name) or None
    stars = None
    valid_until = data.valid_until
    longest = None
    if kind is CertificationKind.OCOP:
        if data.stars not in (3, 4, 5):
            raise ServiceError(_("An OCOP certificate has 3, 4 or 5 stars."), "stars")
        stars = data.stars
        longest = OCOP_MONTHS
    elif kind is CertificationKind.VIETGAP:
        longest = VIETGAP_MONTHS
    elif kind is CertificationKind.OTHER:
        if not name:
            raise ServiceError(_("Enter the name of the certificate."), "name")
        if len(name) > 120:
            raise ServiceError(_("At most %(n)d characters.", n=120), "name")
    if kind is not CertificationKind.OTHER:
        name = None
    if valid_until is None:
        if longest is None:
            raise ServiceError(_("Enter the date the certificate is valid until."), "valid_until")
        valid_until = add_months(data.issued_on, longest)
    if valid_until < data.issued_on:
        raise ServiceError(_("A certificate cannot end before it was issued."), "valid_until")
    if longest is not None and valid_until > add_months(data.issued_on, longest):
        raise ServiceError(
            _("This certificate is valid at most %(n)d months after it was issued.", n=longest), "valid_until"
        )
    certification = Certification(
        kind=kind,
        stars=stars,
        number=number,
        issuer=issuer,
        name=name,
        issued_on=data.issued_on,
        valid_until=valid_until,
    )
    product.certifications.append(certification)
    db.session.flush()
    return certification


def remove_certification(certification: Certification, *, actor: User | None) -> None:
    """Remove a certificate from its product."""
    product = certification.product
    _check_actor(product.unit, actor)
    product.certifications.remove(certification)
    db.session.flush()


def valid_certifications(product: Product, today: dt.date | None = None) -> list[Certification]:
    """Return the product's certificates in force on `today` (Vietnam's today by default)."""
    today = today or local_today()
    return [c for c in product.certifications if c.is_valid_on(today)]


def certified_filter(kind: CertificationKind | str | None, today: dt.date | None = None) -> ColumnElement[bool]:
    """Return an EXISTS clause: the product has a certificate of `kind` (any kind when None) in force today.

    Use it in a product query: `select(Product).where(certified_filter("ocop"))`.
    """
    today = today or local_today()
    conditions = [
        Certification.product_id == Product.id,
        Certification.issued_on <= today,
        Certification.valid_until >= today,
    ]
    if kind is not None:
        conditions.append(Certification.kind == CertificationKind(kind))
    return exists().where(and_(*conditions))


def ocop_stars(product: Product, today: dt.date | None = None) -> int | None:
    """Return the highest OCOP rating in force for the product, or None."""
    stars = [c.stars for c in valid_certifications(product, today) if c.kind is CertificationKind.OCOP and c.stars]
    return max(stars, default=None)


# ------------------------------------------------------------------ batches


@dataclass
class BatchData:
    code: str | None
    produced_on: dt.date | None
    expires_on: dt.date | None = None
    note: str | None = None


def add_batch(product: Product, *, actor: User | None, data: BatchData) -> Batch:
    """Record a production batch with its unguessable public traceability token."""
    _check_actor(product.unit, actor)
    code = nfc(data.code)
    if not code:
        raise ServiceError(_("Enter the batch code."), "code")
    if len(code) > 60:
        raise ServiceError(_("At most %(n)d characters.", n=60), "code")
    if data.produced_on is None:
        raise ServiceError(_("Enter the harvest or production date."), "produced_on")
    if data.produced_on > local_today():
        raise ServiceError(_("The date cannot be in the future."), "produced_on")
    if data.expires_on is not None and data.expires_on < data.produced_on:
        raise ServiceError(_("A batch cannot expire before it was produced."), "expires_on")
    duplicate = db.session.scalar(
        select(func.count()).select_from(Batch).where(Batch.product_id == product.id, Batch.code == code)
    )
    if duplicate:
        raise ServiceError(_("This product already has a batch with the code %(code)s.", code=code), "code")
    batch = Batch(
        code=code,
        produced_on=data.produced_on,
        expires_on=data.expires_on,
        note=(data.note or "").strip() or None,
        public_token=secrets.token_urlsafe(16),
    )
    product.batches.append(batch)
    db.session.flush()
    return batch


def remove_batch(batch: Batch, *, actor: User | None) -> None:
    """Remove a batch (its traceability page stops working)."""
    product = batch.product
    _check_actor(product.unit, actor)
    product.batches.remove(batch)
    db.session.flush()


def batch_by_token(token: str) -> Batch | None:
    """Return the batch behind a public traceability token, or None."""
    if not token or len(token) > 40:
        return None
    return db.session.scalar(select(Batch).where(Batch.public_token == token))


# ------------------------------------------------------------------ lists


def products_of(unit: Unit) -> list[Product]:
    """Return the unit's products by name, for its staff."""
    return list(
        db.session.scalars(select(Product).where(Product.unit_id == unit.id).order_by(Product.name, Product.id))
    )


# ------------------------------------------------------------------ the category tree (platform admins)

_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


@dataclass
class CategoryData:
    slug: str
    name_vi: str
    name_en: str
    parent_id: int | None = None
    position: int = 0


def _check_category(data: CategoryData, category: Category | None) -> None:
    if not _SLUG.match(data.slug or ""):
        raise ServiceError(_("Use lower-case letters without accents, digits and hyphens (e.g. buoi-da-xanh)."), "slug")
    taken = db.session.scalar(select(Category.id).where(Category.slug == data.slug))
    if taken is not None and (category is None or taken != category.id):
        raise ServiceError(_("Another category already uses this address."), "slug")
    if not (nfc(data.name_vi) and nfc(data.name_en)):
        raise ServiceError(_("Give the name in Vietnamese and in English."), "name_vi")
    if data.parent_id is not None:
        parent = db.session.get(Category, data.parent_id)
        if parent is None:
            raise ServiceError(_("Choose a parent category from the list."), "parent_id")
        # A category cannot move under itself or one of its own descendants.
        while category is not None and parent is not None:
            if parent.id == category.id:
                raise ServiceError(_("A category cannot be placed under itself."), "parent_id")
            parent = parent.parent


CATEGORY_FIELDS = ("slug", "name_vi", "name_en", "parent_id", "position")


def _require_admin(actor: User) -> None:
    if actor is None or not actor.is_admin:
        raise PermissionDenied(_("Only platform admins manage the category tree."))


def create_category(*, actor: User, data: CategoryData) -> Category:
    """Add a category to the tree."""
    _require_admin(actor)
    _check_category(data, None)
    category = Category(
        slug=data.slug,
        name_vi=nfc(data.name_vi),
        name_en=nfc(data.name_en),
        parent_id=data.parent_id,
        position=data.position,
    )
    db.session.add(category)
    db.session.flush()
    audit.record(
        "catalog.category.create",
        actor=actor,
        obj=category,
        summary=f"Added the category {category.name_en} ({category.slug})",
        after=audit.snapshot(category, CATEGORY_FIELDS),
    )
    return category


def update_category(category: Category, *, actor: User, data: CategoryData) -> Category:
    """Rename or move a category; its products' search text follows the new names."""
    _require_admin(actor)
    _check_category(data, category)
    before = audit.snapshot(category, CATEGORY_FIELDS)
    category.slug = data.slug
    category.name_vi = nfc(data.name_vi)
    category.name_en = nfc(data.name_en)
    category.parent_id = data.parent_id
    category.position = data.position
    db.session.flush()
    changed_before, changed_after = audit.changes(before, audit.snapshot(category, CATEGORY_FIELDS))
    if changed_after:
        audit.record(
            "catalog.category.update",
            actor=actor,
            obj=category,
            summary=f"Edited the category {category.name_en} ({category.slug})",
            before=changed_before,
            after=changed_after,
        )
    db.session.expire(category, ["parent"])
    affected = _with_descendants(category.id)
    # Renames are rare admin acts: re-folding the products of the subtree one by one is acceptable.
    for product in db.session.scalars(select(Product).where(Product.category_id.in_(affected))).yield_per(500):
        refresh_search_fields(product)
    return category


def _with_descendants(category_id: int) -> list[int]:
    ids, frontier = [category_id], [category_id]
    while frontier:
        frontier = list(db.session.scalars(select(Category.id).where(Category.parent_id.in_(frontier))))
        ids += frontier
    return ids
