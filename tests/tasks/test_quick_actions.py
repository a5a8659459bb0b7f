"""My tasks' quick actions beyond start and complete: snoozing my reminder of a task (1 day, 3 days, 1 week;
shown as "snoozed until …") and reassigning a task (to a person of its organization or the OOBC who may hold
it; through the work-item service's write call, so versioned and audited; a colleague's change first → 409
that keeps theirs). HTMX answers the list again; plain forms redirect to it. Hostile input is a 4xx that
writes nothing."""
import re
from datetime import date, timedelta

import sqlalchemy as sa

from obcms.audit.models import AuditEntry
from obcms.extensions import db
from obcms.workflow import fire
from obcms.workitems.models import WorkItem
from obcms.workitems.reminders import TaskReminderSnooze, send_task_reminders
from obcms.workitems.services import delete_work_item
from tests import world as world_module

HX = {"HX-Request": "true"}
world = world_module.world  # the fixture


def _snoozes():
    return db.session.execute(sa.select(TaskReminderSnooze.work_item_id, TaskReminderSnooze.user_id,
                                        TaskReminderSnooze.until)).all()


def _assignees(item_id):
    db.session.expire_all()
    return sorted(u.username for u in db.session.get(WorkItem, item_id).assignees)


def _audit_rows():
    return db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry))


def _local_today(app):
    from obcms.workitems.reminders import local_today

    with app.test_request_context():
        return local_today()


# ------------------------------------------------------------------------------------------------- snooze
def test_snoozing_my_reminder_shows_until_when_and_the_reminder_job_skips_it(app, task, signed_in, users,
                                                                            count_queries):
    soon = task(date.today() + timedelta(days=2), "Print the forms")
    client = signed_in("moa_staff")
    html = client.get("/tasks").get_data(as_text=True)
    assert "Snooze the reminder of Print the forms for 3 days" in html and "snoozed until" not in html
    with count_queries() as before:
        client.get("/tasks")

    response = client.post(f"/tasks/{soon.id}/snooze", data={"days": "3"}, headers=HX)
    assert response.status_code == 200
    until = _local_today(app) + timedelta(days=3)
    assert _snoozes() == [(soon.id, users["moa_staff"].id, until)]
    html = response.get_data(as_text=True)
    assert f"snoozed until {until.day} {until:%b %Y}" in html and "<html" not in html
    assert "snoozed until" in response.headers["HX-Trigger"]
    assert "Stop snoozing" in html
    with count_queries() as after:
        client.get("/tasks")
    assert after.count == before.count  # the snooze comes with the rows

    counts = send_task_reminders(today=_local_today(app) + timedelta(days=0))
    assert counts["reminded"] == 0 and counts["skipped"] == 1

    client.post(f"/tasks/{soon.id}/snooze", data={"days": "7"}, headers=HX)
    assert _snoozes()[0][2] == _local_today(app) + timedelta(days=7)  # moved, not doubled
    plain = client.post(f"/tasks/{soon.id}/snooze", data={"days": "0"})
    assert plain.status_code == 303 and plain.headers["Location"] == "/tasks"
    assert _snoozes() == []


def test_snooze_refuses_what_it_should_and_writes_nothing(task, signed_in, users):
    mine = task(date.today(), "Mine")
    theirs = task(date.today(), "Someone else's", assignee="oobc_staff")
    activity = task(date.today(), "An activity", work_type="activity")
    other = task(date.today(), "Another MOA's", organization="MOH", assignee="other_moa_staff")
    client = signed_in("moa_staff")
    for days in ("2", "-1", "garbage", "", "9" * 30, "\x00", "²"):
        response = client.post(f"/tasks/{mine.id}/snooze", data={"days": days}, headers=HX)
        assert response.status_code in (400, 422), days
    response = client.post(f"/tasks/{mine.id}/snooze", data={"days": "2"})
    assert response.status_code == 422 and "1 day, 3 days or 1 week" in response.get_data(as_text=True)
    assert client.post(f"/tasks/{theirs.id}/snooze", data={"days": "1"}, headers=HX).status_code == 422
    assert client.post(f"/tasks/{activity.id}/snooze", data={"days": "1"}, headers=HX).status_code == 422
    assert client.post(f"/tasks/{other.id}/snooze", data={"days": "1"}, headers=HX).status_code == 404
    assert client.post("/tasks/99999999/snooze", data={"days": "1"}, headers=HX).status_code == 404
    assert _snoozes() == []


# ------------------------------------------------------------------------------------------------- reassign
def test_reassign_offers_the_people_who_may_hold_the_task_and_hands_it_over(task, signed_in, users, count_queries):
    item = task(date.today() + timedelta(days=1), "Book the venue", assignee=("moa_staff", "viewer"))
    client = signed_in("moa_staff")
    assert f'href="/tasks/{item.id}/reassign' in client.get("/tasks").get_data(as_text=True)
    with count_queries() as q:
        form = client.get(f"/tasks/{item.id}/reassign", headers=HX)
    assert form.status_code == 200 and q.count <= 5  # the user, the task, its organization, the people
    html = form.get_data(as_text=True)
    assert "<dialog" in html and "data-modal" in html and "<html" not in html
    offered = set(re.findall(r'<option value="(\d+)"', html))
    assert offered == {str(users[n].id) for n in ("admin", "oobc_executive", "oobc_staff")}  # not me, a viewer
    # or another MOA's staff
    assert "<html" in client.get(f"/tasks/{item.id}/reassign").get_data(as_text=True)  # a page without JS
    version, audit_before = item.version, _audit_rows()

    response = client.post(f"/tasks/{item.id}/reassign", headers=HX,
                           data={"version": version, "to": users["oobc_staff"].id})
    assert response.status_code == 200
    assert "Book the venue" not in response.get_data(as_text=True)  # no longer mine
    assert "obcms:close-dialog" in response.headers["HX-Trigger"] and "is now with" in response.headers["HX-Trigger"]
    assert _assignees(item.id) == ["oobc_staff", "viewer"]  # the other assignee keeps it
    assert db.session.get(WorkItem, item.id).version == version + 1
    entry = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.object_type == "work_item",
                                                            AuditEntry.object_id == item.id,
                                                            AuditEntry.field == "assigned_to")).one()
    assert (entry.old_value, entry.new_value, entry.object_version) == ("Moa Staff, Viewer", "Oobc Staff, Viewer",
                                                                       version + 1)
    assert entry.actor_user_id == users["moa_staff"].id and _audit_rows() == audit_before + 1


def test_a_colleagues_reassign_first_answers_409_and_keeps_theirs(task, signed_in, users):
    """Two people have My tasks open on the same task: the lead hands it from moa_staff to admin (from the
    team view), then moa_staff, on the version they read, tries to hand it to the executive."""
    item = task(date.today(), "Shared work")
    seen = first_seen = item.version
    mine, lead = signed_in("moa_staff"), signed_in("oobc_staff")
    person = users["moa_staff"].id
    first = lead.post(f"/tasks/{item.id}/reassign", headers=HX,
                      data={"version": seen, "to": users["admin"].id, "person": person})
    assert first.status_code == 200
    assert "Tasks of Moa Staff" not in first.get_data(as_text=True)  # the results block of that person's list
    assert "Shared work" not in first.get_data(as_text=True)

    stale = mine.post(f"/tasks/{item.id}/reassign", headers=HX,
                      data={"version": seen, "to": users["oobc_executive"].id})
    assert stale.status_code == 409
    html = stale.get_data(as_text=True)
    assert 'role="alert"' in html and "was changed by oobc_staff" in html and "Assigned to: Admin." in html
    assert "obcms:close-dialog" in stale.headers["HX-Trigger"]
    assert _assignees(item.id) == ["admin"]  # theirs is kept, nothing of mine was written
    assert mine.post(f"/tasks/{item.id}/reassign", data={"version": seen,
                                                           "to": users["oobc_executive"].id}).status_code == 409

    # A status change by a colleague is a change too.
    fresh = db.session.get(WorkItem, item.id)
    seen = fresh.version
    fire(fresh, "start", users["oobc_staff"])
    db.session.commit()
    response = lead.post(f"/tasks/{item.id}/reassign", headers=HX,
                         data={"version": seen, "to": users["oobc_staff"].id, "person": users["admin"].id})
    assert response.status_code == 409 and _assignees(item.id) == ["admin"]
    # … and my start on the version before the reassign is refused as well.
    assert mine.post(f"/tasks/{item.id}/complete", data={"version": first_seen}, headers=HX).status_code == 409


def test_reassign_refuses_hostile_or_wrong_input_with_a_field_error_and_writes_nothing(task, signed_in, users,
                                                                                      world):
    item = task(date.today(), "Hold on")
    client = signed_in("moa_staff")
    version, before = item.version, _audit_rows()
    wrong = {"nobody": "", "garbage": "garbage", "missing": "99999999", "huge": "9" * 40, "nul": "\x00",
             "viewer": users["viewer"].id, "another MOA": users["other_moa_staff"].id,
             "myself": users["moa_staff"].id, "unicode": "²"}
    for label, to in wrong.items():
        for headers in (HX, {}):
            response = client.post(f"/tasks/{item.id}/reassign", headers=headers, data={"version": version, "to": to})
            assert response.status_code in (400, 422), label
            if response.status_code == 422:
                html = response.get_data(as_text=True)
                assert 'class="field-error"' in html and 'aria-invalid="true"' in html, label
                if headers:
                    assert response.headers["HX-Retarget"] == "#task-dialog"
    for version_sent in ("", "garbage", "-1"):
        response = client.post(f"/tasks/{item.id}/reassign", headers=HX,
                               data={"version": version_sent, "to": users["oobc_staff"].id})
        assert response.status_code == 422, version_sent
    assert client.post(f"/tasks/{item.id}/reassign", headers=HX, data={
        "version": version, "to": users["oobc_staff"].id, "person": users["viewer"].id}).status_code == 403
    assert signed_in("viewer").post(f"/tasks/{item.id}/reassign", headers=HX, data={
        "version": version, "to": users["oobc_staff"].id}).status_code == 403
    assert signed_in("other_moa_staff").post(f"/tasks/{item.id}/reassign", headers=HX, data={
        "version": version, "to": users["oobc_staff"].id}).status_code == 404
    activity = world.leaf  # a tracked tree's leaf: an activity, not a task
    assert client.post(f"/tasks/{activity.id}/reassign", headers=HX, data={
        "version": activity.version, "to": users["oobc_staff"].id}).status_code == 422
    assert _assignees(item.id) == ["moa_staff"] and _audit_rows() == before
    assert db.session.get(WorkItem, item.id).version == version


def test_a_deleted_task_is_a_404_not_a_500(task, signed_in, users):
    item = task(date.today(), "Going away")
    client = signed_in("moa_staff")
    delete_work_item(db.session.get(WorkItem, item.id), users["oobc_staff"], item.version)
    db.session.commit()
    for response in (client.get(f"/tasks/{item.id}/reassign", headers=HX),
                     client.post(f"/tasks/{item.id}/reassign", data={"version": item.version,
                                                                      "to": users["oobc_staff"].id}, headers=HX),
                     client.post(f"/tasks/{item.id}/snooze", data={"days": "1"}, headers=HX)):
        assert response.status_code == 404
        assert f"task #{item.id}" in response.get_data(as_text=True)


def test_the_more_menu_offers_the_other_status_changes_the_board_drags_to(task, signed_in):
    item = task(date.today(), "Risky", status="start")
    client = signed_in("moa_staff")
    board = client.get("/tasks?view=board").get_data(as_text=True)
    card = board[board.index(f'id="task-{item.id}"'):]
    card = card[:card.index("</li>\n")]
    assert 'draggable="true"' in card and 'data-status="in_progress"' in card
    assert 'data-to="completed"' in card and 'data-to="at_risk"' in card and 'data-to="blocked"' in card
    response = client.post(f"/tasks/{item.id}/block", data={"version": item.version, "view": "board"}, headers=HX)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'aria-labelledby="column-blocked"' in html and "Risky" in html
    db.session.expire_all()
    assert db.session.get(WorkItem, item.id).status == "blocked"
