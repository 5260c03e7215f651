"""An upload's report sent as JSON written page by page, never held whole."""

from collections.abc import AsyncIterator, Mapping

import orjson
from starlette.responses import StreamingResponse

from app.db import Database
from app.uploads import reports


def response(
    db: Database,
    report: reports.Report,
    *,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
) -> StreamingResponse:
    """The report as `{"id", "results", "summary"}`, byte for byte what orjson makes of it."""
    return StreamingResponse(
        _body(db, report), status_code=status, headers=headers, media_type="application/json"
    )


async def _body(db: Database, report: reports.Report) -> AsyncIterator[bytes]:
    yield b'{"id":' + orjson.dumps(report.id) + b',"results":['
    after = -1
    separator = b""
    while True:
        # Each page is a read of its own: a finished report never changes, so pages read at
        # different moments still make one consistent report.
        rows = await db.read_with(
            reports.results_after, upload_id=report.id, after=after, limit=reports.PAGE
        )
        if rows:
            results = [
                {
                    "source": row.source,
                    "status": row.status,
                    "id": row.article_id,
                    "webUrl": row.web_url,
                    "errors": row.errors,
                }
                for row in rows
            ]
            # The list's brackets come off so that pages join into one array.
            yield separator + orjson.dumps(results)[1:-1]
            separator = b","
            after = rows[-1].position
        if len(rows) < reports.PAGE:
            break
    yield b'],"summary":' + orjson.dumps(report.summary) + b"}"
