"""the late tasks of a region's period read by their deadline (an index); a NIK registered
elsewhere said in the verifiers' words in the flags already stored

Revision ID: 0046
Revises: 0045
Create Date: 2026-12-03 11:30:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0046'
down_revision = '0045'
branch_labels = None
depends_on = None

OLD = "ini sudah terdaftar di tempat lain; kecamatan akan memeriksanya"
NEW = "ini juga terdaftar di tempat lain; periksa apakah orang yang sama"
RULES = ("duplikat_nik_tempat_lain", "duplikat_kk_tempat_lain")


def _reword(old: str, new: str) -> None:
    # a re-check matches a stored flag by its message: reworded, an acknowledged flag stays acknowledged
    flag = sa.table("quality_flag", sa.column("message", sa.Text), sa.column("rule", sa.String))
    op.execute(
        flag.update()
        .where(flag.c.rule.in_(RULES), flag.c.message.like(f"%{old}"))
        .values(message=sa.func.replace(flag.c.message, old, new))
    )


def upgrade() -> None:
    op.create_index("ix_human_task_late", "human_task", ["periode", "status", "due_at", "id"])
    _reword(OLD, NEW)


def downgrade() -> None:
    _reword(NEW, OLD)
    op.drop_index("ix_human_task_late", table_name="human_task")
