"""Forms of the card pages: paying again by card, and an officer approving a return."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional


class PayByCardForm(FlaskForm):
    """Only the CSRF token: the purchase is in the address."""


class ReturnSearchForm(FlaskForm):
    class Meta:
        csrf = False  # a GET search changes nothing

    number = StringField(_l("Order number"), validators=[Optional(), Length(max=20)])


class ApproveReturnForm(FlaskForm):
    amount_vnd = IntegerField(
        _l("Amount to refund (đồng)"),
        validators=[
            Optional(),
            NumberRange(min=1, message=_l("Enter an amount above 0 đồng, or leave it empty to refund everything.")),
        ],
    )
    reason = TextAreaField(
        _l("Reason (the buyer and the cooperative see it)"),
        validators=[DataRequired(_l("Give a reason: the buyer and the cooperative will see it.")), Length(max=1000)],
    )
