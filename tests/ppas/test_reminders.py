"""send_approval_reminders: PPAs waiting in a review state > 7 days since they entered it → high, > 14 →
critical, to the role that must act; once per PPA per day; set-based; a JobRun with counts."""
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
import time_machine

from jobs.schedule import SCHEDULE
from obcms.extensions import db
from obcms.jobqueue import JobRun, enqueue
from obcms.notifications.models import Notification
from obcms.ppas.reminders import ApprovalReminder, send_approval_reminders
from obcms.workflow import fire

START = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # 09:00 in Manila


def _at(days, hours=0):
    return START + timedelta(days=days, hours=hours)


def _reminders():
    db.session.expire_all()
    return db.session.execute(sa.select(ApprovalReminder.ppa_id, ApprovalReminder.approval_status,
                                        ApprovalReminder.severity, ApprovalReminder.days_waiting,
                                        ApprovalReminder.sent_on).order_by(ApprovalReminder.id)).all()


def _notified():
    return db.session.execute(sa.select(Notification.user_id, Notification.kind, Notification.message)
                              .where(Notification.kind == "approval_reminder").order_by(Notification.id)).all()


@pytest.fixture
def submitted(ready_ppa, users):
    """A PPA submitted at START (so it entered technical_review then)."""
    with time_machine.travel(START, tick=False):
        ppa = ready_ppa(title="Waiting one")
        fire(ppa, "submit", users["moa_staff"])
    return ppa


def test_nothing_before_seven_days(submitted):
    with time_machine.travel(_at(7), tick=False):
        assert send_approval_reminders()["overdue"] == 0
    assert _reminders() == []


def test_after_seven_days_high_to_the_role_that_must_act_once_a_day(submitted, users):
    with time_machine.travel(_at(7, hours=1), tick=False):
        counts = send_approval_reminders()
        assert counts == {"overdue": 1, "high": 1, "critical": 0, "no_reviewer": 0, "notifications": 1}
        assert send_approval_reminders()["overdue"] == 0  # the same day: nothing more
    assert [tuple(r) for r in _reminders()] == [(submitted.id, "technical_review", "high", 7, _at(7).date())]
    ((user_id, kind, message),) = _notified()
    assert user_id == users["mfbm_analyst"].id
    assert message == f"Waiting (high): PPA-{submitted.id} Waiting one has waited 7 days in technical review."
    with time_machine.travel(_at(8), tick=False):
        assert send_approval_reminders()["high"] == 1  # the next day again
    assert len(_reminders()) == 2


def test_after_fourteen_days_critical(submitted):
    with time_machine.travel(_at(14, hours=1), tick=False):
        assert send_approval_reminders()["critical"] == 1
    assert _reminders()[0].severity == "critical"
    assert _notified()[0].message.startswith("Overdue (critical)")


def test_the_wait_counts_from_entering_the_state_not_from_the_last_edit(submitted, users):
    with time_machine.travel(_at(6), tick=False):
        fire(submitted, "pass_technical_review", users["mfbm_analyst"])  # enters budget_review on day 6
    with time_machine.travel(_at(10), tick=False):
        assert send_approval_reminders()["overdue"] == 0
    with time_machine.travel(_at(13, hours=1), tick=False):
        submitted.summary = "Edited today"  # an edit does not restart the wait
        db.session.flush()
        assert send_approval_reminders()["high"] == 1
    assert _reminders()[0].approval_status == "budget_review"


def test_only_review_states_are_reminded(ready_ppa, users):
    with time_machine.travel(START, tick=False):
        for state in ("draft", "approved", "rejected", "enacted"):
            ready_ppa(approval_status=state)
        consult = ready_ppa(approval_status="stakeholder_consultation")  # no log: its creation counts
    with time_machine.travel(_at(9), tick=False):
        counts = send_approval_reminders()
    assert counts["overdue"] == 1
    assert _notified()[0].user_id == users["bpda_planner"].id
    assert _reminders()[0].ppa_id == consult.id


def test_a_role_without_active_users_is_counted(submitted, users):
    users["mfbm_analyst"].is_active = False
    db.session.flush()
    with time_machine.travel(_at(8), tick=False):
        counts = send_approval_reminders()
    assert counts["no_reviewer"] == 1 and counts["notifications"] == 0
    assert len(_reminders()) == 1


def test_set_based_whatever_the_number_of_ppas(ready_ppa, users, count_queries):
    with time_machine.travel(START, tick=False):
        for n in range(12):
            fire(ready_ppa(title=f"Waiting {n}"), "submit", users["oobc_staff"])
    with time_machine.travel(_at(15), tick=False), count_queries() as q:
        counts = send_approval_reminders()
    assert counts["critical"] == 12 and counts["notifications"] == 12
    assert q.count == 5  # notify_each's one look-up of who wants e-mail now included


def test_the_job_records_its_counts_and_is_scheduled_daily_at_eight(submitted):
    assert ("0 8 * * *", "send_approval_reminders") in SCHEDULE
    with time_machine.travel(_at(8), tick=False):
        enqueue("send_approval_reminders")
        db.session.commit()
        enqueue("send_approval_reminders")
        db.session.commit()
    db.session.expire_all()
    runs = db.session.scalars(sa.select(JobRun).where(JobRun.name == "send_approval_reminders")
                              .order_by(JobRun.id)).all()
    assert [(r.status, r.counts["overdue"], r.counts["notifications"]) for r in runs] == [
        ("succeeded", 1, 1), ("succeeded", 0, 0)]
    assert len(_reminders()) == 1
