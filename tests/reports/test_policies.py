"""The policy register: list, create, version-checked edit (409 keeping the colleague's change), unique
references; linking policies to a PPA from its Overview tab (ppa.edit on that PPA)."""
import pytest
import sqlalchemy as sa

from obcms.extensions import db
from obcms.reports import policies
from obcms.reports.models import Policy, ppa_policies


def count():
    return db.session.scalar(sa.select(sa.func.count(Policy.id)))


def links(ppa_id):
    return db.session.scalars(sa.select(ppa_policies.c.policy_id).where(ppa_policies.c.ppa_id == ppa_id)).all()


def test_create_list_and_edit(client_as, csrf_token):
    client = client_as("bpda_planner")
    token = csrf_token(client)
    response = client.post("/policies/new", data={"csrf_token": token, "title": "Bangsamoro Education Code",
                                                  "reference": "BAA-18", "status": "active"})
    assert response.status_code == 303
    policy = db.session.scalar(sa.select(Policy).where(Policy.reference == "BAA-18"))
    listing = client.get("/policies").get_data(as_text=True)
    assert "Bangsamoro Education Code" in listing and f"/policies/{policy.id}/edit" in listing
    edit = client.post(f"/policies/{policy.id}/edit", data={"csrf_token": token, "title": "Education Code",
                                                           "reference": "BAA-18", "status": "superseded",
                                                           "version": "1"})
    assert edit.status_code == 303
    db.session.expire_all()
    assert (policy.title, policy.status, policy.version) == ("Education Code", "superseded", 2)


def test_a_stale_edit_is_a_409_that_keeps_the_colleagues_change(client_as, csrf_token, users):
    policy = policies.create_policy(users["oobc_staff"], title="Code", reference="BAA-1", status="active")
    db.session.commit()
    policies.update_policy(policy, 1, users["oobc_staff"], title="Code (amended)")
    db.session.commit()
    client = client_as("bpda_planner")
    response = client.post(f"/policies/{policy.id}/edit", data={"csrf_token": csrf_token(client), "title": "Code",
                                                               "reference": "BAA-1", "status": "repealed",
                                                               "version": "1"})
    html = response.get_data(as_text=True)
    assert response.status_code == 409 and "Someone changed this policy" in html
    assert 'value="Code (amended)"' in html  # theirs kept where the user changed nothing
    assert '<option selected value="repealed">' in html  # the user's own change stays
    db.session.expire_all()
    assert policy.status == "active"


@pytest.mark.parametrize(("fields", "message"), [
    ({"title": "", "reference": "X"}, "A title is required."),
    ({"title": "T", "reference": ""}, "A reference is required"),
    ({"title": "T", "reference": "baa-18"}, "Another policy has the reference baa-18."),
    ({"title": "T", "reference": "Y", "status": "abolished"}, "Choose one of: Draft"),
    ({"title": "T" * 301, "reference": "Y"}, "At most 300 characters."),
    ({"title": "<script>alert(1)</script>", "reference": "R" * 81}, "At most 80 characters."),
])
def test_bad_input_is_a_422_with_field_errors(client_as, csrf_token, users, fields, message):
    policies.create_policy(users["admin"], title="Code", reference="BAA-18", status="active")
    db.session.commit()
    client = client_as("oobc_staff")
    before = count()
    response = client.post("/policies/new", data={"csrf_token": csrf_token(client), "status": "active", **fields})
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and message in html and "<script>alert" not in html
    assert count() == before


@pytest.mark.parametrize("role", ["moa_staff", "mfbm_analyst", "viewer"])
def test_only_the_register_keepers_change_it(client_as, csrf_token, users, role):
    policy = policies.create_policy(users["admin"], title="Code", reference="BAA-18", status="active")
    db.session.commit()
    client = client_as(role)
    assert client.get("/policies").status_code == 200
    assert client.get("/policies/new").status_code == 403
    assert client.post("/policies/new", data={"csrf_token": csrf_token(client), "title": "T", "reference": "R",
                                              "status": "active"}).status_code == 403
    assert client.get(f"/policies/{policy.id}/edit").status_code == 403
    assert client.get("/policies/999999/edit").status_code in (403, 404)


def test_linking_policies_on_the_ppa_overview(client_as, csrf_token, users, portfolio):
    ppa = portfolio.ppas["A-002"]
    policies.create_policy(users["admin"], title="Old law", reference="OLD-1", status="repealed")
    db.session.commit()
    client = client_as("moa_staff")
    token = csrf_token(client)
    overview = client.get(f"/ppas/{ppa.id}").get_data(as_text=True)
    assert "No policy linked yet" in overview and "BAA-18" in overview and "OLD-1" not in overview
    linked = client.post(f"/ppas/{ppa.id}/policies", data={"csrf_token": token, "policy_id": portfolio.policy.id},
                         headers={"HX-Request": "true"})
    assert linked.status_code == 200 and "BAA-18 linked to A-002" in linked.headers["HX-Trigger"]
    assert links(ppa.id) == [portfolio.policy.id]
    assert 'id="ppa-policies"' in linked.get_data(as_text=True)
    again = client.post(f"/ppas/{ppa.id}/policies", data={"csrf_token": token, "policy_id": portfolio.policy.id})
    assert again.status_code == 303 and links(ppa.id) == [portfolio.policy.id]
    refused = client.post(f"/ppas/{ppa.id}/policies", data={"csrf_token": token, "policy_id": "garbage"},
                          headers={"HX-Request": "true"})
    assert refused.status_code == 422 and "Choose an active policy" in refused.get_data(as_text=True)
    unlinked = client.post(f"/ppas/{ppa.id}/policies/{portfolio.policy.id}/unlink", data={"csrf_token": token})
    assert unlinked.status_code == 303 and links(ppa.id) == []
    assert client.post(f"/ppas/{ppa.id}/policies/{portfolio.policy.id}/unlink",
                       data={"csrf_token": token}).status_code == 404


def test_links_follow_the_ppas_scope_and_edit_permission(client_as, csrf_token, portfolio):
    theirs = portfolio.ppas["B-001"]
    client = client_as("moa_staff")
    token = csrf_token(client)
    assert client.post(f"/ppas/{theirs.id}/policies",
                       data={"csrf_token": token, "policy_id": portfolio.policy.id}).status_code == 404
    viewer = client_as("viewer")
    mine = portfolio.ppas["A-002"]
    assert viewer.post(f"/ppas/{mine.id}/policies", data={"csrf_token": csrf_token(viewer),
                                                          "policy_id": portfolio.policy.id}).status_code == 403
    assert links(theirs.id) == [] and links(mine.id) == []
    page = viewer.get(f"/ppas/{portfolio.ppas['A-001'].id}").get_data(as_text=True)
    assert "BAA-18" in page and "Link a policy" not in page
