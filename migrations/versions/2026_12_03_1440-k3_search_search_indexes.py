"""search: trigram indexes (PostgreSQL) or FTS5 tables with their triggers (SQLite) over the searched text

Revision ID: k3_search
Revises: k1_reports
Create Date: 2026-12-03 14:00:00

obcms/search/index.py describes the same objects (and creates them for databases built with create_all). On
PostgreSQL: the pg_trgm and unaccent extensions (trusted, created if missing and left in place on downgrade),
an IMMUTABLE obcms_search_text(VARIADIC text[]) (lower-case, accents removed) and one GIN trigram index per
searched table over it. On SQLite: one external-content FTS5 table (trigram tokenizer) per searched table,
filled once here, kept current by AFTER INSERT / DELETE / UPDATE OF <searched columns> triggers.
A later batch migration that rebuilds one of these tables drops its triggers: it must create them again.
"""
from alembic import op

revision = 'k3_search'
down_revision = 'k1_reports'
branch_labels = None
depends_on = None

SEARCHED = {
    "ppas": ("code", "title", "summary"),
    "work_items": ("title", "description"),
    "calendar_events": ("title", "location", "description"),
    "organizations": ("acronym", "name"),
    "users": ("full_name", "username", "email"),
}


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute("CREATE EXTENSION IF NOT EXISTS unaccent")
        op.execute("CREATE OR REPLACE FUNCTION obcms_search_text(VARIADIC parts text[]) RETURNS text "
                   "LANGUAGE sql IMMUTABLE PARALLEL SAFE AS "
                   "$$ SELECT lower(public.unaccent('public.unaccent'::regdictionary, array_to_string(parts, ' '))) $$")
        for table, columns in SEARCHED.items():
            op.execute(f"CREATE INDEX search_{table}_trgm ON {table} "
                       f"USING gin (obcms_search_text({', '.join(columns)}) gin_trgm_ops)")
        return
    for table, columns in SEARCHED.items():
        fts, names = f"search_{table}", ", ".join(columns)
        new = ", ".join(f"new.{c}" for c in columns)
        old = ", ".join(f"old.{c}" for c in columns)
        op.execute(f"CREATE VIRTUAL TABLE {fts} USING fts5({names}, content='{table}', content_rowid='id', "
                   "tokenize='trigram')")
        op.execute(f"CREATE TRIGGER {fts}_ai AFTER INSERT ON {table} BEGIN "
                   f"INSERT INTO {fts}(rowid, {names}) VALUES (new.id, {new}); END")
        op.execute(f"CREATE TRIGGER {fts}_ad AFTER DELETE ON {table} BEGIN "
                   f"INSERT INTO {fts}({fts}, rowid, {names}) VALUES ('delete', old.id, {old}); END")
        op.execute(f"CREATE TRIGGER {fts}_au AFTER UPDATE OF {names} ON {table} BEGIN "
                   f"INSERT INTO {fts}({fts}, rowid, {names}) VALUES ('delete', old.id, {old}); "
                   f"INSERT INTO {fts}(rowid, {names}) VALUES (new.id, {new}); END")
        op.execute(f"INSERT INTO {fts}({fts}) VALUES ('rebuild')")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for table in SEARCHED:
            op.execute(f"DROP INDEX IF EXISTS search_{table}_trgm")
        op.execute("DROP FUNCTION IF EXISTS obcms_search_text(VARIADIC text[])")
        return
    for table in SEARCHED:
        for when in ("ai", "ad", "au"):
            op.execute(f"DROP TRIGGER IF EXISTS search_{table}_{when}")
        op.execute(f"DROP TABLE IF EXISTS search_{table}")
