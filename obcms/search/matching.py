"""Search as a filter: the pickers and list filters (the PPA list's "Search", the move target picker) match
rows as global search does — typo-tolerant, word order free — instead of a LIKE of their own.

    stmt = stmt.where(matches(Ppa, "livelyhood starter"))

PostgreSQL: every query word word-similar (pg_trgm `<%`) to the row's normalized text, the expression the GIN
index holds (obcms/search/index.py): a condition in the same statement. SQLite: the FTS5 trigram candidates
(best bm25 first) that rapidfuzz keeps (every word found), read here in one statement, as `id IN (…)`. A query
without a word of two characters or more (or, on SQLite, of three) falls back to a substring match.
"""
import sqlalchemy as sa

from ..extensions import db
from . import text
from .index import NORMALIZE_FUNCTION, SEARCHED, fts_table

CANDIDATES = 1000  # SQLite: FTS5 candidates re-ranked per filter


def matches(model, query):
    """A WHERE condition on `model` (a searched table): its rows matching `query`."""
    columns = [getattr(model, name) for name in SEARCHED[model.__tablename__]]
    words = text.query_words(query)
    if db.session.get_bind().dialect.name == "postgresql":
        if not words:
            return _substring(columns, query)
        document = getattr(sa.func, NORMALIZE_FUNCTION)(*columns)
        return sa.and_(*(sa.literal(word, sa.Text).op("<%")(document) for word in words))
    grams = text.trigrams(words)
    if not grams:
        return _substring(columns, query)
    fts = sa.table(fts_table(model.__tablename__), sa.column("rowid"), sa.column("rank"))
    found = db.session.execute(
        sa.select(model.id, *columns).join(fts, fts.c.rowid == model.id)
        .where(sa.literal_column(fts.name).op("MATCH")(" OR ".join(f'"{gram}"' for gram in grams)))
        .order_by(fts.c.rank).limit(CANDIDATES)).all()
    ids = [row[0] for row in found
           if text.score(words, " ".join(str(value) for value in row[1:] if value)) is not None]
    return model.id.in_(ids)


def _substring(columns, query):
    query = (query or "").strip()
    return sa.or_(*(column.icontains(query, autoescape=True) for column in columns)) if query else sa.true()
