"""Bulk loads into an empty store build the listing indexes once, at the end.

Keeping the 20 covering sort indexes up to date row by row is most of what writing a
document costs, and it grows with the store: each insert lands on a random page of every
index. Building an index from the loaded table is one sort instead. A store with no
articles lists nothing yet, so dropping them there costs no reader an index it was using.

A load holds the bulk lock from dropping the indexes until it has rebuilt them: a
PostgreSQL advisory lock, or on SQLite an flock on a `-bulk` file beside the database.
The operating system releases either when the process dies, so a command starting later
can tell a running load (whose indexes it must leave alone) from a killed one (whose
indexes it rebuilds), and only one process at a time drops or builds them.
"""

import fcntl
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine, Index, inspect, select, text

from app.db import Database, is_sqlite, write_connection
from app.models import SORT_INDEXES, Article

log = logging.getLogger(__name__)
# Any fixed 64-bit number, the same in every process: the advisory lock's name.
_PG_LOCK = 0x6E65_7773_6465_736B


@contextmanager
def deferred_sort_indexes(db: Database) -> Iterator[bool]:
    """Drop the sort indexes if the store holds no articles; rebuild them on the way out.

    Yields whether they were dropped. Another load already holding the bulk lock leaves
    this one to load row by row beside it (its rows are in the tables that load indexes
    at its end).
    """
    # On the table, not the ORM entity: that would configure every mapper (20 ms), a
    # twentieth of an unchanged re-ingest. Read first: a write transaction would bump the
    # data version (and so empty every cache) for the common case, a filled store.
    first = select(Article.__table__.c.id).limit(1)
    with db.read() as snapshot:
        filled = snapshot.scalar(first) is not None
    if filled:
        yield False
        return
    with _bulk_lock(db.engine) as held:
        deferred = False
        if held:
            with db.write() as session:
                # Again under the write lock: another writer may have stored one since.
                deferred = session.scalar(first) is None
                if deferred:
                    conn = session.connection()
                    for index in _present(conn):
                        index.drop(conn)
        try:
            yield deferred
        except BaseException:
            if deferred:
                try:
                    _create_missing(db.engine)
                except Exception:
                    # The load's own error is the one to report; the next command retries.
                    log.exception("could not rebuild the listing indexes")
            raise
        if deferred:
            _create_missing(db.engine)


def create_missing_sort_indexes(engine: Engine) -> None:
    """Create the sort indexes a killed bulk load left missing; leave a running load's alone.

    A failure is logged, not raised: listings work without the indexes, only slower.
    """
    with engine.connect() as conn:
        if len(_present(conn)) == len(SORT_INDEXES):
            return
    try:
        with _bulk_lock(engine) as held:
            if held:
                _create_missing(engine)
    except Exception:
        log.exception("could not rebuild the listing indexes; listings will be slow")


def _create_missing(engine: Engine) -> None:
    with engine.connect() as conn:
        present = {index.name for index in _present(conn)}
    for index in SORT_INDEXES:
        if index.name not in present:
            # One index per transaction, taking SQLite's write lock at BEGIN: a writer
            # waiting meanwhile waits for one index at most.
            with write_connection(engine) as conn, conn.begin():
                index.create(conn)


def _present(conn: Connection) -> list[Index]:
    inspector = inspect(conn)
    names = {
        found["name"]
        for table in {index.table.name for index in SORT_INDEXES}  # type: ignore[union-attr]
        for found in inspector.get_indexes(table)
    }
    return [index for index in SORT_INDEXES if index.name in names]


@contextmanager
def _bulk_lock(engine: Engine) -> Iterator[bool]:
    """Try to take the bulk lock; yield whether this process holds it."""
    if not is_sqlite(engine):
        held = False
        conn = engine.connect()
        try:
            try:
                taken = conn.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": _PG_LOCK})
                conn.commit()
                held = bool(taken)
            except BaseException:
                # A session lock outlives its transaction: never pool a session that
                # may hold it.
                conn.invalidate()
                raise
            yield held
        finally:
            if held:
                try:
                    conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _PG_LOCK})
                    conn.commit()
                except Exception:
                    # The session is gone (and its lock with it), or will be: the
                    # load's own outcome is what to report.
                    log.exception("could not release the bulk lock; closing its session")
                    conn.invalidate()
            conn.close()
        return
    database = engine.url.database
    if not database or database == ":memory:":
        yield True
        return
    # flock: per open file, released when its last descriptor closes (the parser
    # processes do not inherit it: see `parser_pool`). Not for NFS, where Linux turns it
    # into a per-process lock; SQLite's own locking does not work there either.
    fd = os.open(f"{database}-bulk", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)
