"""app.ingest.normalize: raw mapping to a validated ArticleIn (API.md §2, §4.2, §4.3, §4.5)."""

import datetime as dt
from pathlib import Path

import pytest

from app.ingest.errors import DocumentError
from app.ingest.normalize import (
    ArticleIn,
    ImageIn,
    ProviderIn,
    clean_line,
    normalize,
    repair,
    slugify,
)
from app.ingest.parse import ParsedDocument, parse
from app.ingest.urls import article_id, canonical_url

URL = "https://example.com/story"
ROOT = Path(__file__).resolve().parents[2]
SEEDS = ROOT / "seeds"
SERCO = SEEDS / "serco-facial-recognition.md"


def article(text: str, name: str = "a.md") -> ArticleIn:
    return normalize(parse(name, text.encode()))


def front(extra: str = "", *, body: str = "", base: bool = True) -> str:
    """A YAML front-matter document with a title and webUrl unless base=False."""
    head = f"title: A title\nwebUrl: {URL}\n" if base else ""
    return f"---\n{head}{extra}\n---\n{body}"


def errors_of(text: str, name: str = "a.md") -> dict[str | None, str]:
    with pytest.raises(DocumentError) as info:
        article(text, name)
    return {e.field: e.message for e in info.value.errors}


def from_mapping(mapping: dict, body: str | None = None) -> ArticleIn:
    return normalize(ParsedDocument(mapping, body, "yaml"))


# --- required fields --------------------------------------------------------------------------


def test_minimal_document() -> None:
    a = article(front())
    assert a.title == "A title"
    assert a.web_url == URL
    assert a.url == canonical_url(URL)
    assert a.id == article_id(a.url)
    assert a.published is True
    assert a.body is None
    assert (a.topics, a.tags, a.images, a.related) == ([], [], [], [])
    assert a.extra is None
    assert a.quality is None and a.heat is None


def test_title_is_required() -> None:
    assert errors_of(front(f"webUrl: {URL}", base=False)) == {"title": "is required"}


def test_url_is_required() -> None:
    errors = errors_of(front("title: x", base=False))
    assert list(errors) == ["webUrl"]
    assert "originalUrl" in errors["webUrl"]


def test_every_problem_is_listed_at_once() -> None:
    errors = errors_of(front("quality: high\nheat: -1", base=False))
    assert set(errors) == {"title", "webUrl", "quality", "heat"}


@pytest.mark.parametrize("blank", ["null", "~", "''", "'   '", '"\\t\\n"'])
def test_blank_or_null_title_is_missing(blank: str) -> None:
    assert "title" in errors_of(front(f"title: {blank}\nwebUrl: {URL}", base=False))


def test_null_urls_are_absent() -> None:
    errors = errors_of(front("title: x\nwebUrl: null\noriginalUrl: ~", base=False))
    assert list(errors) == ["webUrl"]


def test_original_url_is_the_identity_without_web_url() -> None:
    a = article(front("title: x\noriginalUrl: https://WWW.Example.com/o?utm_source=t", base=False))
    assert a.web_url is None
    assert a.original_url == "https://WWW.Example.com/o?utm_source=t"
    assert a.url == "https://www.example.com/o"
    assert a.id == article_id("https://www.example.com/o")
    assert a.provider == ProviderIn(domain="example.com", name="example.com")


def test_web_url_wins_over_original_url() -> None:
    a = article(front("originalUrl: https://orig.example.org/x"))
    assert a.url == canonical_url(URL)
    assert a.original_url == "https://orig.example.org/x"
    assert a.provider is not None and a.provider.domain == "example.com"


def test_title_with_a_wrong_kind_is_a_field_error() -> None:
    errors = errors_of(front(f"title: [a, b]\nwebUrl: {URL}", base=False))
    assert list(errors) == ["title"]
    assert "string" in errors["title"]


def test_numeric_title_is_text() -> None:
    assert article(front(f"title: 2024\nwebUrl: {URL}", base=False)).title == "2024"


def test_overlong_title_is_rejected() -> None:
    assert "title" in errors_of(front(f"title: {'x' * 501}\nwebUrl: {URL}", base=False))


# --- URL fields -------------------------------------------------------------------------------


URL_FIELDS = [
    ("webUrl", "web_url"),
    ("originalUrl", "original_url"),
    ("ampWebUrl", "amp_web_url"),
    ("cdnAmpWebUrl", "cdn_amp_web_url"),
]
BAD_URLS = [
    pytest.param("'javascript:alert(1)'", id="javascript"),
    pytest.param("'JavaScript:alert(1)'", id="javascript-mixed-case"),
    pytest.param("'  javascript:alert(1)'", id="javascript-padded"),
    pytest.param("/relative/path", id="relative"),
    pytest.param("relative/path", id="relative-no-slash"),
    pytest.param("//example.com/x", id="scheme-relative"),
    pytest.param("'data:text/html,<b>x</b>'", id="data"),
    pytest.param("'mailto:a@example.com'", id="mailto"),
    pytest.param("ftp://example.com/x", id="ftp"),
    pytest.param("'http://'", id="no-host"),
    pytest.param("'http://exa mple.com/'", id="space"),
    pytest.param("'http://example.com:99999/'", id="bad-port"),
    pytest.param("'http://[::1/'", id="bad-ipv6"),
    pytest.param("42", id="number"),
    pytest.param("[https://example.com]", id="list"),
]


@pytest.mark.parametrize(("key", "attr"), URL_FIELDS, ids=[k for k, _ in URL_FIELDS])
@pytest.mark.parametrize("bad", BAD_URLS)
def test_every_url_field_rejects_non_http_urls(key: str, attr: str, bad: str) -> None:
    other = "" if key == "webUrl" else f"webUrl: {URL}\n"
    errors = errors_of(front(f"title: x\n{other}{key}: {bad}", base=False))
    assert key in errors


@pytest.mark.parametrize(("key", "attr"), URL_FIELDS, ids=[k for k, _ in URL_FIELDS])
def test_every_url_field_accepts_http_and_https(key: str, attr: str) -> None:
    a = article(front(f"{key}: '  http://Example.com/x?a=1  '") if key != "webUrl" else front())
    expected = URL if key == "webUrl" else "http://Example.com/x?a=1"
    assert getattr(a, attr) == expected


@pytest.mark.parametrize("bad", ["'javascript:alert(1)'", "/img.png", "ftp://example.com/i.png"])
def test_image_urls_must_be_http(bad: str) -> None:
    errors = errors_of(front(f"images:\n  - url: {bad}"))
    assert list(errors) == ["images[0].url"]


@pytest.mark.parametrize(
    ("entry", "field"),
    [
        ("{webUrl: 'javascript:alert(1)'}", "related[0].webUrl"),
        ("{webUrl: /story}", "related[0].webUrl"),
        ("{webUrl: 'https://other.example.org/', ampWebUrl: 'javascript:x'}",
         "related[0].ampWebUrl"),
        ("{webUrl: 'https://other.example.org/', cdnAmpWebUrl: /amp}", "related[0].cdnAmpWebUrl"),
        ("{webUrl: 'https://other.example.org/', images: [{url: 'data:x'}]}",
         "related[0].images[0].url"),
    ],
    ids=["web-js", "web-relative", "amp-js", "cdn-relative", "image"],
)  # fmt: skip
def test_related_urls_must_be_http(entry: str, field: str) -> None:
    assert field in errors_of(front(f"related: [{entry}]"))


# --- category, topics, tags -------------------------------------------------------------------


def test_category() -> None:
    assert article(front("category: '  news '")).category == "news"


def test_first_of_categories_when_no_category() -> None:
    a = article(front("categories: [science, space]"))
    assert a.category == "science"
    assert a.extra is None


def test_category_wins_over_categories() -> None:
    a = article(front("category: sport\ncategories: [science, space]"))
    assert a.category == "sport"
    assert a.extra == {"categories": ["science", "space"]}


def test_categories_as_a_string_and_empty() -> None:
    assert article(front("categories: 'tech, news'")).category == "tech"
    assert article(front("categories: []")).category is None


def test_topics_as_list() -> None:
    assert article(front("topics: [Computer Vision, AI]")).topics == ["Computer Vision", "AI"]


def test_topics_as_comma_separated_string() -> None:
    a = article(front("topics: 'Elections, AI ,Cybersecurity,, '"))
    assert a.topics == ["Elections", "AI", "Cybersecurity"]


def test_topics_are_deduplicated_case_insensitively_keeping_first_spelling() -> None:
    a = article(
        front("topics: [AI, ai, Privacy, ' Ai ', PRIVACY, Computer  Vision, computer vision]")
    )
    assert a.topics == ["AI", "Privacy", "Computer Vision"]


def test_topic_names_are_repaired_and_whitespace_normalised() -> None:
    a = article(front("topics: ['  Économie  ', \"workersâ€™  rights\"]"))
    assert a.topics == ["Économie", "workers’ rights"]


def test_topic_of_wrong_kind_is_a_field_error() -> None:
    assert "topics[1]" in errors_of(front("topics: [AI, {a: 1}]"))
    assert "topics" in errors_of(front("topics: {a: 1}"))


def test_null_topic_entries_are_skipped() -> None:
    assert article(front("topics: [AI, null, Privacy]")).topics == ["AI", "Privacy"]


def test_tags() -> None:
    assert article(front("tags: [eu, ' regulation ', eu]")).tags == ["eu", "regulation"]
    assert article(front("tags: 'a, b'")).tags == ["a", "b"]
    assert article(front("tags: []")).tags == []
    assert "tags" in errors_of(front("tags: 5"))


def test_slugify() -> None:
    assert slugify("Computer Vision") == "computer-vision"
    assert slugify("Économie") == "economie"
    assert slugify("  AI  ") == "ai"
    assert slugify("C++ & Rust!") == "c-rust"


# --- numbers ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("0", 0), ("57", 57), ("100", 100), ("'72'", 72), ("' 42 '", 42), ("42.0", 42), ("'+7'", 7)],
)
def test_quality_accepts_integers_and_numeric_strings(raw: str, expected: int) -> None:
    assert article(front(f"quality: {raw}")).quality == expected


@pytest.mark.parametrize(
    "raw",
    ["high", "'57%'", "42.5", "true", "-1", "101", "'101'", "[57]", "{v: 1}", ".nan", ".inf",
     "1e300", "'" + "9" * 5000 + "'", "9" * 4000, "2024-01-01"],
    ids=["word", "percent", "fraction", "bool", "negative", "over-100", "string-over-100", "list",
         "mapping", "nan", "inf", "huge-float", "huge-numeric-string", "huge-int", "date"],
)  # fmt: skip
def test_quality_of_the_wrong_kind_or_range_is_a_field_error(raw: str) -> None:
    assert list(errors_of(front(f"quality: {raw}"))) == ["quality"]


def test_quality_messages() -> None:
    assert errors_of(front("quality: 101")) == {"quality": "must be between 0 and 100"}
    assert "integer" in errors_of(front("quality: high"))["quality"]


def test_quality_null_is_absent() -> None:
    assert article(front("quality: null")).quality is None


@pytest.mark.parametrize(("raw", "expected"), [("0", 0), ("77", 77), ("305", 305), ("'12'", 12),
                                               ("9999999999", 9_999_999_999)])  # fmt: skip
def test_heat_is_a_non_negative_integer_without_upper_bound(raw: str, expected: int) -> None:
    assert article(front(f"heat: {raw}")).heat == expected


def test_negative_heat_is_rejected() -> None:
    assert errors_of(front("heat: -1")) == {"heat": "must be at least 0"}
    assert errors_of(front("heat: '-5'")) == {"heat": "must be at least 0"}


def test_heat_beyond_64_bits_is_rejected_with_a_sensible_message() -> None:
    message = errors_of(front(f"heat: {10**30}"))["heat"]
    assert message.startswith("must be at most")


def test_huge_integers_in_extra_are_rejected() -> None:
    assert "big" in errors_of(front(f"big: {10**40}"))


# --- published and dates ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("", True), ("published: true", True), ("published: false", False),
     ("published: null", True), ("published: 'false'", False), ("published: ' True '", True)],
    ids=["absent", "true", "false", "null", "string-false", "string-true"],
)  # fmt: skip
def test_published(raw: str, expected: bool) -> None:
    assert article(front(raw)).published is expected


@pytest.mark.parametrize("raw", ["'no'", "1", "[true]"])
def test_published_of_wrong_kind(raw: str) -> None:
    assert list(errors_of(front(f"published: {raw}"))) == ["published"]


UTC_1209 = dt.datetime(2024, 2, 23, 12, 9)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2024-02-23T12:09:00Z", UTC_1209),
        ("'2024-02-23T12:09:00Z'", UTC_1209),
        ("'2024-02-23T12:09:00'", UTC_1209),
        ("2024-02-23 12:09:00", UTC_1209),
        ("2024-02-23T14:09:00+02:00", UTC_1209),
        ("'2024-02-23T07:09:00-05:00'", UTC_1209),
        ("'2024-02-23T12:09:00.987654Z'", UTC_1209),
        ("2024-02-23", dt.datetime(2024, 2, 23)),
        ("'2024-02-23'", dt.datetime(2024, 2, 23)),
        ("'2024-02-24T01:09:00+13:00'", UTC_1209),
    ],
    ids=[
        "yaml-timestamp-z", "iso-z", "iso-naive", "yaml-naive-space", "yaml-offset",
        "iso-offset", "fraction-dropped", "yaml-date", "iso-date", "day-before",
    ],
)  # fmt: skip
def test_dates_are_naive_utc(raw: str, expected: dt.datetime) -> None:
    a = article(front(f"publishedDateTime: {raw}\nupdatedDateTime: {raw}"))
    assert a.published_at == expected
    assert a.updated_at == expected
    assert a.published_at.tzinfo is None


def test_toml_and_json_dates() -> None:
    toml = f'+++\ntitle = "x"\nwebUrl = "{URL}"\npublishedDateTime = 2024-02-23T14:09:00+02:00\n'
    toml += "updatedDateTime = 2024-02-23\n+++\n"
    a = article(toml)
    assert a.published_at == UTC_1209
    assert a.updated_at == dt.datetime(2024, 2, 23)
    j = article(f'{{"title": "x", "webUrl": "{URL}", "publishedDateTime": "2024-02-23T12:09:00Z"}}')
    assert j.published_at == UTC_1209


@pytest.mark.parametrize(
    "raw",
    ["yesterday", "'23/02/2024'", "12", "[2024-01-01]", "'9999-12-31T23:59:59-01:00'",
     "'0001-01-01T00:00:00+01:00'"],
    ids=["word", "european", "number", "list", "overflow-high", "overflow-low"],
)  # fmt: skip
def test_bad_dates_are_field_errors(raw: str) -> None:
    assert list(errors_of(front(f"updatedDateTime: {raw}"))) == ["updatedDateTime"]


# --- provider ---------------------------------------------------------------------------------


def test_provider_mapping() -> None:
    a = article(front("provider: {name: ' The   Sun ', domain: WWW.TheSun.co.uk}"))
    assert a.provider == ProviderIn(domain="thesun.co.uk", name="The Sun")


def test_provider_domain_derived_from_web_url() -> None:
    a = article(front("title: x\nwebUrl: https://WWW.Science.Example.org/a\nprovider: {name: Sci}",
                      base=False))  # fmt: skip
    assert a.provider == ProviderIn(domain="science.example.org", name="Sci")


def test_provider_defaults_to_the_domain() -> None:
    a = article(front("title: x\nwebUrl: https://www.news.example.com/a", base=False))
    assert a.provider == ProviderIn(domain="news.example.com", name="news.example.com")


def test_provider_as_a_plain_name() -> None:
    assert article(front("provider: Sky")).provider == ProviderIn(domain="example.com", name="Sky")


def test_provider_domain_given_as_a_url() -> None:
    a = article(front("provider: {domain: 'https://www.sky.com/news'}"))
    assert a.provider == ProviderIn(domain="sky.com", name="sky.com")


def test_only_a_leading_www_is_removed() -> None:
    a = article(front("provider: {name: N, domain: news.www.example.com}"))
    assert a.provider is not None and a.provider.domain == "news.www.example.com"


@pytest.mark.parametrize(
    "raw",
    ["{domain: 'not a domain'}", "{domain: 'http://[::1'}", "{domain: 'x://[bad'}", "[Sky]",
     "{name: [x]}", "42"],
    ids=["spaces", "bad-ipv6-url", "bad-ipv6-other-scheme", "list", "name-list", "number"],
)  # fmt: skip
def test_bad_provider_is_a_field_error(raw: str) -> None:
    errors = errors_of(front(f"provider: {raw}"))
    assert errors and all(f is not None and f.startswith("provider") for f in errors)


# --- images -----------------------------------------------------------------------------------


def test_images() -> None:
    a = article(
        front("""images:
  - url: https://example.com/a.jpg?x=1
    width: 1600
    height: '900'
    isCached: true
    title: '  A  picture '
    attribution: Reuters
  - url: https://example.com/b.jpg
    title: null
  - https://example.com/c.jpg
  - url: https://example.com/a.jpg?x=1""")
    )
    assert a.images == [
        ImageIn("https://example.com/a.jpg?x=1", 1600, 900, True, "A picture", "Reuters"),
        ImageIn("https://example.com/b.jpg"),
        ImageIn("https://example.com/c.jpg"),
    ]


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ("[{width: 3}]", "images[0].url"),
        ("[{url: null}]", "images[0].url"),
        ("[{url: 'https://example.com/i', width: -3}]", "images[0].width"),
        ("[{url: 'https://example.com/i', height: big}]", "images[0].height"),
        ("[{url: 'https://example.com/i', isCached: maybe}]", "images[0].isCached"),
        ("[42]", "images[0]"),
        ("'https://example.com/i.png'", "images"),
        ("{url: 'https://example.com/i.png'}", "images"),
    ],
    ids=["no-url", "null-url", "negative-width", "word-height", "bad-bool", "number", "string",
         "mapping"],
)  # fmt: skip
def test_bad_images_are_field_errors(raw: str, field: str) -> None:
    assert field in errors_of(front(f"images: {raw}"))


# --- text fields and repair (§4.3) ------------------------------------------------------------


def test_mojibake_is_repaired_and_curly_quotes_kept() -> None:
    text = (
        'title: "Ordered to axe tech monitoring workersâ€™ attendance"\n'
        f'webUrl: {URL}\nexcerpt: "Pay rises â€“ then cuts"'
    )
    a = article(front(text, base=False))
    assert a.title == "Ordered to axe tech monitoring workers’ attendance"
    assert a.excerpt == "Pay rises – then cuts"


def test_repair_and_clean_line() -> None:
    assert repair("workersâ€™") == "workers’"
    assert repair("“quoted” ‘text’") == "“quoted” ‘text’"
    assert repair("plain ascii 'quotes'") == "plain ascii 'quotes'"
    assert repair("Économie café") == "Économie café"
    assert clean_line("  a \t b\n\n c\u00a0 ") == "a b c"


def test_title_and_excerpt_whitespace_is_normalised() -> None:
    a = article(front('title: "  Line one\\n\\tline   two  "\nwebUrl: ' + URL +
                      '\nexcerpt: |\n  First line\n    second   line\n', base=False))  # fmt: skip
    assert a.title == "Line one line two"
    assert a.excerpt == "First line second line"


def test_type_locale_secured() -> None:
    a = article(front("type: ' article '\nlocale: en-gb\nsecured: '  abc==;def  '"))
    assert (a.type, a.locale) == ("article", "en-gb")
    assert a.secured == "  abc==;def  "  # opaque, verbatim


def test_body_after_the_fence() -> None:
    a = article(front(body="\n# Heading\n\nworkersâ€™ text   stays\n  indented\n\n"))
    assert a.body == "# Heading\n\nworkers’ text   stays\n  indented"


def test_body_from_content_field() -> None:
    a = article(front("content: |\n  # From content\n\n  Para graph.\n"))
    assert a.body == "# From content\n\nPara graph."
    assert a.extra is None


def test_body_after_fence_wins_over_content() -> None:
    a = article(front("content: from the field", body="from the body\n"))
    assert a.body == "from the body"


def test_content_in_bare_files() -> None:
    a = article(f"title: x\nwebUrl: {URL}\ncontent: 'the body'\n", name="a.yaml")
    assert a.body == "the body"
    j = article(f'{{"title": "x", "originalUrl": "{URL}", "content": "json body"}}', name="a.json")
    assert j.body == "json body"
    assert j.web_url is None and j.url == canonical_url(URL)


# --- extra ------------------------------------------------------------------------------------


def test_unknown_keys_are_kept_verbatim_in_extra() -> None:
    a = article(
        front("""seo:
  robots: noindex
  keywords: [a, b]
authors:
  - {name: Ann, email: null}
  - {name: Bob}
count: 3
ratio: 0.25
flag: false
legacyIds: [1, two, 3.5, null]
nothing: null
embargoUntil: 2024-03-01T09:00:00+01:00
naive: 2024-03-01 09:00:00
day: 2024-03-01
nested: {when: 2024-03-01T09:00:00Z, list: [2024-03-02]}
CamelCase: kept""")
    )
    assert a.extra == {
        "seo": {"robots": "noindex", "keywords": ["a", "b"]},
        "authors": [{"name": "Ann", "email": None}, {"name": "Bob"}],
        "count": 3,
        "ratio": 0.25,
        "flag": False,
        "legacyIds": [1, "two", 3.5, None],
        "embargoUntil": "2024-03-01T08:00:00Z",
        "naive": "2024-03-01T09:00:00Z",
        "day": "2024-03-01",
        "nested": {"when": "2024-03-01T09:00:00Z", "list": ["2024-03-02"]},
        "CamelCase": "kept",
    }


def test_extra_from_toml_and_json() -> None:
    toml = f'+++\ntitle = "x"\nwebUrl = "{URL}"\nt = 07:32:00\n[seo]\nrobots = "all"\n+++\n'
    assert article(toml).extra == {"t": "07:32:00", "seo": {"robots": "all"}}
    j = article(f'{{"title": "x", "webUrl": "{URL}", "x": {{"y": [1, null, true]}}}}')
    assert j.extra == {"x": {"y": [1, None, True]}}


def test_modelled_keys_do_not_leak_into_extra() -> None:
    a = article(front("category: news\ntype: article\nlocale: en\ntopics: [a]\ntags: [b]\n"
                      "secured: s\nquality: 1\nheat: 2\npublished: true"))  # fmt: skip
    assert a.extra is None


@pytest.mark.parametrize(
    ("raw", "field"),
    [("x: .nan", "x"), ("x: {y: [.inf]}", "x.y[0]"), ("x: !!binary aGVsbG8=", "x"),
     ("1: one", "1"), ("true: yes", "True")],
    ids=["nan", "nested-inf", "binary", "int-key", "bool-key"],
)  # fmt: skip
def test_unstorable_extra_values_are_field_errors(raw: str, field: str) -> None:
    assert field in errors_of(front(raw))


# --- related (§4.5) ---------------------------------------------------------------------------


def test_related_entries() -> None:
    a = article(
        front(f"""related:
  - webUrl: {URL}#top
    title: self link, ignored
  - webUrl: https://www.other.example.org/b
    title: "first  workersâ€™"
  - webUrl: HTTPS://WWW.OTHER.example.org:443/b?utm_medium=x#frag
    title: second, only fills gaps
    excerpt: merged excerpt
    quality: 12
  - webUrl: https://third.example.net/c
    excerpt: '  An   excerpt '
    publishedDateTime: 2024-01-01T10:00:00+01:00
    ampWebUrl: https://third.example.net/c/amp
    cdnAmpWebUrl: https://cdn.example.net/c/amp
    type: video
    provider: {{name: Third}}
    quality: '48'
    heat: 5
    images: [{{url: 'https://third.example.net/i.png', width: 10}}]
    category: ignored
    unknownKey: ignored
  - https://fourth.example.com/d""")
    )
    first, third, fourth = a.related
    assert first.url == "https://www.other.example.org/b"
    assert first.id == article_id(first.url)
    assert first.web_url == "https://www.other.example.org/b"
    assert first.title == "first workers’"
    assert first.excerpt == "merged excerpt"
    assert first.quality == 12
    assert first.provider == ProviderIn(domain="other.example.org", name="other.example.org")

    assert third.title is None
    assert third.excerpt == "An excerpt"
    assert third.published_at == dt.datetime(2024, 1, 1, 9, 0)
    assert third.amp_web_url == "https://third.example.net/c/amp"
    assert third.cdn_amp_web_url == "https://cdn.example.net/c/amp"
    assert third.type == "video"
    assert third.provider == ProviderIn(domain="third.example.net", name="Third")
    assert (third.quality, third.heat) == (48, 5)
    assert third.images == [ImageIn("https://third.example.net/i.png", width=10)]
    assert third.category is None and third.extra is None

    assert fourth.url == "https://fourth.example.com/d"
    assert a.extra is None


def test_related_self_link_by_original_url_identity() -> None:
    text = "title: x\noriginalUrl: https://example.com/o\n"
    text += "related: [{webUrl: 'https://EXAMPLE.com/o?fbclid=1'}]"
    a = article(front(text, base=False))
    assert a.related == []


def test_related_duplicates_are_merged_in_first_order() -> None:
    a = article(
        front("""related:
  - {webUrl: 'https://a.example.org/1', title: A}
  - {webUrl: 'https://b.example.org/2'}
  - {webUrl: 'https://a.example.org/1?utm_source=x', title: A2, heat: 3, images: [{url: 'https://a.example.org/i'}]}
  - {webUrl: 'https://b.example.org/2#x', title: B}""")
    )  # noqa: E501
    assert [(r.url, r.title, r.heat) for r in a.related] == [
        ("https://a.example.org/1", "A", 3),
        ("https://b.example.org/2", "B", None),
    ]
    assert a.related[0].images == [ImageIn("https://a.example.org/i")]


@pytest.mark.parametrize(
    ("raw", "field"),
    [("[{title: no url}]", "related[0].webUrl"), ("[{webUrl: null}]", "related[0].webUrl"),
     ("[42]", "related[0]"), ("nope", "related"), ("{webUrl: 'https://a.example.org'}", "related"),
     ("[{webUrl: 'https://a.example.org', quality: high}]", "related[0].quality"),
     ("[{webUrl: 'https://a.example.org', heat: -1}]", "related[0].heat"),
     ("[{webUrl: 'https://a.example.org', publishedDateTime: soon}]",
      "related[0].publishedDateTime")],
    ids=["no-url", "null-url", "number", "string", "mapping", "quality", "heat", "date"],
)  # fmt: skip
def test_bad_related_entries_are_field_errors(raw: str, field: str) -> None:
    assert field in errors_of(front(f"related: {raw}"))


# --- null handling and direct mappings --------------------------------------------------------


def test_null_is_the_same_as_absent_for_every_modelled_field() -> None:
    keys = ["excerpt", "category", "categories", "type", "locale", "published", "publishedDateTime",
            "updatedDateTime", "originalUrl", "ampWebUrl", "cdnAmpWebUrl", "quality", "heat",
            "provider", "topics", "tags", "images", "related", "secured", "content"]  # fmt: skip
    with_nulls = from_mapping({"title": "x", "webUrl": URL, **dict.fromkeys(keys)})
    assert with_nulls == from_mapping({"title": "x", "webUrl": URL})


def test_non_string_keys_are_rejected() -> None:
    with pytest.raises(DocumentError) as info:
        from_mapping({"title": "x", "webUrl": URL, 3: "x"})
    assert [e.field for e in info.value.errors] == ["3"]


# --- seeds ------------------------------------------------------------------------------------


def test_the_real_serco_document() -> None:
    a = normalize(parse(SERCO.name, SERCO.read_bytes()))
    assert a.title == "Serco ordered to stop using facial recognition technology to monitor staff"
    assert a.excerpt is not None and a.excerpt.startswith("Serco has been ordered")
    assert a.category == "news"
    assert a.type == "article"
    assert a.published is True
    assert a.published_at == dt.datetime(2024, 2, 23, 12, 9)
    assert a.updated_at is None
    assert a.quality == 57
    assert a.heat == 77
    assert a.provider == ProviderIn(domain="sky.com", name="Sky")
    assert a.topics == ["Computer Vision", "AI"]
    assert a.tags == []
    assert a.images == [
        ImageIn(
            "https://e3.365dm.com/23/04/1600x900/skynews-facial-recognition_6112009.jpg"
            "?20230405172348",
            1600, 900, True,
        )
    ]  # fmt: skip
    assert a.web_url == a.original_url
    assert a.url == a.web_url
    assert a.amp_web_url is not None and "/amp/" in a.amp_web_url
    assert a.secured is not None and a.secured.endswith("=;9i+2XX75/C0EUkIO09HTcA==")
    assert a.body is None
    assert a.extra is None

    sun, mirror = a.related
    assert sun.title == (
        "Leisure centre operator ordered to axe facial recognition tech monitoring workers’ "
        "attendance"
    )
    assert "â€" not in sun.title
    assert (
        sun.url
        == "https://www.thesun.co.uk/money/26150134/serco-leisure-facial-recognition-tech-workers/"
    )
    assert sun.provider == ProviderIn(domain="thesun.co.uk", name="The Sun")
    assert sun.quality == 48 and sun.heat is None
    assert sun.published_at == dt.datetime(2024, 2, 23, 23, 50)
    assert len(sun.images) == 1 and sun.images[0].width == 1920
    assert (
        mirror.title == "Serco Leisure ordered to stop using facial recognition tech on 2,000 staff"
    )
    assert mirror.provider == ProviderIn(domain="mirror.co.uk", name="The Mirror")
    assert mirror.quality == 17
    assert mirror.images == []


SEED_FILES = sorted(p for p in SEEDS.rglob("*") if p.is_file() and p.name != "SEEDS.txt")


@pytest.mark.parametrize("path", SEED_FILES, ids=[str(p.relative_to(SEEDS)) for p in SEED_FILES])
def test_every_seed_document_normalises(path: Path) -> None:
    a = normalize(parse(path.name, path.read_bytes()))
    assert a.title and a.url and a.id == article_id(a.url)
    assert a.provider is not None


def test_seed_variants() -> None:
    def seed(rel: str) -> ArticleIn:
        path = SEEDS / rel
        return normalize(parse(path.name, path.read_bytes()))

    assert seed("encoding/crlf-mars-sample-quality-string.md").quality == 72
    election = seed("yaml/election-night-live-tracking-url.md")
    assert election.url == "https://wire.example.com/politics/2024/03/05/election-night-live?page=2"
    deepfake = seed("yaml/deepfake-robocalls-topics-string.md")
    assert deepfake.topics == ["Elections", "AI", "Cybersecurity"]
    assert election.id in [r.id for r in deepfake.related]
    assert len({r.id for r in deepfake.related}) == len(deepfake.related)
    lunar = seed("yaml/lunar-lander-categories-list.md")
    assert lunar.category == "science"
    assert lunar.provider is not None and lunar.provider.domain == "science.example.org"
    assert all(r.id != lunar.id for r in lunar.related)
    mojibake = seed("yaml/warehouse-workers-mojibake.md")
    assert "workers’" in (mojibake.title or "")
    assert mojibake.provider == ProviderIn(domain="daily.example.org", name="The Daily Example")
    assert seed("yaml/budget-leak-unpublished.md").published is False
    assert seed("bare/malaria-vaccine-original-url-only.json").web_url is None
    assert seed("bare/ocean-heat-content-field.yaml").body
    assert seed("yaml/bourse-paris-economie-fr.md").topics[0] == "Économie"
