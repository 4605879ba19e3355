"""The first schema: runs, their blobs, and the one-row lock that saves take.

Revision ID: 0001_runs
Revises:
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0001_runs"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "runs",
        sa.Column("id", sa.String(22), nullable=False),
        sa.Column("owner", sa.String(64), nullable=False),
        sa.Column("name", sa.String(80), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("arch", sa.String(32), nullable=False),
        sa.Column("dataset", sa.String(32), nullable=False),
        sa.Column("iterations", sa.Integer(), nullable=False),
        sa.Column("val_accuracy", sa.Float(), nullable=True),
        sa.Column("val_loss", sa.Float(), nullable=True),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("data_source", sa.String(200), nullable=False),
        sa.Column("curves", sa.JSON(), nullable=False),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("confusion", sa.JSON(), nullable=True),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("kind IN ('training', 'upload', 'compare')", name="ck_runs_kind"),
        sa.CheckConstraint(
            "status IN ('finished', 'stopped', 'failed', 'diverged')", name="ck_runs_status"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_runs"),
    )
    op.create_index("ix_runs_owner_created_at", "runs", ["owner", "created_at"])
    op.create_table(
        "run_blobs",
        sa.Column("run_id", sa.String(22), nullable=False),
        sa.Column("model", sa.LargeBinary(), nullable=True),
        sa.Column("twin", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name="fk_run_blobs_run_id_runs", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("run_id", name="pk_run_blobs"),
    )
    store_lock = op.create_table(
        "store_lock",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_store_lock"),
    )
    op.bulk_insert(store_lock, [{"id": 1}])


def downgrade() -> None:
    op.drop_table("store_lock")
    op.drop_table("run_blobs")
    op.drop_index("ix_runs_owner_created_at", table_name="runs")
    op.drop_table("runs")
