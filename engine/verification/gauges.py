"""Figures for monitoring (Prometheus `/metrics`): the work waiting at each tier, the scheduler's
runs, the events not yet delivered. Read from the database, so every node reports the same."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import EMAIL_MAX_ATTEMPTS as MAX_ATTEMPTS
from models import EMAIL_NOT_SENT as NOT_SENT
from models import EmailMessage, HumanTask, JobRun, OutboxEvent, TaskStatus


@dataclass
class Gauges:
    open_tasks: dict[str, int] = field(default_factory=dict)  # tier -> open tasks
    overdue_tasks: dict[str, int] = field(default_factory=dict)  # tier -> open tasks past their due time
    job_runs: dict[tuple[str, str], int] = field(default_factory=dict)  # (job, status) -> runs
    outbox_backlog: int = 0
    email_failing: int = 0  # e-mails being retried: their last try failed (the mail server refused or was away)
    email_queued: int = 0  # e-mails waiting to be sent (a growing number: no mail server, or one away)
    email_given_up: int = 0  # e-mails no longer tried: retried for a day, or refused for good (`sijosku email`)


def read(session: Session) -> Gauges:
    """Counts only: each is one indexed aggregate query, cheap enough for a scrape every 15 s."""
    gauges = Gauges()
    open_rows = session.execute(
        select(HumanTask.tingkat, HumanTask.overdue, func.count())
        .where(HumanTask.status == TaskStatus.TERBUKA)
        .group_by(HumanTask.tingkat, HumanTask.overdue)
    )
    for tier, overdue, count in open_rows:
        gauges.open_tasks[tier.value] = gauges.open_tasks.get(tier.value, 0) + count
        if overdue:
            gauges.overdue_tasks[tier.value] = gauges.overdue_tasks.get(tier.value, 0) + count
    runs = session.execute(select(JobRun.job_id, JobRun.status, func.count()).group_by(JobRun.job_id, JobRun.status))
    gauges.job_runs = {(job, status): count for job, status, count in runs}
    gauges.outbox_backlog = (
        session.scalar(select(func.count()).select_from(OutboxEvent).where(OutboxEvent.delivered_at.is_(None))) or 0
    )
    unsent = (
        select(
            func.count().filter(EmailMessage.attempts < MAX_ATTEMPTS),
            func.count().filter(EmailMessage.attempts < MAX_ATTEMPTS, EmailMessage.last_error.is_not(None)),
            func.count().filter(
                EmailMessage.attempts >= MAX_ATTEMPTS, EmailMessage.last_error.not_like(f"{NOT_SENT}%")
            ),
        )
        .select_from(EmailMessage)
        .where(EmailMessage.sent_at.is_(None))
    )
    gauges.email_queued, gauges.email_failing, gauges.email_given_up = session.execute(unsent).one()
    return gauges
