"""Forms of the bank-transfer pages: recording a transfer received, and a cooperative's bank account."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from ..registry.forms import WholeNumberField
from . import vietqr


class RecordTransferForm(FlaskForm):
    reference = StringField(
        _l("Transfer reference (from the transfer's content)"),
        validators=[DataRequired(_l("Enter the reference the buyer typed in the transfer.")), Length(max=60)],
    )
    amount_vnd = WholeNumberField(_l("Amount received (đồng)"))

    def validate_amount_vnd(self, field):
        # Not DataRequired: it would hide the field's own "Enter a whole number" message.
        if not field.process_errors and not field.data:
            raise ValidationError(_l("Enter the amount received, in đồng."))


class RefundSentForm(FlaskForm):
    refund_id = HiddenField()
    bank_reference = StringField(
        _l("Bank reference of the transfer back"),
        validators=[DataRequired(_l("Enter the bank's reference of the transfer back to the buyer.")), Length(max=100)],
    )


def bank_select_choices() -> list[SelectChoice]:
    """Return the bank list for a select, with an empty first choice."""
    return [SelectChoice("", _l("Choose a bank"))] + [SelectChoice(b, label) for b, label in vietqr.bank_choices()]


class BankAccountForm(FlaskForm):
    bank_bin = SelectField(_l("Bank"), validators=[Optional()])
    account = StringField(_l("Account number"), validators=[Optional(), Length(max=40)])
    holder = StringField(_l("Account holder, as the bank shows it"), validators=[Optional(), Length(max=80)])

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.bank_bin.choices = bank_select_choices()
        # The service names a wrong bank in plain words; the list's own "Not a valid choice" would not.
        self.bank_bin.validate_choice = False
