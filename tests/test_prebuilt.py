"""Prebuilt statements answer exactly what SQLAlchemy's own execution answers."""

from datetime import datetime

import pytest
from sqlalchemy import bindparam, select, text

from app.db import Database
from app.ingest.parse import Limits
from app.ingest.run import ingest
from app.migrate import upgrade
from app.models import Article
from app.prebuilt import MAX_EXPANDED, Prebuilt, PrebuiltInsert
from tests.uploads.helpers import doc

COLUMNS = (Article.id, Article.title, Article.published, Article.published_at, Article.extra)


def test_rows_match_sqlalchemy_for_every_list_length_and_type(db):
    ingest(db, [
        # Every third story lacks a date and extra fields: NULLs skip the result processors.
        (f"{n}.md", doc(f"Story {n}", f"https://news.example.com/{n}", published=n % 2 == 0,
                        publishedDateTime=f"2024-02-{n + 1:02d}T10:00:00Z" if n % 3 else None,
                        custom={"n": n} if n % 3 else None))
        for n in range(6)
    ], Limits())  # fmt: skip
    ids = bindparam("ids", expanding=True)
    statement = (
        select(*COLUMNS)
        .where(Article.id.in_(ids), Article.title != bindparam("skip"))
        .order_by(Article.title)
        .limit(bindparam("limit"))
    )
    prebuilt = Prebuilt(statement)
    with db.read() as session:
        conn = session.connection()
        every = [row[0] for row in conn.execute(select(Article.id))]
        # Lists of several lengths, repeated, so that plans made for one length are reused.
        for size in (1, 3, 6, 3, 1, 6):
            params = {"ids": every[:size], "skip": "Story 0", "limit": 4}
            expected = [tuple(row) for row in conn.execute(statement, params)]
            assert prebuilt.rows(conn, params) == expected
    # Dates, booleans and JSON come back as Python values, not as SQLite's storage.
    undated = [row for row in expected if row[3] is None and row[4] is None]
    assert len(undated) == 1
    [_, _, published, published_at, extra] = next(row for row in expected if row[3] is not None)
    assert published_at.year == 2024 and isinstance(published, bool) and extra["custom"]["n"]


def test_bound_values_go_through_their_type_as_sqlalchemy_sends_them(db):
    """A datetime bound without SQLAlchemy's processor is stored text of another format."""
    ingest(db, [
        (f"{n}.md", doc(f"Story {n}", f"https://news.example.com/{n}",
                        publishedDateTime="2024-03-02T00:00:00Z"))
        for n in range(3)
    ], Limits())  # fmt: skip
    moment = bindparam("moment", type_=Article.published_at.type)
    same = Prebuilt(select(Article.title).where(Article.published_at == moment))
    with db.read() as session:
        found = same.rows(session.connection(), {"moment": datetime(2024, 3, 2)})
    assert len(found) == 3


def test_long_lists_keep_no_plan_of_their_own(db):
    """A client chooses how many topic= or provider= keys it sends: no plan per length."""
    ingest(db, [("0.md", doc("Story", "https://news.example.com/0"))], Limits())
    ids = bindparam("ids", expanding=True)
    prebuilt = Prebuilt(select(Article.title).where(Article.id.in_(ids)))
    with db.read() as session:
        conn = session.connection()
        [stored] = conn.execute(select(Article.id)).scalars()
        for size in (MAX_EXPANDED + 1, MAX_EXPANDED + 2, 5_000):
            given = [stored, *range(1, size)]
            assert prebuilt.rows(conn, {"ids": given}) == [("Story",)]
        planned = len(prebuilt._plans)
    assert planned == 0


def test_plans_kept_per_statement_are_bounded(db):
    """A statement with several client-sized lists keeps plans for a few combinations only."""
    ingest(db, [(f"{n}.md", doc(f"Story {n}", f"https://news.example.com/{n}")) for n in range(4)],
           Limits())  # fmt: skip
    ids, titles = bindparam("ids", expanding=True), bindparam("titles", expanding=True)
    statement = select(Article.title).where(Article.id.in_(ids), Article.title.in_(titles))
    prebuilt = Prebuilt(statement.order_by(Article.title), max_plans=2)
    with db.read() as session:
        conn = session.connection()
        every = list(conn.execute(select(Article.id, Article.title)))
        for size in (1, 2, 3, 4):
            params = {"ids": [i for i, _ in every[:size]], "titles": [t for _, t in every[:size]]}
            expected = [tuple(row) for row in conn.execute(statement, params)]
            assert len(expected) == size
            assert sorted(prebuilt.rows(conn, params)) == sorted(expected)
    if db.dialect == "sqlite":
        assert len(prebuilt._plans) == 2


def _article(n: int, like: int | None = None):
    """An article row; its values (not its id and URL) are those of article `like`."""
    k = n if like is None else like
    return {
        "id": n, "url": f"https://news.example.com/{n}", "state": 0, "title": f"Story {n}",
        "published": k % 2 == 0, "published_at": datetime(2024, 3, 2, 10, 30, k, 250 * (k % 2)),
        "extra": {"n": k} if k % 3 else None, "ingested_at": datetime(2024, 3, 3),
    }  # fmt: skip


def test_inserted_rows_are_stored_as_sqlalchemy_stores_them(db):
    """Dates, booleans, JSON and NULLs bound by the prebuilt insert are the same stored values."""
    table = Article.__table__
    prebuilt = PrebuiltInsert(lambda dialect, columns: table.insert())
    stored = "SELECT published, published_at, extra, ingested_at FROM articles WHERE id = :id"
    with db.write() as session:
        conn = session.connection()
        for n in range(1, 4):
            conn.execute(table.insert(), [_article(n)])
            prebuilt.run(conn, [_article(n + 10, like=n)])
            theirs = conn.execute(text(stored), {"id": n}).one()
            ours = conn.execute(text(stored), {"id": n + 10}).one()
            assert tuple(ours) == tuple(theirs)
        # Run again with the same keys: the statement built the first time is reused.
        prebuilt.run(conn, [_article(n) for n in range(20, 23)])
        assert len(prebuilt._built) == 1
        titles = conn.execute(select(Article.title).where(Article.id >= 20)).scalars()
        assert sorted(titles) == ["Story 20", "Story 21", "Story 22"]


def test_a_row_must_give_every_column_the_statement_binds(tmp_path):
    """On SQLite nothing fills in a value the rows lack (SQLAlchemy would, row by row)."""
    db = Database(f"sqlite:///{tmp_path / 'store.db'}")
    upgrade(db.engine)
    table = Article.__table__
    prebuilt = PrebuiltInsert(lambda dialect, columns: table.insert().values(state=bindparam("s")))
    with db.write() as session, pytest.raises(ValueError, match=r"\['s'\] missing"):
        prebuilt.run(session.connection(), [_article(1)])
    db.dispose()
