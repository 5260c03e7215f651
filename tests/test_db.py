"""The data version behind ETags and the response cache sees every commit, from any process."""

import sqlite3
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from app.config import Settings
from app.db import Database
from app.ingest.parse import Limits
from app.ingest.run import ingest
from app.main import create_app


def test_data_version_sees_commits_of_other_connections(database_url: str) -> None:
    reader, writer = Database(database_url), Database(database_url)
    try:
        before = reader.data_version()
        assert reader.data_version() == before
        with writer.write():
            pass
        assert reader.data_version() == before + 1
        with reader.write():
            pass
        assert writer.data_version() == before + 2 == reader.data_version()
    finally:
        reader.dispose()
        writer.dispose()


def test_the_version_read_recovers_from_a_dropped_connection(database_url: str) -> None:
    """PostgreSQL's version is read on a connection of its own: a server that drops it (a
    restart, an idle timeout) costs a reconnection, not an error."""
    reader, writer = Database(database_url), Database(database_url)
    try:
        before = reader.data_version()
        if reader.dialect == "postgresql":
            pid = reader._version_conns[0].info.backend_pid
            with writer.engine.connect() as conn:
                assert conn.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        with writer.write():
            pass
        assert reader.data_version() == before + 1
    finally:
        reader.dispose()
        writer.dispose()


def test_a_refused_begin_is_sqlalchemys_operational_error(tmp_path: Path) -> None:
    """SQLite's BEGIN runs on the driver; its errors still reach callers as SQLAlchemy's."""
    url = f"sqlite:///{tmp_path / 'locked.db'}"
    db = Database(url)
    holder = sqlite3.connect(tmp_path / "locked.db", isolation_level=None)
    try:
        with db.engine.connect() as conn:
            # The pool hands this connection out again: no 30 s wait on the lock below.
            conn.exec_driver_sql("PRAGMA busy_timeout=0")
        holder.execute("BEGIN IMMEDIATE")
        refused = pytest.raises(OperationalError, match="database is locked")
        with refused, db.engine.connect() as conn:
            conn.info["write"] = True
            conn.begin()
    finally:
        holder.close()
        db.dispose()


def test_a_store_without_a_data_version_row_is_served_uncached(database_url: str) -> None:
    """The row is the migrations' own; should it go missing, reads work, uncached."""
    db = Database(database_url, item_cache_bytes=1024 * 1024)  # as the server builds it
    with db.engine.begin() as conn:
        row = conn.execute(text("SELECT * FROM data_version")).mappings().one()
        conn.execute(text("DELETE FROM data_version"))
    try:
        settings = Settings(database_url=database_url, _env_file=None)  # type: ignore[call-arg]
        with TestClient(create_app(settings, db)) as client:
            ingest(db, [("a.md", b"---\ntitle: A\nwebUrl: https://news.example.com/a\n---\n")],
                   Limits())  # fmt: skip
            response = client.get("/v1/articles")
            assert response.status_code == 200, response.text
            assert [item["title"] for item in response.json()["items"]] == ["A"]
            assert "etag" not in response.headers
    finally:
        # PostgreSQL test databases are emptied and handed out again, this table excepted.
        with db.engine.begin() as conn:
            columns = ", ".join(row)
            conn.execute(
                text(f"INSERT INTO data_version ({columns}) VALUES (:{', :'.join(row)})"), dict(row)
            )
        db.dispose()
