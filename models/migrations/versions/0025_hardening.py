"""hardening: a session version per person, so that sessions can be ended server-side

Revision ID: 0025
Revises: 0020
Create Date: 2026-11-30 21:45:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0025'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("app_user") as batch_op:
        batch_op.add_column(sa.Column("session_version", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("app_user") as batch_op:
        batch_op.drop_column("session_version")
