import sqlalchemy as sa
from flask import Blueprint, current_app, jsonify

from ..extensions import db
from ..jobqueue.queue import redis_connection

bp = Blueprint("ops", __name__)


def database_status():
    try:
        db.session.execute(sa.text("SELECT 1"))
        db.session.rollback()
        return "ok"
    except Exception as error:  # any failure to reach the database is "error"; the probe itself must not fail
        # One line, not a traceback: a probe polled every few seconds during an outage must not flood the log.
        current_app.logger.warning("health: database unreachable: %s", str(error).partition("\n")[0][:200])
        db.session.rollback()
        return "error"


def redis_status():
    url = current_app.config.get("REDIS_URL")
    if not url:
        return "not_configured"
    try:
        redis_connection().ping()
        return "ok"
    except Exception as error:
        current_app.logger.warning("health: redis unreachable: %s", str(error)[:200])
        return "error"


@bp.route("/health")
def health():
    database, redis = database_status(), redis_status()
    healthy = database == "ok" and redis in ("ok", "not_configured")
    body = {"status": "healthy" if healthy else "unhealthy", "database": database, "redis": redis,
            "version": current_app.config["VERSION"]}
    response = jsonify(body)
    response.status_code = 200 if healthy else 503
    response.headers["Cache-Control"] = "no-store"
    return response
