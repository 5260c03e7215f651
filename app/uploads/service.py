"""Run one upload through the ingestion pipeline and keep its report."""

import uuid
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import IO, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.config import Settings
from app.db import Database
from app.ingest.errors import FieldError
from app.ingest.load import Result, rejected
from app.ingest.parse import Limits
from app.ingest.run import batched, ingest
from app.models import Upload
from app.uploads.archives import ArchiveLimits, Entry, check, entries, is_archive

NOT_STORED = "not stored: another document of this atomic upload was rejected"


def limits_of(settings: Settings) -> tuple[Limits, ArchiveLimits]:
    return (
        Limits(max_document_bytes=settings.max_document_bytes, max_depth=settings.max_depth),
        ArchiveLimits(
            max_document_bytes=settings.max_document_bytes,
            max_members=settings.max_archive_members,
            max_total_bytes=settings.max_archive_bytes,
        ),
    )


def documents(files: Iterable[tuple[str, IO[bytes]]], settings: Settings) -> Iterator[Entry]:
    """Every document of the uploaded files, archives opened in place.

    Raises LimitExceeded before yielding anything if an archive breaks a request-wide limit.
    """
    _, archive_limits = limits_of(settings)
    files = list(files)
    for name, file in files:
        if is_archive(name):
            check(name, file, archive_limits)
    for name, file in files:
        if is_archive(name):
            yield from entries(name, file, archive_limits)
            continue
        data = file.read(settings.max_document_bytes + 1)
        if len(data) > settings.max_document_bytes:
            message = (
                f"document is over the limit of {settings.max_document_bytes} bytes "
                "(max_document_bytes)"
            )
            yield Entry(name, None, message)
        else:
            yield Entry(name, data)


def run_upload(
    *, db: Database, settings: Settings, docs: Iterable[Entry], atomic: bool
) -> tuple[int, dict[str, Any]]:
    """Ingest an upload; return its HTTP status and its stored report."""
    limits, _ = limits_of(settings)
    results: list[Result] = []
    if atomic:
        batch = list(docs)
        results = _ingest_entries(db, batch, limits, atomic=True)
    else:
        for batch in batched(docs, lambda entry: len(entry.data or b"")):
            results.extend(_ingest_entries(db, batch, limits, atomic=False))
    summary = {status: 0 for status in ("created", "updated", "unchanged", "rejected")}
    for result in results:
        summary[result.status] += 1
    if not results:
        status = 422
    elif summary["rejected"] == 0:
        status = 200
    elif summary["rejected"] == len(results):
        status = 422
    else:
        status = 207
    report = {
        "id": uuid.uuid4().hex,
        "results": [r.as_dict() for r in results],
        "summary": summary,
    }
    with db.write() as session:
        session.add(
            Upload(
                id=report["id"],
                created_at=datetime.now(UTC).replace(tzinfo=None),
                status_code=status,
                report=report,
            )
        )
    return status, report


def _ingest_entries(
    db: Database, batch: list[Entry], limits: Limits, *, atomic: bool
) -> list[Result]:
    readable = [(e.source, e.data) for e in batch if e.data is not None]
    unreadable = any(e.data is None for e in batch)
    if atomic and unreadable:
        stored: Iterator[Result] = iter(
            rejected(source, [FieldError(None, NOT_STORED)]) for source, _ in readable
        )
    else:
        stored = iter(ingest(db, readable, limits, atomic=atomic))
    return [
        next(stored)
        if e.data is not None
        else rejected(e.source, [FieldError(None, e.problem or "cannot be read")])
        for e in batch
    ]


def get_upload(*, session: Session, upload_id: str) -> dict[str, Any] | None:
    """The stored report of an earlier upload."""
    return session.scalar(select(Upload.report).where(Upload.id == upload_id))
