"""A "typical FastAPI + ORM app" over a Newsdesk SQLite store: the benchmark's baseline.

What most teams would write first, idiomatically and without sabotage: SQLAlchemy ORM
models for the tables it needs, relationships loaded lazily on first access (so a page of
20 articles costs 1 + 20 x (provider, topics, tags, images) queries: the N+1 pattern),
Pydantic response models built from the ORM objects (``from_attributes``), OFFSET
pagination, and a plain ``def`` endpoint with a session per request.

    BASELINE_DATABASE=bench/out/articles-100000.db \\
        .venv/bin/python -m uvicorn baseline_app:create_app --factory --app-dir bench --port 8002

Endpoints:

- ``GET /articles?minQuality&maxQuality&minHeat&maxHeat&topic&provider&publishedAfter``
  ``&publishedBefore&sort&limit&offset``: listed (published, non-stub) articles with their
  provider, topics, tags and images; ``sort`` is one of ``heat``, ``quality``,
  ``publishedDateTime``, ``-`` for descending (default ``-publishedDateTime``), ties by id.
- ``GET /articles/{id}``: one article (16 hex digits, as in Newsdesk) with body and its
  outgoing related links.
- ``GET /healthz``.

It opens the database read-only; it never writes.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Query, Request
from pydantic import BaseModel, ConfigDict, Field, field_serializer
from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    SmallInteger,
    Text,
    create_engine,
    select,
)
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    Session,
    mapped_column,
    relationship,
    sessionmaker,
)

# --- ORM models (only the columns and tables this app needs) -------------------------


class Base(DeclarativeBase):
    pass


class Provider(Base):
    __tablename__ = "providers"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    domain: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(Text)


class Topic(Base):
    __tablename__ = "topics"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(Text)


class ArticleTopic(Base):
    __tablename__ = "article_topics"
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id"), primary_key=True)
    topic_id: Mapped[int] = mapped_column(ForeignKey("topics.id"), primary_key=True)
    position: Mapped[int] = mapped_column(SmallInteger)


class ArticleTag(Base):
    __tablename__ = "article_tags"
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id"), primary_key=True)
    position: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    tag: Mapped[str] = mapped_column(Text)


class ArticleImage(Base):
    __tablename__ = "article_images"
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id"), primary_key=True)
    position: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    is_cached: Mapped[bool | None] = mapped_column(Boolean)
    title: Mapped[str | None] = mapped_column(Text)
    attribution: Mapped[str | None] = mapped_column(Text)


class ArticleRelated(Base):
    __tablename__ = "article_related"
    source_id: Mapped[int] = mapped_column(ForeignKey("articles.id"), primary_key=True)
    position: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    target_id: Mapped[int] = mapped_column(ForeignKey("articles.id"))
    target: Mapped[Article] = relationship(foreign_keys=[target_id])


class Article(Base):
    __tablename__ = "articles"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    state: Mapped[int] = mapped_column(SmallInteger)
    title: Mapped[str | None] = mapped_column(Text)
    excerpt: Mapped[str | None] = mapped_column(Text)
    body: Mapped[str | None] = mapped_column(Text)
    category: Mapped[str | None] = mapped_column(Text)
    type: Mapped[str | None] = mapped_column(Text)
    locale: Mapped[str | None] = mapped_column(Text)
    published: Mapped[bool] = mapped_column(Boolean)
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

    provider: Mapped[Provider | None] = relationship()
    topics: Mapped[list[Topic]] = relationship(
        secondary="article_topics", order_by=ArticleTopic.position, viewonly=True
    )
    tag_rows: Mapped[list[ArticleTag]] = relationship(order_by=ArticleTag.position)
    images: Mapped[list[ArticleImage]] = relationship(order_by=ArticleImage.position)
    related: Mapped[list[ArticleRelated]] = relationship(
        foreign_keys=[ArticleRelated.source_id], order_by=ArticleRelated.position
    )

    @property
    def tags(self) -> list[str]:
        return [row.tag for row in self.tag_rows]

    @property
    def related_articles(self) -> list[Article]:
        return [link.target for link in self.related]


# --- Pydantic response models ---------------------------------------------------------


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True, populate_by_name=True)


class ProviderOut(Out):
    name: str
    domain: str


class TopicOut(Out):
    name: str
    slug: str


class ImageOut(Out):
    url: str
    width: int | None
    height: int | None
    is_cached: bool | None = Field(serialization_alias="isCached")
    title: str | None
    attribution: str | None


class ArticleOut(Out):
    id: int
    title: str | None
    excerpt: str | None
    category: str | None
    type: str | None
    locale: str | None
    published: bool
    published_at: datetime | None = Field(serialization_alias="publishedDateTime")
    updated_at: datetime | None = Field(serialization_alias="updatedDateTime")
    web_url: str | None = Field(serialization_alias="webUrl")
    original_url: str | None = Field(serialization_alias="originalUrl")
    amp_web_url: str | None = Field(serialization_alias="ampWebUrl")
    cdn_amp_web_url: str | None = Field(serialization_alias="cdnAmpWebUrl")
    quality: int | None
    heat: int | None
    provider: ProviderOut | None
    topics: list[TopicOut]
    tags: list[str]
    images: list[ImageOut]

    @field_serializer("id")
    def _hex_id(self, value: int) -> str:
        return f"{value:016x}"


class RelatedOut(Out):
    id: int
    title: str | None
    web_url: str | None = Field(serialization_alias="webUrl")
    published_at: datetime | None = Field(serialization_alias="publishedDateTime")

    @field_serializer("id")
    def _hex_id(self, value: int) -> str:
        return f"{value:016x}"


class ArticleDetailOut(ArticleOut):
    body: str | None
    secured: str | None
    related_articles: list[RelatedOut] = Field(serialization_alias="related")


class ArticlePage(BaseModel):
    items: list[ArticleOut]
    offset: int
    limit: int


# --- app ------------------------------------------------------------------------------


def get_db(request: Request) -> Iterator[Session]:
    """A session per request."""
    with request.app.state.sessions() as session:
        yield session


Db = Annotated[Session, Depends(get_db)]
SORTS = {
    "heat": Article.heat,
    "quality": Article.quality,
    "publishedDateTime": Article.published_at,
}


def create_app(database: str | None = None) -> FastAPI:
    path = database or os.environ["BASELINE_DATABASE"]
    engine = create_engine(
        f"sqlite:///file:{path}?mode=ro&uri=true", connect_args={"check_same_thread": False}
    )
    app = FastAPI(title="baseline")
    app.state.sessions = sessionmaker(engine)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/articles", response_model=ArticlePage, response_model_by_alias=True)
    def list_articles(
        db: Db,
        min_quality: Annotated[int | None, Query(alias="minQuality")] = None,
        max_quality: Annotated[int | None, Query(alias="maxQuality")] = None,
        min_heat: Annotated[int | None, Query(alias="minHeat")] = None,
        max_heat: Annotated[int | None, Query(alias="maxHeat")] = None,
        topic: str | None = None,
        provider: str | None = None,
        published_after: Annotated[datetime | None, Query(alias="publishedAfter")] = None,
        published_before: Annotated[datetime | None, Query(alias="publishedBefore")] = None,
        sort: str = "-publishedDateTime",
        limit: Annotated[int, Query(ge=1, le=100)] = 20,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> Any:
        query = select(Article).where(Article.state == 0)
        if min_quality is not None:
            query = query.where(Article.quality >= min_quality)
        if max_quality is not None:
            query = query.where(Article.quality <= max_quality)
        if min_heat is not None:
            query = query.where(Article.heat >= min_heat)
        if max_heat is not None:
            query = query.where(Article.heat <= max_heat)
        if published_after is not None:
            query = query.where(Article.published_at >= published_after)
        if published_before is not None:
            query = query.where(Article.published_at < published_before)
        if topic is not None:
            query = query.join(ArticleTopic, ArticleTopic.article_id == Article.id)
            query = query.join(Topic, Topic.id == ArticleTopic.topic_id).where(Topic.slug == topic)
        if provider is not None:
            query = query.join(Provider, Provider.id == Article.provider_id)
            query = query.where(Provider.domain == provider)
        key = sort.removeprefix("-")
        if key not in SORTS:
            raise HTTPException(422, f"unknown sort {sort!r}")
        column = SORTS[key]
        query = query.order_by(column.desc() if sort.startswith("-") else column.asc(), Article.id)
        articles = db.scalars(query.offset(offset).limit(limit)).all()
        return {"items": articles, "offset": offset, "limit": limit}

    @app.get(
        "/articles/{article_id}", response_model=ArticleDetailOut, response_model_by_alias=True
    )
    def get_article(article_id: str, db: Db) -> Any:
        try:
            pk = int(article_id, 16)
        except ValueError:
            raise HTTPException(404, "not found") from None
        article = db.get(Article, pk)
        if article is None or article.state == 1:
            raise HTTPException(404, "not found")
        return article

    return app
