"""The task templates obcms ships, and their idempotent upsert (`flask obcms tasks seed-templates`).

ppa_budget_cycle is DOMAIN.md's list exactly (day, title, priority, role; no priority named = medium); its
estimated hours are ours. The assessment templates are named by methodology (assessment_<methodology>; mixed
is the full cycle) and the event templates by kind (event_<kind>). Event offsets count from the event's date
(the schema keeps offsets >= 0, so preparation is due on the day itself).

seed_templates() upserts by template name: a missing template is created, an existing one is brought to these
values field by field and item by item (matched by position) — only what differs is written, so a second run
changes nothing and items are never duplicated.
"""
from decimal import Decimal

import sqlalchemy as sa

from ..extensions import db
from .models import TaskTemplate, TaskTemplateItem

PPA_TEMPLATE = "ppa_budget_cycle"
ASSESSMENT_TEMPLATES = {"desk_review": "assessment_desk_review", "survey": "assessment_survey",
                        "participatory": "assessment_participatory", "mixed": "assessment_mixed"}
EVENT_TEMPLATES = {"meeting": "event_meeting", "workshop": "event_workshop", "conference": "event_conference"}


def _items(*rows):
    """(day, title, priority, role, hours[, description]) → item dicts in order."""
    return [dict(due_offset_days=day, title=title, priority=priority, role=role,
                 estimated_hours=Decimal(hours) if hours is not None else None,
                 description=rest[0] if rest else "")
            for day, title, priority, role, hours, *rest in rows]


FOR_THE_PPA = "For {ppa_code} “{ppa_title}”, fiscal year {fiscal_year}."
PPA_BUDGET_CYCLE = _items(*[(*row, FOR_THE_PPA) for row in (
    (0, "Formulate PPA budget proposal", "high", "lead", "16"),
    (5, "Prepare budget justification", "medium", "lead", "8"),
    (8, "Review budget alignment", "medium", "reviewer", "4"),
    (12, "Submit budget proposal", "critical", "lead", "2"),
    (30, "Prepare technical hearing materials", "medium", "contributor", "8"),
    (45, "Attend technical hearing", "critical", "lead", "4"),
    (48, "Revise budget based on feedback", "medium", "lead", "8"),
    (90, "Track budget allocation", "medium", "monitor", "2"),
    (120, "Monitor budget utilization", "medium", "monitor", "4"),
    (350, "Prepare budget accountability report", "medium", "lead", "12"),
)])
DESK_REVIEW = [
    (0, "Define the scope and questions of {assessment_title}", "high", "lead", "4"),
    (3, "Collect existing reports and data", "medium", "contributor", "8"),
    (10, "Analyse the documents", "medium", "contributor", "16"),
    (14, "Draft the desk review report", "high", "lead", "12"),
]
SURVEY = [
    (0, "Design the questionnaire and sampling plan for {assessment_title}", "high", "lead", "12"),
    (5, "Review the questionnaire", "medium", "reviewer", "4"),
    (7, "Pre-test the questionnaire", "medium", "contributor", "8"),
    (10, "Train the enumerators", "medium", "contributor", "8"),
    (14, "Conduct the survey fieldwork", "high", "contributor", "40"),
    (35, "Clean and encode the survey data", "medium", "contributor", "16"),
    (42, "Analyse the survey data", "high", "lead", "16"),
]
PARTICIPATORY = [
    (0, "Map the stakeholders and communities of {assessment_title}", "high", "lead", "6"),
    (5, "Prepare the facilitation guide", "medium", "contributor", "6"),
    (7, "Review the facilitation guide", "medium", "reviewer", "2"),
    (10, "Coordinate with community leaders", "medium", "contributor", "8"),
    (14, "Conduct the focus group discussions and consultations", "high", "lead", "24"),
    (28, "Consolidate the community inputs", "medium", "contributor", "8"),
    (35, "Validate the findings with the communities", "high", "lead", "8"),
]
REPORTING = [
    (49, "Draft the assessment report", "high", "lead", "16"),
    (53, "Review the assessment report", "medium", "reviewer", "4"),
    (56, "Approve and publish the findings", "high", "approver", "2"),
    (90, "Monitor the follow-up of the recommendations", "medium", "monitor", "4"),
]


def _reporting(shift):
    """The closing steps, `shift` days earlier for the shorter methodologies."""
    return [(day - shift, title, priority, role, hours) for day, title, priority, role, hours in REPORTING]


TEMPLATES = {
    PPA_TEMPLATE: dict(domain="general", description="The budget cycle of a new MOA or OOBC PPA (DOMAIN.md), "
                                                     "due from the PPA's start date.", items=PPA_BUDGET_CYCLE),
    "assessment_desk_review": dict(domain="assessment", description="A desk review: documents and data already at "
                                   "hand.", items=_items(*DESK_REVIEW, *_reporting(31))),
    "assessment_survey": dict(domain="assessment", description="A survey: questionnaire, fieldwork, analysis.",
                              items=_items(*SURVEY, *_reporting(0))),
    "assessment_participatory": dict(domain="assessment", description="A participatory assessment with the "
                                     "communities.", items=_items(*PARTICIPATORY, *_reporting(7))),
    "assessment_mixed": dict(domain="assessment", description="Mixed methods: the full cycle (desk review, survey "
                             "and participatory steps).",
                             items=_items(*DESK_REVIEW[1:3], *SURVEY, *PARTICIPATORY[1:], *_reporting(0))),
    "event_meeting": dict(domain="coordination", description="A meeting on the calendar.", items=_items(
        (0, "Prepare the agenda of {event_title}", "high", "lead", "2"),
        (0, "Confirm the participants", "medium", "contributor", "1"),
        (2, "Circulate the minutes of {event_title}", "medium", "lead", "2"),
        (7, "Follow up the action items", "medium", "monitor", "2"))),
    "event_workshop": dict(domain="coordination", description="A workshop on the calendar.", items=_items(
        (0, "Finalize the design of {event_title}", "high", "lead", "6"),
        (0, "Confirm the venue, logistics and participants", "high", "contributor", "4"),
        (0, "Prepare the workshop materials", "medium", "contributor", "6"),
        (3, "Consolidate the workshop outputs", "medium", "lead", "6"),
        (7, "Submit the workshop report", "high", "lead", "6"),
        (10, "Review the workshop report", "medium", "reviewer", "2"))),
    "event_conference": dict(domain="coordination", description="A conference on the calendar.", items=_items(
        (0, "Confirm the programme and speakers of {event_title}", "critical", "lead", "8"),
        (0, "Arrange the venue, logistics and registration", "high", "contributor", "12"),
        (0, "Prepare the conference kits and materials", "medium", "contributor", "8"),
        (5, "Compile the proceedings", "medium", "contributor", "12"),
        (10, "Draft the conference report", "high", "lead", "8"),
        (14, "Review the conference report", "medium", "reviewer", "2"),
        (21, "Approve the conference report", "medium", "approver", "1"),
        (30, "Monitor the commitments made", "medium", "monitor", "4"))),
}
ITEM_FIELDS = ("title", "description", "priority", "estimated_hours", "role", "due_offset_days")


def seed_templates(session=None):
    """Create or bring up to date the shipped templates (by name). Returns {"created", "updated",
    "unchanged"}: template counts. Never commits."""
    session = session or db.session
    existing = {t.name: t for t in session.scalars(sa.select(TaskTemplate).where(
        TaskTemplate.name.in_(list(TEMPLATES))))}
    counts = {"created": 0, "updated": 0, "unchanged": 0}
    for name, spec in TEMPLATES.items():
        template = existing.get(name)
        if template is None:
            template = TaskTemplate(name=name, domain=spec["domain"], description=spec["description"], active=True)
            template.items = [TaskTemplateItem(position=n, **item) for n, item in enumerate(spec["items"], 1)]
            session.add(template)
            counts["created"] += 1
            continue
        counts["updated" if _update(session, template, spec) else "unchanged"] += 1
    session.flush()
    return counts


def _update(session, template, spec):
    """Bring `template` to `spec`, writing only what differs; True when something changed."""
    changed = False
    for name in ("domain", "description"):
        if getattr(template, name) != spec[name]:
            setattr(template, name, spec[name])
            changed = True
    by_position = {item.position: item for item in template.items}
    for position, values in enumerate(spec["items"], 1):
        item = by_position.pop(position, None)
        if item is None:
            template.items.append(TaskTemplateItem(position=position, **values))
            changed = True
            continue
        for name in ITEM_FIELDS:
            if getattr(item, name) != values[name]:
                setattr(item, name, values[name])
                changed = True
    for item in by_position.values():  # items beyond the shipped list
        template.items.remove(item)
        changed = True
    if changed:
        session.flush()
    return changed
