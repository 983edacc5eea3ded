"""region changes: a region's code ends (merged, recoded, dissolved) on a date instead of being
deleted, and every change to the list is kept, dated, with its legal basis

Revision ID: 0045
Revises: 0044
Create Date: 2026-12-03 07:00:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0045'
down_revision = '0044'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # not in batch mode: SQLite adds a column in place, and copying `region` (which a dozen tables
    # reference) would break their foreign keys
    op.add_column("region", sa.Column("berakhir", sa.Date(), nullable=True))
    op.create_table(
        "region_change",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("kode", sa.String(13), sa.ForeignKey("region.kode"), nullable=False),
        sa.Column("perubahan", sa.String(20), nullable=False),
        sa.Column("nama_sebelum", sa.String(120), nullable=True),
        sa.Column("nama_sesudah", sa.String(120), nullable=True),
        sa.Column("terkait", sa.String(13), nullable=True),
        sa.Column("dasar", sa.String(200), nullable=False),
        sa.Column("berlaku", sa.Date(), nullable=False),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("app_user.id"), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_region_change_kode", "region_change", ["kode"])


def downgrade() -> None:
    op.drop_index("ix_region_change_kode", table_name="region_change")
    op.drop_table("region_change")
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE region DROP COLUMN berakhir")  # SQLite 3.35 and later, in place
    else:
        op.drop_column("region", "berakhir")
