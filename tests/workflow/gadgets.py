"""Gadget: a small machine-managed, audited, versioned model that exists only in tests.

It lives in its own metadata (never in db.Model's, so migrations and autogenerate never see it); the
`gadget_tables` fixture creates its table once per run."""
import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from obcms.audit.mixins import Audited
from obcms.db_types import Money, UTCDateTime, utcnow
from obcms.extensions import NAMING_CONVENTION
from obcms.workflow import StateMachine, Transition

NOTIFIED = []


class GadgetBase(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


def same_organization(gadget, actor):
    if actor.role != "moa_staff" or actor.organization_id == gadget.organization_id:
        return True
    return "Only staff of the gadget's own organization."


def stamp_done(gadget, transition, actor):
    gadget.done_at = utcnow() if transition.target == "done" else None


def notify(gadget, transition, actor):
    NOTIFIED.append((gadget.id, transition.name, actor.username))


GADGET_MACHINE = StateMachine(
    field="status",
    states=("draft", "submitted", "approved", "rejected", "done"),
    permission="dashboard.view",
    entry_requirements={"submitted": ("name", "notes")},
    transitions=[
        Transition("submit", "draft", "submitted", roles=("oobc_staff", "moa_staff"), allow=same_organization,
                   submits=True),
        Transition("approve", "submitted", "approved", roles=("oobc_executive", "oobc_staff"),
                   not_by_submitter=True, requires=("amount",)),
        Transition("reject", "submitted", "rejected", roles=("oobc_executive", "oobc_staff"),
                   not_by_submitter=True, comment_required=True),
        Transition("resubmit", "rejected", "draft", roles=("oobc_staff", "moa_staff"), allow=same_organization),
        Transition("finish", "approved", "done", roles=("admin", "oobc_executive"), effects=[stamp_done],
                   after_commit=[notify]),
        Transition("reopen", "done", "approved", roles=("admin",), comment_required=True, effects=[stamp_done]),
    ])


class Gadget(Audited, GadgetBase):
    __tablename__ = "test_gadgets"
    __scope_column__ = "organization_id"
    __audit_personal__ = ("owner_phone",)
    __state_machine__ = GADGET_MACHINE

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str | None] = mapped_column(sa.String(200))
    notes: Mapped[str | None] = mapped_column(sa.Text)
    amount: Mapped[object | None] = mapped_column(Money())
    due: Mapped[object | None] = mapped_column(sa.Date)
    status: Mapped[str] = mapped_column(sa.String(40), nullable=False, default="draft")
    organization_id: Mapped[int | None] = mapped_column(sa.Integer)
    owner_phone: Mapped[str | None] = mapped_column(sa.String(40))
    api_token: Mapped[str | None] = mapped_column(sa.String(64))
    done_at: Mapped[object | None] = mapped_column(UTCDateTime())
    version: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=1)

    __mapper_args__ = {"version_id_col": version}

    def __str__(self):
        return f"Gadget {self.name}"
