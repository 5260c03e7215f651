"""A bulk load into an empty store builds the sort indexes at its end, and only there."""

import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
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
from tests.conftest import ROOT, SEEDS
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


# A load killed mid-way, leaving behind a forked child (as a parser process would be)
# that outlives it and prints its pid.
KILLED_LOAD = """
import os, signal, sys, time
from app.db import Database
from app.ingest.bulk import deferred_sort_indexes
with deferred_sort_indexes(Database(sys.argv[1])) as deferred:
    assert deferred
    child = os.fork()
    if child == 0:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 1)  # so that the test sees the output end when the load dies
        os.dup2(null, 2)
        time.sleep(60)
        os._exit(0)
    print(child, flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
"""


def test_the_next_command_rebuilds_what_a_killed_load_left(db, database_url):
    migrated = indexes(db)
    killed = subprocess.run(
        [sys.executable, "-c", KILLED_LOAD, database_url], cwd=ROOT, capture_output=True
    )
    assert killed.returncode == -9, killed.stderr
    orphan = int(killed.stdout)
    try:
        assert SORT_NAMES.isdisjoint(indexes(db))
        # PostgreSQL releases the dead session's advisory lock once it sees the socket
        # close; the orphan holds no copy of the lock (file or socket) to keep it alive.
        deadline = time.monotonic() + 10
        while indexes(db) != migrated and time.monotonic() < deadline:
            upgrade(db.engine)
            time.sleep(0.05)
        assert indexes(db) == migrated
        os.kill(orphan, 0)  # still alive all along
    finally:
        os.kill(orphan, signal.SIGKILL)


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
