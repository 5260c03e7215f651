"""Run Alembic programmatically: the only way the schema is created outside tests."""

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, inspect, text

from app.ingest.bulk import create_missing_sort_indexes

if TYPE_CHECKING:
    from alembic.config import Config

ROOT = Path(__file__).resolve().parent.parent
# The newest revision under migrations/versions (tests/test_migrations.py keeps it so).
# Knowing it without Alembic lets a command on a database already at head skip importing
# Alembic and reading every migration script: a third of an unchanged re-ingest's time.
HEAD = "0004"
# Full-text search objects live outside the ORM metadata: they differ per backend.
SEARCH_OBJECTS = {"article_fts", "ix_articles_search"}


def include_object(
    obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
) -> bool:
    """Keep backend-specific search objects out of autogenerate comparisons."""
    return not (name in SEARCH_OBJECTS or (name or "").startswith("article_fts_"))


def alembic_config() -> "Config":
    from alembic.config import Config

    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    return config


def upgrade(engine: Engine) -> None:
    """Bring the schema to head, sort indexes an interrupted bulk load dropped included."""
    if not at_head(engine):
        from alembic import command

        config = alembic_config()
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    create_missing_sort_indexes(engine)


def at_head(engine: Engine) -> bool:
    """Whether the database's schema revision is HEAD (False for an empty database).

    Any other database error is raised: /readyz reports it as unreachable, not behind.
    """
    with engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return False
        revisions = connection.execute(text("SELECT version_num FROM alembic_version"))
        return {row[0] for row in revisions} == {HEAD}
