"""The API tests use the budget tests' PPA trees and the PPA tests' factories; `bearer(username, scope=…)` gives
the headers of a fresh token."""
import pytest

from obcms.api.tokens import create_token
from obcms.extensions import db
from tests.budget.conftest import make_tracked_ppa, tracked  # noqa: F401
from tests.calendar.conftest import calendar_world  # noqa: F401
from tests.ppas.conftest import add_tranches, make_ppa, ready_ppa  # noqa: F401
from tests.tasks.conftest import task  # noqa: F401


@pytest.fixture
def bearer(users):
    def make(username="moa_staff", scope="read", expires_in_days=None):
        _, secret = create_token(users[username], f"tests {scope}", scope=scope, expires_in_days=expires_in_days)
        db.session.commit()
        return {"Authorization": f"Bearer {secret}"}

    return make


@pytest.fixture
def api(app):
    """A client with no cookie: requests are judged by the token they carry."""
    return app.test_client()
