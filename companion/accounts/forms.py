"""Forms of the sign-in pages (Flask-WTF: validation and the CSRF token in one place)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Email, Length


def strip_whitespace(value: str | None) -> str | None:
    """A WTForms filter: the text without the spaces around it (``None`` and non-text as they are).

    Addresses, names and codes pasted from a registration mail or a spreadsheet often carry spaces.
    """
    return value.strip() if isinstance(value, str) else value


class EmailLinkForm(FlaskForm):
    email = EmailField("Email address", filters=[strip_whitespace], validators=[DataRequired(), Email(check_deliverability=False), Length(max=254)])


class PasswordForm(FlaskForm):
    email = EmailField("Email address", filters=[strip_whitespace], validators=[DataRequired(), Email(check_deliverability=False), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=200)])


class ConfirmForm(FlaskForm):
    """A form with nothing but its CSRF token: for buttons that change state."""
