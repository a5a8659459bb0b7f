"""Demo data for a new installation: the organizations and one user per role."""
import sqlalchemy as sa

from .auth import services
from .auth.models import ROLES, Organization, User
from .extensions import db

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
    return created
