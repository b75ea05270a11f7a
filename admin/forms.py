"""The panel's forms. Every one carries a CSRF token (flask-admin's SecureForm: an HMAC of a random
value kept in the signed session), so another site cannot make a signed-in admin's browser post."""
from __future__ import annotations

import json
import re
from datetime import timedelta

from flask_admin.form import SecureForm
from flask_babel import gettext, lazy_gettext
from jsonschema import Draft202012Validator, SchemaError
from wtforms import (BooleanField, PasswordField, RadioField, SelectChoice, SelectField, StringField,
                     TextAreaField)
from wtforms.csrf.session import SessionCSRF
from wtforms.validators import DataRequired, Length, Optional, Regexp, ValidationError

from admin.users import ADMIN, MAX_USERNAME_CHARS, MIN_PASSWORD_CHARS, OFFICER
from backend.alerts.repository import LEVELS, MAX_MESSAGE_CHARS
from backend.forms import reference_problem

DOMAIN_NAME = r"^[a-z][a-z0-9_]{0,31}$"  # a plug-in's name, as in BACKEND_PLUGINS
_PROFILE_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
# Lazy: flashed and raised at request time, in the request's language.
CSRF_PROBLEM = lazy_gettext("The form expired or did not come from this panel: reload the page and try again.")


class _SessionCSRF(SessionCSRF):
    def validate_csrf_token(self, form, field):
        # WTForms reads session["csrf"] unguarded: a post from a fresh session would be a KeyError (500).
        if "csrf" not in self.session:
            raise ValidationError(CSRF_PROBLEM)
        super().validate_csrf_token(form, field)


class PanelForm(SecureForm):
    class Meta:
        csrf_class = _SessionCSRF
        csrf_time_limit = timedelta(hours=2)  # long enough to write a knowledge entry

    def process(self, formdata=None, obj=None, data=None, extra_filters=None, **kwargs):
        """A text field left out of a post is "" (WTForms keeps None, and every view's .strip()
        of an optional field was an AttributeError: a 500)."""
        super().process(formdata, obj, data, extra_filters, **kwargs)
        if formdata is not None:
            for field in self:
                if isinstance(field, StringField) and field.data is None:
                    field.data = ""

    @property
    def csrf_failed(self) -> bool:
        return bool(self.csrf_token.errors)


class ActionForm(PanelForm):
    """Only the CSRF token: for buttons that change something (log out, delete)."""


class LoginForm(PanelForm):
    username = StringField(lazy_gettext("Username"), [DataRequired(), Length(max=64)])
    password = PasswordField(lazy_gettext("Password"), [DataRequired(), Length(max=1024)])


class ContactForm(PanelForm):
    name = StringField(lazy_gettext("Name"), [Optional(), Length(max=100)])
    domain = StringField(lazy_gettext("Domain"), [Optional(), Regexp(DOMAIN_NAME, message=lazy_gettext(
        "a plug-in name: lower-case letters, digits and _ (e.g. agro)"))])
    opted_out = BooleanField(lazy_gettext("Opted out (receives no alerts)"))


class AlertForm(PanelForm):
    target = RadioField(lazy_gettext("Send to"), choices=[SelectChoice("contact", lazy_gettext("One contact")),
                                                        SelectChoice("group", lazy_gettext("A group"))],
                        default="contact")
    phone = StringField(lazy_gettext("Phone (one contact)"), [Optional(), Length(max=40)])
    domain = StringField(lazy_gettext("Domain (group)"),
                         [Optional(), Regexp(DOMAIN_NAME, message=lazy_gettext("a plug-in name, e.g. agro"))])
    profile_filters = TextAreaField(lazy_gettext("Profile filters (group, optional): one key=value a line"),
                                    [Optional(), Length(max=2000)])
    message = TextAreaField(lazy_gettext("Message"), [DataRequired(), Length(max=MAX_MESSAGE_CHARS)])
    level = SelectField(lazy_gettext("Level"), choices=[SelectChoice(level) for level in LEVELS], default="media")

    def validate(self, extra_validators=None) -> bool:
        """The fields a target needs (the per-field Optional() would skip inline checks on empty input)."""
        valid = super().validate(extra_validators)
        self.parsed_filters = {}
        if self.target.data == "contact" and not (self.phone.data or "").strip():
            self.phone.errors.append(gettext("enter the contact's phone number"))
            valid = False
        if self.target.data == "group":
            if not (self.domain.data or "").strip():
                # A group without a domain would be everybody: too easy to do by mistake.
                self.domain.errors.append(gettext("a group needs a domain"))
                valid = False
            try:
                self.parsed_filters = parse_profile_filters(self.profile_filters.data or "")
            except ValidationError as problem:
                self.profile_filters.errors.append(str(problem))
                valid = False
        return valid


def parse_profile_filters(text: str) -> dict:
    """'cultivo=maíz' lines become {"cultivo": "maíz"}; true/false/numbers/null are read as JSON,
    so 'activo=true' matches a JSON true in the profile."""
    filters = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        key, equals, raw_value = line.partition("=")
        key, raw_value = key.strip(), raw_value.strip()
        if not equals or not _PROFILE_KEY.match(key):
            raise ValidationError(gettext("line %(number)s: write key=value, the key in letters, digits and _",
                                          number=number))
        try:
            value = json.loads(raw_value)
        except ValueError:
            value = raw_value
        if isinstance(value, (dict, list)):
            raise ValidationError(gettext("line %(number)s: the value must be text, a number, true/false or null",
                                          number=number))
        filters[key] = value
    return filters


class FormSchemaForm(PanelForm):
    schema = TextAreaField(lazy_gettext("JSON schema"), [DataRequired(), Length(max=100_000)])

    def validate_schema(self, field):
        try:
            schema = json.loads(field.data)
        except ValueError as problem:
            raise ValidationError(gettext("not valid JSON: %(problem)s", problem=problem)) from None
        if not isinstance(schema, dict):
            raise ValidationError(gettext("the schema must be a JSON object ({...})"))
        try:
            Draft202012Validator.check_schema(schema)
        except SchemaError as problem:
            where = "/".join(str(part) for part in problem.absolute_path) or gettext("the top level")
            raise ValidationError(gettext("not a valid JSON schema at %(where)s: %(problem)s", where=where,
                                          problem=problem.message)) from None
        if unresolvable := reference_problem(schema):  # accepted, it would fail every submission
            raise ValidationError(unresolvable)
        self.parsed_schema = schema


class KnowledgeForm(PanelForm):
    title = StringField(lazy_gettext("Title"), [DataRequired(), Length(max=200)])
    domain = StringField(lazy_gettext("Domain (empty: every domain)"),
                         [Optional(), Regexp(DOMAIN_NAME, message=lazy_gettext("a plug-in name, e.g. agro"))])
    body = TextAreaField(lazy_gettext("Text"), [DataRequired(), Length(max=20_000)])


class AccountForm(PanelForm):
    """A new panel account (admin/views/users.py); the role says what it may do (admin/auth.py)."""
    username = StringField(lazy_gettext("Username"), [DataRequired(), Length(max=MAX_USERNAME_CHARS)])
    password = PasswordField(lazy_gettext("Password"), [DataRequired(), Length(min=MIN_PASSWORD_CHARS, max=1024)])
    role = SelectField(lazy_gettext("Role"), choices=[SelectChoice(OFFICER, lazy_gettext("officer")),
                                                      SelectChoice(ADMIN, lazy_gettext("admin"))], default=OFFICER)


class RoleForm(PanelForm):
    role = SelectField(lazy_gettext("Role"), choices=[SelectChoice(OFFICER, lazy_gettext("officer")),
                                                      SelectChoice(ADMIN, lazy_gettext("admin"))])


class PasswordResetForm(PanelForm):
    password = PasswordField(lazy_gettext("New password"),
                             [DataRequired(), Length(min=MIN_PASSWORD_CHARS, max=1024)])


class OfficerReplyForm(PanelForm):
    """An officer's message to the user of a conversation they hold (admin/views/takeovers.py)."""
    text = TextAreaField(lazy_gettext("Message"), [DataRequired(), Length(max=MAX_MESSAGE_CHARS)])


class RightAnswerForm(PanelForm):
    """The answer a badly rated reply should have been: added to the knowledge base (admin/views/ratings.py)."""
    title = StringField(lazy_gettext("Title"), [DataRequired(), Length(max=200)])
    body = TextAreaField(lazy_gettext("The right answer"), [DataRequired(), Length(max=20_000)])


class EraseForm(PanelForm):
    """Deleting a contact's data: the phone typed again, so a slip of the mouse deletes nothing."""
    phone = StringField(lazy_gettext("Type the contact's phone to confirm"), [DataRequired(), Length(max=32)])
