"""re-verification of the standing register: each record's status in a period, nihil reports and
statements that the register could not be checked, items set aside while a draft, the minutes
setting

Revision ID: 0008
Revises: 0015
Create Date: 2026-11-30 22:00:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0008'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("submission_item", sa.Column("verval", sa.Enum(
        "LAYAK", "TIDAK_LAYAK", "MENINGGAL", "PINDAH", "TIDAK_DITEMUKAN", "GANDA", name="vervalstatus",
        native_enum=False, length=16), nullable=True))
    op.add_column("submission_item", sa.Column("verval_alasan", sa.Text(), nullable=True))
    op.add_column("submission_item", sa.Column("dibuang", sa.Boolean(), server_default=sa.false(), nullable=False))
    op.add_column("submission", sa.Column("nihil", sa.Boolean(), server_default=sa.false(), nullable=False))
    op.add_column("submission", sa.Column("tidak_diperiksa", sa.Text(), nullable=True))
    op.add_column("cycle_rhythm", sa.Column("berita_acara_wajib", sa.Boolean(), server_default=sa.true(),
                                            nullable=False))


def downgrade() -> None:
    op.drop_column("cycle_rhythm", "berita_acara_wajib")
    op.drop_column("submission", "tidak_diperiksa")
    op.drop_column("submission", "nihil")
    op.drop_column("submission_item", "dibuang")
    op.drop_column("submission_item", "verval_alasan")
    op.drop_column("submission_item", "verval")
