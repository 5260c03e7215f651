"""URL validation, canonical form and the article id derived from it."""

import hashlib
import re
from urllib.parse import unquote_plus, urlsplit, urlunsplit

MAX_URL_LENGTH = 2048
_DEFAULT_PORTS = {"http": 80, "https": 443}
_TRACKING = {"fbclid", "gclid"}
_FORBIDDEN = re.compile(r"[\s\x00-\x1f\x7f]")


class InvalidURL(ValueError):
    pass


def check_url(value: str) -> str:
    """Return the trimmed URL if it is an absolute http(s) URL, else raise InvalidURL."""
    url = value.strip()
    if not url:
        raise InvalidURL("must not be empty")
    if len(url) > MAX_URL_LENGTH:
        raise InvalidURL(f"must be at most {MAX_URL_LENGTH} characters")
    if _FORBIDDEN.search(url):
        raise InvalidURL("must not contain spaces or control characters")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - validates the port
    except ValueError as exc:
        raise InvalidURL(f"is not a valid URL ({exc})") from None
    if parts.scheme.lower() not in _DEFAULT_PORTS:
        raise InvalidURL("must be an absolute http or https URL")
    if not parts.hostname:
        raise InvalidURL("must have a host")
    return url


def canonical_url(url: str) -> str:
    """Lowercase scheme and host, drop default port, fragment and tracking parameters."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    port = parts.port
    netloc = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    if parts.username is not None:
        userinfo = parts.username + (f":{parts.password}" if parts.password is not None else "")
        netloc = f"{userinfo}@{netloc}"
    # Drop tracking parameters but leave every other one exactly as written, so a URL
    # with and without them has the same canonical form.
    query = "&".join(
        part for part in parts.query.split("&") if not _is_tracking(part.split("=", 1)[0])
    )
    return urlunsplit((scheme, netloc, parts.path or "/", query, ""))


def _is_tracking(key: str) -> bool:
    key = unquote_plus(key).lower()
    return key.startswith("utm_") or key in _TRACKING


MAX_ID = 2**63 - 1


def article_id(canonical: str) -> int:
    """63-bit integer from the canonical URL's sha256: the same in every database."""
    return int.from_bytes(hashlib.sha256(canonical.encode()).digest()[:8], "big") >> 1


def format_id(value: int) -> str:
    """Fixed-width hex, so sorting ids as text matches sorting them as numbers."""
    return f"{value:016x}"


def parse_id(value: str) -> int | None:
    if len(value) != 16:
        return None
    try:
        number = int(value, 16)
    except ValueError:
        return None
    if not 0 <= number <= MAX_ID or format_id(number) != value:
        return None
    return number


def domain_of(url: str) -> str:
    try:
        host = (urlsplit(url).hostname or "").lower()
    except ValueError:  # e.g. an unclosed IPv6 bracket
        return ""
    return host.removeprefix("www.")
