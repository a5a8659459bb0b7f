"""Calendar event services: create with field errors, edit one occurrence / this and following / the series,
move (drag or keyboard), delete the three ways, version conflicts, permissions; work items rescheduled
through the tree's write call."""
from datetime import date, datetime, time

import pytest
import sqlalchemy as sa
from flask import current_app

from obcms.audit.models import AuditEntry
from obcms.calendar import services
from obcms.calendar.models import CalendarEvent
from obcms.calendar.queries import Filters, Window, calendar_entries
from obcms.calendar.recurrence import MANILA, Rule
from obcms.errors import Conflict, NotAllowed, ValidationFailed
from obcms.extensions import db

DECEMBER = Window(date(2026, 12, 1), date(2027, 1, 1))


def weekly(actor, **more):
    values = dict(title="Staff meeting", start_date=date(2026, 12, 7), start_time=time(9), end_date=date(2026, 12, 7),
                  end_time=time(10), rule=Rule("weekly"), visibility="public")
    return services.create_event(actor, **{**values, **more})


def starts(user, title_prefix="Staff meeting"):
    coordination = Filters(modules=frozenset({"coordination"}))
    with current_app.test_request_context():  # entries carry their links
        return [(e.title, e.start.strftime("%d %H:%M")) for e in calendar_entries(DECEMBER, user, coordination)
                if e.title.startswith(title_prefix)]


def test_create_checks_every_field_and_writes_nothing_when_wrong(users):
    with pytest.raises(ValidationFailed) as caught:
        services.create_event(users["oobc_staff"], title=" ", start_date=date(2026, 12, 7), start_time=time(10),
                              end_date=date(2026, 12, 7), end_time=time(9), kind="party", rule=Rule("weekly", count=0))
    errors = caught.value.errors
    assert errors["title"] == ["Give the event a title."] and errors["kind"] == ["Choose a kind from the list."]
    assert errors["end_time"] == ["It must end after it starts."]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CalendarEvent)) == 0
    with pytest.raises(ValidationFailed) as caught:
        services.create_event(users["oobc_staff"], title="x" * 201, start_date=None)
    assert "At most 200 characters" in caught.value.errors["title"][0] and "start_date" in caught.value.errors


def test_a_weekly_series_its_end_and_an_audit_row(users):
    event = weekly(users["oobc_staff"], rule=Rule("weekly", count=3))
    assert event.rrule == "FREQ=WEEKLY;COUNT=3"
    assert event.last_ends_at.astimezone(MANILA) == datetime(2026, 12, 21, 10, tzinfo=MANILA)
    assert starts(users["viewer"]) == [("Staff meeting", "07 09:00"), ("Staff meeting", "14 09:00"),
                                       ("Staff meeting", "21 09:00")]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry).where(
        AuditEntry.object_type == "calendar_event", AuditEntry.object_id == event.id)) >= 1


def test_edit_one_occurrence_this_and_following_or_the_series(users):
    actor = users["oobc_staff"]
    event = weekly(actor)
    second = datetime(2026, 12, 14, 9, tzinfo=MANILA)
    values = services.form_values(event, second)
    override = services.update_event(event, event.version, actor, scope="occurrence", occurrence=second,
                                     **{**values, "title": "Staff meeting (moved)", "start_time": time(14),
                                        "end_time": time(15), "rule": None})
    assert override.series_id == event.id and override.recurrence_id.astimezone(MANILA) == second
    assert starts(users["viewer"]) == [("Staff meeting", "07 09:00"), ("Staff meeting (moved)", "14 14:00"),
                                       ("Staff meeting", "21 09:00"), ("Staff meeting", "28 09:00")]

    fourth = datetime(2026, 12, 28, 9, tzinfo=MANILA)
    later = services.update_event(event, event.version, actor, scope="following", occurrence=fourth,
                                  **{**services.form_values(event, fourth), "title": "Team meeting"})
    assert later.id != event.id and "UNTIL=" in event.rrule
    assert starts(users["viewer"], "") [-1] == ("Team meeting", "28 09:00")
    assert ("Staff meeting", "28 09:00") not in starts(users["viewer"])

    services.update_event(event, event.version, actor, **{**services.form_values(event), "location": "Room B"})
    assert event.location == "Room B" and override.location == ""


def test_a_stale_edit_is_a_conflict_naming_the_field_and_who(users):
    actor = users["oobc_staff"]
    event = weekly(actor)
    seen = event.version
    services.update_event(event, seen, users["admin"], **{**services.form_values(event), "title": "Renamed"})
    with pytest.raises(Conflict) as caught:
        services.update_event(event, seen, actor, **{**services.form_values(event), "location": "Hall"})
    assert caught.value.changed_fields["title"]["current"] == "Renamed"
    assert caught.value.changed_fields["title"]["by"]


def test_move_keeps_the_duration_and_a_weekly_series_follows_its_new_weekday(users):
    actor = users["oobc_staff"]
    single = services.create_event(actor, title="Site visit", start_date=date(2026, 12, 9), start_time=time(8),
                                   end_date=date(2026, 12, 9), end_time=time(17))
    services.move_event(single, single.version, actor, to_date=date(2026, 12, 11), to_time=time(7, 30))
    assert (single.starts_at.astimezone(MANILA), single.ends_at.astimezone(MANILA)) == (
        datetime(2026, 12, 11, 7, 30, tzinfo=MANILA), datetime(2026, 12, 11, 16, 30, tzinfo=MANILA))
    series = weekly(actor, rule=Rule("weekly", weekdays=("MO",)))
    services.move_event(series, series.version, actor, to_date=date(2026, 12, 8))
    assert series.rrule == "FREQ=WEEKLY;BYDAY=TU"
    assert starts(users["viewer"])[0] == ("Staff meeting", "08 09:00")
    all_day = services.create_event(actor, title="Turnover", all_day=True, start_date=date(2026, 12, 9),
                                    end_date=date(2026, 12, 10))
    services.move_event(all_day, all_day.version, actor, to_date=date(2026, 12, 30))
    assert all_day.ends_at.astimezone(MANILA) == datetime(2027, 1, 1, tzinfo=MANILA)  # two days, end exclusive


def test_delete_one_occurrence_the_following_or_the_series(users):
    actor = users["oobc_staff"]
    event = weekly(actor)
    services.delete_event(event, event.version, actor, scope="occurrence",
                          occurrence=datetime(2026, 12, 14, 9, tzinfo=MANILA))
    services.delete_event(event, event.version, actor, scope="following",
                          occurrence=datetime(2026, 12, 28, 9, tzinfo=MANILA))
    assert starts(users["viewer"]) == [("Staff meeting", "07 09:00"), ("Staff meeting", "21 09:00")]
    services.delete_event(event, event.version, actor)
    assert starts(users["viewer"]) == []


def test_who_may_change_an_event(users):
    event = weekly(users["moa_staff"], visibility="organization")
    assert event.organization_id == users["moa_staff"].organization_id
    for username in ("viewer", "other_moa_staff", "mfbm_analyst"):
        with pytest.raises(NotAllowed):
            services.delete_event(event, event.version, users[username])
    services.update_event(event, event.version, users["oobc_staff"], **{**services.form_values(event), "title": "X"})
    with pytest.raises(NotAllowed):
        services.create_event(users["viewer"], title="Nope", start_date=date(2026, 12, 1), all_day=True)


def test_a_work_item_moved_on_the_calendar_goes_through_the_tree(calendar_world, users):
    activity = calendar_world.activity
    services.move_work_item_dates(activity, activity.version, users["oobc_staff"], date(2026, 12, 14))
    assert (activity.start_date, activity.due_date) == (date(2026, 12, 14), date(2026, 12, 16))
    task = calendar_world.task
    with pytest.raises(ValidationFailed):
        services.move_work_item_dates(task, task.version, users["oobc_staff"], "tomorrow")
