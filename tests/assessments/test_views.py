"""Assessment pages: list, form, detail — scoped by organization, audited, version-checked; creating one
generates its tasks after the commit."""
from datetime import date

import pytest
import sqlalchemy as sa

from obcms.assessments.models import Assessment
from obcms.assessments.services import create_assessment
from obcms.audit.models import AuditEntry
from obcms.extensions import db
from obcms.tasking.seed import seed_templates


@pytest.fixture
def assessment(users, organizations):
    made = create_assessment(users["moa_staff"], title="Livelihood needs", organization_id=organizations["MSSD"].id,
                             methodology="survey", start_date=date(2027, 1, 11), lead_id=users["moa_staff"].id)
    db.session.commit()
    return made


def form(token, organizations, **overrides):
    data = {"csrf_token": token, "title": "OBC needs in Zamboanga", "organization_id": str(organizations["MSSD"].id),
            "methodology": "participatory", "start_date": "2027-02-01", "lead_id": ""}
    data.update(overrides)
    return data


def count():
    return db.session.scalar(sa.select(sa.func.count(Assessment.id)))


def test_create_generates_its_tasks_after_the_commit(app, client_as, csrf_token, organizations, monkeypatch):
    monkeypatch.setitem(app.config, "TASK_GENERATION", True)
    seed_templates()
    db.session.commit()
    client = client_as("moa_staff")
    response = client.post("/assessments/new", data=form(csrf_token(client), organizations))
    assert response.status_code == 303
    db.session.expire_all()
    made = db.session.scalar(sa.select(Assessment).where(Assessment.title == "OBC needs in Zamboanga"))
    assert response.headers["Location"].endswith(f"/assessments/{made.id}")
    page = client.get(f"/assessments/{made.id}").get_data(as_text=True)
    assert "Assessment: OBC needs in Zamboanga" in page and "Map the stakeholders and communities of OBC needs" in page
    assert db.session.scalar(sa.select(sa.func.count(AuditEntry.id)).where(
        AuditEntry.object_type == "assessment", AuditEntry.object_id == made.id)) > 0


def test_bad_input_comes_back_with_field_errors_and_changes_nothing(client_as, csrf_token, organizations):
    client = client_as("moa_staff")
    before = count()
    response = client.post("/assessments/new", data=form(csrf_token(client), organizations, title="",
                                                         methodology="guesswork", start_date="someday",
                                                         organization_id=str(organizations["MOH"].id)))
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and count() == before
    for message in ("A title is required.", "Choose one of: Desk review", "A date such as 2027-01-11.",
                    "Choose one of the organizations listed."):
        assert message in html


def test_list_and_detail_are_scoped_and_take_few_queries(assessment, client_as, count_queries):
    mine, other, reader = client_as("moa_staff"), client_as("other_moa_staff"), client_as("mfbm_analyst")
    with count_queries() as q:
        html = mine.get("/assessments").get_data(as_text=True)
    assert "Livelihood needs" in html and q.count == 3  # user, count, page (with organizations and leads)
    assert "Livelihood needs" not in other.get("/assessments").get_data(as_text=True)
    assert "Livelihood needs" in reader.get("/assessments").get_data(as_text=True)
    with count_queries() as q:
        response = mine.get(f"/assessments/{assessment.id}")
    # user, assessment, its task list (none: generation is off here; its tasks would be one more), its
    # organization (the lead is the signed-in user, already loaded)
    assert response.status_code == 200 and q.count == 4
    assert other.get(f"/assessments/{assessment.id}").status_code == 404
    assert mine.get("/assessments/999999").status_code == 404


def test_edit_is_version_checked(assessment, client_as, csrf_token, organizations, users):
    client = client_as("moa_staff")
    token = csrf_token(client)
    stale = assessment.version
    ok = client.post(f"/assessments/{assessment.id}/edit",
                     data=form(token, organizations, title="Livelihood needs 2027", version=stale,
                               methodology="survey", start_date="2027-01-11"))
    assert ok.status_code == 303
    again = client.post(f"/assessments/{assessment.id}/edit",
                        data=form(token, organizations, title="Something else", version=stale))
    assert again.status_code == 409 and "Livelihood needs 2027" in again.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Assessment, assessment.id).title == "Livelihood needs 2027"


def test_readers_may_not_create_or_edit(assessment, client_as, csrf_token, organizations):
    viewer = client_as("viewer")
    assert viewer.get("/assessments/new").status_code == 403
    assert viewer.post("/assessments/new", data=form(csrf_token(viewer), organizations)).status_code == 403
    assert viewer.get(f"/assessments/{assessment.id}/edit").status_code == 403
