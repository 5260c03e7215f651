"""Hostile and broken documents: each is rejected with a precise error and disturbs nothing."""

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import AUTH
from tests.uploads.helpers import article, doc, fresh_url, stored, total, upload, upload_raw

STORED_URL = fresh_url("stored")
GOOD = [
    ("stored.md", doc("Stored story", STORED_URL, quality=50, heat=5, topics=["AI"])),
    ("other.md", doc("Other story", fresh_url("other"), related=[STORED_URL])),
]
PWNED = Path("/tmp/newsdesk-hostile-pwned")


def front(*lines: str, url: str = STORED_URL) -> bytes:
    """A document aimed at the stored article's URL, so accepting it would overwrite that."""
    return "\n".join(
        ["---", "title: Hostile", f"webUrl: {url}", *lines, "---", "Body", ""]
    ).encode()


def _alias_bomb() -> bytes:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, 10):
        refs = ", ".join([f"*a{level - 1}"] * 9)
        lines.append(f"a{level}: &a{level} [{refs}]")
    return front(*lines)


def _mapping_alias_bomb() -> bytes:
    lines = ["m0: &m0 {k0: lol, k1: lol, k2: lol, k3: lol, k4: lol, k5: lol, k6: lol, k7: lol}"]
    for level in range(1, 10):
        refs = ", ".join(f"k{i}: *m{level - 1}" for i in range(8))
        lines.append(f"m{level}: &m{level} {{{refs}}}")
    return front(*lines)


def _block_nesting(depth: int) -> bytes:
    lines = [f"{'  ' * level}k{level}:" for level in range(depth)] + [f"{'  ' * depth}leaf"]
    return front("deep:", *["  " + line for line in lines])


def _json_nesting(depth: int) -> bytes:
    head = json.dumps({"title": "Hostile", "webUrl": STORED_URL})[:-1]
    return f'{head}, "deep": {"[" * depth}{"]" * depth}}}'.encode()


LATIN1 = "---\ntitle: Café crème\nwebUrl: https://news.example.com/stored\n---\nBody\n"


TOML_DEEP = f'+++\ntitle = "Hostile"\nwebUrl = "{STORED_URL}"\ndeep = {"[" * 100}{"]" * 100}\n+++\n'
HUGE = "1000000000000000000000000000000"


@dataclass(frozen=True)
class Case:
    """A hostile document: its file name (also the test id) and the error it must get."""

    name: str
    data: bytes
    field: str | None
    message: str


CASES = [
    Case("alias-bomb.md", _alias_bomb(), None, "max_document_bytes"),
    Case("mapping-alias-bomb.md", _mapping_alias_bomb(), None, "max_document_bytes"),
    Case("deep-flow.md", front("deep: " + "[" * 5000 + "]" * 5000), None, "max_depth"),
    Case("deep-block.md", _block_nesting(70), None, "max_depth"),
    Case("deep.json", _json_nesting(5000), None, "max_depth"),
    Case("deep-json-front.md", _json_nesting(100) + b"\nBody\n", None, "max_depth"),
    Case("deep-toml.md", TOML_DEEP.encode(), None, "max_depth"),
    Case("python-apply.md", front(f"x: !!python/object/apply:os.system ['touch {PWNED}']"), None,
         "YAML"),
    Case("python-name.md", front("x: !!python/name:os.system"), None, "YAML"),
    Case("python-new.md", front(f"x: !!python/object/new:os.system ['touch {PWNED}']"), None,
         "YAML"),
    Case("utf-16.md", front().decode().encode("utf-16"), None, "UTF-16"),
    Case("utf-32.md", front().decode().encode("utf-32"), None, "UTF-32"),
    Case("utf-16-no-bom.md", front().decode().encode("utf-16-le"), None, "NUL"),
    Case("latin-1.md", LATIN1.encode("latin-1"), None, "UTF-8"),
    Case("oversized.md", doc("Big", STORED_URL, body="x" * (1024 * 1024)), None,
         "max_document_bytes"),
    Case("javascript-url.md", doc("JS", "javascript:alert(1)"), "webUrl", "http"),
    Case("relative-url.md", doc("Rel", "/relative/path"), "webUrl", "http"),
    Case("relative-image.md", front("images: ['/img.png']"), "images[0].url", "http"),
    Case("data-url.md", front("ampWebUrl: 'data:text/html,hi'"), "ampWebUrl", "http"),
    Case("ftp-related.md", front("related: [{webUrl: 'ftp://x.example.com/a'}]"),
         "related[0].webUrl", "http"),
    Case("url-too-long.md", front(url=STORED_URL + "?q=" + "a" * 3000), "webUrl", "2048"),
    Case("quality-high.md", front("quality: high"), "quality", "integer"),
    Case("quality-101.md", front("quality: 101"), "quality", "between 0 and 100"),
    Case("quality-inf.md", front("quality: 1e400"), "quality", "integer"),
    Case("quality-huge.md", front(f"quality: {HUGE}"), "quality", "between 0 and 100"),
    Case("heat-negative.md", front("heat: -1"), "heat", "at least 0"),
    Case("heat-huge.md", front(f"heat: {HUGE}"), "heat", "at most"),
    Case("heat-list.md", front("heat: [1, 2]"), "heat", "integer"),
    Case("extra-huge.md", front(f"views: {HUGE}"), "views", "cannot be stored"),
    Case("extra-inf.md", front("ratio: .inf"), "ratio", "cannot be stored"),
    Case("extra-binary.md", front("blob: !!binary aGVsbG8="), "blob", "binary"),
    Case("title-missing.md", doc(None, STORED_URL), "title", "is required"),
    Case("url-missing.md", doc("No URL", None), "webUrl", "is required"),
    Case("title-mapping.md", front().replace(b"title: Hostile", b"title: {a: 1}"), "title",
         "string"),
    Case("title-too-long.md", front().replace(b"Hostile", b"T" * 600), "title", "500"),
    Case("date-word.md", front("publishedDateTime: yesterday"), "publishedDateTime", "ISO 8601"),
    Case("date-out-of-range.md", front("publishedDateTime: '9999-12-31T23:59:59-05:00'"),
         "publishedDateTime", "range"),
    Case("published-word.md", front("published: maybe"), "published", "true or false"),
    Case("too-many-topics.md", front("topics: [" + ", ".join(["t"] * 1001) + "]"), "topics",
         "1000"),
    Case("provider-list.md", front("provider: [1, 2]"), "provider", "mapping"),
    Case("number-key.md", front("1: number key"), "1", "keys must be strings"),
    Case("front-matter-list.md", b"---\n- a\n- b\n---\nBody\n", None, "mapping"),
    Case("no-front-matter.md", b"# Just markdown\n\nNo front matter.\n", None, "no front matter"),
    Case("unclosed-fence.md", b"---\ntitle: Never closed\n", None, "never closed"),
    Case("yaml-syntax.md", front("bad: [unclosed"), None, "invalid YAML"),
    Case("empty.md", b"", None, "front matter"),
]  # fmt: skip


@pytest.fixture(scope="module")
def earlier(shared) -> list[str]:
    """The ids of a good batch stored before any hostile document, once per database."""
    return [r["id"] for r in stored(upload(shared.client(), *GOOD))["results"]]


def _snapshot(client, ids: list[str]) -> list[tuple[dict, bytes]]:
    return [(article(client, i), client.get(f"/v1/articles/{i}/source").content) for i in ids]


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_hostile_document_is_rejected_alone(shared, earlier, case):
    client = shared.client()
    before = _snapshot(client, earlier)

    response = upload(client, (case.name, case.data), ("fresh.md", doc("Fresh", fresh_url())))
    assert response.status_code == 207, response.text
    hostile, fresh = response.json()["results"]
    assert hostile["source"] == case.name
    assert (hostile["status"], hostile["id"], hostile["webUrl"]) == ("rejected", None, None)
    assert any(
        case.message in error["message"] and (case.field is None or error["field"] == case.field)
        for error in hostile["errors"]
    ), hostile["errors"]
    assert fresh["status"] == "created"

    raw = upload_raw(client, case.data, "text/markdown")
    assert raw.status_code == 422, raw.text
    assert raw.json()["results"][0]["errors"] == hostile["errors"]

    assert _snapshot(client, earlier) == before
    assert client.get("/healthz").status_code == 200
    assert not PWNED.exists()


def test_rejections_do_not_stop_the_service(client):
    """Every hostile input in one upload, on a database of its own: nothing at all is stored."""
    response = upload(client, *[(c.name, c.data) for c in CASES])
    assert response.status_code == 422, response.text
    assert response.json()["summary"]["rejected"] == len(CASES)
    assert total(client, includeStubs="true") == 0
    assert client.get("/healthz").status_code == 200
    assert stored(upload(client, *GOOD))["summary"]["created"] == 2


def test_nul_from_a_yaml_escape_is_a_field_error(shared):
    client = shared.client()
    url = fresh_url("nul")
    response = upload(client, ("nul.md", front('excerpt: "a\\0b"', url=url)))
    [result] = response.json()["results"]
    assert result["status"] == "rejected"
    assert result["errors"][0]["field"] == "excerpt"


def test_a_value_the_database_cannot_hold_is_reported_as_such(shared):
    """Never 'retry' for a document that would fail again; never a 500."""
    client = shared.client()
    url = fresh_url("nul")
    response = upload(
        client, ("nul.md", front('title: "a\\0b"', url=url)), ("ok.md", doc("OK", fresh_url()))
    )
    assert response.status_code in (200, 207), response.text
    first, ok = response.json()["results"]
    assert ok["status"] == "created"
    if first["status"] == "rejected":
        assert "retry" not in first["errors"][0]["message"]
        assert "NUL" in first["errors"][0]["message"]


def test_unpublished_article_stays_hidden_after_rejected_overwrite(shared):
    client = shared.client()
    url = fresh_url("hidden")
    [hidden] = stored(upload(client, ("h.md", doc("Hidden", url, published=False))))["results"]
    rejected = upload(client, ("h2.md", front("published: true", "quality: high", url=url)))
    assert rejected.status_code == 422
    assert client.get(f"/v1/articles/{hidden['id']}").status_code == 404
    assert client.get(f"/v1/articles/{hidden['id']}", headers=AUTH).json()["title"] == "Hidden"
