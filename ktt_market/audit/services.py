"""Write and search the audit log: who did what to which object, when, before and after."""

from __future__ import annotations

import datetime as dt
import decimal
import enum
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Select, or_, select
from sqlalchemy import inspect as sa_inspect

from ..accounts.models import Role, User
from ..core.i18n import VN_TZ
from ..core.models import utcnow
from ..core.text import contains_pattern
from ..extensions import db
from .models import AuditEvent

# Never written to the log, whatever a caller passes: secrets have no business in it.
SECRET_FIELDS = frozenset(
    {"password", "password_hash", "token", "secret", "api_key", "auth_version", "one_time_key", "idempotency_key"}
)
SUMMARY_MAX = 300


def _json_safe(value: Any) -> Any:
    """Return `value` as JSON can hold it: dates ISO, enums their value, Decimals exact."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else str(value)
    if isinstance(value, Mapping):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_json_safe(v) for v in value]
    return str(value)


def clean(values: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Return `values` JSON-safe and without secrets (None stays None)."""
    if values is None:
        return None
    return {str(k): _json_safe(v) for k, v in values.items() if str(k).lower() not in SECRET_FIELDS}


def snapshot(obj: Any, fields: Iterable[str]) -> dict[str, Any]:
    """Return the named attributes of `obj` as a JSON-safe dict (secrets left out)."""
    return clean({name: getattr(obj, name, None) for name in fields}) or {}


def changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Return only the keys whose values differ, as (before, after)."""
    keys = [k for k in after if before.get(k) != after.get(k)] + [k for k in before if k not in after]
    return {k: before.get(k) for k in keys if k in before}, {k: after.get(k) for k in keys if k in after}


def actor_role(actor: User | None) -> str:
    """Return the role an event is recorded under: "cli" when no person acts."""
    if actor is None:
        return "cli"
    role = actor.role
    return role.value if isinstance(role, enum.Enum) else str(role)


def _object_identity(obj: Any) -> tuple[str, str | None]:
    """Return (object type, object id) for a model instance, or for a (type, id) pair."""
    if isinstance(obj, tuple):
        kind, ident = obj
        return str(kind), None if ident is None else str(ident)
    if obj is None:
        return "none", None
    state = sa_inspect(obj, raiseerr=False)
    kind = getattr(obj, "__tablename__", type(obj).__name__.lower())
    ident = None
    if state is not None and state.identity is not None:
        ident = ",".join(str(part) for part in state.identity)
    elif getattr(obj, "id", None) is not None:
        ident = str(obj.id)
    return kind, ident


def _province_of(obj: Any) -> int | None:
    """Return the province an object belongs to, when it says so itself or through its unit."""
    for attr in ("province_code",):
        value = getattr(obj, attr, None)
        if isinstance(value, int):
            return value
    unit = getattr(obj, "unit", None)
    if unit is not None and isinstance(getattr(unit, "province_code", None), int):
        return unit.province_code
    return None


def record(
    action: str,
    *,
    actor: User | None,
    obj: Any,
    summary: str,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    province_code: int | None = None,
) -> AuditEvent:
    """Add an audit event in the caller's transaction (flushed, never committed).

    `obj` is a model instance (flushed first so that it has its id) or a ("type", id) pair.
    The province is the object's own (or its unit's) unless `province_code` is given.
    """
    if obj is not None and not isinstance(obj, tuple) and sa_inspect(obj, raiseerr=False) is not None:
        if sa_inspect(obj).pending:
            db.session.flush()
    object_type, object_id = _object_identity(obj)
    if province_code is None and not isinstance(obj, tuple):
        province_code = _province_of(obj)
    event = AuditEvent(
        actor_id=actor.id if actor is not None else None,
        actor_role=actor_role(actor),
        province_code=province_code,
        action=action,
        object_type=object_type[:40],
        object_id=object_id[:40] if object_id else None,
        summary=(summary or action)[:SUMMARY_MAX],
        before=clean(before),
        after=clean(after),
        created_at=utcnow(),
    )
    db.session.add(event)
    db.session.flush()
    return event


# --- Search -------------------------------------------------------------------------------------


def local_day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """Return the UTC instants where the local (Asia/Ho_Chi_Minh) day starts and the next begins."""
    start = dt.datetime.combine(day, dt.time.min, tzinfo=VN_TZ)
    return start.astimezone(dt.UTC), (start + dt.timedelta(days=1)).astimezone(dt.UTC)


def search_query(
    *,
    viewer: User,
    actor: str | None = None,
    action: str | None = None,
    object_type: str | None = None,
    object_id: str | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    text: str | None = None,
) -> Select:
    """Return the events `viewer` may read that match the filters, newest first.

    An officer reads their province's events only; an admin reads all; nobody else gets a query.
    """
    query = select(AuditEvent)
    if viewer.role is Role.OFFICER:
        query = query.where(AuditEvent.province_code == viewer.province_code)
    elif viewer.role is not Role.ADMIN:
        raise PermissionError("only officers and admins read the audit log")
    if actor:
        pattern = contains_pattern(actor.lower())
        matching = select(User.id).where(
            or_(User.email.ilike(pattern, escape="\\"), User.full_name.ilike(pattern, escape="\\"))
        )
        query = query.where(AuditEvent.actor_id.in_(matching))
    if action:
        # "registry.application" finds every action under it; an exact name finds itself.
        query = query.where(or_(AuditEvent.action == action, AuditEvent.action.like(f"{action}.%")))
    if object_type:
        query = query.where(AuditEvent.object_type == object_type)
    if object_id:
        query = query.where(AuditEvent.object_id == object_id)
    if date_from:
        query = query.where(AuditEvent.created_at >= local_day_bounds(date_from)[0])
    if date_to:
        query = query.where(AuditEvent.created_at < local_day_bounds(date_to)[1])
    if text:
        query = query.where(AuditEvent.summary.ilike(contains_pattern(text), escape="\\"))
    return query.order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())


def known_actions(viewer: User) -> list[str]:
    """Return the distinct actions recorded so far that `viewer` may read, for the filter's choices."""
    query = select(AuditEvent.action).distinct().order_by(AuditEvent.action)
    if viewer.role is Role.OFFICER:
        query = query.where(AuditEvent.province_code == viewer.province_code)
    return list(db.session.scalars(query))


def known_object_types(viewer: User) -> list[str]:
    """Return the distinct object types recorded so far that `viewer` may read."""
    query = select(AuditEvent.object_type).distinct().order_by(AuditEvent.object_type)
    if viewer.role is Role.OFFICER:
        query = query.where(AuditEvent.province_code == viewer.province_code)
    return list(db.session.scalars(query))


def actors_of(events: Iterable[AuditEvent]) -> dict[int, User]:
    """Return the users behind `events`, by id."""
    ids = {e.actor_id for e in events if e.actor_id is not None}
    if not ids:
        return {}
    return {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(ids)))}


def is_official(actor: User | None) -> bool:
    """Return whether an action by `actor` belongs in the log: officers, admins and the command line."""
    return actor is None or actor.role in (Role.OFFICER, Role.ADMIN)
