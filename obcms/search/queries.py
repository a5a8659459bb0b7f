"""Global search: one statement over every kind the user may see, scoped in SQL.

    hits = live_search(user, "livelyhood")                    {kind: [Hit, …]} (5 per kind at most)
    page = full_search(user, "pension senior", filters, 2)    a Page of Hit (obcms/pagination.py)

PostgreSQL: candidates are the rows where every query word is word-similar (pg_trgm `<%`, GIN index) to the
row's normalized text; they are ranked by mean word similarity + full-text rank ('simple', unaccented) of the
exact words + an exact code (a bounded set of them: PG_CANDIDATES, FULL_CANDIDATES). SQLite: candidates
come from the FTS5 trigram index (any trigram of the query, best bm25 first) and are re-ranked with rapidfuzz
(obcms/search/text.py), which also drops those missing a query word. Private calendar events are left out of
search: results are shared by users of the same scope.
"""
import functools
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from ..auth.models import ROLE_LABELS, Organization, User
from ..auth.permissions import READ_ALL, can, scope
from ..calendar.models import CalendarEvent
from ..calendar.queries import visible_events
from ..extensions import db
from ..pagination import Page, page_number
from ..ppas.models import STATUSES as PPA_STATUSES
from ..ppas.models import Ppa
from ..workitems.models import STATUSES as WORK_STATUSES
from ..workitems.models import WorkItem
from . import text
from .index import NORMALIZE_FUNCTION, SEARCHED, fts_table

KINDS = {"ppa": "PPAs", "workitem": "Work items", "task": "Tasks", "event": "Calendar events",
         "organization": "Organizations", "person": "People"}
KIND_TABLES = {"ppa": "ppas", "workitem": "work_items", "task": "work_items", "event": "calendar_events",
               "organization": "organizations", "person": "users"}
KIND_PERMISSIONS = {"ppa": "ppa.read", "workitem": "workitem.read", "task": "workitem.read",
                    "event": "calendar.read", "organization": "dashboard.view", "person": "admin.console"}
STATUSES = tuple(dict.fromkeys(PPA_STATUSES + WORK_STATUSES))
TASK_TYPES = ("task", "subtask")
WITH_STATUS_AND_YEAR = ("ppa", "workitem", "task")

LIVE_PER_KIND = 5
LIVE_CANDIDATES = 30  # SQLite: FTS5 candidates per kind re-ranked for the live list
FULL_CANDIDATES = 400  # candidates per kind for the results page (both backends)
# PostgreSQL: the live list ranks at most this many trigram matches per kind. Candidates come in the index's
# order, plus the rows whose code is the query: ranking costs some microseconds a row, and a word of a common
# title matches thousands of rows.
PG_CANDIDATES = 200
PER_PAGE = 25


@dataclass(frozen=True)
class Filters:
    kind: str | None = None
    organization_id: int | None = None
    fiscal_year: int | None = None
    status: str | None = None

    @property
    def active(self):
        return {key: value for key, value in (("kind", self.kind), ("organization", self.organization_id),
                                               ("fy", self.fiscal_year), ("status", self.status)) if value}


@dataclass(frozen=True)
class Hit:
    kind: str
    id: int
    title: str
    code: str | None
    status: str | None
    organization: str | None
    context: str | None
    fiscal_year: int | None
    at: datetime | None
    score: float

    @property
    def context_label(self):
        if self.kind == "person":
            return ROLE_LABELS.get(self.context, self.context)
        return self.context


def kinds_for(user):
    return [kind for kind, permission in KIND_PERMISSIONS.items() if can(user, permission)]


def scope_key(user):
    """Users with the same key see the same results: the kinds they may search and the rows of them."""
    rows = "all" if user.role in READ_ALL else f"org{user.organization_id}"
    return f"{'.'.join(kinds_for(user))}:{rows}"


# ------------------------------------------------------------------------------------------------- the parts
def _typed_null(column):
    return sa.cast(sa.null(), column.type)  # a bare NULL in a UNION part would be text on PostgreSQL


def _columns(kind, id_, title, code, status, organization_id, organization, context, fiscal_year, at, body):
    return [sa.literal(kind, sa.String(20)).label("kind"), id_.label("id"), title.label("title"),
            code.label("code"), sa.type_coerce(status, sa.String).label("status"),
            organization_id.label("organization_id"), organization.label("organization"),
            sa.type_coerce(context, sa.String).label("context"), fiscal_year.label("fiscal_year"),
            at.label("at"), body.label("body")]


@functools.cache
def _aliases():
    """The organization, parent and PPA joined to a searched row: built once (an alias memoizes its adapted
    columns; new ones per search cost milliseconds), when first used (building them at import would configure
    the mappers early)."""
    return aliased(Organization, name="org"), aliased(WorkItem, name="parent"), aliased(Ppa, name="item_ppa")


def _part(kind, user, typed=True):
    """(SELECT of the kind's columns, FROM, scoped WHERE, the searched table, its filter columns and its own
    code column if it has one: a work item shows its PPA's). Work items and tasks are two kinds of one table:
    typed=False leaves out the work types that tell them apart."""
    org, parent, ppa = _aliases()
    if kind == "ppa":
        columns = _columns(kind, Ppa.id, Ppa.title, Ppa.code, Ppa.status, Ppa.implementing_moa_id, org.acronym,
                           _typed_null(Ppa.code), Ppa.fiscal_year, _typed_null(CalendarEvent.starts_at), Ppa.summary)
        stmt = scope(sa.select(*columns).select_from(Ppa).outerjoin(org, org.id == Ppa.implementing_moa_id),
                     Ppa, user)
        return stmt, Ppa, dict(organization=Ppa.implementing_moa_id, year=Ppa.fiscal_year, status=Ppa.status,
                               code=Ppa.code)
    if kind in ("workitem", "task"):
        columns = _columns(kind, WorkItem.id, WorkItem.title, ppa.code, WorkItem.status, WorkItem.organization_id,
                           org.acronym, parent.title, ppa.fiscal_year, _typed_null(CalendarEvent.starts_at),
                           WorkItem.description)
        types = WorkItem.work_type.in_(TASK_TYPES)
        stmt = (sa.select(*columns).select_from(WorkItem).outerjoin(org, org.id == WorkItem.organization_id)
                .outerjoin(parent, parent.id == WorkItem.parent_id).outerjoin(ppa, ppa.id == WorkItem.ppa_id))
        if typed:
            stmt = stmt.where(types if kind == "task" else sa.not_(types))
        return (scope(stmt, WorkItem, user), WorkItem,
                dict(organization=WorkItem.organization_id, year=ppa.fiscal_year, status=WorkItem.status))
    if kind == "event":
        columns = _columns(kind, CalendarEvent.id, CalendarEvent.title, _typed_null(Ppa.code),
                           _typed_null(Ppa.status), CalendarEvent.organization_id, org.acronym,
                           CalendarEvent.location, _typed_null(Ppa.fiscal_year), CalendarEvent.starts_at,
                           CalendarEvent.description)
        stmt = (sa.select(*columns).select_from(CalendarEvent)
                .outerjoin(org, org.id == CalendarEvent.organization_id)
                .where(CalendarEvent.visibility != "private", CalendarEvent.series_id.is_(None)))
        return visible_events(stmt, user), CalendarEvent, dict(organization=CalendarEvent.organization_id)
    if kind == "organization":
        columns = _columns(kind, Organization.id, Organization.name, Organization.acronym, _typed_null(Ppa.status),
                           Organization.id, Organization.acronym, Organization.kind, _typed_null(Ppa.fiscal_year),
                           _typed_null(CalendarEvent.starts_at), _typed_null(Ppa.summary))
        stmt = sa.select(*columns).select_from(Organization)
        if user.role != "admin":
            stmt = stmt.where(Organization.is_active.is_(True))
        return stmt, Organization, dict(organization=Organization.id, code=Organization.acronym)
    if kind == "person":  # admins only (KIND_PERMISSIONS)
        columns = _columns(kind, User.id, sa.func.coalesce(sa.func.nullif(User.full_name, ""), User.username),
                           User.username, _typed_null(Ppa.status), User.organization_id, org.acronym, User.role,
                           _typed_null(Ppa.fiscal_year), _typed_null(CalendarEvent.starts_at), User.email)
        stmt = sa.select(*columns).select_from(User).outerjoin(org, org.id == User.organization_id)
        return stmt, User, dict(organization=User.organization_id, code=User.username)
    raise ValueError(kind)


def _filtered(stmt, kind, columns, filters):
    if filters.organization_id is not None:
        stmt = stmt.where(columns["organization"] == filters.organization_id)
    if filters.fiscal_year is not None:
        stmt = stmt.where(columns["year"] == filters.fiscal_year)
    if filters.status is not None:
        stmt = stmt.where(columns["status"] == filters.status)
    return stmt


def _kinds(user, filters):
    kinds = kinds_for(user)
    if filters.kind:
        kinds = [kind for kind in kinds if kind == filters.kind]
    if filters.fiscal_year is not None or filters.status is not None:
        kinds = [kind for kind in kinds if kind in WITH_STATUS_AND_YEAR]
    if filters.status is not None:  # PPAs and work items have statuses of their own
        kinds = [kind for kind in kinds if filters.status in (PPA_STATUSES if kind == "ppa" else WORK_STATUSES)]
    return kinds


# ------------------------------------------------------------------------------------------------- PostgreSQL
def _postgresql_parts(user, query, words, filters, limit):
    tsquery = " | ".join(words)
    kinds = _kinds(user, filters)
    pools = {}  # the candidates: table → a CTE of ids, shared by the kinds of one table
    parts = []
    code = text.normalize(query.strip())  # a PPA code, an acronym, a username asked for as it is
    for kind in kinds:
        stmt, model, columns = _part(kind, user)
        document = getattr(sa.func, NORMALIZE_FUNCTION)(*(getattr(model, c) for c in SEARCHED[model.__tablename__]))
        similarity = sum(sa.func.word_similarity(sa.literal(word, sa.Text), document) for word in words) / len(words)
        ranking = similarity + sa.func.ts_rank(sa.func.to_tsvector("simple", document),
                                               sa.func.to_tsquery("simple", sa.literal(tsquery, sa.Text)))
        is_code = sa.func.lower(stmt.selected_columns.code) == code
        similar = [sa.literal(word, sa.Text).op("<%")(document) for word in words]
        # a bounded set is ranked: the first matches the index gives, and the rows with the code asked for
        if model not in pools:
            untyped = _filtered(_part(kind, user, typed=False)[0], kind, columns, filters)
            share = sum(KIND_TABLES[other] == KIND_TABLES[kind] for other in kinds)
            pool = [untyped.with_only_columns(model.id).where(*similar)
                    .limit((PG_CANDIDATES if limit else FULL_CANDIDATES) * share)]
            if "code" in columns:
                pool.append(untyped.with_only_columns(model.id).where(sa.func.lower(columns["code"]) == code))
            pools[model] = sa.union(*pool).cte(f"{model.__tablename__}_candidates")
        matching = _filtered(stmt, kind, columns, filters).where(model.id.in_(sa.select(pools[model].c.id)))
        matching = matching.add_columns((ranking + sa.case((is_code, 10.0), else_=0.0)).label("score"))
        if limit:
            matching = matching.order_by(sa.desc("score"), matching.selected_columns.id).limit(limit)
        parts.append(matching)
    return parts


def _hit(row, score):
    return Hit(row.kind, row.id, row.title, row.code, row.status, row.organization, row.context, row.fiscal_year,
               row.at, float(score))


# ------------------------------------------------------------------------------------------------- SQLite
def _sqlite_parts(user, words, filters, limit):
    match = " OR ".join(f'"{gram}"' for gram in text.trigrams(words))
    if not match:
        return []
    parts = []
    for kind in _kinds(user, filters):
        stmt, model, columns = _part(kind, user)
        fts = sa.table(fts_table(model.__tablename__), sa.column("rowid"), sa.column("rank"))
        stmt = (_filtered(stmt, kind, columns, filters).join(fts, fts.c.rowid == model.id)
                .where(sa.literal_column(fts.name).op("MATCH")(match)).order_by(fts.c.rank).limit(limit))
        parts.append(stmt)
    return parts


def _reranked(rows, words, query):
    hits = []
    for row in rows:
        value = text.score(words, row.title, " ".join(p for p in (row.context, row.body) if p), row.code, query)
        if value is not None:
            hits.append(_hit(row, value))
    hits.sort(key=lambda hit: (-hit.score, hit.kind, hit.id))
    return hits


def _union(parts):
    if len(parts) == 1:
        return parts[0]
    return sa.union_all(*(sa.select(part.subquery()) for part in parts))


# ------------------------------------------------------------------------------------------------- searches
def live_search(user, query):
    """The best few hits of each kind: {kind: [Hit, …]} in KINDS order, kinds without hits left out. One
    statement."""
    words = text.query_words(query)
    if not words:
        return {}
    postgresql = db.session.get_bind().dialect.name == "postgresql"
    parts = (_postgresql_parts(user, query, words, Filters(), LIVE_PER_KIND) if postgresql
             else _sqlite_parts(user, words, Filters(), LIVE_CANDIDATES))
    if not parts:
        return {}
    rows = db.session.execute(_union(parts)).all()
    hits = [_hit(row, row.score) for row in rows] if postgresql else _reranked(rows, words, query)
    if postgresql:
        hits.sort(key=lambda hit: (-hit.score, hit.kind, hit.id))
    grouped = {}
    for hit in hits:
        if len(grouped.setdefault(hit.kind, [])) < LIVE_PER_KIND:
            grouped[hit.kind].append(hit)
    return {kind: grouped[kind] for kind in KINDS if grouped.get(kind)}


def full_search(user, query, filters, page, per_page=PER_PAGE):
    """One page of every hit, best first. PostgreSQL: one query, the page with the number of hits beside each
    row (a page past the end counts, then asks for the last page); SQLite: one query, re-ranked."""
    words = text.query_words(query)
    number = page_number(page)
    if not words:
        return Page(items=[], page=1, per_page=per_page, total=0)
    if db.session.get_bind().dialect.name == "postgresql":
        parts = _postgresql_parts(user, query, words, filters, None)
        if not parts:
            return Page(items=[], page=1, per_page=per_page, total=0)
        union = _union(parts).subquery()
        ranked = (sa.select(union, sa.func.count().over().label("hits"))
                  .order_by(union.c.score.desc(), union.c.kind, union.c.id).limit(per_page))
        rows = db.session.execute(ranked.offset((number - 1) * per_page)).all()
        if not rows and number > 1:  # past the end: the last page
            total = db.session.scalar(sa.select(sa.func.count()).select_from(union))
            number = max(1, -(-total // per_page))
            rows = db.session.execute(ranked.offset((number - 1) * per_page)).all()
        return Page(items=[_hit(row, row.score) for row in rows], page=number, per_page=per_page,
                    total=rows[0].hits if rows else 0)
    parts = _sqlite_parts(user, words, filters, FULL_CANDIDATES)
    hits = _reranked(db.session.execute(_union(parts)).all(), words, query) if parts else []
    number = min(number, max(1, -(-len(hits) // per_page)))
    return Page(items=hits[(number - 1) * per_page:number * per_page], page=number, per_page=per_page,
                total=len(hits))


def organization_choices(user):
    """The organizations the filter offers: all for the global roles, the user's own for the others."""
    stmt = sa.select(Organization.id, Organization.acronym).order_by(Organization.acronym)
    if user.role not in READ_ALL:
        stmt = stmt.where(Organization.id == user.organization_id)
    return [(row.id, row.acronym) for row in db.session.execute(stmt)]
