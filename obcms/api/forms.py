"""The account page's form for a new API token (the rules are create_token's, obcms/api/tokens.py)."""
from wtforms import SelectField, StringField

from ..form_fields import Needed, ServiceForm, options

SCOPE_CHOICES = (("read", "Read only"), ("write", "Read and write"))
EXPIRY_CHOICES = (("30", "In 30 days"), ("90", "In 90 days"), ("365", "In a year"), ("", "Never (until revoked)"))


class TokenForm(ServiceForm):
    name = StringField("What it is for", validators=[Needed()], render_kw={"maxlength": 100})
    scope = SelectField("Access", choices=options(SCOPE_CHOICES), default="read", validate_choice=False)
    expires_in_days = SelectField("Expires", choices=options(EXPIRY_CHOICES), default="90", validate_choice=False)

    def values(self):
        """(name, scope, days or None); a days value that is no whole number goes to the service as text, which
        refuses it on its field."""
        days = (self.expires_in_days.data or "").strip()
        return self.name.data, self.scope.data, (int(days) if days.isdigit() and len(days) < 6 else days or None)
