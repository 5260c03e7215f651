"""A bulk load into an empty store builds the sort indexes at its end, and only there."""

import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, inspect, text

from app.cli import main
from app.db import Database
from app.ingest.bulk import deferred_sort_indexes
from app.ingest.parse import Limits
from app.ingest.run import ingest
from app.migrate import upgrade
from app.models import SORT_INDEXES
from tests.conftest import SEEDS
from tests.reliability.corpus import document
from tests.uploads.helpers import doc, total

SORT_NAMES = {index.name for index in SORT_INDEXES}


def indexes(db) -> dict[str, Any]:
    """Every index on the tables holding sort indexes, by name, as the database reports it."""
    with db.engine.connect() as conn:
        inspector = inspect(conn)
        return {
            found["name"]: found
            for table in ("articles", "article_topics")
            for found in inspector.get_indexes(table)
        }


def test_sort_indexes_are_the_listing_indexes(db):
    assert len(SORT_INDEXES) == 20
    assert set(indexes(db)) >= SORT_NAMES
    assert {"ix_articles_source_sha256", "ix_articles_category"}.isdisjoint(SORT_NAMES)


def test_empty_store_loads_without_them_and_gets_them_back_as_migrated(db):
    migrated = indexes(db)
    with deferred_sort_indexes(db) as deferred:
        assert deferred
        during = indexes(db)
        assert SORT_NAMES.isdisjoint(during)
        # What ingestion itself looks up stays indexed.
        assert "ix_articles_source_sha256" in during
        ingest(db, [("a.md", doc("A", "https://news.example.com/a"))], Limits())
    assert indexes(db) == migrated


def test_store_with_articles_keeps_them_and_its_data_version(db):
    ingest(db, [("a.md", doc("A", "https://news.example.com/a"))], Limits())
    version = db.data_version()
    with deferred_sort_indexes(db) as deferred:
        assert not deferred
        assert set(indexes(db)) >= SORT_NAMES
    assert set(indexes(db)) >= SORT_NAMES
    # Nothing was written, so no cached response was made stale.
    assert db.data_version() == version


def test_a_failed_load_still_rebuilds_them(db):
    migrated = indexes(db)
    with pytest.raises(KeyboardInterrupt), deferred_sort_indexes(db):
        raise KeyboardInterrupt
    assert indexes(db) == migrated


def test_upgrade_rebuilds_what_a_killed_load_left_missing(db):
    migrated = indexes(db)
    with db.engine.begin() as conn:
        for index in SORT_INDEXES[::3]:
            index.drop(conn)
    assert indexes(db) != migrated
    upgrade(db.engine)
    assert indexes(db) == migrated


def test_a_running_load_keeps_other_commands_off_its_indexes(db, database_url):
    other = Database(database_url)
    try:
        with deferred_sort_indexes(db) as deferred, db.write():
            assert deferred
            # What `newsdesk serve`, `migrate` or a second `ingest` run first, while the
            # load holds its write transaction: neither waits, fails nor builds indexes.
            upgrade(other.engine)
            assert SORT_NAMES.isdisjoint(indexes(other))
            with deferred_sort_indexes(other) as also:
                assert not also
        assert set(indexes(other)) >= SORT_NAMES
    finally:
        other.dispose()


def _marked(marker: str) -> list[int]:
    """Processes started with `marker` in their environment: the load and its parsers."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and marker.encode() in (entry / "environ").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def _kill_marked(marker: str) -> None:
    for pid in _marked(marker):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            continue


def test_killing_a_parallel_load_mid_way_leaves_nothing_held(db, database_url, tmp_path):
    """SIGKILL of a real `newsdesk ingest --jobs 2`, with a transaction open: the next
    command rebuilds the indexes at once, not blocked by the parser processes left over."""
    folder = tmp_path / "docs"
    folder.mkdir()
    for n in range(6000):
        (folder / f"{n:05}.md").write_bytes(document(n))
    migrated = indexes(db)
    marker = f"NEWSDESK_TEST_LOAD_{os.getpid()}_{time.monotonic_ns()}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSDESK_")}
    env |= {"NEWSDESK_DATABASE_URL": database_url, marker: "1"}
    newsdesk = str(Path(sys.executable).parent / "newsdesk")
    load = subprocess.Popen(
        [newsdesk, "ingest", "--jobs", "2", "--commit-every", "500", str(folder)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while total_stored(db) < 1000 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert 1000 <= total_stored(db) < 6000, "the load was not caught mid-way"
        load.kill()
        load.wait()
        assert SORT_NAMES.isdisjoint(indexes(db))
        # The parser processes (and their fork server) notice and exit.
        deadline = time.monotonic() + 20
        while _marked(marker) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _marked(marker) == []
        # As a program, so that a command blocked by a leftover process fails the test
        # (a timeout) instead of hanging it. PostgreSQL frees the killed session's lock
        # once it sees the socket close, which may take a moment.
        env.pop(marker)
        while True:
            migrate = subprocess.run(
                [newsdesk, "migrate"], env=env, capture_output=True, text=True, timeout=60
            )
            assert migrate.returncode == 0, migrate.stderr
            if indexes(db) == migrated or time.monotonic() > deadline:
                break
        assert indexes(db) == migrated
    finally:
        load.kill()
        _kill_marked(marker)


def total_stored(db) -> int:
    with db.read() as snapshot:
        return int(snapshot.scalar(text("SELECT count(*) FROM articles")) or 0)


def test_a_failed_rebuild_is_logged_and_the_command_goes_on(db, caplog):
    migrated = indexes(db)
    blocked = SORT_INDEXES[0]
    with db.engine.begin() as conn:
        blocked.drop(conn)
        # A table of the same name makes CREATE INDEX fail, as a full disk would.
        conn.execute(text(f"CREATE TABLE {blocked.name} (x INTEGER)"))
    try:
        with caplog.at_level(logging.ERROR, logger="app.ingest.bulk"):
            upgrade(db.engine)
        assert "could not rebuild the listing indexes" in caplog.text
        assert blocked.name not in indexes(db)
    finally:
        with db.engine.begin() as conn:
            conn.execute(text(f"DROP TABLE {blocked.name}"))
    upgrade(db.engine)
    assert indexes(db) == migrated


@contextmanager
def index_statements() -> Iterator[list[str]]:
    """DROP/CREATE INDEX statements run by any engine of this process inside the block."""
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "INDEX" in statement and statement.lstrip().startswith(("DROP", "CREATE")):
            seen.append(" ".join(statement.split()[:3]))

    event.listen(Engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(Engine, "before_cursor_execute", record)


def test_newsdesk_ingest_defers_them_into_an_empty_store_only(
    db, client, database_url, monkeypatch, capsys
):
    monkeypatch.setenv("NEWSDESK_DATABASE_URL", database_url)
    migrated = indexes(db)
    with index_statements() as first:
        assert main(["ingest", "--jobs", "1", str(SEEDS)]) == 0
    assert sorted(first) == sorted(
        [f"DROP INDEX {name}" for name in SORT_NAMES]
        + [f"CREATE INDEX {name}" for name in SORT_NAMES]
    )
    assert indexes(db) == migrated
    assert total(client) == 16
    assert "building the listing indexes" in capsys.readouterr().err

    with index_statements() as second:
        assert main(["ingest", "--jobs", "1", str(SEEDS)]) == 0
    assert second == []
    assert "building the listing indexes" not in capsys.readouterr().err
