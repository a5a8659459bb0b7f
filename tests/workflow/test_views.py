import sqlalchemy as sa

from obcms.extensions import db
from obcms.workflow.models import TransitionLog
from tests.workflow.gadgets import Gadget

HX = {"HX-Request": "true"}


def post(client, csrf_token, url, headers=None, **form):
    return client.post(url, data={"csrf_token": csrf_token(client), **form}, headers=headers or {})


def test_panel_shows_allowed_and_disabled_actions_with_reasons(make_gadget, client_as):
    gadget = make_gadget(notes=None)
    db.session.commit()
    html = client_as("moa_staff").get(f"/workflow/gadget/{gadget.id}").get_data(as_text=True)
    assert "Submit" in html and "disabled" in html and "Fill in first: notes." in html


def test_fire_through_the_route_rerenders_the_panel(make_gadget, client_as, csrf_token):
    gadget = make_gadget(notes="Two units")
    db.session.commit()
    client = client_as("moa_staff")
    response = post(client, csrf_token, f"/workflow/gadget/{gadget.id}/submit", HX, version=gadget.version)
    assert response.status_code == 200
    assert "obcms:toast" in response.headers["HX-Trigger"]
    assert "status-submitted" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Gadget, gadget.id).status == "submitted"


def test_plain_form_post_redirects_back(make_gadget, client_as, csrf_token):
    gadget = make_gadget(notes="x")
    db.session.commit()
    response = post(client_as("moa_staff"), csrf_token, f"/workflow/gadget/{gadget.id}/submit", version=1)
    assert response.status_code == 303


def test_stale_version_answers_409(make_gadget, client_as, csrf_token):
    gadget = make_gadget(notes="x")
    gadget.name = "Renamed meanwhile"
    db.session.commit()
    response = post(client_as("moa_staff"), csrf_token, f"/workflow/gadget/{gadget.id}/submit",
                    {"Accept": "application/json"}, version=1)
    assert response.status_code == 409
    body = response.get_json()
    assert body["error"] == "conflict" and body["your_version"] == 1 and body["current_version"] == 2
    assert body["changed_fields"]["name"]["current"] == "Renamed meanwhile"


def test_missing_requirements_answer_422_naming_fields(make_gadget, client_as, csrf_token):
    gadget = make_gadget(notes=None)
    db.session.commit()
    client = client_as("moa_staff")
    response = post(client, csrf_token, f"/workflow/gadget/{gadget.id}/submit", HX, version=1)
    assert response.status_code == 422 and "<b>notes</b>" in response.get_data(as_text=True)
    response = post(client, csrf_token, f"/workflow/gadget/{gadget.id}/submit", {"Accept": "application/json"},
                    version=1)
    assert response.status_code == 422 and list(response.get_json()["errors"]) == ["notes"]


def test_not_allowed_answers_403_and_changes_nothing(make_gadget, client_as, csrf_token):
    gadget = make_gadget(notes="x")
    db.session.commit()
    response = post(client_as("viewer"), csrf_token, f"/workflow/gadget/{gadget.id}/submit",
                    {"Accept": "application/json"}, version=1)
    assert response.status_code == 403
    assert db.session.scalar(sa.select(sa.func.count(TransitionLog.id))
                             .where(TransitionLog.object_id == gadget.id)) == 0


def test_objects_outside_the_users_scope_are_not_found(make_gadget, client_as, organizations):
    gadget = make_gadget(organization_id=organizations["MOH"].id)
    db.session.commit()
    assert client_as("moa_staff").get(f"/workflow/gadget/{gadget.id}").status_code == 404
    assert client_as("moa_staff").get("/workflow/nothing/1").status_code == 404


def test_comment_required_shows_a_comment_box(make_gadget, users, client_as, csrf_token):
    from obcms.workflow import fire

    gadget = make_gadget(notes="x")
    fire(gadget, "submit", users["moa_staff"])
    db.session.commit()
    client = client_as("oobc_executive")
    html = client.get(f"/workflow/gadget/{gadget.id}").get_data(as_text=True)
    assert 'name="comment" required' in html
    response = post(client, csrf_token, f"/workflow/gadget/{gadget.id}/reject", HX, version=gadget.version,
                    comment="Costing missing")
    assert response.status_code == 200 and "Costing missing" in response.get_data(as_text=True)


def test_panel_runs_a_constant_number_of_queries(make_gadget, users, client_as, count_queries):
    from obcms.workflow import fire

    gadget = make_gadget(notes="x")
    fire(gadget, "submit", users["moa_staff"])
    db.session.commit()
    client = client_as("oobc_executive")
    client.get(f"/workflow/gadget/{gadget.id}")
    with count_queries() as q:
        assert client.get(f"/workflow/gadget/{gadget.id}").status_code == 200
    assert q.count <= 5  # user, object, submitter, history (+ nothing per transition)
