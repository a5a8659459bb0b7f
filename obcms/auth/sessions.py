"""Sign-ins: each signed-in browser is a row (SignIn) that its session and remember cookies name, so that

    start_sign_in(user, user_agent, ip)     # at sign-in: the row, and user.get_id() for the cookies
    end_current_sign_in(user)               # sign-out: an old cookie replayed afterwards signs nobody in
    end_sign_in(user, sign_in_id)           # the account page: end one other browser
    sign_out_everywhere(user)               # every browser, this one too (new session token)
    active_sign_ins(user)                   # what the account page lists

A password reset or a deactivation changes the user's session token, which every cookie carries too.
"""
import functools
import hashlib
import secrets
from datetime import timedelta

import sqlalchemy as sa

from ..db_types import utcnow
from ..extensions import db
from ..ids import parse_id
from .models import SignIn, User

# last_seen_at is written at most this often (not on every request).
TOUCH_EVERY = timedelta(minutes=5)
# What a User-Agent header names, the more specific first (Edge's also says Chrome, Chrome's also Safari, an
# iPhone's also Mac OS X, Android's also Linux).
BROWSERS = (("Edg/", "Edge"), ("OPR/", "Opera"), ("Firefox/", "Firefox"), ("HeadlessChrome/", "Headless Chrome"),
            ("Chrome/", "Chrome"), ("Safari/", "Safari"))
SYSTEMS = (("Windows", "Windows"), ("Android", "Android"), ("iPhone", "iPhone"), ("iPad", "iPad"),
           ("Mac OS X", "macOS"), ("CrOS", "ChromeOS"), ("Linux", "Linux"))


def browser_label(user_agent):
    """"Chrome on Windows" from a User-Agent header, for the account page's list of sign-ins (the header itself
    is long and unreadable); the first 60 characters when it names nothing known."""
    if not user_agent:
        return "unknown browser"
    browser = next((name for token, name in BROWSERS if token in user_agent), None)
    system = next((name for token, name in SYSTEMS if token in user_agent), None)
    if browser and system:
        return f"{browser} on {system}"
    return browser or system or user_agent[:60]


def _digest(secret):
    return hashlib.sha256(secret.encode()).hexdigest()


def start_sign_in(user, user_agent="", ip=""):
    """A new sign-in of `user` (a row; the secret only in the cookie); user.get_id() names it from now on."""
    secret = secrets.token_urlsafe(24)
    row = SignIn(user_id=user.id, secret_hash=_digest(secret), user_agent=(user_agent or "")[:200],
                 ip=(ip or "")[:64])
    db.session.add(row)
    db.session.flush()
    user.sign_in_key = f"{row.id}:{secret}"
    user.sign_in_id = row.id
    return row


@functools.cache
def _sign_in_stmt():
    """The user and the sign-in named by the cookie. Built once: it runs on every request."""
    return (sa.select(User, SignIn.secret_hash, SignIn.ended_at, SignIn.last_seen_at)
            .join(SignIn, sa.and_(SignIn.user_id == User.id, SignIn.id == sa.bindparam("sign_in_id")))
            .where(User.id == sa.bindparam("user_id")))


def load_user(cookie_id):
    """Flask-Login's loader: the active user of a live sign-in named by '<user>:<token>:<sign-in>:<secret>',
    else None (ended, another token, unknown, or a malformed value). One query; last_seen_at now and then."""
    parts = (cookie_id or "").split(":")
    if len(parts) != 4:
        return None
    user_id, token, sign_in_id, secret = parse_id(parts[0]), parts[1], parse_id(parts[2]), parts[3]
    if not user_id or not sign_in_id:
        return None
    row = db.session.execute(_sign_in_stmt(), {"user_id": user_id, "sign_in_id": sign_in_id}).first()
    if row is None or row.ended_at is not None or not row.User.is_active:
        return None
    user = row.User
    if not (secrets.compare_digest(user.session_token, token)
            and secrets.compare_digest(row.secret_hash, _digest(secret))):
        return None
    if utcnow() - row.last_seen_at >= TOUCH_EVERY:
        db.session.execute(sa.update(SignIn).where(SignIn.id == sign_in_id).values(last_seen_at=utcnow()))
        db.session.commit()
    user.sign_in_key = f"{sign_in_id}:{secret}"
    user.sign_in_id = sign_in_id
    return user


def _end(user_id, *where):
    db.session.execute(sa.update(SignIn).where(SignIn.user_id == user_id, SignIn.ended_at.is_(None), *where)
                       .values(ended_at=utcnow()))


def end_current_sign_in(user):
    """Sign-out: this browser's sign-in ends (its cookies no longer sign anybody in)."""
    sign_in_id = getattr(user, "sign_in_id", None)
    if sign_in_id is not None:
        _end(user.id, SignIn.id == sign_in_id)


def end_sign_in(user, sign_in_id):
    """End one of the user's sign-ins (another browser); False when it is not theirs or already ended."""
    sign_in_id = parse_id(sign_in_id)
    if not sign_in_id:
        return False
    ended = db.session.execute(sa.update(SignIn).where(SignIn.id == sign_in_id, SignIn.user_id == user.id,
                                                       SignIn.ended_at.is_(None)).values(ended_at=utcnow()))
    return ended.rowcount == 1


def end_other_sign_ins(user):
    """Every sign-in of the user but this browser's."""
    _end(user.id, SignIn.id != getattr(user, "sign_in_id", None))


def sign_out_everywhere(user):
    """Every sign-in of the user ends, and the session token changes (cookies of any age stop working): at the
    user's wish, and after a password change or a deactivation."""
    _end(user.id)
    user.session_token = secrets.token_hex(16)
    db.session.flush()


def active_sign_ins(user):
    """The user's live sign-ins, the most recently seen first (one query)."""
    return db.session.scalars(sa.select(SignIn).where(SignIn.user_id == user.id, SignIn.ended_at.is_(None))
                              .order_by(SignIn.last_seen_at.desc(), SignIn.id.desc())).all()
