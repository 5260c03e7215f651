"""Keyset pagination against an oracle: every match exactly once, in order, for many queries."""

import base64
import json
import random
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.requests import Request

from app.articles.router import next_page_url
from tests.articles.helpers import (
    CATEGORIES,
    LOCALES,
    PROVIDERS,
    TAGS,
    TOPICS,
    TYPES,
    Doc,
    Params,
    assert_problem,
    check_facet,
    expect_facets,
    generate,
    matches,
    ordered,
    upload,
    walk,
)
from tests.conftest import AUTH

SORT_NAMES = ["publishedDateTime", "quality", "heat", "title"]
CORPUS_SEED = 20240323
DOMAINS = [p[1] for p in PROVIDERS if p] + ["gen.example.com", "stubs.example.org"]


@pytest.fixture
def corpus(client: Any) -> list[Doc]:
    return upload(client, generate(random.Random(CORPUS_SEED), 120))


def random_query(rng: random.Random) -> tuple[str, Params, Params, bool]:
    """(path, request parameters, scope for the oracle, authorized)."""
    path, scope = "/v1/articles", []
    where = rng.random()
    if where < 0.15:
        slug = rng.choice(sorted(TOPICS.values()))
        path, scope = f"/v1/topics/{slug}/articles", [("topic", slug)]
    elif where < 0.3:
        domain = rng.choice(DOMAINS)
        path, scope = f"/v1/providers/{domain}/articles", [("provider", domain)]
    params: Params = []

    def maybe(probability: float) -> bool:
        return rng.random() < probability

    for low, high, choices in (("minQuality", "maxQuality", [0, 10, 50, 99, 100]),
                               ("minHeat", "maxHeat", [0, 1, 77, 101, 5000, 2**40])):  # fmt: skip
        lo = rng.choice(choices) if maybe(0.2) else None
        hi = rng.choice(choices) if maybe(0.2) else None
        if lo is not None and hi is not None and lo > hi:
            lo, hi = hi, lo
        params += [(low, str(lo))] if lo is not None else []
        params += [(high, str(hi))] if hi is not None else []
    for name, choices in (
        ("topic", [*TOPICS.values(), "no-such-topic"]),
        ("provider", DOMAINS),
        ("tag", TAGS[:6]),
    ):
        if maybe(0.2):
            params += [(name, value) for value in rng.sample(choices, rng.randint(1, 2))]
    for name, choices in (("category", CATEGORIES), ("type", TYPES), ("locale", LOCALES)):
        if maybe(0.12):
            params.append((name, rng.choice([c for c in choices if c])))
    if maybe(0.2):
        params.append(("publishedAfter", rng.choice(
            ["2024-01-01", "2024-03-01", "2024-02-15T12:30:00Z", "2024-03-01T01:00:00+02:00"]
        )))  # fmt: skip
    if maybe(0.2):
        params.append(("publishedBefore", rng.choice(
            ["2024-03-02", "2024-03-01", "2024-03-01T23:59:59Z", "2024-01-01T00:00:00"]
        )))  # fmt: skip
    if maybe(0.3):
        params.append(("includeStubs", "true"))
    authorized = maybe(0.3)
    if authorized and maybe(0.4):
        params.append(("published", "false"))
    if not maybe(0.15):
        keys = rng.sample(SORT_NAMES, rng.randint(1, 3))
        params.append(("sort", ",".join(rng.choice(["", "-"]) + key for key in keys)))
    params.append(("limit", str(rng.randint(1, 7))))
    return path, params, scope, authorized


def in_scope(item: dict[str, Any], scope: Params) -> bool:
    for name, value in scope:
        if name == "topic" and value not in {t["slug"] for t in item["topics"]}:
            return False
        if name == "provider" and item["provider"]["domain"] != value:
            return False
    return True


def found_for(docs: list[Doc], params: Params, scope: Params, authorized: bool) -> list[Any]:
    items = [d.expected() for d in docs]
    return [i for i in items if matches(i, params, authorized) and in_scope(i, scope)]


def expected_for(docs: list[Doc], params: Params, scope: Params, authorized: bool) -> list[str]:
    found = found_for(docs, params, scope, authorized)
    return [i["id"] for i in ordered(found, dict(params).get("sort"))]


def test_every_page_walk_matches_the_oracle(client, corpus):
    rng = random.Random(7)
    for _ in range(40):
        path, params, scope, authorized = random_query(rng)
        headers = AUTH if authorized else None
        expected = expected_for(corpus, params, scope, authorized)
        found = walk(client, path, params, headers)
        assert found == expected, (path, params)


def test_the_corpus_has_ties_nulls_and_stubs():
    """Guards the generator: the walks must meet ties, nulls, stubs and unpublished articles."""
    docs = generate(random.Random(CORPUS_SEED), 120)
    items = [d.expected() for d in docs] + [s.expected() for d in docs for s in d.related]
    for key in ("publishedDateTime", "quality", "heat", "title"):
        values = [i[key] for i in items]
        assert None in values
        assert len(set(values)) < len(values) / 4
    assert sum(i["stub"] for i in items) >= 8
    assert sum(not i["published"] for i in items) >= 5
    assert 60 <= len(items) <= 150


def test_every_sort_on_the_whole_corpus(client, corpus):
    items = [d.expected() for d in corpus]
    visible = [i for i in items if i["published"]]
    for sort, limit in (("-heat,title", 7), ("title,-quality", 6),
                        ("quality,-publishedDateTime,heat", 5),
                        ("-title,publishedDateTime,-heat", 7)):  # fmt: skip
        params = [("sort", sort), ("includeStubs", "true"), ("limit", str(limit))]
        expected = [i["id"] for i in ordered(visible, sort)]
        assert walk(client, "/v1/articles", params) == expected, sort
    # Every field the oracle relies on is served as generated.
    want = {item["id"]: item for item in items}
    served = []
    for params in ({"includeStubs": "true"}, {"published": "false"}):
        response = client.get("/v1/articles", params={**params, "limit": "100"}, headers=AUTH)
        served += response.json()["items"]
    assert len(served) >= 100
    for item in served:
        assert {key: item[key] for key in want[item["id"]]} == want[item["id"]]


def test_count_and_facets_over_all_matches(client, corpus):
    rng = random.Random(11)
    facets = "topic,provider,category,tag,type"
    for _ in range(15):
        path, params, scope, authorized = random_query(rng)
        headers = AUTH if authorized else None
        found = found_for(corpus, params, scope, authorized)
        query = [*params, ("count", "true"), ("facets", facets)]
        first = client.get(path, params=query, headers=headers)
        assert first.status_code == 200, first.text
        body = first.json()
        assert body["total"] == len(found), params
        for name in facets.split(","):
            check_facet(body["facets"][name], expect_facets(found, name))
        if body["nextCursor"]:
            query.append(("cursor", body["nextCursor"]))
            later = client.get(path, params=query, headers=headers).json()
            assert later["total"] == len(found)
            assert later["facets"] == body["facets"]
    # More tags than a facet lists: the top 20 of all matches, not of the page.
    body = client.get("/v1/articles", params={"facets": "tag", "limit": "1"}).json()
    expected = expect_facets([d.expected() for d in corpus if d.published and not d.stub], "tag")
    assert len(expected) > 20
    check_facet(body["facets"]["tag"], expected)
    assert body["total"] is None


def test_no_article_is_skipped_or_repeated_while_ingesting(client, corpus):
    rng = random.Random(3)
    known = list(corpus)
    for round_, sort in enumerate(["-heat,title", "quality,-publishedDateTime"]):
        params: Params = [("sort", sort), ("limit", "6")]
        if round_:
            params.append(("includeStubs", "true"))
        before = expected_for(known, params, [], False)

        def ingest(page: int, tag: str = f"late{round_}") -> None:
            if page % 4 == 0:
                known.extend(upload(client, generate(rng, 5, prefix=f"{tag}-{page}")))

        found = walk(client, "/v1/articles", params, between=ingest)
        assert len(found) == len(set(found)), sort
        assert set(before) <= set(found), sort
        assert set(found) <= set(expected_for(known, params, [], False)), sort
        # Some of the new articles sort before the position reached, some after.
        assert set(found) - set(before)
        assert set(expected_for(known, params, [], False)) - set(found)


def _tamper(cursor: str, change: Any) -> str:
    payload = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    payload = change(payload)
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


@pytest.fixture
def small(client: Any) -> list[Doc]:
    return upload(client, generate(random.Random(1), 12))


def test_bad_cursors_are_rejected(client, small):
    # A cursor of another query.
    body = client.get("/v1/articles", params={"sort": "quality", "limit": "2"}).json()
    cursor = body["nextCursor"]
    assert cursor
    for params in (
        {"sort": "heat"},
        {"sort": "-quality"},
        {"sort": "quality", "minQuality": "1"},
        {"sort": "quality", "includeStubs": "true"},
        {"sort": "quality", "topic": "ai"},
    ):
        response = client.get("/v1/articles", params={**params, "limit": "2", "cursor": cursor})
        assert_problem(response, 400, "cursor")
    scoped = client.get("/v1/topics/ai/articles", params={"sort": "quality", "cursor": cursor})
    assert_problem(scoped, 400, "cursor")
    catalog = client.get("/v1/topics", params={"limit": "1"}).json()["nextCursor"]
    assert_problem(client.get("/v1/articles", params={"cursor": catalog}), 400, "cursor")
    # The limit is not part of the query: a client may change its page size.
    same = client.get("/v1/articles", params={"sort": "quality", "limit": "5", "cursor": cursor})
    assert same.status_code == 200
    # Garbage.
    garbage = ["garbage", "!!!!", "=", "a" * 5000, "eyJ9", "W10", "bnVsbA", "WyJhIiwgWzFdXQ",
               "😀", "%00", "[]"]  # fmt: skip
    for path in ("/v1/articles", "/v1/topics", "/v1/providers"):
        for cursor in garbage:
            assert_problem(client.get(path, params={"cursor": cursor}), 400, "cursor")
        nul = client.get(path, params={"cursor": "\x00"})
        assert_problem(nul, 400 if nul.status_code == 400 else 422, "cursor")
    # Well-formed cursors of this query whose values were tampered with.
    for sort in ("-heat", "publishedDateTime", "title"):
        first = client.get("/v1/articles", params={"sort": sort, "limit": "1"}).json()
        cursor = first["nextCursor"]
        for bad in ("text", "\x00", 10**30, 1.5e308, [1], {"a": 1}, True,
                    "2024-03-01T00:00:00+05:00"):  # fmt: skip
            for index in (0, 1):

                def change(payload: list[Any], index: int = index, bad: Any = bad) -> list[Any]:
                    payload[1][index] = bad
                    return payload

                params = {"sort": sort, "limit": "1", "cursor": _tamper(cursor, change)}
                response = client.get("/v1/articles", params=params)
                plausible = sort == "title" and index == 0 and isinstance(bad, str)
                if plausible and bad != "\x00":
                    assert response.status_code == 200, response.text
                else:
                    assert_problem(response, 400, "cursor")
        short = _tamper(cursor, lambda p: [p[0], p[1][:1]])
        assert_problem(client.get("/v1/articles", params={"sort": sort, "cursor": short}), 400)


QUERY_TEXT = st.text(st.sampled_from("ac=&+%2F?#é \x7f"), max_size=12)


@settings(max_examples=300, deadline=None)
@given(
    path=st.sampled_from(["/v1/articles", "/v1/topics/ai/articles", "/v1/articles/00ab/related"]),
    pairs=st.lists(
        st.tuples(st.sampled_from(["cursor", "limit", "topic", "q", "", "a b"]), QUERY_TEXT),
        max_size=5,
    ),
    cursor=st.text(st.sampled_from("AZaz09-_=+/"), min_size=1, max_size=20),
    raw=st.text(st.sampled_from("a=&%2+;c"), max_size=12),
    host=st.sampled_from(["testserver", "example.com:8080"]),
)
def test_next_page_url_is_starlettes_include_query_params(
    path: str, pairs: list[tuple[str, str]], raw: str, cursor: str, host: str
) -> None:
    """The Link header's URL is built without Starlette's URL round trip, to the same text.

    (Paths and hosts here hold only characters a URL may carry as they are; the others are
    percent-encoded, where Starlette kept them: tests/test_catalog.py.)
    """
    query = (urlencode(pairs) + raw).encode()
    request = Request({"type": "http", "method": "GET", "scheme": "http", "path": path,
                       "root_path": "", "query_string": query,
                       "headers": [(b"host", host.encode())]})  # fmt: skip
    assert next_page_url(request, cursor) == str(request.url.include_query_params(cursor=cursor))
