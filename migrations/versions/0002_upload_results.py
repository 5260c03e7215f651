"""upload results in a table of their own

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26

An upload's report was one JSON value holding every result, so a large upload held its
whole report in memory to store it and to return it. Results become rows of
`upload_results`, written batch by batch and read back in pages; `uploads` keeps the
upload's own row with its summary counts. Existing reports move into rows (and back into
JSON on downgrade).

SQLite rebuilds a table to change a column (batch mode), and dropping the old `uploads`
with foreign keys on would delete every referencing result (ON DELETE CASCADE). So
`uploads` is rebuilt only while no result references it: first thing on upgrade, last thing
on downgrade; `report` is dropped in place (ALTER TABLE DROP COLUMN, SQLite 3.35+).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON_VALUE = sa.JSON().with_variant(sa.JSON(none_as_null=True), "postgresql")
COUNTS = ("created", "updated", "unchanged", "rejected")

uploads = sa.table(
    "uploads",
    sa.column("id", sa.String()),
    sa.column("created_at", sa.DateTime()),
    sa.column("finished_at", sa.DateTime()),
    sa.column("status_code", sa.SmallInteger()),
    sa.column("report", sa.JSON()),
    *(sa.column(name, sa.Integer()) for name in COUNTS),
)
results = sa.table(
    "upload_results",
    sa.column("upload_id", sa.String()),
    sa.column("position", sa.Integer()),
    sa.column("source", sa.Text()),
    sa.column("status", sa.String()),
    sa.column("article_id", sa.String()),
    sa.column("web_url", sa.Text()),
    sa.column("errors", sa.JSON()),
)


def upgrade() -> None:
    with op.batch_alter_table("uploads", schema=None) as batch_op:
        batch_op.add_column(sa.Column("finished_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("atomic", sa.Boolean(), nullable=True))
        for name in COUNTS:
            batch_op.add_column(sa.Column(name, sa.Integer(), nullable=True))
        batch_op.alter_column("status_code", existing_type=sa.SmallInteger(), nullable=True)
    op.create_table(
        "upload_results",
        sa.Column("upload_id", sa.String(length=32), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=9), nullable=False),
        sa.Column("article_id", sa.String(length=16), nullable=True),
        sa.Column("web_url", sa.Text(), nullable=True),
        sa.Column("errors", JSON_VALUE, nullable=False),
        sa.ForeignKeyConstraint(
            ["upload_id"],
            ["uploads.id"],
            name=op.f("fk_upload_results_upload_id_uploads"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("upload_id", "position", name=op.f("pk_upload_results")),
    )
    bind = op.get_bind()
    # One report at a time: a large one is tens of megabytes of JSON.
    for upload_id in bind.execute(sa.select(uploads.c.id)).scalars().all():
        report = bind.execute(
            sa.select(uploads.c.report).where(uploads.c.id == upload_id)
        ).scalar_one()
        rows = [
            {
                "upload_id": upload_id,
                "position": position,
                "source": result["source"],
                "status": result["status"],
                "article_id": result["id"],
                "web_url": result["webUrl"],
                "errors": result["errors"],
            }
            for position, result in enumerate(report["results"])
        ]
        if rows:
            bind.execute(results.insert(), rows)
        # The old code stamped created_at when the report was stored, after the ingestion.
        counts = {name: report["summary"][name] for name in COUNTS}
        bind.execute(
            uploads.update()
            .where(uploads.c.id == upload_id)
            .values(finished_at=uploads.c.created_at, **counts)
        )
    op.drop_column("uploads", "report")


def downgrade() -> None:
    op.add_column("uploads", sa.Column("report", JSON_VALUE, nullable=True))
    bind = op.get_bind()
    # Unfinished uploads (running, or cut short by a crash) had no report to go back to.
    bind.execute(uploads.delete().where(uploads.c.status_code.is_(None)))
    for upload_id in bind.execute(sa.select(uploads.c.id)).scalars().all():
        counts = bind.execute(
            sa.select(*(uploads.c[name] for name in COUNTS)).where(uploads.c.id == upload_id)
        ).one()
        rows = bind.execute(
            sa.select(results).where(results.c.upload_id == upload_id).order_by(results.c.position)
        )
        report = {
            "id": upload_id,
            "results": [
                {
                    "source": row.source,
                    "status": row.status,
                    "id": row.article_id,
                    "webUrl": row.web_url,
                    "errors": row.errors,
                }
                for row in rows
            ],
            "summary": dict(counts._mapping),
        }
        bind.execute(uploads.update().where(uploads.c.id == upload_id).values(report=report))
    op.drop_table("upload_results")
    with op.batch_alter_table("uploads", schema=None) as batch_op:
        batch_op.alter_column("report", existing_type=JSON_VALUE, nullable=False)
        batch_op.alter_column("status_code", existing_type=sa.SmallInteger(), nullable=False)
        for name in reversed(COUNTS):
            batch_op.drop_column(name)
        batch_op.drop_column("atomic")
        batch_op.drop_column("finished_at")
