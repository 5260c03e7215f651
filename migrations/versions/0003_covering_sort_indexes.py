"""sort indexes cover the filter columns

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26

Listings filter on quality, heat, publication date and provider while walking a sort
index; with only (state, key, id) in the index each candidate cost a read of its article
row, bodies included, and `count=true` read every matching row. The other filter columns
now follow the id in every sort index, so filters and counts are answered from the index
(count of 48k matches at 100k articles: 144 ms -> 10 ms on SQLite).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCORES = ("heat", "quality", "published_at")
# (index name prefix, table, leading equality columns, id column, sort keys)
FAMILIES = (
    ("articles", "articles", (), "id", (*SCORES, "title")),
    ("articles_provider", "articles", ("provider_id",), "id", SCORES),
    ("article_topics_topic", "article_topics", ("topic_id",), "article_id", SCORES),
)


def _indexes(covering: bool) -> list[tuple[str, str, list[str]]]:
    found = []
    for prefix, table, lead, id_col, keys in FAMILIES:
        covered = [*SCORES, *(["provider_id"] if table == "articles" and not lead else [])]
        for key in keys:
            rest = [c for c in covered if c != key] if covering else []
            for suffix, sort in (("", key), ("_desc", f"{key} DESC")):
                found.append(
                    (table, f"ix_{prefix}_{key}{suffix}", [*lead, "state", sort, id_col, *rest])
                )
    return found


def _rebuild(covering: bool) -> None:
    for table, name, columns in _indexes(covering):
        op.drop_index(name, table_name=table)
        op.create_index(name, table, [sa.literal_column(c) for c in columns], unique=False)


def upgrade() -> None:
    _rebuild(covering=True)


def downgrade() -> None:
    _rebuild(covering=False)
