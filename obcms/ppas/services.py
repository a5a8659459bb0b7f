"""The rules for PPAs and their funding tranches. Views, the API, jobs and the CLI all come through here.

Services check permissions, validate (field-level errors mirroring the database rules), apply and flush;
they never commit: the caller owns the transaction.

    ppa = create_ppa(user, title="Livelihood kits", category="moa_ppa", fiscal_year=2026,
                     implementing_moa_id=mssd.id, budget_allocation=Decimal("1500000.00"))
    update_ppa(ppa, expected_version=form_version, actor=user, status="ongoing")   # Conflict when stale
    add_tranche(ppa, user, kind="obligation", amount=Decimal("250000.00"), tranche_date=date(2026, 3, 1))
"""
import re
from datetime import date

import sqlalchemy as sa

from ..auth.models import Organization
from ..auth.permissions import require
from ..columns import DATE_RANGE_MESSAGE, date_in_range
from ..errors import ValidationFailed
from ..extensions import db
from ..ids import MAX_ID
from ..money import (
    BLANK,
    MAX_AMOUNT,
    NEGATIVE,
    NOT_A_NUMBER,
    TOO_LARGE,
    TOO_MANY_DECIMALS,
    AmountError,
    format_pesos,
    parse_amount,
)
from ..workflow.locking import versioned_update
from .locking import lock_ppa
from .models import (
    APPROPRIATION_CLASSES,
    CATEGORIES,
    DISTRIBUTION_POLICIES,
    FUNDING_SOURCES,
    MILESTONE_STATUSES,
    PRIORITIES,
    SECTORS,
    STATUSES,
    TRANCHE_KINDS,
    FundingTranche,
    Ppa,
    label,
)
from .tracking import ROOT_FIELDS, follow_ppa_organization, follow_ppa_plan, follow_ppa_status

MONEY_PROBLEMS = {NOT_A_NUMBER: "Enter an amount in pesos, e.g. 1,250,000.00.",
                  TOO_LARGE: f"The amount is too large (at most {format_pesos(MAX_AMOUNT)}).",
                  NEGATIVE: "The amount cannot be negative.", TOO_MANY_DECIMALS: "Use at most 2 decimals (centavos)."}
CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]*$")

# Fields a PPA's editors may set through create_ppa / update_ppa. The approval state, the submitter and the
# execution-tracking link are changed only by the approval workflow and the tracking service.
EDITABLE_FIELDS = (
    "title", "code", "category", "summary", "status", "priority", "progress", "fiscal_year", "sector",
    "appropriation_class", "funding_source", "funding_source_other", "implementing_moa_id", "lead_organization_id",
    "budget_ceiling", "budget_allocation", "budget_obc_allocation", "cost_per_beneficiary", "total_slots",
    "obc_slots", "start_date", "target_end_date", "actual_end_date", "milestones", "outcome_framework",
    "supports_sdg", "moral_governance_pillar", "benefits_indigenous_peoples", "supports_peace_agenda",
    "budget_distribution_policy", "auto_sync_progress", "auto_sync_status",
)
MONEY_FIELDS = ("budget_ceiling", "budget_allocation", "budget_obc_allocation", "cost_per_beneficiary")
DEFAULTS = {"summary": "", "status": "planning", "priority": "medium", "progress": 0, "milestones": [],
            "outcome_framework": [], "supports_sdg": False, "benefits_indigenous_peoples": False,
            "supports_peace_agenda": False, "budget_distribution_policy": "equal", "auto_sync_progress": True,
            "auto_sync_status": True}


class _Errors(dict):
    def add(self, field, message):
        self.setdefault(field, []).append(message)


# PPAs ----------------------------------------------------------------------------------------------------

def create_ppa(actor, **values):
    """Create a PPA from EDITABLE_FIELDS values (Python types: str, int, Decimal, date, list, bool)."""
    require(actor, "ppa.create")
    _refuse_unknown(values)
    data = {**DEFAULTS, **{k: None for k in EDITABLE_FIELDS if k not in DEFAULTS}, **values}
    clean = validate_ppa(data, actor)
    ppa = Ppa(**clean, created_by_id=actor.id)
    db.session.add(ppa)
    db.session.flush()
    return ppa


def update_ppa(ppa, expected_version, *, actor, **changes):
    """Apply `changes` to a PPA the actor may edit, if nobody changed it since `expected_version`.

    Raises Conflict (409) when stale, with changed_fields {field: {"current", "yours", "by", "at"}}
    (obcms/workflow/locking.py)."""
    require(actor, "ppa.edit", ppa)
    _refuse_unknown(changes)
    data = {name: getattr(ppa, name) for name in EDITABLE_FIELDS}
    data.update(changes)
    clean = validate_ppa(data, actor, existing=ppa)
    # What the user sent, cleaned, plus what cleaning changed beside it (e.g. funding_source_other cleared).
    applied = {name: value for name, value in clean.items() if name in changes or getattr(ppa, name) != value}
    status_before, moa_before = ppa.status, ppa.implementing_moa_id
    plan_before = {name: getattr(ppa, name) for name in ROOT_FIELDS}
    lock_ppa(ppa)  # its execution project's tree first: the status may fire the project's transition
    versioned_update(ppa, expected_version, applied)
    if ppa.status != status_before:
        follow_ppa_status(ppa, actor)  # the execution project's transition, when status sync is on
    if ppa.implementing_moa_id != moa_before:
        follow_ppa_organization(ppa)  # its work items (scoped by organization) move with it
    follow_ppa_plan(ppa, actor, plan_before)  # the execution project's root carries the budget and dates
    return ppa


def _refuse_unknown(values):
    unknown = sorted(set(values) - set(EDITABLE_FIELDS))
    if unknown:
        raise ValidationFailed("Some fields cannot be set here.",
                               errors={name: ["This field cannot be changed here."] for name in unknown})


def validate_ppa(data, actor, existing=None):
    """Check a full set of PPA values; return them cleaned or raise ValidationFailed with field errors."""
    errors = _Errors()
    clean = {}
    clean["title"] = _text(data.get("title"), "title", errors, required=True, max_length=500,
                           missing="Enter the PPA's title.")
    clean["code"] = _text(data.get("code"), "code", errors, max_length=50) or None
    if clean["code"] and not CODE_RE.match(clean["code"]):
        errors.add("code", "Use letters, digits and . _ / - only (no spaces).")
    elif clean["code"]:
        _check_code_unique(clean["code"], existing, errors)
    clean["summary"] = _text(data.get("summary"), "summary", errors, max_length=20000)
    for name, allowed, required in (("category", CATEGORIES, True), ("status", STATUSES, True),
                                    ("priority", PRIORITIES, True), ("sector", SECTORS, False),
                                    ("appropriation_class", APPROPRIATION_CLASSES, False),
                                    ("funding_source", FUNDING_SOURCES, False),
                                    ("budget_distribution_policy", DISTRIBUTION_POLICIES, True)):
        clean[name] = _choice(data.get(name), name, allowed, errors, required)
    clean["funding_source_other"] = _text(data.get("funding_source_other"), "funding_source_other", errors,
                                          max_length=200) or None
    if clean["funding_source"] == "other_sources":
        if not clean["funding_source_other"]:
            errors.add("funding_source_other", "Name the other funding source.")
    else:
        clean["funding_source_other"] = None
    clean["progress"] = _integer(data.get("progress"), "progress", errors, 0, 100, required=True)
    clean["fiscal_year"] = _integer(data.get("fiscal_year"), "fiscal_year", errors, 2000, 2100, required=True)
    clean["total_slots"] = _integer(data.get("total_slots"), "total_slots", errors, 0, 10**9)
    clean["obc_slots"] = _integer(data.get("obc_slots"), "obc_slots", errors, 0, 10**9)
    if clean["obc_slots"] is not None and "total_slots" not in errors:
        if clean["total_slots"] is None:
            errors.add("obc_slots", "Enter the total slots first: OBC slots are part of them.")
        elif clean["obc_slots"] > clean["total_slots"]:
            errors.add("obc_slots", f"OBC slots cannot exceed the total slots ({clean['total_slots']:,}).")
    for name in MONEY_FIELDS:
        clean[name] = _money(data.get(name), name, errors)
    _check_budget(clean, errors)
    for name in ("start_date", "target_end_date", "actual_end_date"):
        clean[name] = _date(data.get(name), name, errors)
    if clean["start_date"] and clean["target_end_date"] and clean["target_end_date"] < clean["start_date"]:
        errors.add("target_end_date", "The target end date cannot be before the start date.")
    if clean["start_date"] and clean["actual_end_date"] and clean["actual_end_date"] < clean["start_date"]:
        errors.add("actual_end_date", "The actual end date cannot be before the start date.")
    clean["milestones"] = _milestones(data.get("milestones"), errors)
    clean["outcome_framework"] = _outcomes(data.get("outcome_framework"), errors)
    clean["moral_governance_pillar"] = _text(data.get("moral_governance_pillar"), "moral_governance_pillar",
                                             errors, max_length=200) or None
    for name in ("supports_sdg", "benefits_indigenous_peoples", "supports_peace_agenda", "auto_sync_progress",
                 "auto_sync_status"):
        clean[name] = bool(data.get(name))
    clean["implementing_moa_id"], clean["lead_organization_id"] = _organizations(data, clean, actor, errors)
    if errors:
        raise ValidationFailed(errors=dict(errors))
    return clean


def _check_code_unique(code, existing, errors):
    stmt = sa.select(Ppa.id).where(sa.func.lower(Ppa.code) == code.lower())
    if existing is not None and existing.id is not None:
        stmt = stmt.where(Ppa.id != existing.id)
    if db.session.scalar(stmt.limit(1)) is not None:
        errors.add("code", "Another PPA already has this code.")


def _check_budget(clean, errors):
    ceiling, allocation, obc = clean["budget_ceiling"], clean["budget_allocation"], clean["budget_obc_allocation"]
    if ceiling is not None and allocation is not None and allocation > ceiling:
        errors.add("budget_allocation", f"The allocation cannot exceed the budget ceiling ({format_pesos(ceiling)}).")
    if obc is not None and "budget_allocation" not in errors:
        if allocation is None:
            errors.add("budget_obc_allocation", "Enter the budget allocation first: the OBC allocation is part of it.")
        elif obc > allocation:
            errors.add("budget_obc_allocation",
                       f"The OBC allocation cannot exceed the budget allocation ({format_pesos(allocation)}).")


def _organizations(data, clean, actor, errors):
    """Implementing MOA (an organization of kind moa; required for moa_ppa; an MOA user's own) and lead."""
    moa_id = _integer(data.get("implementing_moa_id"), "implementing_moa_id", errors, 1, MAX_ID)
    lead_id = _integer(data.get("lead_organization_id"), "lead_organization_id", errors, 1, MAX_ID)
    wanted = {i for i in (moa_id, lead_id) if i is not None}
    found = {o.id: o for o in db.session.scalars(sa.select(Organization).where(Organization.id.in_(wanted)))} \
        if wanted else {}
    if moa_id is not None:
        moa = found.get(moa_id)
        if moa is None:
            errors.add("implementing_moa_id", "Choose an existing organization.")
        elif moa.kind != "moa":
            errors.add("implementing_moa_id", f"{moa.acronym} is not an MOA; choose a ministry, office or agency.")
    elif clean.get("category") == "moa_ppa":
        errors.add("implementing_moa_id", "An MOA PPA needs its implementing MOA.")
    if actor.role == "moa_staff" and moa_id != actor.organization_id and "implementing_moa_id" not in errors:
        errors.add("implementing_moa_id", "MOA staff can only manage PPAs implemented by their own organization.")
    if lead_id is not None and lead_id not in found:
        errors.add("lead_organization_id", "Choose an existing organization.")
    return moa_id, lead_id


def _text(value, field, errors, required=False, max_length=None, missing=None):
    text = ("" if value is None else str(value)).strip()
    if "\x00" in text:
        errors.add(field, "Contains an invalid character.")
        return ""
    if required and not text:
        errors.add(field, missing or "This field is required.")
    if max_length and len(text) > max_length:
        errors.add(field, f"At most {max_length:,} characters.")
    return text


def _choice(value, field, allowed, errors, required):
    if value in (None, ""):
        if required:
            errors.add(field, f"Choose one of: {', '.join(label(v) for v in allowed)}.")
        return None
    if value not in allowed:
        errors.add(field, f"Choose one of: {', '.join(label(v) for v in allowed)}.")
        return None
    return value


def _integer(value, field, errors, low, high, required=False):
    if value in (None, ""):
        if required:
            errors.add(field, "This field is required.")
        return None
    if isinstance(value, bool):
        errors.add(field, "Enter a whole number.")
        return None
    try:
        number = int(str(value).strip())
    except ValueError:
        errors.add(field, "Enter a whole number.")
        return None
    if number < low or (high is not None and number > high):
        errors.add(field, f"Enter a number from {low} to {high}." if high is not None else
                   f"Enter a number of at least {low}.")
        return None
    return number


def _money(value, field, errors, allow_negative=False):
    """The amount in `value` (obcms.money.parse_amount), None when blank or wrong (the problems go to errors)."""
    try:
        return parse_amount(value, allow_negative=allow_negative)
    except AmountError as error:
        for reason in error.reasons:
            if reason != BLANK:
                errors.add(field, MONEY_PROBLEMS[reason])
        return None


def _date(value, field, errors):
    if value in (None, ""):
        return None
    if not isinstance(value, date):
        try:
            value = date.fromisoformat(str(value).strip())
        except ValueError:
            errors.add(field, "Enter a date as YYYY-MM-DD.")
            return None
    if not date_in_range(value):
        errors.add(field, DATE_RANGE_MESSAGE)
        return None
    return value


def _milestones(value, errors):
    """[{date, title, status}] → cleaned and sorted by date (dates stored as ISO strings)."""
    items = []
    for number, item in enumerate(value or [], start=1):
        problems = _Errors()
        when = _date(item.get("date"), "m", problems) if isinstance(item, dict) else None
        title = str(item.get("title") or "").strip() if isinstance(item, dict) else ""
        status = (item.get("status") or "pending") if isinstance(item, dict) else None
        if when is None:
            errors.add("milestones", f"Milestone {number}: give a date as YYYY-MM-DD.")
        if not title or len(title) > 200:
            errors.add("milestones", f"Milestone {number}: give a title of at most 200 characters.")
        if status not in MILESTONE_STATUSES:
            errors.add("milestones", f"Milestone {number}: the status must be one of {', '.join(MILESTONE_STATUSES)}.")
        if when is not None and title and status in MILESTONE_STATUSES:
            items.append({"date": when.isoformat(), "title": title, "status": status})
    return sorted(items, key=lambda m: m["date"])


def _outcomes(value, errors):
    """[{title, outputs: [str]}] → cleaned; every outcome and output needs a title."""
    items = []
    for number, item in enumerate(value or [], start=1):
        title = str(item.get("title") or "").strip() if isinstance(item, dict) else ""
        outputs = [str(o).strip() for o in (item.get("outputs") or [])] if isinstance(item, dict) else []
        if not title or len(title) > 500:
            errors.add("outcome_framework", f"Outcome {number}: give a title of at most 500 characters.")
            continue
        if any(not o or len(o) > 500 for o in outputs):
            errors.add("outcome_framework", f"Outcome {number}: every output needs a title of at most 500 characters.")
            continue
        items.append({"title": title, "outputs": outputs})
    return items


# Funding tranches --------------------------------------------------------------------------------------

# Kinds that a tracked PPA records through the work-item ledger (obcms/budget/ledger.py writes their tranches).
LEDGER_TRANCHE_KINDS = ("obligation", "disbursement")


def add_tranche(ppa, actor, *, kind, amount, tranche_date, source="", remarks=""):
    """Record a money movement on a PPA. Amounts ≥ 0 except adjustments, which may be negative. A tracked PPA's
    obligations and disbursements are posted on its work items instead (the ledger), so are refused here."""
    require(actor, "ppa.funding.edit", ppa)
    errors = _Errors()
    kind = _choice(kind, "kind", TRANCHE_KINDS, errors, required=True)
    if kind in LEDGER_TRANCHE_KINDS and ppa.workitem_tracking_enabled:
        errors.add("kind", "This PPA's obligations and disbursements are recorded on its work items (Budget tab: "
                           "open an item's ledger), which keeps its tree and its tranches in agreement.")
    value = _money(amount, "amount", errors, allow_negative=kind == "adjustment")
    if value is None and "amount" not in errors:
        errors.add("amount", "Enter the amount.")
    when = _date(tranche_date, "tranche_date", errors)
    if when is None and "tranche_date" not in errors:
        errors.add("tranche_date", "Enter the date of the movement.")
    source = _text(source, "source", errors, max_length=200)
    remarks = _text(remarks, "remarks", errors, max_length=2000)
    if errors:
        raise ValidationFailed(errors=dict(errors))
    tranche = FundingTranche(ppa_id=ppa.id, kind=kind, amount=value, tranche_date=when, source=source,
                             remarks=remarks, created_by_id=actor.id)
    db.session.add(tranche)
    db.session.flush()
    return tranche
