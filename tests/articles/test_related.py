"""GET /v1/articles/{id}/related: outgoing in file order, then incoming newest first."""

import base64
import json
from typing import Any

import pytest

from tests.articles.helpers import (
    Params,
    assert_problem,
    document,
    listing,
    upload_texts,
    walk,
)
from tests.conftest import AUTH

HUB = "https://graph.example.com/hub"
SERCO_URL = (
    "https://news.sky.com/story/"
    "serco-ordered-to-stop-using-facial-recognition-technology-to-monitor-staff-13078992"
)
ELECTION_URL = "https://wire.example.com/politics/2024/03/05/election-night-live?page=2"


def by_url(client: Any, url: str, **params: str) -> dict[str, Any]:
    [item] = listing(client, {"url": url, **params}, headers=AUTH)["items"]
    return item


def related(client: Any, article_id: str, **params: str) -> dict[str, Any]:
    response = client.get(f"/v1/articles/{article_id}/related", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def test_seed_outgoing_stubs_in_file_order(seeded):
    serco = by_url(seeded, SERCO_URL)
    body = related(seeded, serco["id"])
    assert [item["title"] for item in body["items"]] == [
        "Leisure centre operator ordered to axe facial recognition tech monitoring "
        "workers’ attendance",
        "Serco Leisure ordered to stop using facial recognition tech on 2,000 staff",
    ]
    assert [item["direction"] for item in body["items"]] == ["outgoing", "outgoing"]
    assert all(item["stub"] for item in body["items"])
    assert body["nextCursor"] is None
    assert related(seeded, serco["id"], direction="incoming")["items"] == []
    assert len(related(seeded, serco["id"], direction="outgoing")["items"]) == 2
    # The deepfake article lists the live blog twice under two spellings: one link.
    election = by_url(seeded, ELECTION_URL)
    incoming = related(seeded, election["id"])["items"]
    assert [(i["title"][:9], i["direction"]) for i in incoming] == [("Regulator", "incoming")]
    # A related entry never overwrites the full article it points to.
    ai_act = by_url(seeded, "https://news.example.com/politics/2024/03/13/eu-ai-act-final-vote")
    items = related(seeded, ai_act["id"])["items"]
    assert [(i["title"][:12], i["direction"], i["stub"]) for i in items] == [
        ("Supermarket ", "outgoing", False),
        ("What the AI ", "outgoing", True),
        ("Supermarket ", "incoming", False),
    ]
    assert ai_act["title"] == "European Parliament gives final approval to landmark AI Act"
    assert ai_act["quality"] == 88 and ai_act["relatedCount"] == 3


GRAPH = {
    # name: (publishedDateTime, quality, heat, published)
    "f1": ("2024-01-10T00:00:00Z", 80, None, True),
    "f2": ("2024-01-11T00:00:00Z", 70, 70, False),
    "i1": ("2024-03-01T00:00:00Z", 10, 100, True),
    "i2": ("2024-03-05T00:00:00Z", 60, 5, True),
    "i3": (None, 90, 20, True),
    "i4": ("2024-03-05T00:00:00Z", None, 30, True),
    "i5": ("2024-02-01T00:00:00Z", 55, None, True),
    "i6": (None, 20, 60, True),
    "i7": ("2024-04-01T00:00:00Z", 99, 99, False),
}
STUBS = {"s1": (40, 5), "s2": (None, 50), "s3": (90, 90)}
OUTGOING = ["s1", "f1", "s2", "f2", "s3"]


def url(name: str) -> str:
    return f"https://graph.example.com/{name}"


@pytest.fixture
def graph(client: Any) -> dict[str, Any]:
    """A hub with five outgoing links (stubs and full articles) and seven incoming ones."""
    texts = {}
    for name, (published_at, quality, heat, published) in GRAPH.items():
        fields: dict[str, Any] = {"title": name.upper(), "webUrl": url(name)}
        fields.update(publishedDateTime=published_at, quality=quality, heat=heat)
        fields["published"] = published
        if name.startswith("i"):
            fields["related"] = [{"webUrl": HUB, "title": "must not overwrite the hub"}]
        texts[f"{name}.md"] = document(**{k: v for k, v in fields.items() if v is not None})
    entries = []
    for name in OUTGOING:
        entry: dict[str, Any] = {"webUrl": url(name), "title": f"{name.upper()} as linked"}
        if name in STUBS:
            entry.update({k: v for k, v in zip(("quality", "heat"), STUBS[name], strict=True)
                          if v is not None})  # fmt: skip
        entries.append(entry)
    texts["hub.md"] = document(title="HUB", webUrl=HUB, related=entries)
    ids = {name.removesuffix(".md"): id_ for name, id_ in upload_texts(client, texts).items()}
    for name in STUBS:
        ids[name] = by_url(client, url(name), includeStubs="true")["id"]
    values = {n: {"quality": q, "heat": h, "published": p, "at": a}
              for n, (a, q, h, p) in GRAPH.items()}  # fmt: skip
    values.update({n: {"quality": q, "heat": h, "published": True, "at": None}
                   for n, (q, h) in STUBS.items()})  # fmt: skip
    return {"ids": ids, "values": values}


def expected(graph: dict[str, Any], params: Params, authorized: bool) -> list[tuple[str, str]]:
    """(id, direction) in contract order, from the graph's own definition."""
    values = graph["values"]
    options = dict(params)
    direction = options.get("direction", "both")

    def keep(name: str) -> bool:
        value = values[name]
        if not value["published"] and not authorized:
            return False
        for param, field in (("minQuality", "quality"), ("minHeat", "heat")):
            if param in options and (value[field] is None or value[field] < int(options[param])):
                return False
        return True

    out = [n for n in OUTGOING if keep(n)] if direction in ("both", "outgoing") else []
    incoming = [n for n in GRAPH if n.startswith("i") and keep(n)]
    incoming.sort(key=lambda n: graph["ids"][n])
    incoming.sort(key=lambda n: values[n]["at"] or "", reverse=True)
    incoming.sort(key=lambda n: values[n]["at"] is None)
    if direction == "outgoing":
        incoming = []
    ids = graph["ids"]
    return [(ids[n], "outgoing") for n in out] + [(ids[n], "incoming") for n in incoming]


def test_related_pages_match_the_graph(client, graph):
    hub = graph["ids"]["hub"]
    path = f"/v1/articles/{hub}/related"
    for authorized in (False, True):
        headers = AUTH if authorized else None
        for extra, limit in (
            ([], 1), ([("direction", "both")], 3), ([("direction", "outgoing")], 2),
            ([("direction", "incoming")], 1), ([("minQuality", "50")], 2), ([("minHeat", "10")], 1),
            ([("minQuality", "100")], 1),
            ([("minQuality", "50"), ("minHeat", "10"), ("direction", "incoming")], 1),
            # Heat floors beyond a 32-bit integer (PostgreSQL's `integer` refused them).
            ([("minHeat", str(2**31))], 1), ([("minHeat", str(2**63 - 1))], 1),
        ):  # fmt: skip
            want = expected(graph, extra, authorized)
            whole = client.get(path, params=[*extra, ("limit", "100")], headers=headers).json()
            assert [(i["id"], i["direction"]) for i in whole["items"]] == want, (extra, authorized)
            pages = walk(client, path, [*extra, ("limit", str(limit))], headers)
            assert pages == [id_ for id_, _ in want], (extra, limit, authorized)


def test_related_in_detail_and_counts(client, graph):
    hub = graph["ids"]["hub"]
    detail = client.get(f"/v1/articles/{hub}").json()
    want = expected(graph, [], authorized=False)
    assert [(i["id"], i["direction"]) for i in detail["related"]] == want
    assert detail["relatedCount"] == len(want) == 10
    assert client.get(f"/v1/articles/{hub}", headers=AUTH).json()["relatedCount"] == 12
    s1 = client.get(f"/v1/articles/{graph['ids']['s1']}").json()
    assert s1["stub"] is True and s1["title"] == "S1 as linked" and s1["quality"] == 40
    # A full article keeps its own fields whatever its linkers say.
    i1 = client.get(f"/v1/articles/{graph['ids']['i1']}").json()
    assert [r["title"] for r in i1["related"]] == ["HUB"]
    f1 = client.get(f"/v1/articles/{graph['ids']['f1']}").json()
    assert f1["title"] == "F1" and f1["quality"] == 80 and f1["stub"] is False
    assert [(r["id"], r["direction"]) for r in f1["related"]] == [(hub, "incoming")]


def _cursor(payload: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


def test_related_errors(client, graph):
    hub = graph["ids"]["hub"]
    path = f"/v1/articles/{hub}/related"
    first = related(client, hub, limit="1")
    cursor = first["nextCursor"]
    for params in ({"direction": "outgoing"}, {"minQuality": "1"}, {"minHeat": "0"}):
        assert_problem(client.get(path, params={**params, "cursor": cursor}), 400, "cursor")
    other = graph["ids"]["i1"]
    assert_problem(client.get(f"/v1/articles/{other}/related", params={"cursor": cursor}), 400)
    listing_cursor = listing(client, {"limit": "1"})["nextCursor"]
    assert_problem(client.get(path, params={"cursor": listing_cursor}), 400, "cursor")
    for garbage in ("garbage", "W10", "😀", "a" * 3000):
        assert_problem(client.get(path, params={"cursor": garbage}), 400, "cursor")
    # Well-formed but tampered positions, in the cursor's own format.
    query_hash = json.loads(base64.urlsafe_b64decode(cursor + "==="))[0]
    for mark in ("out:²", "out:99999999999999999999", "out:-1", "out:", "in:", "in:garbage",
                 "in:" + _cursor(["", ["2024-01-01T00:00:00", "x"]]),
                 "in:" + _cursor(["", [5, 1]]), "sideways:1", 7, None, ["out:1"]):  # fmt: skip
        response = client.get(path, params={"cursor": _cursor([query_hash, [mark]])})
        assert_problem(response, 400, "cursor")
    for params, where in (({"direction": "sideways"}, "direction"), ({"limit": "0"}, "limit"),
                          ({"limit": "101"}, "limit"), ({"minQuality": "x"}, "minQuality"),
                          ({"maxQuality": "5"}, "maxQuality")):  # fmt: skip
        assert_problem(client.get(path, params=params), 422, where)
    assert_problem(client.get("/v1/articles/0000000000000000/related"), 404)
    assert_problem(client.get("/v1/articles/not-an-id/related"), 404)
    hidden = graph["ids"]["f2"]
    assert_problem(client.get(f"/v1/articles/{hidden}/related"), 404)
    assert client.get(f"/v1/articles/{hidden}/related", headers=AUTH).status_code == 200
