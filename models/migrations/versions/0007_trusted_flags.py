"""trusted flags: a flag's surprise score, categories stable by nature, former region codes, category fixes,
items keyed by KK

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 20:00:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

# Thresholds of the rules the count model replaced; they no longer mean anything.
RETIRED_SETTINGS = (("rasio", "low"), ("rasio", "high"), ("rasio", "min_change"), ("nol", "min_before"),
                    ("nol", "min_after"), ("tetap", "periods"), ("z_robust", "threshold"),
                    ("z_robust", "min_history"), ("z_robust", "min_change"), ("salin", "min_regions"),
                    ("salin", "min_share"), ("rate", "factor"), ("rate", "min_peers"), ("rate", "min_value"),
                    ("instansi", "relative"), ("instansi", "absolute"))


def upgrade() -> None:
    # Plain ALTER TABLE on both databases: SQLite's batch mode would rebuild tables that
    # others reference, which foreign keys forbid.
    op.add_column("quality_flag", sa.Column("skor", sa.Float(), nullable=True))
    op.add_column("category", sa.Column("stabil", sa.Boolean(), server_default=sa.false(), nullable=False))
    op.add_column("submission_item", sa.Column("no_kk", sa.String(length=16), nullable=True))
    op.create_index(op.f("ix_submission_item_no_kk"), "submission_item", ["no_kk"], unique=False)
    kk = "data ->> 'no_kk'" if op.get_bind().dialect.name == "postgresql" else "json_extract(data, '$.no_kk')"
    op.execute(f"UPDATE submission_item SET no_kk = NULLIF({kk}, '')")
    op.create_table(
        "region_former_code",
        sa.Column("kode_lama", sa.String(length=13), nullable=False),
        sa.Column("region_kode", sa.String(length=13), nullable=False),
        sa.Column("nama", sa.String(length=120), nullable=False),
        sa.Column("sampai", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["region_kode"], ["region.kode"],
                                name=op.f("fk_region_former_code_region_kode_region")),
        sa.PrimaryKeyConstraint("kode_lama", name=op.f("pk_region_former_code")),
    )
    # Categories as shipped are fixed where they contradicted their own criteria, unless an
    # administrator has edited them since.
    op.execute("UPDATE category SET usia_min = 18 WHERE kode = 'KTK' AND usia_min IS NULL")
    op.execute("UPDATE category SET usia_min = 0 WHERE kode = 'ABH' AND usia_min = 12")
    op.execute("UPDATE category SET stabil = true WHERE kode = 'KAT'")
    op.execute("UPDATE category SET atribut_wajib = '[\"jumlah_anggota\", \"nama_ketua\"]' "
               "WHERE satuan = 'komunitas' AND CAST(atribut_wajib AS TEXT) = '[]'")
    for rule, name in RETIRED_SETTINGS:
        op.execute(sa.text("DELETE FROM quality_setting WHERE rule = :rule AND name = :name")
                   .bindparams(rule=rule, name=name))


def downgrade() -> None:
    op.drop_table("region_former_code")
    op.drop_index(op.f("ix_submission_item_no_kk"), table_name="submission_item")
    op.drop_column("submission_item", "no_kk")
    op.drop_column("category", "stabil")
    op.drop_column("quality_flag", "skor")
