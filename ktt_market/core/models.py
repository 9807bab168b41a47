"""Base model helpers: UTC timestamps that survive every backend."""

from __future__ import annotations

import datetime as dt
import unicodedata

from sqlalchemy import DateTime, Enum, String, TypeDecorator, event
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import Mapped, Session, mapped_column


def utcnow() -> dt.datetime:
    """Return the current time, timezone-aware in UTC."""
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator):
    """A timestamp stored in UTC and always read back timezone-aware.

    PostgreSQL keeps the zone (timestamptz); SQLite does not, so values are normalised to UTC
    on the way in and marked UTC on the way out.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: store timezone-aware values only")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


class TimestampMixin:
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow, nullable=False)


def _nfc_strings(session, flush_context, instances) -> None:
    """Store every text column NFC-normalised, whatever path the value came by."""
    for obj in (*session.new, *session.dirty):
        for prop in sa_inspect(obj).mapper.column_attrs:
            col_type = prop.columns[0].type
            if not isinstance(col_type, String) or isinstance(col_type, Enum):
                continue
            value = obj.__dict__.get(prop.key)
            if isinstance(value, str) and not unicodedata.is_normalized("NFC", value):
                setattr(obj, prop.key, unicodedata.normalize("NFC", value))


def install_text_normalisation() -> None:
    if not event.contains(Session, "before_flush", _nfc_strings):
        event.listen(Session, "before_flush", _nfc_strings)
