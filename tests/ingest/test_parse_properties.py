"""Property tests: whatever the bytes, parse/normalize answer with a document or a DocumentError."""

import datetime as dt
import json
import string

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.ingest.errors import DocumentError
from app.ingest.normalize import MODELLED, ArticleIn, clean_line, normalize, slugify
from app.ingest.parse import Limits, ParsedDocument, parse
from app.ingest.urls import article_id, canonical_url

# Sized so the whole file runs in well under a minute; raise max_examples locally to dig.
_QUIET = [HealthCheck.too_slow, HealthCheck.data_too_large]


def sized(examples: int) -> settings:
    return settings(max_examples=examples, deadline=None, suppress_health_check=_QUIET)


NAMES = st.sampled_from(
    ["a.md", "a.markdown", "a.yaml", "a.yml", "a.json", "A.YAML", "noext", "a.txt"]
)
SMALL_LIMITS = st.one_of(
    st.just(Limits()),
    st.builds(Limits, st.integers(1, 4096), st.integers(1, 70)),
)


def parse_or_reject(name: str, data: bytes, limits: Limits = Limits()) -> ParsedDocument | None:
    """The contract: a ParsedDocument or a DocumentError, never any other exception."""
    try:
        doc = parse(name, data, limits)
    except DocumentError as exc:
        assert exc.errors and all(e.message for e in exc.errors)
        return None
    assert isinstance(doc, ParsedDocument)
    assert isinstance(doc.mapping, dict)
    assert doc.format in {"yaml", "toml", "json"}
    assert doc.body is None or (isinstance(doc.body, str) and doc.body.strip())
    assert len(data) <= limits.max_document_bytes
    return doc


def normalize_or_reject(doc: ParsedDocument) -> ArticleIn | None:
    try:
        article = normalize(doc)
    except DocumentError as exc:
        assert exc.errors and all(e.message for e in exc.errors)
        return None
    assert isinstance(article, ArticleIn)
    assert article.title
    assert article.url == canonical_url(article.url)
    assert article.id == article_id(article.url)
    assert 0 <= article.id < 2**63
    assert article.quality is None or 0 <= article.quality <= 100
    assert article.heat is None or article.heat >= 0
    assert len({slugify(t) for t in article.topics}) == len(article.topics)
    if article.extra is not None:
        json.dumps(article.extra, allow_nan=False)  # storable as JSON
    for related in article.related:
        assert related.id != article.id
    assert len({r.id for r in article.related}) == len(article.related)
    return article


# --- (a) arbitrary bytes ----------------------------------------------------------------------

PREFIXES = st.sampled_from(
    [b"", b"---\n", b"---\r\n", b"+++\n", b"{", b'{"title": ', b"\xef\xbb\xbf---\n",
     b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff", b"---  \n", b"...\n",
     b"[", b"- ", b"? ", b"%YAML 1.1\n---\n"]
)  # fmt: skip
MIDDLES = st.sampled_from(
    [b"\n---\n", b"\n...\n", b"\n+++\n", b"}\n", b"\n", b"", b"\r\n---\r\n", b"\n---\n---\n"]
)
YAMLISH = st.text(
    alphabet=string.ascii_letters[:6] + string.digits[:4] + " \n\t-:[]{}&*!|>'\",#?.%@=\\_+~é’"
)


@sized(500)
@given(NAMES, st.binary(max_size=600), SMALL_LIMITS)
def test_arbitrary_bytes(name: str, data: bytes, limits: Limits) -> None:
    doc = parse_or_reject(name, data, limits)
    if doc is not None:
        normalize_or_reject(doc)


@sized(300)
@given(
    NAMES,
    PREFIXES,
    st.one_of(YAMLISH, st.text(max_size=200)),
    MIDDLES,
    st.one_of(st.text(max_size=100).map(str.encode), st.binary(max_size=50)),
    st.booleans(),
)
def test_fenced_random_text(
    name: str, prefix: bytes, head: str, middle: bytes, tail: bytes, crlf: bool
) -> None:
    data = prefix + head.encode() + middle + tail
    if crlf:
        data = data.replace(b"\n", b"\r\n")
    doc = parse_or_reject(name, data)
    if doc is not None:
        normalize_or_reject(doc)


@sized(200)
@given(st.text(alphabet="[]{}-: \n&*a,", max_size=300), st.integers(1, 10))
def test_nesting_tokens_under_tiny_depth_limits(text: str, depth: int) -> None:
    parse_or_reject("a.yaml", text.encode(), Limits(max_depth=depth))
    parse_or_reject("a.md", ("---\n" + text + "\n---\n").encode(), Limits(max_depth=depth))
    parse_or_reject("a.md", ("+++\n" + text + "\n+++\n").encode(), Limits(max_depth=depth))


# --- (b) arbitrary YAML-ish structures --------------------------------------------------------

KNOWN_KEYS = sorted(MODELLED | {"categories", "url", "width", "height", "isCached", "name",
                                "domain", "attribution"})  # fmt: skip
KEYS = st.one_of(st.sampled_from(KNOWN_KEYS), st.text(max_size=12))
URLISH = st.sampled_from(
    ["https://example.com/a", "http://www.Example.org/b?utm_source=x#f", "javascript:alert(1)",
     "/relative", "https://example.com/a#self", "http://[::1/", "https://", "ftp://x.example/"]
)  # fmt: skip
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(
        [
            "high",
            "57",
            " 42 ",
            "-1",
            "2024-02-23",
            "2024-02-23T12:09:00+02:00",
            "AI, ai, Ai",
            "workersâ€™",
            "true",
            "no",
            "null",
        ]
    ),  # fmt: skip
    URLISH,
    st.dates(),
    st.datetimes(timezones=st.one_of(st.none(), st.timezones())),
)
STRUCTURES = st.recursive(
    SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(KEYS, children, max_size=5),
    ),
    max_leaves=12,
)
MAPPINGS = st.dictionaries(KEYS, STRUCTURES, max_size=6)


def _dump_yaml(mapping: dict) -> str | None:
    try:
        return yaml.safe_dump(mapping, allow_unicode=True, sort_keys=False)
    except yaml.YAMLError:
        return None


@sized(80)
@given(
    MAPPINGS,
    st.fixed_dictionaries({"title": SCALARS, "webUrl": URLISH}),
    st.booleans(),
    st.text(max_size=50),
)
def test_yaml_structures_in_front_matter(
    mapping: dict, required: dict, add_required: bool, body: str
) -> None:
    if add_required:
        mapping = {**required, **mapping}
    dumped = _dump_yaml(mapping)
    if dumped is None:
        return
    for name, data in [
        ("a.md", f"---\n{dumped}---\n{body}"),
        ("a.yaml", dumped),
    ]:
        doc = parse_or_reject(name, data.encode())
        if doc is not None:
            normalize_or_reject(doc)
    # the same structure handed to normalize directly: a document or a DocumentError
    normalize_or_reject(ParsedDocument(mapping, body or None, "yaml"))


ANY = st.one_of(SCALARS, STRUCTURES)
IMAGE = st.fixed_dictionaries(
    {}, optional={k: ANY for k in ["url", "width", "height", "isCached", "title", "attribution"]}
).map(lambda d: {**d, "url": d.get("url", "https://example.com/i.png")})
PROVIDER = st.one_of(ANY, st.fixed_dictionaries({}, optional={"name": ANY, "domain": ANY}))
RELATED = st.one_of(
    URLISH,
    ANY,
    st.fixed_dictionaries(
        {"webUrl": st.one_of(URLISH, ANY)},
        optional={
            **{k: ANY for k in ["title", "excerpt", "publishedDateTime", "ampWebUrl",
                                "cdnAmpWebUrl", "type", "quality", "heat", "extraKey"]},
            "provider": PROVIDER,
            "images": st.lists(st.one_of(IMAGE, ANY), max_size=3),
        },
    ),
)  # fmt: skip
MODELLED_VALUES = st.fixed_dictionaries(
    {"title": st.one_of(SCALARS, st.just("A title")), "webUrl": URLISH},
    optional={
        **{k: ANY for k in sorted(MODELLED - {"title", "webUrl", "images", "related", "provider"})},
        "categories": ANY,
        "provider": PROVIDER,
        "images": st.one_of(ANY, st.lists(st.one_of(IMAGE, ANY), max_size=3)),
        "related": st.one_of(ANY, st.lists(RELATED, max_size=4)),
    },
)


@sized(100)
@given(MODELLED_VALUES, st.one_of(st.none(), st.text(max_size=30)))
def test_modelled_fields_with_arbitrary_values(mapping: dict, body: str | None) -> None:
    normalize_or_reject(ParsedDocument(mapping, body, "yaml"))
    dumped = _dump_yaml(mapping)
    if dumped is not None:
        doc = parse_or_reject("a.md", f"---\n{dumped}---\n{body or ''}".encode())
        if doc is not None:
            normalize_or_reject(doc)


def _jsonable(value):
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return value


@sized(80)
@given(MAPPINGS, st.fixed_dictionaries({"title": SCALARS, "webUrl": URLISH}), st.text(max_size=50))
def test_json_structures(mapping: dict, required: dict, body: str) -> None:
    data = json.dumps(_jsonable({**required, **mapping}), ensure_ascii=False)
    for name, text in [("a.md", f"{data}\n{body}"), ("a.json", data)]:
        doc = parse_or_reject(name, text.encode())
        if doc is not None:
            normalize_or_reject(doc)


# --- (c) valid documents round-trip -----------------------------------------------------------

WORDS = st.text(alphabet=string.ascii_letters + string.digits + "éüßÉ中日 ,.!?", min_size=1,
                max_size=60).filter(lambda s: s.strip())  # fmt: skip
LABEL = st.text(alphabet=string.ascii_lowercase + string.digits, min_size=1, max_size=10)
HOSTS = st.builds(
    lambda www, labels, tld: ("www." if www else "") + ".".join(labels) + "." + tld,
    st.booleans(),
    st.lists(LABEL, min_size=1, max_size=3),
    st.sampled_from(["com", "org", "co.uk", "example"]),
)
PATHS = st.lists(
    st.text(alphabet=string.ascii_letters + string.digits + "-_.~%", min_size=1, max_size=12),
    max_size=4,
).map(lambda parts: "/" + "/".join(parts))
QUERIES = st.lists(st.tuples(LABEL, LABEL), max_size=3).map(
    lambda pairs: ("?" + "&".join(f"{k}={v}" for k, v in pairs)) if pairs else ""
)
URLS = st.builds(
    lambda scheme, host, path, query: f"{scheme}://{host}{path}{query}",
    st.sampled_from(["http", "https"]),
    HOSTS,
    PATHS,
    QUERIES,
)
TOPIC = st.text(alphabet=string.ascii_letters + "ÉéÜ ", min_size=1, max_size=20).filter(
    lambda s: slugify(s)
)
FIELDS = st.fixed_dictionaries(
    {
        "title": WORDS,
        "webUrl": URLS,
        "quality": st.integers(0, 100),
        "heat": st.integers(0, 2**63 - 1),
        "published": st.booleans(),
        "topics": st.lists(TOPIC, max_size=5),
        "publishedDateTime": st.datetimes(
            min_value=dt.datetime(1971, 1, 1), max_value=dt.datetime(2100, 1, 1)
        ),
    },
    optional={"excerpt": WORDS, "category": LABEL, "numericQuality": st.booleans()},
)


def _toml_document(fields: dict) -> str:
    lines = []
    for key, value in fields.items():
        if isinstance(value, bool):
            lines.append(f"{key} = {'true' if value else 'false'}")
        elif isinstance(value, int | str | list):
            lines.append(f"{key} = {json.dumps(value, ensure_ascii=False)}")
        elif isinstance(value, dt.datetime):
            lines.append(f"{key} = {value.isoformat()}Z")
    return "+++\n" + "\n".join(lines) + "\n+++\nThe body.\n"


def _document(fields: dict, fmt: str) -> tuple[str, str]:
    if fmt == "yaml":
        return "a.md", f"---\n{yaml.safe_dump(fields, allow_unicode=True)}---\nThe body.\n"
    if fmt == "json":
        return "a.md", json.dumps(_jsonable(fields), ensure_ascii=False) + "\nThe body.\n"
    if fmt == "bare-yaml":
        return "a.yml", yaml.safe_dump(fields, allow_unicode=False)
    return "a.md", _toml_document(fields)


@sized(150)
@given(FIELDS, st.sampled_from(["yaml", "json", "toml", "bare-yaml"]))
def test_valid_documents_round_trip(fields: dict, fmt: str) -> None:
    if fields.pop("numericQuality", False):
        fields["quality"] = str(fields["quality"])
    name, text = _document(fields, fmt)
    article = normalize(parse(name, text.encode()))

    assert article.title == clean_line(fields["title"]) == " ".join(fields["title"].split())
    assert article.web_url == fields["webUrl"]
    assert article.url == canonical_url(fields["webUrl"])
    assert article.id == article_id(article.url)
    assert article.quality == int(fields["quality"])
    assert article.heat == fields["heat"]
    assert article.published is fields["published"]
    assert article.published_at == fields["publishedDateTime"].replace(microsecond=0)
    host = fields["webUrl"].split("/")[2]
    assert article.provider is not None
    assert article.provider.domain == host.removeprefix("www.")
    expected_topics: list[str] = []
    for topic in (" ".join(t.split()) for t in fields["topics"]):
        if slugify(topic) not in {slugify(t) for t in expected_topics}:
            expected_topics.append(topic)
    assert article.topics == expected_topics
    assert article.excerpt == (" ".join(fields["excerpt"].split()) if "excerpt" in fields else None)
    assert article.category == fields.get("category")
    assert article.body == (None if fmt == "bare-yaml" else "The body.")
    assert article.extra is None
