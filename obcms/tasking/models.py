"""Task templates, their ordered items, and the record of what was generated from them.

A TaskGeneration row is claimed (INSERT … ON CONFLICT DO NOTHING on its UNIQUE key: trigger kind, trigger id,
template) in the same transaction as the tasks it stands for, before any of them is written: a retried job, a
second submission or a second worker finds the key taken and writes nothing (on PostgreSQL the second insert
waits for the first transaction and then does nothing). `work_item_id` is the container the tasks were put in.
"""
import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..audit.mixins import Audited
from ..db_types import UTCDateTime, enum_column_type, utcnow
from ..extensions import db
from ..workitems.models import PRIORITIES

DOMAINS = ("general", "assessment", "coordination", "monitoring", "policy", "services")
ROLES = ("lead", "contributor", "reviewer", "approver", "monitor")
TRIGGER_KINDS = ("ppa", "assessment", "event")


class TaskTemplate(Audited, db.Model):
    __tablename__ = "task_templates"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(80), nullable=False, unique=True)
    domain: Mapped[str] = mapped_column(enum_column_type(DOMAINS, "task_template_domain"), nullable=False,
                                        default="general", server_default="general")
    description: Mapped[str] = mapped_column(sa.Text, nullable=False, default="", server_default="")
    active: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=True, server_default=sa.true())
    created_at: Mapped[object] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    updated_at: Mapped[object] = mapped_column(UTCDateTime(), nullable=False, default=utcnow, onupdate=utcnow)

    items = relationship("TaskTemplateItem", back_populates="template", order_by="TaskTemplateItem.position",
                         cascade="all, delete-orphan", passive_deletes=True)

    __table_args__ = (sa.CheckConstraint("name <> ''", name="name_not_empty"),)

    def __str__(self):
        return self.name


class TaskTemplateItem(Audited, db.Model):
    """One task of a template: its title (with {placeholders}), priority, estimated hours, role and the days
    from the trigger's date to its due date. `position` orders the items (1 = first)."""

    __tablename__ = "task_template_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    template_id: Mapped[int] = mapped_column(sa.ForeignKey("task_templates.id", ondelete="CASCADE"), nullable=False)
    position: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    title: Mapped[str] = mapped_column(sa.String(500), nullable=False)
    description: Mapped[str] = mapped_column(sa.Text, nullable=False, default="", server_default="")
    priority: Mapped[str] = mapped_column(enum_column_type(PRIORITIES, "task_template_priority"), nullable=False,
                                          default="medium", server_default="medium")
    estimated_hours: Mapped[object | None] = mapped_column(sa.Numeric(7, 2, asdecimal=True))
    role: Mapped[str] = mapped_column(enum_column_type(ROLES, "task_template_role"), nullable=False,
                                      default="lead", server_default="lead")
    due_offset_days: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0, server_default="0")

    template = relationship("TaskTemplate", back_populates="items")

    __table_args__ = (
        sa.CheckConstraint("title <> ''", name="title_not_empty"),
        sa.CheckConstraint("position >= 1", name="position_positive"),
        sa.CheckConstraint("estimated_hours IS NULL OR estimated_hours >= 0", name="estimated_hours_non_negative"),
        sa.CheckConstraint("due_offset_days >= 0", name="due_offset_non_negative"),
        sa.UniqueConstraint("template_id", "position", name="one_item_per_position"),
    )

    def __str__(self):
        return self.title


class TaskGeneration(db.Model):
    """What one trigger generated from one template (never twice: the UNIQUE key)."""

    __tablename__ = "task_generations"

    id: Mapped[int] = mapped_column(primary_key=True)
    trigger_kind: Mapped[str] = mapped_column(enum_column_type(TRIGGER_KINDS, "task_trigger_kind"), nullable=False)
    trigger_id: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    template_id: Mapped[int] = mapped_column(sa.ForeignKey("task_templates.id", ondelete="CASCADE"), nullable=False,
                                             index=True)
    work_item_id: Mapped[int | None] = mapped_column(sa.ForeignKey("work_items.id", ondelete="SET NULL"), index=True)
    created_at: Mapped[object] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)

    __table_args__ = (sa.UniqueConstraint("trigger_kind", "trigger_id", "template_id", name="once_per_trigger"),)
