"""The assessment form: reads what was typed and hands it to obcms/assessments/services.py."""
from datetime import date

from wtforms import SelectField, StringField

from ..form_fields import Needed, ServiceForm, VersionField, date_field, options
from ..ids import parse_id
from .models import METHODOLOGY_LABELS


class AssessmentForm(ServiceForm):
    title = StringField("Title", validators=[Needed()])
    organization_id = SelectField("Organization", choices=[], validate_choice=False, validators=[Needed()])
    methodology = SelectField("Methodology", choices=options(METHODOLOGY_LABELS.items()), validate_choice=False,
                              validators=[Needed()])
    start_date = date_field("Start date", validators=[Needed()])
    lead_id = SelectField("Lead", choices=[], validate_choice=False)
    version = VersionField()

    def setup(self, organizations, leads):
        self.organization_id.choices = options([(str(o.id), f"{o.acronym} — {o.name}") for o in organizations])
        self.lead_id.choices = options([("", "(nobody yet)")] + [(str(u.id), u.display_name) for u in leads])
        return self

    def values(self):
        """(values for the service, errors of text that could not be read)."""
        errors = {}
        start = None
        text = (self.start_date.data or "").strip()
        if text:
            try:
                start = date.fromisoformat(text)
            except ValueError:
                errors["start_date"] = ["A date such as 2027-01-11."]
        if self.lead_id.data and parse_id(self.lead_id.data) is None:
            errors["lead_id"] = ["Choose an active user, or nobody."]
        return dict(title=self.title.data or "", organization_id=parse_id(self.organization_id.data),
                    methodology=self.methodology.data, start_date=start,
                    lead_id=parse_id(self.lead_id.data) if self.lead_id.data else None), errors


def form_data(assessment):
    return {"title": assessment.title, "organization_id": str(assessment.organization_id),
            "methodology": assessment.methodology, "start_date": assessment.start_date.isoformat(),
            "lead_id": str(assessment.lead_id or ""), "version": assessment.version}
