"""which process runs an import: a running import whose process holds no live run of the import job
died with it, and is failed within the job lease instead of half an hour after the upload

Revision ID: 0055
Revises: 0054
Create Date: 2026-12-04 23:40:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0055'
down_revision = '0054'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('import_job', sa.Column('runner', sa.String(length=120), nullable=True))


def downgrade() -> None:
    op.drop_column('import_job', 'runner')
