"""Routes for /v1/providers and /v1/topics, and their scoped article listings."""

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from app import catalog
from app.articles.filters import ListParams
from app.articles.router import (
    LISTING_PARAMETERS,
    Cursor,
    Limit,
    listing,
    paged,
    run_listing,
)
from app.db import Reading
from app.http import JSON, CheckedRoute, Problem, database
from app.pagination import BadCursor
from app.schemas import PROBLEM, ArticlePage, Provider, ProviderPage, Topic, TopicPage

Sort = Literal["name", "-name", "articleCount", "-articleCount"]


def _routes(prefix: str, noun: str, entry: catalog.Catalog, item: type, page: type) -> APIRouter:
    """`{key}` is the provider's domain or the topic's slug."""
    router = APIRouter(prefix=prefix, tags=[noun + "s"], route_class=CheckedRoute)

    def normalise(value: str) -> str:
        value = value.strip().lower()
        return value.removeprefix("www.") if noun == "provider" else value

    @router.get("", response_model=page, responses={400: PROBLEM, 422: PROBLEM})
    async def list_entries(
        request: Request,
        q: Annotated[
            str | None, Query(max_length=200, description="substring of name or key")
        ] = None,
        sort: Sort = "-articleCount",
        limit: Limit = 20,
        cursor: Cursor = None,
    ) -> Response:
        try:
            result = await database(request).read_with(
                catalog.list_entries, catalog=entry, q=q, sort=sort, limit=limit, cursor=cursor
            )
        except BadCursor as exc:
            raise Problem(400, str(exc), [{"param": "cursor", "message": str(exc)}]) from None
        return paged(result, request)

    @router.get("/{key}", response_model=item, responses={404: PROBLEM})
    async def get_entry(key: str, request: Request) -> Response:
        found = await database(request).read_with(
            catalog.get_entry, catalog=entry, key=normalise(key)
        )
        if found is None:
            raise Problem(404, f"no {noun} {key!r}")
        return JSON(found)

    @router.get(
        "/{key}/articles",
        response_model=ArticlePage,
        responses={400: PROBLEM, 404: PROBLEM, 422: PROBLEM},
        openapi_extra={"parameters": LISTING_PARAMETERS},
    )
    async def list_articles(key: str, request: Request) -> Response:
        def scope(session: Reading, params: ListParams) -> None:
            owner = catalog.entry_id(session=session, catalog=entry, key=normalise(key))
            if owner is None:
                raise Problem(404, f"no {noun} {key!r}")
            if noun == "topic":
                params.scope_topic = owner
            else:
                params.scope_provider = owner

        return await run_listing(database(request), await listing(request), request, scope)

    for route, summary in zip(router.routes, (
        f"List {noun}s with article counts",
        f"One {noun}",
        f"Articles of one {noun}, with the parameters of /v1/articles",
    ), strict=True):  # fmt: skip
        route.summary = summary  # type: ignore[attr-defined]
    return router


providers = _routes("/v1/providers", "provider", catalog.PROVIDERS, Provider, ProviderPage)
topics = _routes("/v1/topics", "topic", catalog.TOPICS, Topic, TopicPage)
