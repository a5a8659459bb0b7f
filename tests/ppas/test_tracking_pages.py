"""The Work Items tab: enable (with the live preview), the tree with its cards, disable, Sync now."""
import pytest
import sqlalchemy as sa

from obcms.errors import ValidationFailed
from obcms.extensions import db
from obcms.jobqueue import JobRun
from obcms.ppas import tracking
from obcms.ppas.models import Ppa
from obcms.workitems.models import WorkItem

HX = {"HX-Request": "true"}


@pytest.fixture
def ppa(make_ppa):
    ppa = make_ppa(title="Solar dryers for OBC farmers")
    db.session.commit()
    return ppa


@pytest.fixture
def tracked_ppa(ppa, users):
    tracking.enable_tracking(ppa, users["moa_staff"], "program", "weighted")
    db.session.commit()
    return ppa


def reload(ppa):
    db.session.expire_all()
    return db.session.get(Ppa, ppa.id)


def test_untracked_tab_offers_the_form_with_a_preview(ppa, client_as, count_queries):
    client, url = client_as("moa_staff"), f"/ppas/{ppa.id}/work-items"
    with count_queries() as q:
        response = client.get(url, headers=HX)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Enable WorkItem tracking" in html and "Preview: 13 work items" in html
    assert "Phase 2: Service Delivery" in html and "Generate 13 work items and enable tracking" in html
    assert q.count == 2  # the user, the PPA (with its funding totals); the preview needs none


def test_preview_follows_the_template(ppa, client_as):
    response = client_as("moa_staff").get(f"/ppas/{ppa.id}/tracking/preview?template=activity", headers=HX)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "Preview: 10 work items" in html and "Lessons Learned" in html
    assert client_as("viewer").get(f"/ppas/{ppa.id}/tracking/preview?template=activity").status_code == 403
    assert client_as("other_moa_staff").get(f"/ppas/{ppa.id}/tracking/preview").status_code == 404
    assert db.session.scalar(sa.select(sa.func.count()).select_from(WorkItem)) == 0


def test_readers_get_no_form(ppa, client_as, csrf_token):
    client = client_as("viewer")
    html = client.get(f"/ppas/{ppa.id}/work-items").get_data(as_text=True)
    assert "Enable WorkItem tracking" not in html and "editors can enable" in html
    response = client.post(f"/ppas/{ppa.id}/tracking/enable", headers=HX,
                           data={"csrf_token": csrf_token(client), "template": "minimal", "policy": "equal"})
    assert response.status_code == 403
    assert not reload(ppa).workitem_tracking_enabled


def test_enable_through_the_tab(ppa, client_as, csrf_token):
    client = client_as("moa_staff")
    response = client.post(f"/ppas/{ppa.id}/tracking/enable", headers=HX,
                           data={"csrf_token": csrf_token(client), "template": "program", "policy": "weighted"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "Tracking enabled: 13 work items generated." in response.headers["HX-Trigger"]
    assert "Execution project" in html and "Planning &amp; Design" in html and 'role="treegrid"' in html
    ppa = reload(ppa)
    assert ppa.workitem_tracking_enabled and ppa.budget_distribution_policy == "weighted"
    again = client.post(f"/ppas/{ppa.id}/tracking/enable", headers=HX,
                        data={"csrf_token": csrf_token(client), "template": "minimal", "policy": "equal"})
    assert again.status_code == 409 and "already enabled" in again.get_data(as_text=True)


def test_enable_without_htmx_redirects(ppa, client_as, csrf_token):
    client = client_as("oobc_staff")
    response = client.post(f"/ppas/{ppa.id}/tracking/enable",
                           data={"csrf_token": csrf_token(client), "template": "minimal", "policy": "equal"})
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/ppas/{ppa.id}/work-items")


def test_enable_with_bad_choices_shows_field_errors(ppa, client_as, csrf_token):
    client = client_as("moa_staff")
    response = client.post(f"/ppas/{ppa.id}/tracking/enable", headers=HX,
                           data={"csrf_token": csrf_token(client), "template": "gantt", "policy": "random"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="tracking-template-error"' in html and 'id="tracking-policy-error"' in html
    assert not reload(ppa).workitem_tracking_enabled


def test_tracked_tab_shows_the_tree_and_cards_in_few_queries(tracked_ppa, client_as, count_queries):
    client, url = client_as("oobc_executive"), f"/ppas/{tracked_ppa.id}/work-items"
    with count_queries() as q:
        response = client.get(url, headers=HX)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    for text in ("Allocated", "Unallocated", "Spent", "Utilization", "Sub-projects", "Activities",
                 "0 of 9 completed", "Sync now", "Disable tracking…", "Implementation"):
        assert text in html
    assert q.count == 6  # user, PPA, root, shown rows, their assignees, progress by type
    plain = client_as("moa_staff").get(f"/ppas/{tracked_ppa.id}/work-items").get_data(as_text=True)
    assert "Sync now" in plain and "Disable tracking" not in plain


def test_tracked_tab_query_count_does_not_grow_with_the_tree(make_ppa, users, client_as, count_queries):
    counts = []
    for template in ("minimal", "program"):
        ppa = make_ppa()
        tracking.enable_tracking(ppa, users["oobc_staff"], template, "equal")
        db.session.commit()
        client, url = client_as("oobc_staff"), f"/ppas/{ppa.id}/work-items"
        with count_queries() as q:
            client.get(url, headers=HX)
        counts.append(q.count)
    assert counts[0] == counts[1]


def test_disable_needs_admin_or_executive_and_confirmation(tracked_ppa, client_as, csrf_token):
    staff = client_as("moa_staff")
    url = f"/ppas/{tracked_ppa.id}/tracking/disable"
    assert staff.post(url, headers=HX, data={"csrf_token": csrf_token(staff), "confirm": "1"}).status_code == 403
    admin = client_as("admin")
    unconfirmed = admin.post(url, headers=HX, data={"csrf_token": csrf_token(admin)})
    assert unconfirmed.status_code == 422 and reload(tracked_ppa).workitem_tracking_enabled
    response = admin.post(url, headers=HX, data={"csrf_token": csrf_token(admin), "confirm": "1"})
    assert response.status_code == 200 and "Enable WorkItem tracking" in response.get_data(as_text=True)
    ppa = reload(tracked_ppa)
    assert not ppa.workitem_tracking_enabled and ppa.execution_project_id is None
    assert db.session.scalar(sa.select(sa.func.count()).where(WorkItem.ppa_id == ppa.id)) == 13  # kept


def test_sync_now_runs_the_job_for_this_ppa_and_shows_the_result(tracked_ppa, client_as, csrf_token):
    root_id = reload(tracked_ppa).execution_project_id
    db.session.execute(sa.update(WorkItem.__table__).where(WorkItem.tree_id == root_id, WorkItem.depth == 2)
                       .values(progress=80, version=WorkItem.__table__.c.version + 1))
    db.session.commit()
    client = client_as("moa_staff")
    response = client.post(f"/ppas/{tracked_ppa.id}/tracking/sync", headers=HX, data={"csrf_token": csrf_token(client)})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "Synced" in html and "1 change to the PPA" in html
    run = db.session.scalars(sa.select(JobRun).where(JobRun.name == "sync_ppa_progress")).one()
    assert run.arguments == {"ppa_ids": [tracked_ppa.id]} and run.counts["ppas_changed"] == 1
    assert reload(tracked_ppa).progress == 80
    status = client.get(f"/ppas/{tracked_ppa.id}/tracking/sync/{run.id}", headers=HX)
    assert status.status_code == 200 and "every 1s" not in status.get_data(as_text=True)
    assert client_as("other_moa_staff").get(f"/ppas/{tracked_ppa.id}/tracking/sync/{run.id}").status_code == 404


def test_a_running_sync_polls_itself(tracked_ppa, client_as, users):
    run = JobRun(name="sync_ppa_progress", arguments={"ppa_ids": [tracked_ppa.id]}, status="running")
    db.session.add(run)
    db.session.commit()
    html = client_as("moa_staff").get(f"/ppas/{tracked_ppa.id}/tracking/sync/{run.id}", headers=HX).get_data(as_text=True)
    assert 'hx-trigger="every 1s"' in html and "Sync running" in html


def test_sync_is_refused_while_tracking_is_off(make_ppa, users, client_as, csrf_token):
    ppa = make_ppa()
    with pytest.raises(ValidationFailed, match="not enabled"):
        tracking.check_sync_allowed(ppa, users["moa_staff"])
    client = client_as("moa_staff")
    response = client.post(f"/ppas/{ppa.id}/tracking/sync", headers=HX, data={"csrf_token": csrf_token(client)})
    assert response.status_code == 422 and "not enabled" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(JobRun)) == 0


def test_sync_now_with_redis_down_says_so_and_starts_nothing(tracked_ppa, client_as, csrf_token, app, monkeypatch):
    monkeypatch.setitem(app.config, "REDIS_URL", "redis://127.0.0.1:1/0")
    client = client_as("moa_staff")
    response = client.post(f"/ppas/{tracked_ppa.id}/tracking/sync", headers=HX, data={"csrf_token": csrf_token(client)})
    assert response.status_code == 503
    assert "The job queue is unavailable; nothing was started" in response.get_data(as_text=True)
    assert db.session.scalars(sa.select(JobRun).where(JobRun.name == "sync_ppa_progress")).all() == []
