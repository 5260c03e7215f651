"""Routes for /v1/articles: parse, call the service, map not-found to 404."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal
from urllib.parse import parse_qsl, quote, urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.responses import Response

from app.articles import service
from app.articles.filters import FACET_NAMES, InvalidParam, ListParams, parse_sort
from app.db import Database, Reading
from app.http import (
    JSON,
    CheckedRoute,
    Problem,
    article_pk,
    authorized,
    database,
    param_error,
    require_key,
)
from app.pagination import BadCursor
from app.schemas import PROBLEM, ArticleDetail, ArticlePage, RelatedPage

router = APIRouter(prefix="/v1/articles", tags=["articles"], route_class=CheckedRoute)
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


# Each value of a repeated filter becomes a bound parameter: a few hundred thousand would
# pass PostgreSQL's limit of 65,535 per statement and fail as a database error.
MAX_REPEATS = 100


class ListingQuery(BaseModel):
    """The query parameters of every article listing.

    Validated in one pydantic call: FastAPI's per-parameter path cost ~170 µs of a
    listing's ~1.4 ms. The same model documents them (LISTING_PARAMETERS).
    """

    model_config = ConfigDict(extra="ignore")

    min_quality: int | None = Field(None, alias="minQuality", ge=0, le=100)
    max_quality: int | None = Field(None, alias="maxQuality", ge=0, le=100)
    min_heat: int | None = Field(None, alias="minHeat", ge=0, le=2**63 - 1)
    max_heat: int | None = Field(None, alias="maxHeat", ge=0, le=2**63 - 1)
    topic: list[str] = Field(
        [], max_length=MAX_REPEATS, description="topic slug; repeat for any of (up to 100)"
    )
    provider: list[str] = Field(
        [], max_length=MAX_REPEATS, description="provider domain; repeat for any of (up to 100)"
    )
    tag: list[str] = Field(
        [], max_length=MAX_REPEATS, description="tag; repeat for any of (up to 100)"
    )
    category: str | None = None
    type: str | None = None
    locale: str | None = None
    published_after: str | None = Field(
        None, alias="publishedAfter", description="ISO 8601 date or datetime, inclusive"
    )
    published_before: str | None = Field(
        None, alias="publishedBefore", description="ISO 8601 date or datetime, exclusive"
    )
    # No length limit: any text is a valid query, and only its first words are searched.
    q: str | None = Field(None, description="full-text search")
    url: str | None = Field(None, max_length=4096, description="exact canonical URL")
    include_stubs: bool = Field(False, alias="includeStubs")
    published: bool = True
    sort: str | None = Field(
        None,
        description="comma-separated keys of publishedDateTime, quality, heat, title, "
        "relevance; '-' for descending",
        examples=["-heat,title"],
    )
    limit: int = Field(20, ge=1, le=100, description="page size, 1–100")
    cursor: str | None = Field(None, description="`nextCursor` of the previous page")
    count: bool = False
    facets: str | None = Field(
        None, description="comma-separated of topic, provider, category, tag, type"
    )


def _parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    """OpenAPI query parameters for the fields of `model`, as FastAPI would write them."""
    properties = model.model_json_schema(by_alias=True)["properties"]
    parameters = []
    for name, schema in properties.items():
        parameter = {"name": name, "in": "query", "required": False, "schema": schema}
        if "description" in schema:
            parameter["description"] = schema["description"]
        parameters.append(parameter)
    return parameters


LISTING_PARAMETERS = _parameters(ListingQuery)
_REPEATABLE = frozenset(
    name for name, field in ListingQuery.model_fields.items() if field.annotation == list[str]
)


async def listing(request: Request) -> Listing:
    query = request.query_params
    values = {k: query.getlist(k) if k in _REPEATABLE else query[k] for k in query}
    try:
        given = ListingQuery.model_validate(values)
    except ValidationError as exc:
        raise RequestValidationError(
            [{**error, "loc": ("query", *error["loc"])} for error in exc.errors()]
        ) from None
    try:
        params = ListParams(
            min_quality=given.min_quality, max_quality=given.max_quality,
            min_heat=given.min_heat, max_heat=given.max_heat, topics=given.topic,
            providers=[_domain(p) for p in given.provider], tags=given.tag,
            category=given.category, type=given.type, locale=given.locale,
            published_after=_moment(given.published_after, "publishedAfter"),
            published_before=_moment(given.published_before, "publishedBefore"),
            q=given.q, url=given.url, include_stubs=given.include_stubs,
            published=given.published, sort=parse_sort(given.sort),
        )  # fmt: skip
        params.validate()
    except InvalidParam as exc:
        raise param_error(exc.param, exc.message) from None
    facet_names = [f.strip() for f in (given.facets or "").split(",") if f.strip()]
    unknown = [f for f in facet_names if f not in FACET_NAMES]
    if unknown:
        raise param_error("facets", f"unknown facet {unknown[0]!r}; use {', '.join(FACET_NAMES)}")
    return Listing(params, given.limit, given.cursor, given.count,
                   list(dict.fromkeys(facet_names)), authorized(request))  # fmt: skip


async def run_listing(
    db: Database,
    listing: Listing,
    request: Request,
    scope: Callable[[Reading, ListParams], None] | None = None,
) -> Response:
    """Shared by /v1/articles and the provider- and topic-scoped listings.

    `scope` narrows the parameters inside the same read, so a scoped listing costs one
    snapshot, not a lookup transaction and then the listing's own.
    """

    def work(*, session: Reading) -> dict[str, Any]:
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
        headers["Link"] = f'<{next_page_url(request, str(page["nextCursor"]))}>; rel="next"'
    return JSON(page, headers=headers)


# What a URL holds as it is: RFC 3986's reserved and unreserved characters, and '%'.
_URL_SAFE = ":/?#[]@!$&'()*+,;=-._~%"


def next_page_url(request: Request, cursor: str) -> str:
    """The request's URL with `cursor` in place of any it had, moved last.

    Starlette's `URL.include_query_params` re-parses the whole URL (20-33 us here; this
    takes 15-17, percent-encoding included), and keeps the decoded path as it is:
    a key that matched after its surrounding whitespace was stripped (`%0D%0A`, `%1F`,
    `%E2%80%A8`) put control or non-Latin-1 characters in the header, which the server
    refused to send or could not encode. Such characters are percent-encoded instead.
    """
    base, _, query = str(request.url).partition("?")
    pairs = [(k, v) for k, v in parse_qsl(query, keep_blank_values=True) if k != "cursor"]
    pairs.append(("cursor", cursor))
    return f"{quote(base, safe=_URL_SAFE)}?{urlencode(pairs)}"


@router.get(
    "",
    response_model=ArticlePage,
    responses={422: PROBLEM, 400: PROBLEM},
    openapi_extra={"parameters": LISTING_PARAMETERS},
)
async def list_articles(request: Request) -> Response:
    """List articles with filters, sort, keyset pagination, counts and facets."""
    return await run_listing(database(request), await listing(request), request)


@router.get("/{article_id}", response_model=ArticleDetail, responses={404: PROBLEM})
async def get_article(article_id: str, request: Request) -> Response:
    """One article with body, related stories, secured and extra fields."""
    article = await database(request).read_with(
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
    min_quality: Annotated[int | None, Query(alias="minQuality", ge=0, le=100)] = None,
    min_heat: Annotated[int | None, Query(alias="minHeat", ge=0, le=2**63 - 1)] = None,
    direction: Literal["both", "outgoing", "incoming"] = "both",
    limit: Limit = 20,
    cursor: Cursor = None,
) -> Response:
    """Related stories: outgoing in file order, then incoming newest first."""
    pk = article_pk(article_id)
    is_authorized = authorized(request)

    def related(*, session: Reading) -> dict[str, Any] | None:
        if not service.visible_article(session, pk, is_authorized):
            return None
        return service.list_related(
            session=session, article_id=pk, authorized=is_authorized, limit=limit,
            direction=direction, min_quality=min_quality, min_heat=min_heat, cursor=cursor,
        )  # fmt: skip

    try:
        page = await database(request).read_with(related)
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
async def get_source(article_id: str, request: Request) -> Response:
    """The document exactly as last ingested."""
    content = await database(request).read_with(
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
def delete_article(article_id: str, request: Request) -> Response:
    """Remove an article (API key)."""
    pk = article_pk(article_id)
    with database(request).write() as session:
        found = service.delete_article(session=session, article_id=pk)
    if not found:
        raise Problem(404, f"no article with id {article_id!r}")
    return Response(status_code=204)
