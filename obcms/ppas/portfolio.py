"""Portfolio queries: the filtered, sorted, paged PPA list and the dashboard figures, each in a fixed number
of queries whatever the portfolio size, always scoped to what the user may see.

PPAs at risk (dashboard): PPAs not completed or cancelled that are
- on hold, or
- overdue: the target end date has passed, or
- behind schedule: ongoing, and progress trails the time elapsed between start and target end by more
  than 25 points (the same margin as the underspending alert of DOMAIN.md), or
- under-obligated: ongoing with an obligation rate below 75 %.
(PPA statuses have no `at_risk`; the at-risk work-item status reaches a PPA as `ongoing`.)
"""
import functools
from collections import namedtuple
from dataclasses import dataclass, fields, replace
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import aliased, contains_eager, joinedload, load_only

from ..auth.models import ORGANIZATION_SCOPED_ROLES, Organization
from ..auth.permissions import scope
from ..database import is_sqlite
from ..db_types import Money
from ..extensions import db
from ..ids import parse_id
from ..pagination import paged, paginate
from ..search.matching import matches
from .funding import FUNDING_COLUMNS, UNDER_OBLIGATED_BELOW, funding_of, funding_totals_subquery, with_funding_totals
from .models import APPROVAL_STATES, CATEGORIES, SECTORS, STATUSES, Ppa

PER_PAGE = 25
BEHIND_SCHEDULE_POINTS = 25
AT_RISK_SHOWN = 10


@dataclass(frozen=True)
class PortfolioFilters:
    category: str = ""
    fy: str = ""
    sector: str = ""
    moa: str = ""
    status: str = ""
    approval: str = ""
    q: str = ""
    sort: str = "code"
    dir: str = "asc"
    page: str = "1"

    @classmethod
    def from_args(cls, args):
        """Read the filters from query arguments; unknown values are dropped, not errors."""
        values = {f.name: (args.get(f.name) or "").strip().replace("\x00", "") for f in fields(cls)}
        allowed = {"category": CATEGORIES, "sector": SECTORS, "status": STATUSES, "approval": APPROVAL_STATES}
        for name, options in allowed.items():
            if values[name] not in options:
                values[name] = ""
        for name in ("fy", "moa"):
            if parse_id(values[name]) is None:
                values[name] = ""
        values["q"] = values["q"][:100]
        if values["sort"] not in SORTS:
            values["sort"] = "code"
        if values["dir"] not in ("asc", "desc"):
            values["dir"] = "asc"
        return cls(**values)

    @property
    def active(self):
        """The filters that narrow the list (for "n filters active" and Clear)."""
        return {k: v for k, v in self.__dict__.items() if v and k not in ("sort", "dir", "page")}


SORTS = {
    "code": lambda moa, cols: sa.func.coalesce(Ppa.code, sa.literal_column("''")),  # as ix_ppas_code_order
    "title": lambda moa, cols: Ppa.title,
    "moa": lambda moa, cols: moa.acronym,
    "fy": lambda moa, cols: Ppa.fiscal_year,
    "sector": lambda moa, cols: Ppa.sector,
    "budget": lambda moa, cols: Ppa.budget_allocation,
    "utilization": lambda moa, cols: cols["utilization"],  # a FUNDING_SORTS key
    "progress": lambda moa, cols: Ppa.progress,
    "status": lambda moa, cols: Ppa.status,
    "approval": lambda moa, cols: Ppa.approval_status,
}
FUNDING_SORTS = {"utilization"}  # sorts that need every PPA's funding totals in the page query


def filtered(stmt, filters, user):
    """Apply scope and the list filters to a SELECT over Ppa."""
    stmt = scope(stmt, Ppa, user)
    if filters.category:
        stmt = stmt.where(Ppa.category == filters.category)
    if filters.fy:
        stmt = stmt.where(Ppa.fiscal_year == int(filters.fy))
    if filters.sector:
        stmt = stmt.where(Ppa.sector == filters.sector)
    if filters.moa:
        stmt = stmt.where(Ppa.implementing_moa_id == int(filters.moa))
    if filters.status:
        stmt = stmt.where(Ppa.status == filters.status)
    if filters.approval:
        stmt = stmt.where(Ppa.approval_status == filters.approval)
    if filters.q:
        stmt = stmt.where(matches(Ppa, filters.q))
    return stmt


PortfolioRow = namedtuple("PortfolioRow", ("Ppa",) + FUNDING_COLUMNS)
# What a row of the list shows (templates/ppas/index.html): loading the PPA's other forty-odd columns for 25
# rows cost more than the page's three queries together. Anything else a row touches raises (raiseload), so
# a template change that needs one more column fails its tests instead of querying once per row.
LISTED_COLUMNS = (Ppa.id, Ppa.version, Ppa.code, Ppa.title, Ppa.implementing_moa_id, Ppa.fiscal_year, Ppa.sector,
                  Ppa.budget_allocation, Ppa.progress, Ppa.status, Ppa.approval_status)


def portfolio_page(user, filters, per_page=PER_PAGE):
    """One page of the portfolio: rows with .Ppa (its implementing MOA loaded) and the funding columns.
    Three queries: the count, the page, and the funding of the page's PPAs only — aggregating every tranche
    of the portfolio for 25 rows was most of the page's time. Sorting by a funding figure needs them all:
    then the page query carries the totals itself (two queries)."""
    if filters.q:  # matching a text reads the data on SQLite (search.matching): built for this request only
        stmt, count = _page_statements(filters, user)
    else:
        stmt, count = _kept_page_statements(replace(filters, page="1"), Viewer.of(user), is_sqlite())
    page = paginate(stmt, filters.page, per_page=per_page, count_stmt=count, is_paged=True)
    if filters.sort not in FUNDING_SORTS:
        funding = funding_of([ppa.id for ppa in page.items])
        page = replace(page, items=[PortfolioRow(ppa, *(getattr(funding.get(ppa.id), c, None)
                                                         for c in FUNDING_COLUMNS)) for ppa in page.items])
    return page


@dataclass(frozen=True)
class Viewer:
    """What scope() reads of a user: the list's statements built for one serve every user with the same four."""
    role: str
    organization_id: int | None
    is_authenticated: bool
    is_active: bool

    @classmethod
    def of(cls, user):
        return cls(user.role, user.organization_id, bool(user.is_authenticated), bool(user.is_active))


@functools.lru_cache(maxsize=256)
def _kept_page_statements(filters, viewer, _sqlite):
    """_page_statements kept per filters and viewer (and backend): building and keying them cost a quarter
    of the list's time, and most requests ask for the same few lists."""
    return _page_statements(filters, viewer)


def _page_statements(filters, user):
    """(the page statement, paged(), and the count statement) of the filtered, sorted list."""
    moa = aliased(Organization)
    base = filtered(sa.select(Ppa), filters, user)
    stmt = base.outerjoin(moa, moa.id == Ppa.implementing_moa_id).options(
        load_only(*LISTED_COLUMNS, raiseload=True),
        contains_eager(Ppa.implementing_moa.of_type(moa)).load_only(moa.acronym, raiseload=True))
    if filters.sort in FUNDING_SORTS:
        stmt = with_funding_totals(stmt, funding_totals_subquery())
    columns = {c.name: c for c in stmt.selected_columns}
    key = SORTS[filters.sort](moa, columns)
    order = key.desc() if filters.dir == "desc" else key.asc()
    stmt = stmt.order_by(order.nulls_last(), Ppa.id)
    count = sa.select(sa.func.count()).select_from(base.with_only_columns(Ppa.id).subquery())
    return paged(stmt), count


def moa_options(user):
    """(id, acronym) of the MOAs the user may filter by: their own for MOA-scoped roles (no query)."""
    if user.role in ORGANIZATION_SCOPED_ROLES:
        org = user.organization
        return [(str(org.id), org.acronym)] if org is not None and org.kind == "moa" else []
    rows = db.session.execute(sa.select(Organization.id, Organization.acronym)
                              .where(Organization.kind == "moa").order_by(Organization.acronym))
    return [(str(i), a) for i, a in rows]


# Dashboard -----------------------------------------------------------------------------------------------

@dataclass
class Dashboard:
    by_approval: dict
    by_status: dict
    total: int
    by_sector: list  # [(label key, budget, obligations, disbursements)]
    by_moa: list
    at_risk: list    # rows: .Ppa, reasons flags, funding columns
    at_risk_total: int


def dashboard(user, filters):
    """The portfolio dashboard in four queries (counts, per sector, per MOA, at risk)."""
    counts = db.session.execute(
        filtered(sa.select(Ppa.approval_status, Ppa.status, sa.func.count(Ppa.id)), filters, user)
        .group_by(Ppa.approval_status, Ppa.status)).all()
    by_approval = dict.fromkeys(APPROVAL_STATES, 0)
    by_status = dict.fromkeys(STATUSES, 0)
    for approval, status, n in counts:
        by_approval[approval] += n
        by_status[status] += n
    return Dashboard(by_approval=by_approval, by_status=by_status, total=sum(by_status.values()),
                     by_sector=_money_by(Ppa.sector, filters, user),
                     by_moa=_money_by(Organization.acronym, filters, user, join_organization=True),
                     **_at_risk(filters, user))


def _money_by(group, filters, user, join_organization=False):
    """[(group value, budget allocation, obligations, disbursements)] summed per group, in one query."""
    totals = funding_totals_subquery()
    sums = [sa.type_coerce(sa.func.coalesce(sa.func.sum(column), 0), Money()).label(name) for name, column in
            (("budget", Ppa.budget_allocation), ("obligations", totals.c.obligations),
             ("disbursements", totals.c.disbursements))]
    stmt = filtered(sa.select(group, *sums), filters, user)
    if join_organization:
        stmt = stmt.outerjoin(Organization, Organization.id == Ppa.implementing_moa_id)
    stmt = stmt.outerjoin(totals, totals.c.ppa_id == Ppa.id).group_by(group).order_by(group)
    return [tuple(row) for row in db.session.execute(stmt)]


def _days(later, earlier):
    """Whole days from `earlier` to `later` (dates) in SQL, on either backend."""
    if is_sqlite():
        return sa.func.julianday(later) - sa.func.julianday(earlier)
    return later - earlier


def _at_risk(filters, user, today=None):
    today = today or date.today()
    today_sql = sa.literal(today, sa.Date)
    totals = funding_totals_subquery()
    base = with_funding_totals(filtered(sa.select(Ppa), filters, user), totals)
    rate = next(c for c in base.selected_columns if c.name == "obligation_rate")
    open_ = Ppa.status.in_(("planning", "ongoing", "on_hold"))
    on_hold = Ppa.status == "on_hold"
    overdue = sa.and_(Ppa.target_end_date.is_not(None), Ppa.target_end_date < today_sql)
    elapsed = (_days(today_sql, Ppa.start_date) * sa.literal_column("100.0")
               / sa.func.nullif(_days(Ppa.target_end_date, Ppa.start_date), 0))
    behind = sa.and_(Ppa.status == "ongoing", Ppa.start_date <= today_sql, Ppa.target_end_date > today_sql,
                     elapsed - Ppa.progress > BEHIND_SCHEDULE_POINTS)
    under = sa.and_(Ppa.status == "ongoing", rate < UNDER_OBLIGATED_BELOW)
    flags = [sa.case((c, sa.true()), else_=sa.false()).label(name)
             for name, c in (("on_hold", on_hold), ("overdue", overdue), ("behind", behind))]
    stmt = (base.add_columns(*flags, sa.func.count().over().label("total_at_risk"))
            .where(open_, sa.or_(on_hold, overdue, behind, under))
            .options(joinedload(Ppa.implementing_moa))
            .order_by(Ppa.target_end_date.is_(None), Ppa.target_end_date, Ppa.id)
            .limit(AT_RISK_SHOWN))
    rows = db.session.execute(stmt).all()
    return {"at_risk": rows, "at_risk_total": rows[0].total_at_risk if rows else 0}
