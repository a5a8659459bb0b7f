"""obcms: plan and execute Programs, Projects and Activities."""
import os

from flask import Flask, redirect, request, url_for
from flask_login import current_user
from werkzeug.middleware.proxy_fix import ProxyFix

import jobs  # noqa: F401  (registers the job functions with obcms.jobqueue)
from config import check_production, config_for_environment

# Every model module, so metadata (and so Alembic) sees all tables, and the modules that register listeners,
# state machines and roll-up subscribers (the domain packages' __init__ import theirs).
from . import transaction  # noqa: F401  (registers the after-commit listeners)
from .admin import init_admin
from .api import calendar as _api_calendar  # noqa: F401  (calendar window, events, bookings)
from .api import models as _api  # noqa: F401
from .api import money as _api_money  # noqa: F401  (tranches, tracking, distribution, sync, ledger)
from .api import platform as _api_platform  # noqa: F401  (search, bulk, notifications, audit)
from .api import ppas as _api_ppas  # noqa: F401  (the PPA resource, on the API blueprint)
from .api import reports as _api_reports  # noqa: F401  (report kinds, jobs, downloads)
from .api import tasks as _api_tasks  # noqa: F401  (My tasks)
from .api import workitems as _api_workitems  # noqa: F401  (work items of a PPA's tree)
from .api.tokens import TokenRequestsIgnoreTheCookie, load_user_from_request
from .api.views import init_api
from .assessments import models as _assessments  # noqa: F401
from .assessments.views import bp as assessments_bp
from .audit import listener as _audit_listener  # noqa: F401
from .audit import models as _audit  # noqa: F401
from .audit.views import bp as audit_bp
from .auth import models as _auth  # noqa: F401
from .auth.sessions import load_user
from .auth.views import bp as auth_bp
from .budget import models as _budget  # noqa: F401
from .budget.views import bp as budget_bp
from .bulk.views import bp as bulk_bp
from .calendar import event_views as _calendar_event_views  # noqa: F401  (event forms on the calendar's bp)
from .calendar import models as _calendar  # noqa: F401
from .calendar.booking_views import bp as bookings_bp
from .calendar.views import bp as calendar_bp
from .cli import register_cli
from .database import engine_options, init_database
from .errors import register_error_handlers, render_error, wants_json
from .extensions import cache, csrf, db, limiter, login_manager, migrate
from .home.views import bp as home_bp
from .jobqueue import models as _jobqueue  # noqa: F401
from .legacy import models as _legacy  # noqa: F401
from .notifications import models as _notifications  # noqa: F401
from .notifications.mail import init_mail
from .notifications.views import bp as notifications_bp
from .ops import logs as request_logs
from .ops import maintenance as _maintenance  # noqa: F401
from .ops.jobs_views import bp as jobs_bp
from .ops.maintenance_gate import init_maintenance
from .ops.metrics import bp as metrics_bp
from .ops.security import init_security, init_url_converters
from .ops.views import bp as ops_bp
from .ppas import models as _ppas  # noqa: F401
from .ppas import reminders as _ppa_reminders  # noqa: F401
from .ppas.alert_views import bp as alerts_bp
from .ppas.tracking_views import bp as ppa_tracking_bp
from .ppas.views import bp as ppas_bp
from .reports import models as _reports  # noqa: F401
from .reports.views import bp as reports_bp
from .search import index as search_index
from .search.views import bp as search_bp
from .tasking import models as _tasking  # noqa: F401  (and its trigger listeners)
from .tasks.views import bp as tasks_bp
from .templating import init_templating
from .workflow import guard as _workflow_guard  # noqa: F401
from .workflow import models as _workflow  # noqa: F401
from .workflow.views import bp as workflow_bp
from .workitems import models as _workitems  # noqa: F401
from .workitems import reminders as _task_reminders  # noqa: F401
from .workitems.views import bp as workitems_bp

# Endpoints reachable without signing in. Everything else requires a signed-in, active user. A calendar feed's
# secret token is its key (calendar apps cannot sign in); an unknown or revoked one is a 404.
PUBLIC_ENDPOINTS = {"auth.login", "ops.health", "metrics.metrics", "static", "admin.static", "calendar.feed"}


def create_app(config_object=None, **overrides):
    app = Flask(__name__, template_folder="../templates", static_folder="../static",
                instance_path=os.environ.get("OBCMS_INSTANCE_DIR") or None, instance_relative_config=False)
    app.config.from_object(config_object or config_for_environment())
    app.config.update(overrides)
    check_production(app.config)
    if app.config.get("TRUSTED_PROXIES"):
        n = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)

    init_url_converters(app)
    _init_extensions(app)
    _register_blueprints(app)

    register_error_handlers(app)
    init_security(app)
    init_maintenance(app)  # before require_login: anonymous requests get the maintenance page too
    init_templating(app)
    request_logs.init_app(app)

    @app.before_request
    def require_login():
        if request.endpoint in PUBLIC_ENDPOINTS or request.endpoint is None:
            return None
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        return None

    register_cli(app)
    return app


def _init_extensions(app):
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options(app.config)
    db.init_app(app)
    init_database(app)
    migrate.init_app(app, db, directory=os.path.join(os.path.dirname(__file__), "..", "migrations"),
                     render_as_batch=True, compare_type=True, include_name=search_index.alembic_include_name)
    csrf.init_app(app)
    limiter.init_app(app)
    cache.init_app(app)
    init_mail(app)
    login_manager.init_app(app)
    login_manager.session_protection = app.config.get("SESSION_PROTECTION", "strong")
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please sign in to continue."
    login_manager.login_message_category = "info"

    login_manager.user_loader(load_user)
    login_manager.request_loader(load_user_from_request)  # bearer tokens, /api/ only
    app.session_interface = TokenRequestsIgnoreTheCookie()

    @login_manager.unauthorized_handler
    def unauthorized():
        if wants_json() and request.endpoint != "api.docs":  # the API's reference is a page for people
            return render_error(401, "unauthorized", "Sign in required", "Sign in or send a valid token.")
        login_url = url_for("auth.login", next=request.full_path.rstrip("?") if request.method == "GET" else None)
        if request.headers.get("HX-Request"):
            return "", 401, {"HX-Redirect": login_url}
        return redirect(login_url)


def _register_blueprints(app):
    app.register_blueprint(alerts_bp)
    app.register_blueprint(assessments_bp)
    app.register_blueprint(audit_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(budget_bp)
    app.register_blueprint(bulk_bp)
    app.register_blueprint(calendar_bp)
    app.register_blueprint(bookings_bp)
    app.register_blueprint(home_bp)
    app.register_blueprint(jobs_bp)
    app.register_blueprint(metrics_bp)
    app.register_blueprint(notifications_bp)
    app.register_blueprint(ops_bp)
    app.register_blueprint(ppas_bp)
    app.register_blueprint(ppa_tracking_bp)
    app.register_blueprint(reports_bp)
    app.register_blueprint(search_bp)
    app.register_blueprint(tasks_bp)
    app.register_blueprint(workflow_bp)
    app.register_blueprint(workitems_bp)
    init_api(app)  # the flask-smorest blueprint at /api/v1 and its OpenAPI description
    init_admin(app)
