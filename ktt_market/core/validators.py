"""Field checks shared by forms and imports."""

from __future__ import annotations

import datetime as dt
import re

from flask_babel import lazy_gettext as _l
from wtforms.validators import ValidationError

from .text import nfc

_PHONE = re.compile(r"^0[35789]\d{8}$")


def normalize_vn_phone(value: str | None) -> str | None:
    """Return a Vietnamese mobile or landline number as 0xxxxxxxxx, or None when it is not one."""
    if not value:
        return None
    digits = re.sub(r"[\s.\-()]", "", nfc(value) or "")
    if digits.startswith("+84"):
        digits = "0" + digits[3:]
    elif digits.startswith("84") and len(digits) == 11:
        digits = "0" + digits[2:]
    if _PHONE.match(digits) or re.match(r"^02\d{9}$", digits):
        return digits
    return None


class VietnamesePhone:
    """WTForms validator: 10 digits starting with 0 (or +84)."""

    def __init__(self, message=None):
        self.message = message or _l("Enter a Vietnamese phone number: 10 digits starting with 0 (or +84).")

    def __call__(self, form, field):
        if field.data and normalize_vn_phone(field.data) is None:
            raise ValidationError(self.message)


def parse_iso_date(value: str | None) -> dt.date | None:
    """Parse YYYY-MM-DD (empty means None); raise ValueError on anything else."""
    value = (value or "").strip()
    if not value:
        return None
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise ValueError(value)
    return dt.date.fromisoformat(value)


def parse_whole_number(value: str | None) -> int | None:
    """Parse a whole number; "1.500.000" and "1,500,000" are accepted. Empty is None.

    A minus sign is kept, so callers can say "cannot be negative" rather than "not a number".
    """
    value = (value or "").strip().replace(" ", "")
    if not value:
        return None
    if re.fullmatch(r"\d{1,3}([.,]\d{3})+", value):
        value = value.replace(".", "").replace(",", "")
    if not re.fullmatch(r"-?\d+", value):
        raise ValueError(value)
    return int(value)
