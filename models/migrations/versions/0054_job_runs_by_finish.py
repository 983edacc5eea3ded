"""a job's runs by when they finished: whether the clock was set back is asked by every node that
finds a minute's run taken (90 days of a minute's job are 130,000 runs)

Revision ID: 0054
Revises: 0053
Create Date: 2026-12-04 15:35:00
"""
from alembic import op

revision = '0054'
down_revision = '0053'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_job_run_finished', 'job_run', ['job_id', 'finished_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_job_run_finished', table_name='job_run')
