import gzip
import json
from datetime import timedelta

import pytest
import sqlalchemy as sa

from jobs.schedule import SCHEDULE
from obcms.audit.context import acting_as
from obcms.audit.models import AuditEntry
from obcms.audit.recording import write_entries
from obcms.audit.retention import archive_audit_entries
from obcms.db_types import utcnow
from obcms.extensions import db
from obcms.jobqueue import JOBS

table = AuditEntry.__table__


def old_entry(days_ago, field="name", **values):
    return dict(at=utcnow() - timedelta(days=days_ago), actor_user_id=None, actor_label="admin", action="update",
                object_type="organization", object_id=1, object_version=2, field=field, old_value="a",
                new_value="b", request_id=None, ip=None, cause=None, **values)


def count(*where):
    return db.session.scalar(sa.select(sa.func.count(table.c.id)).where(*where))


def test_update_of_an_audit_row_is_refused_by_the_database():
    write_entries([old_entry(1)])
    entry_id = db.session.scalar(sa.select(sa.func.max(table.c.id)))
    with pytest.raises(sa.exc.DatabaseError, match="append-only"), db.session.begin_nested():
        db.session.execute(sa.update(table).where(table.c.id == entry_id).values(new_value="forged"))
    assert db.session.scalar(sa.select(table.c.new_value).where(table.c.id == entry_id)) == "b"


@pytest.mark.postgres
def test_delete_and_truncate_are_refused_on_postgresql():
    write_entries([old_entry(1)])
    before = count()
    with pytest.raises(sa.exc.DatabaseError, match="append-only"), db.session.begin_nested():
        db.session.execute(sa.delete(table))
    with pytest.raises(sa.exc.DatabaseError, match="append-only"), db.session.begin_nested():
        db.session.execute(sa.text("TRUNCATE audit_entries"))
    with pytest.raises(sa.exc.DatabaseError, match="append-only"), db.session.begin_nested():
        db.session.execute(sa.text("SET LOCAL obcms.audit_retention = 'on'"))
        db.session.execute(sa.update(table).values(new_value="forged"))  # the setting never allows UPDATE
    assert count() == before


def test_retention_archives_then_deletes_only_old_rows_and_audits_itself(tmp_path):
    write_entries([old_entry(800, "name"), old_entry(731, "acronym"), old_entry(10, "kind")])
    old_total = count(table.c.at < utcnow() - timedelta(days=730))
    with acting_as("job:archive_audit"):
        result = archive_audit_entries(directory=tmp_path)
        db.session.commit()
    assert result["archived"] == old_total >= 2
    assert count(table.c.at < utcnow() - timedelta(days=730)) == 0
    assert count(table.c.field == "kind", table.c.object_type == "organization", table.c.object_version == 2) >= 1
    [archive] = list(tmp_path.glob("*.jsonl.gz"))  # renamed from .partial once committed
    with gzip.open(archive, "rt", encoding="utf-8") as lines:
        rows = [json.loads(line) for line in lines]
    assert len(rows) == old_total and {"name", "acronym"} <= {r["field"] for r in rows}
    assert set(rows[0]) == set(table.c.keys())
    summary = db.session.execute(sa.select(table).where(table.c.object_type == "audit_entries")).mappings().one()
    assert (summary["action"], summary["field"], summary["actor_label"], summary["new_value"]) == (
        "delete", "archived", "job:archive_audit", archive.name)


def test_retention_with_nothing_old_does_nothing(tmp_path):
    assert archive_audit_entries(days=100000, directory=tmp_path)["archived"] == 0
    assert list(tmp_path.iterdir()) == []


def test_the_job_is_registered_and_scheduled():
    assert "archive_audit" in JOBS and "archive_audit" in {name for _, name in SCHEDULE}
