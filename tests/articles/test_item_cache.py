"""List items are kept per data version: a cached item costs no statement, any write renews it.

Each request below spells its query differently, so the response cache (keyed on the
request) never answers and every listing reaches the item cache.
"""

from typing import Any

from tests.articles.helpers import document, listing, upload_texts
from tests.conftest import AUTH, statements

A = "https://cache.example.com/a"
B = "https://cache.example.com/b"
C = "https://cache.example.com/c"


def only(client: Any, url: str, limit: int, **kwargs: Any) -> dict[str, Any]:
    [item] = listing(client, {"url": url, "limit": str(limit)}, **kwargs)["items"]
    return item


def test_cached_items_cost_no_statement(client, db):
    upload_texts(client, {
        f"{n}.md": document(title=f"T{n}", webUrl=f"{A}/{n}", topics=["AI"], tags=["x"],
                            images=[{"url": f"{A}/{n}.jpg"}])
        for n in range(6)
    })  # fmt: skip
    first = listing(client, {"limit": "5"})
    with statements(db) as seen:
        again = listing(client, {"limit": "5", "count": "false"})
    assert again["items"] == first["items"]
    assert not [s for s in seen if "article_topics" in s or "article_images" in s], seen
    with statements(db) as seen:
        listing(client, {"limit": "6"})  # one more item, not cached yet
    assert [s for s in seen if "article_topics" in s], seen


def test_a_write_renews_cached_items(client):
    upload_texts(client, {
        "a.md": document(title="First", webUrl=A, topics=["AI"], quality=10),
        "c.md": document(title="C", webUrl=C, related=[{"webUrl": A, "title": "First"}]),
    })  # fmt: skip
    item = only(client, A, 1)
    ai, space = {"name": "AI", "slug": "ai"}, {"name": "Space", "slug": "space"}
    assert (item["title"], item["topics"], item["relatedCount"]) == ("First", [ai], 1)
    upload_texts(client, {"a.md": document(title="Second", webUrl=A, topics=["Space"])})
    item = only(client, A, 2)
    assert (item["title"], item["topics"], item["quality"]) == ("Second", [space], None)
    c_id = only(client, C, 3)["id"]
    assert client.delete(f"/v1/articles/{c_id}", headers=AUTH).status_code == 204
    assert only(client, A, 4)["relatedCount"] == 0


def test_items_are_kept_per_visibility(client):
    upload_texts(client, {
        "a.md": document(title="A", webUrl=A, related=[{"webUrl": B, "title": "B"}]),
        "b.md": document(title="B", webUrl=B, published=False),
    })  # fmt: skip
    # Anonymous callers do not count the link to the unpublished article; key holders do,
    # whichever of the two asked first.
    assert only(client, A, 1)["relatedCount"] == 0
    assert only(client, A, 2, headers=AUTH)["relatedCount"] == 1
    assert only(client, A, 3)["relatedCount"] == 0
    assert only(client, A, 4, headers=AUTH)["relatedCount"] == 1
