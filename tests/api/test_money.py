"""A PPA's money in the API: tranches, tracking, distribution, sync and the ledger — scoped, version-checked,
read tokens refused on writes, unknown fields refused, a constant number of statements."""
import sqlalchemy as sa

from obcms.audit.models import AuditEntry
from obcms.budget.models import Distribution, FinancialEntry
from obcms.extensions import db
from obcms.jobqueue import JobRun
from obcms.ppas.models import FundingTranche, Ppa
from obcms.workitems.models import WorkItem


def write(bearer, username="moa_staff"):
    return bearer(username, "write")


# Tranches ----------------------------------------------------------------------------------------------------

def test_tranches_create_list_and_the_refusals(api, bearer, make_ppa, users):
    ppa = make_ppa(code="MSSD-F")
    db.session.commit()
    url = f"/api/v1/ppas/{ppa.id}/tranches"
    headers = write(bearer)
    response = api.post(url, json={"kind": "allocation", "amount": "1500000.50", "tranche_date": "2026-02-01",
                                   "source": "GAA 2026"}, headers=headers)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["amount"] == "1500000.50" and body["kind"] == "allocation" and response.headers["Location"] == url
    listed = api.get(url, headers=bearer("viewer")).get_json()
    assert [(t["id"], t["amount"]) for t in listed["items"]] == [(body["id"], "1500000.50")]
    actor = db.session.scalar(sa.select(AuditEntry.actor_label).where(AuditEntry.object_type == "funding_tranche",
                                                                      AuditEntry.object_id == body["id"]).limit(1))
    assert actor == "moa_staff (token:tests write)"

    refused = api.post(url, json={"kind": "allocation", "amount": "1", "tranche_date": "2026-02-01"},
                       headers=bearer("moa_staff", "read"))
    assert refused.status_code == 403
    assert api.get(url, headers=bearer("other_moa_staff")).status_code == 404
    assert api.post(url, json={"kind": "allocation", "amount": "1", "tranche_date": "2026-02-01"},
                    headers=write(bearer, "other_moa_staff")).status_code == 404
    unknown = api.post(url, json={"kind": "allocation", "amount": "1", "tranche_date": "2026-02-01", "id": 9},
                       headers=headers)
    assert unknown.status_code == 422 and "id" in unknown.get_json()["errors"]
    negative = api.post(url, json={"kind": "allocation", "amount": "-5", "tranche_date": "2026-02-01"},
                        headers=headers)
    assert negative.status_code == 422 and "amount" in negative.get_json()["errors"]
    assert api.post(url, data="kind=allocation", headers=headers).status_code == 415
    assert api.patch(url, json={}, headers=headers).status_code == 405
    assert db.session.scalar(sa.select(sa.func.count()).select_from(FundingTranche)
                             .where(FundingTranche.ppa_id == ppa.id)) == 1


def test_a_tracked_ppas_obligations_go_through_the_ledger(api, bearer, tracked):
    ppa, _, _ = tracked
    db.session.commit()
    response = api.post(f"/api/v1/ppas/{ppa.id}/tranches", json={"kind": "obligation", "amount": "10",
                                                                 "tranche_date": "2026-02-01"},
                        headers=write(bearer))
    assert response.status_code == 422 and "kind" in response.get_json()["errors"]


# Tracking ----------------------------------------------------------------------------------------------------

def test_tracking_preview_enable_twice_and_disable(api, bearer, make_ppa):
    ppa = make_ppa(code="MSSD-W", budget_allocation="900000.00")
    db.session.commit()
    url = f"/api/v1/ppas/{ppa.id}/tracking"
    state = api.get(url, headers=bearer("viewer")).get_json()
    assert state["enabled"] is False and state["preview"] is None
    assert api.get(f"{url}?template=program", headers=bearer("viewer")).status_code == 403  # editors preview
    preview = api.get(f"{url}?template=program", headers=bearer("moa_staff")).get_json()["preview"]
    assert preview[0]["depth"] == 0 and preview[0]["allocated_budget"] == "900000.00" and len(preview) > 2
    assert api.get(f"{url}?template=nope", headers=bearer("moa_staff")).status_code == 422
    assert db.session.scalar(sa.select(sa.func.count()).select_from(WorkItem).where(WorkItem.ppa_id == ppa.id)) == 0

    response = api.post(url, json={"template": "program", "policy": "weighted"}, headers=write(bearer))
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["enabled"] is True and body["execution_project_id"] and body["structure_template"] == "program"
    again = api.post(url, json={"template": "program", "policy": "weighted"}, headers=write(bearer))
    assert again.status_code == 409
    assert api.delete(url, headers=write(bearer)).status_code == 403  # admins and OOBC executives only
    off = api.delete(url, headers=write(bearer, "admin"))
    assert off.status_code == 200 and off.get_json()["enabled"] is False
    assert api.post(url, json={"template": "program", "policy": "x"}, headers=write(bearer)).status_code == 422
    assert api.post(url, json={"template": "program", "policy": "equal"},
                    headers=write(bearer, "other_moa_staff")).status_code == 404


# Distribution ------------------------------------------------------------------------------------------------

def test_distribution_preview_apply_and_a_stale_apply(api, bearer, tracked, make_tracked_ppa):
    ppa, root, kids = tracked
    db.session.commit()
    headers = write(bearer)
    url = f"/api/v1/ppas/{ppa.id}/distribution"
    preview = api.post(f"{url}/preview", json={"method": "equal"}, headers=headers)
    assert preview.status_code == 200, preview.get_json()
    body = preview.get_json()
    assert body["node_id"] == root.id and body["is_valid"] and body["amount"] == "1000000.00"
    assert [line["share"] for line in body["lines"]] == ["333333.34", "333333.33", "333333.33"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Distribution)) == 0

    applied = api.post(url, json={"method": "equal", "versions": body["versions"]}, headers=headers)
    assert applied.status_code == 201, applied.get_json()
    assert applied.get_json()["node_id"] == root.id and applied.get_json()["amount"] == "1000000.00"
    stale = api.post(url, json={"method": "equal", "versions": body["versions"]}, headers=headers)
    assert stale.status_code == 409 and stale.get_json()["changed_fields"]

    invalid = api.post(f"{url}/preview", json={"method": "manual", "inputs": {str(kids[0].id): "2000000"}},
                       headers=headers).get_json()
    assert invalid["is_valid"] is False and invalid["errors"]
    fresh = api.post(f"{url}/preview", json={"method": "equal"}, headers=headers).get_json()
    refused = api.post(url, json={"method": "manual", "inputs": {str(kids[0].id): "2000000"},
                                  "versions": fresh["versions"]}, headers=headers)
    assert refused.status_code == 422
    assert api.post(url, json={"method": "equal"}, headers=headers).status_code == 422  # versions required
    assert api.post(f"{url}/preview", json={"method": "equal", "colour": 1}, headers=headers).status_code == 422
    assert api.post(f"{url}/preview", json={"method": "equal"},
                    headers=write(bearer, "other_moa_staff")).status_code == 404
    other, other_root, _ = make_tracked_ppa()
    db.session.commit()
    assert api.post(f"{url}/preview", json={"method": "equal", "node_id": other_root.id},
                    headers=headers).status_code == 404  # another PPA's node
    assert api.post(url, json={"method": "equal", "versions": fresh["versions"]},
                    headers=bearer("moa_staff", "read")).status_code == 403


# Sync --------------------------------------------------------------------------------------------------------

def test_sync_now_answers_its_run(api, bearer, tracked, make_ppa):
    ppa, _, _ = tracked
    plain = make_ppa()
    db.session.commit()
    response = api.post(f"/api/v1/ppas/{ppa.id}/sync", headers=write(bearer))
    assert response.status_code == 202, response.get_json()
    run = response.get_json()
    assert run["ppa_id"] == ppa.id and run["status"] in ("queued", "running", "succeeded")
    assert db.session.get(JobRun, run["run_id"]).arguments == {"ppa_ids": [ppa.id]}
    polled = api.get(response.headers["Location"], headers=bearer("viewer"))
    assert polled.status_code == 200 and polled.get_json()["run_id"] == run["run_id"]
    assert api.get(response.headers["Location"], headers=bearer("other_moa_staff")).status_code == 404
    assert api.post(f"/api/v1/ppas/{plain.id}/sync", headers=write(bearer)).status_code == 422  # not tracked
    assert api.post(f"/api/v1/ppas/{ppa.id}/sync", headers=write(bearer, "viewer")).status_code == 403


# Financial entries -------------------------------------------------------------------------------------------

def test_entries_post_list_reverse_and_refusals(api, bearer, tracked, users):
    ppa, root, kids = tracked
    from obcms.workitems import services as workitem_services
    workitem_services.update_work_item(kids[0], kids[0].version, users["oobc_staff"], allocated_budget="200000")
    db.session.commit()
    headers = write(bearer)
    url = f"/api/v1/ppas/{ppa.id}/financial-entries"
    entry = {"work_item_id": kids[0].id, "kind": "obligation", "amount": "50000.00", "entry_date": "2026-03-01",
             "reference": "ORS-2026-03-0001", "payee": "Supplier Inc."}
    response = api.post(url, json=entry, headers=headers)
    assert response.status_code == 201, response.get_json()
    posted = response.get_json()
    assert posted["amount"] == "50000.00" and posted["recorded_by"] and posted["reversed_by_id"] is None
    assert db.session.get(WorkItem, root.id).obligated == 50000

    over = api.post(url, json={**entry, "amount": "500000.00"}, headers=headers)
    assert over.status_code == 422
    assert api.post(url, json={**entry, "memo": "x"}, headers=headers).status_code == 422
    assert api.post(url, json=entry, headers=write(bearer, "other_moa_staff")).status_code == 404
    assert api.post(url, json=entry, headers=bearer("moa_staff", "read")).status_code == 403

    listed = api.get(url, headers=bearer("viewer")).get_json()
    assert [e["id"] for e in listed["items"]] == [posted["id"]] and listed["next"] is None
    assert api.get(url, headers=bearer("other_moa_staff")).status_code == 404

    reverse = f"/api/v1/financial-entries/{posted['id']}/reverse"
    assert api.post(reverse, json={}, headers=headers).status_code == 422
    reversed_ = api.post(reverse, json={"reason": "Wrong ORS"}, headers=headers)
    assert reversed_.status_code == 201 and reversed_.get_json()["amount"] == "-50000.00"
    assert api.post(reverse, json={"reason": "Again"}, headers=headers).status_code == 409
    assert api.post(reverse, json={"reason": "Mine"}, headers=write(bearer, "other_moa_staff")).status_code == 404
    page = api.get(f"{url}?limit=1", headers=bearer("viewer")).get_json()
    assert len(page["items"]) == 1 and page["items"][0]["reverses_id"] == posted["id"] and page["next"]
    older = api.get(page["next"], headers=bearer("viewer")).get_json()
    assert [e["id"] for e in older["items"]] == [posted["id"]] and older["items"][0]["reversed_by_id"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(FinancialEntry)) == 2


# Statement counts --------------------------------------------------------------------------------------------

def test_the_money_reads_cost_a_constant_number_of_statements(api, bearer, tracked, count_queries, users):
    ppa, root, kids = tracked
    from obcms.budget import ledger
    from obcms.workitems import services as workitem_services
    workitem_services.update_work_item(kids[0], kids[0].version, users["oobc_staff"], allocated_budget="200000")
    for n in range(3):
        ledger.record_entry(db.session.get(WorkItem, kids[0].id), users["oobc_staff"], "obligation", "10",
                            "2026-03-01", f"ORS-{n}", "")
    db.session.commit()
    headers = bearer("moa_staff")
    urls = [f"/api/v1/ppas/{ppa.id}/tranches", f"/api/v1/ppas/{ppa.id}/tracking",
            f"/api/v1/ppas/{ppa.id}/tracking?template=program", f"/api/v1/ppas/{ppa.id}/financial-entries"]
    for url in urls:
        api.get(url, headers=headers)  # the token's last use recorded once
        with count_queries() as counted:
            assert api.get(url, headers=headers).status_code == 200
        assert counted.count <= 3, (url, [s[:90] for s in counted.statements])
    write_headers = write(bearer)
    api.get(urls[0], headers=write_headers)
    with count_queries() as counted:
        assert api.post(f"/api/v1/ppas/{ppa.id}/distribution/preview", json={"method": "equal"},
                        headers=write_headers).status_code == 200
    assert counted.count <= 6, counted.statements
    with count_queries() as counted:
        assert api.post(f"/api/v1/ppas/{ppa.id}/tranches", json={"kind": "allocation", "amount": "1",
                                                                 "tranche_date": "2026-02-01"},
                        headers=write_headers).status_code == 201
    assert counted.count <= 6, counted.statements
    node_id = kids[0].id
    with count_queries() as counted:
        assert api.post(f"/api/v1/ppas/{ppa.id}/financial-entries", headers=write_headers, json={
            "work_item_id": node_id, "kind": "obligation", "amount": "5", "entry_date": "2026-03-01",
            "reference": "ORS-9"}).status_code == 201
    assert counted.count <= 9, counted.statements  # the token, the PPA, the node, and the ledger's own six
    versions = api.post(f"/api/v1/ppas/{ppa.id}/distribution/preview", json={"method": "equal"},
                        headers=write_headers).get_json()["versions"]
    with count_queries() as counted:
        assert api.post(f"/api/v1/ppas/{ppa.id}/distribution", json={"method": "equal", "versions": versions},
                        headers=write_headers).status_code == 201
    assert counted.count <= 11, counted.statements  # the token, the PPA, the node, and the apply (7; PostgreSQL 8)
    assert db.session.get(Ppa, ppa.id).execution_project_id == root.id
