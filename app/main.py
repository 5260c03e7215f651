"""The FastAPI application: routers, middleware, problem documents, health and docs."""

import importlib.util
import time
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.params import Depends
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import HTMLResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from app import __version__
from app.articles.router import router as articles_router
from app.catalog_router import providers, topics
from app.config import Settings
from app.db import Database
from app.http import JSON, Problem, reject_unknown_params, valid_key
from app.middleware import BodyLimit, BodyTooLarge, Cache, SecurityHeaders
from app.migrate import at_head
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
    db = db or Database(settings.database_url)
    app = FastAPI(
        title="Newsdesk",
        version=__version__,
        description=DESCRIPTION,
        docs_url=None,
        redoc_url=None,
        dependencies=[Depends(reject_unknown_params)],
        responses={422: {"model": ProblemOut, "content": {"application/problem+json": {}}}},
    )
    app.state.settings = settings
    app.state.db = db
    for router in (articles_router, providers, topics, uploads_router):
        app.include_router(router)
    _add_operational_routes(app, db)
    _add_error_handlers(app)
    _add_metrics(app)

    app.add_middleware(
        Cache,
        db=db,
        is_authorized=lambda headers: valid_key(
            headers.get("authorization", ""), settings.api_key_bytes
        ),
        max_age=settings.cache_max_age,
        entries=settings.response_cache_entries,
    )
    app.add_middleware(GZipMiddleware, minimum_size=1024)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_origins,
        allow_methods=["GET", "POST", "DELETE", "OPTIONS"],
        allow_headers=["Authorization", "Content-Type", "If-None-Match"],
        expose_headers=["ETag", "Link", "Location", "Retry-After"],
        max_age=600,
    )
    app.add_middleware(SecurityHeaders)
    app.add_middleware(_BodyLimitWithProblem, limit=settings.max_request_bytes)
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
             headers: dict[str, str] | None = None) -> Response:  # fmt: skip
    from http import HTTPStatus

    body = {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "errors": errors or [],
    }
    response = JSON(body, status_code=status, headers=headers)
    response.headers["content-type"] = "application/problem+json"
    return response


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def problem(_: Request, exc: Problem) -> Response:
        return _problem(exc.status_code, str(exc.detail), exc.errors, exc.headers)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        detail = exc.detail
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"no such path: {request.url.path}"
        elif exc.status_code == 405:
            detail = f"method {request.method} is not allowed on {request.url.path}"
        return _problem(exc.status_code, str(detail), headers=getattr(exc, "headers", None))

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


def _add_operational_routes(app: FastAPI, db: Database) -> None:
    static = _swagger_static()
    app.mount("/docs/assets", StaticFiles(directory=static), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="Newsdesk API",
            swagger_js_url="/docs/assets/swagger-ui-bundle.js",
            swagger_css_url="/docs/assets/swagger-ui.css",
            swagger_favicon_url="/docs/assets/favicon-32x32.png",
        )

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


def _add_metrics(app: FastAPI) -> None:
    registry = CollectorRegistry()
    requests = Counter(
        "newsdesk_requests_total", "HTTP requests", ["method", "route", "status"], registry=registry
    )
    latency = Histogram(
        "newsdesk_request_seconds", "HTTP request latency", ["method", "route"], registry=registry
    )

    @app.middleware("http")
    async def measure(request: Request, call_next: Any) -> Response:
        started = time.perf_counter()
        response: Response = await call_next(request)
        route = request.scope.get("route")
        name = getattr(route, "path", "unmatched")
        requests.labels(request.method, name, str(response.status_code)).inc()
        latency.labels(request.method, name).observe(time.perf_counter() - started)
        return response

    @app.get("/metrics", tags=["operations"], summary="Prometheus metrics",
             response_class=Response,
             responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}})  # fmt: skip
    def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
