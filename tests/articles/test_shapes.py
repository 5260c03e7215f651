"""A listing's statements are built once per shape and bound to each request's own values."""

from app.articles import service
from app.articles.filters import shared_statement
from tests.articles.helpers import document, listing, upload_texts

URL = "https://shapes.example.com"


def titles(body: dict) -> list[str]:
    return [item["title"] for item in body["items"]]


def test_one_shape_one_statement_with_each_requests_values(client):
    upload_texts(client, {
        f"{n}.md": document(title=f"Q{n * 10}", webUrl=f"{URL}/{n}", quality=n * 10, heat=n,
                            topics=["AI" if n % 2 else "Space"])
        for n in range(1, 10)
    })  # fmt: skip
    # A shape nobody has asked for yet: quality window, a topic, sorted by heat.
    query = {"minQuality": "20", "maxQuality": "60", "topic": "ai", "sort": "-heat"}
    first = listing(client, query)
    built, pages = shared_statement.cache_info().misses, service._kept_page.cache_info().misses
    # Same shape, other values: nothing new is built, and the values are this request's.
    second = listing(client, {**query, "minQuality": "50", "maxQuality": "90"})
    third = listing(client, {**query, "topic": "space", "limit": "2"})
    assert shared_statement.cache_info().misses == built
    assert service._kept_page.cache_info().misses == pages
    assert titles(first) == ["Q50", "Q30"]
    assert titles(second) == ["Q90", "Q70", "Q50"]
    assert titles(third) == ["Q60", "Q40"]
    # The cursor's values are bound too: the next page continues after this one.
    rest = listing(client, {**query, "topic": "space", "limit": "2",
                            "cursor": third["nextCursor"]})  # fmt: skip
    assert titles(rest) == ["Q20"]
