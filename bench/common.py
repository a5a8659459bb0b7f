"""Pieces every benchmark shares: a statement counter, stderr logging, a signed-in test client."""
import os
import sys
import tempfile

TX_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")


def log(*args):
    print(*args, file=sys.stderr, flush=True)


class QueryCounter:
    """Data statements sent to the database (transaction control not counted, as in the peer)."""

    n = 0

    def __call__(self, conn, cursor, statement, parameters, context, executemany):
        if not statement.lstrip().upper().startswith(TX_CONTROL):
            self.n += 1


def signed_in_client(app, user):
    """A test client carrying the session Flask-Login would set after signing in (with its SignIn row)."""
    from flask_login.utils import _create_identifier

    from obcms.auth.sessions import start_sign_in
    from obcms.extensions import db

    start_sign_in(user, "benchmark", "127.0.0.1")
    db.session.commit()

    client = app.test_client()
    with app.test_request_context(environ_base={"REMOTE_ADDR": "127.0.0.1"},
                                  headers={"User-Agent": client.environ_base.get("HTTP_USER_AGENT", "")}):
        identifier = _create_identifier()
    with client.session_transaction() as session:
        session.update({"_user_id": user.get_id(), "_fresh": True, "_id": identifier})
    return client


def database_url(prefix):
    """(DATABASE_URL, False) when set (PostgreSQL, a dedicated database), else (a new SQLite file's URL, True)."""
    url = os.environ.get("DATABASE_URL")
    if url:
        return url, False
    return f"sqlite:///{tempfile.mkdtemp(prefix=prefix)}/bench.db", True
