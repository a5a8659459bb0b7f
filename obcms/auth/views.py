import contextlib
import time
from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_required, login_user, logout_user
from limits import parse
from werkzeug.exceptions import TooManyRequests

from ..api import tokens as api_tokens
from ..api.forms import TokenForm
from ..api.tokens import tokens_of
from ..audit.context import client_ip
from ..calendar.feeds import feeds_of
from ..db_types import utcnow
from ..errors import ValidationFailed
from ..extensions import limiter
from ..htmx import is_htmx, render_page
from ..notifications import services as notifications
from ..notifications.forms import ChannelForm
from ..notifications.models import NOTIFICATION_CHANNELS
from ..transaction import writes
from . import services, sessions
from .forms import LoginForm
from .permissions import require

bp = Blueprint("auth", __name__)


class FailedAttempts:
    """Failed sign-ins within the limit's window, per key, counted in the rate limiter's own storage (Redis in
    production, shared by every worker). An unreachable store holds nobody back."""

    def __init__(self, namespace):
        self.namespace = namespace

    def _limit(self):
        return parse(current_app.config["LOGIN_RATE_LIMIT"])

    def record(self, key):
        if limiter.enabled:
            with contextlib.suppress(Exception):
                limiter.limiter.hit(self._limit(), self.namespace, key)

    def window(self, key):
        """(failures left before the limit, seconds until the window resets), or None when unknown."""
        try:
            stats = limiter.limiter.get_window_stats(self._limit(), self.namespace, key)
        except Exception:
            return None
        return stats.remaining, max(int(stats.reset_time - time.time()), 1)


failed_addresses = FailedAttempts("sign-in-failed-address")
failed_accounts = FailedAttempts("sign-in-failed-account")


class TooManyAttemptsForThisAccount(TooManyRequests):
    def __init__(self, retry_after, limit):
        super().__init__("Too many sign-in attempts for this account. Wait a minute and try again.",
                         retry_after=retry_after)
        self.limit = limit

    def get_headers(self, environ=None, scope=None):
        return [*super().get_headers(environ, scope), ("X-RateLimit-Limit", str(self.limit)),
                ("X-RateLimit-Remaining", "0"), ("X-RateLimit-Reset", str(int(time.time()) + self.retry_after))]


def _hold_back_a_guessed_account():
    """The per-account limit: after LOGIN_RATE_LIMIT failures for one account (by any name, from anywhere),
    addresses that failed are refused until the window ends; an address with no failure still gets to sign
    in, so a guesser elsewhere cannot keep the account's owner out."""
    if not limiter.enabled or request.method != "POST":
        return
    account = services.account_key(request.form.get("login"))
    left = failed_accounts.window(account)
    if left is None or left[0] > 0:
        return
    address = failed_addresses.window(get_remote_address())
    if address is not None and address[0] >= parse(current_app.config["LOGIN_RATE_LIMIT"]).amount:
        return  # this address has not failed
    raise TooManyAttemptsForThisAccount(left[1], parse(current_app.config["LOGIN_RATE_LIMIT"]).amount)


def _safe_next(target):
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def _login_limit():
    return current_app.config["LOGIN_RATE_LIMIT"]


def _failed(response):
    """Only failed attempts count towards the limits: signing in is never held against anyone."""
    return response.status_code == 401


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"], key_func=get_remote_address, deduct_when=_failed,
               error_message="Too many sign-in attempts from this address. Wait a minute and try again.")
@writes
def login():
    _hold_back_a_guessed_account()
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        user = services.authenticate(form.login.data, form.password.data)
        if user is not None:
            sessions.start_sign_in(user, request.headers.get("User-Agent", ""), client_ip())
            login_user(user, remember=form.remember.data)
            session.pop("csrf_token", None)  # a new CSRF token for the signed-in session
            return redirect(_safe_next(request.args.get("next")) or url_for("home.index"))
        form.form_errors.append("Those sign-in details are not right. Check them and try again.")
        failed_addresses.record(get_remote_address())
        failed_accounts.record(services.account_key(form.login.data))
        status = 401
    elif request.method == "POST":
        status = 422
    return render_template("auth/login.html", form=form), status


@bp.route("/logout", methods=["POST"])
@login_required
@writes
def logout():
    """Ends this browser's sign-in on the server too: its old session or remember cookie, replayed, signs
    nobody in."""
    sessions.end_current_sign_in(current_user)
    logout_user()
    flash("You are signed out.", "success")
    return redirect(url_for("auth.login"))


def _account_page(channel_form, status=200, saved=False, token_form=None, new_token=None):
    """The account page, or (htmx) its notification section only."""
    return render_page("auth/account.html", block="notification_channel", channel_form=channel_form, saved=saved,
                       sign_ins=sessions.active_sign_ins(current_user), current_id=current_user.sign_in_id,
                       feeds=feeds_of(current_user), api_tokens=tokens_of(current_user),
                       token_form=token_form or TokenForm(formdata=None), new_token=new_token, now=utcnow()), status


@bp.get("/account")
@login_required
def account():
    """Who is signed in where: this browser and the others, each of which can be signed out; the calendar
    subscriptions and API tokens, each of which can be revoked; how notifications reach the user."""
    return _account_page(ChannelForm(channel=notifications.channel_of(current_user)))


def _channel_again(error):
    form = ChannelForm()
    form.show_failure(error)
    return _account_page(form, 422)


@bp.post("/account/notifications")
@login_required
@writes(on_error=_channel_again)
def notification_channel():
    """Save the user's channel (in-app only, e-mail immediately, daily digest); htmx swaps the section."""
    form = ChannelForm()
    if not form.validate():
        raise ValidationFailed("Please correct the highlighted fields.", errors=form.errors)
    notifications.set_channel(current_user, form.channel.data)
    if is_htmx():
        return _account_page(form, saved=True)
    flash("Saved: " + NOTIFICATION_CHANNELS[form.channel.data].lower() + ".", "success")
    return redirect(url_for("auth.account", _anchor="notifications"), code=303)


@bp.post("/account/sign-ins/<int:sign_in_id>/end")
@login_required
@writes
def end_sign_in(sign_in_id):
    if sign_in_id == current_user.sign_in_id:
        return logout()
    if not sessions.end_sign_in(current_user, sign_in_id):
        abort(404, description="That sign-in has ended already, or is not yours.")
    flash("That browser is signed out.", "success")
    return redirect(url_for("auth.account"))


@bp.post("/account/sign-out-others")
@login_required
@writes
def sign_out_others():
    sessions.end_other_sign_ins(current_user)
    flash("Every other browser is signed out.", "success")
    return redirect(url_for("auth.account"))


@bp.post("/account/sign-out-everywhere")
@login_required
@writes
def sign_out_everywhere():
    sessions.sign_out_everywhere(current_user)
    logout_user()
    flash("You are signed out everywhere, this browser too.", "success")
    return redirect(url_for("auth.login"))


def _token_form_again(error):
    form = TokenForm()
    form.show_failure(error)
    return _account_page(ChannelForm(channel=notifications.channel_of(current_user)), 422, token_form=form)


@bp.post("/account/api-tokens")
@login_required
@writes(on_error=_token_form_again)
def create_api_token():
    """A personal access token for the API: its secret is shown on the page this once (never stored)."""
    require(current_user, "api.tokens")
    form = TokenForm()
    name, scope, days = form.values()
    token, secret = api_tokens.create_token(current_user, name, scope=scope, expires_in_days=days)
    body, status = _account_page(ChannelForm(channel=notifications.channel_of(current_user)),
                                 token_form=TokenForm(formdata=None), new_token=(token, secret))
    response = current_app.make_response((body, 201))
    response.headers["Cache-Control"] = "no-store"  # the secret is shown once: no copy in any cache
    return response


@bp.post("/account/api-tokens/<int:api_token_id>/revoke")
@login_required
@writes
def revoke_api_token(api_token_id):
    require(current_user, "api.tokens")
    token = api_tokens.revoke_token(api_tokens.own_token(current_user, api_token_id))
    flash(f"API token “{token.name}” is revoked: programs using it are refused from now on.", "success")
    return redirect(url_for("auth.account", _anchor="api-tokens"), 303)
