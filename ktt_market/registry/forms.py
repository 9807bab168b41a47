"""Registry forms. Choices that depend on a province (its wards) are filled in by the view."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import DateField, EmailField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Email, InputRequired, Length, Optional, ValidationError

from ..core import places
from ..core.validators import VietnamesePhone, parse_whole_number
from .models import OperatingState, PlatformStatus, Sector, StaffRole, UnitKind

KIND_LABELS = {
    UnitKind.COOPERATIVE_GROUP: _l("Cooperative group (THT)"),
    UnitKind.COOPERATIVE: _l("Cooperative (HTX)"),
    UnitKind.UNION: _l("Union of cooperatives (LHHTX)"),
    UnitKind.CREDIT_FUND: _l("People's credit fund (QTDND)"),
}
SECTOR_LABELS = {Sector.AGRICULTURE: _l("Agriculture"), Sector.NON_AGRICULTURE: _l("Non-agriculture")}
PLATFORM_STATUS_LABELS = {
    PlatformStatus.NOT_JOINED: _l("Not on the platform"),
    PlatformStatus.PENDING: _l("Waiting for approval"),
    PlatformStatus.APPROVED: _l("Approved"),
    PlatformStatus.REJECTED: _l("Rejected"),
}
STATE_LABELS = {
    OperatingState.ACTIVE: _l("Active"),
    OperatingState.STOPPED: _l("Stopped"),
    OperatingState.DISSOLVED: _l("Dissolved"),
    OperatingState.NOT_FOUNDED: _l("Not founded yet"),
}
STAFF_ROLE_LABELS = {StaffRole.OWNER: _l("Owner"), StaffRole.STAFF: _l("Staff")}


def _options(items, blank=None) -> list[SelectChoice]:
    # SelectChoice, not tuples: WTForms 3.3 deprecates tuple choices (and tests treat warnings as errors).
    options = [SelectChoice("", blank)] if blank is not None else []
    return options + [SelectChoice(str(value), label) for value, label in items]


def _choices(labels: dict, blank=None) -> list[SelectChoice]:
    return _options(((member.value, label) for member, label in labels.items()), blank)


def province_choices(blank=None) -> list[SelectChoice]:
    return _options(places.provinces().items(), blank)


def ward_choices(province_code: int | None, blank=None) -> list[SelectChoice]:
    return _options(places.wards_of(province_code).items() if province_code else (), blank)


class WholeNumberField(StringField):
    """A whole, non-negative number; "1.500.000" is read as one and a half million."""

    def process_formdata(self, valuelist):
        if not valuelist:
            return  # not sent: keep the stored value
        self.data = None
        if not valuelist[0].strip():
            return
        try:
            self.data = parse_whole_number(valuelist[0])
        except ValueError:
            raise ValueError(_l("Enter a whole number, for example 1.500.000.")) from None
        if self.data is not None and self.data < 0:
            raise ValueError(_l("The number cannot be negative."))

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        return "" if self.data is None else str(self.data)


class NotInFuture:
    def __call__(self, form, field):
        from ..core.i18n import local_today

        if field.data and field.data > local_today():
            raise ValidationError(_l("The date cannot be in the future."))


class _ContactFields(FlaskForm):
    trade = StringField(_l("Trade (optional)"), validators=[Optional(), Length(max=120)])
    street = StringField(_l("Street address (optional)"), validators=[Optional(), Length(max=255)])
    contact_name = StringField(_l("Contact person (optional)"), validators=[Optional(), Length(max=120)])
    contact_phone = StringField(_l("Contact phone (optional)"), validators=[Optional(), VietnamesePhone()])
    contact_email = EmailField(_l("Contact e-mail (optional)"), validators=[Optional(), Email(), Length(max=254)])
    description = TextAreaField(_l("Description (optional)"), validators=[Optional(), Length(max=5000)])


class OwnerUnitForm(_ContactFields):
    """What a unit's owner may change."""


class _RegistryFields(_ContactFields):
    kind = SelectField(_l("Kind"), choices=_choices(KIND_LABELS), validators=[InputRequired()])
    registration_code = StringField(
        _l("Registration code"), validators=[DataRequired(), Length(max=40)], filters=[lambda v: v.strip() if v else v]
    )
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=255)])
    sector = SelectField(_l("Sector"), choices=_choices(SECTOR_LABELS), validators=[InputRequired()])
    founded_on = DateField(_l("Founded on"), validators=[DataRequired(), NotInFuture()])
    ward_code = SelectField(_l("Ward or commune"), coerce=str, validators=[InputRequired()])
    declared_members = WholeNumberField(_l("Number of members"), validators=[Optional()])
    charter_capital_vnd = WholeNumberField(_l("Charter capital (đồng)"), validators=[Optional()])

    def validate_ward_code(self, field):
        if field.data and not field.data.isdigit():
            raise ValidationError(_l("Choose a ward from the list."))


class RegisterUnitForm(_RegistryFields):
    message = TextAreaField(_l("Message to the province (optional)"), validators=[Optional(), Length(max=2000)])


class OfficerUnitForm(_RegistryFields):
    founded_on = DateField(_l("Founded on"), validators=[Optional(), NotInFuture()])
    stopped_on = DateField(_l("Stopped operating on (optional)"), validators=[Optional(), NotInFuture()])
    dissolved_on = DateField(_l("Dissolved on (optional)"), validators=[Optional(), NotInFuture()])


class ClaimForm(FlaskForm):
    registration_code = StringField(_l("Registration code"), validators=[DataRequired(), Length(max=40)])
    message = TextAreaField(
        _l("How are you connected to this unit? (optional)"), validators=[Optional(), Length(max=2000)]
    )


class RejectForm(FlaskForm):
    reason = TextAreaField(_l("Reason (shown to the applicant)"), validators=[DataRequired(), Length(max=2000)])


class StaffForm(FlaskForm):
    email = EmailField(_l("E-mail of a registered user"), validators=[DataRequired(), Email()])
    role = SelectField(_l("Role"), choices=_choices(STAFF_ROLE_LABELS), default=StaffRole.STAFF.value)


class ImportForm(FlaskForm):
    file = FileField(_l("Registry file (CSV or XLSX)"), validators=[FileRequired(_l("Choose a file."))])


class UnitFilterForm(FlaskForm):
    """The registry list's filters, sent by GET."""

    class Meta:
        csrf = False

    province = SelectField(_l("Province"), validators=[Optional()])
    kind = SelectField(_l("Kind"), choices=_choices(KIND_LABELS, _l("All")), validators=[Optional()])
    sector = SelectField(_l("Sector"), choices=_choices(SECTOR_LABELS, _l("All")), validators=[Optional()])
    ward = SelectField(_l("Ward or commune"), validators=[Optional()])
    status = SelectField(
        _l("Platform status"), choices=_choices(PLATFORM_STATUS_LABELS, _l("All")), validators=[Optional()]
    )
    state = SelectField(_l("State today"), choices=_choices(STATE_LABELS, _l("All")), validators=[Optional()])
    q = StringField(_l("Name or code"), validators=[Optional(), Length(max=100)])
