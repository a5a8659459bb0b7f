"""Maintenance mode: one database row every web process and worker reads, switched by `flask obcms maintenance`.

    state = maintenance_state()        # Maintenance(on=…, message=…, retry_after=…): cached in this process
    switch_maintenance(True, "Upgrading to 0.2", 600, by="cli:maintenance (root)")   # audited; caller commits

The row lives in the database (not a flag file) so that every gunicorn worker on every host sees the same
switch. Reading it costs a statement at most once per MAINTENANCE_CACHE_SECONDS (2 s) per process: most
requests read the copy kept on the app. A database that has not been migrated yet (new code, old schema during
a release) has no table: maintenance is then off.
"""
import time
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Mapped, mapped_column

from ..audit.mixins import Audited
from ..db_types import UTCDateTime, utcnow
from ..extensions import db

DEFAULT_MESSAGE = "obcms is being updated. Please try again in a few minutes."
DEFAULT_RETRY_AFTER = 300  # seconds
MAX_RETRY_AFTER = 24 * 60 * 60
MESSAGE_LENGTH = 500
_CACHE_KEY = "obcms.maintenance"


class MaintenanceState(Audited, db.Model):
    """The one row (id 1) saying whether obcms is in maintenance; every switch is audited."""

    __tablename__ = "maintenance_state"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    enabled: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
    message: Mapped[str | None] = mapped_column(sa.String(MESSAGE_LENGTH))
    retry_after: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=DEFAULT_RETRY_AFTER)
    changed_by: Mapped[str] = mapped_column(sa.String(120), nullable=False, default="system")
    changed_at: Mapped[object] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)

    __table_args__ = (
        sa.CheckConstraint("id = 1", name="single_row"),
        sa.CheckConstraint(f"retry_after >= 0 AND retry_after <= {MAX_RETRY_AFTER}", name="retry_after_range"),
    )


@dataclass(frozen=True)
class Maintenance:
    on: bool
    message: str = DEFAULT_MESSAGE
    retry_after: int = DEFAULT_RETRY_AFTER
    changed_by: str | None = None
    changed_at: object = None


OFF = Maintenance(on=False)


def _is_missing_table(error):
    text = str(getattr(error, "orig", error)).lower()
    return getattr(getattr(error, "orig", None), "sqlstate", None) == "42P01" or "no such table" in text


def read_maintenance():
    """The state as the database has it now (one statement)."""
    try:
        row = db.session.execute(sa.select(MaintenanceState.enabled, MaintenanceState.message,
                                           MaintenanceState.retry_after, MaintenanceState.changed_by,
                                           MaintenanceState.changed_at)
                                 .where(MaintenanceState.id == 1)).first()
    except (sa.exc.ProgrammingError, sa.exc.OperationalError) as error:
        if not _is_missing_table(error):
            raise
        db.session.rollback()
        return OFF
    if row is None or not row.enabled:
        return OFF
    return Maintenance(on=True, message=row.message or DEFAULT_MESSAGE, retry_after=row.retry_after,
                       changed_by=row.changed_by, changed_at=row.changed_at)


def maintenance_state(app=None):
    """The state, read at most once per MAINTENANCE_CACHE_SECONDS in this process (kept on the app)."""
    app = app or current_app._get_current_object()
    cached = app.extensions.get(_CACHE_KEY)
    now = time.monotonic()
    if cached is not None and cached[0] > now:
        return cached[1]
    state = read_maintenance()
    app.extensions[_CACHE_KEY] = (now + app.config.get("MAINTENANCE_CACHE_SECONDS", 2), state)
    return state


def forget_maintenance_state(app=None):
    """Read the row again on the next maintenance_state() (after a switch in this process, and in tests)."""
    (app or current_app._get_current_object()).extensions.pop(_CACHE_KEY, None)


def remember_maintenance_state(state, app=None):
    """Keep `state` as this process's copy without reading the database (tests start each test with OFF)."""
    app = app or current_app._get_current_object()
    app.extensions[_CACHE_KEY] = (time.monotonic() + app.config.get("MAINTENANCE_CACHE_SECONDS", 2), state)


def switch_maintenance(on, message=None, retry_after=None, by="system"):
    """Turn maintenance on (with a message and a Retry-After in seconds) or off. The change is audited (the
    row is Audited; `by` is kept on it, the audit actor comes from acting_as). The caller commits. Returns the
    new state."""
    message = (message or "").strip() or None
    if message and len(message) > MESSAGE_LENGTH:
        raise ValueError(f"the message is longer than {MESSAGE_LENGTH} characters")
    if retry_after is not None and not 0 <= retry_after <= MAX_RETRY_AFTER:
        raise ValueError(f"retry-after must be between 0 and {MAX_RETRY_AFTER} seconds")
    row = db.session.get(MaintenanceState, 1, with_for_update=True)
    if row is None:
        row = MaintenanceState(id=1, enabled=False, retry_after=DEFAULT_RETRY_AFTER)
        db.session.add(row)
    row.enabled = bool(on)
    if on:
        row.message = message
        row.retry_after = DEFAULT_RETRY_AFTER if retry_after is None else retry_after
    row.changed_by, row.changed_at = by[:120], utcnow()
    db.session.flush()
    forget_maintenance_state()
    return read_maintenance()
