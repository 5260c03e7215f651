"""Upserts, stubs and normalisation (§4.3–4.5) stored in a real database and read back over HTTP."""

import sqlite3
import threading
import time
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from app.articles.service import get_article
from app.ingest.load import prepare, store
from app.ingest.parse import Limits
from app.ingest.run import ingest
from app.ingest.urls import parse_id
from app.models import Article
from tests.conftest import AUTH, statements
from tests.uploads.helpers import article, by_url, doc, stored, total, upload, upload_raw

URL = "https://news.example.com/story"
FULL = doc(
    "Full story",
    URL,
    body="The **body**.",
    excerpt="An excerpt",
    category="news",
    type="article",
    locale="en-gb",
    published=True,
    publishedDateTime="2024-02-23T12:09:00Z",
    updatedDateTime="2024-02-24T08:00:00+01:00",
    ampWebUrl="https://news.example.com/amp/story",
    cdnAmpWebUrl="https://cdn.example.com/amp/story",
    quality=57,
    heat=77,
    provider={"name": "Example News", "domain": "news.example.com"},
    topics=["Computer Vision", "Privacy"],
    tags=["one", "two"],
    images=[
        {
            "url": "https://img.example.com/1.jpg",
            "width": 1600,
            "height": 900,
            "isCached": True,
            "title": "Pic",
            "attribution": "Someone",
        }
    ],  # fmt: skip
    related=[{"webUrl": "https://other.example.org/linked", "title": "Linked story"}],
    secured="opaque-token",
    seo={"robots": "index"},
)


def _report(client, *files):
    return stored(upload(client, *files))["results"]


def test_same_bytes_are_unchanged(client):
    [first] = _report(client, ("story.md", FULL))
    assert first["status"] == "created"
    before = article(client, first["id"])
    [again] = _report(client, ("renamed.md", FULL))
    assert again == {**first, "source": "renamed.md", "status": "unchanged"}
    after = article(client, first["id"])
    assert after == before
    assert after["ingestedAt"] == before["ingestedAt"]


def test_same_bytes_twice_in_one_upload(client):
    results = _report(client, ("a.md", FULL), ("b.md", FULL))
    assert [r["status"] for r in results] == ["created", "unchanged"]
    assert results[0]["id"] == results[1]["id"]


def test_changed_content_replaces_every_field(client):
    [first] = _report(client, ("story.md", FULL))
    old = article(client, first["id"])
    assert old["topics"] and old["tags"] and old["images"] and old["related"] and old["extra"]
    variant = "HTTPS://NEWS.Example.com:443/story?utm_source=feed&fbclid=abc#top"
    changed = doc("Only a title now", variant)
    [second] = _report(client, ("story.md", changed))
    assert second["status"] == "updated"
    assert second["id"] == first["id"]
    new = article(client, first["id"])
    for key in ("excerpt", "category", "type", "locale", "publishedDateTime", "updatedDateTime",
                "originalUrl", "ampWebUrl", "cdnAmpWebUrl", "quality", "heat", "secured",
                "extra"):  # fmt: skip
        assert new[key] is None, key
    assert new["title"] == "Only a title now"
    assert new["body"] == "Body text."
    assert new["webUrl"] == variant
    # The provider is shared and keyed by domain: its name stays the first one seen.
    assert new["provider"] == {"name": "Example News", "domain": "news.example.com"}
    assert (new["topics"], new["tags"], new["images"], new["related"]) == ([], [], [], [])
    assert new["relatedCount"] == 0
    assert new["sourceSha256"] != old["sourceSha256"]
    assert client.get(f"/v1/articles/{first['id']}/source").content == changed
    assert total(client) == 1
    assert client.get("/v1/topics/privacy").json()["articleCount"] == 0
    linked = by_url(client, "https://other.example.org/linked")
    assert linked is not None and linked["stub"] and linked["relatedCount"] == 0


def test_update_replaces_lists_with_new_values(client):
    [first] = _report(client, ("story.md", FULL))
    changed = doc(
        "Full story",
        URL,
        topics=["Space"],
        tags=["three"],
        images=["https://img.example.com/2.jpg"],
        related=["https://other.example.org/second"],
        provider={"name": "Syndicated", "domain": "wire.example.net"},
    )
    [second] = _report(client, ("story.md", changed))
    new = article(client, second["id"])
    assert new["provider"] == {"name": "Syndicated", "domain": "wire.example.net"}
    assert client.get("/v1/providers/news.example.com").json()["articleCount"] == 0
    assert new["topics"] == [{"name": "Space", "slug": "space"}]
    assert new["tags"] == ["three"]
    assert [i["url"] for i in new["images"]] == ["https://img.example.com/2.jpg"]
    assert [r["webUrl"] for r in new["related"]] == ["https://other.example.org/second"]


def test_two_versions_of_one_url_in_one_upload(client):
    results = _report(client, ("v1.md", doc("Version 1", URL)), ("v2.md", doc("Version 2", URL)))
    assert [r["status"] for r in results] == ["created", "updated"]
    assert article(client, results[0]["id"])["title"] == "Version 2"


def test_related_entry_creates_a_stub_that_a_full_document_upgrades(client):
    linked = "https://other.example.org/linked"
    [source] = _report(client, ("story.md", FULL))
    stub = by_url(client, linked)
    assert stub is not None
    assert stub["stub"] is True
    assert stub["title"] == "Linked story"
    assert stub["provider"] == {"name": "other.example.org", "domain": "other.example.org"}
    assert total(client) == 1
    assert total(client, includeStubs="true") == 2
    listed = client.get("/v1/articles").json()["items"]
    assert [item["id"] for item in listed] == [source["id"]]
    assert article(client, stub["id"])["stub"] is True

    full = doc("The linked story in full", linked + "?utm_medium=x", quality=90)
    [upgraded] = _report(client, ("linked.md", full))
    assert upgraded["status"] == "created"
    assert upgraded["id"] == stub["id"]
    detail = article(client, stub["id"])
    assert detail["stub"] is False
    assert (detail["title"], detail["quality"]) == ("The linked story in full", 90)
    assert detail["related"][0]["id"] == source["id"]
    assert detail["related"][0]["direction"] == "incoming"
    assert total(client) == 2
    assert article(client, source["id"])["related"][0]["stub"] is False


def test_upgrading_a_stub_replaces_its_images_and_search_text(client):
    linked = "https://other.example.org/pictured"
    related = [{"webUrl": linked, "title": "Zeppelin sighting",
                "images": ["https://img.example.com/stub.jpg"]}]  # fmt: skip
    _report(client, ("story.md", doc("Story", URL, related=related)))
    stub = by_url(client, linked)
    assert stub is not None and [i["url"] for i in stub["images"]] == [
        "https://img.example.com/stub.jpg"
    ]

    [upgraded] = _report(client, ("pictured.md", doc("Harbour regatta", linked)))
    assert upgraded["id"] == stub["id"]
    assert article(client, stub["id"])["images"] == []
    assert client.get("/v1/articles", params={"q": "zeppelin"}).json()["items"] == []
    found = client.get("/v1/articles", params={"q": "regatta"}).json()["items"]
    assert [item["id"] for item in found] == [stub["id"]]


def test_related_entry_never_overwrites_a_full_article(client):
    target_url = "https://other.example.org/linked"
    [target] = _report(client, ("target.md", doc("Real title", target_url, quality=10, heat=3)))
    before = article(client, target["id"])
    related = [{"webUrl": target_url, "title": "Other title", "quality": 99, "heat": 1000,
                "excerpt": "nope", "images": ["https://img.example.com/x.jpg"]}]  # fmt: skip
    [source] = _report(client, ("source.md", doc("Source", URL, related=related)))
    after = article(client, target["id"])
    assert {k: v for k, v in after.items() if k not in ("related", "relatedCount")} == {
        k: v for k, v in before.items() if k not in ("related", "relatedCount")
    }
    assert after["related"][0]["id"] == source["id"]


def test_self_link_is_ignored(client):
    related = [URL, {"webUrl": "HTTPS://news.example.com/story?utm_campaign=x"}]
    [result] = _report(client, ("self.md", doc("Self", URL, related=related)))
    detail = article(client, result["id"])
    assert detail["related"] == []
    assert detail["relatedCount"] == 0
    assert total(client, includeStubs="true") == 1


def test_duplicate_related_entries_are_merged(client):
    related = [
        {"webUrl": "https://other.example.org/linked"},
        {"webUrl": "https://OTHER.example.org:443/linked?utm_source=x#frag", "title": "Filled in"},
    ]
    [result] = _report(client, ("dupes.md", doc("Dupes", URL, related=related)))
    detail = article(client, result["id"])
    assert detail["relatedCount"] == 1
    [only] = detail["related"]
    assert only["title"] == "Filled in"
    assert only["webUrl"] == "https://other.example.org/linked"
    assert total(client, includeStubs="true") == 2


def test_topics_are_unique_case_insensitively_first_spelling_kept(client):
    results = _report(
        client,
        ("a.md", doc("A", "https://news.example.com/a", topics=["AI", "ai", "Ai"])),
        ("b.md", doc("B", "https://news.example.com/b", topics="ai, Économie")),
    )
    a, b = (article(client, r["id"]) for r in results)
    assert a["topics"] == [{"name": "AI", "slug": "ai"}]
    assert b["topics"] == [{"name": "AI", "slug": "ai"}, {"name": "Économie", "slug": "economie"}]
    assert client.get("/v1/topics/ai").json() == {"slug": "ai", "name": "AI", "articleCount": 2}
    assert client.get("/v1/topics/economie").json()["name"] == "Économie"
    assert {t["slug"] for t in client.get("/v1/topics").json()["items"]} == {"ai", "economie"}


@pytest.mark.parametrize(("order", "topic", "provider"), [("xy", "AI", "X"), ("yx", "ai", "x")])
def test_first_spelling_in_one_upload_follows_upload_order(client, order, topic, provider):
    """Article ids order the writes; they must not decide which spelling comes first."""
    docs = {
        "x": (
            "x.md",
            doc("X", "https://www.x.example.com/1", topics=["AI"], provider={"name": "X"}),
        ),
        "y": ("y.md", doc("Y", "https://x.example.com/2", topics=["ai"], provider={"name": "x"})),
    }
    _report(client, *(docs[key] for key in order))
    assert client.get("/v1/topics/ai").json()["name"] == topic
    assert client.get("/v1/providers/x.example.com").json()["name"] == provider


def test_topic_spelling_seen_first_survives_later_uploads(client):
    _report(client, ("a.md", doc("A", "https://news.example.com/a", topics=["ai"])))
    _report(client, ("b.md", doc("B", "https://news.example.com/b", topics=["AI"])))
    assert client.get("/v1/topics/ai").json()["name"] == "ai"


@pytest.mark.parametrize(
    ("provider", "domain", "name"),
    [
        ({"name": "The  Daily   Example"}, "daily.example.org", "The Daily Example"),
        (None, "daily.example.org", "daily.example.org"),
        ({"name": "Daily", "domain": "WWW.Daily.Example.org"}, "daily.example.org", "Daily"),
    ],
    ids=["name-only", "absent", "www-domain"],
)
def test_provider_domain(client, provider, domain, name):
    web_url = "https://www.daily.example.org/business/story"
    [result] = _report(client, ("p.md", doc("P", web_url, provider=provider)))
    assert article(client, result["id"])["provider"] == {"name": name, "domain": domain}
    assert client.get(f"/v1/providers/{domain}").json()["articleCount"] == 1


def test_provider_domain_from_original_url(client):
    data = b"title: Original only\noriginalUrl: https://www.wire.example.com/x\n"
    [result] = stored(upload_raw(client, data, "application/yaml"))["results"]
    detail = article(client, result["id"])
    assert detail["provider"]["domain"] == "wire.example.com"
    assert (detail["webUrl"], detail["originalUrl"]) == (None, "https://www.wire.example.com/x")


def test_mojibake_is_repaired_and_source_kept(client):
    data = doc(
        "Warehouse workersâ€™ vote",
        URL,
        body="Staff voted â€“ again.",
        excerpt="The unionâ€™s  first   deal",
        provider={"name": "CafÃ© News"},
        topics=["Ã‰conomie"],
    )
    [result] = _report(client, ("m.md", data))
    detail = article(client, result["id"])
    assert detail["title"] == "Warehouse workers’ vote"
    assert detail["excerpt"] == "The union’s first deal"
    assert detail["body"] == "Staff voted – again."
    assert detail["provider"]["name"] == "Café News"
    assert detail["topics"] == [{"name": "Économie", "slug": "economie"}]
    assert client.get(f"/v1/articles/{result['id']}/source").content == data


def test_unknown_keys_come_back_verbatim_in_extra(client):
    data = (
        "---\n"
        "title: Extra\n"
        f"webUrl: {URL}\n"
        "seo:\n  robots: noindex\n  keywords: [a, b]\n"
        "authors:\n  - name: Ann\n    email: null\n  - name: Bob\n"
        "wordCount: 1234\n"
        "score: 0.75\n"
        "paywalled: false\n"
        "embargoUntil: 2024-03-01T09:30:00Z\n"
        "legacyIds: [1, two, 3.5, true]\n"
        "emptyList: []\n"
        "---\nBody\n"
    ).encode()
    [result] = _report(client, ("x.md", data))
    assert article(client, result["id"])["extra"] == {
        "seo": {"robots": "noindex", "keywords": ["a", "b"]},
        "authors": [{"name": "Ann", "email": None}, {"name": "Bob"}],
        "wordCount": 1234,
        "score": 0.75,
        "paywalled": False,
        "embargoUntil": "2024-03-01T09:30:00Z",
        "legacyIds": [1, "two", 3.5, True],
        "emptyList": [],
    }


def test_source_returns_exact_bytes_last_ingested(client):
    crlf_bom = b"\xef\xbb\xbf---\r\ntitle: CRLF\r\nwebUrl: " + URL.encode() + b"\r\n---\r\nBody\r\n"
    [result] = _report(client, ("crlf.md", crlf_bom))
    response = client.get(f"/v1/articles/{result['id']}/source")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/markdown; charset=utf-8"
    assert response.content == crlf_bom
    assert article(client, result["id"])["title"] == "CRLF"
    newer = doc("Newer", URL)
    _report(client, ("crlf.md", newer))
    assert client.get(f"/v1/articles/{result['id']}/source").content == newer


def test_unpublished_article_needs_a_key(client):
    [result] = _report(client, ("u.md", doc("Hidden", URL, published=False)))
    assert client.get(f"/v1/articles/{result['id']}").status_code == 404
    assert client.get(f"/v1/articles/{result['id']}/source").status_code == 404
    assert client.get(f"/v1/articles/{result['id']}", headers=AUTH).json()["published"] is False


def test_ingest_pipeline_in_batches(db):
    items = [(f"{i}.md", doc(f"Story {i}", f"https://news.example.com/{i}")) for i in range(7)]
    items.insert(3, ("bad.md", doc(None, "https://news.example.com/bad")))
    batches: list[list[str]] = []
    kept = ingest(
        db,
        items,
        Limits(),
        batch_size=3,
        on_batch=lambda rs: batches.append([r.status for r in rs]),
    )
    # Handed over batch by batch, not kept as well.
    assert [len(b) for b in batches] == [3, 3, 2] and kept == []
    statuses = [status for batch in batches for status in batch]
    assert statuses.count("created") == 7
    assert statuses[3] == "rejected"
    again = ingest(db, items, Limits(), batch_size=3)
    assert [r.status for r in again].count("unchanged") == 7


def _stored_count(db) -> int:
    with db.read() as session:
        return int(session.scalar(select(func.count()).select_from(Article)) or 0)


def test_batches_share_a_commit_and_are_reported_once_committed(db):
    items = [(f"{i}.md", doc(f"Story {i}", f"https://news.example.com/{i}")) for i in range(8)]
    seen: list[tuple[int, int]] = []
    ingest(
        db,
        items,
        Limits(),
        batch_size=2,
        commit_docs=5,
        on_batch=lambda rs: seen.append((len(rs), _stored_count(db))),
    )
    # Batches of 2: the first commit comes after 3 batches (6 documents), the last with the
    # rest. Every report is heard only when its documents can be read from elsewhere.
    assert seen == [(2, 6), (2, 6), (2, 6), (2, 8)]


def test_a_failure_rolls_back_only_the_uncommitted_batches(db):
    def items():
        for i in range(8):
            yield f"{i}.md", doc(f"Story {i}", f"https://news.example.com/{i}")
        raise OSError("the disk went away")

    reported: list[int] = []
    with pytest.raises(OSError):
        ingest(
            db,
            items(),
            Limits(),
            batch_size=2,
            commit_docs=4,
            on_batch=lambda rs: reported.append(len(rs)),
        )
    # Batches one and two were committed together; the third was written when the fourth
    # had been read, then rolled back with it.
    assert reported == [2, 2]
    assert _stored_count(db) == 4


def test_unchanged_without_web_urls_reads_only_the_hash_index(db):
    items = [(f"{i}.md", doc(f"Story {i}", f"https://news.example.com/{i}")) for i in range(3)]
    first = ingest(db, items, Limits())
    with_urls = ingest(db, items, Limits())
    with statements(db) as seen:
        without = ingest(db, items, Limits(), web_urls=False)
    assert [r.status for r in with_urls] == [r.status for r in without] == ["unchanged"] * 3
    assert [r.id for r in without] == [r.id for r in first]
    assert [r.webUrl for r in with_urls] == [f"https://news.example.com/{i}" for i in range(3)]
    assert [r.webUrl for r in without] == [None] * 3
    if db.dialect == "sqlite":
        # SQLite's trace has the values in place, so the plan of the very statement run.
        [lookup] = [sql for sql in seen if "source_sha256 IN" in sql]
        with sqlite3.connect(make_url(db.engine.url).database) as conn:
            plan = conn.execute(f"EXPLAIN QUERY PLAN {lookup}").fetchall()
        assert "USING COVERING INDEX ix_articles_source_sha256" in str(plan)


def _wait_for_a_blocked_writer(db) -> None:
    """On PostgreSQL, until another transaction waits on a lock; SQLite serialises writers
    before they read, so there is nothing to wait for."""
    if db.dialect != "postgresql":
        return
    waiting = text(
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    for _ in range(500):
        with db.engine.connect() as conn:
            if conn.scalar(waiting):
                return
        time.sleep(0.02)
    raise AssertionError("the second writer never waited on the first")


def test_a_concurrent_writer_of_the_same_url_replaces_every_row_of_the_first(db):
    first = prepare("a.md", doc("A", URL, tags=["one", "two"], topics=["Politics"]), Limits())
    second = prepare("b.md", doc("B", URL), Limits())
    outcome: dict[str, list[Any]] = {}

    def write_second() -> None:
        with db.write() as session:
            outcome["second"] = store(session, [second])

    with db.write() as session:
        outcome["first"] = store(session, [first])
        writer = threading.Thread(target=write_second)
        writer.start()
        # The second writer has read which articles exist (not this one, uncommitted) and
        # waits for this transaction, on PostgreSQL.
        _wait_for_a_blocked_writer(db)
    writer.join(timeout=30)
    assert [r.status for r in outcome["second"]] in (["created"], ["updated"])
    with db.read() as session:
        detail = get_article(session=session, article_id=parse_id(outcome["first"][0].id),
                             authorized=True)  # fmt: skip
    assert detail is not None
    assert (detail["title"], detail["tags"], detail["topics"]) == ("B", [], [])
