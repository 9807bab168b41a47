"""Forms of the programs area. Ward and province choices depend on the program and are set by the view."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from wtforms import (
    BooleanField,
    DateField,
    IntegerField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from ..classification.models import Grade
from ..registry.forms import KIND_LABELS, SECTOR_LABELS, WholeNumberField
from .models import FundingSource, ProgramKind

PROGRAM_KIND_LABELS = {
    ProgramKind.TRAINING: _l("Training"),
    ProgramKind.TRADE_PROMOTION: _l("Trade promotion"),
    ProgramKind.ECOMMERCE_ONBOARDING: _l("E-commerce onboarding"),
    ProgramKind.DIGITAL_TRANSFORMATION: _l("Digital transformation"),
    ProgramKind.TECHNOLOGY_TRANSFER: _l("Technology transfer"),
    ProgramKind.CREDIT_ACCESS: _l("Access to credit"),
    ProgramKind.BRANDING_OCOP: _l("Branding and OCOP"),
    ProgramKind.INFRASTRUCTURE: _l("Infrastructure"),
}
FUNDING_LABELS = {FundingSource.CENTRAL: _l("Central budget"), FundingSource.LOCAL: _l("Local budget")}
GRADE_LABELS = {Grade.GOOD: _l("Good"), Grade.FAIR: _l("Fair"), Grade.AVERAGE: _l("Average"), Grade.WEAK: _l("Weak")}


def _choices(labels: dict) -> list[SelectChoice]:
    # SelectChoice, not tuples: WTForms 3.3 deprecates tuple choices (and tests treat warnings as errors).
    return [SelectChoice(str(member.value), label) for member, label in labels.items()]


class CheckboxesField(SelectMultipleField):
    """Several choices as a list of checkboxes."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class ProgramForm(FlaskForm):
    province = SelectField(_l("Province"), coerce=str, validators=[Optional()])  # admins only
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)])
    kind = SelectField(_l("Kind of support"), choices=_choices(PROGRAM_KIND_LABELS), validators=[InputRequired()])
    description = TextAreaField(_l("Description (optional)"), validators=[Optional(), Length(max=10000)])
    year = IntegerField(_l("Year"), validators=[InputRequired(), NumberRange(min=2000, max=2100)])
    budget_vnd = WholeNumberField(_l("Budget (đồng)"), validators=[InputRequired()])
    funding_source = SelectField(_l("Funding source"), choices=_choices(FUNDING_LABELS), validators=[InputRequired()])
    opens_on = DateField(_l("Applications open on"), validators=[DataRequired()])
    closes_on = DateField(_l("Applications close on"), validators=[DataRequired()])
    kinds = CheckboxesField(_l("Kinds of unit (none ticked: all)"), choices=_choices(KIND_LABELS))
    sectors = CheckboxesField(_l("Sectors (none ticked: all)"), choices=_choices(SECTOR_LABELS))
    wards = SelectMultipleField(_l("Wards and communes (none chosen: the whole province)"), coerce=str)
    grades = CheckboxesField(_l("Grade of the previous year (none ticked: any)"), choices=_choices(GRADE_LABELS))
    min_members = IntegerField(_l("At least this many members (optional)"), validators=[Optional(), NumberRange(min=1)])
    on_platform = BooleanField(_l("Only units approved on the platform"))

    def validate_closes_on(self, field):
        if field.data and self.opens_on.data and field.data < self.opens_on.data:
            raise ValidationError(_l("The closing date cannot be before the opening date."))


class ApplyForm(FlaskForm):
    message = TextAreaField(_l("Message to the province"), validators=[Optional(), Length(max=5000)])
    documents = MultipleFileField(_l("Documents (PDF, JPEG or PNG)"))


class DecisionForm(FlaskForm):
    decision = SelectField(
        _l("Decision"),
        choices=[SelectChoice("approve", _l("Approve")), SelectChoice("reject", _l("Reject"))],
        validators=[InputRequired()],
    )
    reason = TextAreaField(_l("Reason (required for a rejection)"), validators=[Optional(), Length(max=2000)])

    def validate_reason(self, field):
        if self.decision.data == "reject" and not (field.data or "").strip():
            raise ValidationError(_l("Give the reason for the rejection."))


class DisbursementForm(FlaskForm):
    amount_vnd = WholeNumberField(_l("Amount (đồng)"), validators=[InputRequired()])
    disbursed_on = DateField(_l("Disbursed on"), validators=[DataRequired()])
    note = StringField(_l("Note (optional)"), validators=[Optional(), Length(max=500)])

    def validate_amount_vnd(self, field):
        if field.data is None or field.data <= 0:
            raise ValidationError(_l("Enter an amount greater than 0."))


class OutcomeForm(FlaskForm):
    outcome = TextAreaField(_l("Outcome"), validators=[DataRequired(), Length(max=5000)])
