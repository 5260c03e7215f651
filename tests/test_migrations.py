"""Alembic is the only way the schema is made: it must match the models on both engines."""

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from app.db import Database
from app.migrate import at_head, include_object
from app.models import Base


def test_models_and_migrations_agree(db: Database) -> None:
    with db.engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"include_object": include_object, "compare_type": True}
        )
        assert compare_metadata(context, Base.metadata) == []


def test_database_is_at_head_with_search_objects(db: Database) -> None:
    assert at_head(db.engine)
    names = set(inspect(db.engine).get_table_names())
    assert {"articles", "providers", "topics", "article_topics", "uploads"} <= names
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
