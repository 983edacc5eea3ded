"""reconciliation: a task's lane role; the frozen determinations of a year's official figures; which
agency indicator corresponds to which category

Revision ID: 0020
Revises: 0030
Create Date: 2026-11-30 21:30:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0020'
down_revision = '0030'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("human_task", sa.Column("peran", sa.String(length=12), nullable=True))
    op.create_table(
        "determination",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tahun", sa.Integer(), nullable=False),
        sa.Column("revisi", sa.Integer(), nullable=False),
        sa.Column("region_kode", sa.String(length=13), nullable=False),
        sa.Column("replaces_id", sa.Integer(), nullable=True),
        sa.Column("alasan_revisi", sa.Text(), nullable=True),
        sa.Column("nomor_sk", sa.String(length=100), nullable=False),
        sa.Column("tanggal_sk", sa.Date(), nullable=False),
        sa.Column("approved_by", sa.String(length=80), nullable=False),
        sa.Column("approved_by_id", sa.Integer(), nullable=True),
        sa.Column("approved_at", sa.DateTime(), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=True),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["region_kode"], ["region.kode"], name=op.f("fk_determination_region_kode_region")),
        sa.ForeignKeyConstraint(["replaces_id"], ["determination.id"], name=op.f("fk_determination_replaces_id_determination")),
        sa.ForeignKeyConstraint(["approved_by_id"], ["app_user.id"], name=op.f("fk_determination_approved_by_id_app_user")),
        sa.ForeignKeyConstraint(["instance_id"], ["process_instance.id"], name=op.f("fk_determination_instance_id_process_instance")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_determination")),
        sa.UniqueConstraint("tahun", "revisi", name="uq_determination_revision"),
    )
    with op.batch_alter_table("determination") as batch_op:
        batch_op.create_index(batch_op.f("ix_determination_tahun"), ["tahun"], unique=False)
    op.create_table(
        "agency_indicator",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("instansi", sa.String(length=80), nullable=False),
        sa.Column("indikator", sa.String(length=40), nullable=False),
        sa.Column("kategori", sa.String(length=10), nullable=False),
        sa.Column("sama", sa.Boolean(), nullable=False),
        sa.Column("keterangan", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["kategori"], ["category.kode"], name=op.f("fk_agency_indicator_kategori_category")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agency_indicator")),
        sa.UniqueConstraint("instansi", "indikator", name="uq_agency_indicator"),
    )


def downgrade() -> None:
    op.drop_table("agency_indicator")
    with op.batch_alter_table("determination") as batch_op:
        batch_op.drop_index(batch_op.f("ix_determination_tahun"))
    op.drop_table("determination")
    op.drop_column("human_task", "peran")  # a plain ALTER: a batch copy would break the tables that refer to it
