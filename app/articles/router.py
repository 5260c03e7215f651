"""Routes for /v1/articles: parse, call the service, map not-found to 404."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from app.articles import service
from app.articles.filters import FACET_NAMES, InvalidParam, ListParams, parse_sort
from app.db import Database
from app.http import JSON, Problem, article_pk, authorized, database, param_error, require_key
from app.pagination import BadCursor
from app.schemas import PROBLEM, ArticleDetail, ArticlePage, RelatedPage

router = APIRouter(prefix="/v1/articles", tags=["articles"])
Limit = Annotated[int, Query(ge=1, le=100, description="page size, 1–100")]
Cursor = Annotated[str | None, Query(description="`nextCursor` of the previous page")]


def _moment(value: str | None, param: str) -> datetime | None:
    if value is None:
        return None
    try:
        if len(value) == 10:
            parsed = datetime.combine(date.fromisoformat(value), datetime.min.time())
        else:
            parsed = datetime.fromisoformat(value)
    except ValueError:
        raise param_error(param, f"{param} must be an ISO 8601 date or datetime") from None
    if parsed.tzinfo is not None:
        try:
            parsed = parsed.astimezone(UTC).replace(tzinfo=None)
        except OverflowError:
            raise param_error(param, f"{param} is out of range") from None
    return parsed


def _domain(value: str) -> str:
    """Providers are keyed by lowercase domain without `www.`, as /v1/providers/{domain}."""
    return value.strip().lower().removeprefix("www.")


@dataclass
class Listing:
    params: ListParams
    limit: int
    cursor: str | None
    count: bool
    facets: list[str]
    authorized: bool


async def listing(
    request: Request,
    min_quality: Annotated[int | None, Query(alias="minQuality", ge=0, le=100)] = None,
    max_quality: Annotated[int | None, Query(alias="maxQuality", ge=0, le=100)] = None,
    min_heat: Annotated[int | None, Query(alias="minHeat", ge=0, le=2**63 - 1)] = None,
    max_heat: Annotated[int | None, Query(alias="maxHeat", ge=0, le=2**63 - 1)] = None,
    topic: Annotated[list[str], Query(description="topic slug; repeat for any of")] = [],  # noqa: B006
    provider: Annotated[list[str], Query(description="provider domain; repeat for any of")] = [],  # noqa: B006
    tag: Annotated[list[str], Query(description="tag; repeat for any of")] = [],  # noqa: B006
    category: str | None = None,
    type: Annotated[str | None, Query()] = None,  # noqa: A002
    locale: str | None = None,
    published_after: Annotated[
        str | None,
        Query(alias="publishedAfter", description="ISO 8601 date or datetime, inclusive"),
    ] = None,
    published_before: Annotated[
        str | None,
        Query(alias="publishedBefore", description="ISO 8601 date or datetime, exclusive"),
    ] = None,
    # No length limit: any text is a valid query, and only its first words are searched.
    q: Annotated[str | None, Query(description="full-text search")] = None,
    url: Annotated[str | None, Query(max_length=4096, description="exact canonical URL")] = None,
    include_stubs: Annotated[bool, Query(alias="includeStubs")] = False,
    published: bool = True,
    sort: Annotated[
        str | None,
        Query(
            description="comma-separated keys of publishedDateTime, quality, heat, title, "
            "relevance; '-' for descending",
            examples=["-heat,title"],
        ),
    ] = None,
    limit: Limit = 20,
    cursor: Cursor = None,
    count: bool = False,
    facets: Annotated[
        str | None, Query(description="comma-separated of topic, provider, category, tag, type")
    ] = None,
) -> Listing:
    try:
        params = ListParams(
            min_quality=min_quality, max_quality=max_quality, min_heat=min_heat,
            max_heat=max_heat, topics=topic, providers=[_domain(p) for p in provider], tags=tag,
            category=category, type=type, locale=locale,
            published_after=_moment(published_after, "publishedAfter"),
            published_before=_moment(published_before, "publishedBefore"),
            q=q, url=url, include_stubs=include_stubs, published=published,
            sort=parse_sort(sort),
        )  # fmt: skip
        params.validate()
    except InvalidParam as exc:
        raise param_error(exc.param, exc.message) from None
    facet_names = [f.strip() for f in (facets or "").split(",") if f.strip()]
    unknown = [f for f in facet_names if f not in FACET_NAMES]
    if unknown:
        raise param_error("facets", f"unknown facet {unknown[0]!r}; use {', '.join(FACET_NAMES)}")
    return Listing(params, limit, cursor, count, list(dict.fromkeys(facet_names)),
                   authorized(request))  # fmt: skip


async def run_listing(
    db: Database,
    listing: Listing,
    request: Request,
    scope: Callable[[Session, ListParams], None] | None = None,
) -> Response:
    """Shared by /v1/articles and the provider- and topic-scoped listings.

    `scope` narrows the parameters inside the same read, so a scoped listing costs one
    snapshot, not a lookup transaction and then the listing's own.
    """

    def work(*, session: Session) -> dict[str, Any]:
        if scope is not None:
            scope(session, listing.params)
        return service.list_articles(
            session=session, params=listing.params, limit=listing.limit,
            cursor=listing.cursor, count=listing.count, facets=listing.facets,
            authorized=listing.authorized,
        )  # fmt: skip

    try:
        page = await db.read_with(work)
    except BadCursor as exc:
        raise Problem(400, str(exc), [{"param": "cursor", "message": str(exc)}]) from None
    return paged(page, request)


def paged(page: dict[str, object], request: Request) -> Response:
    headers = {}
    if page["nextCursor"]:
        next_url = request.url.include_query_params(cursor=page["nextCursor"])
        headers["Link"] = f'<{next_url}>; rel="next"'
    return JSON(page, headers=headers)


@router.get("", response_model=ArticlePage, responses={422: PROBLEM, 400: PROBLEM})
async def list_articles(
    request: Request,
    listing: Annotated[Listing, Depends(listing)],
    db: Annotated[Database, Depends(database)],
) -> Response:
    """List articles with filters, sort, keyset pagination, counts and facets."""
    return await run_listing(db, listing, request)


@router.get("/{article_id}", response_model=ArticleDetail, responses={404: PROBLEM})
async def get_article(
    article_id: str, request: Request, db: Annotated[Database, Depends(database)]
) -> Response:
    """One article with body, related stories, secured and extra fields."""
    article = await db.read_with(
        service.get_article, article_id=article_pk(article_id), authorized=authorized(request)
    )
    if article is None:
        raise Problem(404, f"no article with id {article_id!r}")
    return JSON(article)


@router.get(
    "/{article_id}/related", response_model=RelatedPage, responses={404: PROBLEM, 400: PROBLEM}
)
async def get_related(
    article_id: str,
    request: Request,
    db: Annotated[Database, Depends(database)],
    min_quality: Annotated[int | None, Query(alias="minQuality", ge=0, le=100)] = None,
    min_heat: Annotated[int | None, Query(alias="minHeat", ge=0, le=2**63 - 1)] = None,
    direction: Literal["both", "outgoing", "incoming"] = "both",
    limit: Limit = 20,
    cursor: Cursor = None,
) -> Response:
    """Related stories: outgoing in file order, then incoming newest first."""
    pk = article_pk(article_id)
    is_authorized = authorized(request)

    def related(*, session: Session) -> dict[str, Any] | None:
        if not service.visible_article(session, pk, is_authorized):
            return None
        return service.list_related(
            session=session, article_id=pk, authorized=is_authorized, limit=limit,
            direction=direction, min_quality=min_quality, min_heat=min_heat, cursor=cursor,
        )  # fmt: skip

    try:
        page = await db.read_with(related)
    except BadCursor as exc:
        raise Problem(400, str(exc), [{"param": "cursor", "message": str(exc)}]) from None
    if page is None:
        raise Problem(404, f"no article with id {article_id!r}")
    return paged(page, request)


@router.get(
    "/{article_id}/source",
    response_class=Response,
    responses={
        200: {"content": {"text/markdown": {"schema": {"type": "string"}}}},
        404: PROBLEM,
    },
)
async def get_source(
    article_id: str, request: Request, db: Annotated[Database, Depends(database)]
) -> Response:
    """The document exactly as last ingested."""
    content = await db.read_with(
        service.get_source, article_id=article_pk(article_id), authorized=authorized(request)
    )
    if content is None:
        raise Problem(404, f"no source for article {article_id!r}")
    return Response(content, media_type="text/markdown; charset=utf-8")


@router.delete(
    "/{article_id}",
    status_code=204,
    response_class=Response,
    dependencies=[Depends(require_key)],
    responses={401: PROBLEM, 404: PROBLEM},
)
def delete_article(article_id: str, db: Annotated[Database, Depends(database)]) -> Response:
    """Remove an article (API key)."""
    pk = article_pk(article_id)
    with db.write() as session:
        found = service.delete_article(session=session, article_id=pk)
    if not found:
        raise Problem(404, f"no article with id {article_id!r}")
    return Response(status_code=204)
