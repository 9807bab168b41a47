"""Forms of the member register."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import DateField, SearchField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from ..core.validators import VietnamesePhone, parse_whole_number
from .labels import CATEGORY_LABELS, ENTRY_KIND_LABELS, ROLE_LABELS
from .models import CapitalEntryKind, MemberCategory, MemberRole
from .services import MAX_ADDRESS, MAX_CODE, MAX_NAME, MAX_REASON, Status


def _choices(labels: dict, any_label=None) -> list[SelectChoice]:
    """Options from a label dict (WTForms 3.3 wants SelectChoice, not tuples), optionally led by "any"."""
    options = [SelectChoice("", any_label)] if any_label is not None else []
    return options + [SelectChoice(member.value, label) for member, label in labels.items()]


class MemberForm(FlaskForm):
    code = StringField(_l("Member number"), validators=[Optional(), Length(max=MAX_CODE)])
    full_name = StringField(_l("Full name"), validators=[DataRequired(), Length(max=MAX_NAME)])
    phone = StringField(_l("Phone (optional)"), validators=[Optional(), VietnamesePhone()])
    address = StringField(_l("Address (optional)"), validators=[Optional(), Length(max=MAX_ADDRESS)])
    category = SelectField(_l("Category"), choices=_choices(CATEGORY_LABELS), default=MemberCategory.OFFICIAL.value)
    role = SelectField(_l("Role"), choices=_choices(ROLE_LABELS), default=MemberRole.MEMBER.value)
    joined_on = DateField(_l("Joined on"), validators=[InputRequired()])


class LeaveForm(FlaskForm):
    left_on = DateField(_l("Left on"), validators=[InputRequired()])
    reason = StringField(_l("Reason (optional)"), validators=[Optional(), Length(max=MAX_REASON)])


class WholeDong:
    """WTForms validator: a whole number of đồng above zero ("1.500.000" is fine)."""

    def __call__(self, form, field):
        try:
            value = parse_whole_number(field.data)
        except ValueError:
            value = None
        if value is None or value <= 0:
            raise ValidationError(_l("Enter an amount in đồng greater than zero, for example 1.500.000."))
        field.amount = value


class ContributionForm(FlaskForm):
    kind = SelectField(_l("Movement"), choices=_choices(ENTRY_KIND_LABELS), default=CapitalEntryKind.CONTRIBUTED.value)
    amount_vnd = StringField(_l("Amount (đồng)"), validators=[DataRequired(), WholeDong()])
    entry_date = DateField(_l("Date"), validators=[InputRequired()])
    note = TextAreaField(_l("Note (optional)"), validators=[Optional(), Length(max=500)])


class ImportForm(FlaskForm):
    file = FileField(_l("Spreadsheet (CSV or XLSX)"), validators=[FileRequired(_l("Choose a CSV or XLSX file."))])


class ConfirmImportForm(FlaskForm):
    """Only the CSRF token: the file is already on the server."""


class FilterForm(FlaskForm):
    """The register's filters, sent by GET (no state changes, so no CSRF token)."""

    class Meta:
        csrf = False

    q = SearchField(_l("Name or number"), validators=[Optional(), Length(max=120)])
    status = SelectField(
        _l("Show"),
        choices=[
            SelectChoice(Status.ACTIVE, _l("Current members")),
            SelectChoice(Status.LEFT, _l("Members who left")),
            SelectChoice(Status.ALL, _l("Everyone")),
        ],
        default=Status.ACTIVE,
        validators=[Optional()],
    )
    category = SelectField(
        _l("Category"), choices=_choices(CATEGORY_LABELS, _l("Any category")), validators=[Optional()]
    )
    role = SelectField(_l("Role"), choices=_choices(ROLE_LABELS, _l("Any role")), validators=[Optional()])
