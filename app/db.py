"""Engine and session set-up for SQLite (embedded default) and PostgreSQL."""

import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from functools import partial
from typing import Any, TypeVar

from sqlalchemy import (
    Connection,
    CursorResult,
    Engine,
    Executable,
    ScalarResult,
    create_engine,
    event,
    select,
    update,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, NoResultFound
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from app.cache import VersionCache
from app.models import DataVersion

T = TypeVar("T")
_VERSION_SQL = "SELECT version FROM data_version"
# Idle connections kept for version reads per process (reads run in the thread pool).
VERSION_CONNECTIONS = 4
# The key of a read session's `info` under which its VersionCache is found.
CACHE = "version_cache"


def normalise_url(url: str) -> str:
    """Use psycopg 3 for plain `postgresql://` URLs."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any, *, cache_mib: int) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers run beside the single writer; NORMAL sync in WAL mode
    # survives a process crash (only an OS crash can lose the last commits).
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    # The page cache is per connection: 8 MiB each keeps a full pool of the server well
    # under its memory budget. No mmap: mapped pages count as resident memory of every worker.
    cursor.execute(f"PRAGMA cache_size=-{cache_mib * 1024}")
    cursor.close()


def make_engine(url: str, *, cache_mib: int = 8) -> Engine:
    """Create an engine with the pragmas and pool fitting its backend."""
    url = normalise_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            pool_size=8,
            max_overflow=0,
            # Reads run inline on the event loop, one at a time: reusing the most recent
            # connection keeps one page cache warm instead of eight lukewarm ones.
            pool_use_lifo=True,
        )
        event.listen(engine, "connect", partial(_sqlite_pragmas, cache_mib=cache_mib))
        # pysqlite's own transaction handling defers BEGIN; take the write
        # lock at BEGIN instead so a writer never fails half-way on upgrade.
        event.listen(engine, "connect", _disable_pysqlite_begin)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)


def _disable_pysqlite_begin(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None


def _sqlite_begin(conn: Any) -> None:
    # Straight to the driver: through exec_driver_sql this was a third of a read's set-up
    # (57 -> 40 us). Errors are wrapped as SQLAlchemy would, so callers see one kind.
    statement = "BEGIN IMMEDIATE" if conn.info.get("write") else "BEGIN"
    try:
        conn.connection.driver_connection.execute(statement)
    except sqlite3.Error as exc:
        raise DBAPIError.instance(statement, None, exc, sqlite3.Error) from None


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


class Database:
    """An engine, its session factory, and the in-process writer lock."""

    def __init__(self, url: str, *, cache_mib: int = 8, item_cache_bytes: int = 0) -> None:
        self.engine = make_engine(url, cache_mib=cache_mib)
        # Reads find it in `session.info`; services that do not look still work without it.
        self.cache = VersionCache(item_cache_bytes) if item_cache_bytes else None
        # A read is one snapshot: the statements of a page (articles, then their topics,
        # images...) must not straddle a concurrent commit. SQLite's BEGIN already does this.
        self.reads = self.engine
        if self.engine.dialect.name == "postgresql":
            self.reads = self.engine.execution_options(isolation_level="REPEATABLE READ")
        # SQLite allows one writer; serialising writers in the process avoids
        # busy-waiting on the database lock.
        self._write_lock = threading.Lock() if is_sqlite(self.engine) else None
        self._watch: sqlite3.Connection | None = None
        self._watch_lock = threading.Lock()
        self._watch_marker: int | None = None
        self._version: int | None = None
        if is_sqlite(self.engine) and self.engine.url.database not in (None, "", ":memory:"):
            self._watch = sqlite3.connect(
                self.engine.url.database, check_same_thread=False, isolation_level=None
            )
        # PostgreSQL: the version is read on connections of its own, in autocommit. Through
        # the pool a read took three round trips (the pre-ping, the query, the rollback
        # on return): 357 µs here against one round trip on these.
        self._version_conns: list[Any] = []

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    async def run(self, func: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """Run blocking database work for an async endpoint.

        SQLite answers from memory-mapped pages in well under a millisecond, so a thread
        hand-off would cost more than the query: it runs inline. PostgreSQL waits on the
        network, so it goes to the thread pool.
        """
        if self._write_lock is not None:
            return func(*args, **kwargs)
        return await run_in_threadpool(func, *args, **kwargs)

    async def read_with(self, func: Callable[..., T], /, **kwargs: Any) -> T:
        """`func(session=..., **kwargs)` in a read snapshot, run as `run` decides."""

        def work() -> T:
            with self.read() as session:
                return func(session=session, **kwargs)

        return await self.run(work)

    @contextmanager
    def read(self) -> Iterator["Snapshot"]:
        with self.reads.connect() as conn, conn.begin():
            yield Snapshot(conn, {CACHE: self.cache} if self.cache is not None else {})

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A write transaction that bumps the data version and commits on success."""
        lock = self._write_lock
        if lock is not None:
            lock.acquire()
        try:
            with (
                write_connection(self.engine) as conn,
                Session(bind=conn, expire_on_commit=False) as session,
            ):
                session.begin()
                yield session
                bump_version(session)
                session.commit()
        finally:
            if lock is not None:
                lock.release()

    def data_version(self) -> int:
        """The current data version; on SQLite answered without reading a table if unchanged."""
        if self.engine.dialect.name == "postgresql":
            return self._postgresql_version()
        if self._watch is None:
            with self.engine.connect() as conn:
                return int(conn.execute(select(DataVersion.version)).scalar_one())
        with self._watch_lock:
            # PRAGMA data_version changes whenever another connection (of any process) has
            # committed since this connection last asked: then, and only then, re-read.
            marker = self._watch.execute("PRAGMA data_version").fetchone()[0]
            if marker != self._watch_marker or self._version is None:
                row = self._watch.execute(_VERSION_SQL).fetchone()
                self._version, self._watch_marker = _version_of(row), marker
            return self._version

    def _postgresql_version(self) -> int:
        dbapi = self.engine.dialect.loaded_dbapi
        with self._watch_lock:
            kept = self._version_conns.pop() if self._version_conns else None
        # Connecting happens outside the lock, so an unreachable server makes each request
        # wait its own timeout, not the sum of everyone's.
        try:
            if kept is not None:
                try:
                    return self._read_version(kept)
                except dbapi.OperationalError:
                    pass  # dropped by the server (a restart): once more, on a new one
            return self._read_version(self._autocommit_connection())
        except dbapi.Error as exc:
            # As SQLAlchemy's own errors, which callers handle.
            raise DBAPIError.instance(_VERSION_SQL, None, exc, dbapi.Error) from None

    def _read_version(self, conn: Any) -> int:
        """The version read on `conn`, which is kept for the next read or closed."""
        try:
            row = conn.execute(_VERSION_SQL).fetchone()
        except BaseException:
            with suppress(self.engine.dialect.loaded_dbapi.Error):
                conn.close()
            raise
        with self._watch_lock:
            keep = len(self._version_conns) < VERSION_CONNECTIONS
            if keep:
                self._version_conns.append(conn)
        if not keep:
            conn.close()
        return _version_of(row)

    def _autocommit_connection(self) -> Any:
        args, kwargs = self.engine.dialect.create_connect_args(self.engine.url)
        return self.engine.dialect.loaded_dbapi.connect(*args, **kwargs, autocommit=True)

    def dispose(self) -> None:
        if self._watch is not None:
            self._watch.close()
            self._watch = None
        with self._watch_lock:
            kept, self._version_conns = self._version_conns, []
        for conn in kept:
            with suppress(self.engine.dialect.loaded_dbapi.Error):
                conn.close()
        self.engine.dispose()


def _version_of(row: Any) -> int:
    if row is None:
        raise NoResultFound("the data_version table has no row")
    return int(row[0])


@contextmanager
def write_connection(engine: Engine) -> Iterator[Connection]:
    """A connection whose transactions take SQLite's write lock at BEGIN (`_sqlite_begin`)."""
    with engine.connect() as conn:
        conn.info["write"] = True
        try:
            yield conn
        finally:
            # The flag lives on the pooled connection: reads must not inherit it.
            conn.info.pop("write", None)


class Snapshot:
    """A read: one pooled connection inside one transaction, so its statements see one state.

    It offers what read services use of a Session (they select columns, never ORM
    objects) without the ORM's unit of work: opening and closing a Session around each
    request cost a fifth of a topic-scoped listing (553 -> 697 req/s at 100k).
    """

    def __init__(self, conn: Connection, info: dict[str, Any]) -> None:
        self._conn = conn
        # Per-read state, such as the VersionCache under CACHE.
        self.info = info

    def connection(self) -> Connection:
        return self._conn

    def get_bind(self) -> Engine:
        return self._conn.engine

    def execute(self, statement: Executable, parameters: Any = None) -> CursorResult[Any]:
        return self._conn.execute(statement, parameters)

    def scalar(self, statement: Executable, parameters: Any = None) -> Any:
        return self._conn.scalar(statement, parameters)

    def scalars(self, statement: Executable, parameters: Any = None) -> ScalarResult[Any]:
        return self._conn.scalars(statement, parameters)


# What services that only read are given: a Snapshot, or a write's Session.
Reading = Snapshot | Session


def bump_version(session: Session) -> None:
    """Advance the data version so caches and ETags see the write."""
    session.execute(update(DataVersion).values(version=DataVersion.version + 1))
