"""The FastAPI application: routers, middleware, problem documents, health and docs."""

import importlib.util
import time
from collections.abc import Mapping
from http import HTTPStatus
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.staticfiles import StaticFiles
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import HTMLResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from app import __version__
from app.articles.router import router as articles_router
from app.catalog_router import providers, topics
from app.config import MiB, Settings
from app.db import Database
from app.http import JSON, CheckedRoute, Problem, valid_key
from app.middleware import (
    GZIP_LEVEL,
    GZIP_MINIMUM,
    BodyLimit,
    BodyTooLarge,
    Cache,
    HeadAsGet,
    SecurityHeaders,
)
from app.migrate import at_head
from app.ratelimit import RateLimiter
from app.schemas import ProblemOut
from app.uploads.router import router as uploads_router

DESCRIPTION = """
Article metadata ingested from front-matter documents: articles, providers, topics and
related stories, filtered by quality and heat, with keyset pagination, facets and HTTP caching.

Writes (`POST /v1/uploads`, `DELETE /v1/articles/{id}`) and reads of unpublished articles need
an API key: `Authorization: Bearer <key>`. Errors are RFC 9457 problem documents.
"""


def _swagger_static() -> Path:
    spec = importlib.util.find_spec("swagger_ui")
    assert spec is not None and spec.submodule_search_locations
    return Path(spec.submodule_search_locations[0]) / "static"


def create_app(settings: Settings | None = None, db: Database | None = None) -> FastAPI:
    """Build the application over a database (migrated beforehand)."""
    settings = settings or Settings()
    db = db or Database(settings.database_url, item_cache_bytes=settings.item_cache_mib * MiB)
    app = FastAPI(
        title="Newsdesk",
        version=__version__,
        description=DESCRIPTION,
        docs_url=None,
        redoc_url=None,
        responses={422: {"model": ProblemOut}},
    )
    app.router.route_class = CheckedRoute
    app.state.settings = settings
    app.state.db = db
    app.state.write_limiter = (
        RateLimiter(settings.write_rate_limit) if settings.write_rate_limit else None
    )
    for router in (articles_router, providers, topics, uploads_router):
        app.include_router(router)
    _add_operational_routes(app, db)
    _add_error_handlers(app)
    _add_metrics(app)
    _document_problems(app)

    app.add_middleware(
        Cache,
        db=db,
        is_authorized=lambda headers: valid_key(
            headers.get("authorization", ""), settings.api_key_bytes
        ),
        max_age=settings.cache_max_age,
        entries=settings.response_cache_entries,
    )
    app.add_middleware(GZipMiddleware, minimum_size=GZIP_MINIMUM, compresslevel=GZIP_LEVEL)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_origins,
        allow_methods=["GET", "POST", "DELETE", "OPTIONS"],
        allow_headers=["Authorization", "Content-Type", "If-None-Match"],
        expose_headers=["ETag", "Link", "Location", "Retry-After"],
        max_age=600,
    )
    app.add_middleware(_BodyLimitWithProblem, limit=settings.max_request_bytes)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(HeadAsGet)
    return app


class _BodyLimitWithProblem:
    """BodyLimit, answering 413 as a problem document."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.inner = BodyLimit(app, limit)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = False

        async def tracking(message: Any) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.inner(scope, receive, tracking)
        except BodyTooLarge as exc:
            if started:
                raise
            response = _problem(413, str(exc))
            await response(scope, receive, send)


def _problem(status: int, detail: str, errors: list[dict[str, Any]] | None = None,
             headers: Mapping[str, str] | None = None) -> Response:  # fmt: skip
    body = {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "errors": errors or [],
    }
    response = JSON(body, status_code=status, headers=headers)
    # Clients guess the charset of JSON types they do not know unless it is stated.
    response.headers["content-type"] = "application/problem+json; charset=utf-8"
    return response


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def problem(_: Request, exc: Problem) -> Response:
        return _problem(exc.status_code, str(exc.detail), exc.errors, exc.headers)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        detail = exc.detail
        headers = getattr(exc, "headers", None)
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"no such path: {request.url.path}"
        elif exc.status_code == 405:
            detail = f"method {request.method} is not allowed on {request.url.path}"
            if headers and "GET" in headers.get("Allow", "").split(", "):
                headers = {**headers, "Allow": f"{headers['Allow']}, HEAD"}  # see HeadAsGet
        return _problem(exc.status_code, str(detail), headers=headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> Response:
        errors = []
        for error in exc.errors():
            location = [str(part) for part in error.get("loc", ())]
            kind = "param" if location and location[0] in ("query", "path") else "field"
            errors.append({kind: ".".join(location[1:]) or location[0], "message": error["msg"]})
        detail = "; ".join(f"{next(iter(e.values()))}: {e['message']}" for e in errors)
        return _problem(422, detail or "invalid request", errors)

    @app.exception_handler(BodyTooLarge)
    async def too_large(_: Request, exc: BodyTooLarge) -> Response:
        return _problem(413, str(exc))

    @app.exception_handler(OperationalError)
    async def unavailable(_: Request, exc: OperationalError) -> Response:
        return _problem(503, "the database is unavailable", headers={"Retry-After": "5"})

    @app.exception_handler(Exception)
    async def crashed(_: Request, exc: Exception) -> Response:
        return _problem(500, "internal error")


def _document_problems(app: FastAPI) -> None:
    """Errors are problem documents; FastAPI files every response model under application/json."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build()
        problem = {"schema": {"$ref": "#/components/schemas/ProblemOut"}}
        for item in schema["paths"].values():
            for operation in item.values():
                for status, response in operation["responses"].items():
                    if status[0] not in "45":
                        continue
                    content = response.setdefault("content", {})
                    if content.get("application/json") == problem:
                        del content["application/json"]
                    content["application/problem+json"] = problem
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def _add_operational_routes(app: FastAPI, db: Database) -> None:
    static = _swagger_static()
    app.mount("/docs/assets", StaticFiles(directory=static), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return HTMLResponse(DOCS_PAGE)

    @app.get("/docs/init.js", include_in_schema=False)
    def docs_init() -> Response:
        return Response(DOCS_INIT, media_type="text/javascript; charset=utf-8")

    @app.get("/healthz", tags=["operations"], summary="Liveness")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get(
        "/readyz",
        tags=["operations"],
        summary="Readiness: database reachable and schema at head",
        responses={503: {"model": ProblemOut}},
    )
    def readyz() -> Response:
        try:
            ready = at_head(db.engine)
        except Exception as exc:  # noqa: BLE001 - any database failure means not ready
            return _problem(503, f"database unreachable: {type(exc).__name__}")
        if not ready:
            return _problem(503, "database schema is not at the latest migration")
        return JSON({"status": "ready"})


# The page runs no inline script, so its Content-Security-Policy can forbid inline scripts.
DOCS_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Newsdesk API</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css">
<link rel="icon" type="image/png" href="/docs/assets/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/init.js"></script>
</body>
</html>
"""
DOCS_INIT = """SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  layout: "BaseLayout",
  deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
});
"""


class _Measure:
    """Request count and latency per route template.

    Plain ASGI rather than BaseHTTPMiddleware, which re-streams every body and so
    defeats the gzip size threshold.
    """

    def __init__(self, app: ASGIApp, requests: Counter, latency: Histogram) -> None:
        self.app = app
        self.requests = requests
        self.latency = latency

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def observe(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, observe)
        finally:
            # The router records the matched route in the shared scope.
            name = getattr(scope.get("route"), "path", "unmatched")
            self.requests.labels(scope["method"], name, str(status)).inc()
            self.latency.labels(scope["method"], name).observe(time.perf_counter() - started)


def _add_metrics(app: FastAPI) -> None:
    registry = CollectorRegistry()
    requests = Counter(
        "newsdesk_requests_total", "HTTP requests", ["method", "route", "status"], registry=registry
    )
    latency = Histogram(
        "newsdesk_request_seconds", "HTTP request latency", ["method", "route"], registry=registry
    )
    app.add_middleware(_Measure, requests=requests, latency=latency)

    text = {"content": {"text/plain": {"schema": {"type": "string"}}}}

    @app.get("/metrics", tags=["operations"], summary="Prometheus metrics",
             response_class=Response, responses={200: text})  # fmt: skip
    def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
