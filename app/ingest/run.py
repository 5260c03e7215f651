"""The one ingestion pipeline behind the CLI, the upload endpoint and seed loading."""

import gc
import multiprocessing
import os
import select
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import AbstractContextManager, contextmanager
from functools import partial
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from app.db import Database
from app.ingest.errors import FieldError
from app.ingest.load import Prepared, Result, find_unchanged, prepare, rejected, sha256, store
from app.ingest.parse import Limits
from app.ingest.urls import format_id, parse_id

Item = tuple[str, bytes]
T = TypeVar("T")
BATCH = 500
# A batch is held in memory whole: without a bound on its bytes, 500 highly compressible
# archive members near the document limit would take half a gigabyte.
BATCH_BYTES = 16 * 1024 * 1024
PARSER_NICENESS = 10
# Batches handed to the parsers ahead of the one being written.
AHEAD = 2
BULK_GC_THRESHOLD = (50_000, 20, 100)


def parser_pool(jobs: int) -> ProcessPoolExecutor:
    """Processes that parse for the one writer, started by a fork server.

    Forked from the writer they would inherit its database connections and its bulk lock
    (app/ingest/bulk.py): a writer killed mid-load would leave them, blocked on their
    queue, holding its open PostgreSQL transaction and its lock, and every later command
    waiting on them. Nothing is preloaded into the fork server: it runs with the current
    folder first on its path, and each parser imports with the writer's path instead.
    """
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([])
    return ProcessPoolExecutor(
        jobs, mp_context=context, initializer=_start_parser, initargs=(os.getpid(),)
    )


@contextmanager
def collecting_less() -> Iterator[None]:
    """Run the cyclic garbage collector rarely for the length of a bulk load.

    A load allocates millions of short-lived objects and creates almost no cycles, yet
    at Python's default threshold a collection ran every 700 allocations and rescanned
    everything held: unpickling a parsed document took 50 µs instead of 15. What is
    loaded by now (modules, metadata) is frozen out of every scan meanwhile.
    """
    before = gc.get_threshold()
    _collect_less()
    try:
        yield
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()


def _collect_less() -> None:
    gc.freeze()
    gc.set_threshold(*BULK_GC_THRESHOLD)


def _start_parser(writer: int) -> None:
    """In a parser process: collect less, yield the CPU to the writer, exit with it.

    The one writer is the pipeline's bottleneck. With as many parsers as cores, at equal
    priority the scheduler gave it a third less than a core; at a lower one the parsers
    take what it leaves.
    """
    _collect_less()
    os.nice(PARSER_NICENESS)
    _exit_with(writer)


def _exit_with(writer: int) -> None:
    """Exit when the writer does, which a killed writer never says."""
    if not hasattr(os, "pidfd_open"):  # Linux only; elsewhere the parsers may linger
        return
    try:
        pidfd = os.pidfd_open(writer)
    except ProcessLookupError:
        os._exit(1)

    def watch() -> None:
        select.select([pidfd], [], [])
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


class AtomicRollback(Exception):
    """Raised inside the write transaction to discard an atomic upload."""


def ingest(
    db: Database,
    items: Iterable[Item],
    limits: Limits,
    *,
    atomic: bool = False,
    executor: Executor | None = None,
    batch_size: int = BATCH,
    commit_docs: int = 1,
    on_batch: Callable[[list[Result]], None] | None = None,
    web_urls: bool = True,
) -> list[Result]:
    """Ingest documents in batches, committing once `commit_docs` documents are written.

    A bad document rolls back alone. The results are returned in order or, given
    `on_batch`, handed to it batch by batch once committed and not kept (a bulk run of
    millions of documents holds one transaction's results at most). Without `web_urls`,
    results of documents found unchanged before parsing carry no webUrl, which spares
    reading their articles (a third of an unchanged re-ingest).
    """
    if atomic:
        return _ingest_atomic(db, list(items), limits, executor)
    results: list[Result] = []
    with _Writer(db, commit_docs, on_batch or results.extend) as writer:
        in_flight: deque[_Batch] = deque()
        ahead = AHEAD if executor is not None else 1
        # Parsing of the next batches (in the executor's processes) overlaps the writing of
        # this one: the writer is the one process that cannot be parallel.
        for batch in batched(items, lambda item: len(item[1]), batch_size):
            in_flight.append(_start(writer, batch, limits, executor, web_urls=web_urls))
            if len(in_flight) > ahead:
                _finish(writer, in_flight.popleft())
        while in_flight:
            _finish(writer, in_flight.popleft())
    return results


class _Writer:
    """One write transaction held across batches until `commit_docs` documents are written.

    Each commit rewrites every index page its batches touched: with ids spread over the
    whole key space, grouping batches lets them share those pages (bulk ingestion of
    5,000 documents per commit into a 100k store: 663 → 1,255 docs/s).
    """

    def __init__(
        self, db: Database, commit_docs: int, on_batch: Callable[[list[Result]], None]
    ) -> None:
        self.db = db
        self.commit_docs = commit_docs
        self.on_batch = on_batch
        self._transaction: AbstractContextManager[Session] | None = None
        self._session: Session | None = None
        self._uncommitted: list[list[Result]] = []
        # Documents this load has stored, and how many of them are committed.
        self.stored = 0
        self.committed = 0

    def count(self, results: list[Result]) -> None:
        """Count the documents of `results` that were stored (not rejected)."""
        self.stored += sum(result.status != "rejected" for result in results)

    def session(self) -> Session:
        if self._session is None:
            self._transaction = self.db.write()
            self._session = self._transaction.__enter__()
        return self._session

    def written(self, results: list[Result]) -> None:
        self._uncommitted.append(results)
        if sum(map(len, self._uncommitted)) >= self.commit_docs:
            self.commit()

    def commit(self) -> None:
        if self._transaction is not None:
            transaction, self._transaction, self._session = self._transaction, None, None
            transaction.__exit__(None, None, None)
        self.committed = self.stored
        done, self._uncommitted = self._uncommitted, []
        for results in done:
            self.on_batch(results)

    def __enter__(self) -> "_Writer":
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: Any
    ) -> None:
        if kind is None:
            self.commit()
        elif self._transaction is not None:
            self._transaction.__exit__(kind, error, tb)


Pending = tuple[int, str, bytes, str]  # index in the batch, source, bytes, sha256
Assumed = tuple[int, str, bytes, str, int]  # ... and the article found storing those bytes


class _Batch:
    """A batch whose unchanged documents are known and whose parsing has been started."""

    def __init__(self, batch: list[Item], limits: Limits, seen: int) -> None:
        self.batch = batch
        self.limits = limits
        self.results: list[Result | None] = [None] * len(batch)
        self.pending: list[Pending] = []
        self.unchanged: list[Assumed] = []
        self.repeats: dict[int, int] = {}
        self.prepared: Iterator[Prepared] = iter(())
        # How many of the load's stored documents the lookup could see (the committed ones).
        self.seen = seen


def _start(
    writer: _Writer,
    batch: list[Item],
    limits: Limits,
    executor: Executor | None,
    *,
    web_urls: bool,
) -> _Batch:
    digests = [sha256(data) for _, data in batch]
    with writer.db.read() as session:
        known = find_unchanged(session, digests, web_urls=web_urls)
    started = _Batch(batch, limits, writer.committed)
    first_index: dict[str, int] = {}
    for index, ((source, data), digest) in enumerate(zip(batch, digests, strict=True)):
        if digest in known:
            article_id, web_url = known[digest]
            started.results[index] = Result(source, "unchanged", format_id(article_id), web_url)
            started.unchanged.append((index, source, data, digest, article_id))
        elif digest in first_index:
            started.repeats[index] = first_index[digest]
        else:
            first_index[digest] = index
            started.pending.append((index, source, data, digest))
    started.prepared = _prepare_all(started.pending, limits, executor)
    return started


def _finish(writer: _Writer, started: _Batch) -> None:
    results = started.results
    work = list(zip(started.pending, started.prepared, strict=True))
    if work:
        session = writer.session()
        # Batches ahead of this one were written after it was looked up.
        known = find_unchanged(session, [p.sha256 for _, p in work])
        fresh = [(item, p) for item, p in work if p.sha256 not in known]
        stored = store(session, [p for _, p in fresh])
        for ((index, *_), _), result in zip(fresh, stored, strict=True):
            results[index] = result
        writer.count(stored)
        for (index, source, _, digest), _ in work:
            if digest in known:
                article_id, web_url = known[digest]
                results[index] = Result(source, "unchanged", format_id(article_id), web_url)
    for index, first in started.repeats.items():
        results[index] = _repeat_of(started.batch[index][0], results[first])
    if started.unchanged and writer.stored != started.seen:
        assumed = {item[0] for item in started.unchanged}
        # Article id -> the last position in this batch of a document that it now holds.
        holds: dict[int, int] = {}
        for index, held in enumerate(results):
            held_id = parse_id(held.id) if held is not None and held.id else None
            if index not in assumed and held_id is not None:
                holds[held_id] = index
        _store_replaced(writer, started, holds)
    writer.written([r for r in results if r is not None])


def _store_replaced(writer: _Writer, started: _Batch, holds: dict[int, int]) -> None:
    """Store again the documents found unchanged whose article was replaced since.

    The lookup saw committed articles only: a document stored after it (by an earlier
    batch, or earlier in this one) may have replaced the version this batch holds again.
    The last copy of each such document is parsed here and stored, unless a later document
    of this batch holds its article (stored, found stored, or a repeat of either); the
    copies before it stay `unchanged`.
    """
    session = writer.session()
    digests = [item[3] for item in started.unchanged]
    still = find_unchanged(session, digests, web_urls=False)
    last: dict[str, Assumed] = {}
    for item in started.unchanged:
        if item[3] not in still:
            last[item[3]] = item
    redo = sorted(item for item in last.values() if item[0] > holds.get(item[4], -1))
    if not redo:
        return
    prepared = [
        prepare(source, data, started.limits, digest) for _, source, data, digest, _ in redo
    ]
    stored = store(session, prepared)
    for (index, *_), result in zip(redo, stored, strict=True):
        started.results[index] = result
    writer.count(stored)


def _repeat_of(source: str, first: Result | None) -> Result:
    """A batch repeating a document's exact bytes: the repeat changes nothing."""
    assert first is not None
    if first.status == "rejected":
        return Result(source, "rejected", errors=first.errors)
    return Result(source, "unchanged", first.id, first.webUrl)


def _ingest_atomic(
    db: Database, items: list[Item], limits: Limits, executor: Executor | None
) -> list[Result]:
    digests = [sha256(data) for _, data in items]
    # As in batches, repeated bytes are stored once and their repeats reported unchanged.
    first_index: dict[str, int] = {}
    for index, digest in enumerate(digests):
        first_index.setdefault(digest, index)
    pending = [(i, *items[i], digests[i]) for i in first_index.values()]
    prepared = list(_prepare_all(pending, limits, executor))
    results: list[Result] = []
    try:
        with db.write() as session:
            known = find_unchanged(session, first_index.keys())
            firsts = zip(first_index.values(), prepared, strict=True)
            fresh = [(i, p) for i, p in firsts if p.sha256 not in known]
            written = store(session, [p for _, p in fresh])
            stored = {i: result for (i, _), result in zip(fresh, written, strict=True)}
            for index, ((source, _), digest) in enumerate(zip(items, digests, strict=True)):
                first = first_index[digest]
                if digest in known:
                    article_id, web_url = known[digest]
                    results.append(Result(source, "unchanged", format_id(article_id), web_url))
                elif index == first:
                    results.append(stored[index])
                else:
                    results.append(_repeat_of(source, stored[first]))
            if any(r.status == "rejected" for r in results):
                raise AtomicRollback
    except AtomicRollback:
        message = "not stored: another document of this atomic upload was rejected"
        return [
            r if r.status == "rejected" else rejected(r.source, [FieldError(None, message)])
            for r in results
        ]
    return results


def _prepare_all(
    pending: list[Pending], limits: Limits, executor: Executor | None
) -> Iterator[Prepared]:
    """Parse documents; with an executor the work is submitted now and collected later."""
    if executor is None or len(pending) < 8:
        return iter([prepare(source, data, limits, digest) for _, source, data, digest in pending])
    work = partial(_prepare_args, limits)
    return executor.map(work, [(s, d, h) for _, s, d, h in pending], chunksize=16)


def _prepare_args(limits: Limits, args: tuple[str, bytes, str]) -> Prepared:
    source, data, digest = args
    return prepare(source, data, limits, digest)


def batched(items: Iterable[T], weigh: Callable[[T], int], size: int = BATCH) -> Iterator[list[T]]:
    """Lists of at most `size` items that stop growing once they weigh BATCH_BYTES."""
    batch: list[T] = []
    weight = 0
    for item in items:
        batch.append(item)
        weight += weigh(item)
        if len(batch) >= size or weight >= BATCH_BYTES:
            yield batch
            batch, weight = [], 0
    if batch:
        yield batch
