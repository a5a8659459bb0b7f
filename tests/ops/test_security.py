"""Session cookies, security headers and the Content-Security-Policy: HttpOnly + SameSite cookies (Secure in
production), HSTS in production only, a CSP without inline scripts outside /admin, and templates that need no
inline script or event-handler attribute (the CSP would block them)."""
import re
import secrets
from pathlib import Path

import pytest

from config import ProductionConfig
from obcms import create_app
from obcms.ops.security import ADMIN_CSP, CSP
from tests.conftest import TEST_PASSWORD

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
HOST = "https://obcms.example.gov.ph"


@pytest.fixture
def production(database_url):
    return create_app(ProductionConfig, SECRET_KEY=secrets.token_urlsafe(64), DEBUG=False,
                      ALLOWED_HOSTS=["obcms.example.gov.ph"], SQLALCHEMY_DATABASE_URI=database_url,
                      RATELIMIT_ENABLED=False)


def cookies(response):
    """{name: Set-Cookie header} of a response."""
    return {h.split("=", 1)[0]: h for h in response.headers.getlist("Set-Cookie")}


def sign_in(client, base_url, remember=False):
    html = client.get("/login", base_url=base_url).get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
    data = {"login": "oobc_staff", "password": TEST_PASSWORD, "csrf_token": token}
    if remember:
        data["remember"] = "y"
    return client.post("/login", data=data, base_url=base_url, headers={"Referer": f"{base_url}/login"})


def test_session_and_remember_cookies_are_http_only_same_site_and_secure_in_production(production, users):
    response = sign_in(production.test_client(), HOST, remember=True)
    assert response.status_code == 302
    set_cookies = cookies(response)
    assert {"session", "remember_token"} <= set(set_cookies)
    for header in (set_cookies["session"], set_cookies["remember_token"]):
        assert "HttpOnly" in header and "SameSite=Lax" in header and "Secure" in header, header
    assert production.test_client().get("/health", base_url=HOST).headers["Strict-Transport-Security"] == \
        "max-age=31536000; includeSubDomains"


def test_cookies_outside_production_are_http_only_and_same_site_and_no_hsts(app, users):
    response = sign_in(app.test_client(), "http://localhost", remember=True)
    for header in cookies(response).values():
        assert "HttpOnly" in header and "SameSite=Lax" in header and "Secure" not in header
    assert "Strict-Transport-Security" not in response.headers


def test_pages_carry_the_strict_csp_and_admin_its_relaxed_one(client_as):
    client = client_as("admin")
    for url in ("/", "/ppas", "/work-items/", "/login", "/nowhere"):
        headers = client.get(url).headers
        assert headers["Content-Security-Policy"] == CSP, url
        assert headers["X-Frame-Options"] == "DENY" and headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "same-origin"
    assert client.get("/admin/").headers["Content-Security-Policy"] == ADMIN_CSP
    script_src = re.search(r"script-src ([^;]*)", CSP).group(1)
    assert script_src == "'self'" and "frame-ancestors 'none'" in CSP


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
EVENT_HANDLER = re.compile(r"<[^>]*\son[a-z]+\s*=", re.IGNORECASE)
JAVASCRIPT_URL = re.compile(r"(href|src|action)\s*=\s*[\"']?\s*javascript:", re.IGNORECASE)


def test_templates_have_no_inline_script_or_event_handler_attributes():
    """CSP script-src 'self' blocks both; behaviour lives in static/js (htmx hx-* attributes are fine)."""
    found = []
    for path in TEMPLATES.rglob("*.html"):
        text = path.read_text()
        for pattern in (INLINE_SCRIPT, EVENT_HANDLER, JAVASCRIPT_URL):
            found.extend(f"{path.relative_to(TEMPLATES)}: {m.group(0)[:80]}" for m in pattern.finditer(text))
    assert not found, "\n".join(found)
