"""inbox statistics: PostgreSQL learns how tier, region and status go together in human_task

Without them the planner multiplies the three columns' selectivities as if independent, expects
a kecamatan's open tasks to be 4,000 when they are 10,000, and sorts them all for a deep inbox
page instead of walking the inbox index (13 ms against 6 ms at national scale). SQLite has no
such statistics; nothing to do there.

Revision ID: 0041
Revises: 0040
Create Date: 2026-12-01 06:00:00
"""
from alembic import op

revision = '0041'
down_revision = '0040'
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE STATISTICS IF NOT EXISTS st_human_task_inbox (mcv, dependencies) "
            "ON tingkat, region_kode, status FROM human_task"
        )
        op.execute("ANALYZE human_task")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP STATISTICS IF EXISTS st_human_task_inbox")
