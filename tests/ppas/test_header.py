"""The PPA page header (chips, key figures, progress) is the detail template's `header` block: it reloads itself
on the obcms:transition event (a PPA or work-item transition on the page) and on obcms:ppa-synced (a Sync now
run that finished)."""
import json

import sqlalchemy as sa

from obcms.extensions import db
from obcms.ppas import tracking
from obcms.ppas.models import Ppa
from obcms.workitems.models import WorkItem

HX = {"HX-Request": "true"}


def test_the_header_block_alone_for_htmx(ready_ppa, client_as, count_queries):
    ppa = ready_ppa(title="Water systems for OBC villages", progress=35)
    db.session.commit()
    client, url = client_as("moa_staff"), f"/ppas/{ppa.id}/header"
    with count_queries() as q:
        response = client.get(url, headers=HX)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and q.count <= 2  # the user, the PPA with its funding totals
    assert html.lstrip().startswith('<header class="ppa-header" id="ppa-header"')
    assert 'hx-trigger="obcms:transition from:body, obcms:ppa-synced from:body, obcms:tree-changed from:body"' in html
    assert "Water systems for OBC villages" in html and "35 %" in html and "approval-draft" in html
    assert 'role="tablist"' not in html  # the header only
    assert client.get(url).status_code == 302
    assert client_as("other_moa_staff").get(url, headers=HX).status_code == 404


def test_the_detail_page_header_listens_and_follows_a_transition(ready_ppa, client_as, csrf_token):
    ppa = ready_ppa()
    db.session.commit()
    client = client_as("moa_staff")
    page = client.get(f"/ppas/{ppa.id}").get_data(as_text=True)
    assert f'hx-get="/ppas/{ppa.id}/header"' in page
    fired = client.post(f"/workflow/ppa/{ppa.id}/submit", headers=HX,
                        data={"csrf_token": csrf_token(client), "version": ppa.version})
    assert fired.status_code == 200 and "obcms:transition" in json.loads(fired.headers["HX-Trigger"])
    header = client.get(f"/ppas/{ppa.id}/header", headers=HX).get_data(as_text=True)
    assert "approval-technical_review" in header


def test_a_finished_sync_tells_the_header(make_ppa, users, client_as, csrf_token):
    ppa = make_ppa()
    tracking.enable_tracking(ppa, users["moa_staff"], "program", "equal")
    root_id = ppa.execution_project_id
    db.session.execute(sa.update(WorkItem.__table__).where(WorkItem.tree_id == root_id, WorkItem.depth == 2)
                       .values(progress=60, version=WorkItem.__table__.c.version + 1))
    db.session.commit()
    client = client_as("moa_staff")
    response = client.post(f"/ppas/{ppa.id}/tracking/sync", headers=HX, data={"csrf_token": csrf_token(client)})
    assert response.status_code == 200 and response.headers["HX-Trigger"] == "obcms:ppa-synced"
    db.session.expire_all()
    assert db.session.get(Ppa, ppa.id).progress == 60
    assert "60 %" in client.get(f"/ppas/{ppa.id}/header", headers=HX).get_data(as_text=True)
