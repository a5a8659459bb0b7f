"""`flask obcms check-deploy`: every production setting that is wrong or risky, one line each.

Each check is a small function of the app (called in its app context) returning a Finding, or None when the
setting is right; CHECKS lists them in the order they are printed. A "wrong" finding makes the command exit 1;
a "risky" one is printed but does not fail it. A check that cannot run (the database or Redis away) is wrong.
"""
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from redis.exceptions import RedisError
from rq import Worker

from config import LOCAL_HOSTS, is_weak_key

from ..extensions import db
from ..jobqueue.queue import redis_connection, rq_queue

WORKER_SEEN_WITHIN = timedelta(minutes=5)


@dataclass(frozen=True)
class Finding:
    setting: str
    problem: str
    severity: str = "wrong"  # or "risky"

    def __str__(self):
        return f"{self.severity}: {self.setting}: {self.problem}"


def environment(app):
    if app.config.get("ENV_NAME") != "production":
        return Finding("OBCMS_ENV", f"is {app.config.get('ENV_NAME')!r}, not production: set OBCMS_ENV=production "
                                    "(secure cookies, HSTS and the start-up safety check)")


def secret_key(app):
    key = app.config.get("SECRET_KEY") or ""
    if not key:
        return Finding("SECRET_KEY", "is missing: set SECRET_KEY to at least 50 random characters "
                                     "(python -c 'import secrets; print(secrets.token_urlsafe(64))')")
    if is_weak_key(key):
        return Finding("SECRET_KEY", "is a default, short or patterned key: set SECRET_KEY to at least 50 random "
                                     "characters (python -c 'import secrets; print(secrets.token_urlsafe(64))')")


def debug(app):
    if app.config.get("DEBUG"):
        return Finding("FLASK_DEBUG", "debug mode is on (tracebacks and the debugger to anyone): unset FLASK_DEBUG")


def allowed_hosts(app):
    hosts = app.config.get("ALLOWED_HOSTS") or []
    if not hosts:
        return Finding("ALLOWED_HOSTS", "is empty: list the host names obcms is served as "
                                        "(ALLOWED_HOSTS=obcms.example.gov.ph)")
    local = [host for host in hosts if host.lower() in LOCAL_HOSTS]
    if local:
        return Finding("ALLOWED_HOSTS", f"names this machine only ({', '.join(local)}): list the public host names",
                       "risky")


def public_base_url(app):
    url = urlsplit(app.config.get("PUBLIC_BASE_URL") or "")
    if url.hostname in LOCAL_HOSTS:
        return Finding("PUBLIC_BASE_URL", "points at this machine, so links in e-mails will not open: set it to "
                                          "the address people use (https://obcms.example.gov.ph)")
    if url.scheme != "https":
        return Finding("PUBLIC_BASE_URL", "is not https: links in e-mails would send people to plain http")


def _flag(name, is_right, problem):
    """A check of one configuration value: `problem` ({value} filled in) when is_right(value) is false."""
    def check(app):
        value = app.config.get(name)
        if not is_right(value):
            return Finding(name, problem.format(value=value))
    check.__name__ = name.lower()
    return check


def _same_site(value):
    return (value or "").capitalize() in ("Lax", "Strict")


SECURE = "is off: the cookie would also travel over plain http; set SESSION_COOKIE_SECURE=1 (the production default)"
HTTP_ONLY = "is off: page scripts could read the sign-in cookie; turn it on"
SAME_SITE = "is {value!r}: other sites' requests would carry the cookie; use 'Lax' or 'Strict'"


def hsts(app):
    if not app.config.get("HSTS"):
        return Finding("HSTS", "is off: browsers may reach obcms over plain http (no Strict-Transport-Security "
                               "header); OBCMS_ENV=production turns it on")


def proxies(app):
    if not app.config.get("TRUSTED_PROXIES"):
        return Finding("TRUSTED_PROXIES", "is 0, but production serves obcms behind a TLS proxy: without ProxyFix "
                                          "every client has the proxy's address (rate limits, audit) and links "
                                          "say http; set TRUSTED_PROXIES=1 (one proxy)")


def database(app):
    if db.engine.dialect.name != "postgresql":
        return Finding("DATABASE_URL", f"is {db.engine.dialect.name}, not PostgreSQL: set "
                                       "DATABASE_URL=postgresql+psycopg://user@host/db")


def migrations(app):
    migrate = app.extensions["migrate"]
    heads = set(ScriptDirectory.from_config(migrate.migrate.get_config(migrate.directory)).get_heads())
    with db.engine.connect() as connection:
        current = set(MigrationContext.configure(connection).get_current_heads())
    if current != heads:
        return Finding("migrations", f"the database is at {', '.join(sorted(current)) or 'no revision'}, the code "
                                     f"at {', '.join(sorted(heads))}: run flask --app wsgi db upgrade")


def redis(app):
    if not app.config.get("REDIS_URL"):
        return Finding("REDIS_URL", "is not set: jobs run inline inside web requests and every process keeps "
                                    "its own rate limits and cache; set REDIS_URL=redis://host:6379/0")
    try:
        redis_connection().ping()
    except RedisError as error:
        return Finding("REDIS_URL", f"Redis does not answer ({str(error)[:120]}): start it or fix REDIS_URL")


def rq_worker(app):
    if not app.config.get("REDIS_URL"):
        return None  # jobs run inline (REDIS_URL says so)
    connection = redis_connection()
    now = datetime.now(UTC)
    seen = [worker for worker in Worker.all(connection=connection, queue=rq_queue(connection))
            if worker.last_heartbeat is not None and
            now - worker.last_heartbeat.replace(tzinfo=worker.last_heartbeat.tzinfo or UTC) <= WORKER_SEEN_WITHIN]
    if not seen:
        return Finding("RQ worker", f"none seen on the {app.config['RQ_QUEUE']!r} queue in the last 5 minutes: "
                                    "start flask --app wsgi obcms worker (jobs wait until one runs)")


def rate_limit_storage(app):
    if app.config.get("RATELIMIT_ENABLED") and (app.config.get("RATELIMIT_STORAGE_URI") or "").startswith("memory"):
        return Finding("RATELIMIT_STORAGE_URI", "is memory://: each worker process counts on its own (limits "
                                                "multiplied); use Redis (the default when REDIS_URL is set)", "risky")


def mail(app):
    if not app.config.get("MAIL_SERVER"):
        return Finding("MAIL_SERVER", "is not set: e-mails (notifications, password resets, digests) are only "
                                      "written to the log; set MAIL_SERVER (and MAIL_PORT, MAIL_USE_TLS …)")
    sender = app.config.get("MAIL_DEFAULT_SENDER") or ""
    if sender.rstrip(">").endswith("@localhost"):
        return Finding("MAIL_DEFAULT_SENDER", f"is {sender!r}: mail servers refuse or bin it; set an address of "
                                              "your domain")


def local_utc_offset():
    """This machine's offset from UTC now (cron runs in it)."""
    return datetime.now().astimezone().utcoffset()


def timezone(app):
    name = app.config.get("TIMEZONE")
    if not name:
        return Finding("OBCMS_TIMEZONE", "is empty: set the zone times are shown in (OBCMS_TIMEZONE=Asia/Manila)")
    try:
        zone = ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return Finding("OBCMS_TIMEZONE", f"{name!r} is not a time zone (OBCMS_TIMEZONE=Asia/Manila)")
    if datetime.now(zone).utcoffset() != local_utc_offset():
        return Finding("clock zone", f"this machine's clock is not in {name}: the cron lines (obcms jobs schedule) "
                                     f"run at its local hours; run cron in {name} or shift the hours", "risky")


CHECKS = (
    environment, secret_key, debug, allowed_hosts, public_base_url,
    _flag("SESSION_COOKIE_SECURE", bool, SECURE), _flag("REMEMBER_COOKIE_SECURE", bool, SECURE),
    _flag("SESSION_COOKIE_HTTPONLY", bool, HTTP_ONLY), _flag("REMEMBER_COOKIE_HTTPONLY", bool, HTTP_ONLY),
    _flag("SESSION_COOKIE_SAMESITE", _same_site, SAME_SITE), _flag("REMEMBER_COOKIE_SAMESITE", _same_site, SAME_SITE),
    hsts, proxies, database, migrations, redis, rq_worker, rate_limit_storage, mail, timezone,
)


def run_checks(app, checks=CHECKS):
    """Every finding, in CHECKS order (call in the app's context)."""
    findings = []
    for check in checks:
        try:
            finding = check(app)
        except Exception as error:  # a check that cannot run says why (the database or Redis away …)
            db.session.rollback()
            finding = Finding(check.__name__, f"could not be checked: {str(error).partition(chr(10))[0][:200]}")
        if finding is not None:
            findings.append(finding)
    db.session.rollback()
    return findings
