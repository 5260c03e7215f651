"""Raw mapping to a validated ArticleIn: field mapping, coercion, text repair, URL identity."""

import math
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any

import ftfy
from anyascii import anyascii

from app.ingest.errors import DocumentError, FieldError
from app.ingest.parse import ParsedDocument
from app.ingest.urls import InvalidURL, article_id, canonical_url, check_url, domain_of

MAX_TITLE = 500
MAX_NAME = 200
MAX_INT = 2**63 - 1
MAX_LIST = 1000

_FIXER = ftfy.TextFixerConfig(
    uncurl_quotes=False, fix_character_width=False, fix_latin_ligatures=False, explain=False
)
_URL_FIELDS = {
    "webUrl": "web_url",
    "originalUrl": "original_url",
    "ampWebUrl": "amp_web_url",
    "cdnAmpWebUrl": "cdn_amp_web_url",
}
MODELLED = {
    "title", "excerpt", "category", "type", "locale", "published", "publishedDateTime",
    "updatedDateTime", "quality", "heat", "provider", "topics", "tags", "images", "related",
    "secured", "content", *_URL_FIELDS,
}  # fmt: skip
_RELATED_KEYS = {
    "title", "excerpt", "publishedDateTime", "webUrl", "ampWebUrl", "cdnAmpWebUrl", "type",
    "provider", "quality", "heat", "images",
}  # fmt: skip


@dataclass
class ProviderIn:
    domain: str
    name: str


@dataclass
class ImageIn:
    url: str
    width: int | None = None
    height: int | None = None
    is_cached: bool | None = None
    title: str | None = None
    attribution: str | None = None


@dataclass
class ArticleIn:
    id: int
    url: str
    title: str | None
    web_url: str | None = None
    original_url: str | None = None
    amp_web_url: str | None = None
    cdn_amp_web_url: str | None = None
    excerpt: str | None = None
    body: str | None = None
    category: str | None = None
    type: str | None = None
    locale: str | None = None
    published: bool = True
    published_at: datetime | None = None
    updated_at: datetime | None = None
    quality: int | None = None
    heat: int | None = None
    provider: ProviderIn | None = None
    topics: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    images: list[ImageIn] = field(default_factory=list)
    related: list["ArticleIn"] = field(default_factory=list)
    secured: str | None = None
    extra: dict[str, Any] | None = None


def repair(text: str) -> str:
    """Undo mojibake; ASCII text cannot carry any, so skip the fixer for it."""
    return text if text.isascii() else ftfy.fix_text(text, _FIXER)


def clean_line(text: str) -> str:
    return " ".join(repair(text).split())


_SLUG_SEPARATORS = re.compile(r"[^a-z0-9]+")


def slugify(name: str) -> str:
    """Lowercase ASCII words joined by `-`, transliterating non-ASCII letters."""
    return _SLUG_SEPARATORS.sub("-", anyascii(name).lower()).strip("-")[:MAX_NAME]


class _Fields:
    """Collects every field error of a document instead of stopping at the first."""

    def __init__(self, raw: dict[str, Any], prefix: str = "") -> None:
        self.raw = raw
        self.prefix = prefix
        self.errors: list[FieldError] = []

    def fail(self, key: str, message: str) -> None:
        self.errors.append(FieldError(f"{self.prefix}{key}", message))

    def get(self, key: str) -> Any:
        return self.raw.get(key)

    def text(self, key: str, *, line: bool = True, limit: int | None = None) -> str | None:
        value = self.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            self.fail(key, f"must be a string, not {_kind(value)}")
            return None
        text = clean_line(str(value)) if line else repair(str(value)).strip()
        if limit is not None and len(text) > limit:
            self.fail(key, f"must be at most {limit} characters")
            return None
        return text or None

    def verbatim(self, key: str) -> str | None:
        value = self.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            self.fail(key, f"must be a string, not {_kind(value)}")
            return None
        return str(value)

    def url(self, key: str) -> str | None:
        value = self.get(key)
        if value is None:
            return None
        if not isinstance(value, str):
            self.fail(key, f"must be a URL string, not {_kind(value)}")
            return None
        try:
            return check_url(value)
        except InvalidURL as exc:
            self.fail(key, str(exc))
            return None

    def integer(self, key: str, *, low: int = 0, high: int = MAX_INT) -> int | None:
        value = self.get(key)
        if value is None:
            return None
        number: int | None = None
        if isinstance(value, bool):
            number = None
        elif isinstance(value, int):
            number = value
        elif (isinstance(value, float) and math.isfinite(value) and value.is_integer()) or (
            isinstance(value, str) and re.fullmatch(r"\s*[-+]?\d{1,30}\s*", value)
        ):
            number = int(value)
        if number is None:
            self.fail(key, f"must be an integer, not {_kind(value)}")
            return None
        if not low <= number <= high:
            if high < MAX_INT:
                self.fail(key, f"must be between {low} and {high}")
            else:
                self.fail(
                    key, f"must be at least {low}" if number < low else f"must be at most {high}"
                )
            return None
        return number

    def boolean(self, key: str) -> bool | None:
        value = self.get(key)
        if value is None or isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        self.fail(key, f"must be true or false, not {_kind(value)}")
        return None

    def timestamp(self, key: str) -> datetime | None:
        value = self.get(key)
        if value is None:
            return None
        if isinstance(value, datetime):
            moment = value
        elif isinstance(value, date):
            moment = datetime.combine(value, time())
        elif isinstance(value, str):
            try:
                moment = datetime.fromisoformat(value.strip())
            except ValueError:
                self.fail(key, "must be an ISO 8601 date or datetime")
                return None
        else:
            self.fail(key, f"must be an ISO 8601 date or datetime, not {_kind(value)}")
            return None
        if moment.tzinfo is not None:
            try:
                moment = moment.astimezone(UTC).replace(tzinfo=None)
            except OverflowError:
                self.fail(key, "is out of range")
                return None
        return moment.replace(microsecond=0)

    def strings(self, key: str, *, limit: int = MAX_NAME) -> list[str]:
        """A list of strings, or one comma-separated string; repaired, deduplicated."""
        value = self.get(key)
        if value is None:
            return []
        items = value.split(",") if isinstance(value, str) else value
        if not isinstance(items, list):
            self.fail(key, f"must be a list of strings, not {_kind(value)}")
            return []
        if len(items) > MAX_LIST:
            self.fail(key, f"must have at most {MAX_LIST} entries")
            return []
        result: list[str] = []
        for index, item in enumerate(items):
            if item is None:
                continue
            if isinstance(item, bool) or not isinstance(item, str | int | float):
                self.fail(f"{key}[{index}]", f"must be a string, not {_kind(item)}")
                continue
            text = clean_line(str(item))
            if len(text) > limit:
                self.fail(f"{key}[{index}]", f"must be at most {limit} characters")
            elif text and text not in result:
                result.append(text)
        return result

    def provider(self, web_url: str | None) -> ProviderIn | None:
        value = self.get("provider")
        name: str | None = None
        domain: str | None = None
        if isinstance(value, dict):
            sub = _Fields(value, f"{self.prefix}provider.")
            name = sub.text("name", limit=MAX_NAME)
            domain = sub.text("domain", limit=253)
            self.errors.extend(sub.errors)
        elif isinstance(value, str):
            name = clean_line(value)[:MAX_NAME] or None
        elif value is not None:
            self.fail("provider", f"must be a mapping with name and domain, not {_kind(value)}")
            return None
        if domain:
            domain = _clean_domain(domain)
            if domain is None:
                self.fail("provider.domain", "must be a host name such as example.com")
                return None
        elif web_url:
            domain = domain_of(web_url)
        if not domain:
            return None
        return ProviderIn(domain=domain, name=name or domain)

    def sequence(self, key: str) -> list[Any]:
        """A list of at most MAX_LIST entries, or [] with a field error."""
        value = self.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            self.fail(key, f"must be a list, not {_kind(value)}")
            return []
        if len(value) > MAX_LIST:
            self.fail(key, f"must have at most {MAX_LIST} entries")
            return []
        return value

    def images(self) -> list[ImageIn]:
        value = self.sequence("images")
        images: list[ImageIn] = []
        for index, item in enumerate(value):
            if isinstance(item, str):
                item = {"url": item}
            if not isinstance(item, dict):
                self.fail(f"images[{index}]", f"must be a mapping with a url, not {_kind(item)}")
                continue
            sub = _Fields(item, f"{self.prefix}images[{index}].")
            url = sub.url("url")
            if url is None and "url" not in sub.errors_fields():
                sub.fail("url", "is required")
            image = ImageIn(
                url=url or "",
                width=sub.integer("width", high=2**31 - 1),
                height=sub.integer("height", high=2**31 - 1),
                is_cached=sub.boolean("isCached"),
                title=sub.text("title"),
                attribution=sub.text("attribution"),
            )
            self.errors.extend(sub.errors)
            if url is not None and all(i.url != url for i in images):
                images.append(image)
        return images

    def errors_fields(self) -> set[str]:
        return {e.field.removeprefix(self.prefix) for e in self.errors if e.field}


def _clean_domain(domain: str) -> str | None:
    domain = domain.strip().lower().rstrip(".")
    if "://" in domain:
        domain = domain_of(domain)
    domain = domain.removeprefix("www.")
    if not domain or not re.fullmatch(r"[\w.-]+(?::\d+)?", domain):
        return None
    return domain


def _kind(value: Any) -> str:
    names = {dict: "a mapping", list: "a list", bool: "a boolean", type(None): "null"}
    for kind, name in names.items():
        if isinstance(value, kind):
            return name
    if isinstance(value, str):
        return f"the text {value[:40]!r}"
    if isinstance(value, int | float):
        return f"the number {value!r}"[:60]
    return type(value).__name__


def normalize(doc: ParsedDocument) -> ArticleIn:
    """Validate and map one parsed document; raise DocumentError listing every problem."""
    raw = {key: value for key, value in doc.mapping.items() if value is not None}
    fields = _Fields(raw)
    non_string = [key for key in raw if not isinstance(key, str)]
    for key in non_string:
        fields.fail(str(key), "keys must be strings")
    urls = {attr: fields.url(key) for key, attr in _URL_FIELDS.items()}
    identity = urls["web_url"] or urls["original_url"]
    if identity is None and not ({"webUrl", "originalUrl"} & fields.errors_fields()):
        fields.fail("webUrl", "is required (or originalUrl)")
    title = fields.text("title", limit=MAX_TITLE)
    if title is None and "title" not in fields.errors_fields():
        fields.fail("title", "is required")
    category = fields.text("category")
    consumed = set(MODELLED)
    if category is None and "category" not in raw and "categories" in raw:
        categories = fields.strings("categories")
        category = categories[0] if categories else None
        consumed.add("categories")
    body = doc.body if doc.body is not None else fields.text("content", line=False)
    article = ArticleIn(
        id=0,
        url="",
        title=title,
        excerpt=fields.text("excerpt"),
        body=repair(body).strip() if body is not None and doc.body is not None else body,
        category=category,
        type=fields.text("type", limit=MAX_NAME),
        locale=fields.text("locale", limit=MAX_NAME),
        published=fields.boolean("published") is not False,
        published_at=fields.timestamp("publishedDateTime"),
        updated_at=fields.timestamp("updatedDateTime"),
        quality=fields.integer("quality", high=100),
        heat=fields.integer("heat"),
        provider=fields.provider(urls["web_url"] or urls["original_url"]),
        topics=_dedupe_topics(fields.strings("topics")),
        tags=fields.strings("tags"),
        images=fields.images(),
        secured=fields.verbatim("secured"),
        web_url=urls["web_url"],
        original_url=urls["original_url"],
        amp_web_url=urls["amp_web_url"],
        cdn_amp_web_url=urls["cdn_amp_web_url"],
    )
    extra = {str(k): v for k, v in raw.items() if k not in consumed and isinstance(k, str)}
    article.extra = _json_safe(extra, fields, "") if extra else None
    if identity is not None:
        article.url = canonical_url(identity)
        article.id = article_id(article.url)
        article.related = _related(fields, article)
    if fields.errors:
        raise DocumentError(fields.errors)
    return article


def _dedupe_topics(names: list[str]) -> list[str]:
    seen: set[str] = set()
    kept = []
    for name in names:
        slug = slugify(name)
        if slug and slug not in seen:
            seen.add(slug)
            kept.append(name)
    return kept


def _related(fields: _Fields, article: ArticleIn) -> list[ArticleIn]:
    value = fields.sequence("related")
    merged: dict[int, ArticleIn] = {}
    for index, item in enumerate(value):
        if isinstance(item, str):
            item = {"webUrl": item}
        if not isinstance(item, dict):
            fields.fail(f"related[{index}]", f"must be a mapping with a webUrl, not {_kind(item)}")
            continue
        item = {k: v for k, v in item.items() if v is not None and k in _RELATED_KEYS}
        sub = _Fields(item, f"related[{index}].")
        url = sub.url("webUrl")
        if url is None and "webUrl" not in sub.errors_fields():
            sub.fail("webUrl", "is required")
        stub = ArticleIn(
            id=0,
            url="",
            title=sub.text("title", limit=MAX_TITLE),
            web_url=url,
            excerpt=sub.text("excerpt"),
            type=sub.text("type", limit=MAX_NAME),
            published_at=sub.timestamp("publishedDateTime"),
            amp_web_url=sub.url("ampWebUrl"),
            cdn_amp_web_url=sub.url("cdnAmpWebUrl"),
            quality=sub.integer("quality", high=100),
            heat=sub.integer("heat"),
            provider=sub.provider(url),
            images=sub.images(),
        )
        fields.errors.extend(sub.errors)
        if url is None or sub.errors:
            continue
        stub.url = canonical_url(url)
        stub.id = article_id(stub.url)
        if stub.id == article.id:
            continue
        if stub.id in merged:
            _merge(merged[stub.id], stub)
        else:
            merged[stub.id] = stub
    return list(merged.values())


def _merge(kept: ArticleIn, other: ArticleIn) -> None:
    """Duplicate related entries: fill what the first one left empty."""
    for name in ("title", "excerpt", "type", "published_at", "amp_web_url", "cdn_amp_web_url",
                 "quality", "heat", "provider"):  # fmt: skip
        if getattr(kept, name) is None:
            setattr(kept, name, getattr(other, name))
    if not kept.images:
        kept.images = other.images


def _json_safe(value: Any, fields: _Fields, path: str) -> Any:
    """Make a YAML/TOML value storable as JSON, verbatim where JSON can say it."""
    if isinstance(value, dict):
        return {str(k): _json_safe(v, fields, f"{path}.{k}" if path else str(k))
                for k, v in value.items()}  # fmt: skip
    if isinstance(value, list | tuple | set):
        return [_json_safe(v, fields, f"{path}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value.isoformat() + "Z"
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        fields.fail(path, "infinite or NaN numbers cannot be stored")
        return None
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_INT:
        fields.fail(path, f"numbers beyond ±{MAX_INT} cannot be stored")
        return None
    if isinstance(value, bytes):
        fields.fail(path, "binary values are not supported")
        return None
    return value
