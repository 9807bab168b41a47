"""The annual report's choice of year and province, sent by GET."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectField
from wtforms.validators import InputRequired, NumberRange, Optional

from ..registry.forms import province_choices

FIRST_YEAR = 2000


class AnnualReportForm(FlaskForm):
    """Which year's report, and (for an admin) which province; no province means the whole country."""

    class Meta:
        csrf = False

    year = IntegerField(
        _l("Year"),
        validators=[InputRequired(_l("Enter the year of the report.")), NumberRange(min=FIRST_YEAR)],
    )
    province = SelectField(_l("Province"), validators=[Optional()])

    def set_choices(self, last_year: int) -> None:
        """Fill the provinces and bound the year by today's."""
        self.province.choices = province_choices(_l("The whole country"))
        self.year.validators[1] = NumberRange(
            min=FIRST_YEAR,
            max=last_year,
            message=_l("Choose a year from %(first)s to %(last)s.", first=FIRST_YEAR, last=last_year),
        )
