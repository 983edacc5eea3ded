"""operations: the audit chain's head keeps the time of its last row; a cycle remembers the regions
whose opening it announced

Revision ID: 0015
Revises: 0012
Create Date: 2026-11-30 19:00:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0015'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("audit_head") as batch_op:
        batch_op.add_column(sa.Column("last_at", sa.DateTime(), nullable=True))
    op.execute("UPDATE audit_head SET last_at = (SELECT MAX(at) FROM audit_event)")
    with op.batch_alter_table("update_cycle") as batch_op:
        batch_op.add_column(sa.Column("announced", sa.JSON(), nullable=True))
    # Cycles opened before this release were announced when they opened.
    connection = op.get_bind()
    cycles = sa.table("update_cycle", sa.column("id", sa.Integer), sa.column("region_kode", sa.String),
                      sa.column("announced", sa.JSON))
    for cycle_id, region in connection.execute(sa.select(cycles.c.id, cycles.c.region_kode)).all():
        connection.execute(cycles.update().where(cycles.c.id == cycle_id).values(announced=[region]))


def downgrade() -> None:
    with op.batch_alter_table("update_cycle") as batch_op:
        batch_op.drop_column("announced")
    with op.batch_alter_table("audit_head") as batch_op:
        batch_op.drop_column("last_at")
