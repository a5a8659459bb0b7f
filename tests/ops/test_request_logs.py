"""Structured logs: one JSON line per request (request id, user, method, path, status, ms, statements) with the
id sent back as X-Request-ID; one per job run, carrying the id of the request that enqueued it, as do the
audit rows the job writes."""
import json
import logging

import sqlalchemy as sa

from obcms.audit.context import acting_as, carrying_request_id
from obcms.audit.models import AuditEntry
from obcms.auth.models import Organization
from obcms.extensions import db
from obcms.jobqueue.models import JobRun
from obcms.jobqueue.runner import enqueue


def _lines(caplog, logger):
    return [json.loads(r.getMessage()) for r in caplog.records if r.name == logger]


def test_a_request_writes_one_json_line_and_sends_its_id_back(client_as, caplog):
    client = client_as("oobc_staff")
    with caplog.at_level(logging.INFO, logger="obcms.requests"):
        response = client.get("/ppas?sector=social", headers={"X-Request-ID": "req-4242"})
    assert response.headers["X-Request-ID"] == "req-4242"
    (line,) = [entry for entry in _lines(caplog, "obcms.requests") if entry["path"] == "/ppas"]
    assert line["event"] == "request" and line["request_id"] == "req-4242" and line["user"] == "oobc_staff"
    assert line["method"] == "GET" and line["status"] == 200 and line["queries"] >= 2 and line["ms"] > 0
    assert line["at"].endswith("Z")


def test_an_anonymous_or_refused_request_is_logged_too_with_a_new_id(client, caplog):
    with caplog.at_level(logging.INFO, logger="obcms.requests"):
        response = client.get("/ppas", headers={"X-Request-ID": "not a token; drop table"})
    assert response.status_code in (302, 401) and len(response.headers["X-Request-ID"]) == 16
    (line,) = _lines(caplog, "obcms.requests")
    assert line["user"] is None and line["status"] == response.status_code
    assert line["request_id"] == response.headers["X-Request-ID"]


def test_a_job_carries_the_id_of_the_request_that_enqueued_it(app, caplog):
    with caplog.at_level(logging.INFO, logger="obcms.jobs"), \
            app.test_request_context(headers={"X-Request-ID": "req-77"}):
        run_id = enqueue("ping", message="carried").id
        db.session.commit()  # inline: the run starts after the commit
    assert db.session.get(JobRun, run_id).request_id == "req-77"
    (line,) = [entry for entry in _lines(caplog, "obcms.jobs") if entry["run_id"] == run_id]
    assert line == {**line, "event": "job", "request_id": "req-77", "name": "ping", "status": "succeeded",
                    "attempt": 1}


def test_audit_rows_written_by_a_job_carry_its_request_id(app):
    with app.app_context(), acting_as("job:test"), carrying_request_id("req-99"):
        organization = Organization(acronym="LOGT", name="Log test office", kind="moa")
        db.session.add(organization)
        db.session.commit()
        ids = db.session.scalars(sa.select(AuditEntry.request_id).where(
            AuditEntry.object_type == "organization", AuditEntry.object_id == organization.id)).all()
    assert ids and set(ids) == {"req-99"}
