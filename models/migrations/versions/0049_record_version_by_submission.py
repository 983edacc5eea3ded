"""record versions by submission: what an approval wrote is read back by its submission

When a submission is approved, the desa's other submissions still in work are brought up to what it
wrote to the register (`engine.verification.in_work`), and a decided task's page counts the register
before the submission from the versions it replaced: both read a submission's versions, which
without an index is a scan of every version in the province.

Revision ID: 0049
Revises: 0048
Create Date: 2026-12-03 22:30:00
"""
from alembic import op

revision = '0049'
down_revision = '0048'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('ppks_record_version', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ppks_record_version_submission_id'), ['submission_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('ppks_record_version', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ppks_record_version_submission_id'))
