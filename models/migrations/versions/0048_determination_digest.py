"""a determination's totals and record count kept beside its content, so that the list of
determinations and the year's page do not read a province's whole frozen record list

Revision ID: 0048
Revises: 0047
Create Date: 2026-12-03 17:40:00
"""
import json
from typing import Any

from alembic import op
import sqlalchemy as sa

revision = '0048'
down_revision = '0047'
branch_labels = None
depends_on = None


def _digest(content: dict[str, Any], province: str) -> dict[str, Any]:
    by_category = {kategori: n for code, kategori, n in content["angka"] if code == province}
    totals = {**dict(sorted(by_category.items())), "jumlah": sum(by_category.values())}
    return {"totals": totals, "catatan": len(content["catatan"])}


def upgrade() -> None:
    op.add_column("determination", sa.Column("ringkasan", sa.JSON(), nullable=True))
    table = sa.table(
        "determination",
        sa.column("id", sa.Integer),
        sa.column("region_kode", sa.String),
        sa.column("content", sa.JSON),
        sa.column("ringkasan", sa.JSON),
    )
    bind = op.get_bind()
    for row_id, province in bind.execute(sa.select(table.c.id, table.c.region_kode)).all():
        content = bind.execute(sa.select(table.c.content).where(table.c.id == row_id)).scalar_one()
        content = json.loads(content) if isinstance(content, str) else content
        bind.execute(table.update().where(table.c.id == row_id).values(ringkasan=_digest(content, province)))


def downgrade() -> None:
    op.drop_column("determination", "ringkasan")
