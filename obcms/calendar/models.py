"""Calendar events (one-off and recurring), resources and their bookings, and subscribable feeds
(DOMAIN.md "Calendar").

Times are stored in UTC and shown in Asia/Manila. An all-day event starts at a Manila midnight and ends at
the Manila midnight after its last day (end exclusive). A recurring event keeps its RFC 5545 rule (`rrule`,
obcms/calendar/recurrence.py) and its exception dates; `last_ends_at` is the end of its last occurrence (NULL
for a series without end), so a window query never expands what cannot reach the window. An occurrence edited
on its own is an override: an event of its own whose `series_id` names the series and whose `recurrence_id`
is the start the occurrence had in the series (that start is among the series' exdates).

Scoping: an event is seen by everyone when public, by its organization (and the global roles) when
"organization", by its organizer and participants when private (queries.visible_events). A booking is scoped
by the organization of the person who booked. Two pending-or-approved bookings of one resource never overlap:
on PostgreSQL an exclusion constraint says so (created by the migration and by `after_create` below); on
SQLite the database write lock serializes bookings and the service checks inside it.
"""
import uuid

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..audit.mixins import Audited
from ..db_types import UTCDateTime, enum_column_type, utcnow
from ..extensions import db

EVENT_KINDS = ("meeting", "workshop", "conference", "training", "site_visit", "deadline", "other")
VISIBILITIES = ("public", "organization", "private")
RESOURCE_KINDS = ("room", "vehicle", "equipment", "facilitator")
BOOKING_STATUSES = ("pending", "approved", "rejected", "cancelled")
HOLDING = ("pending", "approved")  # the statuses that hold a resource's time

event_participants = sa.Table(
    "calendar_event_participants", db.metadata,
    sa.Column("event_id", sa.ForeignKey("calendar_events.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("user_id", sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True),
)

resource_approvers = sa.Table(
    "calendar_resource_approvers", db.metadata,
    sa.Column("resource_id", sa.ForeignKey("calendar_resources.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("user_id", sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True),
)


def new_uid():
    """A stable, unguessable iCalendar UID."""
    return f"{uuid.uuid4().hex}@obcms"


class CalendarEvent(Audited, db.Model):
    __tablename__ = "calendar_events"
    __scope_column__ = "organization_id"

    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = mapped_column(sa.String(80), nullable=False, unique=True, default=new_uid)
    title: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    description: Mapped[str] = mapped_column(sa.Text, nullable=False, default="", server_default="")
    location: Mapped[str] = mapped_column(sa.String(200), nullable=False, default="", server_default="")
    kind: Mapped[str] = mapped_column(enum_column_type(EVENT_KINDS, "calendar_event_kind"), nullable=False,
                                      default="meeting", server_default="meeting")
    all_day: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False, server_default=sa.false())
    starts_at: Mapped[object] = mapped_column(UTCDateTime(), nullable=False)
    ends_at: Mapped[object] = mapped_column(UTCDateTime(), nullable=False)
    rrule: Mapped[str | None] = mapped_column(sa.String(500))
    exdates: Mapped[list] = mapped_column(sa.JSON, nullable=False, default=list)  # ISO starts skipped
    last_ends_at: Mapped[object | None] = mapped_column(UTCDateTime(), index=True)
    series_id: Mapped[int | None] = mapped_column(sa.ForeignKey("calendar_events.id", ondelete="CASCADE"),
                                                  index=True)
    recurrence_id: Mapped[object | None] = mapped_column(UTCDateTime())
    organizer_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"), index=True)
    organization_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organizations.id", ondelete="SET NULL"),
                                                        index=True)
    visibility: Mapped[str] = mapped_column(enum_column_type(VISIBILITIES, "calendar_visibility"), nullable=False,
                                            default="organization", server_default="organization")
    version: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=1, server_default="1")
    created_at: Mapped[object] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    updated_at: Mapped[object] = mapped_column(UTCDateTime(), nullable=False, default=utcnow, onupdate=utcnow)

    organizer = relationship("User", foreign_keys=[organizer_id])
    organization = relationship("Organization")
    participants = relationship("User", secondary=event_participants, order_by="User.id")

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        sa.CheckConstraint("title <> ''", name="title_not_empty"),
        sa.CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        sa.CheckConstraint("(series_id IS NULL) = (recurrence_id IS NULL)", name="override_names_its_occurrence"),
        sa.CheckConstraint("rrule IS NULL OR series_id IS NULL", name="override_does_not_recur"),
        sa.UniqueConstraint("series_id", "recurrence_id", name="one_override_per_occurrence"),
        sa.Index("ix_calendar_events_window", "starts_at", "last_ends_at"),
    )

    @property
    def is_recurring(self):
        return self.rrule is not None

    def __repr__(self):
        return f"<CalendarEvent #{self.id} {self.title!r}>"


class Resource(Audited, db.Model):
    """A room, vehicle, piece of equipment or facilitator that can be booked (managed in the admin console)."""

    __tablename__ = "calendar_resources"
    __scope_column__ = "organization_id"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(120), nullable=False, unique=True)
    kind: Mapped[str] = mapped_column(enum_column_type(RESOURCE_KINDS, "calendar_resource_kind"), nullable=False)
    capacity: Mapped[int | None] = mapped_column(sa.Integer)
    location: Mapped[str] = mapped_column(sa.String(200), nullable=False, default="", server_default="")
    description: Mapped[str] = mapped_column(sa.Text, nullable=False, default="", server_default="")
    available: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=True, server_default=sa.true())
    needs_approval: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False,
                                                 server_default=sa.false())
    organization_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organizations.id", ondelete="SET NULL"),
                                                        index=True)
    version: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=1, server_default="1")
    created_at: Mapped[object] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    updated_at: Mapped[object] = mapped_column(UTCDateTime(), nullable=False, default=utcnow, onupdate=utcnow)

    organization = relationship("Organization")
    approvers = relationship("User", secondary=resource_approvers, order_by="User.id")

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        sa.CheckConstraint("name <> ''", name="name_not_empty"),
        sa.CheckConstraint("capacity IS NULL OR capacity > 0", name="capacity_positive"),
    )

    def __str__(self):
        return self.name


class Booking(Audited, db.Model):
    __tablename__ = "calendar_bookings"
    __scope_column__ = "organization_id"

    id: Mapped[int] = mapped_column(primary_key=True)
    resource_id: Mapped[int] = mapped_column(sa.ForeignKey("calendar_resources.id", ondelete="CASCADE"),
                                             nullable=False)
    event_id: Mapped[int | None] = mapped_column(sa.ForeignKey("calendar_events.id", ondelete="SET NULL"),
                                                 index=True)
    title: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    starts_at: Mapped[object] = mapped_column(UTCDateTime(), nullable=False)
    ends_at: Mapped[object] = mapped_column(UTCDateTime(), nullable=False)
    status: Mapped[str] = mapped_column(enum_column_type(BOOKING_STATUSES, "calendar_booking_status"),
                                        nullable=False, default="pending", server_default="pending")
    booked_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"), index=True)
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    decided_at: Mapped[object | None] = mapped_column(UTCDateTime())
    decision_comment: Mapped[str] = mapped_column(sa.Text, nullable=False, default="", server_default="")
    organization_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organizations.id", ondelete="SET NULL"),
                                                        index=True)
    version: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=1, server_default="1")
    created_at: Mapped[object] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    updated_at: Mapped[object] = mapped_column(UTCDateTime(), nullable=False, default=utcnow, onupdate=utcnow)

    resource = relationship("Resource")
    event = relationship("CalendarEvent")
    booked_by = relationship("User", foreign_keys=[booked_by_id])
    decided_by = relationship("User", foreign_keys=[decided_by_id])

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        sa.CheckConstraint("title <> ''", name="title_not_empty"),
        sa.CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        sa.Index("ix_calendar_bookings_resource_window", "resource_id", "starts_at", "ends_at"),
    )

    def __str__(self):
        return f"the booking “{self.title}”"


# The database's own guarantee against double booking (PostgreSQL; btree_gist gives `=` on an integer in a
# GiST index). Named like the migration's, which creates the same on upgrade.
NO_OVERLAP = "calendar_bookings_no_overlap"
NO_OVERLAP_DDL = (f"ALTER TABLE calendar_bookings ADD CONSTRAINT {NO_OVERLAP} EXCLUDE USING gist "
                  "(resource_id WITH =, tstzrange(starts_at, ends_at) WITH &&) "
                  "WHERE (status IN ('pending', 'approved'))")
sa.event.listen(Booking.__table__, "after_create",
                sa.DDL("CREATE EXTENSION IF NOT EXISTS btree_gist").execute_if(dialect="postgresql"))
sa.event.listen(Booking.__table__, "after_create", sa.DDL(NO_OVERLAP_DDL).execute_if(dialect="postgresql"))


class CalendarFeed(db.Model):
    """A personal, secret ICS subscription URL for one filter of the calendar. Only the token's hash is kept;
    revoked feeds answer 404."""

    __tablename__ = "calendar_feeds"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True)
    name: Mapped[str] = mapped_column(sa.String(100), nullable=False)
    token_hash: Mapped[str] = mapped_column(sa.String(64), nullable=False, unique=True)
    filters: Mapped[dict] = mapped_column(sa.JSON, nullable=False, default=dict)
    created_at: Mapped[object] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    last_used_at: Mapped[object | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[object | None] = mapped_column(UTCDateTime())

    user = relationship("User")

    __table_args__ = (sa.CheckConstraint("name <> ''", name="name_not_empty"),)
