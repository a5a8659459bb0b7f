"""The Approval tab and the generic workflow route for PPAs: actions, 403/404/409/422, timeline, query counts."""
import json

import sqlalchemy as sa

from obcms.extensions import db
from obcms.ppas.models import Ppa
from obcms.workflow import fire
from obcms.workflow.models import TransitionLog

HX = {"HX-Request": "true"}



def _state(ppa_id):
    db.session.expire_all()
    return db.session.get(Ppa, ppa_id).approval_status


def test_approval_tab_shows_the_stepper_the_allowed_and_refused_actions_and_the_timeline(ready_ppa, client_as,
                                                                                         users):
    ppa = ready_ppa()
    fire(ppa, "submit", users["moa_staff"], comment="Please review")
    html = client_as("mfbm_analyst").get(f"/ppas/{ppa.id}/approval").get_data(as_text=True)
    assert 'aria-current="step">technical review' in html
    assert 'class="done" >draft' in html or 'class="done">draft' in html
    assert "submitted by Moa Staff" in html
    assert f'action="/workflow/ppa/{ppa.id}/pass_technical_review"' in html
    assert f'name="version" value="{ppa.version}"' in html
    assert 'id="comment-reject"' in html  # reject needs a comment: its box is shown
    assert "Please review" in html  # the timeline
    viewer = client_as("viewer").get(f"/ppas/{ppa.id}/approval", headers=HX).get_data(as_text=True)
    assert "disabled" in viewer and "Needs the role mfbm analyst" in viewer


def test_approval_tab_runs_a_constant_number_of_queries(ready_ppa, client_as, users, count_queries):
    client = client_as("oobc_executive")
    ppa = ready_ppa()
    fire(ppa, "submit", users["moa_staff"])
    fire(ppa, "pass_technical_review", users["mfbm_analyst"])
    with count_queries() as few:
        assert client.get(f"/ppas/{ppa.id}/approval", headers=HX).status_code == 200
    fire(ppa, "send_to_executive_approval", users["mfbm_analyst"], comment="a")
    fire(ppa, "reject", users["oobc_executive"], comment="b")
    fire(ppa, "resubmit", users["oobc_staff"])
    fire(ppa, "submit", users["oobc_staff"])
    with count_queries() as more:
        assert client.get(f"/ppas/{ppa.id}/approval", headers=HX).status_code == 200
    assert few.count == more.count <= 7


def test_firing_through_the_generic_route_with_htmx(ready_ppa, client_as, csrf_token):
    ppa = ready_ppa()
    client = client_as("moa_staff")
    response = client.post(f"/workflow/ppa/{ppa.id}/submit", data={"version": ppa.version},
                           headers={**HX, "X-CSRFToken": csrf_token(client)})
    assert response.status_code == 200
    assert json.loads(response.headers["HX-Trigger"])["obcms:transition"] == {"object_type": "ppa", "id": ppa.id}
    assert _state(ppa.id) == "technical_review"


def test_plain_form_post_redirects_back(ready_ppa, client_as, csrf_token):
    ppa = ready_ppa()
    client = client_as("oobc_staff")
    response = client.post(f"/workflow/ppa/{ppa.id}/submit",
                           data={"version": ppa.version, "csrf_token": csrf_token(client)},
                           headers={"Referer": f"http://localhost/ppas/{ppa.id}/approval"})
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/ppas/{ppa.id}/approval")
    assert _state(ppa.id) == "technical_review"


def test_stale_version_answers_409(ready_ppa, client_as, users, csrf_token):
    ppa = ready_ppa()
    seen = ppa.version
    fire(ppa, "submit", users["moa_staff"])
    client = client_as("mfbm_analyst")
    response = client.post(f"/workflow/ppa/{ppa.id}/pass_technical_review", data={"version": seen},
                           headers={"Accept": "application/json", "X-CSRFToken": csrf_token(client)})
    assert response.status_code == 409
    assert response.get_json()["current_version"] == ppa.version
    assert _state(ppa.id) == "technical_review"


def test_missing_fields_answer_422_naming_them(ready_ppa, client_as, csrf_token):
    ppa = ready_ppa(summary="", sector=None)
    client = client_as("moa_staff")
    token = csrf_token(client)
    response = client.post(f"/workflow/ppa/{ppa.id}/submit", data={"version": ppa.version},
                           headers={"Accept": "application/json", "X-CSRFToken": token})
    assert response.status_code == 422
    assert sorted(response.get_json()["errors"]) == ["sector", "summary"]
    response = client.post(f"/workflow/ppa/{ppa.id}/submit", data={"version": ppa.version},
                           headers={**HX, "X-CSRFToken": token})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "<b>sector</b>" in html and "<b>summary</b>" in html
    assert _state(ppa.id) == "draft"


def test_reject_without_comment_answers_422_and_keeps_the_state(ready_ppa, client_as, users, csrf_token):
    ppa = ready_ppa()
    fire(ppa, "submit", users["moa_staff"])
    client = client_as("mfbm_analyst")
    response = client.post(f"/workflow/ppa/{ppa.id}/reject", data={"version": ppa.version, "comment": ""},
                           headers={"Accept": "application/json", "X-CSRFToken": csrf_token(client)})
    assert response.status_code == 422 and list(response.get_json()["errors"]) == ["comment"]
    response = client.post(f"/workflow/ppa/{ppa.id}/reject", data={"version": ppa.version, "comment": "Costs?"},
                           headers={"Accept": "application/json", "X-CSRFToken": csrf_token(client)})
    assert response.status_code == 200 and response.get_json()["to_state"] == "rejected"
    log = db.session.scalars(sa.select(TransitionLog).where(TransitionLog.object_id == ppa.id,
                                                            TransitionLog.object_type == "ppa")
                             .order_by(TransitionLog.id.desc())).first()
    assert (log.transition, log.comment) == ("reject", "Costs?")


def test_other_moas_get_404_and_refused_roles_403(ready_ppa, client_as, csrf_token):
    ppa = ready_ppa()
    other = client_as("other_moa_staff")
    assert other.get(f"/workflow/ppa/{ppa.id}").status_code == 404
    assert other.get(f"/ppas/{ppa.id}/approval").status_code == 404
    response = other.post(f"/workflow/ppa/{ppa.id}/submit", data={"version": ppa.version},
                          headers={"X-CSRFToken": csrf_token(other)})
    assert response.status_code == 404
    viewer = client_as("viewer")
    assert viewer.get(f"/workflow/ppa/{ppa.id}").status_code == 200
    response = viewer.post(f"/workflow/ppa/{ppa.id}/submit", data={"version": ppa.version},
                           headers={"X-CSRFToken": csrf_token(viewer)})
    assert response.status_code == 403
    assert _state(ppa.id) == "draft"
