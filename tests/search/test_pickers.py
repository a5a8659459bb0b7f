"""The PPA list's search box and the move target picker match as global search does: typos, word order and
partial words, on both backends; still scoped; a short query (no word of three letters) is a substring match."""
import re

from .conftest import MSSD_PPAS


def _listed(client, query):
    html = client.get("/ppas", query_string={"q": query}).get_data(as_text=True)
    return {code for code, _ in MSSD_PPAS if code in html} | ({"MOH-2026-001"} if "MOH-2026-001" in html else set())


def test_the_ppa_list_search_forgives_typos_and_word_order(corpus, client_as):
    staff = client_as("oobc_staff")
    assert "MSSD-2026-002" in _listed(staff, "livelyhood")
    assert "MSSD-2026-001" in _listed(staff, "pension senior")
    assert "MSSD-2026-004" in _listed(staff, "cotabto flod")
    assert _listed(staff, "MSSD-2026-005") >= {"MSSD-2026-005"}
    assert "MSSD-2026-001" not in _listed(staff, "livelyhood")
    assert _listed(client_as("other_moa_staff"), "pension senior") == set()  # another MOA's: not found


def test_the_move_target_picker_forgives_typos(corpus, client_as, users):
    from obcms.extensions import db
    from obcms.workitems import services
    from obcms.workitems.models import WorkItem

    staff = users["oobc_staff"]
    project = db.session.get(WorkItem, corpus.project_id)
    activity = services.create_work_item(project, staff, title="Community consultations in Parang",
                                         work_type="activity")
    task = db.session.get(WorkItem, corpus.tasks["Procure livelihood starter kits"])
    db.session.commit()
    client = client_as("oobc_staff")
    html = client.get(f"/work-items/{task.id}/move-targets", query_string={f"m{task.id}-q": "consultaions parang"},
                      headers={"HX-Request": "true"}).get_data(as_text=True)
    assert {int(i) for i in re.findall(rf'name="m{task.id}-parent" value="(\d+)"', html)} == {activity.id}
