"""My tasks' tests: clients whose posts carry their CSRF token, and tasks made through the work-item service.

    client = signed_in("moa_staff");  client.post("/tasks/5/start", data={"version": 1})
    item = task(due=date.today(), title="Book the venue", assignee="moa_staff", estimated_hours=4)
"""
from datetime import UTC, datetime

import pytest
import time_machine

from obcms.extensions import db
from obcms.workflow import fire
from obcms.workitems import services as workitems


@pytest.fixture(autouse=True)
def same_day_here_and_in_manila():
    """My tasks' day is the configured zone's (Asia/Manila, UTC+8); the tests write dates with date.today(), the
    machine's (UTC). From 16:00 to 24:00 UTC the two are a day apart, so keep the clock, ticking, at 04:00 UTC of
    today: noon in Manila, the same date in both."""
    noon_in_manila = datetime.now(UTC).replace(hour=4, minute=0, second=0, microsecond=0)
    with time_machine.travel(noon_in_manila, tick=True):
        yield


@pytest.fixture
def signed_in(client_as, csrf_token):
    """signed_in("moa_staff") → a client whose posts carry its CSRF token."""
    def make(username):
        client = client_as(username)
        token = csrf_token(client)
        plain_post = client.post
        client.post = lambda url, data=None, **kw: plain_post(url, data={"csrf_token": token, **(data or {})}, **kw)
        return client

    return make


@pytest.fixture
def task(users, organizations):
    """task(due, title, status=None (a transition to fire), work_type, assignee (a username or a tuple of them),
    parent, organization (an acronym), **fields) → a committed task created by oobc_staff."""
    def make(due, title=None, status=None, work_type="task", assignee="moa_staff", parent=None, organization="MSSD",
             **fields):
        names = (assignee,) if isinstance(assignee, str) else assignee
        item = workitems.create_work_item(parent, users["oobc_staff"], assignees=[users[n] for n in names],
                                          title=title or f"Task due {due}", work_type=work_type, due_date=due,
                                          **({} if parent else {"organization_id": organizations[organization].id}),
                                          **fields)
        if status:
            fire(item, status, users["oobc_staff"])
        db.session.commit()
        return item

    return make
