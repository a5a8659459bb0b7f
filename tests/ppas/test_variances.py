"""detect_budget_variances (DOMAIN.md Jobs): overspending > 10 % high, > 20 % critical; underspending more
than 25 points behind elapsed time → medium; only planning/ongoing/completed PPAs with a budget; one open
alert per PPA and kind (also in the database), re-notified only when severity rises, resolved when the
variance goes away; set-based (a constant number of statements); a JobRun with counts, every 6 hours."""
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
import time_machine

from jobs.schedule import SCHEDULE
from obcms.extensions import db
from obcms.jobqueue import JobRun, enqueue
from obcms.notifications.models import Notification
from obcms.ppas.variances import BudgetAlert, detect_budget_variances, elapsed_percent
from obcms.workflow import fire

NOW = datetime(2026, 2, 20, 1, 0, tzinfo=UTC)  # 09:00 on 20 Feb 2026 in Manila
START, END = date(2026, 1, 1), date(2026, 4, 11)  # 100 days; on 20 Feb, 50 days (50 %) have passed


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def spending(make_ppa, add_tranches):
    """spending("11001.00", budget="10000.00", **ppa fields): a PPA that disbursed that much."""

    def make(disbursed, budget="10000.00", **fields):
        values = dict(budget_allocation=Decimal(budget) if budget is not None else None, start_date=START,
                      target_end_date=END, status="ongoing")
        values.update(fields)
        ppa = make_ppa(**values)
        if disbursed is not None:
            add_tranches(ppa, disbursement=disbursed)
        return ppa

    return make


def alerts(**where):
    db.session.expire_all()
    stmt = sa.select(BudgetAlert).order_by(BudgetAlert.id)
    for name, value in where.items():
        stmt = stmt.where(getattr(BudgetAlert, name) == value)
    return db.session.scalars(stmt).all()


def found(ppa):
    return {(a.kind, a.severity, a.status) for a in alerts(ppa_id=ppa.id)}


def variance_notifications():
    return db.session.execute(sa.select(Notification.user_id, Notification.message, Notification.url)
                              .where(Notification.kind == "budget_variance").order_by(Notification.id)).all()


@pytest.mark.parametrize(("disbursed", "expected"), [
    ("10999.99", set()), ("11000.00", set()),                     # exactly 10 % over: no alert
    ("11001.00", {("over", "high", "active")}),                   # 10.01 %
    ("12000.00", {("over", "high", "active")}),                   # exactly 20 %: still high
    ("12001.00", {("over", "critical", "active")}),               # 20.01 %
])
def test_overspending_boundaries(frozen, spending, disbursed, expected):
    ppa = spending(disbursed)
    detect_budget_variances()
    assert found(ppa) == expected


@pytest.mark.parametrize(("disbursed", "expected"), [
    ("2500.00", set()),                                           # 25 % used at 50 % time: exactly 25 points
    ("2499.00", {("under", "medium", "active")}),                 # 25.01 points behind
    (None, {("under", "medium", "active")}),                      # nothing disbursed at all
])
def test_underspending_boundaries(frozen, spending, disbursed, expected):
    ppa = spending(disbursed)
    detect_budget_variances()
    assert found(ppa) == expected


def test_elapsed_time_is_clamped_to_the_ppas_dates():
    assert elapsed_percent(START, END, date(2025, 12, 1)) == 0
    assert elapsed_percent(START, END, START) == 0
    assert elapsed_percent(START, END, date(2026, 2, 20)) == 50
    assert elapsed_percent(START, END, END) == 100
    assert elapsed_percent(START, END, date(2027, 1, 1)) == 100
    assert elapsed_percent(None, END, START) is None and elapsed_percent(START, None, START) is None


def test_no_budget_missing_dates_and_other_states_are_not_alerted(frozen, spending):
    no_budget = spending("5000.00", budget=None)
    zero_budget = spending("5000.00", budget="0.00")
    no_start = spending(None, start_date=None)            # would be underspending with dates
    no_end = spending(None, target_end_date=None)
    over_without_dates = spending("13000.00", start_date=None, target_end_date=None)
    outside = [spending("13000.00", status=s) for s in ("on_hold", "cancelled")]
    inside = [spending("13000.00", status=s) for s in ("planning", "ongoing", "completed")]
    counts = detect_budget_variances()
    for ppa in (no_budget, zero_budget, no_start, no_end, *outside):
        assert found(ppa) == set(), ppa.title
    assert found(over_without_dates) == {("over", "critical", "active")}
    assert all(found(ppa) == {("over", "critical", "active")} for ppa in inside)
    assert counts["ppas_checked"] == 6 and counts["opened"] == 4 and counts["critical"] == 4


def test_over_and_under_are_separate_alerts_with_their_figures(frozen, spending, make_ppa, add_tranches):
    ppa = spending("2000.00")
    detect_budget_variances()
    (alert,) = alerts(ppa_id=ppa.id)
    assert (alert.budget, alert.disbursed, alert.utilization, alert.elapsed) == (
        Decimal("10000.00"), Decimal("2000.00"), Decimal("20.00"), Decimal("50.00"))
    assert alert.behind_points == Decimal("30.00") and alert.organization_id == ppa.implementing_moa_id
    assert alert.first_detected_at == alert.last_detected_at == NOW


def test_one_open_alert_per_ppa_and_kind_notified_only_when_severity_rises(frozen, spending, add_tranches, users):
    ppa = spending("11500.00")
    assert detect_budget_variances()["notifications"] == 2  # mfbm_analyst and oobc_executive
    recipients = {u for u, m, url in variance_notifications()}
    assert recipients == {users["mfbm_analyst"].id, users["oobc_executive"].id}
    message = variance_notifications()[0].message
    assert message == (f"Overspending (high): PPA-{ppa.id} {ppa.title} has disbursed ₱ 11,500.00 of a "
                       "₱ 10,000.00 budget (15.00 % over).")
    frozen.shift(timedelta(hours=6))
    counts = detect_budget_variances()  # the same variance again: refreshed, not notified
    assert (counts["opened"], counts["raised"], counts["notifications"]) == (0, 0, 0)
    (alert,) = alerts(ppa_id=ppa.id)
    assert alert.last_detected_at == NOW + timedelta(hours=6) and alert.first_detected_at == NOW
    assert alert.version == 1  # refreshed figures move no version
    add_tranches(ppa, disbursement="1000.00")  # 25 % over: critical
    counts = detect_budget_variances()
    assert (counts["raised"], counts["notifications"]) == (1, 2)
    (alert,) = alerts(ppa_id=ppa.id)
    assert (alert.severity, alert.status, alert.version) == ("critical", "active", 2)
    assert len(variance_notifications()) == 4


def test_a_lower_severity_is_recorded_without_a_notification(frozen, spending, add_tranches):
    ppa = spending("12500.00")
    detect_budget_variances()
    db.session.execute(sa.delete(Notification))
    ppa.budget_allocation = Decimal("11000.00")  # now 13.6 % over: high
    db.session.flush()
    assert detect_budget_variances()["notifications"] == 0
    assert found(ppa) == {("over", "high", "active")}


def test_resolved_when_the_variance_goes_away_and_reopened_later(frozen, spending):
    ppa = spending("13000.00")
    detect_budget_variances()
    ppa.budget_allocation = Decimal("20000.00")
    db.session.flush()
    counts = detect_budget_variances()
    assert counts["resolved"] == 1
    (alert,) = alerts(ppa_id=ppa.id)
    assert alert.status == "resolved" and alert.resolved_at == NOW and alert.resolved_by_id is None
    ppa.budget_allocation = Decimal("10000.00")
    db.session.flush()
    detect_budget_variances()
    assert [a.status for a in alerts(ppa_id=ppa.id)] == ["resolved", "active"]


def test_an_alert_of_a_ppa_leaving_the_checked_states_is_resolved(frozen, spending):
    ppa = spending("13000.00")
    detect_budget_variances()
    ppa.status = "cancelled"
    db.session.flush()
    assert detect_budget_variances()["resolved"] == 1
    assert found(ppa) == {("over", "critical", "resolved")}


def test_the_database_allows_one_open_alert_per_ppa_and_kind(frozen, spending):
    ppa = spending("13000.00")
    detect_budget_variances()
    values = dict(ppa_id=ppa.id, kind="over", severity="high", budget=Decimal(1), disbursed=Decimal(2),
                  utilization=Decimal(200))
    with pytest.raises(sa.exc.IntegrityError), db.session.begin_nested():
        db.session.execute(sa.insert(BudgetAlert.__table__).values(status="active", **values))
    db.session.execute(sa.insert(BudgetAlert.__table__).values(status="resolved", resolved_at=NOW, **values))


def test_acknowledged_alerts_stay_acknowledged_and_are_resolved_too(frozen, spending, users):
    ppa = spending("13000.00")
    detect_budget_variances()
    (alert,) = alerts(ppa_id=ppa.id)
    fire(alert, "acknowledge", users["mfbm_analyst"], expected_version=alert.version)
    detect_budget_variances()
    assert found(ppa) == {("over", "critical", "acknowledged")}
    ppa.budget_allocation = Decimal("50000.00")
    db.session.flush()
    detect_budget_variances()
    assert found(ppa) == {("over", "critical", "resolved")}


@pytest.mark.parametrize("n", [10, 50])
def test_a_constant_number_of_statements_whatever_the_number_of_ppas(frozen, spending, count_queries, n):
    ppas = [spending("13000.00" if i % 2 else "1000.00") for i in range(n)]  # critical over / medium under
    with count_queries() as first:
        counts = detect_budget_variances()
    assert (counts["opened"], counts["critical"], counts["medium"]) == (n, n // 2, n // 2)
    assert first.count == 6  # figures, open alerts, INSERT alerts, recipients, INSERT notifications, e-mail choices
    over = [p.id for p in ppas[1::2]]
    under = [p.id for p in ppas[0::2]]
    ppas_table = ppas[0].__table__
    db.session.execute(sa.update(ppas_table).where(ppas_table.c.id.in_(over))
                       .values(budget_allocation=Decimal(11500)))  # 13 % over: high (lower, no notification)
    db.session.execute(sa.update(ppas_table).where(ppas_table.c.id.in_(under))
                       .values(status="on_hold"))  # no longer checked: resolved
    frozen.shift(timedelta(hours=6))
    with count_queries() as second:
        counts = detect_budget_variances()
    assert (counts["high"], counts["resolved"], counts["notifications"]) == (n // 2, n // 2, 0)
    assert second.count == 5  # figures, open alerts, UPDATE figures, UPDATE resolved, audit INSERT


def test_the_job_is_scheduled_every_six_hours_and_records_its_counts(frozen, spending):
    assert ("0 */6 * * *", "detect_budget_variances") in SCHEDULE
    spending("13000.00")
    enqueue("detect_budget_variances")
    db.session.commit()
    run = db.session.scalars(sa.select(JobRun).where(JobRun.name == "detect_budget_variances")).one()
    assert run.status == "succeeded" and run.counts["opened"] == 1 and run.counts["critical"] == 1
