"""schemathesis over the API as served: the OpenAPI description is read from the app's /api/v1/openapi.json, so
every operation present is fuzzed (those added later too). For each operation it generates requests that fit
the description and requests that do not, and sends them on tests/world.py's world:

- with write tokens (an admin's and MSSD staff's, in turn): ≥ 2,000 cases in all; no answer ≥ 500, and each
  answer's status, content type, headers and body as documented;
- with no token: only 401s; with a read token: reads as documented, writes only 401/403 (save the refusals
  that come before sign-in: a NUL character is a 400, an address no route takes a 404);
- every undocumented method of a path: 405 with `Allow`; a body that is not JSON: 415, documented.

The seed is fixed (hypothesis' derandomize): CI sends the same cases each run. Failures are collected, not
shrunk, so one run lists them all in bounded time. schemathesis' pytest fixtures fail on pytest 9, so its
strategies are driven with hypothesis' `given` (docs STACK.md).
"""
import itertools
import math
from urllib.parse import unquote, urlsplit

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound

from obcms.bulk import services as bulk
from obcms.ppas.approval import APPROVAL_MACHINE
from tests import world as world_module

world = world_module.world  # the fixture

WRITE_CASES = 2100  # with write tokens, over every operation and both generation modes
OTHER_CASES = 8  # per operation and mode, with no token and with a read token
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]
MODES = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
SAFE = {"GET", "HEAD", "OPTIONS"}
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def known_values(world):
    """Path parameters naming the world's rows (ours, then another MOA's), so most cases reach real objects."""
    values = {name: [value] for name, value in world.ids().items()}
    values.update(ppa_id=[world.ppa.id, world.other.ppa.id], item_id=[world.leaf.id, world.other.leaf.id],
                  work_item_id=[world.leaf.id, world.other.leaf.id], node_id=[world.root.id, world.other.root.id],
                  tranche_id=[t.id for t in world.ppa.tranches][:1] or [1],
                  transition=[t.name for t in APPROVAL_MACHINE.transitions],
                  kind=list(bulk.KINDS), action=list(bulk.ACTIONS))
    return values


def strategy(operation, mode, values):
    """Cases with generated path parameters, and cases with combinations of known ones."""
    known = [p.name for p in operation.path_parameters if p.name in values]
    strategies = [operation.as_strategy(generation_mode=mode)]
    combinations = itertools.islice(itertools.product(*(values[name] for name in known)), 12) if known else ()
    for combination in combinations:
        fixed = dict(zip(known, combination, strict=True))
        strategies.append(operation.as_strategy(generation_mode=mode, path_parameters=fixed))
    return st.one_of(strategies)


def load_schema(app, headers):
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app, headers=headers)


def operations(schema):
    return [result.ok() for result in schema.get_all_operations()]


class Run:
    """Cases sent and distinct failures (by operation and kind)."""

    def __init__(self):
        self.sent = 0
        self.failures = {}

    def fail(self, operation, mode, problem, case):
        key = (operation.label, problem.splitlines()[0][:120])
        self.failures.setdefault(key, f"{operation.label} [{mode}] {problem}\n  {case.as_curl_command()}"[:1500])

    def report(self):
        return f"{len(self.failures)} distinct failures in {self.sent} cases:\n\n" + "\n\n".join(self.failures.values())


def fuzz(app, schema, tokens, examples, values, judge=None):
    """Send `examples` cases per operation and mode, the tokens' headers in turn; `judge(case, response)` names
    what else is wrong (a status this token should never get)."""
    client, run = app.test_client(), Run()
    for operation in operations(schema):
        for mode in MODES:
            fuzz_operation(run, client, operation, mode, tokens, examples, values, judge)
    return run


def fuzz_operation(run, client, operation, mode, tokens, examples, values, judge):
    @settings(max_examples=examples, derandomize=True, database=None, deadline=None,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(case=strategy(operation, mode, values))
    def send(case):
        headers = tokens[run.sent % len(tokens)]
        run.sent += 1
        response = case.call(session=client, headers=headers)
        problem = judge(case, response) if judge else None
        if problem:
            run.fail(operation, mode, problem, case)
        try:
            case.validate_response(response, checks=CHECKS, headers=headers)
        except FailureGroup as group:
            for failure in group.exceptions:
                run.fail(operation, mode, f"{failure.title}: {failure.message}"[:600], case)

    send()


@pytest.mark.slow
def test_write_tokens_get_only_documented_answers_never_500(app, bearer, world):
    tokens = [bearer("admin", "write"), bearer("moa_staff", "write")]
    schema = load_schema(app, tokens[0])
    per_operation = math.ceil(WRITE_CASES / len(operations(schema)) / len(MODES))
    run = fuzz(app, schema, tokens, per_operation, known_values(world))
    assert not run.failures, run.report()
    assert run.sent >= 2000


def refused_before_sign_in(app, response):
    """The two refusals that come before anyone is identified: a NUL character anywhere (400, the input guard of
    obcms/ops/security.py) and an address no route takes (404, e.g. a negative id)."""
    request = response.request
    if response.status_code == 400:
        body = request.body if isinstance(request.body, bytes) else (request.body or "").encode()
        sent = [request.url, *request.headers.values()]
        return any("%00" in text or "\x00" in text for text in sent) or b"\x00" in body or b"\\u0000" in body
    if response.status_code == 404:
        adapter, path = app.url_map.bind("localhost"), unquote(urlsplit(request.url).path)
        for method in METHODS:
            try:
                adapter.match(path, method=method)
            except (NotFound, MethodNotAllowed):
                continue
            except HTTPException:
                return False
            return False
        return True
    return False


@pytest.mark.slow
def test_without_a_token_every_operation_is_401(app, bearer, world):
    schema = load_schema(app, bearer("viewer"))

    def judge(case, response):
        if response.status_code == 401 or refused_before_sign_in(app, response):
            return None
        return f"{response.status_code} without a token (expected 401)"

    run = fuzz(app, schema, [{}], OTHER_CASES, known_values(world), judge)
    assert not run.failures, run.report()


@pytest.mark.slow
def test_a_read_token_reads_and_its_writes_are_refused(app, bearer, world):
    token = bearer("oobc_staff", "read")
    schema = load_schema(app, token)

    def judge(case, response):
        if case.method.upper() in SAFE or response.status_code in (401, 403) or refused_before_sign_in(app, response):
            return None
        return f"{response.status_code} for a write with a read token (expected 403)"

    run = fuzz(app, schema, [token], OTHER_CASES, known_values(world), judge)
    assert not run.failures, run.report()


def test_undocumented_methods_are_405_and_bodies_not_json_415_as_documented(app, api, bearer, world):
    headers = bearer("admin", "write")
    schema = load_schema(app, headers)
    values = known_values(world)
    problems = []
    for path, documented in schema.raw_schema["paths"].items():
        url = path.format(**{name: value[0] for name, value in values.items()})
        methods = {m.upper() for m in documented if m.upper() in METHODS}
        for method in sorted(set(METHODS) - methods):
            response = api.open(url, method=method, headers=headers, json={})
            allowed = {m.strip() for m in response.headers.get("Allow", "").split(",")}
            if (response.status_code, response.mimetype) != (405, "application/problem+json") or \
                    not methods <= allowed:
                problems.append(f"{method} {url}: {response.status_code} {response.mimetype}, Allow {allowed}")
        for method in sorted(methods):
            operation = documented[method.lower()]
            if "requestBody" not in operation:
                continue
            response = api.open(url, method=method, headers=headers, data="title=x",
                                content_type="application/x-www-form-urlencoded")
            refused_first = response.status_code in (403, 404)  # permission and scope come before the body
            if not (response.status_code == 415 or refused_first) or \
                    not {"415", str(response.status_code)} <= set(operation["responses"]):
                problems.append(f"{method} {url} with a form body: {response.status_code}, documented "
                                f"{sorted(operation['responses'])}")
    assert not problems, "\n".join(problems)
