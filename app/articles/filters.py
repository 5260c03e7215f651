"""Listing parameters of §3.1 and their translation to SQL."""

import operator
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Select, bindparam, literal, select
from sqlalchemy.sql.elements import UnaryExpression
from sqlalchemy.sql.operators import custom_op

from app import search
from app.catalog import PROVIDERS, TOPICS
from app.ingest.urls import InvalidURL, article_id, canonical_url, check_url
from app.models import LISTED, STUB, UNPUBLISHED, Article, ArticleTag, ArticleTopic
from app.pagination import SortKey, fingerprint

FACET_NAMES = ("topic", "provider", "category", "tag", "type")
SORT_KEYS = ("publishedDateTime", "quality", "heat", "title", "relevance")
_COLUMNS = {"publishedDateTime": "published_at", "quality": "quality", "heat": "heat"}


class InvalidParam(ValueError):
    def __init__(self, param: str, message: str) -> None:
        super().__init__(message)
        self.param = param
        self.message = message


@dataclass
class ListParams:
    min_quality: int | None = None
    max_quality: int | None = None
    min_heat: int | None = None
    max_heat: int | None = None
    topics: list[str] = field(default_factory=list)
    providers: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    category: str | None = None
    type: str | None = None
    locale: str | None = None
    published_after: datetime | None = None
    published_before: datetime | None = None
    q: str | None = None
    url: str | None = None
    include_stubs: bool = False
    published: bool = True
    sort: list[tuple[str, bool]] = field(default_factory=lambda: [("publishedDateTime", True)])
    scope_topic: int | None = None
    scope_provider: int | None = None

    def validate(self) -> None:
        for low, high, name in (
            (self.min_quality, self.max_quality, "Quality"),
            (self.min_heat, self.max_heat, "Heat"),
        ):
            if low is not None and high is not None and low > high:
                raise InvalidParam(f"min{name}", f"min{name} must not be greater than max{name}")
        if self.url is not None:
            try:
                check_url(self.url)
            except InvalidURL as exc:
                raise InvalidParam("url", f"url {exc}") from None
        if any(key == "relevance" for key, _ in self.sort) and not self.q:
            raise InvalidParam("sort", "sort by relevance needs q")

    def fingerprint(self, authorized: bool) -> str:
        parts = [[k, v] for k, v in sorted(vars(self).items())]
        return fingerprint([*parts, authorized])


def parse_sort(value: str | None) -> list[tuple[str, bool]]:
    if value is None or not value.strip():
        return [("publishedDateTime", True)]
    keys: list[tuple[str, bool]] = []
    for raw in value.split(","):
        item = raw.strip()
        desc = item.startswith("-")
        name = item.removeprefix("-").removeprefix("+")
        if name not in SORT_KEYS:
            allowed = ", ".join(SORT_KEYS)
            raise InvalidParam("sort", f"unknown sort key {name!r}; use {allowed}, '-' to reverse")
        if any(name == seen for seen, _ in keys):
            raise InvalidParam("sort", f"sort key {name!r} is given twice")
        keys.append((name, desc))
    return keys


def states(params: ListParams, authorized: bool) -> list[int]:
    if not params.published:
        return [UNPUBLISHED] if authorized else []
    return [LISTED, STUB] if params.include_stubs else [LISTED]


@dataclass
class Plan:
    """A filtered statement plus the sort keys and id column to page it by.

    Every value the statement compares with is a named bind parameter, supplied by
    `values` at execution; `shape` is set when the statement is shared by every listing of
    the same shape (all but full-text searches), so its page statements can be kept too.
    """

    stmt: Select[Any]
    keys: list[SortKey]
    id_expr: Any
    empty: bool = False
    values: dict[str, Any] = field(default_factory=dict)
    shape: "Shape | None" = None


@dataclass(frozen=True)
class Shape:
    """Everything the text of a listing's SQL depends on; its values are bound separately."""

    dialect: str
    links: bool
    via_topic: bool
    needs_article: bool
    in_order: bool
    # How many states are allowed (0: nothing can match).
    states: int
    scope_members: bool
    # Ids in the topic filter's membership subquery: 0 none, 1 one, 2 several.
    topic_members: int
    # Names of the scalar filters given (see _CONDITIONS), in that order.
    filters: tuple[str, ...]
    providers: bool
    single_provider: bool
    tags: bool
    url: bool
    sort: tuple[tuple[str, bool], ...]


# (filter, column name on the article or its topic links, name the planner may not see it
# by or None, comparison)
_CONDITIONS = (
    ("min_quality", "quality", "quality", operator.ge),
    ("max_quality", "quality", "quality", operator.le),
    ("min_heat", "heat", "heat", operator.ge),
    ("max_heat", "heat", "heat", operator.le),
    ("published_after", "published_at", "published_at", operator.ge),
    ("published_before", "published_at", "published_at", operator.lt),
    ("category", "category", "category", operator.eq),
    ("type", "type", "type", operator.eq),
    ("locale", "locale", None, operator.eq),
    ("scope_provider", "provider_id", None, operator.eq),
)


def plan(
    params: ListParams, dialect: str, authorized: bool, session: Any, *, links: bool = False
) -> Plan:
    """The filtered SELECT of article ids for `params`, driven from the best index.

    With `links`, the SELECT is of article_topics rows instead: one per matching article
    and topic (the topic facet); it takes no search text. The statement depends only on
    the listing's Shape, so all but full-text searches share one built per shape: building
    it cost several times what SQLite needs to answer it.
    """
    allowed_states = states(params, authorized)
    topic_ids = TOPICS.ids(session, params.topics)
    provider_ids = PROVIDERS.ids(session, params.providers)
    if params.topics and not topic_ids or params.providers and not provider_ids:
        allowed_states = []
    single_topic = _single(params.scope_topic, topic_ids)
    via_topic = links or single_topic is not None and params.sort[0][0] in _COLUMNS and not params.q
    needs_article = any(
        value is not None and value != []
        for value in (params.category, params.type, params.locale, params.scope_provider,
                      params.providers, params.tags, params.url)
    ) or any(name == "title" for name, _ in params.sort)  # fmt: skip
    members = links or not via_topic
    # A topic filter beside the scope topic still has to hold.
    topic_filter = bool(params.topics) and (members or topic_ids != [single_topic])
    values: dict[str, Any] = {"p_states": allowed_states}
    if len(allowed_states) == 1:
        values["p_states"] = allowed_states[0]
    if via_topic and not links:
        values["p_topic"] = single_topic
    if members and params.scope_topic is not None:
        values["p_scope_topic"] = params.scope_topic
    if topic_filter:
        values["p_topic_ids"] = topic_ids[0] if len(topic_ids) == 1 else topic_ids
    given = tuple(name for name, *_ in _CONDITIONS if getattr(params, name) is not None)
    values.update((f"p_{name}", getattr(params, name)) for name in given)
    if params.providers:
        values["p_providers"] = provider_ids
    if params.tags:
        values["p_tags"] = params.tags
    if params.url is not None:
        values["p_url"] = article_id(canonical_url(params.url.strip()))
    shape = Shape(
        dialect=dialect, links=links, via_topic=via_topic, needs_article=needs_article,
        # SQLite picks the index of a range filter and then sorts every match; keeping
        # filter columns other than the sort key out of its reach (unary +, a no-op on any
        # value) makes it walk the sort index in order and stop after `limit` rows.
        in_order=dialect == "sqlite" and not (params.q or params.url or params.tags),
        states=min(len(allowed_states), 2),
        scope_members=members and params.scope_topic is not None,
        topic_members=min(len(topic_ids), 2) if topic_filter else 0, filters=given,
        providers=bool(params.providers),
        single_provider=params.scope_provider is not None or len(provider_ids) == 1,
        tags=bool(params.tags), url=params.url is not None, sort=tuple(params.sort),
    )  # fmt: skip
    if params.q:
        stmt, keys, id_expr = _build(shape, search.terms(params.q))
        return Plan(stmt, keys, id_expr, not allowed_states, values)
    stmt, keys, id_expr = shared_statement(shape)
    return Plan(stmt, keys, id_expr, not allowed_states, values, shape)


@lru_cache(maxsize=1024)
def shared_statement(shape: Shape) -> tuple[Select[Any], list[SortKey], Any]:
    """The statement, sort keys and id column of a shape (no search text), built once."""
    return _build(shape, None)


def _build(shape: Shape, terms: list[str] | None) -> tuple[Select[Any], list[SortKey], Any]:
    """The statement of a shape: reads nothing but the shape (and the search terms)."""
    sort_column = _COLUMNS.get(shape.sort[0][0])

    def filtered(column: Any, name: str | None) -> Any:
        if name is not None and shape.in_order and name != sort_column:
            return UnaryExpression(column, operator=custom_op("+"), type_=column.type)
        return column

    def bound(name: str, column: Any) -> Any:
        return bindparam(f"p_{name}", type_=column.type)

    if shape.via_topic:
        link = ArticleTopic
        stmt = select(link.article_id.label("id"))
        if not shape.links:  # walking one topic's rows: link.topic_id = p_topic
            stmt = stmt.where(link.topic_id == bound("topic", link.topic_id))
        cols: dict[str, Any] = {
            "published_at": link.published_at, "quality": link.quality, "heat": link.heat,
        }  # fmt: skip
        id_expr: Any = link.article_id
        state_col: Any = link.state
        if shape.needs_article:
            stmt = stmt.join(Article, Article.id == link.article_id)
    else:
        stmt = select(Article.id.label("id"))
        cols = {"published_at": Article.published_at, "quality": Article.quality,
                "heat": Article.heat}  # fmt: skip
        id_expr = Article.id
        state_col = Article.state
    if shape.scope_members:
        stmt = stmt.where(id_expr.in_(_topic_members("p_scope_topic", 1)))
    if shape.topic_members:
        stmt = stmt.where(id_expr.in_(_topic_members("p_topic_ids", shape.topic_members)))
    stmt = stmt.where(
        state_col == bound("states", state_col) if shape.states == 1
        else state_col.in_(bindparam("p_states", expanding=True))
    )  # fmt: skip
    clauses = []
    for name, column_name, hidden_as, compare in _CONDITIONS:
        if name in shape.filters:
            column = cols.get(column_name, getattr(Article, column_name))
            clauses.append(compare(filtered(column, hidden_as), bound(name, column)))
    # Added in one where(): each where() copies the statement.
    if clauses:
        stmt = stmt.where(*clauses)
    if shape.providers:
        column = Article.provider_id
        provider_column = column if shape.single_provider else filtered(column, "provider_id")
        stmt = stmt.where(provider_column.in_(bindparam("p_providers", expanding=True)))
    if shape.tags:
        tagged = select(ArticleTag.article_id).where(
            ArticleTag.tag.in_(bindparam("p_tags", expanding=True))
        )
        stmt = stmt.where(Article.id.in_(tagged))
    if shape.url:
        stmt = stmt.where(Article.id == bound("url", Article.id))
    relevance = None
    if terms:
        joined, condition, relevance = search.match(shape.dialect, terms)
        stmt = stmt.join(joined, condition) if joined is not None else stmt.where(condition)
    keys = []
    for name, desc in shape.sort:
        if name == "relevance":
            # "relevance" lists the best match first; "-relevance" reverses it.
            expr = relevance if relevance is not None else literal(0.0)
            keys.append(SortKey(name, expr, not desc, kind=float))
        elif name == "title":
            keys.append(SortKey(name, Article.title, desc))
        else:
            column = _COLUMNS[name]
            kind = datetime if column == "published_at" else int
            keys.append(SortKey(name, cols[column], desc, kind=kind))
    return stmt, keys, id_expr


def _single(scope: int | None, ids: list[int]) -> int | None:
    if scope is not None:
        return scope
    return ids[0] if len(ids) == 1 else None


def _topic_members(name: str, count: int) -> Select[Any]:
    topic = ArticleTopic.topic_id
    return select(ArticleTopic.article_id).where(
        topic == bindparam(name, type_=topic.type) if count == 1
        else topic.in_(bindparam(name, expanding=True))
    )  # fmt: skip
