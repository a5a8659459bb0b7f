"""Bad input never breaks the app: every GET route, signed in as every role, with real ids, missing ids and
hostile query arguments answers without a 500 or a traceback, and its 4xx answers take the right shape (a JSON
problem under /api/, a fragment for htmx, a page otherwise); every POST route with an empty body, garbage
fields or NUL characters (and a valid CSRF token) answers without a 500 and writes nothing.

Generic on purpose: routes added later are walked too, with no change here (extend `route_values` when a new
kind of URL parameter appears)."""
import logging
import re

import pytest
from werkzeug.routing import AnyConverter, IntegerConverter

from obcms.extensions import db
from obcms.ids import MAX_ID
from tests import world as world_module
from tests.world import row_counts

world = world_module.world  # the fixture

ROLES = ("admin", "oobc_executive", "oobc_staff", "moa_staff", "mfbm_analyst", "bpda_planner", "viewer",
         "other_moa_staff")
SKIPPED = {"static", "admin.static", "auth.login", "auth.logout"}  # sign-in and sign-out have their own tests
MISSING_ID = 999_999_999

# The query and form argument names the views read (page, filters, forms' prefixed fields …).
ARG_NAMES = ("page", "per_page", "page_size", "sort", "dir", "desc", "q", "search", "open", "fy", "fiscal_year",
             "category", "sector", "moa", "status", "approval", "template", "policy", "method", "amount", "from",
             "unread", "object_type", "object_id", "user", "action", "date_from", "date_to", "id", "url", "next",
             "version", "comment", "confirm", "direction", "title", "work_type", "kind", "tranche_date", "source",
             "remarks", "progress", "start_date", "due_date", "allocated_budget", "organization_id", "transition",
             "flt1_0", "rowid", "parent", "before", "v-1", "weight-1", "amount-1", "organization")

HOSTILE_QUERIES = {
    "nul": dict.fromkeys(ARG_NAMES, "x\x00y"),
    "long": dict.fromkeys(ARG_NAMES, "A" * 5000),
    "numbers": dict(dict.fromkeys(ARG_NAMES, "-1"), page="-1", per_page=str(10**12), page_size=str(10**12),
                    sort="unknown", dir="sideways", open="1,abc,,x,99999999999999999999999", fy="abc",
                    fiscal_year="abc", object_id=str(2**70), moa=str(2**64), id=str(2**70),
                    date_from="2026-13-45", date_to="0000-00-00", amount="1e999"),
    "huge": dict(dict.fromkeys(ARG_NAMES, str(2**64)), page="99999999", open=",".join(["9" * 30] * 50),
                 date_from="9999-12-31", date_to="0001-01-01", amount="99999999999999999999.999"),
    "unicode_digits": dict(dict.fromkeys(ARG_NAMES, "²³"), page="abc", fy="²", object_id="²", moa="٣", id="²",
                           open="²,٣,1", parent="²"),
    "markup": dict.fromkeys(ARG_NAMES, "<script>alert(1)</script>'\"); DROP TABLE ppas; --"),
}
HOSTILE_BODIES = {
    "empty": lambda names: {},
    "garbage": lambda names: dict.fromkeys(names, "garbage"),
    "nul": lambda names: dict.fromkeys(names, "\x00"),
    "long": lambda names: dict.fromkeys(names, "9" * 5000),
    "negative": lambda names: dict.fromkeys(names, "-1e999"),
    "unicode_digits": lambda names: dict.fromkeys(names, "²"),
}


def field_names(world):
    """ARG_NAMES as sent plain and with the prefixes the work-item forms give their fields (project-, n<id>-,
    e<id>-, m<id>-), plus the distribution modal's per-child fields."""
    names = set(ARG_NAMES)
    for node in (world.leaf, world.root):
        for prefix in ("project-", f"n{node.id}-", f"e{node.id}-", f"m{node.id}-"):
            names.update(prefix + name for name in ARG_NAMES)
        names.update(f"{kind}-{node.id}" for kind in ("v", "weight", "amount"))
    return sorted(names)
# POST routes for which an empty body is a complete, valid request (they may write).
COMPLETE_WITHOUT_FIELDS = {"ppa_tracking.sync_now", "notifications.read", "notifications.read_all", "jobs.run_now",
                           "budget.restore", "reports.unlink_policy", "auth.revoke_api_token"}


def route_values(rule, ids, missing=False):
    """[{parameter: value}] for a rule: the given ids (World.ids()) or missing ones, every value of an `any(…)`."""
    variants = [{}]
    for name, converter in rule._converters.items():
        if isinstance(converter, IntegerConverter):
            values = [MISSING_ID, MAX_ID] if missing else [ids[name]]
        elif isinstance(converter, AnyConverter):
            values = list(converter.items)
        elif name == "object_type":
            values = ["ppa", "work_item", "no_such_type"]
        elif name == "transition":
            values = ["submit", "no_such_transition"]
        elif name == "export_type":
            values = ["csv", "nonsense"]
        elif name == "job_name":  # the Jobs page (ping is harmless to run)
            values = ["ping", "no_such_job"]
        elif name == "token":  # a calendar feed's secret
            values = ["no-such-token"] if missing else [ids["token"], "no-such-token"]
        else:
            raise AssertionError(f"{rule.rule}: no value for <{name}>; extend route_values()")
        variants = [{**v, name: value} for v in variants for value in values]
    for v in variants:
        if v.get("object_type") == "work_item" and "object_id" in v and not missing:
            v["object_id"] = ids["item_id"]
    return variants


def admin_args(endpoint, world, users):
    """Flask-Admin's detail/edit pages read ?id=."""
    ids = {"user": users["moa_staff"].id, "organization": users["moa_staff"].organization_id,
           "jobrun": world.job_run.id}
    view = endpoint.split(".")[0]
    return {"id": ids[view]} if view in ids and endpoint.endswith(("details_view", "edit_view")) else {}


def urls(app, method, world, users, missing=False, ids=None):
    """(endpoint, url, query args) for every `method` route; with `missing` or `ids` (another organization's,
    World.ids() shaped) only the routes that take an id."""
    out = []
    for rule in app.url_map.iter_rules():
        if method not in rule.methods or rule.endpoint in SKIPPED:
            continue
        if (missing or ids) and not any(isinstance(c, IntegerConverter) for c in rule._converters.values()):
            continue
        for values in route_values(rule, ids or world.ids(), missing):
            with app.test_request_context():
                url = app.url_map.bind("localhost").build(rule.endpoint, values, method=method)
            out.append((rule.endpoint, url, admin_args(rule.endpoint, world, users)))
    return out


def shape_problem(url, response, htmx):
    """None when the response is acceptable, else what is wrong with it."""
    body = response.get_data(as_text=True)
    if response.status_code >= 500:
        return f"{response.status_code}"
    if "Traceback" in body or "werkzeug.debug" in body.lower():
        return "a traceback in the body"
    if response.status_code < 400:
        return None
    if url.startswith("/api/"):
        problem = response.get_json(silent=True) or {}
        if response.mimetype != "application/problem+json" or problem.get("status") != response.status_code:
            return f"{response.status_code}: not a JSON problem ({response.mimetype})"
    elif htmx and response.status_code not in (401, 409, 422):  # views answer 409/422 with their own form
        if "<html" in body:
            return f"{response.status_code}: a whole page for an htmx request"
    elif not htmx and "<html" not in body:
        return f"{response.status_code}: not a page ({response.mimetype}) {body[:80]!r}"
    return None


class UnhandledErrors(logging.Handler):
    """Keeps the last error obcms.errors logged for a 500, to name it in the report."""

    def __init__(self):
        super().__init__(logging.ERROR)
        self.last = None

    def emit(self, record):
        if record.exc_info:
            self.last = f"{record.exc_info[0].__name__}: {str(record.exc_info[1])[:200]}"


@pytest.fixture
def unhandled():
    handler = UnhandledErrors()
    logger = logging.getLogger("obcms.errors")
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)


def check(client, method, endpoint, url, problems, label, htmx=False, unhandled=None, **kwargs):
    headers = {"HX-Request": "true"} if htmx else {}
    if unhandled:
        unhandled.last = None
    try:
        response = client.open(url, method=method, headers=headers, buffered=True, **kwargs)
        problem = shape_problem(url, response, htmx)
    except Exception as error:  # the test app propagates what would be a 500 in production
        response, problem = None, f"raised {type(error).__name__}: {str(error)[:200]}"
    if problem:
        cause = f" ({unhandled.last})" if unhandled and unhandled.last else ""
        problems.append(f"{method} {url} ({endpoint}, {label}{', htmx' if htmx else ''}) → {problem}{cause}")
    return response


@pytest.mark.slow
@pytest.mark.parametrize("role", ROLES)
def test_get_routes_never_answer_500(app, client_as, users, world, unhandled, role):
    client = client_as(role)
    problems = []
    for endpoint, url, args in urls(app, "GET", world, users):
        for htmx in (False, True):
            check(client, "GET", endpoint, url, problems, "normal", htmx, unhandled, query_string=args)
        for name, query in HOSTILE_QUERIES.items():
            check(client, "GET", endpoint, url, problems, name, name == "numbers", unhandled,
                  query_string={**query, **args})
    for endpoint, url, args in urls(app, "GET", world, users, missing=True):
        for htmx in (False, True):
            check(client, "GET", endpoint, url, problems, "missing id", htmx, unhandled, query_string=args)
    assert not problems, f"{len(problems)} bad answers as {role}:\n" + "\n".join(problems[:60])


def test_nul_anywhere_is_a_400_before_any_view(client_as):
    client = client_as("oobc_staff")
    for kwargs in ({"query_string": {"q": "a\x00b"}}, {"query_string": {"a\x00": "1"}},
                   {"headers": {"HX-Current-URL": "http://localhost/?open=1\x00"}}):
        response = client.get("/ppas", **kwargs)
        assert response.status_code == 400, kwargs
        assert "NUL character" in response.get_data(as_text=True)
    assert client.get("/ppas/%00").status_code in (400, 404)
    api = client.get("/api/v1/ppas/1/budget-allocation-tree", query_string={"x": "\x00"})
    assert api.status_code == 400 and api.mimetype == "application/problem+json"


def test_a_json_body_with_nul_is_refused(client_as, csrf_token):
    client = client_as("oobc_staff")
    response = client.post("/notifications/read-all", json={"note": ["ok", {"k": "\x00"}]},
                           headers={"X-CSRFToken": csrf_token(client)})
    assert response.status_code == 400


def test_ids_beyond_the_id_columns_range_match_no_route(client_as):
    client = client_as("admin")
    for value in (MAX_ID + 1, 2**64, 10**30):
        assert client.get(f"/ppas/{value}").status_code == 404
        assert client.get(f"/api/v1/ppas/{value}/budget-allocation-tree").get_json()["status"] == 404


def test_a_forged_request_id_header_is_replaced(client_as):
    response = client_as("admin").get("/nowhere", headers={"X-Request-ID": "x" * 500,
                                                           "Accept": "application/json"})
    assert response.status_code == 404
    assert re.fullmatch(r"[0-9a-f]{16}", response.get_json()["request_id"])
    plain = client_as("admin").get("/nowhere", headers={"X-Request-ID": "abc-123", "Accept": "application/json"})
    assert plain.get_json()["request_id"] == "abc-123"


@pytest.mark.slow
@pytest.mark.parametrize("role", ("admin", "oobc_staff", "moa_staff", "viewer", "other_moa_staff"))
def test_post_routes_with_bad_bodies_answer_without_500_and_write_nothing(app, client_as, csrf_token, users,
                                                                          world, unhandled, role):
    client = client_as(role)
    token = csrf_token(client)
    names = field_names(world)
    problems = []
    for missing in (False, True):
        for endpoint, url, args in urls(app, "POST", world, users, missing=missing):
            for name, make_body in HOSTILE_BODIES.items():
                body = make_body(names)
                for htmx in (False, True):
                    before = row_counts()
                    check(client, "POST", endpoint, url, problems, f"{name} body", htmx, unhandled,
                          query_string=args, data={**body, "csrf_token": token})
                    db.session.expire_all()
                    after = row_counts()
                    if before != after and endpoint not in COMPLETE_WITHOUT_FIELDS:
                        changed = {k: (before[k], after[k]) for k in before if before[k] != after[k]}
                        problems.append(f"POST {url} ({endpoint}, {name} body) wrote rows: {changed}")
    assert not problems, f"{len(problems)} bad answers as {role}:\n" + "\n".join(problems[:60])


def test_an_oversized_body_is_a_413_not_a_500(client_as, csrf_token):
    client = client_as("oobc_staff")
    size = client.application.config["MAX_CONTENT_LENGTH"] + 1
    response = client.post("/notifications/read-all", data={"csrf_token": csrf_token(client), "x": "a" * size})
    assert response.status_code == 413 and "<html" in response.get_data(as_text=True)
    problem = client.post("/notifications/read-all", data=b"a" * size,
                          headers={"Content-Type": "application/json", "Accept": "application/json"})
    assert problem.status_code == 413 and problem.get_json()["status"] == 413


def test_malformed_bearer_tokens_are_a_401_problem(client):
    for header in ("Bearer " + "x" * 10000, "Bearer", "Bearer ", "Basic abc", "Bearer ü€", "bearer a b c"):
        response = client.get("/api/v1/ppas/1/budget-allocation-tree", headers={"Authorization": header})
        assert response.status_code == 401 and response.mimetype == "application/problem+json", header


def test_a_deeply_nested_json_body_is_refused_without_a_500(app, client, client_as, csrf_token):
    deep = "[" * 100_000
    for url in ("/health", "/api/v1/ppas/1/budget-allocation-tree", "/notifications/read-all"):
        response = client.post(url, data=deep, headers={"Content-Type": "application/json"})
        assert 400 <= response.status_code < 500, (url, response.status_code)  # before sign-in too
    signed_in = client_as("oobc_staff")
    response = signed_in.post("/notifications/read-all", data=deep,
                              headers={"Content-Type": "application/json", "X-CSRFToken": csrf_token(signed_in)})
    assert response.status_code < 500
    with app.test_request_context("/", method="POST", data=deep, content_type="application/json"):
        from flask import request

        assert request.get_json(silent=True) is None  # too deep to follow: bad input, not a RecursionError
        with pytest.raises(Exception) as refused:
            request.get_json()
        assert getattr(refused.value, "code", None) == 400
