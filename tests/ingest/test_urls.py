"""app.ingest.urls: URL checks, canonical form (§4.4) and the ids derived from it (§2)."""

import hashlib
import re

import pytest

from app.ingest.urls import (
    MAX_URL_LENGTH,
    InvalidURL,
    article_id,
    canonical_url,
    check_url,
    domain_of,
    format_id,
    parse_id,
)

# --- check_url --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com",
        "https://example.com/a/b?c=d#e",
        "HTTPS://EXAMPLE.COM/",
        "https://example.com:8443/x",
        "http://127.0.0.1/x",
        "http://[::1]:8080/x",
        "https://bücher.example/straße",
        "https://user:pw@example.com/",
    ],
)
def test_check_url_accepts_absolute_http_urls(url: str) -> None:
    assert check_url(url) == url


def test_check_url_trims_surrounding_whitespace() -> None:
    assert check_url("  https://example.com/x \n") == "https://example.com/x"


@pytest.mark.parametrize(
    "url",
    [
        "", "   ", "javascript:alert(1)", "JAVASCRIPT:alert(1)", "java\nscript:alert(1)",
        "vbscript:msgbox", "data:text/html,<script>", "file:///etc/passwd", "ftp://example.com/",
        "mailto:a@example.com", "/relative", "relative/path", "../up", "//example.com/x",
        "http://", "http:///path", "https://:80/", "http://exa mple.com/", "http://example.com/\x00",
        "http://example.com/\x7f", "http://example.com:99999/", "http://example.com:port/",
        "http://[::1/", "https://example.com/" + "a" * MAX_URL_LENGTH,
    ],
    ids=[
        "empty", "blank", "javascript", "javascript-upper", "javascript-newline", "vbscript",
        "data", "file", "ftp", "mailto", "absolute-path", "relative", "dotdot", "scheme-relative",
        "no-host", "empty-host", "port-only", "space", "nul", "del", "port-range", "port-text",
        "ipv6-unclosed", "too-long",
    ],
)  # fmt: skip
def test_check_url_rejects(url: str) -> None:
    with pytest.raises(InvalidURL) as info:
        check_url(url)
    assert str(info.value)


def test_invalid_url_is_a_value_error() -> None:
    assert issubclass(InvalidURL, ValueError)


# --- canonical_url ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "canonical"),
    [
        ("https://example.com/a", "https://example.com/a"),
        ("HTTPS://WWW.Example.COM/Path/To", "https://www.example.com/Path/To"),
        ("https://example.com", "https://example.com/"),
        ("http://example.com:80/a", "http://example.com/a"),
        ("https://example.com:443/a", "https://example.com/a"),
        ("http://example.com:8080/a", "http://example.com:8080/a"),
        ("https://example.com:80/a", "https://example.com:80/a"),
        ("https://example.com/a#section-2", "https://example.com/a"),
        ("https://example.com/a?utm_source=x", "https://example.com/a"),
        ("https://example.com/a?utm_source=x&utm_medium=y&utm_campaign=z&utm_term=t&utm_content=c",
         "https://example.com/a"),
        ("https://example.com/a?UTM_Source=x&Fbclid=y&GCLID=z", "https://example.com/a"),
        ("https://example.com/a?fbclid=1&gclid=2&page=2", "https://example.com/a?page=2"),
        ("https://example.com/a?b=2&utm_source=x&a=1&c=3", "https://example.com/a?b=2&a=1&c=3"),
        ("https://example.com/a?q=a%20b&utm_source=x", "https://example.com/a?q=a%20b"),
        ("https://example.com/a?q=a+b&x=%2F&utm_source=x", "https://example.com/a?q=a+b&x=%2F"),
        ("https://example.com/a?q=a/b&utm_source=x", "https://example.com/a?q=a/b"),
        ("https://example.com/a?flag&utm_source=x", "https://example.com/a?flag"),
        ("https://example.com/a?x=1&x=2&utm_source=x", "https://example.com/a?x=1&x=2"),
        ("https://example.com/a?utm=1&utmsource=2&my_utm_x=3&utm_x=4",
         "https://example.com/a?utm=1&utmsource=2&my_utm_x=3"),
        ("https://example.com/a?utm%5Fsource=x&k=v", "https://example.com/a?k=v"),
        ("https://example.com/a?", "https://example.com/a"),
        ("https://example.com/A%2Fb/C", "https://example.com/A%2Fb/C"),
        ("https://User:Pw@Example.com/a", "https://User:Pw@example.com/a"),
        ("http://[::1]:80/a", "http://[::1]/a"),
        ("http://[2001:DB8::1]:8080/a", "http://[2001:db8::1]:8080/a"),
        ("https://bücher.example/ä", "https://bücher.example/ä"),
    ],
)  # fmt: skip
def test_canonical_url(url: str, canonical: str) -> None:
    assert canonical_url(check_url(url)) == canonical


def test_canonical_url_is_idempotent() -> None:
    url = "HTTPS://Example.com:443/a/b?x=%20y&utm_source=z&q=1#frag"
    once = canonical_url(url)
    assert canonical_url(once) == once


EQUIVALENT = [
    "https://news.example.com/story?page=2",
    "HTTPS://NEWS.EXAMPLE.COM/story?page=2",
    "https://news.example.com:443/story?page=2",
    "https://news.example.com/story?page=2#comments",
    "https://news.example.com/story?utm_source=tw&page=2",
    "https://news.example.com/story?page=2&utm_medium=social&fbclid=abc&gclid=def",
    "https://News.Example.com:443/story?utm_campaign=c&page=2&utm_term=t#top",
]


def test_equivalent_urls_share_one_canonical_form_and_id() -> None:
    assert {canonical_url(u) for u in EQUIVALENT} == {"https://news.example.com/story?page=2"}
    assert len({article_id(canonical_url(u)) for u in EQUIVALENT}) == 1


def test_tracking_parameters_never_change_the_encoding_of_the_rest() -> None:
    base = "https://example.com/search?q=caf%C3%A9%20cr%C3%A8me&tag=a/b&empty=&flag"
    assert canonical_url(base + "&utm_source=x") == canonical_url(base) == base


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("https://example.com/a", "http://example.com/a"),
        ("https://example.com/a", "https://example.com/A"),
        ("https://example.com/a", "https://example.com/a/"),
        ("https://example.com/a?page=1", "https://example.com/a?page=2"),
        ("https://example.com/a?x=1&y=2", "https://example.com/a?y=2&x=1"),
        ("https://example.com/a", "https://www.example.com/a"),
        ("https://example.com/a", "https://example.com:8443/a"),
    ],
    ids=["scheme", "path-case", "trailing-slash", "param-value", "param-order", "www", "port"],
)
def test_different_urls_have_different_ids(a: str, b: str) -> None:
    assert article_id(canonical_url(a)) != article_id(canonical_url(b))


# --- ids --------------------------------------------------------------------------------------


def test_article_id_is_stable_and_63_bit() -> None:
    canonical = "https://news.example.com/story?page=2"
    value = article_id(canonical)
    assert value == article_id(canonical)
    assert 0 <= value < 2**63
    # the same in every database: the top 63 bits of the canonical URL's sha256
    digest = hashlib.sha256(b"https://example.com/").digest()
    assert article_id("https://example.com/") == int.from_bytes(digest[:8], "big") >> 1


def test_article_ids_spread_over_the_range() -> None:
    ids = [article_id(f"https://example.com/{i}") for i in range(2000)]
    assert len(set(ids)) == len(ids)
    assert max(ids) > 2**62  # the top bit of the 63 is used
    assert all(0 <= i < 2**63 for i in ids)


@pytest.mark.parametrize(
    ("value", "text"),
    [(0, "0000000000000000"), (1, "0000000000000001"), (255, "00000000000000ff"),
     (2**32, "0000000100000000"), (2**63 - 1, "7fffffffffffffff")],
)  # fmt: skip
def test_format_id(value: int, text: str) -> None:
    assert format_id(value) == text


def test_format_id_is_16_lowercase_hex_and_sorts_like_the_integer() -> None:
    values = [0, 1, 9, 10, 15, 16, 255, 256, 4095, 2**31, 2**32 - 1, 2**40, 2**62, 2**63 - 1]
    values += [article_id(f"https://example.com/{i}") for i in range(500)]
    texts = [format_id(v) for v in values]
    assert all(re.fullmatch(r"[0-9a-f]{16}", t) for t in texts)
    assert sorted(texts) == [format_id(v) for v in sorted(values)]


def test_parse_id_round_trips() -> None:
    values = [0, 1, 255, 2**62, 2**63 - 1] + [article_id(f"https://e.com/{i}") for i in range(200)]
    for value in values:
        assert parse_id(format_id(value)) == value


@pytest.mark.parametrize(
    "text",
    [
        "", "ff", "00000000000000f", "00000000000000ff0", "00000000000000FF", "000000000000000G",
        "zzzzzzzzzzzzzzzz", " 00000000000000f", "00000000000000f ", "+00000000000000f",
        "-000000000000001", "0x00000000000000", "0000_0000000000f", "8000000000000000",
        "ffffffffffffffff", "１２３４５６７８９０１２３４５６", "0000000000000\n0f",
        "../../etc/passwd",
    ],
    ids=[
        "empty", "short", "15-chars", "17-chars", "uppercase", "non-hex", "letters",
        "leading-space", "trailing-space", "plus", "minus", "0x", "underscore",
        "over-63-bits", "all-f", "fullwidth-digits", "newline", "path",
    ],
)  # fmt: skip
def test_parse_id_rejects_junk(text: str) -> None:
    assert parse_id(text) is None


# --- domain_of --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "domain"),
    [
        ("https://sky.com/x", "sky.com"),
        ("https://WWW.Sky.com/x", "sky.com"),
        ("https://news.sky.com/story", "news.sky.com"),
        ("https://www.www.example.com/", "www.example.com"),
        ("https://wwwexample.com/", "wwwexample.com"),
        ("http://example.com:8080/", "example.com"),
        ("http://user@Example.com/", "example.com"),
        ("not a url", ""),
        ("http://[::1/", ""),
    ],
)
def test_domain_of(url: str, domain: str) -> None:
    assert domain_of(url) == domain
