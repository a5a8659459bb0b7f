"""The search indexes, which live beside the models rather than in them: on PostgreSQL GIN trigram indexes over
one normalized text per searched table (lower-case, accents removed: `obcms_search_text(...)`), on SQLite an
FTS5 table per searched table (external content, trigram tokenizer) kept current by triggers.

Migration k3_search creates them for real databases; `install` creates the same for a database built with
`create_all()` (tests). Alembic leaves them alone (`alembic_include_name`): they are not part of the models.
"""
import sqlalchemy as sa

from ..extensions import db

PREFIX = "search_"

# table → the columns searched, the most telling first (the first is shown as the result's title or code).
SEARCHED = {
    "ppas": ("code", "title", "summary"),
    "work_items": ("title", "description"),
    "calendar_events": ("title", "location", "description"),
    "organizations": ("acronym", "name"),
    "users": ("full_name", "username", "email"),
}

NORMALIZE_FUNCTION = "obcms_search_text"


def fts_table(table):
    return f"{PREFIX}{table}"


def postgresql_statements():
    statements = [
        "CREATE EXTENSION IF NOT EXISTS pg_trgm",
        "CREATE EXTENSION IF NOT EXISTS unaccent",
        # unaccent() is only STABLE (it reads its dictionary); with the dictionary named it is safe to index.
        f"CREATE OR REPLACE FUNCTION {NORMALIZE_FUNCTION}(VARIADIC parts text[]) RETURNS text "
        "LANGUAGE sql IMMUTABLE PARALLEL SAFE COST 1000 AS "  # the planner then prefers the trigram index
        "$$ SELECT lower(public.unaccent('public.unaccent'::regdictionary, array_to_string(parts, ' '))) $$",
    ]
    for table, columns in SEARCHED.items():
        statements.append(f"CREATE INDEX IF NOT EXISTS {PREFIX}{table}_trgm ON {table} "
                          f"USING gin ({NORMALIZE_FUNCTION}({', '.join(columns)}) gin_trgm_ops)")
    return statements


def sqlite_statements():
    statements = []
    for table, columns in SEARCHED.items():
        fts, names = fts_table(table), ", ".join(columns)
        new = ", ".join(f"new.{c}" for c in columns)
        old = ", ".join(f"old.{c}" for c in columns)
        statements += [
            f"CREATE VIRTUAL TABLE IF NOT EXISTS {fts} USING fts5({names}, content='{table}', content_rowid='id', "
            "tokenize='trigram')",
            f"CREATE TRIGGER IF NOT EXISTS {fts}_ai AFTER INSERT ON {table} BEGIN "  # noqa: S608 (names from SEARCHED)
            f"INSERT INTO {fts}(rowid, {names}) VALUES (new.id, {new}); END",
            f"CREATE TRIGGER IF NOT EXISTS {fts}_ad AFTER DELETE ON {table} BEGIN "  # noqa: S608 (names from SEARCHED)
            f"INSERT INTO {fts}({fts}, rowid, {names}) VALUES ('delete', old.id, {old}); END",
            f"CREATE TRIGGER IF NOT EXISTS {fts}_au AFTER UPDATE OF {names} ON {table} BEGIN "  # noqa: S608 (names from SEARCHED)
            f"INSERT INTO {fts}({fts}, rowid, {names}) VALUES ('delete', old.id, {old}); "
            f"INSERT INTO {fts}(rowid, {names}) VALUES (new.id, {new}); END",
            f"INSERT INTO {fts}({fts}) VALUES ('rebuild')",  # noqa: S608 (names from SEARCHED)
        ]
    return statements


def statements_for(dialect_name):
    return postgresql_statements() if dialect_name == "postgresql" else sqlite_statements()


def install(connection):
    """Create the search indexes on a database whose tables exist (create_all, tests)."""
    for statement in statements_for(connection.dialect.name):
        connection.exec_driver_sql(statement)


def alembic_include_name(name, type_, parent_names):
    """Alembic's autogenerate compares the models with the database: the search objects are neither."""
    return not (type_ in ("table", "index") and (name or "").startswith(PREFIX))


@sa.event.listens_for(db.metadata, "after_create")
def _install_after_create_all(target, connection, **kw):
    install(connection)
