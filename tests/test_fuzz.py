"""Fuzzing every form and the JSON API with generated input (hypothesis): thousands of requests, signed in as an
editor of one organization and as an MOA user, with text, numbers, dates and control characters in every field
the views read. No answer is a 500 or a traceback, and a refused request (4xx) writes nothing.

The routes are found, not listed (tests/test_robustness.py's walker), so forms added later are fuzzed too.
EXAMPLES per test × the htmx and plain variants of each example ≈ the request count (≥ 5,000 in all)."""
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from obcms.extensions import db
from tests import world as world_module
from tests.world import row_counts

from . import test_robustness as robustness
from .test_robustness import check, field_names, shape_problem, urls

world = world_module.world  # the fixtures
unhandled = robustness.unhandled
EXAMPLES = 1300
# Routes that end the client's own session, or only read: not what this fuzzes.
NOT_FUZZED = ("auth.",)

values = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=12),
    st.integers(min_value=-(10**40), max_value=10**40).map(str),
    st.decimals(allow_nan=True, allow_infinity=True, places=3).map(str),
    st.dates().map(str),
    st.sampled_from(["", " ", "0", "-1", "2147483648", "1,2,3", "1_000", "１２３", "1e999", "NaN", "9999-12-31",
                     "0001-01-01", "2026-02-30", "root", "up", "down", "y", "on", "\x00", "<b>x</b>", "%", "₱ 1,000.50"]),
)


def fuzz(app, client, token, world, users, unhandled, data):
    """Draw a POST route and a body for it, send it plain and as htmx; collect what went wrong."""
    routes = [r for r in urls(app, "POST", world, users) if not r[0].startswith(NOT_FUZZED)]
    endpoint, url, args = data.draw(st.sampled_from(routes), label="route")
    names = data.draw(st.lists(st.sampled_from(field_names(world)), max_size=8, unique=True), label="fields")
    body = {name: data.draw(values, label=name) for name in names}
    problems = []
    for htmx in (False, True):
        before = row_counts()
        response = check(client, "POST", endpoint, url, problems, f"fuzzed {body!r}"[:300], htmx, unhandled,
                         query_string=args, data={**body, "csrf_token": token})
        db.session.expire_all()
        if response is not None and response.status_code >= 400 and row_counts() != before:
            problems.append(f"POST {url} ({endpoint}) refused with {response.status_code} but wrote rows: {body!r}")
    assert not problems, "\n".join(problems)


@pytest.mark.slow
@pytest.mark.parametrize("role", ["oobc_staff", "moa_staff"])
def test_fuzzed_forms_never_answer_500_and_refusals_write_nothing(app, client_as, csrf_token, users, world,
                                                                   unhandled, role):
    client = client_as(role)
    token = csrf_token(client)

    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(data=st.data())
    def run(data):
        fuzz(app, client, token, world, users, unhandled, data)

    run()


@pytest.mark.slow
def test_fuzzed_api_requests_are_json_problems_never_500(client, client_as, world):
    signed_in = client_as("moa_staff")

    @settings(max_examples=EXAMPLES // 2, deadline=None, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(ppa_id=st.one_of(st.just(world.ppa.id), st.integers(min_value=0, max_value=2**40)),
           query=st.dictionaries(st.text(max_size=10), st.text(max_size=20), max_size=4),
           authorization=st.one_of(st.none(), st.text(max_size=60).map("Bearer {}".format)),
           as_browser=st.booleans())
    def run(ppa_id, query, authorization, as_browser):
        headers = {"Authorization": authorization} if authorization and not {"\r", "\n"} & set(authorization) else {}
        url = f"/api/v1/ppas/{ppa_id}/budget-allocation-tree"
        response = (signed_in if as_browser else client).get(url, query_string=query, headers=headers)
        problem = shape_problem(url, response, htmx=False)
        assert problem is None, f"GET {url} {query!r} {headers!r} → {problem}"

    run()
