"""digest-only notifications: a notification kept for the daily digest of a person who does not want
it in the app (`di_aplikasi` false); before, such an event was dropped and the digest never had it

Revision ID: 0042
Revises: 0041
Create Date: 2026-12-02 06:00:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0042'
down_revision = '0041'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("notification") as batch_op:
        batch_op.add_column(sa.Column("di_aplikasi", sa.Boolean(), nullable=False, server_default=sa.true()))


def downgrade() -> None:
    with op.batch_alter_table("notification") as batch_op:
        batch_op.drop_column("di_aplikasi")
