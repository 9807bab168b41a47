"""Public catalogue pages: home, categories, search, cooperative storefronts and product pages."""

from __future__ import annotations

import functools
from dataclasses import replace

from flask import Blueprint, abort, current_app, render_template, request, url_for
from flask_babel import format_decimal, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from markupsafe import Markup, escape
from werkzeug.routing import BuildError
from wtforms import SearchField, SelectField, StringField
from wtforms.validators import Optional
from wtforms.widgets import Select, html_params

from ..core import places
from ..core.i18n import local_today
from ..core.pagecache import anonymous_page_cache
from ..reviews.services import product_reviews, unit_rating
from . import search
from .forms import CERTIFICATION_LABELS, SALE_UNIT_LABELS
from .models import Category, Product

REVIEWS_ON_PAGE = 5

bp = Blueprint("catalog", __name__)

SORT_LABELS = {
    search.Sort.RELEVANCE: _l("Most relevant"),
    search.Sort.NEWEST: _l("Newest"),
    search.Sort.PRICE_ASC: _l("Price: low to high"),
    search.Sort.PRICE_DESC: _l("Price: high to low"),
    search.Sort.RATING: _l("Best rated"),
}


class PrerenderedSelect(Select):
    """A select whose option list is rendered once per list of choices; only the chosen option changes.

    The province and category lists are long and the same for every visitor of a language: rendering
    them option by option on every listing page was a large part of its cost. The output is the same
    markup as WTForms' own Select widget; every select of the filter form uses it.
    """

    def __call__(self, field, **kwargs) -> Markup:
        kwargs.setdefault("id", field.id)
        flags = getattr(field, "flags", {})
        for k in dir(flags):
            if k in self.validation_attrs and k not in kwargs:
                kwargs[k] = getattr(flags, k)
        options = _options_html(tuple((str(value), str(label)) for value, label in field.choices))
        if field.data is not None:
            plain = f"<option {html_params(value=str(field.data))}>"
            options = options.replace(plain, f"<option {html_params(value=str(field.data), selected=True)}>", 1)
        # Every label and value in `options` was escaped by _options_html and html_params.
        return Markup(f"<select {html_params(name=field.name, **kwargs)}>{options}</select>")  # noqa: S704


@functools.lru_cache(maxsize=64)
def _options_html(choices: tuple[tuple[str, str], ...]) -> str:
    """Render the <option> elements of a select, none chosen (the labels carry the language)."""
    return "".join(f"<option {html_params(value=value)}>{escape(label or value)}</option>" for value, label in choices)


@functools.lru_cache(maxsize=8)
def _province_choices(locale: str) -> tuple[tuple[str, str], ...]:
    """Return the province filter's choices in `locale` (the list is fixed for the life of the process)."""
    return (("", _("All provinces")), *((str(code), name) for code, name in places.provinces().items()))


class FilterForm(FlaskForm):
    """The catalogue's filters, sent by GET so that results can be linked and work without JavaScript."""

    class Meta:
        csrf = False

    q = SearchField(_l("Search products or cooperatives"), validators=[Optional()])
    category = SelectField(_l("Product category"), validators=[Optional()], widget=PrerenderedSelect())
    province = SelectField(_l("Province"), validators=[Optional()], widget=PrerenderedSelect())
    cert = SelectField(_l("Certification"), validators=[Optional()], widget=PrerenderedSelect())
    min_price = StringField(_l("Price from (đồng)"), validators=[Optional()])
    max_price = StringField(_l("Price up to (đồng)"), validators=[Optional()])
    sort = SelectField(_l("Sort by"), validators=[Optional()], widget=PrerenderedSelect())


def _filter_form(filters: search.Filters, all_categories: list[Category]) -> FilterForm:
    """Build the filter form showing the values in force (bad ones already dropped)."""
    form = FilterForm(formdata=None)
    locale = str(get_locale())
    form.q.data = filters.q
    form.category.choices = [("", _("All categories"))] + [
        (c.slug, ("— " if c.parent_id else "") + c.name(locale)) for c in _tree_order(all_categories)
    ]
    form.category.data = filters.category.slug if filters.category else ""
    form.province.choices = _province_choices(locale)
    form.province.data = str(filters.province) if filters.province else ""
    form.cert.choices = [("", _("Any"))] + [(k.value, CERTIFICATION_LABELS[k]) for k in search.FILTER_CERTIFICATIONS]
    form.cert.data = filters.cert.value if filters.cert else ""
    form.min_price.data = str(filters.min_price) if filters.min_price is not None else ""
    form.max_price.data = str(filters.max_price) if filters.max_price is not None else ""
    form.min_price.render_kw = form.max_price.render_kw = {"inputmode": "numeric"}
    sorts = [s for s in search.Sort if s is not search.Sort.RELEVANCE or filters.words]
    form.sort.choices = [(s.value, SORT_LABELS[s]) for s in sorts]
    form.sort.data = filters.sort.value
    return form


def _tree_order(all_categories: list[Category]) -> list[Category]:
    """Return top-level categories each followed by its children."""
    children: dict[int | None, list[Category]] = {}
    for c in all_categories:
        children.setdefault(c.parent_id, []).append(c)
    ordered = []
    for top in children.get(None, []):
        ordered.append(top)
        ordered.extend(children.get(top.id, []))
    return ordered


def has_endpoint(name: str) -> bool:
    """Whether the application has a view called `name` (areas built later hook in this way)."""
    return name in current_app.view_functions


def stock_state(product: Product) -> tuple[str, str]:
    """Return (css class, words) for a product's stock: in stock, only a few left, or sold out."""
    # Keep in step with product_card in templates/catalog/_macros.html, which writes this out.
    if product.stock <= 0:
        return "bad", _("Sold out")
    if product.stock <= product.low_stock_threshold:
        return "warn", _("Only %(n)s left", n=product.stock)
    return "ok", _("In stock")


def card_words() -> dict:
    """Return the fixed words of a product card in the current language."""
    return _card_words(str(get_locale()))


@functools.lru_cache(maxsize=8)
def _card_words(locale: str) -> dict:
    # Translated once per language: a listing page asked Babel for the same words on every card.
    return {
        "units": {unit: str(label) for unit, label in SALE_UNIT_LABELS.items()},
        "sold_out": _("Sold out"),
        "in_stock": _("In stock"),
        "no_reviews": _("No reviews yet"),
    }


def rating_number(value: float | None) -> str:
    """Format an average rating with one decimal, as the current language writes it (4,5 or 4.5)."""
    return format_decimal(value or 0, format="0.0")


def batch_trace_url(batch) -> str | None:
    """Return the public traceability address of `batch`, or None while no such page exists."""
    # The page belongs to the traceability work (catalog/traceability.py); link to it only if it is there.
    if not has_endpoint("trace.page"):
        return None
    try:
        return url_for("trace.page", public_token=batch.public_token)
    except BuildError:
        return None


@bp.app_context_processor
def _catalog_helpers() -> dict:
    return {
        "has_endpoint": has_endpoint,
        "stock_state": stock_state,
        "card_words": card_words,
        "rating_number": rating_number,
        "batch_trace_url": batch_trace_url,
        "province_name": places.province_name,
        "SALE_UNIT_LABELS": SALE_UNIT_LABELS,
        "CERTIFICATION_LABELS": CERTIFICATION_LABELS,
    }


# ---------------------------------------------------------------- pages


def home_page():
    """Render the catalogue home: categories, featured and newest products, a search box."""
    today = local_today()
    all_categories = search.categories()
    return render_template(
        "catalog/home.html",
        tree=_tree_order(all_categories),
        featured=search.highlighted(today=today, featured=True),
        newest=search.highlighted(today=today, featured=False),
    )


@bp.get("/search")
@anonymous_page_cache
def search_page():
    all_categories = search.categories()
    filters = search.parse_filters(request.args, all_categories=all_categories)
    results = search.search_products(filters, today=local_today())
    return render_template(
        "catalog/search.html",
        results=results,
        filters=filters,
        form=_filter_form(filters, all_categories),
        args=filters.args(),
    )


@bp.get("/c/<slug>")
@anonymous_page_cache
def category(slug: str):
    all_categories = search.categories()
    found = next((c for c in all_categories if c.slug == slug), None)
    if found is None:
        abort(404)
    args = {k: v for k, v in request.args.items() if k != "category"}
    filters = search.parse_filters(args, all_categories=all_categories)
    filters = replace(filters, category=found, category_ids=search.subtree_ids(found, all_categories))
    results = search.search_products(filters, today=local_today())
    children = [c for c in all_categories if c.parent_id == found.id]
    return render_template(
        "catalog/category.html",
        category=found,
        children=children,
        results=results,
        filters=filters,
        form=_filter_form(filters, all_categories),
        args={k: v for k, v in filters.args().items() if k != "category"},
    )


def _address(unit, *, street: bool) -> str:
    street_part = unit.street if street else None
    parts = (street_part, places.ward_name(unit.ward_code), places.province_name(unit.province_code))
    return ", ".join(part for part in parts if part)


@bp.get("/store/<int:unit_id>")
@anonymous_page_cache
def store(unit_id: int):
    unit = search.storefront_unit(unit_id)
    if unit is None:
        abort(404)
    args = {k: v for k, v in request.args.items() if k in ("sort", "page")}
    filters = replace(search.parse_filters(args, all_categories=[]), unit_id=unit.id)
    results = search.search_products(filters, today=local_today())
    # The cooperative's own rating, as buyers gave it in their reviews.
    rating, rating_count = unit_rating(unit.id)
    return render_template(
        "catalog/store.html",
        unit=unit,
        results=results,
        rating_value=rating,
        rating_count=rating_count,
        address=_address(unit, street=True),
        sort_choices=[(s.value, SORT_LABELS[s]) for s in search.Sort if s is not search.Sort.RELEVANCE],
        filters=filters,
        args=filters.args(),
    )


@bp.get("/p/<int:product_id>")
@anonymous_page_cache  # stock shown may be seconds old; the cart and checkout count the real stock
def product(product_id: int):
    found = search.sellable_product(product_id)
    if found is None:
        abort(404)
    today = local_today()
    unit = found.unit
    return render_template(
        "catalog/product.html",
        product=found,
        unit=unit,
        certifications=search.valid_certifications(found, today),
        reviews=product_reviews(found.id, page=1, per_page=REVIEWS_ON_PAGE).items,
        unit_place=_address(unit, street=False),
    )
