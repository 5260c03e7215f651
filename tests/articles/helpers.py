"""Document builders, an independent Python oracle for listings, and page walkers.

The oracle re-implements §3.1 from the documents a test generated (filters, nulls-last
sort with an id tiebreak, facets), so a listing can be checked without trusting the app.
"""

import functools
import random
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import yaml

from tests.conftest import AUTH

Params = list[tuple[str, str]]

TITLES = ["Alpha", "alpha", "Beta", "beta", "Gamma", "Zulu", "Économie report", "Alpha"]
DATES = [
    None,
    "2024-01-01T00:00:00Z",
    "2024-02-15T12:30:00Z",
    "2024-03-01T00:00:00Z",
    "2024-03-01T23:59:59Z",
    "2024-03-02T00:00:00Z",
    "2023-12-31T23:59:59Z",
]
QUALITIES = [None, 0, 10, 50, 50, 99, 100]
HEATS = [None, 0, 1, 77, 100, 101, 5000, 2**40]
CATEGORIES = [None, "news", "science", "économie"]
TYPES = [None, "article", "blog", "liveblog"]
LOCALES = [None, "en-gb", "en-us", "fr-fr"]
# None means "no provider in the file": the domain then comes from webUrl.
PROVIDERS = [
    None,
    ("Alpha Wire", "alpha.example.com"),
    ("Beta News", "beta.example.org"),
    ("Gamma Gazette", "gamma.example.net"),
    ("Delta Daily", "delta.example.com"),
]
TOPICS = {
    "AI": "ai",
    "Climate": "climate",
    "Space": "space",
    "Économie": "economie",
    "Computer Vision": "computer-vision",
    "Health": "health",
}
# More tags than a facet lists, so the top-20 cut is exercised.
TAGS = [f"tag{n:02d}" for n in range(24)]
DEFAULT_HOST = "www.gen.example.com"


def iso_to_datetime(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


@dataclass
class Doc:
    """A generated document and the list item the API should serve for it."""

    name: str
    url: str
    title: str | None
    published_at: str | None = None
    quality: int | None = None
    heat: int | None = None
    category: str | None = None
    type: str | None = None
    locale: str | None = None
    provider: tuple[str, str] | None = None
    topics: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    images: int = 0
    published: bool = True
    stub: bool = False
    related: list["Doc"] = field(default_factory=list)
    body: str = "Generated body text."
    id: str | None = None

    def mapping(self) -> dict[str, Any]:
        data: dict[str, Any] = {"title": self.title, "webUrl": self.url}
        for key, value in (
            ("publishedDateTime", self.published_at), ("quality", self.quality),
            ("heat", self.heat), ("category", self.category), ("type", self.type),
            ("locale", self.locale),
        ):  # fmt: skip
            if value is not None:
                data[key] = value
        if not self.published:
            data["published"] = False
        if self.provider is not None:
            data["provider"] = {"name": self.provider[0], "domain": self.provider[1]}
        if self.topics:
            data["topics"] = self.topics
        if self.tags:
            data["tags"] = self.tags
        if self.images:
            data["images"] = [
                {"url": f"{self.url}/image-{n}.jpg", "width": 100 + n, "height": 50,
                 "isCached": n % 2 == 0}
                for n in range(self.images)
            ]  # fmt: skip
        if self.related:
            data["related"] = [r.related_entry() for r in self.related]
        return data

    def related_entry(self) -> dict[str, Any]:
        entry = {k: v for k, v in self.mapping().items() if k not in ("category", "locale")}
        return {k: v for k, v in entry.items() if k not in ("topics", "tags", "published")}

    def render(self) -> bytes:
        front = yaml.safe_dump(self.mapping(), allow_unicode=True, sort_keys=False)
        return f"---\n{front}---\n\n{self.body}\n".encode()

    @property
    def provider_ref(self) -> dict[str, str]:
        if self.provider is not None:
            return {"name": self.provider[0], "domain": self.provider[1]}
        host = (urlsplit(self.url).hostname or "").removeprefix("www.")
        return {"name": host, "domain": host}

    def expected(self) -> dict[str, Any]:
        """The list-item fields the API must serve for this document."""
        return {
            "id": self.id,
            "title": self.title,
            "publishedDateTime": self.published_at,
            "quality": self.quality,
            "heat": self.heat,
            "category": self.category,
            "type": self.type,
            "locale": self.locale,
            "published": self.published,
            "stub": self.stub,
            "provider": self.provider_ref,
            "topics": [{"name": name, "slug": TOPICS[name]} for name in self.topics],
            "tags": self.tags,
        }


def generate(rng: random.Random, count: int, prefix: str = "doc") -> list[Doc]:
    """Documents with many ties and nulls; about one in eight links to a new stub."""
    docs = []
    for n in range(count):
        provider = rng.choice(PROVIDERS)
        url = f"https://{DEFAULT_HOST}/{prefix}/{n}"
        doc = Doc(
            name=f"{prefix}-{n:03d}.md",
            url=url,
            title=rng.choice(TITLES),
            published_at=rng.choice(DATES),
            quality=rng.choice(QUALITIES),
            heat=rng.choice(HEATS),
            category=rng.choice(CATEGORIES),
            type=rng.choice(TYPES),
            locale=rng.choice(LOCALES),
            provider=provider,
            topics=rng.sample(sorted(TOPICS), rng.randint(0, 3)),
            tags=rng.sample(TAGS, rng.choice([0, 1, 2, 4])),
            images=rng.randint(0, 2),
            published=rng.random() > 0.1,
        )
        if rng.random() < 0.125:
            doc.related.append(
                Doc(
                    name="",
                    url=f"https://stubs.example.org/{prefix}/{n}",
                    title=rng.choice([None, *TITLES]),
                    published_at=rng.choice(DATES),
                    quality=rng.choice(QUALITIES),
                    heat=rng.choice(HEATS),
                    type=rng.choice(TYPES),
                    provider=rng.choice(PROVIDERS),
                    stub=True,
                )
            )
        docs.append(doc)
    return docs


def upload(client: Any, docs: list[Doc]) -> list[Doc]:
    """Upload documents in one multipart request; fill in their ids and their stubs' ids."""
    files = [("files", (doc.name, doc.render())) for doc in docs]
    response = client.post("/v1/uploads", files=files, headers=AUTH)
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["source"] for r in results] == [doc.name for doc in docs]
    stubs = []
    for doc, result in zip(docs, results, strict=True):
        assert result["status"] in ("created", "updated"), result
        doc.id = result["id"]
        stubs += doc.related
    for stub in stubs:
        found = client.get("/v1/articles", params={"url": stub.url, "includeStubs": "true"})
        assert found.status_code == 200, found.text
        [item] = found.json()["items"]
        stub.id = item["id"]
    return [*docs, *stubs]


def upload_one(client: Any, text: str | bytes, name: str = "doc.md") -> dict[str, Any]:
    data = text.encode() if isinstance(text, str) else text
    response = client.post("/v1/uploads", files=[("files", (name, data))], headers=AUTH)
    assert response.status_code == 200, response.text
    [result] = response.json()["results"]
    return result


def upload_texts(client: Any, texts: dict[str, str]) -> dict[str, str]:
    """Upload named documents in one request; their names → article ids."""
    files = [("files", (name, text.encode())) for name, text in texts.items()]
    response = client.post("/v1/uploads", files=files, headers=AUTH)
    assert response.status_code == 200, response.text
    return {r["source"]: r["id"] for r in response.json()["results"]}


def document(**fields: Any) -> str:
    """A YAML front-matter document; `body` becomes the markdown after the fence."""
    body = fields.pop("body", "")
    front = yaml.safe_dump(fields, allow_unicode=True, sort_keys=False)
    return f"---\n{front}---\n\n{body}\n"


# --- oracle -----------------------------------------------------------------------------


def _moment(value: str) -> datetime:
    if len(value) == 10:
        return datetime.combine(date.fromisoformat(value), datetime.min.time())
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        return parsed
    return parsed.astimezone(UTC).replace(tzinfo=None)


def _published(item: dict[str, Any]) -> datetime | None:
    value = item["publishedDateTime"]
    return None if value is None else iso_to_datetime(value).replace(tzinfo=None)


def matches(item: dict[str, Any], params: Params, authorized: bool = False) -> bool:
    """Whether a list item (API field names) matches the query parameters."""
    values: dict[str, list[str]] = {}
    for key, value in params:
        values.setdefault(key, []).append(value)

    def one(key: str) -> str | None:
        return values[key][-1] if key in values else None

    if one("published") == "false":
        if not authorized or item["published"] or item["stub"]:
            return False
    elif not item["published"] or item["stub"] and one("includeStubs") != "true":
        return False
    for key, field_name, compare in (
        ("minQuality", "quality", lambda a, b: a >= b),
        ("maxQuality", "quality", lambda a, b: a <= b),
        ("minHeat", "heat", lambda a, b: a >= b),
        ("maxHeat", "heat", lambda a, b: a <= b),
    ):
        bound, value = one(key), item[field_name]
        if bound is not None and (value is None or not compare(value, int(bound))):
            return False
    for key in ("category", "type", "locale"):
        if one(key) is not None and item[key] != one(key):
            return False
    if "topic" in values and not {t["slug"] for t in item["topics"]} & set(values["topic"]):
        return False
    if "provider" in values and (item["provider"] or {}).get("domain") not in values["provider"]:
        return False
    if "tag" in values and not set(item["tags"]) & set(values["tag"]):
        return False
    published = _published(item)
    after, before = one("publishedAfter"), one("publishedBefore")
    if after is not None and (published is None or published < _moment(after)):
        return False
    return before is None or published is not None and published < _moment(before)


def _compare(keys: list[tuple[str, bool]], a: dict[str, Any], b: dict[str, Any]) -> int:
    for name, desc in keys:
        x, y = a[name], b[name]
        if x == y:
            continue
        if x is None:
            return 1
        if y is None:
            return -1
        result = -1 if x < y else 1
        return -result if desc else result
    return (a["id"] > b["id"]) - (a["id"] < b["id"])


def sort_keys(sort: str | None) -> list[tuple[str, bool]]:
    if not sort:
        return [("publishedDateTime", True)]
    return [(key.lstrip("-"), key.startswith("-")) for key in sort.split(",")]


def ordered(items: list[dict[str, Any]], sort: str | None) -> list[dict[str, Any]]:
    """Items in `sort` order: nulls last in both directions, then id ascending."""
    keys = sort_keys(sort)
    return sorted(items, key=functools.cmp_to_key(functools.partial(_compare, keys)))


def expect_ids(docs: list[Doc], params: Params, authorized: bool = False) -> list[str]:
    items = [doc.expected() for doc in docs]
    sort = dict(params).get("sort")
    return [i["id"] for i in ordered([i for i in items if matches(i, params, authorized)], sort)]


def expect_facets(items: list[dict[str, Any]], name: str) -> dict[str, tuple[str, int]]:
    """value → (name, count) over all the matching items."""
    counts: dict[str, tuple[str, int]] = {}

    def add(value: str | None, label: str | None = None) -> None:
        if value is not None:
            old = counts.get(value, (label or value, 0))
            counts[value] = (old[0], old[1] + 1)

    for item in items:
        if name == "topic":
            for topic in item["topics"]:
                add(topic["slug"], topic["name"])
        elif name == "provider":
            add(item["provider"]["domain"], item["provider"]["name"])
        elif name == "tag":
            for tag in item["tags"]:
                add(tag)
        else:
            add(item[name])
    return counts


def check_facet(found: list[dict[str, Any]], expected: dict[str, tuple[str, int]]) -> None:
    """Top 20 by count; entries tied at the cut may be either, but counts must be exact."""
    assert len(found) == min(20, len(expected)), (found, expected)
    counts = [entry["count"] for entry in found]
    assert counts == sorted(counts, reverse=True)
    for entry in found:
        assert expected[entry["value"]] == (entry["name"], entry["count"]), entry
    left_out = [count for value, (_, count) in expected.items()
                if value not in {e["value"] for e in found}]  # fmt: skip
    if left_out:
        assert max(left_out) <= min(counts)


# --- HTTP -------------------------------------------------------------------------------

_LINK = re.compile(r'<([^>]+)>; rel="next"')


def walk(
    client: Any, path: str, params: Params, headers: dict[str, str] | None = None,
    between: Any = None, key: str = "id",
) -> list[str]:  # fmt: skip
    """`key` of every item of every page, following the Link header, checked against nextCursor.

    `between(page_number)` runs after each page, e.g. to ingest while paging.
    """
    limit = int(dict(params).get("limit", "20"))
    found: list[str] = []
    # One event-loop thread for every page, instead of one per request.
    with client:
        response = client.get(path, params=params, headers=headers)
        for page in range(10_000):
            assert response.status_code == 200, (params, response.text)
            body = response.json()
            found += [item[key] for item in body["items"]]
            cursor = body["nextCursor"]
            link = response.headers.get("link")
            if cursor is None:
                assert link is None
                return found
            assert len(body["items"]) == limit, (params, page)
            match = _LINK.fullmatch(link or "")
            assert match, link
            target = urlsplit(match.group(1))
            assert target.path == path
            expected = sorted([(k, v) for k, v in params if k != "cursor"] + [("cursor", cursor)])
            assert sorted(parse_qsl(target.query, keep_blank_values=True)) == expected
            if between is not None:
                between(page)
            response = client.get(match.group(1), headers=headers)
    raise AssertionError("too many pages")


def assert_problem(response: Any, status: int, where: str | None = None) -> dict[str, Any]:
    """An RFC 9457 problem document; `where` must be named by one of its errors."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert {"type", "title", "status", "detail", "errors"} <= set(body)
    assert body["status"] == status
    assert isinstance(body["detail"], str) and body["detail"]
    if where is not None:
        named = {error.get("param") or error.get("field") for error in body["errors"]}
        assert where in named, body
        assert all(error["message"] for error in body["errors"])
    return body


def listing(client: Any, params: Params | dict[str, str], **kwargs: Any) -> dict[str, Any]:
    response = client.get("/v1/articles", params=params, **kwargs)
    assert response.status_code == 200, response.text
    return response.json()


def titles(body: dict[str, Any]) -> list[str]:
    return [item["title"] for item in body["items"]]
