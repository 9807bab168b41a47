"""Orders forms. The ward choices depend on the province chosen first, so the view fills them in."""

from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, IntegerField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError

from ..catalog.forms import SALE_UNIT_LABELS  # noqa: F401  (one set of labels, the catalogue's)
from ..core import places
from ..core.validators import VietnamesePhone
from .cart import MAX_QUANTITY

_KEY = re.compile(r"^[A-Za-z0-9_-]{20,64}$")
# Product ids are INTEGER columns: a larger number would reach the database and fail there.
MAX_ID = 2**31 - 1


def _product_id_field() -> IntegerField:
    return IntegerField(
        _l("Product"),
        validators=[
            InputRequired(_l("Choose a product.")),
            NumberRange(min=1, max=MAX_ID, message=_l("Choose a product.")),
        ],
    )


class CartAddForm(FlaskForm):
    product_id = _product_id_field()
    quantity = IntegerField(
        _l("Quantity"),
        default=1,
        validators=[
            InputRequired(_l("Enter a quantity.")),
            NumberRange(min=1, max=MAX_QUANTITY, message=_l("Enter a quantity of at least 1.")),
        ],
    )


class CartUpdateForm(FlaskForm):
    product_id = _product_id_field()
    quantity = IntegerField(
        _l("Quantity"),
        validators=[
            InputRequired(_l("Enter a quantity.")),
            NumberRange(min=0, max=MAX_QUANTITY, message=_l("Enter a quantity of 0 or more.")),
        ],
    )


class CartRemoveForm(FlaskForm):
    product_id = _product_id_field()


class CheckoutForm(FlaskForm):
    contact_name = StringField(
        _l("Name of the person receiving the goods"), validators=[DataRequired(), Length(max=120)]
    )
    phone = StringField(_l("Phone"), validators=[DataRequired(), VietnamesePhone()])
    ward_code = SelectField(_l("Ward or commune"), coerce=str, validators=[InputRequired()])
    street = StringField(_l("House number and street, or hamlet"), validators=[DataRequired(), Length(max=255)])
    note = TextAreaField(_l("Note for the cooperatives (optional)"), validators=[Optional(), Length(max=2000)])
    payment_method = RadioField(_l("Payment"), coerce=str, validators=[InputRequired()])
    idempotency_key = HiddenField()
    expected_total = HiddenField()

    province_code: int | None = None  # set by the view from the province step

    def validate_ward_code(self, field):
        if not field.data:
            return
        if not field.data.isdigit() or not places.is_ward(int(field.data)):
            raise ValidationError(_l("Choose a ward from the list."))
        if self.province_code is not None and places.ward_province(int(field.data)) != self.province_code:
            raise ValidationError(
                _l("This ward is not in %(province)s.", province=places.province_name(self.province_code))
            )

    def validate_idempotency_key(self, field):
        if not field.data or not _KEY.match(field.data):
            raise ValidationError(_l("This checkout form has expired. Reload the page and try again."))


class CancelForm(FlaskForm):
    reason = TextAreaField(_l("Why are you cancelling? (optional)"), validators=[Optional(), Length(max=2000)])


class RejectForm(FlaskForm):
    reason = TextAreaField(
        _l("Reason (the buyer sees it)"),
        validators=[DataRequired(_l("Give a reason: the buyer will see it.")), Length(max=2000)],
    )


class ShipForm(FlaskForm):
    carrier = StringField(_l("Carrier"), validators=[DataRequired(_l("Enter the carrier.")), Length(max=80)])
    tracking_code = StringField(
        _l("Tracking code"), validators=[DataRequired(_l("Enter the tracking code.")), Length(max=80)]
    )


class MoveForm(FlaskForm):
    """A move with nothing to fill in (confirm, deliver): the CSRF token only."""


class DeliverForm(FlaskForm):
    """Mark delivered; for cash on delivery the cooperative also confirms it holds the cash."""

    cash_received = BooleanField(_l("Cash received"))
    cash_required: bool = False  # set by the view from the order's payment method

    def validate_cash_received(self, field):
        if self.cash_required and not field.data:
            raise ValidationError(_l("Tick “Cash received” once you hold the cash: this order is paid on delivery."))
