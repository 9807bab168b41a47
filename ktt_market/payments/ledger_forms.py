"""Ledger forms: the statement's month filter and the admin's payout run."""

from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, FieldList, Form, FormField, HiddenField, StringField, TextAreaField
from wtforms.fields import MonthField
from wtforms.validators import Length, Optional, ValidationError

from ..core.text import nfc
from .payouts import RUN_KEY

# People type amounts the way they read them: "1.500.000", "1,500,000", "1 500 000 ₫", "1500000đ".
_CURRENCY = re.compile(r"\s*(₫|đ|đồng|vnd)\s*$", re.IGNORECASE)
_GROUPED = re.compile(r"^\d{1,3}([., \u00a0])\d{3}(\1\d{3})*$", re.ASCII)


def parse_amount(text: str | None) -> int | None:
    """Return whole đồng from what a person typed, or None if it is not a whole number of đồng."""
    cleaned = _CURRENCY.sub("", (nfc(text or "") or "").strip()).strip()
    if cleaned.isascii() and cleaned.isdigit():
        return int(cleaned)
    # Thousands separators only where they group thousands: "1,5" is no amount of đồng.
    if _GROUPED.match(cleaned):
        return int(re.sub(r"\D", "", cleaned))
    return None


class StatementFilterForm(FlaskForm):
    """The month a statement covers; read from the query string, so no CSRF token."""

    class Meta:
        csrf = False

    month = MonthField(_l("Month"), validators=[Optional()])


class PayoutRowForm(Form):
    """One cooperative in a payout run."""

    unit_id = HiddenField()
    selected = BooleanField(_l("Pay"))
    amount = StringField(_l("Amount (đồng)"), validators=[Length(max=30)], render_kw={"inputmode": "numeric"})
    bank_reference = StringField(_l("Bank reference"), validators=[Length(max=100)])

    amount_vnd: int | None = None  # parsed by validate_amount

    def validate_unit_id(self, field):
        if not (field.data or "").isdigit():
            raise ValidationError(_l("This row is not a cooperative of the list. Reload the page."))

    def validate_amount(self, field):
        self.amount_vnd = parse_amount(field.data)
        if not self.selected.data:
            return
        if not (field.data or "").strip():
            raise ValidationError(_l("Enter the amount to pay."))
        if self.amount_vnd is None:
            raise ValidationError(_l("Enter a whole number of đồng, e.g. 1.500.000."))
        if self.amount_vnd <= 0:
            raise ValidationError(_l("Enter an amount above 0 đồng."))

    def validate_bank_reference(self, field):
        if self.selected.data and not (field.data or "").strip():
            raise ValidationError(_l("Enter the bank's reference for this transfer."))


class PayoutRunForm(FlaskForm):
    rows = FieldList(FormField(PayoutRowForm))
    note = TextAreaField(_l("Note for this run (optional)"), validators=[Optional(), Length(max=2000)])
    idempotency_key = HiddenField()

    def validate_idempotency_key(self, field):
        if not field.data or not RUN_KEY.match(field.data):
            raise ValidationError(_l("This payout form has expired. Reload the page and try again."))

    def selected_rows(self) -> list[PayoutRowForm]:
        """Return the rows ticked for payment."""
        return [entry.form for entry in self.rows if entry.form.selected.data]
