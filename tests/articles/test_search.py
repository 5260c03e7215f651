"""Full-text search `q`: AND of words, stemming, phrases, relevance; any text is valid input."""

from typing import Any

import pytest

from tests.articles.helpers import assert_problem, document, listing, titles, upload_texts, walk
from tests.conftest import AUTH

DOCS = {
    "run": dict(title="Morning run through the park", excerpt="A short jog before work."),
    "running": dict(title="Running shoes reviewed", body="We tested twelve pairs of shoes."),
    "runs": dict(title="Cricket report", excerpt="He scored many runs in the match."),
    "phrase": dict(title="Travel guide", body="The best pizza in New York is not in York."),
    "reversed": dict(title="York new towns", body="A new plan for York brings homes."),
    "zebra-body": dict(
        title="Road safety", body="The zebra crossing was repainted." + " Traffic slowed." * 40
    ),
    "zebra-many": dict(title="Zebra facts", excerpt="Zebra zebra zebra.", body="Zebra herds."),
    "kangaroo": dict(title="Outback notes", excerpt="A kangaroo crossed the road."),
    "hidden": dict(title="Secret zebra plans", published=False),
    "french": dict(title="Économie française", body="La croissance ralentit."),
    "emoji": dict(title="Party 🎉 time", body="Celebrations everywhere."),
}


@pytest.fixture
def searchable(client: Any) -> Any:
    upload_texts(client, {
        f"{key}.md": document(webUrl=f"https://search.example.com/{key}", **fields)
        for key, fields in DOCS.items()
    })  # fmt: skip
    return client


def search(client: Any, q: str, **params: str) -> set[str]:
    body = listing(client, {"q": q, "limit": "100", **params})
    assert body["nextCursor"] is None
    return set(titles(body))


def title_of(key: str) -> str:
    return DOCS[key]["title"]  # type: ignore[return-value]


def test_every_word_must_match_by_stem_in_title_excerpt_or_body(searchable):
    runs = {title_of("run"), title_of("running"), title_of("runs")}
    assert search(searchable, "run") == runs
    assert search(searchable, "running") == runs
    assert search(searchable, "RUNS") == runs
    assert search(searchable, "zebra") == {title_of("zebra-body"), title_of("zebra-many")}
    assert search(searchable, "kangaroo") == {title_of("kangaroo")}
    assert search(searchable, "économie") == {title_of("french")}
    assert search(searchable, "croissance") == {title_of("french")}
    assert search(searchable, "giraffe") == set()
    assert search(searchable, "running shoes") == {title_of("running")}
    assert search(searchable, "shoes running") == {title_of("running")}
    assert search(searchable, "run zebra") == set()
    assert search(searchable, "new york") == {title_of("phrase"), title_of("reversed")}
    assert search(searchable, "zebra crossing repainted") == {title_of("zebra-body")}


def test_quoted_phrase_matches_as_a_phrase(searchable):
    assert search(searchable, '"new york"') == {title_of("phrase")}
    assert search(searchable, '"york new"') == {title_of("reversed")}
    assert search(searchable, '"running shoes"') == {title_of("running")}
    assert search(searchable, '"shoes running"') == set()
    assert search(searchable, '"new york" pizza') == {title_of("phrase")}
    assert search(searchable, '"new york" homes') == set()
    assert title_of("hidden") not in search(searchable, "zebra")
    hidden = listing(searchable, {"q": "zebra", "published": "false"}, headers=AUTH)
    assert titles(hidden) == [title_of("hidden")]


def test_search_combines_with_filters_count_facets_and_relevance(searchable):
    body = listing(searchable, {"q": "run", "count": "true", "facets": "provider,type"})
    assert body["total"] == 3
    assert body["facets"]["provider"] == [
        {"value": "search.example.com", "name": "search.example.com", "count": 3}
    ]
    scoped = searchable.get("/v1/providers/search.example.com/articles", params={"q": "zebra"})
    assert len(scoped.json()["items"]) == 2
    # Relevance: the short document saying "zebra" five times beats one mention in a long body.
    ranked = listing(searchable, {"q": "zebra", "sort": "relevance"})
    assert titles(ranked) == [title_of("zebra-many"), title_of("zebra-body")]
    worst_first = listing(searchable, {"q": "zebra", "sort": "-relevance"})
    assert titles(worst_first) == [title_of("zebra-body"), title_of("zebra-many")]
    sorts = ("relevance", "-relevance", "relevance,title", "title,relevance", "-heat,relevance")
    for sort in sorts:
        params = [("q", "run"), ("sort", sort)]
        whole = [i["id"] for i in listing(searchable, [*params, ("limit", "100")])["items"]]
        assert walk(searchable, "/v1/articles", [*params, ("limit", "1")]) == whole
        assert len(whole) == 3


RANKED = {"sort": "relevance", "count": "true", "facets": "tag"}
HOSTILE = [
    '"', '""', '"unterminated', "*", "run*", "NEAR(run shoes)", "NEAR(", "NEAR", "AND OR",
    "AND", "OR NOT", "NOT", "-", "-run", "--", "'", "''", "\\", "\\\\",
    "'; DROP TABLE articles; --",
    "1' OR '1'='1", "run') OR ('1'='1", "title:run", "^run", "run:*", "!run", "&", "|", "<->",
    "run & shoes", "run | shoes", "run <-> shoes", "(", ")", "(run", "{}", "[]", ":", ";", "%",
    "_", "%_%", "\t\n", "   ", "", "日本語のテキスト", "Ελληνικά", "🔥🔥🔥", "🏳️‍🌈", "\u202e",
    "a" * 5000, " ".join(["word"] * 1500), "x" * 3000 + " run",
    "run " * 200, "\ufeffrun", "ǅ", "ß", "İstanbul", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "e\u0301", "@@", "!!", "::",
    "null", "NULL", "true", "0", "-1", "1e309", "NaN", "run AND NOT shoes", "run OR shoes",
    '"run" OR "shoes"', "col:run", "rowid", "bm25(article_fts)", "MATCH", "a*b", '"""',
]  # fmt: skip


def test_hostile_search_text_is_answered_never_500(searchable):
    before = listing(searchable, {"count": "true"})["total"]
    # One event-loop thread for the whole burst, instead of one per request.
    with searchable:
        # Ranked, counted and faceted: every part of the query sees the text.
        for q, extra in [(q, RANKED) for q in HOSTILE] + [(q, {}) for q in HOSTILE[:24]]:
            response = searchable.get("/v1/articles", params={"q": q, "limit": "100", **extra})
            if not q and "sort" in extra:
                assert_problem(response, 422, "sort")
                continue
            assert response.status_code == 200, (q, response.text)
            assert isinstance(response.json()["items"], list)
    # NUL is no text a person types: refusing it is fine, failing on it is not.
    for q in ("\x00", "run\x00shoes"):
        response = searchable.get("/v1/articles", params={"q": q, **RANKED})
        if response.status_code != 200:
            assert_problem(response, 422, "q")
    assert listing(searchable, {"count": "true"})["total"] == before
    # Operators are plain words: they never widen or negate a query.
    assert search(searchable, "run OR zebra") == set()
    assert search(searchable, "-running") == search(searchable, "running")
    assert search(searchable, "run*") == search(searchable, "run")
    for q in ('"', "NEAR(", "\x00", "'; DROP TABLE articles; --", "🔥"):
        for path in ("/v1/providers/search.example.com/articles", "/v1/topics/none/articles"):
            response = searchable.get(path, params={"q": q})
            assert response.status_code in (200, 404, 422), (path, q, response.text)
            if response.status_code != 200:
                assert_problem(response, response.status_code)
