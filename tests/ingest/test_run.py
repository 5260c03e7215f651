"""The ingestion pipeline with real parser processes: ordering, repeats, priorities, GC."""

import gc
import os
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor

import pytest

from app.articles.service import get_article
from app.ingest.load import Result
from app.ingest.parse import Limits
from app.ingest.run import (
    AHEAD,
    BATCH_BYTES,
    BULK_GC_THRESHOLD,
    PARSER_NICENESS,
    collecting_less,
    ingest,
    parser_pool,
)
from app.ingest.urls import parse_id
from tests.uploads.helpers import doc


@pytest.fixture(scope="module")
def pool() -> Iterator[ProcessPoolExecutor]:
    executor = parser_pool(2)
    yield executor
    executor.shutdown()


def test_batches_parsed_ahead_are_written_in_order(db, pool):
    def story(i: int, title: str = "Story") -> tuple[str, bytes]:
        return f"{i}.md", doc(f"{title} {i}", f"https://news.example.com/{i}")

    def title_of(result: Result) -> str:
        with db.read() as session:
            detail = get_article(session=session, article_id=parse_id(result.id), authorized=True)
        assert detail is not None
        return str(detail["title"])

    # Batches of 8 (the least the parsers are given) so that several are parsed ahead of
    # the one being written, with what links batches: the same bytes again, a newer
    # version of an earlier URL, a rejected document.
    items = [story(i) for i in range(8 * (AHEAD + 3))]
    items[9] = items[2]
    items[12] = story(3, "Revised")
    items[30] = ("bad.md", doc(None, "https://news.example.com/bad"))
    reported: list[list[str]] = []
    first = ingest(
        db,
        items,
        Limits(),
        executor=pool,
        batch_size=8,
        commit_docs=16,
        on_batch=lambda results: reported.append([r.source for r in results]),
    )
    assert first == [], "handed over batch by batch"
    assert [source for batch in reported for source in batch] == [s for s, _ in items]

    again = ingest(db, items, Limits(), executor=pool, batch_size=8)
    statuses = [r.status for r in again]
    assert statuses[30] == "rejected"
    # Both batches were looked up before either was written, and both found their version
    # of story 3 differing from the stored revision, or equal to it: by the time the
    # second was written, the first had stored the older version over it.
    assert (statuses[3], statuses[12]) == ("updated", "updated")
    assert statuses.count("unchanged") == len(items) - 3
    assert title_of(again[12]) == "Revised 3"


def test_parsers_yield_the_cpu_to_the_writer(pool):
    writer = os.getpriority(os.PRIO_PROCESS, 0)
    parser = pool.submit(os.getpriority, os.PRIO_PROCESS, 0).result()
    assert parser == min(19, writer + PARSER_NICENESS)


def test_bulk_loads_collect_garbage_rarely(pool):
    assert pool.submit(gc.get_threshold).result() == BULK_GC_THRESHOLD
    before = gc.get_threshold()
    with collecting_less():
        assert gc.get_threshold() == BULK_GC_THRESHOLD
        assert gc.get_freeze_count() > 0
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_batches_ahead_are_bounded():
    # Memory held by a load: the batch being written and those parsed ahead of it.
    assert (AHEAD + 1) * BATCH_BYTES <= 64 * 1024 * 1024
