"""Budget variance alerts (DOMAIN.md Jobs, `detect_budget_variances`, every 6 hours at :00).

For PPAs in planning/ongoing/completed with a budget (budget_allocation > 0), from the disbursement tranches:
- overspending (kind "over"): disbursed over budget by more than 10 % → high, by more than 20 % → critical
  (exactly 10 % is no alert; 10.01 % is high);
- underspending (kind "under", we): utilization (disbursed ÷ budget × 100) more than 25 points behind the
  time elapsed between start_date and target_end_date (0 before the start, 100 from the end on) → medium;
  a PPA without both dates is never underspending.
At most one open (active or acknowledged) alert per PPA and kind — a partial UNIQUE index says so in the
database. A run refreshes the figures of open alerts, raises their severity (and notifies again only then),
and resolves the ones whose variance went away (or whose PPA left the checked states or lost its budget).
People acknowledge and resolve alerts through the alert machine below (fire(): version-checked, logged,
audited); a resolved alert stays as history, and a variance found again later opens a new one.

    counts = detect_budget_variances()        # the job (jobs/variances.py); never commits
    fire(alert, "acknowledge", user, expected_version=form_version)
"""
from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..audit.mixins import Audited
from ..audit.recording import record_bulk_change
from ..auth.models import User
from ..db_types import Money, UTCDateTime, enum_column_type, utcnow
from ..extensions import db
from ..money import format_pesos
from ..notifications.services import notify_each
from ..workflow import StateMachine, Transition, derived_status, sets_columns
from .funding import funding_totals_subquery
from .models import Ppa
from .reminders import local_today

KINDS = ("over", "under")
KIND_LABELS = {"over": "Overspending", "under": "Underspending"}
SEVERITIES = ("medium", "high", "critical")
SEVERITY_RANK = {s: n for n, s in enumerate(SEVERITIES)}
ALERT_STATUSES = ("active", "acknowledged", "resolved")
OPEN = ("active", "acknowledged")
CHECKED_PPA_STATUSES = ("planning", "ongoing", "completed")
HIGH_OVER, CRITICAL_OVER = Decimal(10), Decimal(20)   # percent over budget
BEHIND_POINTS = Decimal(25)                          # utilization points behind elapsed time
# Who hears of a new alert or a rise in severity (in-app): the budget reviewers and the OOBC executives.
NOTIFIED_ROLES = ("mfbm_analyst", "oobc_executive")
# Who reads and acts on alerts (the Alerts page; obcms/auth/permissions.py "alert.read" / "alert.act").
ALERT_ROLES = ("admin", "oobc_executive", "oobc_staff", "mfbm_analyst")
CENT = Decimal("0.01")
# The columns a run refreshes on an open alert (bound as v_<name> in one executemany UPDATE).
REFRESHED = ("organization_id", "severity", "budget", "disbursed", "utilization", "elapsed", "last_detected_at")


# Set in the same UPDATE as the status (fire_many): the CHECKs tie each time to its state.
_acknowledged = sets_columns(lambda transition, actor: {"acknowledged_by_id": getattr(actor, "id", None),
                                                        "acknowledged_at": utcnow()})
_resolved = sets_columns(lambda transition, actor: {"resolved_by_id": getattr(actor, "id", None),
                                                    "resolved_at": utcnow()})


ALERT_MACHINE = StateMachine(
    field="status", states=ALERT_STATUSES, initial="active", permission="alert.read",
    transitions=[
        Transition("acknowledge", "active", "acknowledged", roles=ALERT_ROLES, effects=[_acknowledged],
                   done=lambda alert: f"{alert} acknowledged."),
        Transition("resolve", OPEN, "resolved", roles=ALERT_ROLES, effects=[_resolved], kind="secondary",
                   done=lambda alert: f"{alert} resolved."),
    ])


class BudgetAlert(Audited, db.Model):
    __tablename__ = "ppa_budget_alerts"
    __scope_column__ = "organization_id"  # the PPA's implementing MOA (refreshed by every run)
    __state_machine__ = ALERT_MACHINE

    id: Mapped[int] = mapped_column(primary_key=True)
    ppa_id: Mapped[int] = mapped_column(sa.ForeignKey("ppas.id", ondelete="CASCADE"), nullable=False, index=True)
    organization_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organizations.id", ondelete="SET NULL"),
                                                        index=True)
    kind: Mapped[str] = mapped_column(enum_column_type(KINDS, "budget_alert_kind"), nullable=False)
    severity: Mapped[str] = mapped_column(enum_column_type(SEVERITIES, "budget_alert_severity"), nullable=False)
    status: Mapped[str] = mapped_column(enum_column_type(ALERT_STATUSES, "budget_alert_status"), nullable=False,
                                        default="active", server_default="active", index=True)
    # The figures at the latest detection.
    budget: Mapped[object] = mapped_column(Money(), nullable=False)
    disbursed: Mapped[object] = mapped_column(Money(), nullable=False)
    utilization: Mapped[object] = mapped_column(sa.Numeric(18, 2), nullable=False)  # percent of the budget
    elapsed: Mapped[object | None] = mapped_column(sa.Numeric(5, 2))  # percent of the PPA's time (underspending)
    first_detected_at: Mapped[object] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    last_detected_at: Mapped[object] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    acknowledged_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    acknowledged_at: Mapped[object | None] = mapped_column(UTCDateTime())
    # resolved_by_id NULL with resolved_at set: resolved by the job (the variance went away).
    resolved_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    resolved_at: Mapped[object | None] = mapped_column(UTCDateTime())
    version: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=1, server_default="1")

    ppa = relationship("Ppa")
    acknowledged_by = relationship("User", foreign_keys=[acknowledged_by_id])
    resolved_by = relationship("User", foreign_keys=[resolved_by_id])

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        # One open alert per PPA and kind (resolved ones are history).
        sa.Index("uq_ppa_budget_alerts_open", "ppa_id", "kind", unique=True,
                 sqlite_where=sa.text("status <> 'resolved'"), postgresql_where=sa.text("status <> 'resolved'")),
        sa.CheckConstraint("(kind = 'over' AND severity IN ('high', 'critical')) OR "
                           "(kind = 'under' AND severity = 'medium')", name="severity_fits_kind"),
        sa.CheckConstraint("(status = 'resolved') = (resolved_at IS NOT NULL)", name="resolved_iff_resolved_at"),
        sa.CheckConstraint("status = 'active' OR status = 'resolved' OR acknowledged_at IS NOT NULL",
                           name="acknowledged_has_time"),
        sa.CheckConstraint("budget > 0 AND disbursed >= 0", name="figures_valid"),
    )

    @property
    def kind_label(self):
        return KIND_LABELS[self.kind]

    @property
    def over_percent(self):
        """How far disbursements are over the budget, in percent (negative when under)."""
        return (Decimal(self.utilization) - 100).quantize(CENT)

    @property
    def behind_points(self):
        """Utilization points behind the elapsed time (None without dates)."""
        return None if self.elapsed is None else (Decimal(self.elapsed) - Decimal(self.utilization)).quantize(CENT)

    def __str__(self):
        return f"{self.kind_label} alert #{self.id}"


# ------------------------------------------------------------------------------------------------- the rules
def elapsed_percent(start, end, today):
    """Percent of the time from `start` to `end` that has passed on `today` (0–100), None without both dates."""
    if start is None or end is None:
        return None
    if today <= start:
        return Decimal(0)
    if today >= end:
        return Decimal(100)
    return Decimal((today - start).days) * 100 / Decimal((end - start).days)


def variances(budget, disbursed, start, end, today):
    """{kind: severity} of one PPA's variances (exact Decimal arithmetic; the boundaries are exclusive)."""
    found = {}
    over = (disbursed - budget) * 100 / budget
    if over > CRITICAL_OVER:
        found["over"] = "critical"
    elif over > HIGH_OVER:
        found["over"] = "high"
    elapsed = elapsed_percent(start, end, today)
    if elapsed is not None and elapsed - disbursed * 100 / budget > BEHIND_POINTS:
        found["under"] = "medium"
    return found


@dataclass(frozen=True)
class Figures:
    budget: Decimal
    disbursed: Decimal
    utilization: Decimal
    elapsed: Decimal | None


def _checked_ppas():
    totals = funding_totals_subquery()
    disbursed = sa.func.coalesce(totals.c.disbursements, sa.literal_column("0"))
    return (sa.select(Ppa.id, Ppa.code, Ppa.title, Ppa.implementing_moa_id, Ppa.budget_allocation,
                      Ppa.start_date, Ppa.target_end_date, sa.type_coerce(disbursed, Money()).label("disbursed"))
            .outerjoin(totals, totals.c.ppa_id == Ppa.id)
            .where(Ppa.status.in_(CHECKED_PPA_STATUSES), Ppa.budget_allocation > 0))


def detect_budget_variances(today=None, session=None):
    """Open, refresh, raise and resolve the variance alerts of every PPA, set-based: one SELECT of every
    checked PPA's figures, one of the open alerts, then at most one INSERT (new alerts), one UPDATE (figures
    and severities), one UPDATE (resolved), one audit INSERT, one SELECT of recipients and one notification
    INSERT — whatever the number of PPAs. Notifies NOTIFIED_ROLES of new alerts and of rises in severity
    only. Never commits. Returns counts for the JobRun."""
    session = session or db.session
    today = today or local_today()
    now = utcnow()
    alerts = BudgetAlert.__table__
    found, ppas, checked = {}, {}, 0
    for row in session.execute(_checked_ppas()):
        checked += 1
        budget, disbursed = Decimal(row.budget_allocation), Decimal(row.disbursed)
        elapsed = elapsed_percent(row.start_date, row.target_end_date, today)
        figures = Figures(budget, disbursed, (disbursed * 100 / budget).quantize(CENT),
                          None if elapsed is None else elapsed.quantize(CENT))
        for kind, severity in variances(budget, disbursed, row.start_date, row.target_end_date, today).items():
            found[row.id, kind] = (severity, figures)
            ppas[row.id] = row
    open_alerts = {(a.ppa_id, a.kind): a for a in session.execute(
        sa.select(alerts.c.id, alerts.c.ppa_id, alerts.c.kind, alerts.c.severity, alerts.c.status).where(alerts.c.status.in_(OPEN)))}

    new, refreshed, raised, audit = [], [], [], {}
    for key, (severity, figures) in found.items():
        ppa = ppas[key[0]]
        values = dict(zip(REFRESHED, (ppa.implementing_moa_id, severity, figures.budget, figures.disbursed,
                                      figures.utilization, figures.elapsed, now), strict=True))
        alert = open_alerts.get(key)
        if alert is None:
            new.append(dict(values, ppa_id=key[0], kind=key[1], status="active", first_detected_at=now, version=1))
            raised.append((ppa, key[1], severity, figures))
            continue
        step = int(alert.severity != severity)  # a person sees the severity: its change moves the version
        refreshed.append({**{f"v_{k}": v for k, v in values.items()}, "v_id": alert.id, "v_step": step})
        if step:
            audit[alert.id] = {"severity": (alert.severity, severity)}
        if SEVERITY_RANK[severity] > SEVERITY_RANK[alert.severity]:
            raised.append((ppa, key[1], severity, figures))
    gone = {a.id: a.status for key, a in open_alerts.items() if key not in found}

    if new:
        session.execute(sa.insert(alerts), new)
    if refreshed:
        session.execute(sa.update(alerts).where(alerts.c.id == sa.bindparam("v_id"))
                        .values(**{k: sa.bindparam(f"v_{k}") for k in REFRESHED},
                                version=alerts.c.version + sa.bindparam("v_step")), refreshed)
    if gone:
        with derived_status("the variance went away"):
            session.execute(sa.update(BudgetAlert).where(BudgetAlert.id.in_(list(gone)))
                            .values(status="resolved", resolved_at=now, version=BudgetAlert.version + 1)
                            .execution_options(synchronize_session=False))
        for alert_id, status in gone.items():
            audit.setdefault(alert_id, {})["status"] = (status, "resolved")
    if audit:
        record_bulk_change(BudgetAlert, audit, cause="budget variance detection", session=session)
    notifications = _notify(raised, session) if raised else 0
    severities = [severity for severity, figures in found.values()]
    return {"ppas_checked": checked, "opened": len(new), "raised": len(raised) - len(new), "resolved": len(gone),
            "critical": severities.count("critical"), "high": severities.count("high"),
            "medium": severities.count("medium"), "notifications": notifications}


def _notify(raised, session):
    recipients = session.scalars(sa.select(User.id).where(User.role.in_(NOTIFIED_ROLES), User.is_active)).all()
    messages = []
    for ppa, kind, severity, figures in raised:
        code = ppa.code or f"PPA-{ppa.id}"
        if kind == "over":
            text = (f"Overspending ({severity}): {code} {ppa.title} has disbursed {format_pesos(figures.disbursed)} "
                    f"of a {format_pesos(figures.budget)} budget ({figures.utilization - 100} % over).")
        else:
            text = (f"Underspending (medium): {code} {ppa.title} has used {figures.utilization} % of its budget "
                    f"with {figures.elapsed} % of its time gone.")
        messages.append((recipients, "budget_variance", text, f"/alerts?ppa={ppa.id}"))
    return notify_each(messages, session)
