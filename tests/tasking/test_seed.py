"""`flask obcms tasks seed-templates`: the shipped templates, ppa_budget_cycle exactly as DOMAIN.md lists it,
and an upsert that a second run leaves untouched."""
from decimal import Decimal

import sqlalchemy as sa

from obcms.audit.models import AuditEntry
from obcms.extensions import db
from obcms.tasking.models import TaskTemplate, TaskTemplateItem
from obcms.tasking.seed import TEMPLATES, seed_templates

# DOMAIN.md "Tasks from templates": (day, title, priority, role); no priority named = medium.
DOMAIN_BUDGET_CYCLE = [
    (0, "Formulate PPA budget proposal", "high", "lead"),
    (5, "Prepare budget justification", "medium", "lead"),
    (8, "Review budget alignment", "medium", "reviewer"),
    (12, "Submit budget proposal", "critical", "lead"),
    (30, "Prepare technical hearing materials", "medium", "contributor"),
    (45, "Attend technical hearing", "critical", "lead"),
    (48, "Revise budget based on feedback", "medium", "lead"),
    (90, "Track budget allocation", "medium", "monitor"),
    (120, "Monitor budget utilization", "medium", "monitor"),
    (350, "Prepare budget accountability report", "medium", "lead"),
]


def template(name):
    return db.session.scalar(sa.select(TaskTemplate).where(TaskTemplate.name == name))


def test_ppa_budget_cycle_is_exactly_the_domain_list():
    items = template("ppa_budget_cycle").items
    assert [(i.due_offset_days, i.title, i.priority, i.role) for i in items] == DOMAIN_BUDGET_CYCLE
    assert [i.position for i in items] == list(range(1, 11))


def test_every_methodology_and_event_kind_has_a_template():
    names = set(db.session.scalars(sa.select(TaskTemplate.name)))
    assert {"assessment_desk_review", "assessment_survey", "assessment_participatory", "assessment_mixed",
            "event_meeting", "event_workshop", "event_conference", "ppa_budget_cycle"} <= names
    mixed = {i.title for i in template("assessment_mixed").items}
    # mixed = the full cycle: steps of the desk review, the survey and the participatory assessment
    assert {"Analyse the documents", "Conduct the survey fieldwork",
            "Conduct the focus group discussions and consultations"} <= mixed


def test_a_second_run_changes_nothing():
    before = (db.session.scalar(sa.select(sa.func.count(TaskTemplateItem.id))),
              db.session.scalar(sa.select(sa.func.count(AuditEntry.id))))
    assert seed_templates() == {"created": 0, "updated": 0, "unchanged": len(TEMPLATES)}
    after = (db.session.scalar(sa.select(sa.func.count(TaskTemplateItem.id))),
             db.session.scalar(sa.select(sa.func.count(AuditEntry.id))))
    assert after == before


def test_it_upserts_by_name_without_duplicating_items():
    cycle = template("ppa_budget_cycle")
    cycle.items[2].title = "Changed by someone"
    cycle.items.append(TaskTemplateItem(position=11, title="An extra step", estimated_hours=Decimal("1")))
    db.session.flush()
    counts = seed_templates()
    assert counts["updated"] == 1 and counts["created"] == 0
    db.session.expire_all()
    items = template("ppa_budget_cycle").items
    assert [(i.due_offset_days, i.title, i.priority, i.role) for i in items] == DOMAIN_BUDGET_CYCLE


def test_the_command(app):
    result = app.test_cli_runner().invoke(args=["obcms", "tasks", "seed-templates"])
    assert result.exit_code == 0, result.output
    assert f"0 created, 0 updated, {len(TEMPLATES)} unchanged" in result.output


def test_the_database_refuses_bad_items():
    import pytest

    cycle = template("ppa_budget_cycle")
    for bad in (dict(position=12, title="x", estimated_hours=Decimal("-1")),
                dict(position=12, title="x", due_offset_days=-1),
                dict(position=1, title="a second first item")):
        with pytest.raises(sa.exc.IntegrityError), db.session.begin_nested():
            db.session.add(TaskTemplateItem(template_id=cycle.id, **bad))
            db.session.flush()
    with pytest.raises(sa.exc.IntegrityError), db.session.begin_nested():
        db.session.add(TaskTemplate(name="ppa_budget_cycle"))
        db.session.flush()
