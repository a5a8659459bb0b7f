"""CSRF on the API: session-authenticated writes keep it; bearer-token requests (which a browser never sends
by itself) are exempt; reads never need it."""
import pytest
from flask import g
from flask_wtf.csrf import CSRFError

from obcms.api.views import csrf_unless_token


def test_session_writes_need_the_csrf_token(app):
    with app.test_request_context("/api/v1/ppas/1/anything", method="POST"), pytest.raises(CSRFError):
        csrf_unless_token()


def test_token_writes_and_all_reads_are_exempt(app):
    with app.test_request_context("/api/v1/ppas/1/anything", method="POST"):
        g.api_token_id = 1
        assert csrf_unless_token() is None
    with app.test_request_context("/api/v1/ppas/1/budget-allocation-tree", method="GET"):
        assert csrf_unless_token() is None
