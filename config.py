"""Configuration read from the environment.

Default: embedded SQLite under instance/, jobs inline. Production: DATABASE_URL (PostgreSQL) and REDIS_URL,
and a check at start that refuses unsafe settings.
"""
import os
import zlib
from pathlib import Path
from urllib.parse import urlsplit

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = Path(os.environ.get("OBCMS_INSTANCE_DIR", BASE_DIR / "instance"))

LOCAL_HOSTS = (None, "", "localhost", "127.0.0.1", "::1")
WEAK_SECRET_KEYS = {"", "dev", "dev-only-insecure-key", "change-me", "secret", "changeme"}


def _bool(name, default):
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _database_url():
    url = os.environ.get("DATABASE_URL")
    if not url:
        return f"sqlite:///{INSTANCE_DIR / 'obcms.sqlite3'}"
    # Accept the common postgres:// and postgresql:// spellings; psycopg 3 is the driver.
    if url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url[len("postgres://"):]
    elif url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


class Config:
    """The embedded default: SQLite file, jobs inline, debug off."""

    ENV_NAME = "default"
    SECRET_KEY = os.environ.get("SECRET_KEY", "dev-only-insecure-key")
    SQLALCHEMY_DATABASE_URI = _database_url()
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    DATABASE_CONNECT_TIMEOUT = int(os.environ.get("DATABASE_CONNECT_TIMEOUT", "5"))
    DATABASE_STATEMENT_TIMEOUT_MS = int(os.environ.get("DATABASE_STATEMENT_TIMEOUT_MS", "30000"))
    REDIS_URL = os.environ.get("REDIS_URL") or None
    RQ_QUEUE = os.environ.get("RQ_QUEUE", "obcms")
    JOB_MAX_RETRIES = int(os.environ.get("JOB_MAX_RETRIES", "3"))
    ALLOWED_HOSTS = [h.strip() for h in os.environ.get("ALLOWED_HOSTS", "").split(",") if h.strip()]
    TIMEZONE = os.environ.get("OBCMS_TIMEZONE", "Asia/Manila")
    TRUSTED_PROXIES = int(os.environ.get("TRUSTED_PROXIES", "0"))
    AUDIT_RETENTION_DAYS = int(os.environ.get("AUDIT_RETENTION_DAYS", "730"))
    # Reports (obcms/reports): up to this many PPAs a workbook is sent at once, more are made by a job and kept
    # (7 days) under REPORTS_DIR (default: the instance folder's reports/; shared with the workers).
    REPORTS_DIRECT_LIMIT = int(os.environ.get("REPORTS_DIRECT_LIMIT", "200"))
    REPORTS_DIR = os.environ.get("OBCMS_REPORTS_DIR") or None
    # Audit archives (obcms/audit/retention.py; default: the instance folder's audit-archive/) and the backups of
    # `flask obcms release backup` (obcms/ops/release.py; default: the instance folder's backups/).
    AUDIT_ARCHIVE_DIR = os.environ.get("OBCMS_AUDIT_ARCHIVE_DIR") or None
    BACKUP_DIR = os.environ.get("OBCMS_BACKUP_DIR") or None
    # cleanup_orphans only reports what it would delete unless this is 0 (obcms/workitems/orphans.py).
    WORKITEM_CLEANUP_DRY_RUN = _bool("WORKITEM_CLEANUP_DRY_RUN", True)
    DEBUG = _bool("FLASK_DEBUG", False)
    WTF_CSRF_TIME_LIMIT = None
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", False)
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", False)
    REMEMBER_COOKIE_DURATION = 60 * 60 * 24 * 14
    SESSION_PROTECTION = "strong"
    HSTS = False
    # Rate limits (DOMAIN.md "Rate limits"), counted in Redis when REDIS_URL is set (shared by every worker),
    # else in each process's memory. A storage outage never fails a request (it falls back to memory).
    RATELIMIT_ENABLED = _bool("RATELIMIT_ENABLED", True)
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI") or REDIS_URL or "memory://"
    RATELIMIT_HEADERS_ENABLED = True
    RATELIMIT_KEY_PREFIX = "obcms"
    RATELIMIT_SWALLOW_ERRORS = True
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
    LOGIN_RATE_LIMIT = os.environ.get("LOGIN_RATE_LIMIT", "5 per minute")  # per account and per client address
    FEED_RATE_LIMIT = os.environ.get("FEED_RATE_LIMIT", "60 per hour")  # fetches of one calendar feed
    SEARCH_RATE_LIMIT = os.environ.get("SEARCH_RATE_LIMIT", "100 per 5 minutes")  # per user, live + page
    # The JSON API (/api/v1): per token; a signed-in browser's requests per user, anonymous ones per address.
    API_RATE_LIMIT = os.environ.get("API_RATE_LIMIT", "600 per minute")
    # Flask-Caching: Redis when REDIS_URL is set (shared by every worker), else this process's memory.
    CACHE_TYPE = "RedisCache" if REDIS_URL else "SimpleCache"
    CACHE_REDIS_URL = REDIS_URL
    CACHE_KEY_PREFIX = "obcms:"
    CACHE_DEFAULT_TIMEOUT = 60
    SEARCH_WORD_SIMILARITY = float(os.environ.get("SEARCH_WORD_SIMILARITY", "0.4"))  # pg_trgm, 0–1
    SEARCH_CACHE_SECONDS = int(os.environ.get("SEARCH_CACHE_SECONDS", "60"))
    MAX_CONTENT_LENGTH = int(os.environ.get("MAX_CONTENT_LENGTH", str(10 * 1024 * 1024)))  # bigger bodies: 413
    # E-mail (Flask-Mailman). No MAIL_SERVER: messages are written to the log instead (obcms.notifications.mail).
    MAIL_SERVER = os.environ.get("MAIL_SERVER") or None
    MAIL_PORT = int(os.environ.get("MAIL_PORT", "25"))
    MAIL_USE_TLS = _bool("MAIL_USE_TLS", False)
    MAIL_USE_SSL = _bool("MAIL_USE_SSL", False)
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME") or None
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD") or None
    MAIL_DEFAULT_SENDER = os.environ.get("MAIL_DEFAULT_SENDER", "obcms <no-reply@localhost>")
    MAIL_TIMEOUT = int(os.environ.get("MAIL_TIMEOUT", "10"))
    # Where people open obcms: the links in e-mails are built on it.
    PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL", "http://127.0.0.1:5000")
    DEMO_PASSWORD = os.environ.get("OBCMS_DEMO_PASSWORD", "obcms-demo-2026")
    # New PPAs, assessments and meetings/workshops/conferences generate their tasks (obcms/tasking/triggers.py).
    TASK_GENERATION = _bool("TASK_GENERATION", True)
    VERSION = os.environ.get("OBCMS_VERSION", "0.1.0")
    # How long each process keeps its copy of the maintenance switch (obcms/ops/maintenance.py) before reading
    # the database again: a switch reaches every gunicorn worker within this many seconds.
    MAINTENANCE_CACHE_SECONDS = float(os.environ.get("MAINTENANCE_CACHE_SECONDS", "2"))
    LOG_REQUESTS = _bool("LOG_REQUESTS", True)  # one JSON line per request and job run on stderr (obcms/ops/logs.py)
    # /metrics (Prometheus text): a scraper sends `Authorization: Bearer <METRICS_TOKEN>`, or comes from an
    # address of METRICS_ALLOW (comma-separated addresses or networks). Neither set: this machine only.
    METRICS_TOKEN = os.environ.get("METRICS_TOKEN") or None
    METRICS_ALLOW = [a.strip() for a in os.environ.get("METRICS_ALLOW", "127.0.0.1,::1").split(",") if a.strip()]


class TestingConfig(Config):
    ENV_NAME = "testing"
    TESTING = True
    SECRET_KEY = "testing-" + "x" * 60
    SQLALCHEMY_DATABASE_URI = "sqlite://"
    REDIS_URL = None
    WTF_CSRF_ENABLED = True
    RATELIMIT_ENABLED = False  # the rate-limit tests build their own app with it on
    RATELIMIT_STORAGE_URI = "memory://"
    CACHE_TYPE = "SimpleCache"  # the cache tests build their own app on Redis
    CACHE_REDIS_URL = None
    SERVER_NAME = None
    MAIL_SERVER = None  # the mail tests point it at their own SMTP server
    PUBLIC_BASE_URL = "https://obcms.example.gov.ph"
    TASK_GENERATION = False  # tests of obcms/tasking turn it on (tests/tasking/conftest.py), others see no tasks
    # Each test starts with maintenance off in the process's copy (tests/conftest.py), so no page reads the
    # switch (pinned statement counts stay exact); the maintenance tests read it again when they switch it.
    MAINTENANCE_CACHE_SECONDS = 3600


class ProductionConfig(Config):
    ENV_NAME = "production"
    SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", True)
    REMEMBER_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", True)
    HSTS = True


ENVIRONMENTS = {"default": Config, "": Config, "production": ProductionConfig, "testing": TestingConfig}


def config_for_environment():
    """The configuration OBCMS_ENV names; an unknown name is refused (a typo such as `prod` must not run the
    development configuration in production)."""
    name = os.environ.get("OBCMS_ENV", "default").strip().lower()
    if name not in ENVIRONMENTS:
        raise UnsafeConfiguration(f"OBCMS_ENV={name!r} is not an environment obcms knows: use production, "
                                  "default or testing")
    return ENVIRONMENTS[name]


class UnsafeConfiguration(RuntimeError):
    """Raised at start when production settings are unsafe; the message says what to fix."""


def is_weak_key(key):
    """A default, short, or patterned key: fewer than 50 characters or 10 distinct ones, a repeated block
    ("0123456789" * 5), or text that compresses well (random keys do not)."""
    if key in WEAK_SECRET_KEYS or len(key) < 50 or len(set(key)) < 10:
        return True
    if any(key == (key[:period] * (len(key) // period + 1))[:len(key)] for period in range(1, len(key) // 2 + 1)):
        return True
    return len(zlib.compress(key.encode(), 9)) < 0.6 * len(key.encode())


def check_production(config):
    """Refuse to start with unsafe settings, one clear line naming every problem: anywhere, a wildcard host;
    in production, a weak key, DEBUG, no hosts, e-mail whose links would point at this machine."""
    if "*" in (config.get("ALLOWED_HOSTS") or ()):
        raise UnsafeConfiguration("ALLOWED_HOSTS=* would accept any Host header: list the host names obcms is "
                                  "served as (ALLOWED_HOSTS=obcms.example.gov.ph), or leave it empty outside "
                                  "production")
    if config.get("ENV_NAME") != "production":
        return
    problems = []
    key = config.get("SECRET_KEY") or ""
    if is_weak_key(key):
        problems.append(
            "SECRET_KEY is weak or default: set SECRET_KEY to at least 50 random characters "
            "(python -c 'import secrets; print(secrets.token_urlsafe(64))')"
        )
    if config.get("DEBUG"):
        problems.append("DEBUG is on: unset FLASK_DEBUG in production")
    if config.get("MAIL_SERVER") and urlsplit(config.get("PUBLIC_BASE_URL") or "").hostname in LOCAL_HOSTS:
        problems.append("PUBLIC_BASE_URL points at this machine, so links in e-mails would not open: set it to "
                        "the address people use (PUBLIC_BASE_URL=https://obcms.example.gov.ph)")
    if not config.get("ALLOWED_HOSTS"):
        problems.append("ALLOWED_HOSTS is empty: set ALLOWED_HOSTS=obcms.example.gov.ph (comma-separated)")
    if problems:
        raise UnsafeConfiguration("Refusing to start in production: " + "; ".join(problems))
