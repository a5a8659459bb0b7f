"""The one commit point of a write view (obcms.transaction.writes) and the after-commit side effects."""
import pytest
import sqlalchemy as sa

from obcms.auth.models import Organization
from obcms.errors import Conflict, ValidationFailed
from obcms.extensions import db
from obcms.transaction import after_commit, respond_after_commit, writes


@pytest.fixture
def post(app):
    """Call a view as a POST request would, inside the test's transaction."""

    def call(view, **kwargs):
        with app.test_request_context(method="POST"):
            return view(**kwargs)

    return call


def _add_organization(events, acronym="TMP"):
    db.session.add(Organization(name=f"Temporary {acronym}", acronym=acronym, kind="moa"))
    db.session.flush()
    after_commit(lambda: events.append("committed"))


def _kept(acronym="TMP"):
    return db.session.scalar(sa.select(sa.func.count()).where(Organization.acronym == acronym))


def test_an_answer_below_400_is_committed_then_its_side_effects_run(post):
    events = []

    @writes
    def view():
        _add_organization(events)
        return "saved", 201

    response = post(view)
    assert response.status_code == 201 and events == ["committed"] and _kept() == 1


def test_an_error_answer_or_an_exception_rolls_back_and_drops_the_side_effects(post):
    events = []

    @writes
    def refused():
        _add_organization(events)
        return "no", 422

    @writes
    def failing():
        _add_organization(events)
        raise ValidationFailed("broken", errors={"name": ["broken"]})

    assert post(refused).status_code == 422
    with pytest.raises(ValidationFailed):
        post(failing)
    assert events == [] and _kept() == 0


def test_on_error_answers_after_the_rollback_with_the_view_arguments(post):
    events, seen = [], []

    def again(error, item_id):
        seen.append((type(error).__name__, item_id, _kept()))
        return "form again", error.status

    @writes(on_error=again)
    def view(item_id):
        _add_organization(events)
        raise ValidationFailed(errors={"name": ["taken"]})

    @writes(on_error=again)
    def stale(item_id):
        _add_organization(events)
        raise Conflict("changed")

    @writes(on_error=again, catch=(ValidationFailed, Conflict))
    def stale_handled(item_id):
        _add_organization(events)
        raise Conflict("changed")

    assert post(view, item_id=7).status_code == 422
    with pytest.raises(Conflict):  # not in `catch`: left to obcms/errors.py
        post(stale, item_id=8)
    assert post(stale_handled, item_id=9).status_code == 409
    assert seen == [("ValidationFailed", 7, 0), ("Conflict", 9, 0)] and events == [] and _kept() == 0


def test_respond_after_commit_renders_once_the_side_effects_ran(post):
    events = []

    @writes
    def view():
        _add_organization(events)
        return respond_after_commit(lambda: f"after {events}")

    assert post(view).get_data(as_text=True) == "after ['committed']"


class _DeadlockDetected(Exception):
    sqlstate = "40P01"  # what psycopg's DeadlockDetected carries


def test_a_deadlocked_unit_of_work_runs_again_and_other_errors_do_not(post):
    events, attempts = [], []

    @writes
    def deadlocks_once():
        attempts.append(1)
        _add_organization(events, f"TMP{len(attempts)}")
        if len(attempts) == 1:  # PostgreSQL chose this transaction as the deadlock's victim
            raise sa.exc.OperationalError("SELECT … FOR UPDATE", {}, _DeadlockDetected())
        return "saved", 200

    assert post(deadlocks_once).status_code == 200
    assert len(attempts) == 2 and events == ["committed"] and (_kept("TMP1"), _kept("TMP2")) == (0, 1)

    @writes
    def always_deadlocks():
        attempts.append(1)
        raise sa.exc.OperationalError("SELECT … FOR UPDATE", {}, _DeadlockDetected())

    attempts.clear()
    with pytest.raises(sa.exc.OperationalError):
        post(always_deadlocks)
    assert len(attempts) == 3  # then the error page: nothing was saved

    @writes
    def broken():
        attempts.append(1)
        raise sa.exc.OperationalError("SELECT 1", {}, Exception("server closed the connection"))

    attempts.clear()
    with pytest.raises(sa.exc.OperationalError):
        post(broken)
    assert len(attempts) == 1
