"""PPAs in the API: the list (scope, filters, sort, cursor, sparse fields, constant queries), the detail with
its tranches and ETag, create, update with If-Match / version → 409 with what changed, no delete."""
from datetime import date
from urllib.parse import parse_qs, urlsplit

import pytest

from obcms.extensions import db
from obcms.ppas.models import Ppa


@pytest.fixture
def portfolio(make_ppa, organizations):
    """MSSD's five PPAs (two of 2025, one ongoing, one approved) and MOH's two."""
    mssd, moh = organizations["MSSD"].id, organizations["MOH"].id
    ours = [make_ppa(title=f"Livelihood kits {n}", code=f"MSSD-{n}", fiscal_year=2025 if n < 2 else 2026,
                     implementing_moa_id=mssd, status="ongoing" if n == 2 else "planning",
                     approval_status="approved" if n == 3 else "draft") for n in range(5)]
    theirs = [make_ppa(title=f"Rural health units {n}", code=f"MOH-{n}", implementing_moa_id=moh) for n in range(2)]
    db.session.commit()
    return ours, theirs


def ids(response):
    assert response.status_code == 200, response.get_data(as_text=True)
    return [item["id"] for item in response.get_json()["items"]]


def test_an_moa_token_never_sees_another_organizations_ppa(api, bearer, portfolio):
    ours, theirs = portfolio
    for username, expected in (("moa_staff", ours), ("viewer", ours), ("other_moa_staff", theirs)):
        assert ids(api.get("/api/v1/ppas", headers=bearer(username))) == [p.id for p in expected], username
    every = ids(api.get("/api/v1/ppas", headers=bearer("mfbm_analyst")))
    assert {p.id for p in ours + theirs} <= set(every)
    headers = bearer("other_moa_staff")
    for ppa in ours:
        assert api.get(f"/api/v1/ppas/{ppa.id}", headers=headers).status_code == 404
        assert api.patch(f"/api/v1/ppas/{ppa.id}", json={"title": "Mine now"},
                         headers={**bearer("other_moa_staff", "write"), "If-Match": '"1"'}).status_code == 404


def test_filters(api, bearer, portfolio, organizations):
    ours, theirs = portfolio
    headers = bearer("oobc_staff")

    def listed(**args):
        return ids(api.get("/api/v1/ppas", query_string={**args, "organization": args.get("organization", organizations["MSSD"].id)},
                           headers=headers))

    assert listed(fiscal_year=2025) == [ours[0].id, ours[1].id]
    assert listed(status="ongoing") == [ours[2].id]
    assert listed(approval_status="approved") == [ours[3].id]
    assert listed(organization=organizations["MOH"].id) == [p.id for p in theirs]
    assert listed(q="kits 4") == [ours[4].id]
    assert listed(q="mssd-1") == [ours[1].id]
    assert listed(q="100%_") == []


def test_sort_and_cursor_pagination(api, bearer, portfolio):
    ours, _ = portfolio
    headers = bearer("moa_staff")
    assert ids(api.get("/api/v1/ppas?sort=-title", headers=headers)) == [p.id for p in reversed(ours)]
    for sort in ("title", "-fiscal_year", "code", "-updated_at", "status", "-id"):
        seen, url = [], f"/api/v1/ppas?sort={sort}&limit=2"
        pages = 0
        while url:
            response = api.get(url, headers=headers)
            seen += ids(response)
            url = response.get_json()["next"]
            if url:
                assert response.headers["Link"] == f'<{url}>; rel="next"'
                assert parse_qs(urlsplit(url).query)["sort"] == [sort]
            pages += 1
        assert pages == 3 and sorted(seen) == sorted(p.id for p in ours) and len(set(seen)) == 5, sort
    full = api.get("/api/v1/ppas?sort=-fiscal_year&limit=2", headers=headers).get_json()
    assert [i["fiscal_year"] for i in full["items"]] == [2026, 2026] and full["limit"] == 2


def test_a_foreign_or_broken_cursor_is_a_422(api, bearer, portfolio):
    headers = bearer("moa_staff")
    next_url = api.get("/api/v1/ppas?sort=title&limit=2", headers=headers).get_json()["next"]
    cursor = parse_qs(urlsplit(next_url).query)["cursor"][0]
    for query in (f"sort=-title&cursor={cursor}", "cursor=garbage", "cursor=W10", "sort=title&cursor=WyJ0aXRsZSIsMSwxXQ"):
        response = api.get(f"/api/v1/ppas?{query}", headers=headers)
        assert response.status_code == 422 and "cursor" in response.get_json()["errors"], query


def test_sparse_fieldsets(api, bearer, portfolio):
    response = api.get("/api/v1/ppas?fields=title,status", headers=bearer("moa_staff"))
    assert all(set(item) == {"id", "title", "status"} for item in response.get_json()["items"])
    refused = api.get("/api/v1/ppas?fields=title,secret", headers=bearer("moa_staff"))
    assert refused.status_code == 422 and refused.get_json()["errors"]["fields"] == ["Not a PPA field: secret."]


def test_the_list_costs_the_same_queries_whatever_its_size(api, bearer, make_ppa, count_queries):
    headers = bearer("oobc_staff")
    make_ppa()
    db.session.commit()
    api.get("/api/v1/ppas", headers=headers)  # last use recorded once
    with count_queries() as small:
        assert len(ids(api.get("/api/v1/ppas", headers=headers))) == 1
    for _ in range(30):
        make_ppa()
    db.session.commit()
    with count_queries() as large:
        assert len(ids(api.get("/api/v1/ppas?limit=200", headers=headers))) == 31
    assert small.count == large.count <= 2  # the token's user, the page


def test_detail_with_tranches_etag_and_304(api, bearer, make_ppa, add_tranches):
    ppa = make_ppa(code="MSSD-T")
    add_tranches(ppa, allocation="1000000.00", obligation="250000.50")
    db.session.commit()
    headers = bearer("viewer")
    response = api.get(f"/api/v1/ppas/{ppa.id}", headers=headers)
    assert response.status_code == 200 and response.headers["ETag"] == f'"{ppa.version}"'
    body = response.get_json()
    assert body["code"] == "MSSD-T" and body["budget_allocation"] == "1000000.00" and body["version"] == ppa.version
    assert [(t["kind"], t["amount"]) for t in body["tranches"]] == [("allocation", "1000000.00"),
                                                                   ("obligation", "250000.50")]
    again = api.get(f"/api/v1/ppas/{ppa.id}", headers={**headers, "If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304 and again.headers["ETag"] == response.headers["ETag"]


def test_create_through_the_service(api, bearer, organizations):
    response = api.post("/api/v1/ppas", headers=bearer("moa_staff", "write"), json={
        "title": "Livelihood kits", "category": "moa_ppa", "fiscal_year": 2026, "code": "MSSD-2026-9",
        "implementing_moa_id": organizations["MSSD"].id, "budget_allocation": "1500000.00",
        "budget_ceiling": 2000000, "start_date": "2026-02-01",
        "milestones": [{"date": "2026-06-30", "title": "Kits delivered"}]})
    assert response.status_code == 201, response.get_data(as_text=True)
    body = response.get_json()
    assert response.headers["Location"] == f"/api/v1/ppas/{body['id']}" and response.headers["ETag"] == '"1"'
    ppa = db.session.get(Ppa, body["id"])
    assert ppa.created_by_id is not None and ppa.budget_ceiling == 2000000 and ppa.start_date == date(2026, 2, 1)
    assert body["budget_allocation"] == "1500000.00" and body["approval_status"] == "draft"
    assert body["milestones"] == [{"date": "2026-06-30", "title": "Kits delivered", "status": "pending"}]
    duplicate = api.post("/api/v1/ppas", headers=bearer("moa_staff", "write"), json={
        "title": "Again", "category": "moa_ppa", "fiscal_year": 2026, "code": "MSSD-2026-9",
        "implementing_moa_id": organizations["MSSD"].id})
    assert duplicate.status_code == 422 and "code" in duplicate.get_json()["errors"]


def test_session_writes_need_csrf(client_as, csrf_token):
    client = client_as("oobc_staff")
    new = {"title": "By session", "category": "oobc_ppa", "fiscal_year": 2026}
    assert client.post("/api/v1/ppas", json=new).status_code == 400
    response = client.post("/api/v1/ppas", json=new, headers={"X-CSRFToken": csrf_token(client)})
    assert response.status_code == 201


def test_patch_with_if_match_or_version_and_409_on_a_stale_one(api, bearer, make_ppa):
    ppa = make_ppa(title="Before")
    db.session.commit()
    headers = bearer("moa_staff", "write")
    url = f"/api/v1/ppas/{ppa.id}"
    response = api.patch(url, json={"title": "After"}, headers={**headers, "If-Match": '"1"'})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["title"] == "After" and response.headers["ETag"] == '"2"'
    response = api.patch(url, json={"status": "ongoing", "version": 2}, headers=headers)
    assert response.status_code == 200 and response.headers["ETag"] == '"3"'
    stale = api.patch(url, json={"title": "Mine"}, headers={**headers, "If-Match": '"1"'})
    assert stale.status_code == 409 and stale.mimetype == "application/problem+json"
    problem = stale.get_json()
    assert problem["your_version"] == 1 and problem["current_version"] == 3
    assert {"title", "status"} <= set(problem["changed_fields"])
    db.session.expire_all()
    assert db.session.get(Ppa, ppa.id).title == "After"  # the colleague's change stays


def test_patch_refusals(api, bearer, make_ppa):
    ppa = make_ppa()
    db.session.commit()
    url = f"/api/v1/ppas/{ppa.id}"
    headers = bearer("moa_staff", "write")
    missing = api.patch(url, json={"title": "No version"}, headers=headers)
    assert missing.status_code == 422 and "version" in missing.get_json()["errors"]
    bad = api.patch(url, json={"title": "x"}, headers={**headers, "If-Match": '"abc"'})
    assert bad.status_code == 422
    unknown = api.patch(url, json={"approval_status": "approved", "version": 1}, headers=headers)
    assert unknown.status_code == 422 and unknown.get_json()["errors"]["approval_status"] == ["Unknown field."]
    rule = api.patch(url, json={"progress": 101, "version": 1}, headers=headers)
    assert rule.status_code == 422 and "progress" in rule.get_json()["errors"]
    viewer = api.patch(url, json={"title": "x", "version": 1}, headers=bearer("viewer", "write"))
    assert viewer.status_code == 403
    assert api.patch("/api/v1/ppas/999999", json={"title": "x", "version": 1}, headers=headers).status_code == 404
    db.session.expire_all()
    assert db.session.get(Ppa, ppa.id).version == 1


def test_no_delete(api, bearer, make_ppa):
    ppa = make_ppa()
    db.session.commit()
    assert api.delete(f"/api/v1/ppas/{ppa.id}", headers=bearer("admin", "write")).status_code == 405
    assert db.session.get(Ppa, ppa.id) is not None
