"""Providers and topics (§3.2): counts, averages, search, sort, cursors, detail, scoped lists."""

import re
from typing import Any

import pytest

from tests.articles.helpers import assert_problem, document, listing, upload_texts, walk
from tests.conftest import AUTH

PROVIDERS = {
    # domain: (name, published non-stub articles, avgQuality, avgHeat)
    "science.example.org": ("Example Science Weekly", 5, 61.8, 105.4),
    "news.example.com": ("Example News", 3, 83.7, 99.7),
    "tech.example.com": ("Example Tech Review", 3, 85.0, 89.0),
    "wire.example.com": ("Example Wire", 2, 43.0, 232.5),
    "sky.com": ("Sky", 1, 57.0, 77.0),
    "daily.example.org": ("The Daily Example", 1, 18.0, 9.0),
    "fr.example.org": ("Le Quotidien Exemple", 1, 47.0, 58.0),
}
TOPICS = {
    "ai": ("AI", 5), "space": ("Space", 5), "climate": ("Climate", 4), "health": ("Health", 4),
    "cybersecurity": ("Cybersecurity", 3), "computer-vision": ("Computer Vision", 2),
    "elections": ("Elections", 2), "privacy": ("Privacy", 2), "economie": ("Économie", 1),
}  # fmt: skip


def entries(client: Any, path: str, **params: str) -> list[dict[str, Any]]:
    response = client.get(path, params={"limit": "100", **params})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["nextCursor"] is None
    return body["items"]


def keys(items: list[dict[str, Any]]) -> list[str]:
    return [item.get("domain") or item["slug"] for item in items]


def test_providers_and_topics_with_counts(seeded):
    items = entries(seeded, "/v1/providers")
    by_domain = {item["domain"]: item for item in items}
    for domain, (name, count, quality, heat) in PROVIDERS.items():
        assert by_domain[domain] == {"domain": domain, "name": name, "articleCount": count,
                                     "avgQuality": quality, "avgHeat": heat}  # fmt: skip
    # Providers known only from related entries (stubs) have no listed articles.
    for domain in set(by_domain) - set(PROVIDERS):
        assert by_domain[domain]["articleCount"] == 0, domain
    assert set(by_domain) >= set(PROVIDERS)
    assert all(set(item) == {"domain", "name", "articleCount", "avgQuality", "avgHeat"}
               for item in items)  # fmt: skip
    # Default sort: most articles first, the domain breaks ties.
    expected = sorted(items, key=lambda i: (-i["articleCount"], i["domain"]))
    assert items == expected
    assert keys(items)[:3] == ["science.example.org", "news.example.com", "tech.example.com"]
    assert entries(seeded, "/v1/providers", sort="-articleCount") == items
    items = entries(seeded, "/v1/topics")
    assert {i["slug"]: (i["name"], i["articleCount"]) for i in items} == TOPICS
    assert all(set(item) == {"slug", "name", "articleCount"} for item in items)
    assert items == sorted(items, key=lambda i: (-i["articleCount"], i["slug"]))
    assert keys(items)[:2] == ["ai", "space"]


def test_counts_and_averages_of_published_full_articles(client):
    texts = {
        "hidden.md": document(title="Hidden", webUrl="https://only.example.net/hidden",
                              published=False, topics=["Secret Topic"], quality=10, heat=10),
        "shown.md": document(title="Shown", webUrl="https://mixed.example.net/a",
                             topics=["Shared"], quality=40, heat=4,
                             related=[{"webUrl": "https://mixed.example.net/stub", "quality": 100,
                                       "heat": 1000}]),
        "other.md": document(title="Other", webUrl="https://mixed.example.net/b",
                             topics=["shared", "Secret topic"], published=False, quality=0),
    }  # fmt: skip
    upload_texts(client, texts)
    providers = {i["domain"]: i for i in entries(client, "/v1/providers")}
    assert providers["only.example.net"]["articleCount"] == 0
    assert providers["mixed.example.net"] == {
        "domain": "mixed.example.net", "name": "mixed.example.net", "articleCount": 1,
        "avgQuality": 40.0, "avgHeat": 4.0,
    }  # fmt: skip
    topics = {i["slug"]: i for i in entries(client, "/v1/topics")}
    assert topics["shared"] == {"slug": "shared", "name": "Shared", "articleCount": 1}
    assert topics["secret-topic"]["articleCount"] == 0
    assert topics["secret-topic"]["name"] == "Secret Topic"
    # Averages skip nulls and are rounded to one decimal.
    texts = {
        f"{n}.md": document(title=f"Story {n}", webUrl=f"https://avg.example.com/{n}",
                            quality=quality, heat=heat)
        for n, (quality, heat) in enumerate([(1, None), (2, 10), (None, 11), (2, None)])
    }  # fmt: skip
    upload_texts(client, texts)
    provider = client.get("/v1/providers/avg.example.com").json()
    assert provider["articleCount"] == 4
    assert provider["avgQuality"] == pytest.approx(1.7)
    assert provider["avgHeat"] == pytest.approx(10.5)
    upload_texts(client, {"x.md": document(title="Nulls", webUrl="https://nulls.example.com/")})
    nulls = client.get("/v1/providers/nulls.example.com").json()
    assert nulls == {"domain": "nulls.example.com", "name": "nulls.example.com",
                     "articleCount": 1, "avgQuality": None, "avgHeat": None}  # fmt: skip


def test_search_by_name_or_key(seeded):
    def found(path: str, q: str) -> set[str]:
        return set(keys(entries(seeded, path, q=q)))

    assert found("/v1/providers", "SKY") == {"sky.com"}
    assert found("/v1/providers", "daily") == {"daily.example.org"}
    assert found("/v1/providers", "wire.example") == {"wire.example.com"}
    assert found("/v1/providers", "Quotidien") == {"fr.example.org"}
    assert found("/v1/providers", "example tech") == {"tech.example.com"}
    assert found("/v1/providers", "nothing-like-this") == set()
    assert found("/v1/topics", "vision") == {"computer-vision"}
    assert found("/v1/topics", "computer-v") == {"computer-vision"}
    assert found("/v1/topics", "Ai") == {"ai"}
    assert found("/v1/topics", "CLIM") == {"climate"}
    for q in ("Économie", "économie", "ÉCONOMIE", "econ", "ÉCON", "nomie"):
        assert found("/v1/topics", q) == {"economie"}, q
    # LIKE wildcards are plain characters.
    for q in ("%", "_", "%%", "\\", "'", '"', "' OR 1=1 --", "💥", "[a-z]", "*"):
        assert found("/v1/providers", q) == set(), q
        assert found("/v1/topics", q) == set(), q
    everything = entries(seeded, "/v1/topics")
    assert entries(seeded, "/v1/topics", q="") == everything


def test_sort_by_name(seeded):
    for path, key in (("/v1/providers", "domain"), ("/v1/topics", "slug")):
        items = entries(seeded, path, sort="name")
        assert items == sorted(items, key=lambda i: (i["name"], i[key]))
        backwards = entries(seeded, path, sort="-name")
        assert backwards == sorted(items, key=lambda i: i["name"], reverse=True)
        by_count = entries(seeded, path, sort="articleCount")
        assert [i["articleCount"] for i in by_count] == sorted(i["articleCount"] for i in items)


def test_cursors_visit_everything_once(client):
    # Many entries, with names and counts that tie.
    texts = {}
    for n in range(40):
        texts[f"{n}.md"] = document(
            title=f"Story {n}", webUrl=f"https://site{n % 13}.example.com/{n}",
            provider={"name": "Same Name" if n % 13 < 5 else f"Name {n % 13}",
                      "domain": f"site{n % 13}.example.com"},
            topics=[f"Topic {n % 17}", f"Topic {(n * 7) % 17}", "Every"],
        )  # fmt: skip
    upload_texts(client, texts)
    for path, key in (("/v1/providers", "domain"), ("/v1/topics", "slug")):
        for sort, q, limit in (("name", None, 2), ("-name", None, 3), ("articleCount", None, 2),
                               ("-articleCount", None, 3), (None, None, 1), (None, "1", 1),
                               ("name", "name 1", 1)):  # fmt: skip
            params = {"sort": sort} if sort else {}
            params |= {"q": q} if q else {}
            whole = client.get(path, params={**params, "limit": "100"}).json()["items"]
            name = (sort or "-articleCount").lstrip("-")
            field = "articleCount" if name == "articleCount" else "name"
            order = sorted(whole, key=lambda i: i[key])
            order.sort(key=lambda i: i[field], reverse=(sort or "-").startswith("-"))
            assert whole == order, (path, sort, q)
            assert len(whole) > limit or q
            query = [*params.items(), ("limit", str(limit))]
            pages = walk(client, path, query, key=key)
            assert pages == [i[key] for i in whole], (path, sort, q, limit)
        assert len(client.get(path, params={"limit": "100"}).json()["items"]) >= 13


def test_catalog_problems(seeded):
    for path in ("/v1/providers", "/v1/topics"):
        for params, where in (
            ({"sort": "bogus"}, "sort"), ({"sort": "quality"}, "sort"), ({"limit": "0"}, "limit"),
            ({"limit": "101"}, "limit"), ({"bogus": "1"}, "bogus"),
            ({"minQuality": "5"}, "minQuality"),
        ):  # fmt: skip
            assert_problem(seeded.get(path, params=params), 422, where)
        cursor = seeded.get(path, params={"limit": "1"}).json()["nextCursor"]
        for params in ({"sort": "name"}, {"q": "e"}):
            assert_problem(seeded.get(path, params={**params, "cursor": cursor}), 400, "cursor")
        for garbage in ("garbage", "W10", "😀"):
            assert_problem(seeded.get(path, params={"cursor": garbage}), 400, "cursor")
        long_q = seeded.get(path, params={"q": "x" * 5000})
        assert long_q.status_code in (200, 422), long_q.text
        if long_q.status_code == 422:
            assert_problem(long_q, 422, "q")


def test_detail_and_unknown(seeded):
    sky = {"domain": "sky.com", "name": "Sky", "articleCount": 1, "avgQuality": 57.0,
           "avgHeat": 77.0}  # fmt: skip
    for domain in ("sky.com", "SKY.com", "www.sky.com"):
        response = seeded.get(f"/v1/providers/{domain}")
        assert response.status_code == 200 and response.json() == sky, domain
    science = seeded.get("/v1/providers/science.example.org").json()
    assert science["articleCount"] == 5 and science["name"] == "Example Science Weekly"
    assert seeded.get("/v1/topics/ai").json() == {"slug": "ai", "name": "AI", "articleCount": 5}
    assert seeded.get("/v1/topics/AI").json()["slug"] == "ai"
    assert seeded.get("/v1/topics/economie").json()["name"] == "Économie"
    assert seeded.get("/v1/topics/computer-vision").json()["articleCount"] == 2
    for path in ("/v1/providers/nowhere.example", "/v1/topics/no-such-topic",
                 "/v1/providers/nowhere.example/articles", "/v1/topics/no-such-topic/articles",
                 "/v1/topics/%F0%9F%92%A5", "/v1/providers/%27%20OR%201%3D1",
                 "/v1/topics/" + "x" * 3000):  # fmt: skip
        assert_problem(seeded.get(path), 404)


def test_scoped_listings_take_the_article_parameters(seeded):
    def scoped(path: str, **params: str) -> dict[str, Any]:
        response = seeded.get(path, params={"limit": "100", **params})
        assert response.status_code == 200, response.text
        return response.json()

    science = "/v1/providers/science.example.org/articles"
    assert scoped(science, count="true")["total"] == 5
    www = "/v1/providers/www.Science.example.org/articles"
    assert scoped(www)["items"] == scoped(science)["items"]
    body = scoped(science, sort="-heat", minQuality="10", facets="topic", count="true")
    assert [i["heat"] for i in body["items"]] == [210, 33, 22, 12]
    assert body["total"] == 4
    assert {f["value"]: f["count"] for f in body["facets"]["topic"]} == {
        "space": 2, "climate": 2, "health": 1,
    }  # fmt: skip
    space = "/v1/topics/space/articles"
    assert scoped(space, count="true")["total"] == 5
    assert [i["title"][:5] for i in scoped(space, topic="climate")["items"]] == ["Solar"]
    facet = scoped(space, facets="provider")["facets"]["provider"]
    providers = {f["value"]: f["count"] for f in facet}
    assert providers == {"science.example.org": 3, "tech.example.com": 2}
    assert scoped(space, provider="sky.com")["items"] == []
    assert scoped("/v1/providers/sky.com/articles", provider="science.example.org")["items"] == []
    assert [i["title"][:5] for i in scoped(space, q="mars")["items"]] == ["Mars "]
    # A provider known only from a related entry lists its stub on request.
    sun = "/v1/providers/thesun.co.uk/articles"
    assert scoped(sun)["items"] == []
    assert [i["stub"] for i in scoped(sun, includeStubs="true")["items"]] == [True]
    elections = "/v1/topics/elections/articles"
    assert len(scoped(elections)["items"]) == 2
    hidden = seeded.get(elections, params={"published": "false"}, headers=AUTH).json()
    assert [i["published"] for i in hidden["items"]] == [False]
    # Pages of a scoped listing, with the Link header, against the full list.
    for path in (science, space, elections):
        for sort in ("-heat", "title", "quality,-publishedDateTime"):
            whole = [i["id"] for i in scoped(path, sort=sort)["items"]]
            assert walk(seeded, path, [("sort", sort), ("limit", "2")]) == whole
    for path in (science, space):
        assert_problem(seeded.get(path, params={"minQuality": "abc"}), 422, "minQuality")
        assert_problem(seeded.get(path, params={"cursor": "garbage"}), 400, "cursor")
        assert_problem(seeded.get(path, params={"sort": "relevance"}), 422, "sort")
    articles_cursor = listing(seeded, {"limit": "1"})["nextCursor"]
    assert_problem(seeded.get(space, params={"cursor": articles_cursor, "limit": "1"}), 400)


@pytest.mark.parametrize(
    "dirty", ["space%0D%0A", "space%0B", "%1Fspace", "%E2%80%A8space", "SPACE%C2%A0"]
)
def test_next_link_of_a_key_sent_with_whitespace_is_a_valid_header(seeded, dirty):
    """The key matches once stripped; the Link repeats the path as sent, percent-encoded.

    Repeated decoded, its CR/LF or control characters made the server drop the response,
    and a character outside Latin-1 could not be encoded into the header at all.
    """
    space = "/v1/topics/space/articles"
    first = seeded.get(space, params={"limit": "1"}).json()
    second = seeded.get(space, params={"limit": "1", "cursor": first["nextCursor"]}).json()
    response = seeded.get(f"/v1/topics/{dirty}/articles", params={"limit": "1"})
    assert response.status_code == 200, response.text
    assert response.json()["items"] == first["items"]
    link = response.headers["link"]
    assert re.fullmatch(r'<http://testserver/v1/topics/[\x21-\x7e]+>; rel="next"', link), link
    target = link[1 : link.index(">")].removeprefix("http://testserver")
    assert target.startswith(f"/v1/topics/{dirty}/articles?")
    assert seeded.get(target).json()["items"] == second["items"]


@pytest.mark.parametrize("host", ["[", "]", "#x", "a b"])
def test_next_link_with_an_odd_host_header_is_no_server_error(seeded, host):
    """Starlette's URL parser raised on an unbalanced bracket in Host (a 500)."""
    response = seeded.get(
        "/v1/topics/space/articles", params={"limit": "1"}, headers={"host": host}
    )
    assert response.status_code == 200, response.text
    assert re.fullmatch(r'<http://[\x21-\x7e]+>; rel="next"', response.headers["link"])
