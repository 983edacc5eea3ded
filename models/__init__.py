"""SQLAlchemy models of SIJOSKU. Nothing here imports the web layer."""

from .audit import AuditEvent, AuditHead, OutboxEvent
from .base import Base, utcnow
from .category import Category
from .cycle import Cycle, CycleRhythm, EmailMessage, JobRun, Notification, NotificationPreference, SchedulerJob
from .process import HumanTask, InstanceStatus, ProcessDefinition, ProcessInstance, TaskStatus
from .quality import AggregateValue, QualityFlag, QualitySetting
from .record import Record, RecordStatus, RecordVersion, Source
from .region import (
    TIER_ORDER,
    TIER_ORDER_UP,
    Population,
    Region,
    Tier,
    ancestor_code,
    contains,
    parent_code,
    tier_of_code,
)
from .submission import ItemAction, ItemVerdict, Submission, SubmissionItem, SubmissionStatus, Verdict
from .user import ROLE_TIERS, WORK_ROLES, Role, RoleAssignment, User
from .web import ImportJob, LoginAttempt, SavedFilter

__all__ = [
    "Cycle", "CycleRhythm", "EmailMessage", "JobRun", "Notification", "NotificationPreference", "SchedulerJob",
    "AggregateValue", "QualityFlag", "QualitySetting",
    "AuditEvent", "AuditHead", "Base", "Category", "HumanTask", "InstanceStatus", "ItemAction",
    "ItemVerdict", "OutboxEvent", "Population", "ProcessDefinition", "ProcessInstance", "ROLE_TIERS",
    "Record", "RecordStatus", "RecordVersion", "Region", "Role", "RoleAssignment", "Source",
    "Submission", "SubmissionItem", "TIER_ORDER", "TIER_ORDER_UP", "SubmissionStatus", "TaskStatus", "Tier",
    "User", "Verdict",
    "WORK_ROLES", "ImportJob", "LoginAttempt", "SavedFilter", "ancestor_code", "contains", "parent_code",
    "tier_of_code", "utcnow",
]
