"""one vocabulary: a concept keeps one column name (keputusan, alasan, region_kode, tingkat)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 18:00:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

# (table, old name, new name)
RENAMES = [
    ("human_task", "decision", "keputusan"),
    ("human_task", "reason", "alasan"),
    ("submission", "tahap", "tingkat"),
    ("update_cycle", "wilayah", "region_kode"),
    ("quality_flag", "level", "tingkat"),
    ("quality_flag", "ack_tier", "ack_tingkat"),
    ("aggregate_value", "kode_wilayah", "region_kode"),
]


def _rename(renames: list[tuple[str, str, str]]) -> None:
    # Native RENAME COLUMN (PostgreSQL, SQLite >= 3.25) keeps the indexes and constraints on the
    # column as they are; a batch copy of the table would lose the DESC of the inbox index.
    for table, old, new in renames:
        op.execute(f"ALTER TABLE {table} RENAME COLUMN {old} TO {new}")


def upgrade() -> None:
    _rename(RENAMES)
    # An item's flag has no region tier: its item says where it is.
    op.execute("UPDATE quality_flag SET tingkat = NULL WHERE tingkat = 'item'")
    with op.batch_alter_table("quality_flag") as batch_op:
        batch_op.alter_column("tingkat", existing_type=sa.String(length=10), nullable=True)


def downgrade() -> None:
    op.execute("UPDATE quality_flag SET tingkat = 'item' WHERE tingkat IS NULL")
    with op.batch_alter_table("quality_flag") as batch_op:
        batch_op.alter_column("tingkat", existing_type=sa.String(length=10), nullable=False)
    _rename([(table, new, old) for table, old, new in RENAMES])
