"""Benchmark of fire() and the audit listener on a bench-only machine-managed model.

    python -m bench.workflow [--n 100]

SQLite in a temporary file by default; PostgreSQL when DATABASE_URL is set (use a dedicated database: the
bench table is created when missing and emptied first). Prints ONE JSON object:
- fire_each_committed: n transitions, each in its own transaction (a request each): lock, re-read, checks,
  status change, transition log, audit row, commit;
- fire_one_transaction: n transitions in one transaction (the shape of a bulk transition);
- audit_flush: n objects loaded in one query, changed on 3 fields, one flush (n UPDATEs + ONE audit INSERT
  of 3n rows).
Each with total_ms, per_item_ms and the SQL statements run (transaction control not counted).
"""
import argparse
import json
import os
import platform
import sys
import tempfile
import time

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from obcms.audit.mixins import Audited
from obcms.extensions import NAMING_CONVENTION
from obcms.workflow import StateMachine, Transition

TX_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")


class BenchBase(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


class BenchTicket(Audited, BenchBase):
    __tablename__ = "bench_tickets"
    __state_machine__ = StateMachine(field="status", states=("open", "doing", "done"), transitions=[
        Transition("start", "open", "doing", roles=("admin",)),
        Transition("finish", "doing", "done", roles=("admin",), requires=("title",)),
    ])

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    notes: Mapped[str | None] = mapped_column(sa.Text)
    points: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    status: Mapped[str] = mapped_column(sa.String(40), nullable=False, default="open")
    version: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=1)
    __mapper_args__ = {"version_id_col": version}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=100)
    args = parser.parse_args()
    from config import Config
    from obcms import create_app
    from obcms.auth import services
    from obcms.auth.models import User
    from obcms.extensions import db
    from obcms.workflow import fire

    url = os.environ.get("DATABASE_URL")
    if not url:
        url = f"sqlite:///{tempfile.mkdtemp(prefix='obcms_bench_')}/bench.sqlite3"
    elif url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    app = create_app(Config, SQLALCHEMY_DATABASE_URI=url, TESTING=True)
    statements = []
    with app.app_context():
        db.create_all()
        BenchBase.metadata.create_all(db.engine)
        db.session.execute(sa.delete(BenchTicket))
        db.session.commit()
        event.listen(db.engine, "before_cursor_execute",
                     lambda c, cur, statement, *a: statements.append(statement)
                     if not statement.lstrip().upper().startswith(TX_CONTROL) else None)
        actor = db.session.scalar(sa.select(User).where(User.username == "bench_admin")) or \
            services.create_user("bench_admin", "bench_admin@example.gov.ph", "bench-password-2026", "admin")
        db.session.commit()

        def measure(step):
            statements.clear()
            start = time.perf_counter()
            step()
            total = (time.perf_counter() - start) * 1000
            return {"total_ms": round(total, 1), "per_item_ms": round(total / args.n, 3),
                    "statements": len(statements), "n": args.n}

        tickets = [BenchTicket(title=f"Ticket {i}") for i in range(2 * args.n)]
        db.session.add_all(tickets)
        db.session.commit()
        first, second = tickets[:args.n], tickets[args.n:]

        def each_committed():
            for ticket in first:
                fire(ticket, "start", actor)
                db.session.commit()

        def one_transaction():
            for ticket in second:
                fire(ticket, "start", actor)
            db.session.commit()

        def audit_flush():
            ids = [sa.inspect(t).identity[0] for t in first]  # no load: they expired at commit
            loaded = db.session.scalars(sa.select(BenchTicket).where(BenchTicket.id.in_(ids))).all()
            for i, ticket in enumerate(loaded):
                ticket.title, ticket.notes, ticket.points = f"Renamed {i}", "bench notes", i + 1
            db.session.flush()
            db.session.commit()

        result = {"fire_each_committed": measure(each_committed), "fire_one_transaction": measure(one_transaction),
                  "audit_flush": measure(audit_flush)}
    result["meta"] = {"backend": sa.make_url(url).get_backend_name(), "python": platform.python_version(),
                      "n": args.n}
    json.dump(result, sys.stdout)
    print()


if __name__ == "__main__":
    main()
