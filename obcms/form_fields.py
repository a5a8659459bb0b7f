"""WTForms pieces shared by the domain forms, whose rules live in services (the forms only render, keep
what was typed and hand text to the service):

    title = StringField("Title", validators=[Needed()])      # asterisk + `required`; the service checks
    kind = SelectField("Kind", choices=options([("a", "A")]), validate_choice=False)
    amount = money_field("Amount (₱)")                          # text in, the service parses Decimal
    due = date_field("Due date")                                 # <input type=date>, typed text kept
    version = VersionField()                                     # hidden; .data an int, None when missing/bad
"""
from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField
from wtforms.fields.choices import SelectChoice

from .errors import ValidationFailed
from .ids import parse_id


class ServiceForm(FlaskForm):
    """A form whose rules live in a service: the service's field errors are put back on the fields."""

    def show_errors(self, errors):
        """Field errors on their fields; those of no field, or of a hidden one (the version), at the top."""
        for name, messages in errors.items():
            field = self._fields.get(name)
            if field is not None and name != "csrf_token" and field.type not in ("HiddenField", "VersionField"):
                field.errors = list(field.errors or []) + list(messages)
            else:
                self.form_errors.extend(message for message in messages if message not in self.form_errors)

    def show_failure(self, error):
        """A ValidationFailed on the form: its field errors, or its message when it names no field."""
        self.show_errors(error.errors or {"__all__": [error.detail]})


def run_service(errors, call):
    """Run the service even when the form met text it could not read (a date that is no date), so that the
    form comes back with every error at once: the form's (`errors`) and the service's. Nothing is kept when
    either found one (raising rolls the unit of work back). Returns what the service returned."""
    try:
        result = call()
    except ValidationFailed as error:
        if not errors:
            raise
        merged = {name: list(messages) for name, messages in errors.items()}
        for name, messages in (error.errors or {"__all__": [error.detail]}).items():
            merged.setdefault(name, []).extend(m for m in messages if m not in merged[name])
        raise ValidationFailed(errors=merged) from error
    if errors:
        raise ValidationFailed(errors=errors)
    return result


class Needed:
    """Marks a field required (asterisk, `required` attribute). The service does the checking."""

    field_flags = {"required": True}

    def __call__(self, form, field):
        return None


def options(pairs):
    """[(value, label)] → SelectField choices (SelectChoice; tuples are deprecated in WTForms 3.3)."""
    return [SelectChoice(value=value, label=text) for value, text in pairs]


def money_field(label, **kwargs):
    return StringField(label, render_kw={"inputmode": "decimal", "placeholder": "0.00", "class": "money-input"},
                       **kwargs)


def date_field(label, **kwargs):
    return StringField(label, render_kw={"type": "date"}, **kwargs)


class VersionField(HiddenField):
    """The version of the record the form was rendered with (hidden). `.data` is the whole number sent, or None
    when it is missing or not a version number (in range of the column): the service then refuses the save
    with a message for the top of the form (obcms.workflow.locking.version_number)."""

    def process_formdata(self, valuelist):
        if valuelist:
            self.data = parse_id(valuelist[0]) or None
