"""a submission's items read in order by their own index, and its register items counted from a
partial index: a page of a province-sized register, and the progress pages, no longer walk every
item of every period (PostgreSQL walked the primary key for a desa with nothing left unchecked)

Revision ID: 0047
Revises: 0046
Create Date: 2026-12-03 17:00:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0047'
down_revision = '0046'
branch_labels = None
depends_on = None

CARRIED = sa.text("source = 'register' AND dibuang IS false")
CARRIED_SQLITE = sa.text("source = 'register' AND dibuang IS 0")  # SQLite uses a partial index only for the same text


def upgrade() -> None:
    op.create_index("ix_submission_item_submission_id_id", "submission_item", ["submission_id", "id"])
    op.drop_index("ix_submission_item_submission_id", table_name="submission_item")
    op.create_index(
        "ix_submission_item_carried",
        "submission_item",
        ["submission_id", "verval"],
        postgresql_where=CARRIED,
        sqlite_where=CARRIED_SQLITE,
    )


def downgrade() -> None:
    op.drop_index("ix_submission_item_carried", table_name="submission_item")
    op.create_index("ix_submission_item_submission_id", "submission_item", ["submission_id"])
    op.drop_index("ix_submission_item_submission_id_id", table_name="submission_item")
