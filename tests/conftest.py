"""Real databases for every test: a fresh SQLite file and a fresh PostgreSQL database.

Each database-backed test runs once per backend. PostgreSQL databases are cloned from a
template migrated once per session with `alembic upgrade head`, and emptied for reuse.
Without a reachable PostgreSQL the PostgreSQL half is skipped, except under CI=true, where
it fails.
"""

import itertools
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import make_url

from app.config import MiB, Settings
from app.db import Database
from app.main import create_app
from app.migrate import upgrade
from app.models import Base

API_KEY = "test-key"
AUTH = {"Authorization": f"Bearer {API_KEY}"}
ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
POSTGRES_URL = os.environ.get(
    "NEWSDESK_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
BACKENDS = ["sqlite", "postgresql"]


class Backend:
    """Hands out empty, migrated databases of one kind."""

    def __init__(self, name: str, workdir: Path) -> None:
        self.name = name
        self.workdir = workdir
        self.counter = itertools.count()
        self.tag = f"nd_test_{os.getpid()}"
        if name == "sqlite":
            self.template = workdir / "template.db"
            engine = Database(f"sqlite:///{self.template}").engine
            upgrade(engine)
            engine.dispose()
        else:
            self.admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
            self.free: list[str] = []
            self.made: list[str] = []
            self.tables = ", ".join(
                t.name for t in Base.metadata.sorted_tables if t.name != "data_version"
            )
            with self.admin.connect() as conn:
                conn.execute(text(f"DROP DATABASE IF EXISTS {self.tag}_template WITH (FORCE)"))
                conn.execute(text(f"CREATE DATABASE {self.tag}_template"))
            engine = Database(self.url(f"{self.tag}_template")).engine
            upgrade(engine)
            engine.dispose()

    def url(self, database: str) -> str:
        return make_url(POSTGRES_URL).set(database=database).render_as_string(hide_password=False)

    def create(self) -> str:
        number = next(self.counter)
        if self.name == "sqlite":
            path = self.workdir / f"db{number}.db"
            shutil.copyfile(self.template, path)
            return f"sqlite:///{path}"
        # Emptying a migrated database is ten times faster than creating one, so databases
        # returned by drop() are reused; a new one is cloned only when all are in use.
        if self.free:
            url = self.free.pop()
            engine = create_engine(url)
            with engine.begin() as conn:
                conn.execute(text(f"TRUNCATE {self.tables} RESTART IDENTITY CASCADE"))
            engine.dispose()
            return url
        name = f"{self.tag}_{number}"
        with self.admin.connect() as conn:
            conn.execute(text(f"CREATE DATABASE {name} TEMPLATE {self.tag}_template"))
        self.made.append(name)
        return self.url(name)

    def drop(self, url: str) -> None:
        if self.name == "sqlite":
            Path(make_url(url).database or "").unlink(missing_ok=True)
        else:
            self.free.append(url)

    def close(self) -> None:
        if self.name == "postgresql":
            with self.admin.connect() as conn:
                for name in [*self.made, f"{self.tag}_template"]:
                    conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            self.admin.dispose()


def _postgres_unavailable() -> str | None:
    try:
        engine = create_engine(POSTGRES_URL)
        with engine.connect():
            pass
        engine.dispose()
    except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"
        return f"PostgreSQL not reachable at {POSTGRES_URL} ({type(exc).__name__})"
    return None


@pytest.fixture(scope="session", params=BACKENDS)
def backend(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Backend]:
    if request.param == "postgresql":
        reason = _postgres_unavailable()
        if reason is not None:
            if os.environ.get("CI") == "true":
                pytest.fail(f"{reason}; CI requires it")
            pytest.skip(reason)
    made = Backend(request.param, tmp_path_factory.mktemp(request.param))
    yield made
    made.close()


@pytest.fixture
def database_url(backend: Backend) -> Iterator[str]:
    url = backend.create()
    yield url
    backend.drop(url)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database_url,
        api_keys=[API_KEY],
        seeds_dir=SEEDS,
        _env_file=None,  # type: ignore[call-arg]
    )


@pytest.fixture
def db(settings: Settings) -> Iterator[Database]:
    # As the server builds it (app/main.py), item cache included.
    database = Database(settings.database_url, item_cache_bytes=settings.item_cache_mib * MiB)
    yield database
    database.dispose()


@pytest.fixture
def make_client(settings: Settings, db: Database) -> Iterator[Any]:
    clients: list[TestClient] = []

    def build(**overrides: Any) -> TestClient:
        app_settings = settings.model_copy(update=overrides) if overrides else settings
        client = TestClient(create_app(app_settings, db))
        # Entered once, so every request reuses one event loop thread instead of a new one.
        client.__enter__()
        clients.append(client)
        return client

    yield build
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client: Any) -> TestClient:
    return make_client()


@pytest.fixture
def seeded(client: TestClient, settings: Settings, db: Database) -> TestClient:
    """A client over a database holding the seeds, loaded as `newsdesk serve` does."""
    from app.cli import load_seeds

    assert load_seeds(settings, db) > 0
    return client


@contextmanager
def statements(db: Database) -> Iterator[list[str]]:
    """SQL statements the application runs inside the block.

    On SQLite the driver traces them, so statements that bypass SQLAlchemy's execution
    layer (app/prebuilt.py) are counted too; the pool is emptied so every connection
    used inside the block is a traced one.
    """
    seen: list[str] = []
    if db.dialect == "sqlite":

        def trace(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.set_trace_callback(seen.append)

        db.engine.dispose()
        event.listen(db.engine, "connect", trace)
        try:
            yield seen
        finally:
            event.remove(db.engine, "connect", trace)
            db.engine.dispose()
        return

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
