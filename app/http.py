"""Shared HTTP pieces: problem documents, API-key auth, strict query strings, JSON bodies."""

import hmac
import inspect
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

import fastapi.routing
import orjson
from fastapi import Depends, HTTPException, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.responses import Response

from app.db import Database
from app.ingest.urls import parse_id


class JSON(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


class Problem(HTTPException):
    """An RFC 9457 problem; `errors` lists the offending fields or parameters."""

    def __init__(
        self,
        status: int,
        detail: str,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(status_code=status, detail=detail, headers=headers)
        self.errors = errors or []


def param_error(param: str, message: str) -> Problem:
    return Problem(422, message, [{"param": param, "message": message}])


def database(request: Request) -> Database:
    """The app's Database. A plain call, not a dependency: FastAPI resolving dependencies
    cost more per request than most of what they did."""
    db: Database = request.app.state.db
    return db


def authorized(request: Request) -> bool:
    """Whether the request carries a valid API key."""
    keys: list[bytes] = request.app.state.settings.api_key_bytes
    return valid_key(request.headers.get("authorization", ""), keys)


def valid_key(header: str, keys: list[bytes]) -> bool:
    """Check an Authorization header against the keys in constant time."""
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        return False
    candidate = token.strip().encode()
    # Compare against every key so timing does not reveal which one matched.
    matched = False
    for key in keys:
        matched |= hmac.compare_digest(candidate, key)
    return matched


# Declares the scheme in the OpenAPI document (the docs page's Authorize button);
# the check itself is `authorized`, which also accepts the key on reads.
bearer = HTTPBearer(auto_error=False, description="API key: `Authorization: Bearer <key>`")


async def require_key(
    request: Request, _: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> None:
    if not authorized(request):
        raise Problem(
            401,
            "a valid API key is required: send Authorization: Bearer <key>",
            headers={"WWW-Authenticate": 'Bearer realm="newsdesk"'},
        )


class CheckedRoute(APIRoute):
    """A route that refuses unknown query parameters and NUL characters before anything else.

    Checked around the handler rather than as app-wide dependencies, which FastAPI would
    resolve on every request for several times the cost of the checks themselves.

    An async endpoint that takes nothing but the request and text path parameters leaves
    FastAPI's request handler nothing to resolve, validate or serialise, so it is called
    directly: that handler's fixed work was 10-20 % of a detail or listing request over HTTP
    (1M articles: detail 1,877-2,217 -> 2,273-2,473 req/s, provider listings
    2,299-2,513 -> 2,868-2,903).
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        # Parameters a route validates itself are documented in its openapi_extra.
        extra = (self.openapi_extra or {}).get("parameters", [])
        allowed = _query_aliases(self.dependant) | {p["name"] for p in extra if p["in"] == "query"}
        direct = _direct_endpoint(self)

        async def checked(request: Request) -> Response:
            reject_unknown_params(request, allowed)
            reject_nul(request)
            if direct is not None:
                return await direct(request)
            return await handler(request)

        return checked


# FastAPI (0.163 here) builds the handler of an included route under this context, which
# holds the dependencies added at inclusion. Without it no endpoint is called directly:
# the route's own dependant might lack them.
_EFFECTIVE_ROUTE = getattr(fastapi.routing, "_effective_route_context_var", None)


def _direct_endpoint(route: APIRoute) -> Callable[[Request], Coroutine[Any, Any, Response]] | None:
    """The endpoint as a plain request handler, if FastAPI would have nothing to do for it.

    Judged on the dependant FastAPI serves the route with: one included with router-level
    dependencies is not plain, even though its own declaration is.
    """
    if _EFFECTIVE_ROUTE is None:
        return None
    context = _EFFECTIVE_ROUTE.get()
    own = context is not None and getattr(context, "original_route", None) is route
    dependant: Dependant = context.dependant if own else route.dependant  # type: ignore[union-attr]
    returns = inspect.signature(route.endpoint).return_annotation
    request_name = dependant.request_param_name
    endpoint = route.endpoint
    names = [param.name for param in dependant.path_params]
    if (
        request_name is None
        or not inspect.iscoroutinefunction(endpoint)
        or dependant.dependencies
        or dependant.query_params
        or dependant.header_params
        or dependant.cookie_params
        or dependant.body_params
        or route.body_field is not None
        or dependant.background_tasks_param_name
        or dependant.response_param_name
        or dependant.websocket_param_name
        or dependant.http_connection_param_name
        or dependant.security_scopes_param_name
        or not all(_plain_text(param) for param in dependant.path_params)
        or not (isinstance(returns, type) and issubclass(returns, Response))
    ):
        return None

    async def direct(request: Request) -> Response:
        # Only the endpoint's own: a prefix may hold path parameters it does not take.
        values = {name: request.path_params[name] for name in names}
        response: Response = await endpoint(**values, **{request_name: request})
        return response

    return direct


def _plain_text(param: Any) -> bool:
    """A `str` path parameter under its own name, with no constraint to validate."""
    info = param.field_info
    return info.annotation is str and not info.metadata and param.alias == param.name


def reject_unknown_params(request: Request, allowed: set[str]) -> None:
    """Unknown query parameters are errors, so typos never silently widen a query."""
    unknown = sorted(set(request.query_params) - allowed)
    if unknown:
        raise Problem(
            422,
            f"unknown query parameter{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}",
            [{"param": name, "message": "unknown query parameter"} for name in unknown],
        )


def reject_nul(request: Request) -> None:
    """PostgreSQL text cannot hold NUL and no id, key or filter contains one: refuse it early."""
    for name, value in [*request.path_params.items(), *request.query_params.multi_items()]:
        if "\x00" in value:
            raise param_error(name, f"{name} must not contain NUL characters")


def _query_aliases(dependant: Dependant) -> set[str]:
    names = {param.alias for param in dependant.query_params}
    for child in dependant.dependencies:
        names |= _query_aliases(child)
    return names


def article_pk(article_id: str) -> int:
    pk = parse_id(article_id)
    if pk is None:
        raise Problem(404, f"no article with id {article_id!r}")
    return pk
