"""Alembic environment: the URL comes from the caller or from NEWSDESK_DATABASE_URL."""

from alembic import context
from sqlalchemy import Connection

from app.config import Settings
from app.db import make_engine
from app.models import Base

# Search tables live outside the ORM metadata: they differ per backend.
SEARCH_OBJECTS = {"article_fts", "ix_articles_search"}


def include_object(
    obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
) -> bool:
    return not (name in SEARCH_OBJECTS or (name or "").startswith("article_fts_"))


def run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        include_object=include_object,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is not None:
    run(connection)
else:
    engine = make_engine(
        context.config.get_main_option("sqlalchemy.url") or Settings().database_url
    )
    with engine.connect() as conn:
        run(conn)
    engine.dispose()
