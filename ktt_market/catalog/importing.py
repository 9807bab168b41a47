"""Bulk create and update of a unit's products from a spreadsheet: plan (no writes), then apply.

Rows are keyed by `sku` within the unit: a code already used updates that product, a new code creates
one. Only `sku` is a required column, so a file of `sku, price_vnd, stock` updates prices and stock;
an empty cell keeps what is stored. Every bad row is reported with its number and reason, and nothing
is written while any row is bad.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from ..accounts.models import User
from ..core.errors import PermissionDenied, ServiceError
from ..core.spreadsheets import Sheet, SpreadsheetError, read_sheet
from ..core.text import fold, nfc
from ..core.validators import parse_whole_number
from ..extensions import db
from ..registry.access import staff_role
from ..registry.models import Unit
from . import services
from .access import selling_message
from .models import Category, Product, SaleUnit

COLUMNS = (
    "sku",
    "name",
    "category",
    "sale_unit",
    "min_quantity",
    "quantity_step",
    "price_vnd",
    "stock",
    "published",
    "description",
)
NUMBER_COLUMNS = ("min_quantity", "quantity_step", "price_vnd", "stock")
# Words people write for a unit of sale, folded (no diacritics, lower case).
_SALE_UNIT_WORDS = {
    **{u.value: u for u in SaleUnit},
    "hop": SaleUnit.BOX,
    "thung": SaleUnit.BOX,
    "chai": SaleUnit.BOTTLE,
    "tui": SaleUnit.BAG,
    "bao": SaleUnit.BAG,
    "cai": SaleUnit.PIECE,
    "trai": SaleUnit.PIECE,
    "qua": SaleUnit.PIECE,
    "goi": SaleUnit.PACK,
    "hu": SaleUnit.JAR,
    "lit": SaleUnit.LITRE,
    "liter": SaleUnit.LITRE,
}
_YES = {"yes", "y", "true", "1", "x", "co", "c"}
_NO = {"no", "n", "false", "0", "khong", "k"}
# The product fields an import sets, in the order a preview lists them, and the column each comes from.
FIELD_COLUMNS = {
    "name": "name",
    "category_id": "category",
    "sale_unit": "sale_unit",
    "min_quantity": "min_quantity",
    "quantity_step": "quantity_step",
    "price_vnd": "price_vnd",
    "stock": "stock",
    "published": "published",
    "description": "description",
}


@dataclass(frozen=True)
class RowError:
    """One reason a row (numbered as people see it in the file; header = 1) cannot be imported."""

    row: int
    message: str


@dataclass(frozen=True)
class Change:
    column: str
    old: Any
    new: Any


@dataclass(frozen=True)
class RowPlan:
    row: int
    sku: str
    action: str  # "create" | "update"
    changes: tuple[Change, ...]


@dataclass
class ProductImportPlan:
    """What a file would do to a unit's products; `apply_import` writes it."""

    unit_id: int
    total_rows: int = 0
    errors: list[RowError] = field(default_factory=list)
    rows: list[RowPlan] = field(default_factory=list)
    unchanged: int = 0
    _writes: list[tuple[int | None, services.ProductData]] = field(default_factory=list, repr=False)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def created(self) -> int:
        return sum(1 for r in self.rows if r.action == "create")

    @property
    def updated(self) -> int:
        return sum(1 for r in self.rows if r.action == "update")

    def summary(self) -> str:
        return _(
            "created %(created)d, updated %(updated)d, unchanged %(unchanged)d",
            created=self.created,
            updated=self.updated,
            unchanged=self.unchanged,
        )


def _check_actor(unit: Unit, actor: User | None) -> None:
    if actor is not None and staff_role(actor, unit.id) is None:
        raise PermissionDenied(_("Only the staff of this unit can manage its products."))


def _categories() -> dict[str, int]:
    """Map what a file may write for a category (its slug, or either name folded) to its id."""
    found: dict[str, int] = {}
    for category in db.session.scalars(select(Category)):
        for word in (category.slug, fold(category.name_vi), fold(category.name_en)):
            found.setdefault(word.lower(), category.id)
    return found


def _parse_row(
    number: int, raw: dict[str, str], categories: dict[str, int]
) -> tuple[str | None, services.ProductData, list[RowError]]:
    errors: list[RowError] = []

    def bad(message: str) -> None:
        errors.append(RowError(number, message))

    data = services.ProductData()
    sku = services.clean_sku(raw.get("sku"))
    if not sku:
        bad(_("missing value in column %(column)s", column="sku"))
    elif len(sku) > services.MAX_SKU:
        bad(_("product code longer than %(n)d characters", n=services.MAX_SKU))
    data.sku = sku

    name = nfc(raw.get("name")) or None
    if name and len(name) > services.MAX_NAME:
        bad(_("name longer than %(n)d characters", n=services.MAX_NAME))
    data.name = name

    category_text = (raw.get("category") or "").strip()
    if category_text:
        category_id = categories.get(fold(category_text))
        if category_id is None:
            bad(_("unknown category %(value)s (use a category's slug, such as trai-cay)", value=category_text))
        data.category_id = category_id

    unit_text = (raw.get("sale_unit") or "").strip()
    if unit_text:
        sale_unit = _SALE_UNIT_WORDS.get(fold(unit_text))
        if sale_unit is None:
            bad(
                _(
                    "unknown unit of sale %(value)s (use %(choices)s)",
                    value=unit_text,
                    choices=", ".join(u.value for u in SaleUnit),
                )
            )
        data.sale_unit = sale_unit

    for column in NUMBER_COLUMNS:
        text = raw.get(column) or ""
        try:
            value = parse_whole_number(text)
        except ValueError:
            bad(_("%(value)s in column %(column)s is not a whole number", value=text.strip(), column=column))
            continue
        setattr(data, column, value)

    published_text = fold(raw.get("published") or "")
    if published_text:
        if published_text in _YES:
            data.published = True
        elif published_text in _NO:
            data.published = False
        else:
            bad(_("write yes or no in column %(column)s, not %(value)s", column="published", value=published_text))

    description = (raw.get("description") or "").strip()
    data.description = description or None
    return sku, data, errors


def plan_import(unit: Unit, data: bytes, *, actor: User | None) -> ProductImportPlan:
    """Check a CSV or XLSX file of products against the unit's catalogue; write nothing."""
    _check_actor(unit, actor)
    try:
        sheet = read_sheet(data)
    except SpreadsheetError:
        plan = ProductImportPlan(unit_id=unit.id)
        plan.errors.append(RowError(1, _("the file cannot be read: upload a UTF-8 CSV or an XLSX file")))
        return plan
    return plan_sheet(unit, sheet, actor=actor)


def plan_sheet(unit: Unit, sheet: Sheet, *, actor: User | None) -> ProductImportPlan:
    """Check rows already read from a file (see `plan_import`); write nothing."""
    _check_actor(unit, actor)
    plan = ProductImportPlan(unit_id=unit.id, total_rows=len(sheet.rows))
    message = selling_message(unit)
    if message:
        plan.errors.append(RowError(1, message))
        return plan
    if "sku" not in sheet.columns:
        plan.errors.append(RowError(1, _("missing required column %(columns)s", columns="sku")))
        return plan
    unknown = [c for c in sheet.columns if c and c not in COLUMNS]
    if unknown:
        plan.errors.append(
            RowError(
                1,
                _(
                    "unknown column %(columns)s (the columns are %(known)s)",
                    columns=", ".join(unknown),
                    known=", ".join(COLUMNS),
                ),
            )
        )
        return plan

    categories = _categories()
    existing = {p.sku: p for p in db.session.scalars(select(Product).where(Product.unit_id == unit.id))}
    first_row_of: dict[str, int] = {}
    for number, raw in sheet.rows:
        sku, data, errors = _parse_row(number, raw, categories)
        if sku:
            if sku in first_row_of:
                errors.append(
                    RowError(
                        number, _("duplicate code %(code)s (first on row %(first)d)", code=sku, first=first_row_of[sku])
                    )
                )
            else:
                first_row_of[sku] = number
        if errors:
            plan.errors.extend(errors)
            continue
        product = existing.get(sku)
        if product is None:
            for column, value in (("name", data.name), ("category", data.category_id), ("price_vnd", data.price_vnd)):
                if value is None:
                    errors.append(
                        RowError(number, _("a new product needs a value in column %(column)s", column=column))
                    )
            if errors:
                plan.errors.extend(errors)
                continue
        # The code was checked above; the service's checks catch everything else (ranges, lengths).
        checked = services.ProductData(**{f.name: getattr(data, f.name) for f in fields(data)})
        checked.sku = None
        errors += [RowError(number, e.message) for e in services.check_product(unit, checked, product=product)]
        if errors:
            plan.errors.extend(errors)
            continue
        if product is None:
            changes = tuple(
                Change(column, None, getattr(data, name))
                for name, column in FIELD_COLUMNS.items()
                if getattr(data, name) is not None
            )
            plan.rows.append(RowPlan(number, sku, "create", changes))
            plan._writes.append((None, data))
            continue
        changes = tuple(
            Change(column, getattr(product, name), getattr(data, name))
            for name, column in FIELD_COLUMNS.items()
            if getattr(data, name) is not None and getattr(data, name) != getattr(product, name)
        )
        if not changes:
            plan.unchanged += 1
            continue
        plan.rows.append(RowPlan(number, sku, "update", changes))
        plan._writes.append((product.id, data))
    plan.errors.sort(key=lambda e: e.row)
    return plan


def apply_import(unit: Unit, plan: ProductImportPlan, *, actor: User | None) -> ProductImportPlan:
    """Write a plan without errors through the product services; the caller commits (one transaction)."""
    if not plan.ok or plan.unit_id != unit.id:
        raise ServiceError(_("The file has errors; nothing was imported."))
    for product_id, data in plan._writes:
        if product_id is None:
            services.create_product(unit, actor=actor, data=data)
        else:
            services.update_product(db.session.get(Product, product_id), actor=actor, data=data)
    return plan


def display_value(column: str, value: Any, categories: dict[int, str] | None = None) -> str:
    """Render a planned value for the preview."""
    from ..core.i18n import number

    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if column == "category" and categories is not None:
        return categories.get(value, str(value))
    if column == "price_vnd":
        from ..core.i18n import vnd

        return vnd(value)
    if column in NUMBER_COLUMNS:
        return number(value)
    if hasattr(value, "value"):
        return str(value.value)
    text = str(value)
    return text if len(text) <= 80 else text[:79] + "…"
