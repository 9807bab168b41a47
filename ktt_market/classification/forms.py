"""Forms of the classification: rubric versions, the self-assessment, the officer's review, filters."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import FieldList, Form, FormField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from ..registry.forms import ward_choices
from .models import Assessment
from .services import FIRST_YEAR, GRADE_LABELS, MAX_COMMENT, STATUS_LABELS

BLANK_CRITERIA = 3  # empty rows offered below the copied criteria, for new ones


class PointsField(IntegerField):
    """Whole points; anything else gets a message people understand."""

    def process_formdata(self, valuelist):
        self.data = None
        if not valuelist or not valuelist[0].strip():
            return
        text = valuelist[0].strip()
        if not text.isdigit():
            raise ValueError(_l("Enter whole points (0, 1, 2 …), without decimals or signs."))
        self.data = int(text)


def _choices(labels: dict, blank=None) -> list[SelectChoice]:
    # SelectChoice, not tuples: WTForms 3.3 deprecates tuple choices (tests treat warnings as errors).
    options = [SelectChoice("", blank)] if blank is not None else []
    return options + [SelectChoice(member.value, label) for member, label in labels.items()]


# ---------------------------------------------------------------- rubric versions


class CriterionForm(Form):
    group = StringField(_l("Group"), validators=[Optional(), Length(max=120)])
    code = StringField(_l("Code"), validators=[Optional(), Length(max=20)])
    label = StringField(_l("Criterion"), validators=[Optional(), Length(max=500)])
    max_points = PointsField(_l("Maximum points"), validators=[Optional(), NumberRange(min=1, max=100)])


class RubricForm(FlaskForm):
    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=40)])
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    first_year = PointsField(
        _l("First year"),
        validators=[InputRequired(), NumberRange(min=FIRST_YEAR, max=2100, message=_l("Enter a year such as 2026."))],
    )
    good_min = PointsField(_l("Good from (points)"), validators=[InputRequired()])
    fair_min = PointsField(_l("Fair from (points)"), validators=[InputRequired()])
    average_min = PointsField(_l("Average from (points); below: weak"), validators=[InputRequired()])
    criteria = FieldList(FormField(CriterionForm), min_entries=1, max_entries=60)


# ---------------------------------------------------------------- assessments


def self_assessment_form(assessment: Assessment, **kwargs) -> FlaskForm:
    """A form with one points field per criterion, named c<criterion id>."""

    class SelfAssessmentForm(FlaskForm):
        pass

    for score in assessment.scores:
        c = score.criterion
        message = _l("Enter whole points from 0 to %(max)d.", max=c.max_points)
        setattr(
            SelfAssessmentForm,
            f"c{c.id}",
            PointsField(
                f"{c.code}. {c.label}", validators=[Optional(), NumberRange(min=0, max=c.max_points, message=message)]
            ),
        )
    return SelfAssessmentForm(**kwargs)


def review_form(assessment: Assessment, **kwargs) -> FlaskForm:
    """A form with points (p<id>) and a comment (m<id>) per criterion, and an overall comment."""

    class ReviewForm(FlaskForm):
        comment = TextAreaField(_l("Overall comment (optional)"), validators=[Optional(), Length(max=MAX_COMMENT)])

    for score in assessment.scores:
        c = score.criterion
        message = _l("Enter whole points from 0 to %(max)d.", max=c.max_points)
        setattr(
            ReviewForm,
            f"p{c.id}",
            PointsField(
                _l("Points for %(code)s", code=c.code),
                validators=[Optional(), NumberRange(min=0, max=c.max_points, message=message)],
            ),
        )
        setattr(
            ReviewForm,
            f"m{c.id}",
            StringField(_l("Comment on %(code)s", code=c.code), validators=[Optional(), Length(max=MAX_COMMENT)]),
        )
    return ReviewForm(**kwargs)


class ReturnForm(FlaskForm):
    reason = TextAreaField(
        _l("What should the cooperative correct?"), validators=[DataRequired(), Length(max=MAX_COMMENT)]
    )


class ImportForm(FlaskForm):
    file = FileField(_l("Results file (CSV or XLSX)"), validators=[FileRequired(_l("Choose a file."))])


class AssessmentFilterForm(FlaskForm):
    """The officers' list filters, sent by GET."""

    class Meta:
        csrf = False

    year = SelectField(_l("Year"), validators=[Optional()])
    status = SelectField(_l("Status"), choices=_choices(STATUS_LABELS, _l("All")), validators=[Optional()])
    grade = SelectField(_l("Grade"), choices=_choices(GRADE_LABELS, _l("All")), validators=[Optional()])
    ward = SelectField(_l("Ward or commune"), validators=[Optional()])

    def set_choices(self, years: list[int], province_code: int | None) -> None:
        self.year.choices = [SelectChoice(str(y), str(y)) for y in years]
        self.ward.choices = ward_choices(province_code, _l("All"))


class YearForm(FlaskForm):
    """A year picked by GET (the movement page)."""

    class Meta:
        csrf = False

    year = SelectField(_l("Year"), validators=[Optional()])
