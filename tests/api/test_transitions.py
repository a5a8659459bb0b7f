"""The approval workflow in the API: what this user may fire (with reasons), and firing through the same
fire() as the Approval tab (role, state, version, comment)."""
from obcms.extensions import db
from obcms.ppas.models import Ppa
from obcms.workflow.models import TransitionLog


def options(response):
    assert response.status_code == 200, response.get_data(as_text=True)
    return {o["name"]: o for o in response.get_json()["transitions"]}


def test_what_each_user_may_fire_with_reasons(api, bearer, ready_ppa):
    ppa = ready_ppa()
    db.session.commit()
    url = f"/api/v1/ppas/{ppa.id}/transitions"
    response = api.get(url, headers=bearer("moa_staff"))
    mine = options(response)
    assert response.headers["ETag"] == f'"{ppa.version}"' and response.get_json()["approval_status"] == "draft"
    assert mine["submit"]["allowed"] and mine["submit"]["reasons"] == [] and mine["submit"]["target"] == "technical_review"
    viewer = options(api.get(url, headers=bearer("viewer")))
    assert not viewer["submit"]["allowed"] and viewer["submit"]["reasons"]
    assert api.get(url, headers=bearer("other_moa_staff")).status_code == 404


def test_a_missing_field_is_a_reason(api, bearer, make_ppa):
    ppa = make_ppa()  # no summary, lead organization, funding source …
    db.session.commit()
    submit = options(api.get(f"/api/v1/ppas/{ppa.id}/transitions", headers=bearer("moa_staff")))["submit"]
    assert not submit["allowed"] and submit["missing_fields"]


def test_fire_with_if_match_then_stale_is_409(api, bearer, ready_ppa):
    ppa = ready_ppa()
    db.session.commit()
    headers = bearer("moa_staff", "write")
    url = f"/api/v1/ppas/{ppa.id}/transitions/submit"
    response = api.post(url, json={}, headers={**headers, "If-Match": f'"{ppa.version}"'})
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert body["from_state"] == "draft" and body["to_state"] == "technical_review"
    assert response.headers["ETag"] == f'"{body["version"]}"' and body["version"] > 1
    db.session.expire_all()
    assert db.session.get(Ppa, ppa.id).approval_status == "technical_review"
    again = api.post(url, json={"version": 1}, headers=headers)
    assert again.status_code == 409 and again.mimetype == "application/problem+json"


def test_fire_refusals(api, bearer, ready_ppa):
    ppa = ready_ppa()
    db.session.commit()
    url = f"/api/v1/ppas/{ppa.id}/transitions"
    write = bearer("moa_staff", "write")
    assert api.post(f"{url}/submit", json={}, headers=write).status_code == 422  # no version
    assert api.post(f"{url}/submit", json={"version": 1}, headers=bearer("moa_staff")).status_code == 403  # read token
    assert api.post(f"{url}/submit", json={"version": 1}, headers=bearer("viewer", "write")).status_code == 403
    assert api.post(f"{url}/submit", data={"version": "1"}, headers=bearer("viewer", "write")).status_code == 403
    assert api.post(f"{url}/no_such", json={"version": 1}, headers=write).status_code == 404
    assert api.post(f"{url}/submit", data={"version": "1"}, headers=write).status_code == 415
    assert api.post(f"{url}/submit", json={"version": 1, "colour": "x"}, headers=write).status_code == 422
    assert api.post(f"{url}/submit", json={"version": 1},
                    headers=bearer("other_moa_staff", "write")).status_code == 404
    assert db.session.query(TransitionLog).filter_by(object_id=ppa.id).count() == 0


def test_a_rejection_needs_a_comment(api, bearer, ready_ppa):
    ppa = ready_ppa()
    db.session.commit()
    api.post(f"/api/v1/ppas/{ppa.id}/transitions/submit", json={"version": ppa.version},
             headers=bearer("moa_staff", "write"))
    db.session.expire_all()
    ppa = db.session.get(Ppa, ppa.id)
    reviewer = bearer("mfbm_analyst", "write")
    url = f"/api/v1/ppas/{ppa.id}/transitions/reject"
    refused = api.post(url, json={"version": ppa.version}, headers=reviewer)
    assert refused.status_code == 422 and "comment" in refused.get_json()["errors"]
    done = api.post(url, json={"version": ppa.version, "comment": "The figures do not add up."}, headers=reviewer)
    assert done.status_code == 200 and done.get_json()["to_state"] == "rejected"
