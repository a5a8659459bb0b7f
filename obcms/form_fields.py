"""WTForms pieces shared by the domain forms, whose rules live in services (the forms only render, keep
what was typed and hand text to the service):

    title = StringField("Title", validators=[Needed()])      # asterisk + `required`; the service checks
    kind = SelectField("Kind", choices=options([("a", "A")]), validate_choice=False)
    amount = money_field("Amount (₱)")                          # text in, the service parses Decimal
    due = date_field("Due date")                                 # <input type=date>, typed text kept
"""
from wtforms import StringField
from wtforms.fields.choices import SelectChoice


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
