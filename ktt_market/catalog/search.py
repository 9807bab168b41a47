"""The public catalogue: what buyers may see, filtered, searched, ranked and paged.

Search works on `products.search_text`, the name, cooperative name and category folded by
core.text.fold (lower case, no diacritics), so "CÀ PHÊ", "cà phê" and "ca phe" are one query.
Every word of the query must occur in it. On PostgreSQL the `LIKE '%word%'` tests are answered by
the trigram index ix_products_search_trgm and results are ranked by pg_trgm similarity; on SQLite,
the embedded default, the same LIKE tests scan the table and a simple score in SQL ranks them.
"""

from __future__ import annotations

import datetime as dt
import enum
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from sqlalchemy import Select, case, exists, func, literal, select
from sqlalchemy.orm import contains_eager, selectinload

from ..core import places
from ..core.text import contains_pattern, escape_like, fold
from ..extensions import db
from ..registry.models import PlatformStatus, Unit
from .models import Category, Certification, CertificationKind, Product

PER_PAGE = 24
# Offset paging costs more the deeper it goes; nobody reads 100 pages, they refine the search.
MAX_PAGES = 100
COUNT_CAP = PER_PAGE * MAX_PAGES
# Up to this many matches every one is scored by similarity; beyond, see _broad_relevance_page.
RANK_ALL_LIMIT = 1000
MAX_WORDS = 8
MAX_QUERY_LENGTH = 100
_WORD = re.compile(r"[^\W_]+")
# Words in nearly every seller's name ("Hợp tác xã ..."): they narrow nothing, and matching them
# would make the index read a posting list as long as the catalogue.
_GENERIC_WORDS = (("hop", "tac", "xa"), ("htx",))


class Sort(enum.StrEnum):
    RELEVANCE = "relevance"
    PRICE_ASC = "price_asc"
    PRICE_DESC = "price_desc"
    NEWEST = "newest"
    RATING = "rating"


FILTER_CERTIFICATIONS = (CertificationKind.OCOP, CertificationKind.VIETGAP, CertificationKind.ORGANIC)


@dataclass(frozen=True)
class Filters:
    """What a buyer asked the catalogue for; every value already checked."""

    q: str = ""
    category: Category | None = None
    category_ids: tuple[int, ...] = ()
    province: int | None = None
    cert: CertificationKind | None = None
    min_price: int | None = None
    max_price: int | None = None
    sort: Sort = Sort.NEWEST
    page: int = 1
    unit_id: int | None = None  # a storefront: one cooperative's products

    @property
    def words(self) -> list[str]:
        return query_words(self.q)

    def args(self) -> dict[str, str]:
        """Return the filters as URL arguments (without the page), for links that keep them."""
        values = {
            "q": self.q,
            "category": self.category.slug if self.category else "",
            "province": self.province,
            "cert": self.cert.value if self.cert else "",
            "min_price": self.min_price,
            "max_price": self.max_price,
            "sort": self.sort.value,
        }
        return {k: str(v) for k, v in values.items() if v not in (None, "")}


@dataclass
class ResultPage:
    """One page of products and how many there are in all (counted up to COUNT_CAP)."""

    items: list[Product]
    page: int
    total: int
    capped: bool = False
    per_page: int = PER_PAGE
    filters: Filters = field(default_factory=Filters)

    @property
    def pages(self) -> int:
        return max(1, min(MAX_PAGES, math.ceil(self.total / self.per_page)))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def prev_num(self) -> int:
        return self.page - 1

    @property
    def next_num(self) -> int:
        return self.page + 1


def query_words(q: str) -> list[str]:
    """Split a search into folded words: "Cà phê, SỮA" -> ["ca", "phe", "sua"]."""
    words = _WORD.findall(fold(q[:MAX_QUERY_LENGTH]))
    kept, i = [], 0
    while i < len(words):
        generic = next((g for g in _GENERIC_WORDS if tuple(words[i : i + len(g)]) == g), None)
        if generic:
            i += len(generic)
        else:
            kept.append(words[i])
            i += 1
    return kept[:MAX_WORDS]


def _positive_int(value: str | None, limit: int = 10**12, *, grouped: bool = False) -> int | None:
    """Read a whole number; `grouped` accepts thousands separators ("150.000")."""
    value = (value or "").strip()
    if grouped:
        value = value.replace(".", "").replace(",", "")
    if not value.isascii() or not value.isdigit():
        return None
    value = value.lstrip("0") or "0"
    if len(value) > len(str(limit)):
        return None  # int() refuses strings of thousands of digits; such a number is over the limit anyway
    number = int(value)
    return number if number <= limit else None


def categories() -> list[Category]:
    """Return the whole category tree in display order (it is small)."""
    return list(db.session.scalars(select(Category).order_by(Category.position, Category.id)))


def subtree_ids(category: Category, all_categories: list[Category]) -> tuple[int, ...]:
    """Return the ids of `category` and of every category below it."""
    children: dict[int | None, list[int]] = {}
    for c in all_categories:
        children.setdefault(c.parent_id, []).append(c.id)
    found, todo = [], [category.id]
    while todo:
        current = todo.pop()
        if current in found:  # a loop in the tree must not hang the page
            continue
        found.append(current)
        todo.extend(children.get(current, []))
    return tuple(sorted(found))


def parse_filters(args: Mapping[str, str], *, all_categories: list[Category] | None = None) -> Filters:
    """Read filters from URL arguments; a value that makes no sense is ignored, never an error."""
    q = " ".join((args.get("q") or "").split())[:MAX_QUERY_LENGTH]
    category = None
    slug = (args.get("category") or "").strip()
    if slug:
        all_categories = categories() if all_categories is None else all_categories
        category = next((c for c in all_categories if c.slug == slug), None)
    province = _positive_int(args.get("province"), limit=10**6)
    if province is not None and not places.is_province(province):
        province = None
    cert = next((k for k in FILTER_CERTIFICATIONS if k.value == args.get("cert")), None)
    min_price = _positive_int(args.get("min_price"), grouped=True)
    max_price = _positive_int(args.get("max_price"), grouped=True)
    if min_price is not None and max_price is not None and min_price > max_price:
        min_price, max_price = max_price, min_price
    words = query_words(q)
    try:
        sort = Sort(args.get("sort") or "")
    except ValueError:
        sort = Sort.RELEVANCE if words else Sort.NEWEST
    if sort is Sort.RELEVANCE and not words:
        sort = Sort.NEWEST
    page = _positive_int(args.get("page"), limit=10**6) or 1
    return Filters(
        q=q,
        category=category,
        category_ids=subtree_ids(category, all_categories) if category else (),
        province=province,
        cert=cert,
        min_price=min_price,
        max_price=max_price,
        sort=sort,
        page=min(page, MAX_PAGES),
    )


def sellable() -> Select:
    """Select the products a buyer may see: published, of a unit that is approved and not dissolved."""
    return (
        select(Product)
        .join(Product.unit)
        .where(
            # `published` alone (not `= true`) so PostgreSQL matches the partial indexes' predicate.
            Product.published,
            Unit.platform_status == PlatformStatus.APPROVED,
            Unit.dissolved_on.is_(None),
        )
    )


def _starts_with(phrase: str):
    """Whether the product's name starts with the query: search_text begins with the name."""
    return Product.search_text.like(f"{escape_like(phrase)} %", escape="\\") | (Product.search_text == phrase)


def _relevance(phrase: str):
    """Return a score: the name starting with the query first, then closeness of the whole text."""
    starts = case((_starts_with(phrase), 1.0), else_=0.0)
    if db.engine.dialect.name == "postgresql":
        return starts + func.similarity(Product.search_text, phrase)
    # SQLite: the phrase appearing whole and early, in a short text, scores higher.
    position = func.instr(Product.search_text, phrase)
    whole = case((position > 0, 0.5 - position / 1000.0), else_=0.0)
    return starts + whole - func.length(Product.search_text) / 100000.0


def _countable() -> Select:
    """Select the ids of sellable products, in the form PostgreSQL counts fastest.

    The same rows as sellable(): every product has its unit (a foreign key), so "no unit that cannot
    sell" is "a unit that can". Planned as a hash anti-join against the few units that cannot sell,
    it counts the capped matches about twice as fast as the join, which is planned as a nested loop.
    """
    cannot_sell = exists().where(
        Unit.id == Product.unit_id,
        ~((Unit.platform_status == PlatformStatus.APPROVED) & Unit.dissolved_on.is_(None)),
    )
    return select(Product.id).where(Product.published, ~cannot_sell)


def filtered(filters: Filters, *, today: dt.date, base: Select | None = None) -> Select:
    """Select the sellable products matching `filters` (from `base`, by default sellable()), unordered."""
    stmt = sellable() if base is None else base
    for word in filters.words:
        stmt = stmt.where(Product.search_text.like(contains_pattern(word), escape="\\"))
    if filters.category_ids:
        stmt = stmt.where(Product.category_id.in_(filters.category_ids))
    if filters.province is not None:
        stmt = stmt.where(Product.province_code == filters.province)
    if filters.unit_id is not None:
        stmt = stmt.where(Product.unit_id == filters.unit_id)
    if filters.min_price is not None:
        stmt = stmt.where(Product.price_vnd >= filters.min_price)
    if filters.max_price is not None:
        stmt = stmt.where(Product.price_vnd <= filters.max_price)
    if filters.cert is not None:
        stmt = stmt.where(
            exists().where(
                Certification.product_id == Product.id,
                Certification.kind == filters.cert,
                Certification.issued_on <= today,
                Certification.valid_until >= today,
            )
        )
    return stmt


def _ordered(stmt: Select, filters: Filters) -> Select:
    sort = filters.sort
    if sort is Sort.RELEVANCE and filters.words:
        return stmt.order_by(_relevance(" ".join(filters.words)).desc(), Product.id.desc())
    if sort is Sort.PRICE_ASC:
        return stmt.order_by(Product.price_vnd.asc(), Product.id.asc())
    if sort is Sort.PRICE_DESC:
        return stmt.order_by(Product.price_vnd.desc(), Product.id.desc())
    if sort is Sort.RATING:
        return stmt.order_by(Product.rating_avg.desc().nulls_last(), Product.id.desc())
    return stmt.order_by(Product.id.desc())  # newest: ids grow with time


def _count(filters: Filters, *, today: dt.date) -> tuple[int, bool]:
    """Count matches up to COUNT_CAP; the flag says there are more."""
    stmt = filtered(filters, today=today, base=_countable())
    capped = stmt.with_only_columns(literal(1)).order_by(None).limit(COUNT_CAP + 1).subquery()
    total = db.session.scalar(select(func.count()).select_from(capped)) or 0
    return min(total, COUNT_CAP), total > COUNT_CAP


def _page_items(stmt: Select, filters: Filters, page: int, per_page: int) -> list[Product]:
    stmt = _ordered(stmt, filters).options(contains_eager(Product.unit), selectinload(Product.images))
    return list(db.session.scalars(stmt.limit(per_page).offset((page - 1) * per_page)))


def _broad_relevance_page(stmt: Select, filters: Filters, page: int, per_page: int, *, today: dt.date) -> list[Product]:
    """Rank a query with very many matches without scoring them all, so that it stays fast.

    Names that start with the query come first (alphabetically), then the other matches, newest
    first. Both orders are read from indexes (ix_products_search_prefix, the primary key) and stop
    after one page; scoring tens of thousands of matches by similarity would not.
    """
    phrase = " ".join(filters.words)
    wanted = page * per_page
    ids_query = stmt.with_only_columns(Product.id)
    # A name starting with the phrase: a range of the C-collated index (the phrase implies every word).
    in_c = Product.search_text.collate("C")
    first = list(
        db.session.scalars(
            filtered(replace(filters, q=""), today=today)
            .with_only_columns(Product.id)
            .where(in_c >= f"{phrase} ", in_c < f"{phrase}!")
            .order_by(in_c, Product.id)
            .limit(wanted)
        )
    )
    rest = []
    if len(first) < wanted:
        rest = list(
            db.session.scalars(
                ids_query.where(~Product.search_text.like(f"{phrase} %"))
                .order_by(Product.id.desc())
                .limit(wanted - len(first))
            )
        )
    ids = (first + rest)[(page - 1) * per_page : wanted]
    if not ids:
        return []
    loaded = {
        p.id: p
        for p in db.session.scalars(
            sellable().where(Product.id.in_(ids)).options(contains_eager(Product.unit), selectinload(Product.images))
        )
    }
    return [loaded[i] for i in ids if i in loaded]


def search_products(filters: Filters, *, today: dt.date, per_page: int = PER_PAGE) -> ResultPage:
    """Return one page of the products matching `filters`, with the number of matches."""
    stmt = filtered(filters, today=today)
    page = max(1, min(filters.page, MAX_PAGES))
    if filters.sort is Sort.RELEVANCE and filters.words and db.engine.dialect.name == "postgresql":
        # Count first: it decides whether every match can be scored in time.
        total, capped = _count(filters, today=today)
        page = max(1, min(page, math.ceil(total / per_page)))
        if total > RANK_ALL_LIMIT:
            items = _broad_relevance_page(stmt, filters, page, per_page, today=today)
        else:
            items = _page_items(stmt, filters, page, per_page)
        return ResultPage(items=items, page=page, total=total, capped=capped, per_page=per_page, filters=filters)
    items = _page_items(stmt, filters, page, per_page)
    if len(items) < per_page and (items or page == 1):
        # The last page: the total is known without counting.
        total, capped = (page - 1) * per_page + len(items), False
    else:
        total, capped = _count(filters, today=today)
        last = max(1, min(MAX_PAGES, math.ceil(total / per_page)))
        if page > last:  # past the end: show the last page rather than an empty one
            page = last
            items = _page_items(stmt, filters, page, per_page)
    return ResultPage(items=items, page=page, total=total, capped=capped, per_page=per_page, filters=filters)


def highlighted(*, today: dt.date, featured: bool, limit: int = 8) -> list[Product]:
    """Return featured (or simply the newest) sellable products in stock, for the home page."""
    stmt = sellable().where(Product.stock > 0)
    if featured:
        stmt = stmt.where(Product.featured)
    stmt = stmt.options(contains_eager(Product.unit), selectinload(Product.images))
    return list(db.session.scalars(stmt.order_by(Product.id.desc()).limit(limit)))


def sellable_product(product_id: int) -> Product | None:
    """Return the product if a buyer may see it (published, of a unit that can sell), else None."""
    stmt = sellable().where(Product.id == product_id)
    stmt = stmt.options(
        contains_eager(Product.unit),
        selectinload(Product.images),
        selectinload(Product.certifications),
        selectinload(Product.batches),
        selectinload(Product.category),
    )
    return db.session.scalars(stmt).first()


def storefront_unit(unit_id: int) -> Unit | None:
    """Return the unit if it has a public storefront (approved and not dissolved), else None."""
    unit = db.session.get(Unit, unit_id)
    return unit if unit is not None and unit.can_sell else None


def valid_certifications(product: Product, today: dt.date) -> list[Certification]:
    """Return the product's certificates valid today (an expired one stops showing on its own)."""
    return [c for c in product.certifications if c.is_valid_on(today)]
