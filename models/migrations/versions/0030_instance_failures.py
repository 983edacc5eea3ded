"""why an instance's last step failed: the admin's list of stuck instances

Revision ID: 0030
Revises: 0008
Create Date: 2026-11-30 23:00:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0030'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("process_instance", sa.Column("last_error", sa.Text(), nullable=True))
    op.add_column("process_instance", sa.Column("failed_at", sa.DateTime(), nullable=True))
    op.create_index("ix_process_instance_failed_at", "process_instance", ["failed_at"])


def downgrade() -> None:
    op.drop_index("ix_process_instance_failed_at", table_name="process_instance")
    op.drop_column("process_instance", "failed_at")
    op.drop_column("process_instance", "last_error")
