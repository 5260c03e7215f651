"""List items for a page of article ids, in a constant number of prebuilt statements.

The statements are built once at import: building and cache-keying a select() per request
cost more than running it. Rows come back as plain tuples (no ORM objects) and become the
dicts orjson serialises. The serialised items are kept in the process's VersionCache for as
long as the data version they were read at is current: frontends list the same popular
articles on many pages, and a cached item costs no statement at all.
"""

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Connection, bindparam, func, select, union_all

from app.cache import VersionCache
from app.db import CACHE, Reading
from app.ingest.urls import format_id
from app.models import (
    STUB,
    UNPUBLISHED,
    Article,
    ArticleImage,
    ArticleRelated,
    ArticleTag,
    ArticleTopic,
    DataVersion,
    Provider,
    Topic,
)
from app.prebuilt import Prebuilt

_IDS: Any = bindparam("ids", expanding=True)
_HIDDEN: Any = bindparam("hidden")

ITEMS = Prebuilt(
    select(
        Article.id,
        Article.title,
        Article.excerpt,
        Article.category,
        Article.type,
        Article.published,
        Article.locale,
        Article.published_at,
        Article.updated_at,
        Article.web_url,
        Article.original_url,
        Article.amp_web_url,
        Article.cdn_amp_web_url,
        Article.quality,
        Article.heat,
        Provider.name,
        Provider.domain,
        Article.state,
    )  # fmt: skip
    .outerjoin(Provider, Provider.id == Article.provider_id)
    .where(Article.id.in_(_IDS))
)
TOPICS = Prebuilt(
    select(ArticleTopic.article_id, Topic.name, Topic.slug)
    .join(Topic, Topic.id == ArticleTopic.topic_id)
    .where(ArticleTopic.article_id.in_(_IDS))
    .order_by(ArticleTopic.article_id, ArticleTopic.position)
)
TAGS = Prebuilt(
    select(ArticleTag.article_id, ArticleTag.tag)
    .where(ArticleTag.article_id.in_(_IDS))
    .order_by(ArticleTag.article_id, ArticleTag.position)
)
IMAGES = Prebuilt(
    select(
        ArticleImage.article_id,
        ArticleImage.url,
        ArticleImage.width,
        ArticleImage.height,
        ArticleImage.is_cached,
        ArticleImage.title,
        ArticleImage.attribution,
    )  # fmt: skip
    .where(ArticleImage.article_id.in_(_IDS))
    .order_by(ArticleImage.article_id, ArticleImage.position)
)
VERSION = Prebuilt(select(DataVersion.version))
_other = Article.__table__.alias("other")
# Links in both directions whose other end this caller may see.
RELATED_COUNTS = Prebuilt(
    union_all(
        select(ArticleRelated.source_id, func.count())
        .join(_other, _other.c.id == ArticleRelated.target_id)
        .where(ArticleRelated.source_id.in_(_IDS), _other.c.state != _HIDDEN)
        .group_by(ArticleRelated.source_id),
        select(ArticleRelated.target_id, func.count())
        .join(_other, _other.c.id == ArticleRelated.source_id)
        .where(ArticleRelated.target_id.in_(_IDS), _other.c.state != _HIDDEN)
        .group_by(ArticleRelated.target_id),
    )
)


def iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat() + "Z"


def hidden_state(authorized: bool) -> int:
    """The state a caller may not see: unpublished without a key, nothing with one."""
    return -1 if authorized else UNPUBLISHED


def load_items(session: Reading, ids: Sequence[int], authorized: bool) -> dict[int, bytes]:
    """List items for `ids` as JSON, from the read's cache or in five statements."""
    if not ids:
        return {}
    conn = session.connection()
    hidden = hidden_state(authorized)
    cache: VersionCache | None = session.info.get(CACHE)
    # The version of this read's own snapshot: what the cached items were made from.
    versions = VERSION.rows(conn, {}) if cache is not None else []
    if cache is None or not versions:
        return {i: orjson.dumps(item) for i, item in _query(conn, ids, hidden).items()}
    version = versions[0][0]
    keys = {i: (hidden, i) for i in ids}
    cached = cache.get_many(version, keys.values())
    found = {i: cached[key] for i, key in keys.items() if key in cached}
    missing = [i for i in ids if i not in found]
    if missing:
        for article_id, item in _query(conn, missing, hidden).items():
            found[article_id] = value = orjson.dumps(item)
            cache.put(version, (hidden, article_id), value)
    return found


def _query(conn: Connection, ids: Sequence[int], hidden: int) -> dict[int, dict[str, Any]]:
    params = {"ids": list(ids)}
    topics: dict[int, list[dict[str, str]]] = defaultdict(list)
    for article_id, name, slug in TOPICS.rows(conn, params):
        topics[article_id].append({"name": name, "slug": slug})
    tags: dict[int, list[str]] = defaultdict(list)
    for article_id, tag in TAGS.rows(conn, params):
        tags[article_id].append(tag)
    images: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for article_id, url, width, height, cached, title, attribution in IMAGES.rows(conn, params):
        images[article_id].append({
            "url": url, "width": width, "height": height, "isCached": cached,
            "title": title, "attribution": attribution,
        })  # fmt: skip
    related: dict[int, int] = defaultdict(int)
    for article_id, count in RELATED_COUNTS.rows(conn, {**params, "hidden": hidden}):
        related[article_id] += count
    items: dict[int, dict[str, Any]] = {}
    for row in ITEMS.rows(conn, params):
        article_id = row[0]
        items[article_id] = {
            "id": format_id(article_id),
            "title": row[1],
            "excerpt": row[2],
            "category": row[3],
            "type": row[4],
            "published": bool(row[5]),
            "locale": row[6],
            "publishedDateTime": iso(row[7]),
            "updatedDateTime": iso(row[8]),
            "webUrl": row[9],
            "originalUrl": row[10],
            "ampWebUrl": row[11],
            "cdnAmpWebUrl": row[12],
            "quality": row[13],
            "heat": row[14],
            "provider": None if row[16] is None else {"name": row[15], "domain": row[16]},
            "topics": topics[article_id],
            "tags": tags[article_id],
            "images": images[article_id],
            "relatedCount": related[article_id],
            "stub": row[17] == STUB,
        }
    return items
