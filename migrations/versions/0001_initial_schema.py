"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-26

Full-text search objects differ per backend and live outside the ORM metadata:
SQLite gets an FTS5 table (porter stemmer) that the loader keeps in sync; PostgreSQL
gets a text search configuration without stop words (so both engines match the same
words) and a GIN expression index that the search query repeats verbatim.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


SEARCH_TEXT = (
    "coalesce(title, '') || ' ' || coalesce(excerpt, '') || ' ' || left(coalesce(body, ''), 100000)"
)


def upgrade() -> None:
    op.create_table(
        "data_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_version")),
    )
    op.create_table(
        "providers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "domain", sa.Text().with_variant(sa.Text(collation="C"), "postgresql"), nullable=False
        ),
        sa.Column(
            "name", sa.Text().with_variant(sa.Text(collation="C"), "postgresql"), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_providers")),
        sa.UniqueConstraint("domain", name=op.f("uq_providers_domain")),
    )
    op.create_table(
        "topics",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "slug", sa.Text().with_variant(sa.Text(collation="C"), "postgresql"), nullable=False
        ),
        sa.Column(
            "name", sa.Text().with_variant(sa.Text(collation="C"), "postgresql"), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_topics")),
        sa.UniqueConstraint("slug", name=op.f("uq_topics_slug")),
    )
    op.create_table(
        "uploads",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("status_code", sa.SmallInteger(), nullable=False),
        sa.Column(
            "report",
            sa.JSON().with_variant(sa.JSON(none_as_null=True), "postgresql"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_uploads")),
    )
    op.create_table(
        "articles",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("state", sa.SmallInteger(), nullable=False),
        sa.Column(
            "title", sa.Text().with_variant(sa.Text(collation="C"), "postgresql"), nullable=True
        ),
        sa.Column("excerpt", sa.Text(), nullable=True),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("category", sa.Text(), nullable=True),
        sa.Column("type", sa.Text(), nullable=True),
        sa.Column("locale", sa.Text(), nullable=True),
        sa.Column("published", sa.Boolean(), nullable=False),
        sa.Column("published_at", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.Column("web_url", sa.Text(), nullable=True),
        sa.Column("original_url", sa.Text(), nullable=True),
        sa.Column("amp_web_url", sa.Text(), nullable=True),
        sa.Column("cdn_amp_web_url", sa.Text(), nullable=True),
        sa.Column("quality", sa.Integer(), nullable=True),
        sa.Column("heat", sa.BigInteger(), nullable=True),
        sa.Column("provider_id", sa.Integer(), nullable=True),
        sa.Column("secured", sa.Text(), nullable=True),
        sa.Column(
            "extra", sa.JSON().with_variant(sa.JSON(none_as_null=True), "postgresql"), nullable=True
        ),
        sa.Column("source_sha256", sa.String(length=64), nullable=True),
        sa.Column("ingested_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["provider_id"], ["providers.id"], name=op.f("fk_articles_provider_id_providers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_articles")),
    )
    with op.batch_alter_table("articles", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_articles_category"), ["category"], unique=False)
        batch_op.create_index(
            "ix_articles_heat",
            [sa.literal_column("state"), sa.literal_column("heat"), sa.literal_column("id")],
            unique=False,
        )
        batch_op.create_index(
            "ix_articles_heat_desc",
            [sa.literal_column("state"), sa.literal_column("heat DESC"), sa.literal_column("id")],
            unique=False,
        )
        batch_op.create_index(
            "ix_articles_provider_heat",
            [
                sa.literal_column("provider_id"),
                sa.literal_column("state"),
                sa.literal_column("heat"),
                sa.literal_column("id"),
            ],
            unique=False,
        )
        batch_op.create_index(
            "ix_articles_provider_heat_desc",
            [
                sa.literal_column("provider_id"),
                sa.literal_column("state"),
                sa.literal_column("heat DESC"),
                sa.literal_column("id"),
            ],
            unique=False,
        )
        batch_op.create_index(
            "ix_articles_provider_published_at",
            [
                sa.literal_column("provider_id"),
                sa.literal_column("state"),
                sa.literal_column("published_at"),
                sa.literal_column("id"),
            ],
            unique=False,
        )
        batch_op.create_index(
            "ix_articles_provider_published_at_desc",
            [
                sa.literal_column("provider_id"),
                sa.literal_column("state"),
                sa.literal_column("published_at DESC"),
                sa.literal_column("id"),
            ],
            unique=False,
        )
        batch_op.create_index(
            "ix_articles_provider_quality",
            [
                sa.literal_column("provider_id"),
                sa.literal_column("state"),
                sa.literal_column("quality"),
                sa.literal_column("id"),
            ],
            unique=False,
        )
        batch_op.create_index(
            "ix_articles_provider_quality_desc",
            [
                sa.literal_column("provider_id"),
                sa.literal_column("state"),
                sa.literal_column("quality DESC"),
                sa.literal_column("id"),
            ],
            unique=False,
        )
        batch_op.create_index(
            "ix_articles_published_at",
            [
                sa.literal_column("state"),
                sa.literal_column("published_at"),
                sa.literal_column("id"),
            ],
            unique=False,
        )
        batch_op.create_index(
            "ix_articles_published_at_desc",
            [
                sa.literal_column("state"),
                sa.literal_column("published_at DESC"),
                sa.literal_column("id"),
            ],
            unique=False,
        )
        batch_op.create_index(
            "ix_articles_quality",
            [sa.literal_column("state"), sa.literal_column("quality"), sa.literal_column("id")],
            unique=False,
        )
        batch_op.create_index(
            "ix_articles_quality_desc",
            [
                sa.literal_column("state"),
                sa.literal_column("quality DESC"),
                sa.literal_column("id"),
            ],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_articles_source_sha256"), ["source_sha256"], unique=False
        )
        batch_op.create_index(
            "ix_articles_title",
            [sa.literal_column("state"), sa.literal_column("title"), sa.literal_column("id")],
            unique=False,
        )
        batch_op.create_index(
            "ix_articles_title_desc",
            [sa.literal_column("state"), sa.literal_column("title DESC"), sa.literal_column("id")],
            unique=False,
        )
        batch_op.create_index(batch_op.f("ix_articles_type"), ["type"], unique=False)

    op.create_table(
        "article_images",
        sa.Column(
            "article_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("position", sa.SmallInteger(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("is_cached", sa.Boolean(), nullable=True),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("attribution", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["articles.id"],
            name=op.f("fk_article_images_article_id_articles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("article_id", "position", name=op.f("pk_article_images")),
    )
    op.create_table(
        "article_related",
        sa.Column(
            "source_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("position", sa.SmallInteger(), nullable=False),
        sa.Column(
            "target_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["articles.id"],
            name=op.f("fk_article_related_source_id_articles"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["target_id"],
            ["articles.id"],
            name=op.f("fk_article_related_target_id_articles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("source_id", "position", name=op.f("pk_article_related")),
        sa.UniqueConstraint(
            "source_id", "target_id", name=op.f("uq_article_related_source_id_target_id")
        ),
    )
    with op.batch_alter_table("article_related", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_article_related_target_id"), ["target_id"], unique=False
        )

    op.create_table(
        "article_sources",
        sa.Column(
            "article_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["articles.id"],
            name=op.f("fk_article_sources_article_id_articles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("article_id", name=op.f("pk_article_sources")),
    )
    op.create_table(
        "article_tags",
        sa.Column(
            "article_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("position", sa.SmallInteger(), nullable=False),
        sa.Column(
            "tag", sa.Text().with_variant(sa.Text(collation="C"), "postgresql"), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["articles.id"],
            name=op.f("fk_article_tags_article_id_articles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("article_id", "position", name=op.f("pk_article_tags")),
    )
    with op.batch_alter_table("article_tags", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_article_tags_tag"), ["tag"], unique=False)

    op.create_table(
        "article_topics",
        sa.Column(
            "article_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("topic_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.SmallInteger(), nullable=False),
        sa.Column("state", sa.SmallInteger(), nullable=False),
        sa.Column("heat", sa.BigInteger(), nullable=True),
        sa.Column("quality", sa.Integer(), nullable=True),
        sa.Column("published_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["articles.id"],
            name=op.f("fk_article_topics_article_id_articles"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["topic_id"], ["topics.id"], name=op.f("fk_article_topics_topic_id_topics")
        ),
        sa.PrimaryKeyConstraint("article_id", "topic_id", name=op.f("pk_article_topics")),
    )
    with op.batch_alter_table("article_topics", schema=None) as batch_op:
        batch_op.create_index(
            "ix_article_topics_topic_heat",
            [
                sa.literal_column("topic_id"),
                sa.literal_column("state"),
                sa.literal_column("heat"),
                sa.literal_column("article_id"),
            ],
            unique=False,
        )
        batch_op.create_index(
            "ix_article_topics_topic_heat_desc",
            [
                sa.literal_column("topic_id"),
                sa.literal_column("state"),
                sa.literal_column("heat DESC"),
                sa.literal_column("article_id"),
            ],
            unique=False,
        )
        batch_op.create_index(
            "ix_article_topics_topic_published_at",
            [
                sa.literal_column("topic_id"),
                sa.literal_column("state"),
                sa.literal_column("published_at"),
                sa.literal_column("article_id"),
            ],
            unique=False,
        )
        batch_op.create_index(
            "ix_article_topics_topic_published_at_desc",
            [
                sa.literal_column("topic_id"),
                sa.literal_column("state"),
                sa.literal_column("published_at DESC"),
                sa.literal_column("article_id"),
            ],
            unique=False,
        )
        batch_op.create_index(
            "ix_article_topics_topic_quality",
            [
                sa.literal_column("topic_id"),
                sa.literal_column("state"),
                sa.literal_column("quality"),
                sa.literal_column("article_id"),
            ],
            unique=False,
        )
        batch_op.create_index(
            "ix_article_topics_topic_quality_desc",
            [
                sa.literal_column("topic_id"),
                sa.literal_column("state"),
                sa.literal_column("quality DESC"),
                sa.literal_column("article_id"),
            ],
            unique=False,
        )

    op.execute("INSERT INTO data_version (id, version) VALUES (1, 0)")
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "CREATE VIRTUAL TABLE article_fts USING fts5("
            "title, excerpt, body, tokenize = 'porter unicode61 remove_diacritics 2')"
        )
    else:
        op.execute(
            "CREATE TEXT SEARCH DICTIONARY newsdesk_stem (TEMPLATE = snowball, LANGUAGE = english)"
        )
        op.execute("CREATE TEXT SEARCH CONFIGURATION newsdesk (COPY = english)")
        op.execute(
            "ALTER TEXT SEARCH CONFIGURATION newsdesk ALTER MAPPING FOR "
            "asciiword, asciihword, hword_asciipart, word, hword, hword_part WITH newsdesk_stem"
        )
        op.execute(
            "CREATE INDEX ix_articles_search ON articles "
            f"USING gin (to_tsvector('newsdesk'::regconfig, {SEARCH_TEXT}))"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TABLE article_fts")
    else:
        op.execute("DROP INDEX ix_articles_search")
        op.execute("DROP TEXT SEARCH CONFIGURATION newsdesk")
        op.execute("DROP TEXT SEARCH DICTIONARY newsdesk_stem")
    with op.batch_alter_table("article_topics", schema=None) as batch_op:
        batch_op.drop_index("ix_article_topics_topic_quality_desc")
        batch_op.drop_index("ix_article_topics_topic_quality")
        batch_op.drop_index("ix_article_topics_topic_published_at_desc")
        batch_op.drop_index("ix_article_topics_topic_published_at")
        batch_op.drop_index("ix_article_topics_topic_heat_desc")
        batch_op.drop_index("ix_article_topics_topic_heat")

    op.drop_table("article_topics")
    with op.batch_alter_table("article_tags", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_article_tags_tag"))

    op.drop_table("article_tags")
    op.drop_table("article_sources")
    with op.batch_alter_table("article_related", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_article_related_target_id"))

    op.drop_table("article_related")
    op.drop_table("article_images")
    with op.batch_alter_table("articles", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_articles_type"))
        batch_op.drop_index("ix_articles_title_desc")
        batch_op.drop_index("ix_articles_title")
        batch_op.drop_index(batch_op.f("ix_articles_source_sha256"))
        batch_op.drop_index("ix_articles_quality_desc")
        batch_op.drop_index("ix_articles_quality")
        batch_op.drop_index("ix_articles_published_at_desc")
        batch_op.drop_index("ix_articles_published_at")
        batch_op.drop_index("ix_articles_provider_quality_desc")
        batch_op.drop_index("ix_articles_provider_quality")
        batch_op.drop_index("ix_articles_provider_published_at_desc")
        batch_op.drop_index("ix_articles_provider_published_at")
        batch_op.drop_index("ix_articles_provider_heat_desc")
        batch_op.drop_index("ix_articles_provider_heat")
        batch_op.drop_index("ix_articles_heat_desc")
        batch_op.drop_index("ix_articles_heat")
        batch_op.drop_index(batch_op.f("ix_articles_category"))

    op.drop_table("articles")
    op.drop_table("uploads")
    op.drop_table("topics")
    op.drop_table("providers")
    op.drop_table("data_version")
