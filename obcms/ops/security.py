"""Security headers and the allowed-hosts check."""
from flask import request
from werkzeug.exceptions import BadRequest

CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; "
       "frame-ancestors 'none'; base-uri 'self'; form-action 'self'")
# Flask-Admin's pages use inline scripts (delete confirmation), so its CSP is relaxed.
ADMIN_CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
             "script-src 'self' 'unsafe-inline'; frame-ancestors 'none'")


def init_security(app):
    # One host check, here, rather than Flask's TRUSTED_HOSTS: with that, a request for another host has no URL
    # adapter and its error page (which builds URLs) cannot render.
    @app.before_request
    def check_host():
        allowed = app.config.get("ALLOWED_HOSTS")
        if allowed and request.host.split(":")[0] not in allowed:
            raise BadRequest("Unknown host.")

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
