"""Review forms: a buyer's review, the cooperative's reply, a report, a moderator's decision."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField, SelectChoice, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from .services import MAX_REASON, MAX_TEXT

STARS = [SelectChoice(n, str(n)) for n in range(1, 6)]
STARS_MESSAGE = _l("Choose from 1 to 5 stars.")


class StarsField(RadioField):
    """One to five stars; anything else gets one plain message (not WTForms' "Not a valid choice")."""

    def __init__(self, label=None, **kwargs):
        super().__init__(label, choices=STARS, coerce=_stars, validators=[InputRequired(STARS_MESSAGE)], **kwargs)

    def pre_validate(self, form):
        if self.data not in range(1, 6):
            raise ValidationError(STARS_MESSAGE)


def _stars(value) -> int | None:
    if isinstance(value, int):
        return value
    return int(value) if isinstance(value, str) and value.strip().isdigit() else None


class ReviewForm(FlaskForm):
    product_rating = StarsField(_l("Product rating"))
    unit_rating = StarsField(_l("Cooperative rating"))
    text = TextAreaField(_l("Your review (optional)"), validators=[Optional(), Length(max=MAX_TEXT)])


class ReplyForm(FlaskForm):
    reply = TextAreaField(_l("Reply of the cooperative"), validators=[DataRequired(), Length(max=MAX_TEXT)])


class ReportForm(FlaskForm):
    reason = TextAreaField(_l("What is wrong with this review?"), validators=[DataRequired(), Length(max=MAX_REASON)])


class ModerationForm(FlaskForm):
    reason = TextAreaField(_l("Reason for the decision"), validators=[DataRequired(), Length(max=MAX_REASON)])
