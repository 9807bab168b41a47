"""The kinds of export: who may ask for each, how many rows it has, and its rows in batches.

An exporter cleans the parameters a page sent (`clean`, which raises ServiceError on bad input),
says whether a user may have the file (`allowed`, checked when the job is requested and again when a
worker builds it), and describes its sheets. A sheet counts its rows with one query and yields them in
batches: the worker writes a batch, then records its progress, so the page can show how far it got.

Batches are read by id: the ids come first (ordered as the file is), then each batch loads its rows.
No cursor stays open across the worker's progress commits, and memory holds one batch at a time.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, func, select
from sqlalchemy.orm import selectinload

from ..accounts.models import Role, User
from ..core import places
from ..core.errors import PermissionDenied, ServiceError
from ..core.i18n import local_time, local_today
from ..core.text import fold, nfc
from ..extensions import db
from ..registry.access import officer_covers, staff_role
from ..registry.models import OperatingState, PlatformStatus, Sector, Unit, UnitKind

Row = Sequence[Any]


@dataclass(frozen=True)
class SheetSpec:
    """One worksheet: its title, its header, a row count and a generator of row batches."""

    title: str
    header: list[str]
    count: Callable[[], int]
    batches: Callable[[int], Iterator[list[Row]]]


@dataclass(frozen=True)
class Exporter:
    """One kind of export."""

    kind: str
    label: Any  # a lazy string: the kind as people read it in the list of exports
    clean: Callable[[Mapping[str, Any], User], dict[str, Any]]
    allowed: Callable[[User, Mapping[str, Any]], bool]
    sheets: Callable[[Mapping[str, Any]], list[SheetSpec]]
    filename: Callable[[Mapping[str, Any]], str]


EXPORTERS: dict[str, Exporter] = {}


def register(exporter: Exporter) -> Exporter:
    """Make `exporter` available under its kind."""
    EXPORTERS[exporter.kind] = exporter
    return exporter


def exporter_for(kind: str) -> Exporter:
    """Return the exporter of `kind`; raise ServiceError for an unknown kind."""
    exporter = EXPORTERS.get(kind)
    if exporter is None:
        raise ServiceError(_("This kind of export does not exist."), field="kind")
    return exporter


# ---------------------------------------------------------------- helpers


def count_of(query: Select) -> int:
    """Return how many rows `query` selects."""
    return db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0


def batches_by_id(
    id_query: Select, load: Callable[[Sequence[int]], Mapping[int, Any]], to_row: Callable[[Any], Row], size: int
) -> Iterator[list[Row]]:
    """Yield rows in the order of `id_query`, `size` at a time; `load` maps a batch of ids to objects."""
    ids = list(db.session.scalars(id_query))
    for start in range(0, len(ids), size):
        chunk = ids[start : start + size]
        found = load(chunk)
        yield [to_row(found[i]) for i in chunk if i in found]


def _unit_id(raw: Mapping[str, Any]) -> int:
    value = raw.get("unit_id")
    if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
        unit_id = int(value)
        if db.session.get(Unit, unit_id) is not None:
            return unit_id
    raise ServiceError(_("Choose a cooperative to export."), field="unit_id")


def _enum_or_none(enum_cls, value: Any):
    try:
        return enum_cls(value).value if value else None
    except ValueError:
        return None  # an unknown filter is ignored, as the list page ignores it


def _int_or_none(value: Any) -> int | None:
    if isinstance(value, int):
        return value
    return int(value) if isinstance(value, str) and value.isdigit() else None


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", fold(text)).strip("-").upper()


def _naive_local(value: dt.datetime | None) -> dt.datetime | None:
    # Spreadsheets have no time zones: write the Vietnam wall-clock time the user reads everywhere else.
    return local_time(value).replace(tzinfo=None) if value is not None else None


# ---------------------------------------------------------------- the province registry


def _registry_clean(raw: Mapping[str, Any], actor: User) -> dict[str, Any]:
    if actor.role is Role.OFFICER:
        province = actor.province_code
    elif actor.role is Role.ADMIN:
        province = _int_or_none(raw.get("province"))
        if province is not None and not places.is_province(province):
            province = None
    else:
        raise PermissionDenied(_("Only province officers can export the registry."))
    ward = _int_or_none(raw.get("ward"))
    if ward is not None and (province is None or places.ward_province(ward) != province):
        ward = None
    text = nfc(raw.get("q") if isinstance(raw.get("q"), str) else None) or None
    return {
        "province": province,
        "ward": ward,
        "kind": _enum_or_none(UnitKind, raw.get("kind")),
        "sector": _enum_or_none(Sector, raw.get("sector")),
        "status": _enum_or_none(PlatformStatus, raw.get("status")),
        "state": _enum_or_none(OperatingState, raw.get("state")),
        "q": text[:200] if text else None,
    }


def _registry_allowed(user: User, params: Mapping[str, Any]) -> bool:
    if user.role is Role.ADMIN:
        return True
    return user.role is Role.OFFICER and params.get("province") == user.province_code


def _registry_query(params: Mapping[str, Any]) -> Select:
    from ..registry.services import unit_search

    return unit_search(
        province_code=params.get("province"),
        kind=UnitKind(params["kind"]) if params.get("kind") else None,
        sector=Sector(params["sector"]) if params.get("sector") else None,
        ward_code=params.get("ward"),
        platform_status=PlatformStatus(params["status"]) if params.get("status") else None,
        state=OperatingState(params["state"]) if params.get("state") else None,
        text=params.get("q"),
    )


def _registry_row(unit: Unit) -> Row:
    # The import's columns first, in its order, so that the file goes back in unchanged.
    return (
        unit.registration_code,
        unit.name,
        unit.kind.value,
        unit.sector.value,
        unit.founded_on,
        unit.stopped_on,
        unit.dissolved_on,
        unit.ward_code,
        unit.declared_members,
        unit.charter_capital_vnd,
        places.ward_name(unit.ward_code),
        places.province_name(unit.province_code),
        unit.platform_status.value,
    )


def _registry_sheets(params: Mapping[str, Any]) -> list[SheetSpec]:
    from ..registry.importing import COLUMNS

    query = _registry_query(params)

    def load(ids: Sequence[int]) -> dict[int, Unit]:
        return {u.id: u for u in db.session.scalars(select(Unit).where(Unit.id.in_(ids)))}

    # Columns the import ignores, for people reading the file: names instead of codes.
    header = [*COLUMNS, "ward_name", "province_name", "platform_status"]
    return [
        SheetSpec(
            title=_("Registry"),
            header=header,
            count=lambda: count_of(query),
            batches=lambda size: batches_by_id(query.with_only_columns(Unit.id), load, _registry_row, size),
        )
    ]


def _registry_filename(params: Mapping[str, Any]) -> str:
    return f"registry-{params.get('province') or 'all'}-{local_today().isoformat()}.xlsx"


register(
    Exporter(
        kind="registry",
        label=_l("Registry of units"),
        clean=_registry_clean,
        allowed=_registry_allowed,
        sheets=_registry_sheets,
        filename=_registry_filename,
    )
)


# ---------------------------------------------------------------- a cooperative's orders

_PAYMENT_LABELS = {
    "cod": _l("Cash on delivery"),
    "bank_transfer": _l("Bank transfer"),
    "card": _l("Card"),
}


def _orders_clean(raw: Mapping[str, Any], actor: User) -> dict[str, Any]:
    from ..orders.models import OrderStatus

    return {"unit_id": _unit_id(raw), "status": _enum_or_none(OrderStatus, raw.get("status"))}


def _staff_allowed(user: User, params: Mapping[str, Any]) -> bool:
    return staff_role(user, params["unit_id"]) is not None


def _payment_label(code: str) -> str:
    from ..orders.payments import payment_option

    option = payment_option(code)
    return str(option.label if option is not None else _PAYMENT_LABELS.get(code, code))


def _orders_sheets(params: Mapping[str, Any]) -> list[SheetSpec]:
    from ..orders.models import Order, OrderStatus
    from ..orders.states import STATUS_LABELS

    query = select(Order.id).where(Order.unit_id == params["unit_id"])
    if params.get("status"):
        query = query.where(Order.status == OrderStatus(params["status"]))
    query = query.order_by(Order.placed_at.desc(), Order.id.desc())

    def load(ids: Sequence[int]) -> dict[int, Order]:
        orders = db.session.scalars(
            select(Order).where(Order.id.in_(ids)).options(selectinload(Order.purchase), selectinload(Order.lines))
        )
        return {o.id: o for o in orders}

    def to_row(order: Order) -> Row:
        items = "; ".join(f"{line.product_name} × {line.quantity} {line.sale_unit}" for line in order.lines)
        return (
            order.purchase.number,
            _naive_local(order.placed_at),
            order.purchase.contact_name,
            str(STATUS_LABELS[order.status]),
            items,
            order.subtotal_vnd,
            _payment_label(str(order.purchase.payment_method)),
        )

    header = [
        _("Order number"),
        _("Placed at (Vietnam time)"),
        _("Buyer"),
        _("Status"),
        _("Items"),
        _("Total (VND)"),
        _("Payment method"),
    ]
    return [
        SheetSpec(
            title=_("Orders"),
            header=header,
            count=lambda: count_of(query),
            batches=lambda size: batches_by_id(query, load, to_row, size),
        )
    ]


def _orders_filename(params: Mapping[str, Any]) -> str:
    unit = db.session.get(Unit, params["unit_id"])
    slug = _slug(unit.registration_code) if unit is not None else ""
    return f"don-hang-{slug or params['unit_id']}-{local_today().isoformat()}.xlsx"


register(
    Exporter(
        kind="orders",
        label=_l("Orders of a cooperative"),
        clean=_orders_clean,
        allowed=_staff_allowed,
        sheets=_orders_sheets,
        filename=_orders_filename,
    )
)


# ---------------------------------------------------------------- the member register


def _members_clean(raw: Mapping[str, Any], actor: User) -> dict[str, Any]:
    return {"unit_id": _unit_id(raw)}


def _members_allowed(user: User, params: Mapping[str, Any]) -> bool:
    # As the page and its former direct download: the unit's staff, and officers of its province.
    unit = db.session.get(Unit, params["unit_id"])
    return unit is not None and (officer_covers(user, unit) or staff_role(user, unit.id) is not None)


def _members_sheets(params: Mapping[str, Any]) -> list[SheetSpec]:
    from ..members import services as members
    from ..members.labels import ENTRY_KIND_LABELS
    from ..members.models import CapitalEntry, Member

    unit = db.session.get(Unit, params["unit_id"])
    headers = members.export_headers()
    member_ids = select(Member.id).where(Member.unit_id == unit.id).order_by(Member.code, Member.id)

    def load_members(ids: Sequence[int]) -> dict[int, Member]:
        return {m.id: m for m in db.session.scalars(select(Member).where(Member.id.in_(ids)))}

    def member_batches(size: int) -> Iterator[list[Row]]:
        balances = members.member_balances(unit)

        def to_row(m: Member) -> Row:
            return members.register_row(m, balances)

        yield from batches_by_id(member_ids, load_members, to_row, size)

    entry_ids = (
        select(CapitalEntry.id)
        .join(Member, Member.id == CapitalEntry.member_id)
        .where(CapitalEntry.unit_id == unit.id)
        .order_by(Member.code, CapitalEntry.entry_date, CapitalEntry.id)
    )

    def load_entries(ids: Sequence[int]) -> dict[int, tuple]:
        rows = db.session.execute(
            select(CapitalEntry, Member.code, Member.full_name)
            .join(Member, Member.id == CapitalEntry.member_id)
            .where(CapitalEntry.id.in_(ids))
        )
        return {entry.id: (entry, code, name) for entry, code, name in rows}

    def entry_batches(size: int) -> Iterator[list[Row]]:
        running: dict[int, int] = {}  # each member's balance so far: batches come in ledger order

        def to_row(found: tuple) -> Row:
            entry, code, name = found
            running[entry.member_id] = running.get(entry.member_id, 0) + entry.signed_amount
            return (
                code,
                name,
                entry.entry_date,
                str(ENTRY_KIND_LABELS[entry.kind]),
                entry.signed_amount,
                running[entry.member_id],
                entry.note or "",
            )

        yield from batches_by_id(entry_ids, load_entries, to_row, size)

    ledger_header = [
        headers["code"],
        headers["full_name"],
        _("Date"),
        _("Kind"),
        _("Amount (VND)"),
        _("Balance after (VND)"),
        _("Note"),
    ]
    # The sheet names of the direct download, which people and the import already know.
    return [
        SheetSpec("Thành viên", [headers[c] for c in members.COLUMNS], lambda: count_of(member_ids), member_batches),
        SheetSpec("Vốn góp", ledger_header, lambda: count_of(entry_ids), entry_batches),
    ]


def _members_filename(params: Mapping[str, Any]) -> str:
    from ..members.services import export_filename

    return export_filename(db.session.get(Unit, params["unit_id"]))


register(
    Exporter(
        kind="members",
        label=_l("Member register"),
        clean=_members_clean,
        allowed=_members_allowed,
        sheets=_members_sheets,
        filename=_members_filename,
    )
)


def batch_size() -> int:
    """Return how many rows the worker writes between two progress updates."""
    return max(1, int(current_app.config.get("EXPORT_BATCH_ROWS", 500)))
