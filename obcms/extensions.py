"""Extensions, created unbound and bound to the app in create_app()."""
import flask_limiter
from flask import current_app, has_app_context
from flask_caching import Cache
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_mailman import Mail
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

# Stable constraint names so Alembic revisions are reproducible on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
mail = Mail()  # bound by obcms.notifications.mail.init_mail (SMTP, or the log without MAIL_SERVER)
csrf = CSRFProtect()
cache = Cache()  # CACHE_TYPE: RedisCache when REDIS_URL is set, else SimpleCache (config.py)


class Limiter(flask_limiter.Limiter):
    """Flask-Limiter keeps `enabled` and the key prefix on the one extension object, set by the first app;
    here each app's RATELIMIT_ENABLED and RATELIMIT_KEY_PREFIX decide for its own requests (the test suite
    builds apps with limits on and off, and with prefixes of their own, side by side)."""

    @property
    def enabled(self):
        if has_app_context():
            return current_app.config.get("RATELIMIT_ENABLED", self._enabled)
        return self._enabled

    @enabled.setter
    def enabled(self, value):
        self._enabled = value

    @property
    def _key_prefix(self):
        if has_app_context():
            return current_app.config.get("RATELIMIT_KEY_PREFIX", "")
        return self._first_key_prefix

    @_key_prefix.setter
    def _key_prefix(self, value):
        self._first_key_prefix = value

    def init_app(self, app):
        with app.app_context():  # so `enabled` reads this app's setting while it binds
            super().init_app(app)


# Limits are declared where they apply (obcms/auth/views.py: sign-in attempts); storage from RATELIMIT_STORAGE_URI.
limiter = Limiter(key_func=get_remote_address)
