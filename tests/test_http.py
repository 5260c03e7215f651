"""HTTP conventions of API.md §1: problem documents, caching, CORS, gzip, health, headers."""

import gzip
from http import HTTPStatus
from pathlib import Path
from typing import Annotated, Any

import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app
from app.middleware import Cache
from tests.conftest import AUTH, statements

MARKDOWN = {"Content-Type": "text/markdown"}
CROSS_ORIGIN = "https://elsewhere.example"


def document(slug: str, title: str = "A fresh story about caching") -> bytes:
    return (
        f"---\ntitle: {title}\nwebUrl: https://news.example.org/{slug}\n"
        f"quality: 50\nheat: 5\n---\nBody of {slug}.\n"
    ).encode()


def upload(client: TestClient, slug: str) -> str:
    response = client.post("/v1/uploads", content=document(slug), headers={**MARKDOWN, **AUTH})
    assert response.status_code == 200, response.text
    article_id: str = response.json()["results"][0]["id"]
    return article_id


def assert_problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].split(";")[0] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert set(body) == {"type", "title", "status", "detail", "errors"}
    assert body["status"] == status
    assert body["title"] == HTTPStatus(status).phrase
    assert isinstance(body["type"], str) and body["type"]
    assert isinstance(body["detail"], str) and body["detail"]
    assert isinstance(body["errors"], list)
    for error in body["errors"]:
        assert set(error) in ({"field", "message"}, {"param", "message"}), error
    return body


def only_version_reads(seen: list[str]) -> bool:
    """Nothing but the data-version read (and the transaction around it) ran.

    On SQLite even that read may be skipped: PRAGMA data_version on a side connection
    says whether anything was committed since the last read.
    """
    queries = [s for s in seen if s.strip().upper() not in ("BEGIN", "COMMIT", "ROLLBACK")]
    return all("data_version" in s and "articles" not in s for s in queries)


def ids_of(response: Any) -> set[str]:
    return {item["id"] for item in response.json()["items"]}


@pytest.fixture
def unpublished_id(seeded: TestClient) -> str:
    response = seeded.get("/v1/articles", params={"published": "false"}, headers=AUTH)
    assert response.status_code == 200
    items = response.json()["items"]
    assert items, "the seeds hold an unpublished article"
    article_id: str = items[0]["id"]
    return article_id


# --- problem documents -------------------------------------------------------------------


def test_unknown_path_is_a_problem(client):
    body = assert_problem(client.get("/v1/nowhere"), 404)
    assert "/v1/nowhere" in body["detail"]
    assert_problem(client.get("/not-an-api-path"), 404)


def test_wrong_method_is_a_problem(client):
    response = client.put("/v1/articles", json={})
    body = assert_problem(response, 405)
    assert "PUT" in body["detail"]
    uploads = client.put("/v1/uploads", json={})
    assert_problem(uploads, 405)
    assert response.headers["allow"] == "GET, HEAD" and uploads.headers["allow"] == "POST"


@pytest.mark.parametrize(
    "path", ["/v1/articles?limit=100", "/v1/providers", "/healthz", "/openapi.json"]
)
def test_head_answers_as_get_without_a_body(seeded, path):
    got = seeded.get(path, headers={"Accept-Encoding": "identity"})
    for _ in range(2):  # a miss, then a response-cache hit for /v1
        head = seeded.head(path, headers={"Accept-Encoding": "identity"})
        assert head.status_code == 200 and head.content == b""
        assert int(head.headers["content-length"]) == len(got.content)
        for name in ("content-type", "etag", "cache-control", "vary"):
            assert head.headers.get(name) == got.headers.get(name), name
    revalidated = seeded.head(path, headers={"If-None-Match": got.headers["etag"]})
    assert revalidated.status_code == 304 and revalidated.content == b""


def test_head_of_a_missing_article_is_a_404_without_a_body(seeded):
    head = seeded.head("/v1/articles/ffffffffffffffff")
    assert head.status_code == 404 and head.content == b""
    assert head.headers["content-type"].startswith("application/problem+json")


def test_invalid_integer_is_a_problem_naming_the_param(client):
    body = assert_problem(client.get("/v1/articles", params={"minQuality": "high"}), 422)
    assert [e["param"] for e in body["errors"]] == ["minQuality"]
    assert "minQuality" in body["detail"]


def test_out_of_range_and_inverted_ranges_are_problems(client):
    body = assert_problem(client.get("/v1/articles", params={"limit": "0"}), 422)
    assert body["errors"][0]["param"] == "limit"
    body = assert_problem(
        client.get("/v1/articles", params={"minQuality": "60", "maxQuality": "40"}), 422
    )
    assert body["errors"][0]["param"] == "minQuality"


def test_unknown_query_parameter_is_a_problem(client):
    body = assert_problem(client.get("/v1/articles", params={"minQualty": "5"}), 422)
    assert body["errors"] == [{"param": "minQualty", "message": "unknown query parameter"}]
    assert "minQualty" in body["detail"]
    assert_problem(client.get("/v1/providers", params={"limit": "5", "zzz": "1"}), 422)


def test_malformed_cursor_is_a_bad_request(client):
    body = assert_problem(client.get("/v1/articles", params={"cursor": "not-a-cursor"}), 400)
    assert body["errors"][0]["param"] == "cursor"


def test_unknown_article_is_a_problem(client):
    assert_problem(client.get("/v1/articles/does-not-exist"), 404)


@pytest.mark.parametrize(
    "path",
    [
        "/v1/articles/a%00b",
        "/v1/articles/a%00b/related",
        "/v1/topics/a%00b",
        "/v1/providers/a%00b/articles",
        "/v1/uploads/%00",
        "/v1/providers?q=%00",
        "/v1/topics?q=a%00",
        "/v1/articles?q=%00&category=news",
    ],
)
def test_nul_characters_are_invalid_input_not_a_server_error(client, path):
    # PostgreSQL refuses NUL in text parameters; that must not surface as a 500.
    body = assert_problem(client.get(path, headers=AUTH), 422)
    assert "NUL" in body["detail"]


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Bearer wrong-key"}, {"Authorization": "Basic dGVzdC1rZXk="}]
)
def test_missing_or_invalid_key_is_401(client, headers):
    response = client.post("/v1/uploads", content=document("x"), headers={**MARKDOWN, **headers})
    body = assert_problem(response, 401)
    assert "API key" in body["detail"]
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert_problem(client.delete("/v1/articles/anything", headers=headers), 401)
    assert_problem(client.get("/v1/uploads/anything", headers=headers), 401)


def test_body_over_the_limit_is_413(make_client):
    small = make_client(max_request_bytes=64)
    body = assert_problem(
        small.post("/v1/uploads", content=document("big") * 4, headers={**MARKDOWN, **AUTH}), 413
    )
    assert "max_request_bytes" in body["detail"]
    # Without Content-Length the limit is enforced while reading.
    chunked = small.post(
        "/v1/uploads", content=iter([document("big")] * 4), headers={**MARKDOWN, **AUTH}
    )
    assert chunked.request.headers.get("content-length") is None
    assert_problem(chunked, 413)
    within = small.post(
        "/v1/uploads", content=b"---\ntitle: t\n---\n", headers={**MARKDOWN, **AUTH}
    )
    assert within.status_code == 422, within.text


def test_unsupported_upload_type_is_415(client):
    response = client.post(
        "/v1/uploads", content=b"<a/>", headers={"Content-Type": "application/xml", **AUTH}
    )
    body = assert_problem(response, 415)
    assert "application/xml" in body["detail"]
    assert_problem(client.post("/v1/uploads", content=b"x", headers=AUTH), 415)


# --- ETag, 304 and the response cache ------------------------------------------------------


def read_paths(seeded: TestClient) -> list[str]:
    article = seeded.get("/v1/articles", params={"limit": "1"}).json()["items"][0]
    topic = seeded.get("/v1/topics").json()["items"][0]["slug"]
    provider = seeded.get("/v1/providers").json()["items"][0]["domain"]
    return [
        "/v1/articles",
        "/v1/articles?count=true&facets=topic,provider&limit=2",
        f"/v1/articles/{article['id']}",
        f"/v1/articles/{article['id']}/related",
        f"/v1/articles/{article['id']}/source",
        "/v1/providers",
        f"/v1/providers/{provider}",
        f"/v1/providers/{provider}/articles",
        "/v1/topics",
        f"/v1/topics/{topic}",
        f"/v1/topics/{topic}/articles",
    ]


def test_every_successful_get_has_etag_and_cache_control(seeded):
    paths = read_paths(seeded)
    upload_id = seeded.post(
        "/v1/uploads", content=document("etag"), headers={**MARKDOWN, **AUTH}
    ).json()["id"]
    checked = [(path, {}) for path in paths]
    checked += [(path, AUTH) for path in paths]
    checked += [(f"/v1/uploads/{upload_id}", AUTH)]
    checked += [
        (path, {}) for path in ("/healthz", "/readyz", "/metrics", "/openapi.json", "/docs")
    ]
    for path, headers in checked:
        # The second request is answered from the response cache.
        for attempt in ("fresh", "cached"):
            response = seeded.get(path, headers=headers)
            assert response.status_code == 200, (path, attempt, response.text)
            assert response.headers.get("etag"), (path, attempt)
            assert response.headers.get("cache-control"), (path, attempt)


def test_if_none_match_answers_304_without_body(seeded):
    for path in read_paths(seeded) + ["/openapi.json", "/healthz"]:
        first = seeded.get(path)
        etag = first.headers["etag"]
        again = seeded.get(path, headers={"If-None-Match": etag})
        assert again.status_code == 304, path
        assert again.content == b""
        assert again.headers["etag"] == etag
        assert "cache-control" in again.headers
        several = seeded.get(path, headers={"If-None-Match": f'"other", {etag}'})
        assert several.status_code == 304
        stale = seeded.get(path, headers={"If-None-Match": '"something-else"'})
        assert stale.status_code == 200
        assert stale.content == first.content


def test_etag_changes_after_every_write(seeded):
    paths = ["/v1/articles", "/v1/topics", "/v1/providers"]
    before = {path: seeded.get(path).headers["etag"] for path in paths}
    article_id = upload(seeded, "etag-write")
    after_upload = {path: seeded.get(path).headers["etag"] for path in paths}
    assert all(after_upload[p] != before[p] for p in paths)
    stale = seeded.get("/v1/articles", headers={"If-None-Match": before["/v1/articles"]})
    assert stale.status_code == 200

    detail = seeded.get(f"/v1/articles/{article_id}").headers["etag"]
    assert seeded.delete(f"/v1/articles/{article_id}", headers=AUTH).status_code == 204
    after_delete = {path: seeded.get(path).headers["etag"] for path in paths}
    assert all(after_delete[p] != after_upload[p] for p in paths)
    gone = seeded.get(f"/v1/articles/{article_id}", headers={"If-None-Match": detail})
    assert_problem(gone, 404)


def test_304_does_not_run_the_listing_query(seeded, db):
    params = {"count": "true", "facets": "topic"}
    etag = seeded.get("/v1/articles", params=params).headers["etag"]
    with statements(db) as seen:
        response = seeded.get("/v1/articles", params=params, headers={"If-None-Match": etag})
    assert response.status_code == 304
    assert only_version_reads(seen), seen


def test_response_cache_serves_repeats_and_every_write_invalidates_it(seeded, db):
    params = {"count": "true", "limit": "100"}
    first = seeded.get("/v1/articles", params=params)
    with statements(db) as seen:
        repeat = seeded.get("/v1/articles", params=params)
    assert repeat.status_code == 200
    assert repeat.content == first.content
    assert only_version_reads(seen), seen

    article_id = upload(seeded, "cache-invalidation")
    with statements(db) as seen:
        after_upload = seeded.get("/v1/articles", params=params)
    assert not only_version_reads(seen), "an upload must invalidate the cached listing"
    assert after_upload.json()["total"] == first.json()["total"] + 1
    assert article_id in ids_of(after_upload)
    assert seeded.get(f"/v1/articles/{article_id}").status_code == 200

    assert seeded.delete(f"/v1/articles/{article_id}", headers=AUTH).status_code == 204
    after_delete = seeded.get("/v1/articles", params=params)
    assert after_delete.json()["total"] == first.json()["total"]
    assert article_id not in ids_of(after_delete)
    assert_problem(seeded.get(f"/v1/articles/{article_id}"), 404)


def test_cached_responses_are_not_shared_between_key_holders_and_others(seeded, unpublished_id):
    hidden = {"published": "false"}
    for _ in range(2):  # the second round is answered from the cache
        keyed = seeded.get("/v1/articles", params=hidden, headers=AUTH)
        anonymous = seeded.get("/v1/articles", params=hidden)
        assert unpublished_id in ids_of(keyed)
        assert ids_of(anonymous) == set()
        assert keyed.headers["cache-control"].startswith("private")
        assert anonymous.headers["cache-control"].startswith("public")
        assert "Authorization" in keyed.headers["vary"]
        assert keyed.headers["etag"] != anonymous.headers["etag"]

        assert seeded.get(f"/v1/articles/{unpublished_id}", headers=AUTH).status_code == 200
        assert_problem(seeded.get(f"/v1/articles/{unpublished_id}"), 404)
        assert_problem(seeded.get(f"/v1/articles/{unpublished_id}/source"), 404)
        wrong = {"Authorization": "Bearer wrong-key"}
        assert_problem(seeded.get(f"/v1/articles/{unpublished_id}", headers=wrong), 404)

    # A validator obtained with the key does not unlock the response without it.
    etag = seeded.get(f"/v1/articles/{unpublished_id}", headers=AUTH).headers["etag"]
    assert_problem(
        seeded.get(f"/v1/articles/{unpublished_id}", headers={"If-None-Match": etag}), 404
    )
    keyed_list = seeded.get("/v1/articles", params=hidden, headers=AUTH).headers["etag"]
    unlocked = seeded.get("/v1/articles", params=hidden, headers={"If-None-Match": keyed_list})
    assert unlocked.status_code == 200
    assert ids_of(unlocked) == set()


def test_cached_links_follow_the_requested_host(seeded):
    params = {"limit": "1"}
    foreign = seeded.get("/v1/articles", params=params, headers={"Host": "attacker.example"})
    assert "attacker.example" in foreign.headers["link"]
    own = seeded.get("/v1/articles", params=params)
    assert own.headers["link"].startswith("<http://testserver/v1/articles?")


# --- CORS ----------------------------------------------------------------------------------


def test_cross_origin_reads_are_allowed_by_default(seeded):
    response = seeded.get("/v1/articles", headers={"Origin": CROSS_ORIGIN})
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "*"
    exposed = [
        h.strip().lower() for h in response.headers["access-control-expose-headers"].split(",")
    ]
    assert {"etag", "link"} <= set(exposed)
    etag = response.headers["etag"]
    not_modified = seeded.get(
        "/v1/articles", headers={"Origin": CROSS_ORIGIN, "If-None-Match": etag}
    )
    assert not_modified.status_code == 304
    assert not_modified.headers["access-control-allow-origin"] == "*"


def preflight(client: TestClient, origin: str) -> Any:
    return client.options(
        "/v1/uploads",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )


def test_preflight_for_upload_lists_authorization_explicitly(client):
    response = preflight(client, CROSS_ORIGIN)
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] in ("*", CROSS_ORIGIN)
    allowed = [h.strip() for h in response.headers["access-control-allow-headers"].split(",")]
    assert "Authorization" in allowed
    assert "*" not in allowed
    assert "POST" in response.headers["access-control-allow-methods"]


def test_configured_origins_allow_only_those(make_client):
    allowed_origin = "https://app.example.com"
    client = make_client(cors_origins=[allowed_origin])
    ok = client.get("/v1/articles", headers={"Origin": allowed_origin})
    assert ok.headers["access-control-allow-origin"] == allowed_origin
    assert "Origin" in ok.headers["vary"]
    other = client.get("/v1/articles", headers={"Origin": CROSS_ORIGIN})
    assert other.status_code == 200
    assert "access-control-allow-origin" not in other.headers

    ok_preflight = preflight(client, allowed_origin)
    assert ok_preflight.status_code == 200
    assert ok_preflight.headers["access-control-allow-origin"] == allowed_origin
    allowed = [h.strip() for h in ok_preflight.headers["access-control-allow-headers"].split(",")]
    assert "Authorization" in allowed
    refused = preflight(client, CROSS_ORIGIN)
    assert refused.status_code >= 400
    assert "access-control-allow-origin" not in refused.headers


# --- gzip ----------------------------------------------------------------------------------


def test_large_responses_are_gzipped_when_accepted(seeded):
    params = {"limit": "100"}
    plain = seeded.get("/v1/articles", params=params, headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    assert len(plain.content) > 1024
    zipped = seeded.get("/v1/articles", params=params, headers={"Accept-Encoding": "gzip"})
    assert zipped.headers["content-encoding"] == "gzip"
    assert "Accept-Encoding" in zipped.headers["vary"]
    assert zipped.json() == plain.json()
    raw = seeded.get(
        "/v1/articles", params=params, headers={"Accept-Encoding": "gzip", "Origin": CROSS_ORIGIN}
    )
    assert raw.headers["content-encoding"] == "gzip"


def test_gzip_body_is_really_compressed(seeded):
    with seeded.stream(
        "GET", "/v1/articles", params={"limit": "100"}, headers={"Accept-Encoding": "gzip"}
    ) as response:
        wire = b"".join(response.iter_raw())
    assert response.headers["content-encoding"] == "gzip"
    assert gzip.decompress(wire).startswith(b'{"items":')
    assert len(wire) < len(gzip.decompress(wire))


def response_cache(client: TestClient) -> Cache:
    layer: Any = client.app.middleware_stack  # type: ignore[attr-defined]
    while not isinstance(layer, Cache):
        layer = getattr(layer, "app", None) or layer.inner
    return layer


def test_repeats_for_gzip_clients_are_compressed_once(seeded, db):
    params = {"limit": "100", "sort": "-quality"}
    gzip_client = {"Accept-Encoding": "gzip, deflate, br"}
    plain = seeded.get("/v1/articles", params=params, headers={"Accept-Encoding": "identity"})
    for _ in range(2):  # one entry serves both kinds of client, in either order
        with (
            statements(db) as seen,
            seeded.stream("GET", "/v1/articles", params=params, headers=gzip_client) as zipped,
        ):
            wire = b"".join(zipped.iter_raw())
        assert only_version_reads(seen), seen
        assert zipped.headers["content-encoding"] == "gzip"
        assert int(zipped.headers["content-length"]) == len(wire)
        assert gzip.decompress(wire) == plain.content
        assert zipped.headers["etag"] == plain.headers["etag"]
        assert zipped.headers["vary"] == "Authorization, Accept-Encoding"
        identity = seeded.get("/v1/articles", params=params, headers={"Accept-Encoding": ""})
        assert identity.content == plain.content and "content-encoding" not in identity.headers
        assert identity.headers["vary"] == "Authorization, Accept-Encoding"

    cache = response_cache(seeded)
    entry = next(e for e in cache.store.values() if e.body == plain.content)
    assert entry.gzipped is not None and entry.gzipped[1] == wire
    assert cache.size == sum(e.size for e in cache.store.values())


@pytest.mark.parametrize(
    "params",
    [
        {"limit": "100", "sort": "-heat"},  # gzipped for clients that accept it
        {"minQuality": "100", "minHeat": "1000000"},  # an empty page, too small to gzip
    ],
    ids=["large", "small"],
)
def test_every_answer_names_accept_encoding_in_vary_once(seeded, params):
    sizes = set()
    for encoding in ("gzip", "identity", "gzip"):  # a miss, then hits
        response = seeded.get("/v1/articles", params=params, headers={"Accept-Encoding": encoding})
        assert response.headers["vary"] == "Authorization, Accept-Encoding"
        sizes.add(len(response.content) >= 1024)
    assert sizes == {params.get("limit") == "100"}
    etag = response.headers["etag"]
    revalidated = seeded.get("/v1/articles", params=params, headers={"If-None-Match": etag})
    assert revalidated.status_code == 304
    assert revalidated.headers["vary"] == "Authorization, Accept-Encoding"


def test_small_responses_are_not_gzipped(client):
    response = client.get("/healthz", headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in response.headers


# --- health, readiness, metrics ------------------------------------------------------------


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_when_migrated(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready"}


def test_readyz_is_503_on_a_database_not_at_head(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    empty = Settings(database_url=url, _env_file=None)  # type: ignore[call-arg]
    with TestClient(create_app(empty)) as client:
        body = assert_problem(client.get("/readyz"), 503)
        assert "migration" in body["detail"]
        assert client.get("/healthz").status_code == 200


def test_an_unreachable_database_is_a_503_problem():
    url = "postgresql+psycopg://nobody@127.0.0.1:9/none?connect_timeout=2"
    down = Settings(database_url=url, _env_file=None)  # type: ignore[call-arg]
    with TestClient(create_app(down)) as client:
        body = assert_problem(client.get("/readyz"), 503)
        assert "unreachable" in body["detail"]
        for path in ("/v1/articles", "/v1/topics/ai"):
            response = client.get(path)
            assert_problem(response, 503)
            assert response.headers["retry-after"]
        assert client.get("/healthz").status_code == 200


def test_metrics_are_prometheus_text(seeded):
    seeded.get("/v1/articles")
    seeded.get("/v1/nowhere")
    response = seeded.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert "# TYPE newsdesk_requests_total counter" in text
    assert 'newsdesk_requests_total{method="GET",route="/v1/articles",status="200"}' in text
    assert 'route="unmatched",status="404"' in text
    assert "newsdesk_request_seconds_bucket" in text


# --- security headers ----------------------------------------------------------------------


def test_nosniff_on_every_kind_of_response(make_client):
    client = make_client(max_request_bytes=64)
    responses = [
        client.get("/v1/articles"),
        client.get("/v1/nowhere"),
        client.post("/v1/uploads", content=document("x") * 4, headers={**MARKDOWN, **AUTH}),
        client.get("/healthz"),
        client.get("/docs"),
        client.get("/openapi.json"),
    ]
    etag = responses[0].headers["etag"]
    responses.append(client.get("/v1/articles", headers={"If-None-Match": etag}))
    assert [r.status_code for r in responses] == [200, 404, 413, 200, 200, 200, 304]
    for response in responses:
        assert response.headers.get("x-content-type-options") == "nosniff", response.request.url


def test_docs_have_a_restrictive_content_security_policy(client):
    response = client.get("/docs")
    assert response.status_code == 200
    policy = {
        name: values
        for name, *values in (
            part.split()
            for part in response.headers["content-security-policy"].split(";")
            if part.strip()
        )
    }
    assert policy["default-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["script-src"] == ["'self'"], "no inline or remote scripts on the docs page"
    for values in policy.values():
        assert not any(v.startswith(("http:", "https:", "*")) for v in values), values
        assert "'unsafe-eval'" not in values
    assert response.headers["x-frame-options"] == "DENY"


# --- routes called without FastAPI's request handler -------------------------------------


def test_plain_async_endpoints_are_called_directly():
    from app.articles.router import router
    from app.catalog_router import providers
    from app.http import _direct_endpoint
    from app.uploads.router import router as uploads

    def direct(routes: list[Any]) -> set[str]:
        return {route.path for route in routes if _direct_endpoint(route) is not None}

    assert direct(router.routes) == {
        "/v1/articles",
        "/v1/articles/{article_id}",
        "/v1/articles/{article_id}/source",
    }, "related (query parameters) and delete (a dependency, sync) keep FastAPI's handler"
    assert direct(providers.routes) == {
        "/v1/providers/{key}",
        "/v1/providers/{key}/articles",
    }, "the provider list validates query parameters through FastAPI"
    assert direct(uploads.routes) == set()


def test_direct_calls_answer_as_fastapis_handler_would():
    from fastapi import APIRouter, Depends, FastAPI, HTTPException, Path, Request
    from starlette.responses import Response

    from app.http import CheckedRoute

    def refuse() -> None:
        raise HTTPException(403, "refused at inclusion")

    router = APIRouter(route_class=CheckedRoute)

    @router.get("/things/{key}")
    async def thing(key: str, request: Request) -> Response:
        return Response(key)

    @router.get("/short/{key}")
    async def short(key: Annotated[str, Path(max_length=3)], request: Request) -> Response:
        return Response(key)

    app = FastAPI()
    app.include_router(router, prefix="/guarded", dependencies=[Depends(refuse)])
    app.include_router(router, prefix="/open")
    app.include_router(router, prefix="/tenants/{tenant}")
    with TestClient(app) as client:
        assert client.get("/guarded/things/a").status_code == 403
        response = client.get("/open/things/a%20b")
        assert (response.status_code, response.text) == (200, "a b")
        response = client.get("/tenants/t1/things/a")
        assert (response.status_code, response.text) == (200, "a")
        assert client.get("/open/short/abc").status_code == 200
        assert client.get("/open/short/abcd").status_code == 422
