"""PPA and tranche forms. They render, keep what the user typed and turn text into values; the rules live
in obcms/ppas/services.py, whose field errors are put back on the fields (`show_errors`)."""
from wtforms import BooleanField, SelectField, StringField, TextAreaField

from ..form_fields import Needed, ServiceForm, VersionField, date_field, money_field, options
from .models import (
    APPROPRIATION_CLASSES,
    CATEGORIES,
    DISTRIBUTION_POLICIES,
    FUNDING_SOURCES,
    PRIORITIES,
    SECTORS,
    STATUSES,
    TRANCHE_KINDS,
    choices,
)
from .services import MONEY_FIELDS


def _select(label, values, needed=False, blank="—"):
    choices_ = options(([] if needed else [("", blank)]) + choices(values))
    return SelectField(label, choices=choices_, validate_choice=False, validators=[Needed()] if needed else [])


MILESTONE_HELP = "One row per milestone: its date, what is done by then, and where it stands. Leave a row empty to skip it."
OUTCOME_HELP = "One outcome per line; its outputs on the lines below it, each starting with '-'."


class PpaForm(ServiceForm):
    version = VersionField()
    title = StringField("Title", validators=[Needed()])
    code = StringField("PPA code", render_kw={"placeholder": "e.g. MSSD-2026-014"})
    category = _select("Category", CATEGORIES, needed=True)
    summary = TextAreaField("Summary", render_kw={"rows": 4})
    status = _select("Status", STATUSES, needed=True)
    priority = _select("Priority", PRIORITIES, needed=True)
    progress = StringField("Progress (%)", render_kw={"inputmode": "numeric"})
    fiscal_year = StringField("Fiscal year", validators=[Needed()], render_kw={"inputmode": "numeric"})
    sector = _select("Sector", SECTORS)
    appropriation_class = _select("Appropriation class", APPROPRIATION_CLASSES)
    funding_source = _select("Funding source", FUNDING_SOURCES)
    funding_source_other = StringField("Other funding source")
    implementing_moa_id = SelectField("Implementing MOA", choices=[], validate_choice=False)
    lead_organization_id = SelectField("Lead organization", choices=[], validate_choice=False)
    budget_ceiling = money_field("Budget ceiling (₱)")
    budget_allocation = money_field("Budget allocation (₱)")
    budget_obc_allocation = money_field("OBC allocation (₱)")
    cost_per_beneficiary = money_field("Cost per beneficiary (₱)")
    total_slots = StringField("Total slots", render_kw={"inputmode": "numeric"})
    obc_slots = StringField("OBC slots", render_kw={"inputmode": "numeric"})
    start_date = date_field("Start date")
    target_end_date = date_field("Target end date")
    actual_end_date = date_field("Actual end date")
    milestones = TextAreaField("Milestones", render_kw={"rows": 4, "placeholder": "2026-06-30 | Kits delivered | pending"})
    outcome_framework = TextAreaField("Outcome framework", render_kw={
        "rows": 5, "placeholder": "Household incomes rise\n- 500 starter kits delivered\n- 20 trainings held"})
    supports_sdg = BooleanField("Supports the Sustainable Development Goals")
    moral_governance_pillar = StringField("Moral governance pillar")
    benefits_indigenous_peoples = BooleanField("Benefits indigenous peoples")
    supports_peace_agenda = BooleanField("Supports the peace agenda")
    budget_distribution_policy = _select("Budget distribution policy", DISTRIBUTION_POLICIES, needed=True)
    auto_sync_progress = BooleanField("Take progress from the work items")
    auto_sync_status = BooleanField("Take status from the work items")

    def process(self, formdata=None, obj=None, data=None, extra_filters=None, **kwargs):
        """Milestones arrive as rows (milestone-date, milestone-title, milestone-status, one value per row);
        the form keeps them as its canonical text (format_milestones), so that validation, the 409 panel and
        "keep theirs" treat them as one field. Blank rows are left out."""
        formdata = self.meta.wrap_formdata(self, formdata)  # Flask-WTF: the request's form when not given
        super().process(formdata, obj, data, extra_filters, **kwargs)
        if formdata is not None and "milestone-title" in formdata:
            rows = zip(formdata.getlist("milestone-date"), formdata.getlist("milestone-title"),
                       formdata.getlist("milestone-status"), strict=False)
            self.milestones.data = "\n".join(
                f"{d.strip()} | {t.strip()} | {s.strip() or 'pending'}" for d, t, s in rows if d.strip() or t.strip())

    def milestone_rows(self, blank=2):
        """The milestones as (date, title, status) rows for the form, and `blank` empty rows to add more."""
        rows = []
        for line in (self.milestones.data or "").splitlines():
            parts = [p.strip() for p in line.split("|")] + ["", "", ""]
            if any(parts[:3]):
                rows.append((parts[0], parts[1], parts[2] or "pending"))
        return rows + [("", "", "pending")] * blank

    def set_organizations(self, organizations):
        self.implementing_moa_id.choices = options([("", "—")] + [
            (str(o.id), f"{o.acronym} · {o.name}") for o in organizations if o.kind == "moa"])
        self.lead_organization_id.choices = options([("", "—")] + [(str(o.id), f"{o.acronym} · {o.name}")
                                                                    for o in organizations])

    def values(self):
        """The submitted values for the service, and the errors of text that could not be read."""
        errors = {}
        values = {name: getattr(self, name).data for name in (
            "title", "code", "category", "summary", "status", "priority", "progress", "fiscal_year", "sector",
            "appropriation_class", "funding_source", "funding_source_other", "implementing_moa_id",
            "lead_organization_id", *MONEY_FIELDS, "total_slots", "obc_slots", "start_date", "target_end_date",
            "actual_end_date", "supports_sdg", "moral_governance_pillar", "benefits_indigenous_peoples",
            "supports_peace_agenda", "budget_distribution_policy", "auto_sync_progress", "auto_sync_status")}
        values["progress"] = values["progress"] or 0
        values["milestones"] = parse_milestones(self.milestones.data, errors)
        values["outcome_framework"] = parse_outcomes(self.outcome_framework.data, errors)
        return values, errors



def ppa_form_data(ppa):
    """Initial form data for editing a PPA."""
    data = {name: getattr(ppa, name) for name in (
        "title", "code", "category", "summary", "status", "priority", "progress", "fiscal_year", "sector",
        "appropriation_class", "funding_source", "funding_source_other", "total_slots", "obc_slots",
        "supports_sdg", "moral_governance_pillar", "benefits_indigenous_peoples", "supports_peace_agenda",
        "budget_distribution_policy", "auto_sync_progress", "auto_sync_status")}
    for name in MONEY_FIELDS:
        value = getattr(ppa, name)
        data[name] = "" if value is None else f"{value:.2f}"
    for name in ("start_date", "target_end_date", "actual_end_date"):
        value = getattr(ppa, name)
        data[name] = value.isoformat() if value else ""
    for name in ("implementing_moa_id", "lead_organization_id"):
        value = getattr(ppa, name)
        data[name] = "" if value is None else str(value)
    data["milestones"] = format_milestones(ppa.milestones)
    data["outcome_framework"] = format_outcomes(ppa.outcome_framework)
    data["version"] = ppa.version
    return data


def format_milestones(milestones):
    return "\n".join(f"{m['date']} | {m['title']} | {m['status']}" for m in milestones or [])


def parse_milestones(text, errors):
    """'2026-06-30 | Kits delivered | pending' per line → [{date, title, status}] (status defaults to pending).

    Lines that cannot be split are reported in errors["milestones"]; dates and statuses are checked by the
    service."""
    items = []
    for number, line in enumerate((text or "").splitlines(), start=1):
        if not line.strip():
            continue
        parts = [p.strip() for p in line.split("|")]
        if len(parts) not in (2, 3):
            errors.setdefault("milestones", []).append(
                f"Line {number}: write 'YYYY-MM-DD | title | status' (status optional).")
            continue
        items.append({"date": parts[0], "title": parts[1], "status": parts[2] if len(parts) == 3 else "pending"})
    return items


def format_outcomes(outcomes):
    lines = []
    for outcome in outcomes or []:
        lines.append(outcome["title"])
        lines.extend(f"- {output}" for output in outcome.get("outputs", []))
    return "\n".join(lines)


def parse_outcomes(text, errors):
    """Outcome lines, each followed by its '- output' lines → [{title, outputs}]."""
    outcomes = []
    for number, line in enumerate((text or "").splitlines(), start=1):
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.startswith("-"):
            if not outcomes:
                errors.setdefault("outcome_framework", []).append(
                    f"Line {number}: an output needs an outcome line above it.")
                continue
            outcomes[-1]["outputs"].append(stripped.lstrip("-").strip())
        else:
            outcomes.append({"title": stripped, "outputs": []})
    return outcomes


class TrancheForm(ServiceForm):
    kind = _select("Kind", TRANCHE_KINDS, needed=True)
    amount = StringField("Amount (₱)", validators=[Needed()],
                         render_kw={"inputmode": "decimal", "placeholder": "0.00"})
    tranche_date = StringField("Date", validators=[Needed()], render_kw={"type": "date"})
    source = StringField("Source", render_kw={"placeholder": "e.g. SARO-BARMM-2026-0142"})
    remarks = TextAreaField("Remarks", render_kw={"rows": 2})
