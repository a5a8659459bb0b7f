"""A small world for the security and robustness tests: for MSSD and for MOH, a PPA with a tracked tree
(generated through the tracking service), a budget distribution, a funding tranche, a submitted approval; a
notification for every user; a sync job run; an assessment. Built through the services, so audit entries, transition logs
and approval tasks exist too. Everything lives in the test's rolled-back transaction.

    def test_x(world): world.ppa.id, world.leaf.id, world.other.ppa.id, world.notifications["viewer"].id …
"""
from dataclasses import dataclass
from datetime import date, time
from decimal import Decimal

import pytest
import sqlalchemy as sa

from obcms.api.models import ApiToken
from obcms.api.tokens import create_token
from obcms.assessments.models import Assessment
from obcms.audit.models import AuditEntry
from obcms.auth.sessions import start_sign_in
from obcms.budget import ledger
from obcms.budget import services as budget_services
from obcms.budget.models import Distribution, FinancialEntry
from obcms.calendar import feeds as calendar_feeds
from obcms.calendar import services as calendar_services
from obcms.calendar.models import Booking, Resource
from obcms.calendar.queries import Filters
from obcms.calendar.recurrence import Rule
from obcms.extensions import db
from obcms.jobqueue import JobRun
from obcms.notifications.models import Notification
from obcms.notifications.services import notify
from obcms.ppas import tracking
from obcms.ppas.models import FundingTranche, Ppa
from obcms.ppas.variances import BudgetAlert
from obcms.reports.models import GeneratedReport, Policy, ppa_policies
from obcms.workflow import fire
from obcms.workflow.models import TransitionLog
from obcms.workitems.models import WorkItem

# Tables whose row counts prove a refused request wrote nothing.
COUNTED = (Ppa, FundingTranche, WorkItem, Distribution, Notification, AuditEntry, TransitionLog, JobRun, BudgetAlert,
           FinancialEntry, Policy, GeneratedReport, ApiToken)


@dataclass
class Portfolio:
    """One organization's share of the world."""

    ppa: Ppa
    root: WorkItem
    leaf: WorkItem
    distribution: Distribution
    job_run: JobRun | None = None
    sign_in_id: int = 0       # a sign-in of this organization's MOA staff (the account page's routes)
    event_id: int = 0         # a weekly calendar event of this organization
    resource_id: int = 0      # a bookable room
    booking_id: int = 0       # a pending booking of that room by this organization
    feed_id: int = 0          # a calendar subscription of this organization's MOA staff
    feed_token: str = ""      # and its secret (the feed URL's <token>)
    alert_id: int = 0         # an active budget variance alert of this organization's PPA
    assessment_id: int = 0    # an assessment of this organization
    person_id: int = 0        # this organization's MOA staff (the team view's person pages)
    entry_id: int = 0         # an obligation posted on the leaf (the ledger)
    policy_id: int = 0        # a policy of the register linked to this organization's PPA
    report_id: int = 0        # a generated report asked for by this organization's MOA staff
    api_token_id: int = 0     # an API token of this organization's MOA staff (the account page revokes it)

    def ids(self, notification=None):
        """The ids route parameters are built from."""
        return {"ppa_id": self.ppa.id, "item_id": self.leaf.id, "node_id": self.root.id,
                "distribution_id": self.distribution.id, "run_id": self.job_run.id if self.job_run else 0,
                "notification_id": notification.id if notification else 0, "object_id": self.ppa.id,
                "sign_in_id": self.sign_in_id, "event_id": self.event_id, "resource_id": self.resource_id,
                "booking_id": self.booking_id,
                "feed_id": self.feed_id, "token": self.feed_token, "alert_id": self.alert_id,
                "assessment_id": self.assessment_id, "person_id": self.person_id, "entry_id": self.entry_id,
                "policy_id": self.policy_id, "report_id": self.report_id, "api_token_id": self.api_token_id}


@dataclass
class World:
    ppa: Ppa
    root: WorkItem
    leaf: WorkItem
    distribution: Distribution
    other: Portfolio          # MOH's (other_moa_staff's) PPA and tree
    notifications: dict       # username → one of their notifications
    job_run: JobRun
    audit_entry: AuditEntry
    sign_in_id: int = 0
    event_id: int = 0
    resource_id: int = 0
    booking_id: int = 0
    feed_id: int = 0
    feed_token: str = ""
    alert_id: int = 0
    assessment_id: int = 0
    person_id: int = 0
    entry_id: int = 0
    policy_id: int = 0
    report_id: int = 0
    api_token_id: int = 0

    def ids(self):
        """The ids route parameters are built from (this organization's, MSSD)."""
        mine = Portfolio(self.ppa, self.root, self.leaf, self.distribution, self.job_run, self.sign_in_id,
                         self.event_id, self.resource_id, booking_id=self.booking_id, feed_id=self.feed_id,
                         feed_token=self.feed_token, alert_id=self.alert_id,
                         assessment_id=self.assessment_id, person_id=self.person_id, entry_id=self.entry_id,
                         policy_id=self.policy_id, report_id=self.report_id, api_token_id=self.api_token_id)
        return mine.ids(self.notifications["moa_staff"])


def build_portfolio(organization, actor, title, comment="Please review the figures."):
    ppa = Ppa(title=title, category="moa_ppa", fiscal_year=2026, sector="social", implementing_moa_id=organization.id,
              budget_allocation=Decimal("1000000.00"), start_date=date(2026, 1, 1),
              target_end_date=date(2026, 12, 31), summary=f"Summary of {title}", funding_source="gaab",
              lead_organization_id=organization.id,
              appropriation_class="mooe", outcome_framework=[{"title": f"Outcome of {title}", "outputs": ["Kits"]}])
    db.session.add(ppa)
    db.session.flush()
    db.session.add(FundingTranche(ppa_id=ppa.id, kind="allocation", amount=Decimal("500000.00"),
                                  tranche_date=date(2026, 2, 1), source="GAAB", remarks=comment))
    root = tracking.enable_tracking(ppa, actor, "program", "equal")
    child = sa.orm.aliased(WorkItem)
    leaf = db.session.scalars(sa.select(WorkItem).where(WorkItem.tree_id == root.id,
                                                        ~sa.exists().where(child.parent_id == WorkItem.id))
                              .order_by(WorkItem.lft).limit(1)).one()
    parent = db.session.get(WorkItem, leaf.parent_id)
    preview = budget_services.preview_distribution(parent, "equal", {})
    distribution = budget_services.apply_distribution(parent, "equal", {}, actor, preview.versions)
    entry = ledger.record_entry(leaf, actor, "obligation", "1000.00", date(2026, 3, 1), f"ORS-{title[:20]}",
                                f"Supplier of {title}")
    event = calendar_services.create_event(actor, title=f"Weekly review of {title}", visibility="organization",
                                           organization_id=organization.id, start_date=date(2026, 12, 7),
                                           start_time=time(9), end_date=date(2026, 12, 7), end_time=time(10),
                                           rule=Rule("weekly"))
    resource = Resource(name=f"Room for {title}", kind="room", organization_id=organization.id)
    db.session.add(resource)
    db.session.flush()
    booking = Booking(resource_id=resource.id, event_id=event.id, title=f"Booked for {title}", status="pending",
                      starts_at=event.starts_at, ends_at=event.ends_at, booked_by_id=actor.id,
                      organization_id=organization.id)
    db.session.add(booking)
    alert = BudgetAlert(ppa_id=ppa.id, organization_id=organization.id, kind="over", severity="high",
                        budget=ppa.budget_allocation, disbursed=Decimal("1150000.00"), utilization=Decimal("115.00"))
    db.session.add(alert)
    db.session.flush()
    assessment = Assessment(title=f"Needs of {title}", organization_id=organization.id, methodology="survey",
                            start_date=date(2026, 12, 7), lead_id=actor.id, created_by_id=actor.id)
    db.session.add(assessment)
    policy = Policy(title=f"Policy behind {title}", reference=f"POL-{ppa.id}", status="active")
    db.session.add(policy)
    db.session.flush()
    db.session.execute(ppa_policies.insert().values(ppa_id=ppa.id, policy_id=policy.id))
    return Portfolio(ppa=ppa, root=root, leaf=leaf, distribution=distribution, event_id=event.id,
                     resource_id=resource.id, booking_id=booking.id, alert_id=alert.id,
                     assessment_id=assessment.id, entry_id=entry.id, policy_id=policy.id)


def add_report(portfolio, requester):
    """A finished report (its file absent: downloading it is a 404) of `requester`, kept for 7 days."""
    report = GeneratedReport(kind="coa_budget_variance", fiscal_year=2026, requested_by_id=requester.id,
                             status="done", rows_total=2, rows_done=2, file_name="coa.xlsx")
    db.session.add(report)
    db.session.flush()
    portfolio.report_id = report.id


def build_world(users, organizations, title="Livelihood kits", comment="Please review the figures."):
    staff = users["oobc_staff"]
    mine = build_portfolio(organizations["MSSD"], staff, title, comment)
    other = build_portfolio(organizations["MOH"], staff, "Rural health units")
    add_report(mine, users["moa_staff"])
    add_report(other, users["other_moa_staff"])
    other.sign_in_id = start_sign_in(users["other_moa_staff"], "another browser").id
    other_feed, other.feed_token = calendar_feeds.create_feed(users["other_moa_staff"], "", Filters())
    other.feed_id = other_feed.id
    other.person_id = users["other_moa_staff"].id
    feed, feed_token = calendar_feeds.create_feed(users["moa_staff"], "", Filters())
    other.api_token_id = create_token(users["other_moa_staff"], "walker", scope="write")[0].id
    api_token = create_token(users["moa_staff"], "walker", scope="write")[0]
    fire(mine.ppa, "submit", users["moa_staff"], comment=comment)
    fire(other.ppa, "submit", users["other_moa_staff"])
    for user in users.values():
        notify([user.id], "approval", f"{title} needs your review ({user.username})", url=f"/ppas/{mine.ppa.id}")
    job_run = JobRun(name="sync_ppa_progress", arguments={"ppa_ids": [mine.ppa.id]}, status="succeeded")
    other.job_run = JobRun(name="sync_ppa_progress", arguments={"ppa_ids": [other.ppa.id]}, status="succeeded")
    db.session.add_all([job_run, other.job_run])
    db.session.flush()
    notifications = {}
    for notification in db.session.scalars(sa.select(Notification).order_by(Notification.id.desc())):
        notifications.setdefault(users_by_id(users)[notification.user_id].username, notification)
    audit_entry = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.object_type == "ppa")
                                     .order_by(AuditEntry.id).limit(1)).one()
    return World(ppa=mine.ppa, root=mine.root, leaf=mine.leaf, distribution=mine.distribution, other=other,
                 notifications=notifications, job_run=job_run, audit_entry=audit_entry,
                 sign_in_id=start_sign_in(users["moa_staff"], "another browser").id, event_id=mine.event_id,
                 resource_id=mine.resource_id, booking_id=mine.booking_id, feed_id=feed.id, feed_token=feed_token,
                 alert_id=mine.alert_id,
                 assessment_id=mine.assessment_id, person_id=users["moa_staff"].id, entry_id=mine.entry_id,
                 policy_id=mine.policy_id, report_id=mine.report_id, api_token_id=api_token.id)


def users_by_id(users):
    return {u.id: u for u in users.values()}


def row_counts():
    return {model.__tablename__: db.session.scalar(sa.select(sa.func.count()).select_from(model))
            for model in COUNTED}


@pytest.fixture
def world(users, organizations):
    built = build_world(users, organizations)
    db.session.commit()  # a savepoint in the test's transaction: the requests' sessions see it
    return built
