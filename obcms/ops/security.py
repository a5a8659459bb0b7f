"""Security headers, the allowed-hosts check and the input guard every request passes first."""
from urllib.parse import urlsplit

from flask import request
from flask.json.provider import DefaultJSONProvider
from werkzeug.exceptions import BadRequest
from werkzeug.routing import IntegerConverter

from ..ids import MAX_ID

CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; "
       "frame-ancestors 'none'; base-uri 'self'; form-action 'self'")
# Flask-Admin's pages use inline scripts (delete confirmation), so its CSP is relaxed.
ADMIN_CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
             "script-src 'self' 'unsafe-inline'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'")

class IdConverter(IntegerConverter):
    """`<int:…>` in every route: a non-negative integer no larger than MAX_ID (a larger one matches no route:
    404, where the database would refuse it as out of range: 500)."""

    def __init__(self, map, fixed_digits=0, min=None, max=None, signed=False):
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=MAX_ID if max is None else max, signed=signed)


def contains_nul(text):
    return "\x00" in text


def _json_body_has_nul():
    """A NUL in a JSON body, raw or escaped (\\u0000), found in the bytes: the guard never parses the body, so
    no body (100,000 nested brackets, say) can make it recurse."""
    body = request.get_data(cache=True).lower()
    return b"\x00" in body or b"\\u0000" in body


def _request_has_nul():
    if contains_nul(request.path) or any(contains_nul(value) for value in request.headers.values()):
        return True
    if any(contains_nul(k) or contains_nul(v) for k, v in request.args.items(multi=True)):
        return True
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        if any(contains_nul(k) or contains_nul(v) for k, v in request.form.items(multi=True)):
            return True
        if request.is_json and _json_body_has_nul():
            return True
    return False


class BoundedJSONProvider(DefaultJSONProvider):
    """JSON bodies nested deeper than Python's decoder can follow are bad input (a 400 where a view reads
    them; None for get_json(silent=True)), never a RecursionError and a 500."""

    def loads(self, s, **kwargs):
        try:
            return super().loads(s, **kwargs)
        except RecursionError:
            raise ValueError("The JSON body is nested too deeply.") from None


def init_url_converters(app):
    """Call before any blueprint is registered (rules bind their converters when added)."""
    app.url_map.converters["int"] = IdConverter


def init_security(app):
    app.json = BoundedJSONProvider(app)

    # One host check, here, rather than Flask's TRUSTED_HOSTS: with that, a request for another host has no URL
    # adapter and its error page (which builds URLs) cannot render.
    @app.before_request
    def check_host():
        """Host names compare case-insensitively (DNS does), with or without a port, IPv6 literals too."""
        allowed = app.config.get("ALLOWED_HOSTS")
        if allowed and (urlsplit("//" + request.host).hostname or "") not in {host.lower() for host in allowed}:
            raise BadRequest("Unknown host.")

    @app.before_request
    def reject_nul_characters():
        """No text with a NUL character reaches a query: PostgreSQL refuses it (a 500 otherwise). One check
        for the URL, headers, query string, form and JSON body of every request, before any view runs."""
        if _request_has_nul():
            raise BadRequest("The request contains a NUL character (\\x00), which no field accepts. "
                             "Remove it and try again.")

    @app.after_request
    def security_headers(response):
        headers = response.headers
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault("Content-Security-Policy", ADMIN_CSP if request.path.startswith("/admin") else CSP)
        if app.config.get("HSTS"):
            headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        return response
