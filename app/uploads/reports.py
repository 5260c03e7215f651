"""An upload's report in the database: its row in `uploads`, its results in `upload_results`."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Row, insert, select, update
from sqlalchemy.orm import Session

from app.db import Reading
from app.ingest.load import Result
from app.models import Upload, UploadResult

STATUSES = ("created", "updated", "unchanged", "rejected")
# Results read per query when a report is sent: a page of them, never the whole report.
PAGE = 1000


@dataclass(frozen=True)
class Report:
    """A finished upload: everything its report says besides the results."""

    id: str
    status_code: int
    summary: dict[str, int]


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def begin(*, session: Session, upload_id: str, atomic: bool) -> None:
    """Add the row of an upload that has started, for its results to reference."""
    session.add(Upload(id=upload_id, created_at=_now(), atomic=atomic))
    session.flush()


def record(*, session: Session, upload_id: str, start: int, results: Sequence[Result]) -> None:
    """Add results to an upload's report, the first at position `start`."""
    if not results:
        return
    rows = [
        {
            "upload_id": upload_id,
            "position": position,
            "source": result.source,
            "status": result.status,
            "article_id": result.id,
            "web_url": result.webUrl,
            "errors": result.errors,
        }
        for position, result in enumerate(results, start)
    ]
    session.execute(insert(UploadResult), rows)


def finish(*, session: Session, report: Report) -> None:
    """Store an upload's status and counts, which makes its report readable."""
    session.execute(
        update(Upload)
        .where(Upload.id == report.id)
        .values(finished_at=_now(), status_code=report.status_code, **report.summary)
    )


def find(*, session: Reading, upload_id: str) -> Report | None:
    """A finished upload, or None when there is none with that id (yet)."""
    row = session.execute(
        select(Upload.status_code, *(getattr(Upload, name) for name in STATUSES)).where(
            Upload.id == upload_id, Upload.status_code.is_not(None)
        )
    ).one_or_none()
    if row is None:
        return None
    status_code, *counts = row
    return Report(upload_id, status_code, dict(zip(STATUSES, counts, strict=True)))


def results_after(
    *, session: Reading, upload_id: str, after: int, limit: int
) -> Sequence[Row[Any]]:
    """Up to `limit` results of an upload past position `after`, in report order."""
    return session.execute(
        select(
            UploadResult.position,
            UploadResult.source,
            UploadResult.status,
            UploadResult.article_id,
            UploadResult.web_url,
            UploadResult.errors,
        )
        .where(UploadResult.upload_id == upload_id, UploadResult.position > after)
        .order_by(UploadResult.position)
        .limit(limit)
    ).all()
