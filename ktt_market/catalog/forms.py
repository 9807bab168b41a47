"""Forms of product management. Category choices depend on the stored tree and are filled by the view."""

from __future__ import annotations

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from sqlalchemy import select
from wtforms import BooleanField, DateField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from ..extensions import db
from ..registry.forms import WholeNumberField
from .models import Category, CertificationKind, SaleUnit

SALE_UNIT_LABELS = {
    SaleUnit.KG: _l("kg"),
    SaleUnit.BOX: _l("box"),
    SaleUnit.BOTTLE: _l("bottle"),
    SaleUnit.BAG: _l("bag"),
    SaleUnit.PIECE: _l("piece"),
    SaleUnit.PACK: _l("pack"),
    SaleUnit.JAR: _l("jar"),
    SaleUnit.LITRE: _l("litre"),
}
CERTIFICATION_LABELS = {
    CertificationKind.OCOP: _l("OCOP"),
    CertificationKind.VIETGAP: _l("VietGAP"),
    CertificationKind.ORGANIC: _l("Organic"),
    CertificationKind.OTHER: _l("Other certificate"),
}


def _options(items, blank=None) -> list[SelectChoice]:
    # SelectChoice, not tuples: WTForms 3.3 deprecates tuple choices (and tests treat warnings as errors).
    options = [SelectChoice("", blank)] if blank is not None else []
    return options + [SelectChoice(str(value), label) for value, label in items]


def category_choices(blank=None) -> list[SelectChoice]:
    """Return the category tree as choices, children indented under their parent."""
    categories = list(db.session.scalars(select(Category).order_by(Category.position, Category.id)))
    locale = str(get_locale() or "vi")
    children: dict[int | None, list[Category]] = {}
    for category in categories:
        children.setdefault(category.parent_id, []).append(category)
    items: list[tuple[int, str]] = []

    def walk(parent_id: int | None, depth: int) -> None:
        for category in children.get(parent_id, []):
            items.append((category.id, "— " * depth + category.name(locale)))
            walk(category.id, depth + 1)

    walk(None, 0)
    return _options(items, blank)


class CountField(WholeNumberField):
    """A whole number of sale units."""


class ProductForm(FlaskForm):
    name = StringField(_l("Product name"), validators=[DataRequired(), Length(max=200)])
    sku = StringField(
        _l("Product code (optional)"),
        validators=[Optional(), Length(max=40)],
        filters=[lambda v: v.strip() if v else v],
    )
    category_id = SelectField(_l("Product category"), validators=[InputRequired()])
    sale_unit = SelectField(
        _l("Unit of sale"),
        choices=_options((u.value, label) for u, label in SALE_UNIT_LABELS.items()),
        default=SaleUnit.KG.value,
        validators=[InputRequired()],
    )
    price_vnd = WholeNumberField(_l("Price per unit of sale (đồng)"), validators=[InputRequired()])
    min_quantity = CountField(_l("Minimum quantity per order"), default=1, validators=[InputRequired()])
    quantity_step = CountField(_l("Quantity step"), default=1, validators=[InputRequired()])
    low_stock_threshold = CountField(_l("Warn when stock falls to"), default=5, validators=[InputRequired()])
    description = TextAreaField(_l("Description (optional)"), validators=[Optional(), Length(max=10_000)])

    def validate_category_id(self, field):
        if field.data and not str(field.data).isdigit():
            raise ValidationError(_l("Choose a category from the list."))

    def validate_price_vnd(self, field):
        if field.data is not None and field.data <= 0:
            raise ValidationError(_l("The price must be a whole number of đồng above zero."))

    def validate_min_quantity(self, field):
        if field.data is not None and field.data < 1:
            raise ValidationError(_l("The minimum quantity must be at least 1."))

    def validate_quantity_step(self, field):
        if field.data is not None and field.data < 1:
            raise ValidationError(_l("The quantity step must be at least 1."))


class NewProductForm(ProductForm):
    stock = CountField(_l("Stock on hand"), default=0, validators=[InputRequired()])
    published = BooleanField(_l("Put on sale now"))


class StockForm(FlaskForm):
    stock = CountField(_l("Stock on hand"), validators=[InputRequired()])


class ImageForm(FlaskForm):
    file = FileField(_l("Photo (JPEG, PNG or WebP)"), validators=[FileRequired(_l("Choose a photo."))])
    alt = StringField(_l("What the photo shows (optional)"), validators=[Optional(), Length(max=200)])


class CertificationForm(FlaskForm):
    kind = SelectField(
        _l("Kind"),
        choices=_options((k.value, label) for k, label in CERTIFICATION_LABELS.items()),
        validators=[InputRequired()],
    )
    stars = SelectField(
        _l("OCOP stars"),
        choices=_options(((n, str(n)) for n in (3, 4, 5)), _l("Not OCOP")),
        validators=[Optional()],
    )
    name = StringField(_l("Name of the certificate (for another kind)"), validators=[Optional(), Length(max=120)])
    number = StringField(_l("Certificate number"), validators=[DataRequired(), Length(max=80)])
    issuer = StringField(_l("Issued by (optional)"), validators=[Optional(), Length(max=200)])
    issued_on = DateField(_l("Issued on"), validators=[DataRequired()])
    valid_until = DateField(_l("Valid until"), validators=[Optional()])


class BatchForm(FlaskForm):
    code = StringField(_l("Batch code"), validators=[DataRequired(), Length(max=60)])
    produced_on = DateField(_l("Harvest or production date"), validators=[DataRequired()])
    expires_on = DateField(_l("Expiry date (optional)"), validators=[Optional()])
    note = TextAreaField(_l("Note (optional)"), validators=[Optional(), Length(max=2000)])


class ImportForm(FlaskForm):
    file = FileField(_l("Product file (CSV or XLSX)"), validators=[FileRequired(_l("Choose a file."))])


class CategoryForm(FlaskForm):
    parent_id = SelectField(_l("Parent category"), validators=[Optional()])
    name_vi = StringField(_l("Name in Vietnamese"), validators=[DataRequired(), Length(max=120)])
    name_en = StringField(_l("Name in English"), validators=[DataRequired(), Length(max=120)])
    slug = StringField(
        _l("Address in links"),
        validators=[DataRequired(), Length(max=80)],
        filters=[lambda v: v.strip().lower() if v else v],
    )
    position = CountField(_l("Position among its siblings"), default=0)
