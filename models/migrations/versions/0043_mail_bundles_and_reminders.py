"""mail bundles and one deadline reminder: an e-mail keeps its short text and link, so that several
due for one person at once go out as one message; a cycle records when its desa were reminded of
their deadline, so that the reminder goes out once, not on every day of the window

Revision ID: 0043
Revises: 0042
Create Date: 2026-12-03 03:00:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0043'
down_revision = '0042'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("email_message") as batch_op:
        batch_op.add_column(sa.Column("isi", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("tautan", sa.String(length=300), nullable=True))
    with op.batch_alter_table("update_cycle") as batch_op:
        batch_op.add_column(sa.Column("diingatkan_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("update_cycle") as batch_op:
        batch_op.drop_column("diingatkan_at")
    with op.batch_alter_table("email_message") as batch_op:
        batch_op.drop_column("tautan")
        batch_op.drop_column("isi")
