"""import queue: an upload's rows kept on its job until the scheduled import job runs them

Revision ID: 0040
Revises: 0025
Create Date: 2026-12-01 00:30:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0040'
down_revision = '0025'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("import_job") as batch_op:
        batch_op.add_column(sa.Column("pending_rows", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("import_job") as batch_op:
        batch_op.drop_column("pending_rows")
