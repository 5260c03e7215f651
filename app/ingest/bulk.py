"""Bulk loads into an empty store build the listing indexes once, at the end.

Keeping the 20 covering sort indexes up to date row by row is most of what writing a
document costs, and it grows with the store: each insert lands on a random page of every
index. Building an index from the loaded table is one sort instead. A store with no
articles lists nothing yet, so dropping them there costs no reader an index it was using.
"""

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine, Index, inspect, select

from app.db import Database
from app.models import SORT_INDEXES, Article


@contextmanager
def deferred_sort_indexes(db: Database) -> Iterator[bool]:
    """Drop the sort indexes if the store holds no articles; rebuild them on the way out.

    Yields whether they were dropped. They are rebuilt however the block ends; a process
    killed before that leaves them to `create_missing_sort_indexes`, which every command
    runs on start through `app.migrate.upgrade`.
    """
    # On the table, not the ORM entity: that would configure every mapper (20 ms), a
    # twentieth of an unchanged re-ingest. Read first: a write transaction would bump the
    # data version (and so empty every cache) for the common case, a filled store.
    first = select(Article.__table__.c.id).limit(1)
    with db.read() as snapshot:
        empty = snapshot.scalar(first) is None
    if empty:
        with db.write() as session:
            # Again under the write lock: another writer may have stored one since.
            empty = session.scalar(first) is None
            if empty:
                conn = session.connection()
                for index in _present(conn):
                    index.drop(conn)
    try:
        yield empty
    finally:
        if empty:
            with db.write() as session:
                _create(session.connection())


def create_missing_sort_indexes(engine: Engine) -> None:
    """Create whichever sort indexes are missing (a bulk load was interrupted)."""
    with engine.begin() as conn:
        _create(conn)


def _create(conn: Connection) -> None:
    present = {index.name for index in _present(conn)}
    for index in SORT_INDEXES:
        if index.name not in present:
            index.create(conn)


def _present(conn: Connection) -> list[Index]:
    inspector = inspect(conn)
    names = {
        found["name"]
        for table in {index.table.name for index in SORT_INDEXES}  # type: ignore[union-attr]
        for found in inspector.get_indexes(table)
    }
    return [index for index in SORT_INDEXES if index.name in names]
