from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_required, login_user, logout_user

from ..extensions import limiter
from ..transaction import writes
from . import services
from .forms import LoginForm

bp = Blueprint("auth", __name__)


def _safe_next(target):
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def _login_limit():
    return current_app.config["LOGIN_RATE_LIMIT"]


def _account_attempted():
    """The account a sign-in attempt names, for the per-account limit (whatever address it comes from)."""
    return "account:" + (request.form.get("login") or "").strip().lower()[:254]


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"], key_func=get_remote_address,
               error_message="Too many sign-in attempts from this address. Wait a minute and try again.")
@limiter.limit(_login_limit, methods=["POST"], key_func=_account_attempted,
               error_message="Too many sign-in attempts for this account. Wait a minute and try again.")
@writes
def login():
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        user = services.authenticate(form.login.data, form.password.data)
        if user is not None:
            login_user(user, remember=form.remember.data)
            return redirect(_safe_next(request.args.get("next")) or url_for("home.index"))
        form.form_errors.append("Those sign-in details are not right. Check them and try again.")
        status = 401
    elif request.method == "POST":
        status = 422
    return render_template("auth/login.html", form=form), status


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    logout_user()
    flash("You are signed out.", "success")
    return redirect(url_for("auth.login"))
