"""WorkItem: one node of the work-breakdown tree (project → sub_project → activity → … → subtask).

The tree is a nested set scoped per tree: every node carries `tree_id` (its root's id), `lft`/`rgt` (the
interval enclosing exactly its subtree), `depth` (root = 0) and `parent_id`. Only obcms/workitems/tree/ reads
or writes lft/rgt/depth/tree_id; everything else goes through its functions.

Design decisions (the database enforces what it can):

- `tree_id` is a plain integer, not a foreign key to the root. The root's id is unknown before its INSERT on
  SQLite (no sequences), cross-tree moves rewrite tree_id set-based (an FK would add a per-row check for no
  gain), and deleting a root already cascades through `parent_id`. `check_integrity()` verifies that tree_id
  equals the root's id on every node.
- (tree_id, lft) is indexed but NOT unique. A set-based shift (`SET lft = lft + 2 WHERE …`) passes through
  duplicate values mid-statement: SQLite checks UNIQUE per row and would refuse it, PostgreSQL only with
  DEFERRABLE constraints. Uniqueness is guaranteed instead by the tree lock (every write locks the root row)
  and proved by check_integrity() and the concurrency test. There is deliberately no (tree_id, rgt) index
  and no index on created_by_id: every shifted row is a non-HOT update that writes an entry into EVERY index
  of the table, so each index costs every tree write; (tree_id, lft) serves the shifts' `tree_id = ?` too.
- Per-row CHECKs that every row satisfies after each single statement: lft ≥ 1, lft < rgt, depth ≥ 0, a root
  (no parent) has depth 0 and only roots do.
- `ppa_id` and `organization_id` are kept on every node (copied from the root) so scoping needs no join.
  `ppa_id` is a plain indexed integer here; the PPA revision adds its foreign key.
"""
import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..audit.mixins import Audited
from ..db_types import Money, UTCDateTime, enum_column_type, utcnow
from ..extensions import db

WORK_TYPES = ("project", "sub_project", "activity", "sub_activity", "task", "subtask")
STATUSES = ("not_started", "in_progress", "at_risk", "blocked", "completed", "cancelled")
PRIORITIES = ("low", "medium", "high", "urgent", "critical")
ACTIVITY_CATEGORIES = ("coordination", "ppa", "office")

# Columns that only the tree package writes (the nested-set bookkeeping); not audited field by field.
TREE_COLUMNS = ("tree_id", "lft", "rgt", "depth")
# The ledger's roll-ups (own + descendants' financial entries), written only by obcms/budget/ledger.py.
LEDGER_COLUMNS = ("obligated", "disbursed")
# A nested-set bound: 64-bit, as the bounds keep wide gaps (obcms/workitems/tree/gaps.py); SQLite's INTEGER is.
BOUND = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

work_item_assignees = sa.Table(
    "work_item_assignees",
    db.metadata,
    sa.Column("work_item_id", sa.ForeignKey("work_items.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("user_id", sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class WorkItem(Audited, db.Model):
    __tablename__ = "work_items"
    __scope_column__ = "organization_id"
    # obligated/disbursed are the ledger's roll-ups: recorded by obcms/budget/ledger.py with the entry that moved
    # them (as facts), never on create (always 0 then).
    __audit_exclude__ = TREE_COLUMNS + LEDGER_COLUMNS
    # Facts that are no column: its place among its siblings (1 = first), recorded when it is reordered; the
    # names of its assignees, recorded when they change (services.assign_users); the ledger's roll-ups.
    __audit_facts__ = ("position", "assigned_to") + LEDGER_COLUMNS
    # Its status machine is registered on it by obcms/workitems/states.py.

    id: Mapped[int] = mapped_column(primary_key=True)
    # The nested set (the tree package only).
    tree_id: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("work_items.id", ondelete="CASCADE"), index=True)
    lft: Mapped[int] = mapped_column(BOUND, nullable=False)
    rgt: Mapped[int] = mapped_column(BOUND, nullable=False)
    depth: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)

    title: Mapped[str] = mapped_column(sa.String(500), nullable=False)
    description: Mapped[str | None] = mapped_column(sa.Text)
    work_type: Mapped[str] = mapped_column(enum_column_type(WORK_TYPES, "work_type"), nullable=False)
    status: Mapped[str] = mapped_column(enum_column_type(STATUSES, "work_item_status"), nullable=False,
                                        default="not_started", server_default="not_started")
    priority: Mapped[str] = mapped_column(enum_column_type(PRIORITIES, "work_item_priority"), nullable=False,
                                          default="medium", server_default="medium")
    activity_category: Mapped[str | None] = mapped_column(
        enum_column_type(ACTIVITY_CATEGORIES, "activity_category"))
    start_date: Mapped[object | None] = mapped_column(sa.Date)
    due_date: Mapped[object | None] = mapped_column(sa.Date)
    start_time: Mapped[object | None] = mapped_column(sa.Time)
    end_time: Mapped[object | None] = mapped_column(sa.Time)
    completed_at: Mapped[object | None] = mapped_column(UTCDateTime())
    progress: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0, server_default="0")
    auto_calculate_progress: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=True,
                                                          server_default=sa.true())
    allocated_budget: Mapped[object] = mapped_column(Money(), nullable=False, default=0, server_default="0")
    actual_expenditure: Mapped[object] = mapped_column(Money(), nullable=False, default=0, server_default="0")
    obligated: Mapped[object] = mapped_column(Money(), nullable=False, default=0, server_default="0")
    disbursed: Mapped[object] = mapped_column(Money(), nullable=False, default=0, server_default="0")
    budget_notes: Mapped[str | None] = mapped_column(sa.Text)
    estimated_hours: Mapped[object | None] = mapped_column(sa.Numeric(7, 2, asdecimal=True))
    calendar_visible: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=True,
                                                   server_default=sa.true())
    calendar_color: Mapped[str | None] = mapped_column(sa.String(20))
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    ppa_id: Mapped[int | None] = mapped_column(sa.Integer, index=True)
    organization_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("organizations.id", ondelete="RESTRICT"), index=True)
    version: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=1, server_default="1")
    created_at: Mapped[object] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    updated_at: Mapped[object] = mapped_column(UTCDateTime(), nullable=False, default=utcnow, onupdate=utcnow)

    # Read-only links: parent_id is written by the tree package only, so the relationship never writes it.
    parent = relationship("WorkItem", remote_side=[id], viewonly=True, lazy="select")
    assignees = relationship("User", secondary=work_item_assignees, lazy="select", passive_deletes=True,
                             order_by="User.id")
    created_by = relationship("User", foreign_keys=[created_by_id], lazy="select")
    organization = relationship("Organization", lazy="select")

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        sa.CheckConstraint("progress >= 0 AND progress <= 100", name="progress_range"),
        sa.CheckConstraint("allocated_budget >= 0", name="allocated_budget_non_negative"),
        sa.CheckConstraint("actual_expenditure >= 0", name="actual_expenditure_non_negative"),
        sa.CheckConstraint("disbursed >= 0 AND disbursed <= obligated", name="disbursed_within_obligated"),
        sa.CheckConstraint("estimated_hours IS NULL OR estimated_hours >= 0", name="estimated_hours_non_negative"),
        sa.CheckConstraint("due_date IS NULL OR start_date IS NULL OR due_date >= start_date",
                           name="due_not_before_start"),
        sa.CheckConstraint("activity_category IS NULL OR work_type = 'activity'",
                           name="activity_category_only_for_activities"),
        sa.CheckConstraint("lft >= 1", name="lft_positive"),
        sa.CheckConstraint("lft < rgt", name="lft_before_rgt"),
        sa.CheckConstraint("depth >= 0", name="depth_non_negative"),
        sa.CheckConstraint("(parent_id IS NULL AND depth = 0) OR (parent_id IS NOT NULL AND depth > 0)",
                           name="root_iff_depth_zero"),
        sa.Index("ix_work_items_tree_lft", "tree_id", "lft"),
        sa.Index("ix_work_items_calendar", "work_type", "due_date", "start_date",  # the calendar's windows
                 postgresql_include=["calendar_visible", "organization_id", "id", "title"]),
    )

    @property
    def is_root(self):
        return self.parent_id is None

    def __str__(self):
        return self.title

    def __repr__(self):
        return f"<WorkItem #{self.id} {self.work_type} {self.title!r}>"
