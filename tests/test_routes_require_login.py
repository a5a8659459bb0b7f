"""Every registered route refuses anonymous visitors, except the allow-list. Generic on purpose: routes other
domains add later are walked too, with no change here."""
import re
import uuid

from werkzeug.routing import AnyConverter, FloatConverter, IntegerConverter, PathConverter, UUIDConverter

# The only endpoints an anonymous visitor may reach (a calendar feed: its secret token is the key; the metrics:
# a token or an allowed address, tests/ops/test_metrics.py).
ALLOW_LIST = {"auth.login", "ops.health", "metrics.metrics", "static", "admin.static", "calendar.feed"}
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def dummy_value(converter):
    if isinstance(converter, IntegerConverter):
        return 1
    if isinstance(converter, FloatConverter):
        return 1.0
    if isinstance(converter, UUIDConverter):
        return uuid.UUID(int=1)
    if isinstance(converter, AnyConverter):
        return next(iter(converter.items))
    if isinstance(converter, PathConverter):
        return "x/y"
    return "x"


def walkable_routes(app):
    """(endpoint, method, url) for every method of every rule outside the allow-list, with dummy values for its
    converters."""
    routes = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint in ALLOW_LIST:
            continue
        values = {name: dummy_value(conv) for name, conv in rule._converters.items()}
        built = rule.build(values, append_unknown=False)
        assert built is not None, f"cannot build {rule.rule} from dummy values {values}: extend dummy_value()"
        routes.extend((rule.endpoint, method, built[1]) for method in METHODS if method in rule.methods)
    return routes


def anonymous_csrf_token(client):
    """A valid token for the anonymous session, so a refusal below is about signing in, not about CSRF."""
    html = client.get("/login").get_data(as_text=True)
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)


def refusal_problem(endpoint, method, url, response):
    """None when the response sends the visitor to sign in, else a description of what came back."""
    if url.startswith("/api/") and endpoint != "api.docs":  # the API's reference is a page: sign-in redirect
        body = response.get_json(silent=True) or {}
        if response.status_code == 401 and body.get("status") == 401:
            return None
    elif response.status_code == 302 and response.headers.get("Location", "").startswith("/login"):
        return None
    return f"{method} {url} ({endpoint}) → {response.status_code} {response.headers.get('Location', '')}"


def test_every_route_but_the_allow_list_requires_sign_in(app):
    client = app.test_client()
    headers = {"X-CSRFToken": anonymous_csrf_token(client)}
    routes = walkable_routes(app)
    assert {"home.index", "auth.logout", "admin.index"} <= {endpoint for endpoint, _, _ in routes}
    problems = []
    for endpoint, method, url in routes:
        response = client.open(url, method=method, headers=headers)
        problem = refusal_problem(endpoint, method, url, response)
        if problem:
            problems.append(problem)
    assert not problems, "reachable without signing in:\n" + "\n".join(problems)


def test_json_clients_get_a_401_problem_instead_of_a_redirect(client):
    response = client.get("/", headers={"Accept": "application/json"})
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["error"] == "unauthorized"


def test_htmx_requests_get_401_with_hx_redirect_to_sign_in(client):
    response = client.get("/", headers={"HX-Request": "true"})
    assert response.status_code == 401
    assert response.headers["HX-Redirect"].startswith("/login")


def test_the_allow_list_is_reachable_without_signing_in(client):
    assert client.get("/login").status_code == 200
    assert client.get("/health").status_code == 200
    assert client.get("/static/css/app.css").status_code == 200
    assert client.get("/calendar/feeds/unknown.ics").status_code == 404  # no sign-in page: the token is the key
