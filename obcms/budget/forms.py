"""The ledger's forms (obcms/budget/ledger.py holds the rules; its field errors come back on the fields)."""
from wtforms import BooleanField, SelectField, StringField, TextAreaField

from ..form_fields import Needed, ServiceForm, date_field, money_field, options
from .ledger import KIND_LABELS


class EntryForm(ServiceForm):
    kind = SelectField("Kind", choices=options(KIND_LABELS.items()), validate_choice=False, validators=[Needed()])
    amount = money_field("Amount (₱)", validators=[Needed()])
    entry_date = date_field("Date", validators=[Needed()])
    reference = StringField("Reference (ORS / DV number)", render_kw={"maxlength": 60})
    payee = StringField("Payee or description", render_kw={"maxlength": 200})
    override = BooleanField("Obligate beyond the allocation")
    reason = TextAreaField("Reason", render_kw={"rows": 2, "maxlength": 500})


class ReverseForm(ServiceForm):
    reason = StringField("Reason for the reversal", validators=[Needed()], render_kw={"maxlength": 500})
