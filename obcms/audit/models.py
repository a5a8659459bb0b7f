"""AuditEntry: one row per changed field of an audited object. Append-only (see APPEND_ONLY_TRIGGERS)."""
import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..db_types import UTCDateTime, enum_column_type, utcnow
from ..extensions import db

AUDIT_ACTIONS = ("create", "update", "delete")


class AuditEntry(db.Model):
    __tablename__ = "audit_entries"

    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True)
    at: Mapped[object] = mapped_column(UTCDateTime(), nullable=False, default=utcnow, index=True)
    actor_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"), index=True)
    actor_label: Mapped[str] = mapped_column(sa.String(120), nullable=False)
    action: Mapped[str] = mapped_column(enum_column_type(AUDIT_ACTIONS, "audit_action"), nullable=False)
    object_type: Mapped[str] = mapped_column(sa.String(80), nullable=False)
    # Null only for entries about a collection (the retention summary).
    object_id: Mapped[int | None] = mapped_column(sa.BigInteger)
    # The object's version after the change: what optimistic locking compares with "the version you saw".
    object_version: Mapped[int | None] = mapped_column(sa.Integer)
    field: Mapped[str | None] = mapped_column(sa.String(80))
    old_value: Mapped[str | None] = mapped_column(sa.Text)
    new_value: Mapped[str | None] = mapped_column(sa.Text)
    request_id: Mapped[str | None] = mapped_column(sa.String(64))
    ip: Mapped[str | None] = mapped_column(sa.String(64))
    cause: Mapped[str | None] = mapped_column(sa.String(500))

    __table_args__ = (
        sa.Index("ix_audit_entries_object", "object_type", "object_id", "id"),
    )

    def __repr__(self):
        return f"<AuditEntry {self.action} {self.object_type}#{self.object_id}.{self.field}>"


# PostgreSQL refuses UPDATE, DELETE and TRUNCATE on the audit table, except DELETE inside a transaction that ran
# `SET LOCAL obcms.audit_retention = 'on'` (only obcms/audit/retention.py does). SQLite refuses UPDATE.
# The migration b1_audit_workflow carries a copy of this SQL (migrations never import app code).
PG_TRIGGER_FUNCTION = """
CREATE OR REPLACE FUNCTION audit_entries_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' AND current_setting('obcms.audit_retention', true) = 'on' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit_entries is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END
$$ LANGUAGE plpgsql
"""
PG_TRIGGERS = (
    "CREATE TRIGGER audit_entries_append_only BEFORE UPDATE OR DELETE ON audit_entries "
    "FOR EACH ROW EXECUTE FUNCTION audit_entries_append_only()",
    "CREATE TRIGGER audit_entries_no_truncate BEFORE TRUNCATE ON audit_entries "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_entries_append_only()",
)
SQLITE_TRIGGER = ("CREATE TRIGGER audit_entries_no_update BEFORE UPDATE ON audit_entries "
                  "BEGIN SELECT RAISE(ABORT, 'audit_entries is append-only: UPDATE refused'); END")


@sa.event.listens_for(AuditEntry.__table__, "after_create")
def _create_append_only_triggers(table, connection, **kw):
    """create_all() (tests) gets the same protection as the migration."""
    if connection.dialect.name == "postgresql":
        connection.execute(sa.text(PG_TRIGGER_FUNCTION))
        for statement in PG_TRIGGERS:
            connection.execute(sa.text(statement))
    elif connection.dialect.name == "sqlite":
        connection.execute(sa.text(SQLITE_TRIGGER))
