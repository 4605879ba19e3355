"""Classes: a teacher's join code, the students who joined it, the runs they posted.

Revision ID: 0002_classes
Revises: 0001_runs
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_classes"
down_revision = "0001_runs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "classes",
        sa.Column("code", sa.String(6), nullable=False),
        sa.Column("teacher", sa.String(64), nullable=False),
        sa.Column("assignment", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("code", name="pk_classes"),
    )
    op.create_index("ix_classes_teacher", "classes", ["teacher"])
    op.create_table(
        "students",
        sa.Column("class_code", sa.String(6), nullable=False),
        sa.Column("owner", sa.String(64), nullable=False),
        sa.Column("nickname", sa.String(24), nullable=False),
        sa.Column("joined_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["class_code"], ["classes.code"], name="fk_students_class_code_classes",
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("class_code", "owner", name="pk_students"),
    )
    op.create_index("ix_students_owner", "students", ["owner"])
    op.create_table(
        "posts",
        sa.Column("class_code", sa.String(6), nullable=False),
        sa.Column("run_id", sa.String(22), nullable=False),
        sa.Column("owner", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("posted_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("state IN ('posted', 'unposted', 'removed')", name="ck_posts_state"),
        sa.ForeignKeyConstraint(["class_code"], ["classes.code"], name="fk_posts_class_code_classes",
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name="fk_posts_run_id_runs", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("class_code", "run_id", name="pk_posts"),
    )
    op.create_index("ix_posts_class_code_posted_at", "posts", ["class_code", "posted_at"])


def downgrade() -> None:
    op.drop_index("ix_posts_class_code_posted_at", table_name="posts")
    op.drop_table("posts")
    op.drop_index("ix_students_owner", table_name="students")
    op.drop_table("students")
    op.drop_index("ix_classes_teacher", table_name="classes")
    op.drop_table("classes")
