"""Listings walk an index in key order and answer filters and counts from it (SQLite plans).

The plans are SQLite's, read with EXPLAIN QUERY PLAN from the statements a request ran, so
this test builds its own SQLite store whatever the backend under test.
"""

import random
import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.db import Database
from app.main import create_app
from app.migrate import upgrade
from tests.articles.helpers import generate, upload
from tests.conftest import API_KEY, statements

BY_ID = re.compile(r"(\.id|article_id|source_id|target_id) IN \(")
LISTINGS = [
    {"minQuality": "40", "minHeat": "20", "sort": "-heat"},
    {"minQuality": "40", "maxQuality": "90", "sort": "-publishedDateTime"},
    {"minHeat": "10", "publishedAfter": "2024-01-01T00:00:00Z", "sort": "quality"},
    {"topic": "ai", "minQuality": "30", "sort": "-heat"},
    {"topic": "ai", "minHeat": "30", "sort": "-quality"},
    {"provider": "alpha.example.com", "minQuality": "10", "sort": "-publishedDateTime"},
]


def query_string(params: dict[str, str]) -> str:
    """A test id that reads as the request's query."""
    return "&".join(f"{k}={v}" for k, v in params.items())


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Any:
    path = tmp_path_factory.mktemp("plans") / "plans.db"
    settings = Settings(
        database_url=f"sqlite:///{path}",
        api_keys=[API_KEY],
        _env_file=None,  # type: ignore[call-arg]
    )
    db = Database(settings.database_url)
    upgrade(db.engine)
    with TestClient(create_app(settings, db)) as client:
        upload(client, generate(random.Random(7), 300))
        with db.engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")
        yield client, db, path
    db.dispose()


def plans(path: Path, seen: list[str]) -> list[tuple[str, str]]:
    """(statement, plan) for every listing query: those reading sort keys of many rows."""
    found = []
    with sqlite3.connect(path) as conn:
        for sql in seen:
            # Item loads look rows up by id; they are not listing queries.
            if not sql.lstrip().upper().startswith("SELECT") or BY_ID.search(sql):
                continue
            rows = conn.execute(f"EXPLAIN QUERY PLAN {sql}").fetchall()
            found.append((sql, " | ".join(row[-1] for row in rows)))
    return found


def listing(store: Any, params: dict[str, str]) -> tuple[Any, list[str]]:
    """GET /v1/articles with `params`: the response and the statements it ran."""
    client, db, _ = store
    with statements(db) as seen:
        response = client.get("/v1/articles", params=params)
        assert response.status_code == 200, response.text
    return response, seen


@pytest.mark.parametrize("params", LISTINGS, ids=query_string)
def test_listing_walks_an_index_in_key_order(store: Any, params: dict[str, str]) -> None:
    _, seen = listing(store, {**params, "limit": "5"})
    listed = [(sql, plan) for sql, plan in plans(store[2], seen) if "LIMIT" in sql.upper()]
    assert listed, seen
    for sql, plan in listed:
        assert "USE TEMP B-TREE" not in plan, (sql, plan)
        assert "COVERING INDEX" in plan, (sql, plan)


@pytest.mark.parametrize("params", LISTINGS, ids=query_string)
def test_count_reads_only_an_index(store: Any, params: dict[str, str]) -> None:
    _, seen = listing(store, {**params, "limit": "5", "count": "true"})
    counts = [(sql, plan) for sql, plan in plans(store[2], seen) if "COUNT(" in sql.upper()]
    assert counts, seen
    for sql, plan in counts:
        assert "COVERING INDEX" in plan, (sql, plan)


@pytest.mark.parametrize(
    "params",
    [p for p in LISTINGS if "topic" not in p],
    ids=query_string,
)
def test_provider_facet_reads_no_article_row(store: Any, params: dict[str, str]) -> None:
    _, seen = listing(store, {**params, "facets": "provider"})
    facets = [(sql, plan) for sql, plan in plans(store[2], seen) if "providers.domain" in sql]
    assert facets, seen
    for sql, plan in facets:
        assert "COVERING INDEX" in plan and "INTEGER PRIMARY KEY" not in plan.replace(
            "SEARCH providers USING INTEGER PRIMARY KEY", ""
        ), (sql, plan)


@pytest.mark.parametrize(
    "params",
    [*LISTINGS, {"q": "generated", "minQuality": "10"}],
    ids=query_string,
)
def test_facets_count_by_id_before_joining_names(store: Any, params: dict[str, str]) -> None:
    """Grouping by the joined slug and name compared text on every match (slower at 1M)."""
    response, seen = listing(store, {**params, "facets": "topic,provider"})
    assert all(response.json()["facets"].values()), response.json()
    facets = [sql for sql in seen if "count(*) AS n" in sql]
    assert len(facets) == 2, seen
    for sql in facets:
        grouped = re.findall(r"GROUP BY ([^)]*)", sql)
        assert grouped and all(key.strip().endswith('"key"') for key in grouped), sql
