"""The audit trail reads like a history: one entry per event, fields by label, bookkeeping columns left to the
stored rows, values formatted (pesos, dates, yes/no, state names), the raw rows one click away."""
from datetime import UTC, datetime

from obcms.audit.events import group
from obcms.audit.models import AuditEntry

AT = datetime(2026, 3, 4, 1, 30, tzinfo=UTC)  # 09:30 in Manila


def row(id, field, old, new, action="update", version=3, at=AT, object_id=7):
    return AuditEntry(id=id, at=at, actor_label="staff", action=action, object_type="work_item",
                      object_id=object_id, object_version=version, field=field, old_value=old, new_value=new,
                      cause="edited in the tree", request_id="r1", ip="127.0.0.1")


def test_rows_written_together_are_one_event_read_by_label():
    entries = [row(4, "status", "not_started", "in_progress"), row(3, "allocated_budget", "1000.00", "2500.50"),
               row(2, "lft", "2", "4"), row(1, "auto_calculate_progress", "true", "false"),
               row(9, "title", None, "Other", action="create", version=1, object_id=8)]
    events = group(entries)
    assert [e.object_id for e in events] == [7, 8]
    event = events[0]
    assert [(c.label, c.old, c.new) for c in event.changes] == [
        ("Auto calculate progress", "yes", "no"), ("Allocated budget", "₱ 1,000.00", "₱ 2,500.50"),
        ("Status", "not started", "in progress")]
    assert len(event.entries) == 4 and event.hidden_count == 1  # lft: in the stored rows only
    assert event.summary == "changed auto calculate progress, allocated budget, status"
    assert event.object_label == "work item #7" and event.cause == "edited in the tree"


def test_the_history_tab_and_the_log_show_events(client_as, organizations):
    from obcms.auth import services
    from obcms.extensions import db

    services.update_organization(organizations["MOH"], name="Ministry of Health (BARMM)", acronym="MOHB",
                                 kind="moa", contact_email=None, is_active=True)
    db.session.commit()
    html = client_as("admin").get(f"/audit?object_type=organization&object_id={organizations['MOH'].id}"
                                  "&action=update").get_data(as_text=True)
    assert html.count('class="audit-event audit-update"') == 1
    assert "changed name, acronym" in html and "<dt>Acronym</dt>" in html and "Stored values (2 rows" in html
