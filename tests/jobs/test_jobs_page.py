"""The Jobs page (admins): each job's schedule and latest runs with counts and duration, failures with their
per-item errors linked to the objects, "Run now" (enqueued; the job's rows poll themselves until it is done),
plain HTML and htmx; a constant number of queries."""
from datetime import timedelta

import sqlalchemy as sa

from obcms.db_types import utcnow
from obcms.extensions import db
from obcms.jobqueue import JobRun

HTMX = {"HX-Request": "true"}


def add_run(name, status="succeeded", counts=None, error=None, minutes=0):
    start = utcnow() - timedelta(minutes=minutes)
    run = JobRun(name=name, status=status, counts=counts or {}, error=error, started_at=start,
                 finished_at=None if status in ("queued", "running") else start + timedelta(milliseconds=1500))
    db.session.add(run)
    db.session.flush()
    return run


def test_only_admins_open_the_jobs_page(client_as):
    for username in ("oobc_executive", "oobc_staff", "mfbm_analyst", "moa_staff", "viewer"):
        client = client_as(username)
        assert client.get("/jobs").status_code == 403
        assert client.get("/jobs/ping").status_code == 403
        assert 'href="/jobs"' not in client.get("/").get_data(as_text=True)
    assert 'href="/jobs"' in client_as("admin").get("/").get_data(as_text=True)


def test_schedules_runs_counts_durations_and_failures_linked_to_their_objects(client_as):
    add_run("detect_budget_variances", counts={"opened": 3, "resolved": 1})
    add_run("sync_ppa_progress", counts={"ppas_checked": 2, "errors": 1, "failures": {"41": "ValueError: bad tree"}})
    add_run("cleanup_orphans", counts={"dry_run": True, "orphans": 1, "failures": {"77": "Conflict: moved"},
                                       "report": [{"id": 77}]})
    add_run("send_task_reminders", status="failed", error="OperationalError: the database went away")
    db.session.commit()
    body = client_as("admin").get("/jobs").get_data(as_text=True)
    for name, cron in (("detect_budget_variances", "0 */6 * * *"), ("send_task_reminders", "30 7 * * *"),
                       ("cleanup_orphans", "0 3 * * 0"), ("sync_ppa_progress", "0 2 * * *")):
        assert f'id="job-{name}"' in body and f"<code>{cron}</code>" in body
    assert "opened 3, resolved 1" in body and "1500 ms" in body
    assert '<a href="/ppas/41">PPA #41</a>: ValueError: bad tree' in body
    assert '<a href="/work-items/77">Work item #77</a>: Conflict: moved' in body
    assert "OperationalError: the database went away" in body
    assert "on demand" in body  # ping has no schedule


def test_run_now_enqueues_and_answers_the_jobs_rows(client_as, csrf_token):
    client = client_as("admin")
    response = client.post("/jobs/ping/run", headers=HTMX, data={"csrf_token": csrf_token(client)})
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert body.lstrip().startswith('<tbody id="job-ping"') and "succeeded" in body and "pinged 1" in body
    assert "every 1s" not in body  # done (inline): no more polling
    run = db.session.scalars(sa.select(JobRun).where(JobRun.name == "ping")).one()
    assert run.requested_by_label == "admin"
    response = client.post("/jobs/ping/run", data={"csrf_token": csrf_token(client)})
    assert response.status_code == 303 and response.headers["Location"].endswith("/jobs")
    assert client.post("/jobs/no_such_job/run", data={"csrf_token": csrf_token(client)}).status_code == 404


def test_an_unfinished_run_polls_itself(client_as):
    add_run("send_task_reminders", status="running")
    db.session.commit()
    body = client_as("admin").get("/jobs/send_task_reminders", headers=HTMX).get_data(as_text=True)
    assert 'hx-get="/jobs/send_task_reminders" hx-trigger="every 1s"' in body
    assert "disabled" in body


def test_the_page_runs_a_constant_number_of_queries(client_as, count_queries):
    client = client_as("admin")
    client.get("/jobs")
    with count_queries() as few:
        client.get("/jobs")
    for n in range(30):
        add_run(("ping", "sync_ppa_progress", "archive_audit")[n % 3], counts={"n": n})
    db.session.commit()
    with count_queries() as many:
        body = client.get("/jobs").get_data(as_text=True)
    assert few.count == many.count <= 3  # sign-in, user, the runs
    assert body.count("<li><span class=\"chip") == 5 * 3
