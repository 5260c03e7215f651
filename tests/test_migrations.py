"""Alembic is the only way the schema is made: it must match the models on both engines."""

import subprocess
import sys
from collections.abc import Callable
from datetime import datetime

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from fastapi.testclient import TestClient
from sqlalchemy import JSON, Engine, column, create_engine, func, inspect, select, table
from sqlalchemy.exc import DBAPIError

from app.config import Settings
from app.db import Database
from app.main import create_app
from app.migrate import HEAD, alembic_config, at_head, include_object, upgrade
from app.models import Base, Upload, UploadResult
from tests.conftest import AUTH


def test_models_and_migrations_agree(db: Database) -> None:
    with db.engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"include_object": include_object, "compare_type": True}
        )
        assert compare_metadata(context, Base.metadata) == []


def test_head_names_the_newest_migration() -> None:
    assert ScriptDirectory.from_config(alembic_config()).get_heads() == [HEAD]


def test_upgrade_brings_an_older_database_to_head(db: Database) -> None:
    migrate(db.engine, command.downgrade, "0002")
    assert not at_head(db.engine)
    upgrade(db.engine)
    assert at_head(db.engine)
    with db.engine.connect() as conn:
        assert MigrationContext.configure(conn).get_current_heads() == (HEAD,)


def test_at_head_raises_what_is_not_a_missing_schema(tmp_path) -> None:
    """An empty database is behind; a broken one is an error (/readyz: unreachable)."""
    engine = create_engine(f"sqlite:///{tmp_path / 'broken.db'}")
    assert not at_head(engine)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE alembic_version (something_else INTEGER)")
    with pytest.raises(DBAPIError):
        at_head(engine)
    engine.dispose()


def test_upgrade_at_head_does_not_load_alembic(db: Database) -> None:
    # A fresh interpreter: the test process itself has imported Alembic long ago.
    check = (
        "import sys; from app.db import Database; from app.migrate import upgrade; "
        f"upgrade(Database({db.engine.url.render_as_string(hide_password=False)!r}).engine); "
        "assert 'alembic' not in sys.modules, 'alembic was imported'"
    )
    done = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_database_is_at_head_with_search_objects(db: Database) -> None:
    assert at_head(db.engine)
    names = set(inspect(db.engine).get_table_names())
    assert {
        "articles",
        "providers",
        "topics",
        "article_topics",
        "uploads",
        "upload_results",
    } <= names
    if db.dialect == "sqlite":
        assert "article_fts" in names
    else:
        indexes = {ix["name"] for ix in inspect(db.engine).get_indexes("articles")}
        assert "ix_articles_search" in indexes


def test_constraint_names_follow_the_convention(db: Database) -> None:
    inspector = inspect(db.engine)
    assert inspector.get_pk_constraint("articles")["name"] in ("pk_articles", None)
    foreign = {fk["name"] for fk in inspector.get_foreign_keys("article_topics")}
    assert "fk_article_topics_topic_id_topics" in foreign
    uniques = {uq["name"] for uq in inspector.get_unique_constraints("topics")}
    assert "uq_topics_slug" in uniques
    assert inspector.get_pk_constraint("upload_results")["name"] in ("pk_upload_results", None)
    foreign = {fk["name"] for fk in inspector.get_foreign_keys("upload_results")}
    assert foreign == {"fk_upload_results_upload_id_uploads"}


def migrate(engine: Engine, step: Callable[[Config, str], None], revision: str) -> None:
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        step(config, revision)


CREATED = datetime(2026, 1, 2, 3, 4, 5)
# Reports as revision 0001 stored them: one JSON value per upload.
OLD_REPORTS = [
    (
        207,
        {
            "id": "a" * 32,
            "results": [
                {"source": "batch.zip/a.md", "status": "created", "id": "1b5f2c3d4e5f6a7b",
                 "webUrl": "https://example.com/a", "errors": []},
                {"source": "bad.md", "status": "rejected", "id": None, "webUrl": None,
                 "errors": [{"field": "quality", "message": "must be between 0 and 100"},
                            {"field": None, "message": "caf\u00e9 \u2014 \U0001f525"}]},
                {"source": "again.md", "status": "unchanged", "id": "1b5f2c3d4e5f6a7b",
                 "webUrl": "https://example.com/a", "errors": []},
            ],
            "summary": {"created": 1, "updated": 0, "unchanged": 1, "rejected": 1},
        },
    ),
    (422, {"id": "b" * 32, "results": [],
           "summary": {"created": 0, "updated": 0, "unchanged": 0, "rejected": 0}}),
]  # fmt: skip
OLD_UPLOADS = table(
    "uploads", column("id"), column("created_at"), column("status_code"), column("report", JSON)
)


def old_reports(engine: Engine) -> list[tuple[int, dict]]:
    with engine.connect() as conn:
        query = select(OLD_UPLOADS.c.status_code, OLD_UPLOADS.c.report).order_by(OLD_UPLOADS.c.id)
        return [(status, report) for status, report in conn.execute(query)]


@pytest.mark.parametrize("upgrades", [1, 2], ids=["once", "twice"])
def test_0002_moves_reports_into_rows_and_back(
    db: Database, settings: Settings, upgrades: int
) -> None:
    """Old JSON reports become rows and read back the same; downgrading restores the JSON."""
    try:
        migrate(db.engine, command.downgrade, "0001")
        with db.engine.begin() as conn:
            rows = [
                {"id": report["id"], "created_at": CREATED, "status_code": status, "report": report}
                for status, report in OLD_REPORTS
            ]
            conn.execute(OLD_UPLOADS.insert(), rows)
        for _ in range(upgrades):
            migrate(db.engine, command.upgrade, "head")
            with db.read() as session:
                assert session.scalar(select(func.count()).select_from(UploadResult)) == 3
                finished = select(func.count()).where(Upload.finished_at == Upload.created_at)
                assert session.scalar(finished) == 2
            with TestClient(create_app(settings, db)) as client:
                for _, report in OLD_REPORTS:
                    response = client.get(f"/v1/uploads/{report['id']}", headers=AUTH)
                    assert response.status_code == 200
                    assert response.json() == report
            # An unfinished upload has no report to go back to: downgrading drops it.
            with db.write() as session:
                session.add(Upload(id="c" * 32, created_at=CREATED, atomic=False))
            migrate(db.engine, command.downgrade, "0001")
            assert old_reports(db.engine) == OLD_REPORTS
            assert "upload_results" not in inspect(db.engine).get_table_names()
    finally:
        migrate(db.engine, command.upgrade, "head")
    assert at_head(db.engine)


def sqlite_tables(engine: Engine) -> dict[str, str]:
    with engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL")
        return dict(rows.tuples().all())


def test_child_tables_are_clustered_as_the_models_say(tmp_path) -> None:
    """Autogenerate does not compare WITHOUT ROWID (SQLite's alone): the stored SQL must."""
    database = Database(f"sqlite:///{tmp_path / 'clustered.db'}")
    upgrade(database.engine)
    stored = sqlite_tables(database.engine)
    database.dispose()
    clustered = {
        name
        for name, table in Base.metadata.tables.items()
        if table.dialect_options["sqlite"]["with_rowid"] is False
    }
    assert clustered == {"article_topics", "article_tags", "article_images", "article_related"}
    for name in Base.metadata.tables:
        assert stored[name].endswith("WITHOUT ROWID") == (name in clustered), name


def test_0004_keeps_rows_and_indexes_both_ways(db: Database, seeded: TestClient) -> None:
    """Rebuilding the child tables keeps every row, constraint and descending index key."""

    children = ("article_topics", "article_tags", "article_images", "article_related")

    def snapshot() -> tuple[dict[str, list[tuple]], dict[str, str]]:
        with db.engine.connect() as conn:
            tables = [Base.metadata.tables[name] for name in children]
            rows = {t.name: sorted(tuple(row) for row in conn.execute(t.select())) for t in tables}
        if db.dialect != "sqlite":
            return rows, {}
        indexes = {n: s for n, s in sqlite_tables(db.engine).items() if n.startswith("ix_")}
        return rows, indexes

    def analyzed() -> set[str]:
        with db.engine.connect() as conn:
            return set(conn.exec_driver_sql("SELECT tbl FROM sqlite_stat1").scalars())

    if db.dialect == "sqlite":
        with db.engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
        assert set(children) <= analyzed()
    rows, indexes = snapshot()
    assert all(rows.values())
    migrate(db.engine, command.downgrade, "0003")
    assert snapshot() == (rows, indexes)
    if db.dialect == "sqlite":
        stored = sqlite_tables(db.engine)
        assert not any(stored[name].endswith("WITHOUT ROWID") for name in children)
        assert "heat DESC" in indexes["ix_article_topics_topic_heat_desc"]
    migrate(db.engine, command.upgrade, "head")
    assert snapshot() == (rows, indexes)
    if db.dialect == "sqlite":
        assert set(children) <= analyzed()
    test_models_and_migrations_agree(db)
    response = seeded.get("/v1/articles", params={"topic": "climate", "sort": "-heat"})
    assert len(response.json()["items"]) == 4
