"""The OpenAPI document: valid 3.1, complete against API.md §3, and true to the running app."""

import re
from typing import Any

import jsonschema
import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.specs.openapi.definitions import OPENAPI_31_VALIDATOR

from app.config import Settings
from app.main import create_app
from tests.conftest import AUTH

# Schemathesis 3 validates 3.1 documents (JSON Schema 2020-12) only with this switched on.
schemathesis.experimental.OPEN_API_3_1.enable()

CONTRACT = {
    ("get", "/v1/articles"),
    ("get", "/v1/articles/{}"),
    ("get", "/v1/articles/{}/related"),
    ("get", "/v1/articles/{}/source"),
    ("delete", "/v1/articles/{}"),
    ("get", "/v1/providers"),
    ("get", "/v1/providers/{}"),
    ("get", "/v1/providers/{}/articles"),
    ("get", "/v1/topics"),
    ("get", "/v1/topics/{}"),
    ("get", "/v1/topics/{}/articles"),
    ("post", "/v1/uploads"),
    ("get", "/v1/uploads/{}"),
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/metrics"),
}
KEYED = {("delete", "/v1/articles/{}"), ("post", "/v1/uploads"), ("get", "/v1/uploads/{}")}
PROBLEM_REF = {"$ref": "#/components/schemas/ProblemOut"}


@pytest.fixture(scope="module")
def document(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    # The document does not depend on the data: an unmigrated database will do.
    url = f"sqlite:///{tmp_path_factory.mktemp('openapi') / 'unused.db'}"
    app = create_app(Settings(database_url=url, _env_file=None))  # type: ignore[call-arg]
    with TestClient(app) as client:
        response = client.get("/openapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body: dict[str, Any] = response.json()
    return body


def operations(doc: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (method, re.sub(r"\{[^}]+\}", "{}", path)): operation
        for path, item in doc["paths"].items()
        for method, operation in item.items()
    }


def refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [r for value in node.values() for r in refs(value)]
    if isinstance(node, list):
        return [r for value in node for r in refs(value)]
    return []


def lookup(doc: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/components/"), ref
    node: Any = doc
    for part in ref[2:].split("/"):
        node = node[part]
    return node


def has_examples(doc: dict[str, Any], node: Any, seen: frozenset[str] = frozenset()) -> bool:
    """Whether a schema, following references, documents an example anywhere."""
    if isinstance(node, dict):
        if node.get("examples") or "example" in node:
            return True
        ref = node.get("$ref")
        if isinstance(ref, str) and ref not in seen:
            return has_examples(doc, lookup(doc, ref), seen | {ref})
        return any(has_examples(doc, value, seen) for value in node.values())
    if isinstance(node, list):
        return any(has_examples(doc, value, seen) for value in node)
    return False


def test_document_is_valid_openapi_3_1(document):
    assert document["openapi"].startswith("3.1.")
    OPENAPI_31_VALIDATOR.validate(document)
    for schema in document["components"]["schemas"].values():
        jsonschema.Draft202012Validator.check_schema(schema)
    for ref in refs(document):
        lookup(document, ref)  # every reference resolves
    ids = [op["operationId"] for op in operations(document).values()]
    assert len(ids) == len(set(ids))


def test_every_contract_endpoint_is_documented_with_examples(document):
    ops = operations(document)
    assert set(ops) >= CONTRACT
    for key in CONTRACT:
        op = ops[key]
        assert op.get("summary") and op.get("tags"), key
        success = next(code for code in op["responses"] if code.startswith("2"))
        content = op["responses"][success].get("content", {})
        if key[0] == "delete":
            assert success == "204" and not content
            continue
        assert content, key
        if "application/json" in content and key[1].startswith("/v1/"):
            assert has_examples(document, content["application/json"]["schema"]), key
    listing = {p["name"]: p for p in ops[("get", "/v1/articles")]["parameters"]}
    assert {"minQuality", "maxQuality", "minHeat", "maxHeat", "topic", "provider", "tag", "q",
            "url", "includeStubs", "published", "sort", "limit", "cursor", "count",
            "facets"} <= set(listing)  # fmt: skip
    assert listing["sort"].get("examples") or listing["sort"]["schema"].get("examples")


def test_errors_are_documented_as_problem_documents(document):
    for key, op in operations(document).items():
        for status, response in op["responses"].items():
            if status[0] in "45":
                content = response["content"]
                assert content["application/problem+json"] == {"schema": PROBLEM_REF}, key
                assert content.get("application/json") != {"schema": PROBLEM_REF}, key
    readyz = operations(document)[("get", "/readyz")]["responses"]
    assert "503" in readyz


def test_writes_declare_the_bearer_scheme(document):
    schemes = document["components"]["securitySchemes"]
    [(name, scheme)] = schemes.items()
    assert scheme["type"] == "http" and scheme["scheme"].lower() == "bearer"
    ops = operations(document)
    for key in KEYED:
        assert {name: []} in ops[key]["security"], key
        assert "401" in ops[key]["responses"], key
    assert "security" not in ops[("get", "/v1/articles")]


# --- schemathesis: the running app against its own document ----------------------------------


def response_schema_of_its_media_type(ctx: Any, response: Any, case: Any) -> bool | None:
    """response_schema_conformance, against the schema of the media type answered.

    Schemathesis 3 checks a body against the first media type documented for its status,
    but the upload's 422 is a report (application/json) or a problem document.
    """
    responses = case.operation.definition.raw["responses"]
    content = responses.get(str(response.status_code), {}).get("content", {})
    if len(content) < 2:
        return response_schema_conformance(ctx, response, case)
    media = response.headers["content-type"].split(";")[0].strip()
    assert media in content, f"{media} is not documented for {response.status_code}"
    # Local references resolve against the schema itself, so carry the components along.
    schema = {
        **content[media]["schema"],
        "components": case.operation.schema.raw_schema["components"],
    }
    errors = [
        e.message for e in jsonschema.Draft202012Validator(schema).iter_errors(response.json())
    ]
    assert not errors, f"{response.status_code} {media} body violates its schema: {errors}"
    return None


CHECKS = (
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_of_its_media_type,
)
FUZZ = settings(
    max_examples=30,
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)


def existing(client: TestClient) -> dict[str, list[str]]:
    """Path parameter values that name seeded resources, so reads also answer 200."""
    articles = client.get(
        "/v1/articles", params={"limit": "100", "includeStubs": "true"}, headers=AUTH
    ).json()["items"]
    hidden = client.get("/v1/articles", params={"published": "false"}, headers=AUTH).json()
    topics = [t["slug"] for t in client.get("/v1/topics", params={"limit": "100"}).json()["items"]]
    domains = [p["domain"] for p in client.get("/v1/providers").json()["items"]]
    upload = client.post(
        "/v1/uploads",
        content=b"---\ntitle: Fuzzed\nwebUrl: https://example.com/fuzzed\n---\n",
        headers={"Content-Type": "text/markdown", **AUTH},
    ).json()
    return {
        "article_id": [a["id"] for a in articles + hidden["items"]],
        "key": topics + domains,
        "upload_id": [upload["id"]],
    }


def fuzz(client: TestClient, headers: dict[str, str], paths: tuple[str, ...] = ("/",)) -> list[str]:
    """Run the operations under `paths`; return a description of each failing one."""
    known = existing(client)
    schema = schemathesis.from_asgi("/openapi.json", client.app)
    failures = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if not operation.path.startswith(paths):
            continue
        cases = operation.as_strategy()
        names = [p.name for p in operation.path_parameters]
        # Deleting seeded articles would leave later operations nothing to find.
        if names and operation.method.upper() != "DELETE":
            chosen = st.fixed_dictionaries({n: st.sampled_from(known[n]) for n in names})
            cases = st.one_of(cases, st.tuples(cases, chosen).map(with_path_parameters))

        @FUZZ
        @given(case=cases)
        def check(case: Any) -> None:
            response = case.call(headers=headers)
            case.validate_response(response, checks=CHECKS)

        try:
            check()
        except Exception as exc:  # noqa: BLE001 - collected to report every operation at once
            failures.append(f"{operation.verbose_name}: {exc}")
    return failures


def with_path_parameters(pair: tuple[Any, dict[str, str]]) -> Any:
    case, values = pair
    case.path_parameters = {**(case.path_parameters or {}), **values}
    return case


def test_schemathesis_without_key(seeded):
    failures = fuzz(seeded, {})
    assert not failures, "\n\n".join(failures)


def test_schemathesis_with_key(seeded):
    # The key matters for writes, uploads and unpublished articles.
    failures = fuzz(seeded, AUTH, paths=("/v1/articles", "/v1/uploads"))
    assert not failures, "\n\n".join(failures)
