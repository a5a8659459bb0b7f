"""The OpenAPI description is generated from the code, is 3.1 and lists the API's paths; the interactive
reference is served from vendored files under a strict Content-Security-Policy."""
import json
import re

JSON_ONLY = ("/api/v1/ppas", "/api/v1/ppas/{ppa_id}", "/api/v1/ppas/{ppa_id}/budget-allocation-tree",
             "/api/v1/ppas/{ppa_id}/transitions", "/api/v1/ppas/{ppa_id}/transitions/{transition}")


def refs(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from refs(value)


def test_the_description_parses_is_3_1_and_lists_the_paths(client_as):
    response = client_as("moa_staff").get("/api/v1/openapi.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    spec = json.loads(response.get_data(as_text=True))
    assert spec["openapi"].startswith("3.1")
    assert spec["info"]["title"] and spec["info"]["version"] == "1"
    assert set(JSON_ONLY) <= set(spec["paths"])
    assert set(spec["paths"]["/api/v1/ppas"]) >= {"get", "post"}
    assert "patch" in spec["paths"]["/api/v1/ppas/{ppa_id}"]
    assert "/api/v1/openapi.json" not in spec["paths"] and "/api/v1/docs" not in spec["paths"]
    for ref in refs(spec):  # every reference resolves
        _, section, kind, name = ref.split("/")
        assert name in spec[section][kind], ref
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if method == "parameters":
                continue
            assert operation["responses"] and operation.get("summary"), (method, path)
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    problem = spec["components"]["schemas"]["Problem"]["properties"]
    assert {"type", "title", "status", "detail", "errors"} <= set(problem)


def test_the_description_refuses_anonymous_readers_with_a_problem(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 401 and response.mimetype == "application/problem+json"


def test_a_token_reads_the_description(api, bearer):
    assert api.get("/api/v1/openapi.json", headers=bearer()).status_code == 200


def test_the_docs_page_is_vendored_and_csp_clean(client_as):
    client = client_as("viewer")
    response = client.get("/api/v1/docs")
    assert response.status_code == 200 and response.mimetype == "text/html"
    csp = response.headers["Content-Security-Policy"]
    script_src = re.search(r"script-src ([^;]*)", csp).group(1)
    assert script_src.strip() == "'self'"  # no inline scripts, no eval, no other origin
    html = response.get_data(as_text=True)
    assert "<script>" not in html and " on" + "load=" not in html
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sources and not [s for s in sources if s.startswith(("http:", "https:", "//"))], sources
    for source in sources:
        if source.startswith("/static/"):
            assert client.get(source).status_code == 200, source
    assert "/static/vendor/swagger-ui-5.35.0/swagger-ui-bundle.js" in sources
    assert "/api/v1/openapi.json" in html


def test_the_docs_page_sends_anonymous_people_to_sign_in(client):
    response = client.get("/api/v1/docs")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_tags_are_declared_once_each_used_and_every_operation_documents_its_answers(client_as):
    spec = client_as("viewer").get("/api/v1/openapi.json").get_json()
    declared = [tag["name"] for tag in spec["tags"]]
    used = set()
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if method == "parameters":
                continue
            assert operation.get("tags"), (method, path)
            used.update(operation["tags"])
            responses = operation["responses"]
            assert "default" not in responses, (method, path)  # every answer named by its status
            assert {"400", "401", "429", "503"} <= set(responses), (method, path)
    assert len(declared) == len(set(declared)) and set(declared) == used, declared
    assert "api" not in declared  # no empty group named after the blueprint
    limited = spec["components"]["responses"]["RATE_LIMITED"]
    assert {"Retry-After", "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"} <= set(limited["headers"])
