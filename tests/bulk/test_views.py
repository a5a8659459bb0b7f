"""The bulk routes and the lists' bulk bar: the dry run as a dialog (htmx) or a page, apply all or the allowed
ones, the summary, large operations as a job; CSRF, permissions, hostile input (never a 500)."""
import re
from datetime import date

import pytest
import sqlalchemy as sa

from obcms.bulk import services as bulk
from obcms.extensions import db
from obcms.jobqueue import JobRun
from obcms.ppas.models import Ppa
from obcms.workitems.models import WorkItem

HX = {"HX-Request": "true"}


def _items(objs):
    return [f"{o.id}:{o.version}" for o in objs]


def _statuses(ppas):
    db.session.expire_all()
    return [db.session.get(Ppa, p.id).approval_status for p in ppas]


def test_the_ppa_list_has_row_checkboxes_and_a_bulk_bar_for_those_who_may(review_ppas, client_as):
    ppas = review_ppas(2)
    html = client_as("oobc_executive").get("/ppas").get_data(as_text=True)
    assert 'id="bulk-ppa"' in html and 'data-select-all="bulk-ppa"' in html
    for ppa in ppas:
        assert f'name="items" value="{ppa.id}:{ppa.version}" form="bulk-ppa"' in html
    assert "matching the filter" in html and 'id="bulk-dialog"' in html
    viewer = client_as("viewer").get("/ppas").get_data(as_text=True)
    assert 'id="bulk-ppa"' not in viewer and 'name="items"' not in viewer


def test_my_tasks_has_the_bar_in_the_list_view(tasks, client_as):
    items = tasks(2)
    html = client_as("moa_staff").get("/tasks").get_data(as_text=True)
    assert 'id="bulk-task"' in html
    assert f'value="{items[0].id}:{items[0].version}" form="bulk-task"' in html
    board = client_as("moa_staff").get("/tasks?view=board").get_data(as_text=True)
    assert 'id="bulk-task"' not in board


def test_the_dry_run_is_a_dialog_for_htmx_and_a_page_otherwise_and_changes_nothing(review_ppas, signed_in):
    waiting, draft = review_ppas(3), review_ppas(1, state="draft")
    client = signed_in("oobc_executive")
    data = {"action": "approve", "items": _items(waiting + draft)}
    response = client.post("/bulk/ppa/plan", data=data, headers=HX)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in html and "<dialog" in html
    assert "3</strong> of 4 allowed" in html and "Not waiting for a review (now draft)" in html
    assert "Apply to the 3 allowed" in html and re.search(r'value="all"[^>]*disabled', html)
    assert response.headers["HX-Retarget"] == "#bulk-dialog"
    page = client.post("/bulk/ppa/plan", data=data)
    assert page.status_code == 200 and "<html" in page.get_data(as_text=True)
    assert _statuses(waiting + draft) == ["executive_approval"] * 3 + ["draft"]


def test_apply_to_the_allowed_shows_the_summary_and_reloads_the_list(review_ppas, signed_in):
    waiting, draft = review_ppas(3), review_ppas(1, state="draft")
    client = signed_in("oobc_executive")
    response = client.post("/bulk/ppa/apply", data={"action": "approve", "items": _items(waiting + draft),
                                                    "mode": "allowed"}, headers=HX)
    html = response.get_data(as_text=True)
    assert response.status_code == 200, html
    assert "3</strong> of 4 done" in html and "1</strong> failed" in html
    assert f"{draft[0].display_code}" in html and "Not waiting for a review" in html
    assert "obcms:bulk-applied" in response.headers["HX-Trigger"]
    assert "approved" in _statuses(waiting)[0] and _statuses(draft) == ["draft"]


def test_apply_all_or_nothing_changes_nothing_when_one_is_refused(review_ppas, signed_in):
    waiting, draft = review_ppas(2), review_ppas(1, state="draft")
    response = signed_in("oobc_executive").post("/bulk/ppa/apply", data={
        "action": "approve", "items": _items(waiting + draft), "mode": "all"}, headers=HX)
    assert response.status_code == 200 and "Nothing was changed" in response.get_data(as_text=True)
    assert _statuses(waiting + draft) == ["executive_approval"] * 2 + ["draft"]


def test_json_callers_get_the_domain_answer(tasks, signed_in):
    items = tasks(2)
    response = signed_in("moa_staff").post("/bulk/task/apply", data={
        "action": "priority", "priority": "urgent", "items": _items(items)}, headers={"Accept": "application/json"})
    body = response.get_json()
    assert set(body) == {"operation", "total", "succeeded", "failed", "succeeded_ids", "failures", "rolled_back"}
    assert (body["succeeded"], body["rolled_back"], body["succeeded_ids"]) == (2, False, [i.id for i in items])


def test_reject_without_a_comment_is_a_form_error(review_ppas, signed_in):
    ppas = review_ppas(2, state="technical_review")
    client = signed_in("mfbm_analyst")
    for url in ("/bulk/ppa/plan", "/bulk/ppa/apply"):
        response = client.post(url, data={"action": "reject", "comment": " ", "items": _items(ppas)}, headers=HX)
        html = response.get_data(as_text=True)
        assert response.status_code == 422 and 'id="bulk-comment-error"' in html and "Say why" in html
        assert html.count('name="items"') == 2  # the selection rides along
    assert _statuses(ppas) == ["technical_review"] * 2
    response = client.post("/bulk/ppa/apply", data={"action": "reject", "comment": "Not in the BDP",
                                                     "items": _items(ppas)}, headers=HX)
    assert response.status_code == 200 and _statuses(ppas) == ["rejected"] * 2


def test_assign_asks_for_the_person_in_the_dialog(tasks, signed_in, users):
    items = tasks(2)
    client = signed_in("oobc_staff")
    response = client.post("/bulk/task/plan", data={"action": "assign", "items": _items(items)}, headers=HX)
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and 'id="bulk-to"' in html and users["moa_staff"].display_name in html
    response = client.post("/bulk/task/plan", data={"action": "assign", "to": users["moa_staff"].id,
                                                    "items": _items(items)}, headers=HX)
    assert response.status_code == 200 and "2</strong> of 2 allowed" in response.get_data(as_text=True)


def test_all_matching_the_filter_is_resolved_on_the_server(review_ppas, signed_in, monkeypatch):
    review_ppas(3, fiscal_year=2031)
    review_ppas(2, fiscal_year=2030)
    client = signed_in("oobc_executive")
    response = client.post("/bulk/ppa/plan", data={"action": "approve", "all_matching": "1",
                                                   "filter-fy": "2031"}, headers=HX)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "3</strong> of 3 allowed" in html
    monkeypatch.setattr(bulk, "MAX_ITEMS", 2)
    response = client.post("/bulk/ppa/plan", data={"action": "approve", "all_matching": "1",
                                                   "filter-fy": "2031"}, headers=HX)
    assert response.status_code == 422 and "The filter matches more than 2" in response.get_data(as_text=True)


def test_a_large_operation_runs_as_a_job_and_its_fragment_polls_until_done(tasks, signed_in, monkeypatch):
    monkeypatch.setattr(bulk, "JOB_THRESHOLD", 2)
    items = tasks(3, start=date(2026, 11, 1))
    client = signed_in("moa_staff")
    response = client.post("/bulk/task/apply", data={"action": "reschedule", "days": "-2", "items": _items(items)},
                           headers=HX)
    html = response.get_data(as_text=True)
    assert response.status_code == 200, html
    run = db.session.scalars(sa.select(JobRun).where(JobRun.name == "bulk_apply").order_by(JobRun.id.desc())).first()
    assert run.status == "succeeded" and run.counts["succeeded"] == 3  # inline without Redis
    assert "3</strong> of 3 done" in html
    status = client.get(f"/bulk/runs/{run.id}?part=status", headers=HX)
    assert status.status_code == 200 and 'id="bulk-status"' in status.get_data(as_text=True)
    db.session.expire_all()
    assert {db.session.get(WorkItem, t.id).due_date for t in items} == {date(2026, 11, 29)}
    assert signed_in("oobc_staff").get(f"/bulk/runs/{run.id}").status_code == 404  # someone else's


def test_posts_need_the_csrf_token(tasks, client_as):
    items = tasks(1)
    response = client_as("moa_staff").post("/bulk/task/apply", data={"action": "priority", "priority": "low",
                                                                     "items": _items(items)})
    assert response.status_code == 400
    db.session.expire_all()
    assert db.session.get(WorkItem, items[0].id).priority == "medium"


@pytest.mark.parametrize("url", ["/bulk/ppa/plan", "/bulk/ppa/apply", "/bulk/task/plan", "/bulk/task/apply"])
def test_a_role_without_bulk_permission_gets_403(signed_in, url):
    assert signed_in("viewer").post(url, data={"action": "approve", "items": ["1:1"]}).status_code == 403


HOSTILE = [
    {"items": ["x:y"], "action": "priority", "priority": "low"},
    {"items": ["1:1", "1:1"], "action": "priority", "priority": "low"},
    {"items": [f"{n}:1" for n in range(1, 1003)], "action": "priority", "priority": "low"},
    {"items": ["\x00"], "action": "\x00", "priority": "\x00"},
    {"items": [str(2**70)], "action": "priority", "priority": "low"},
    {"items": ["5:²"], "action": "reschedule", "days": "1e999"},
    {"items": ["5:1"], "action": "nonsense"},
    {"items": ["5:1"], "action": "transition", "transition": "<script>"},
    {"all_matching": "1", "action": "priority", "priority": "low", "filter-priority": "\x00", "filter-ppa": "²"},
    {"items": ["5:1"], "action": "priority", "priority": "low", "mode": "some"},
    {},
]


@pytest.mark.parametrize("data", HOSTILE)
@pytest.mark.parametrize("url", ["/bulk/task/plan", "/bulk/task/apply"])
@pytest.mark.parametrize("htmx", [False, True])
def test_hostile_input_is_a_4xx_never_a_500(signed_in, data, url, htmx):
    response = signed_in("moa_staff").post(url, data=data, headers=HX if htmx else {})
    body = response.get_data(as_text=True)
    assert 400 <= response.status_code < 500 or (response.status_code == 200 and "refused" in body), body[:300]
    assert "Traceback" not in body
    assert ("<html" in body) is (not htmx) or response.status_code == 400


def test_without_javascript_the_result_is_a_page_and_a_job_redirects_to_its_own(tasks, signed_in, monkeypatch):
    items = tasks(2)
    client = signed_in("moa_staff")
    response = client.post("/bulk/task/apply", data={"action": "priority", "priority": "high",
                                                     "items": _items(items)})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" in html and "2</strong> of 2 done" in html
    monkeypatch.setattr(bulk, "JOB_THRESHOLD", 1)
    db.session.expire_all()
    fresh = [db.session.get(WorkItem, t.id) for t in items]
    response = client.post("/bulk/task/apply", data={"action": "priority", "priority": "low", "items": _items(fresh)})
    assert response.status_code == 303 and "/bulk/runs/" in response.headers["Location"]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "<html" in page and "2</strong> of 2 done" in page


def test_another_organizations_ids_read_as_missing_in_the_dialog(review_ppas, signed_in):
    theirs = review_ppas(1, state="draft", organization="MOH", title="A secret MOH programme")[0]
    response = signed_in("moa_staff").post("/bulk/ppa/plan", data={
        "action": "transition", "transition": "submit", "items": [f"{theirs.id}:1"]}, headers=HX)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and f"#{theirs.id}" in html and bulk.NOT_FOUND in html
    assert "secret" not in html and theirs.code not in html
