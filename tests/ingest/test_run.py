"""The ingestion pipeline with real parser processes: ordering, repeats, priorities, GC."""

import gc
import os
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor

import pytest

from app.articles.service import get_article
from app.db import Database
from app.ingest.load import Result
from app.ingest.parse import Limits
from app.ingest.run import (
    AHEAD,
    BULK_GC_THRESHOLD,
    PARSER_NICENESS,
    collecting_less,
    ingest,
    parser_pool,
)
from app.ingest.urls import parse_id
from tests.uploads.helpers import doc


def title_of(db: Database, result: Result) -> str:
    assert result.id is not None
    with db.read() as session:
        detail = get_article(session=session, article_id=parse_id(result.id), authorized=True)
    assert detail is not None
    return str(detail["title"])


URL = "https://news.example.com/versions"
V1, V2 = doc("Version 1", URL), doc("Version 2", URL)
OTHER = doc("Another story", "https://news.example.com/other")


@pytest.fixture(scope="module")
def pool() -> Iterator[ProcessPoolExecutor]:
    executor = parser_pool(2)
    yield executor
    executor.shutdown()


def test_batches_parsed_ahead_are_written_in_order(db, pool):
    def story(i: int, title: str = "Story") -> tuple[str, bytes]:
        return f"{i}.md", doc(f"{title} {i}", f"https://news.example.com/{i}")

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
    assert title_of(db, again[12]) == "Revised 3"


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


def test_batches_are_parsed_ahead_of_the_one_being_written(db, pool):
    consumed: list[int] = []
    at_first_report: list[int] = []

    def items() -> Iterator[tuple[str, bytes]]:
        for i in range(8 * (AHEAD + 3)):
            consumed.append(i)
            yield f"{i}.md", doc(f"Story {i}", f"https://news.example.com/{i}")

    def report(_: list[Result]) -> None:
        if not at_first_report:
            at_first_report.append(len(consumed))

    ingest(db, items(), Limits(), executor=pool, batch_size=8, commit_docs=1, on_batch=report)
    assert at_first_report == [8 * (AHEAD + 1)]


def test_a_version_stored_but_not_yet_committed_is_not_mistaken_for_the_stored_one(db):
    # V1 is stored; the load stores V2 (not committed yet), then looks up a batch holding
    # V1 again, a lookup that sees only the committed V1, and stores nothing in between.
    ingest(db, [("v1.md", V1), ("other.md", OTHER)], Limits())
    results = ingest(
        db, [("v2.md", V2), ("other.md", OTHER), ("v1.md", V1)], Limits(), batch_size=1,
        commit_docs=1000,
    )  # fmt: skip
    assert [r.status for r in results] == ["updated", "unchanged", "updated"]
    assert title_of(db, results[2]) == "Version 1"


def test_the_last_version_in_a_batch_wins_over_the_stored_one(db):
    ingest(db, [("v1.md", V1)], Limits())
    results = ingest(db, [("v2.md", V2), ("v1.md", V1)], Limits())
    assert [r.status for r in results] == ["updated", "updated"]
    assert title_of(db, results[1]) == "Version 1"
    results = ingest(db, [("v1.md", V1), ("v2.md", V2)], Limits())
    assert [r.status for r in results] == ["unchanged", "updated"]
    assert title_of(db, results[1]) == "Version 2"


def test_a_later_copy_or_unchanged_version_keeps_its_place(db):
    ingest(db, [("v1.md", V1)], Limits())
    # One batch: V2 stored, V1 found stored at the lookup, V2 again (a repeat).
    results = ingest(db, [("a.md", V2), ("b.md", V1), ("c.md", V2)], Limits())
    assert [r.status for r in results] == ["updated", "unchanged", "unchanged"]
    assert title_of(db, results[2]) == "Version 2"
    # Across batches: the second looks up V2 as stored, then the first stores V1 (not
    # committed), which the writer then finds stored for the second's own V1.
    results = ingest(
        db, [("a.md", V1), ("other.md", OTHER), ("b.md", V2), ("c.md", V1)], Limits(),
        batch_size=2, commit_docs=1000,
    )  # fmt: skip
    assert [r.status for r in results] == ["updated", "created", "unchanged", "unchanged"]
    assert title_of(db, results[3]) == "Version 1"


def test_a_replaced_version_repeated_in_its_batch_is_stored_once(db):
    ingest(db, [("v1.md", V1)], Limits())
    results = ingest(
        db,
        [("v2.md", V2), ("other.md", OTHER), ("a.md", V1), ("b.md", V1)],
        Limits(),
        batch_size=2,
        commit_docs=1000,
    )
    assert [r.status for r in results] == ["updated", "created", "unchanged", "updated"]
    assert title_of(db, results[3]) == "Version 1"
