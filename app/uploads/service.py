"""Run one upload through the ingestion pipeline, storing its report as it goes."""

import itertools
import uuid
from collections.abc import Iterable, Iterator
from typing import IO

from app.config import Settings
from app.db import Database
from app.ingest.errors import FieldError
from app.ingest.load import Result, rejected
from app.ingest.parse import Limits
from app.ingest.run import batched, ingest
from app.uploads import reports
from app.uploads.archives import (
    ArchiveLimits,
    Entry,
    check,
    entries,
    is_archive,
    label,
    read_at_most,
    sized,
)

NOT_STORED = "not stored: another document of this atomic upload was rejected"
# Documents written in one transaction (and held at once, within BATCH_BYTES). Each
# commit rewrites every index page its rows touched: at one commit per 500 documents an
# upload ran at 505-542 documents a second into a store growing to 40k, at one per 2,000
# at 719. Other writers wait for a group, about three seconds at that rate.
GROUP = 2000


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
    files = [(label(name), file) for name, file in files]
    for name, file in files:
        if is_archive(name):
            check(name, file, archive_limits)
    for name, file in files:
        if is_archive(name):
            yield from entries(name, file, archive_limits)
            continue
        yield sized(name, read_at_most(file, archive_limits.max_document_bytes), archive_limits)


def run_upload(
    *, db: Database, settings: Settings, docs: Iterable[Entry], atomic: bool
) -> reports.Report:
    """Ingest an upload, storing its results group by group; return its finished report."""
    limits, _ = limits_of(settings)
    # An atomic upload is one group: it must hold every document to store all or none.
    groups = iter([list(docs)] if atomic else batched(docs, lambda e: len(e.data or b""), GROUP))
    # Drawn before the upload's row is written: archives are checked while the first group
    # is drawn, and a refused request (413) must leave nothing behind.
    first = next(groups, [])
    upload_id = uuid.uuid4().hex
    with db.write() as session:
        reports.begin(session=session, upload_id=upload_id, atomic=atomic)
    summary = dict.fromkeys(reports.STATUSES, 0)
    count = 0
    for group in itertools.chain([first], groups):
        results = _ingest_entries(db, group, limits, atomic=atomic)
        # `ingest` commits a group before it returns its results, so they are recorded in a
        # transaction of their own, right after. That is safe: nothing is reported before
        # the last group's results are committed, so a crash in between loses no document
        # reported stored; it leaves an unfinished upload, which has no report.
        with db.write() as session:
            reports.record(session=session, upload_id=upload_id, start=count, results=results)
        for result in results:
            summary[result.status] += 1
        count += len(results)
    report = reports.Report(upload_id, _status(summary, count), summary)
    with db.write() as session:
        reports.finish(session=session, report=report)
    return report


def _status(summary: dict[str, int], count: int) -> int:
    # An upload without a single document fails like one whose documents all failed.
    if summary["rejected"] == count:
        return 422
    return 200 if summary["rejected"] == 0 else 207


def _ingest_entries(
    db: Database, group: list[Entry], limits: Limits, *, atomic: bool
) -> list[Result]:
    readable = [(e.source, e.data) for e in group if e.data is not None]
    unreadable = any(e.data is None for e in group)
    if atomic and unreadable:
        stored: Iterator[Result] = iter(
            rejected(source, [FieldError(None, NOT_STORED)]) for source, _ in readable
        )
    else:
        # The pipeline parses and writes the group in batches and commits it once.
        stored = iter(ingest(db, readable, limits, atomic=atomic, commit_docs=len(readable)))
    return [
        next(stored)
        if e.data is not None
        else rejected(e.source, [FieldError(None, e.problem or "cannot be read")])
        for e in group
    ]
