"""Relational schema. Alembic migrations are generated from (and checked against) these."""

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    column,
    desc,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite's INTEGER PRIMARY KEY is the rowid, which FTS5 uses; PostgreSQL needs 64 bits.
ArticleId = BigInteger().with_variant(Integer(), "sqlite")
# Byte-order collation on PostgreSQL so text sorts the same as on SQLite.
SortText = Text().with_variant(Text(collation="C"), "postgresql")
JsonValue = JSON().with_variant(JSON(none_as_null=True), "postgresql")

# Article.state: one small column instead of two flags, so every listing
# index starts with an equality and walks the sort key in order.
LISTED, UNPUBLISHED, STUB = 0, 1, 2


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class DataVersion(Base):
    """One row, bumped by every write transaction: drives ETags and the response cache."""

    __tablename__ = "data_version"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger, default=0)


class Provider(Base):
    __tablename__ = "providers"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    domain: Mapped[str] = mapped_column(SortText, unique=True)
    name: Mapped[str] = mapped_column(SortText)


class Topic(Base):
    __tablename__ = "topics"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(SortText, unique=True)
    name: Mapped[str] = mapped_column(SortText)


SCORES = ("heat", "quality", "published_at")


def _sort_indexes(prefix: str, table: str, *lead: str) -> list[Index]:
    """Ascending and descending keyset indexes, id after the sort key, for each sort key.

    The other filter columns follow the id, so that a listing filtered on them, and its
    count, are answered from the index alone: article rows (bodies included) are read only
    for the page's items.
    """
    keys = [*SCORES, *(["title"] if not lead else [])]
    id_col = "id" if table == "articles" else "article_id"
    covered = [*SCORES, *(["provider_id"] if table == "articles" and not lead else [])]
    indexes = []
    for key in keys:
        cols: list[Any] = [column(c) for c in (*lead, "state")]
        rest: list[Any] = [column(c) for c in covered if c != key]
        indexes.append(Index(f"ix_{prefix}_{key}", *cols, column(key), column(id_col), *rest))
        indexes.append(
            Index(f"ix_{prefix}_{key}_desc", *cols, desc(column(key)), column(id_col), *rest)
        )
    return indexes


_ARTICLE_SORT = [
    *_sort_indexes("articles", "articles"),
    *_sort_indexes("articles_provider", "articles", "provider_id"),
]
_TOPIC_SORT = _sort_indexes("article_topics_topic", "article_topics", "topic_id")
# SQLite stores an article's child rows in primary-key order, next to each other: reading
# them by article id is one walk of one B-tree instead of an index and then the table.
CLUSTERED = {"sqlite_with_rowid": False}
# Only listings read these, so a bulk load may build them once at its end (app/ingest/bulk.py).
# A migration that changes one must expect it missing: a load may be running, or killed.
SORT_INDEXES = (*_ARTICLE_SORT, *_TOPIC_SORT)


class Article(Base):
    __tablename__ = "articles"
    id: Mapped[int] = mapped_column(ArticleId, primary_key=True, autoincrement=False)
    url: Mapped[str] = mapped_column(Text)
    state: Mapped[int] = mapped_column(SmallInteger, default=LISTED)
    title: Mapped[str | None] = mapped_column(SortText)
    excerpt: Mapped[str | None] = mapped_column(Text)
    body: Mapped[str | None] = mapped_column(Text)
    category: Mapped[str | None] = mapped_column(Text, index=True)
    type: Mapped[str | None] = mapped_column(Text, index=True)
    locale: Mapped[str | None] = mapped_column(Text)
    published: Mapped[bool] = mapped_column(Boolean, default=True)
    published_at: Mapped[datetime | None] = mapped_column(DateTime)
    updated_at: Mapped[datetime | None] = mapped_column(DateTime)
    web_url: Mapped[str | None] = mapped_column(Text)
    original_url: Mapped[str | None] = mapped_column(Text)
    amp_web_url: Mapped[str | None] = mapped_column(Text)
    cdn_amp_web_url: Mapped[str | None] = mapped_column(Text)
    quality: Mapped[int | None] = mapped_column(Integer)
    heat: Mapped[int | None] = mapped_column(BigInteger)
    provider_id: Mapped[int | None] = mapped_column(ForeignKey("providers.id"))
    secured: Mapped[str | None] = mapped_column(Text)
    extra: Mapped[dict[str, Any] | None] = mapped_column(JsonValue)
    source_sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    ingested_at: Mapped[datetime] = mapped_column(DateTime)

    __table_args__ = tuple(_ARTICLE_SORT)


class ArticleTopic(Base):
    """Article–topic link carrying copies of the article's sort keys (see DESIGN-NOTES)."""

    __tablename__ = "article_topics"
    article_id: Mapped[int] = mapped_column(
        ArticleId, ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True
    )
    topic_id: Mapped[int] = mapped_column(ForeignKey("topics.id"), primary_key=True)
    position: Mapped[int] = mapped_column(SmallInteger)
    state: Mapped[int] = mapped_column(SmallInteger)
    heat: Mapped[int | None] = mapped_column(BigInteger)
    quality: Mapped[int | None] = mapped_column(Integer)
    published_at: Mapped[datetime | None] = mapped_column(DateTime)

    __table_args__ = (*_TOPIC_SORT, CLUSTERED)


class ArticleTag(Base):
    __tablename__ = "article_tags"
    article_id: Mapped[int] = mapped_column(
        ArticleId, ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    tag: Mapped[str] = mapped_column(SortText, index=True)

    __table_args__ = (CLUSTERED,)


class ArticleImage(Base):
    __tablename__ = "article_images"
    article_id: Mapped[int] = mapped_column(
        ArticleId, ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    is_cached: Mapped[bool | None] = mapped_column(Boolean)
    title: Mapped[str | None] = mapped_column(Text)
    attribution: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (CLUSTERED,)


class ArticleRelated(Base):
    """An outgoing related link, in the order the source document lists it."""

    __tablename__ = "article_related"
    source_id: Mapped[int] = mapped_column(
        ArticleId, ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    target_id: Mapped[int] = mapped_column(
        ArticleId, ForeignKey("articles.id", ondelete="CASCADE"), index=True
    )
    __table_args__ = (UniqueConstraint("source_id", "target_id"), CLUSTERED)


class ArticleSource(Base):
    """The exact bytes of the document an article was last ingested from."""

    __tablename__ = "article_sources"
    article_id: Mapped[int] = mapped_column(
        ArticleId, ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(Text)
    content: Mapped[bytes] = mapped_column(LargeBinary)


class Upload(Base):
    """An upload's own row; its per-document results are UploadResult rows.

    The row is written before the first batch, so that results can reference it while the
    upload runs: `finished_at`, `status_code` and the counts stay NULL until every document
    is done, and an unfinished upload has no report yet.
    """

    __tablename__ = "uploads"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    # NULL for uploads made before the flag was recorded.
    atomic: Mapped[bool | None] = mapped_column(Boolean)
    status_code: Mapped[int | None] = mapped_column(SmallInteger)
    created: Mapped[int | None] = mapped_column(Integer)
    updated: Mapped[int | None] = mapped_column(Integer)
    unchanged: Mapped[int | None] = mapped_column(Integer)
    rejected: Mapped[int | None] = mapped_column(Integer)


class UploadResult(Base):
    """One document's result, at its place in the upload's report (`position` from 0).

    Kept as reported: `article_id` is the API's id and not a foreign key, since the report
    outlives a deleted article.
    """

    __tablename__ = "upload_results"
    upload_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("uploads.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(9))
    article_id: Mapped[str | None] = mapped_column(String(16))
    web_url: Mapped[str | None] = mapped_column(Text)
    errors: Mapped[list[dict[str, Any]]] = mapped_column(JsonValue)
