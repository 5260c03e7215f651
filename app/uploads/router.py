"""Routes for /v1/uploads."""

import io
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.responses import Response

from app.http import CheckedRoute, Problem, database, require_key
from app.ratelimit import limit_writes
from app.schemas import PROBLEM, UploadReport
from app.uploads import reports, service, stream
from app.uploads.archives import LimitExceeded

router = APIRouter(
    prefix="/v1/uploads",
    tags=["uploads"],
    dependencies=[Depends(require_key)],
    route_class=CheckedRoute,
)
# Only ingestion counts against the write rate limit, not reading reports back.
limited = [Depends(limit_writes)]

RAW_TYPES = {
    "text/markdown": "document.md",
    "text/plain": "document.md",
    "application/yaml": "document.yaml",
    "application/x-yaml": "document.yaml",
    "text/yaml": "document.yaml",
    "application/json": "document.json",
}
_BODY: dict[str, Any] = {
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "properties": {
                    "files": {"type": "array", "items": {"type": "string", "format": "binary"}}
                },
                "required": ["files"],
            }
        },
        **{mime: {"schema": {"type": "string"}} for mime in RAW_TYPES},
    },
    "required": True,
}
REPORT = {"model": UploadReport}


@router.post(
    "",
    response_model=UploadReport,
    openapi_extra={"requestBody": _BODY},
    dependencies=limited,
    responses={207: REPORT, 401: PROBLEM, 413: PROBLEM, 415: PROBLEM, 422: REPORT, 429: PROBLEM},
)
async def upload(
    request: Request,
    atomic: Annotated[bool, Query(description="store all documents or none")] = False,
) -> Response:
    """Ingest documents: multipart `files` parts (documents or archives), or one raw document."""
    settings = request.app.state.settings
    db = database(request)
    mime = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if mime == "multipart/form-data":
        form = await request.form(max_files=10_000, max_fields=100)
        files = [v for k, v in form.multi_items() if k == "files" and isinstance(v, UploadFile)]
        if not files:
            error = {"field": "files", "message": "at least one file is required"}
            raise Problem(422, "multipart body has no `files` parts", [error])
        named = [(f.filename or f"document-{i}.md", f.file) for i, f in enumerate(files, 1)]
        docs: Any = service.documents(named, settings)
    elif mime in RAW_TYPES:
        body = await request.body()
        docs = list(service.documents([(RAW_TYPES[mime], io.BytesIO(body))], settings))
    else:
        allowed = ", ".join(["multipart/form-data", *RAW_TYPES])
        raise Problem(415, f"unsupported content type {mime or '(none)'!r}; use {allowed}")
    try:
        report = await run_in_threadpool(
            service.run_upload, db=db, settings=settings, docs=docs, atomic=atomic
        )
    except LimitExceeded as exc:
        raise Problem(413, str(exc)) from None
    finally:
        if mime == "multipart/form-data":
            await form.close()
    headers = {"Location": f"/v1/uploads/{report.id}"}
    headers.update(getattr(request.state, "rate_limit_headers", {}))
    return stream.response(db, report, status=report.status_code, headers=headers)


@router.get("/{upload_id}", response_model=UploadReport, responses={401: PROBLEM, 404: PROBLEM})
async def get_upload(upload_id: str, request: Request) -> Response:
    """The stored report of an earlier upload (API key)."""
    db = database(request)
    report = await db.read_with(reports.find, upload_id=upload_id)
    if report is None:
        raise Problem(404, f"no upload with id {upload_id!r}")
    return stream.response(db, report)
