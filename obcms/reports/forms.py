"""The policy form: reads what was typed and hands it to obcms/reports/policies.py."""
from wtforms import SelectField, StringField

from ..form_fields import Needed, ServiceForm, VersionField, options
from .models import POLICY_STATUSES
from .policies import STATUS_LABELS


class PolicyForm(ServiceForm):
    title = StringField("Title", validators=[Needed()])
    reference = StringField("Reference", validators=[Needed()])
    status = SelectField("Status", choices=options((s, STATUS_LABELS[s]) for s in POLICY_STATUSES),
                         validate_choice=False, validators=[Needed()])
    version = VersionField()

    def values(self):
        return dict(title=self.title.data or "", reference=self.reference.data or "", status=self.status.data)


def policy_form_data(policy):
    return {"title": policy.title, "reference": policy.reference, "status": policy.status, "version": policy.version}
