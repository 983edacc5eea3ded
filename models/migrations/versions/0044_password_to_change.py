"""a password to change: set when an administrator chose it (a new account, a reset), cleared when
the person changes it; until then the person's pages lead to the password form

Revision ID: 0044
Revises: 0043
Create Date: 2026-12-03 04:00:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0044'
down_revision = '0043'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("app_user") as batch_op:
        batch_op.add_column(sa.Column("ganti_sandi", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("app_user") as batch_op:
        batch_op.drop_column("ganti_sandi")
