"""Demo data for a new installation: the organizations, one user per role, and a portfolio that tells a
story: PPAs spread over the approval states (each walked there through the workflow), work done, under way,
overdue and due soon, money consistent with each PPA's status, and a notification waiting for every role."""
from datetime import date, datetime, time, timedelta
from decimal import Decimal

import sqlalchemy as sa

from .auth import services
from .auth.models import ROLES, Organization, User
from .budget.ledger import record_entry
from .calendar import services as calendar_services
from .calendar.models import Booking, Resource
from .calendar.recurrence import MANILA, Rule
from .extensions import db
from .notifications import notify
from .ppas.models import Ppa
from .ppas.services import add_tranche, create_ppa
from .ppas.tracking import enable_tracking
from .reports.policies import create_policy, link_policy
from .tasking.seed import seed_templates
from .workflow import fire
from .workitems import tree
from .workitems.models import WorkItem
from .workitems.services import edit_work_item

DEMO_ORGANIZATIONS = [
    ("Office for Other Bangsamoro Communities", "OOBC", "oobc", "oobc@example.gov.ph"),
    ("Ministry of Social Services and Development", "MSSD", "moa", "mssd@example.gov.ph"),
    ("Ministry of Basic, Higher and Technical Education", "MBHTE", "moa", "mbhte@example.gov.ph"),
    ("Ministry of Health", "MOH", "moa", "moh@example.gov.ph"),
    ("Ministry of Finance, and Budget and Management", "MFBM", "oversight", "mfbm@example.gov.ph"),
    ("Bangsamoro Planning and Development Authority", "BPDA", "oversight", "bpda@example.gov.ph"),
]

# username → (role, organization acronym, full name)
DEMO_USERS = {
    "admin": ("admin", "OOBC", "Amina Administrator"),
    "executive": ("oobc_executive", "OOBC", "Esmael Executive"),
    "staff": ("oobc_staff", "OOBC", "Sittie Staff"),
    "moa": ("moa_staff", "MSSD", "Mohammad MOA"),
    "mfbm": ("mfbm_analyst", "MFBM", "Farida Analyst"),
    "bpda": ("bpda_planner", "BPDA", "Bai Planner"),
    "viewer": ("viewer", "MSSD", "Vicente Viewer"),
}
assert set(r for r, _, _ in DEMO_USERS.values()) == set(ROLES)


def demo_is_loaded():
    return db.session.scalar(sa.select(sa.func.count(Organization.id))) > 0


def seed_demo(password):
    """Create the demo organizations and users when missing. Returns the users created."""
    orgs = {o.acronym: o for o in db.session.scalars(sa.select(Organization))}
    for name, acronym, kind, email in DEMO_ORGANIZATIONS:
        if acronym not in orgs:
            orgs[acronym] = services.create_organization(name, acronym, kind, email)
    existing = set(db.session.scalars(sa.select(User.username)))
    created = []
    for username, (role, acronym, full_name) in DEMO_USERS.items():
        if username in existing:
            continue
        created.append(services.create_user(username, f"{username}@example.gov.ph", password, role,
                                            orgs[acronym], full_name))
    seed_templates()  # before the PPAs and events whose tasks they generate (after the commit)
    seed_demo_ppas(orgs)
    return created


# (code, title, category, implementing MOA, sector, status, progress, budget, start offset days, length days,
#  tranches [(kind, amount, days after start)])
DEMO_PPAS = [
    ("MSSD-2026-001", "Livelihood starter kits for OBC women", "moa_ppa", "MSSD", "economic", "ongoing", 45,
     "4500000.00", -120, 300, [("allocation", "4500000.00", 0), ("obligation", "3200000.00", 20),
                               ("disbursement", "1750000.00", 60)]),
    ("MSSD-2026-002", "Social pension top-up for OBC senior citizens", "moa_ppa", "MSSD", "social", "ongoing", 20,
     "12000000.00", -200, 330, [("allocation", "12000000.00", 0), ("obligation", "6000000.00", 30),
                                ("disbursement", "2500000.00", 90)]),
    ("MBHTE-2026-004", "Madrasah teacher training in OBC communities", "moa_ppa", "MBHTE", "social", "planning", 0,
     "2750000.00", 30, 180, [("allocation", "2750000.00", -10)]),
    ("MBHTE-2026-007", "Classroom repairs for Bangsamoro learners outside BARMM", "moa_ppa", "MBHTE",
     "infrastructure", "on_hold", 35, "18500000.00", -150, 365,
     [("allocation", "18500000.00", 0), ("obligation", "9000000.00", 40), ("disbursement", "4000000.00", 100),
      ("adjustment", "-1500000.00", 120)]),
    ("MOH-2026-003", "Mobile health missions to OBC barangays", "moa_ppa", "MOH", "social", "ongoing", 70,
     "6800000.00", -180, 240, [("allocation", "6800000.00", 0), ("obligation", "6500000.00", 15),
                               ("disbursement", "5100000.00", 150)]),
    ("MOH-2025-011", "Rural health unit equipment", "moa_ppa", "MOH", "infrastructure", "completed", 100,
     "3900000.00", -420, 300, [("allocation", "3900000.00", 0), ("obligation", "3900000.00", 30),
                               ("disbursement", "3850000.00", 280)]),
    ("OOBC-2026-002", "Peace and cultural dialogue series", "oobc_ppa", None, "peace_security", "ongoing", 60,
     "1200000.00", -90, 200, [("allocation", "1200000.00", 0), ("obligation", "800000.00", 10),
                              ("disbursement", "520000.00", 45)]),
    ("OOBC-2026-005", "OBC needs assessment in Zamboanga Peninsula", "oobc_ppa", None, "governance", "planning", 10,
     "850000.00", 15, 120, []),
    ("MSSD-2027-003", "Day-care centres in OBC communities", "moa_ppa", "MSSD", "social", "planning", 0,
     "3200000.00", 60, 270, []),
    ("MOH-2027-001", "Nutrition support for OBC children", "moa_ppa", "MOH", "social", "planning", 0,
     "5400000.00", 45, 300, [("allocation", "5400000.00", -20)]),
    ("MBHTE-2027-002", "Scholarships for OBC college students", "moa_ppa", "MBHTE", "social", "planning", 0,
     "7600000.00", 90, 365, []),
]


# PPAs whose execution project the demo generates, so the work-item tree is there to explore (code → template).
DEMO_TRACKED = {"MSSD-2026-001": "program", "MBHTE-2026-004": "program", "OOBC-2026-005": "activity"}

# Where each PPA stands on its way to enactment: the demo walks it there through the workflow (so the
# transition log, review tasks and notifications are real). Work under way has been enacted.
ENACTED = [("submit", None), ("pass_technical_review", "mfbm"), ("send_to_executive_approval", "mfbm"),
           ("approve", "executive"), ("enact", "executive")]
DEMO_APPROVAL = {
    "MSSD-2026-001": ENACTED, "MSSD-2026-002": ENACTED, "MBHTE-2026-007": ENACTED, "MOH-2026-003": ENACTED,
    "MOH-2025-011": ENACTED, "OOBC-2026-002": ENACTED,
    "OOBC-2026-005": ENACTED[:1],  # waits for the MFBM analyst's technical review
    "MBHTE-2026-004": [*ENACTED[:2], ("send_to_consultation", "mfbm")],  # waits for the BPDA planner
    "MOH-2027-001": ENACTED[:3],  # waits for the executive's approval
    "MBHTE-2027-002": [*ENACTED[:2], ("reject", "mfbm")],  # back with its editors, with the reason
    "MSSD-2027-003": [],  # a draft
}
REJECTION = "The unit costs need quotations from at least two suppliers; please attach them and resubmit."
WELCOME = {
    "admin": "Welcome to the obcms demo. As administrator you run the Admin console (users, organizations, "
             "job runs) and read the Audit log.",
    "oobc_executive": "Welcome to the obcms demo. MOH-2027-001 waits for your approval; approved PPAs are yours "
                      "to enact.",
    "oobc_staff": "Welcome to the obcms demo. MBHTE-2027-002 came back rejected: read the reason on its Approval "
                  "tab. MSSD-2026-001 has work overdue and due soon on its Work Items tab.",
    "moa_staff": "Welcome to the obcms demo. MSSD-2027-003 is your draft: complete it and submit it for "
                 "technical review.",
    "mfbm_analyst": "Welcome to the obcms demo. OOBC-2026-005 waits for your technical review.",
    "bpda_planner": "Welcome to the obcms demo. MBHTE-2026-004 waits for your stakeholder consultation.",
    "viewer": "Welcome to the obcms demo. You may read every PPA, its work and its money; nothing can be changed "
              "from this account.",
}


def seed_demo_ppas(orgs):
    """A small living portfolio across MOAs and sectors, with money movements (only into an empty table)."""
    if db.session.scalar(sa.select(sa.func.count(Ppa.id))):
        return
    actor = db.session.scalar(sa.select(User).where(User.role == "oobc_staff").order_by(User.id))
    if actor is None:
        return
    today = date.today()
    for (code, title, category, moa, sector, status, progress, budget, start, length,
         tranches) in DEMO_PPAS:
        start_date = today + timedelta(days=start)
        ppa = create_ppa(actor, code=code, title=title, category=category, fiscal_year=start_date.year,
                         implementing_moa_id=orgs[moa].id if moa else None, lead_organization_id=orgs["OOBC"].id,
                         sector=sector, status=status, progress=progress, budget_ceiling=Decimal(budget),
                         budget_allocation=Decimal(budget), budget_obc_allocation=Decimal(budget) * 6 / 10,
                         appropriation_class="mooe", funding_source="gaab", start_date=start_date,
                         target_end_date=start_date + timedelta(days=length), priority="high" if progress < 30
                         else "medium", summary=f"{title}: a demonstration PPA.", supports_sdg=True,
                         outcome_framework=[{"title": "Better services reach OBC households",
                                             "outputs": ["Beneficiaries listed", "Services delivered"]}],
                         milestones=[{"date": (start_date + timedelta(days=length // 2)).isoformat(),
                                      "title": "Mid-term review", "status": "pending"}])
        on_tree = [(kind, Decimal(amount), start_date + timedelta(days=offset)) for kind, amount, offset in tranches
                   if code in DEMO_TRACKED and kind in LEDGER_KINDS]
        for kind, amount, offset in tranches:
            if code not in DEMO_TRACKED or kind not in LEDGER_KINDS:
                add_tranche(ppa, actor, kind=kind, amount=Decimal(amount),
                            tranche_date=start_date + timedelta(days=offset), source="SARO-BARMM-" + code)
        if code in DEMO_TRACKED:
            enable_tracking(ppa, actor, DEMO_TRACKED[code], "weighted")
            post_on_leaves(ppa, actor, on_tree, code)
        walk_approval(ppa, DEMO_APPROVAL.get(code, []))
    progress_work(db.session.scalar(sa.select(Ppa).where(Ppa.code == "MSSD-2026-001")), today)
    seed_demo_policies(actor)
    seed_demo_calendar(orgs, today)
    welcome_each_user()


# The policy register (obcms/reports): (reference, title, status, codes of the PPAs linked to it).
DEMO_POLICIES = [
    ("BAA-18", "Bangsamoro Education Code", "active", ["MBHTE-2026-004"]),
    ("BAA-13", "Bangsamoro Administrative Code", "active", ["MSSD-2026-001", "OOBC-2026-005"]),
    ("BDP-2023-2028", "Bangsamoro Development Plan 2023–2028", "active", []),
    ("EO-2019-01", "Interim social protection guidelines", "superseded", []),
]


def seed_demo_policies(actor):
    """A few register entries, some linked to demo PPAs (the BDP alignment score counts a link)."""
    ppas = {p.code: p for p in db.session.scalars(sa.select(Ppa))}
    for reference, title, status, codes in DEMO_POLICIES:
        policy = create_policy(actor, title=title, reference=reference, status=status)
        for code in codes:
            if code in ppas:
                link_policy(ppas[code], policy.id, actor)


def seed_demo_calendar(orgs, today):
    """A weekly management meeting, a workshop and a turnover on the calendar, two resources and a booking."""
    monday = today - timedelta(days=today.weekday())
    staff, moa = _user("staff"), _user("moa")
    if staff is None or moa is None:
        return
    calendar_services.create_event(
        staff, title="OOBC management meeting", kind="meeting", visibility="public", location="OOBC conference room",
        start_date=monday, start_time=time(9), end_date=monday, end_time=time(10), rule=Rule("weekly"),
        description="Weekly review of the portfolio: approvals waiting, work overdue, money movements.")
    workshop_day = monday + timedelta(days=9)
    calendar_services.create_event(
        staff, title="Peace and cultural dialogue workshop", kind="workshop", visibility="public",
        location="Cotabato City", start_date=workshop_day, start_time=time(8, 30), end_date=workshop_day,
        end_time=time(16, 30), organization_id=orgs["OOBC"].id)
    turnover = today + timedelta(days=4)
    calendar_services.create_event(
        moa, title="Starter kits turnover, Zamboanga", kind="site_visit", visibility="organization", all_day=True,
        start_date=turnover, end_date=turnover + timedelta(days=1), participant_ids=[moa.id])
    room = Resource(name="OOBC Conference Room A", kind="room", capacity=20, location="OOBC office, 2nd floor")
    vehicle = Resource(name="Service vehicle (pick-up)", kind="vehicle", capacity=5, needs_approval=True,
                       location="OOBC motor pool")
    db.session.add_all([room, vehicle])
    db.session.flush()
    start = datetime.combine(monday + timedelta(days=2), time(13), MANILA)
    db.session.add(Booking(resource_id=room.id, title="MSSD planning session", starts_at=start,
                           ends_at=start + timedelta(hours=3), status="approved", booked_by_id=moa.id,
                           organization_id=moa.organization_id))
    db.session.flush()


def _user(username):
    return db.session.scalar(sa.select(User).where(User.username == username))


def walk_approval(ppa, steps):
    """Fire the steps (transition, username; None: the PPA's own editor submits) as those users would."""
    submitter = _user("moa") if ppa.implementing_moa and ppa.implementing_moa.acronym == "MSSD" else _user("staff")
    for name, username in steps:
        fire(ppa, name, _user(username) if username else submitter,
             comment=REJECTION if name == "reject" else None)


LEDGER_KINDS = ("obligation", "disbursement")


def post_on_leaves(ppa, actor, movements, code):
    """A tracked PPA's obligations and disbursements go through the ledger (which writes their tranches): each
    spread over the tree's leaves in tree order, a leaf taking what its allocation (for an obligation) or what
    it has obligated (for a disbursement) still allows."""
    if not movements:
        return
    below = tree.descendants(db.session.get(WorkItem, ppa.execution_project_id))
    parents = {item.parent_id for item in below}
    leaves = [item for item in below if item.id not in parents]
    held = {leaf.id: {"allocation": leaf.allocated_budget, "obligation": Decimal("0"), "disbursement": Decimal("0")}
            for leaf in leaves}
    for number, (kind, amount, day) in enumerate(movements, 1):
        limit = "allocation" if kind == "obligation" else "obligation"
        for leaf in leaves:
            share = min(amount, held[leaf.id][limit] - held[leaf.id][kind])
            if share > 0:
                record_entry(leaf, actor, kind, share, day, f"{'ORS' if kind == 'obligation' else 'DV'}-{code}-{number:02d}",
                             "Demo supplier")
                held[leaf.id][kind] += share
                amount -= share
            if not amount:
                break


def progress_work(ppa, today):
    """Work under way in the PPA's tree: older tasks done, recent ones in progress (some overdue), the next
    fortnight's due soon."""
    if ppa is None or ppa.execution_project_id is None:
        return
    actor = _user("moa")
    root = db.session.get(WorkItem, ppa.execution_project_id)
    below = tree.descendants(root)
    parents = {i.parent_id for i in below}
    leaves = [i for i in below if i.id not in parents and i.due_date is not None]
    for item in sorted(leaves, key=lambda i: (i.due_date, i.id)):
        if item.due_date < today - timedelta(days=21):
            edit_work_item(item, actor, item.version, transition="complete")
        elif item.due_date < today + timedelta(days=14):
            edit_work_item(item, actor, item.version, transition="start",
                           progress=60 if item.due_date < today else 25)


def welcome_each_user():
    for user in db.session.scalars(sa.select(User).where(User.username.in_(list(DEMO_USERS)))):
        notify([user.id], "welcome", WELCOME[user.role], url=None)
