"""SQLAlchemy models of SIJOSKU, a file per aggregate; everything is re-exported here.

Nothing here imports the web layer or the engine.
"""

from .audit import AuditEvent, AuditHead
from .base import Base, utcnow
from .category import Category, Unit
from .cycle import Cycle, CycleRhythm, CycleStatus, Rhythm
from .determination import Determination, ForumVerdict
from .import_job import ImportJob, ImportStatus
from .inbox import SavedFilter
from .interop import AgencyToken, ApiResource, DtsenEntry, NikCheck, NikStatus
from .notification import (
    EMAIL_MAX_ATTEMPTS,
    EMAIL_NOT_SENT,
    Channel,
    EmailKind,
    EmailMessage,
    Notification,
    NotificationPreference,
)
from .outbox import OutboxEvent
from .process import Decision, HumanTask, InstanceStatus, ProcessDefinition, ProcessInstance, TaskStatus
from .quality import AgencyIndicator, AggregateValue, FlagStatus, QualityFlag, QualitySetting, Severity
from .record import Record, RecordStatus, RecordVersion, Source, ids_by_nik
from .region import (
    TIER_ORDER,
    TIER_ORDER_UP,
    FormerRegionCode,
    Population,
    Region,
    RegionChange,
    RegionChangeKind,
    Tier,
    ancestor_code,
    contains,
    parent_code,
    tier_of_code,
)
from .scheduler import JobRun, JobStatus, SchedulerJob
from .submission import (
    ItemAction,
    ItemSource,
    ItemVerdict,
    Submission,
    SubmissionItem,
    SubmissionStatus,
    Verdict,
    VervalStatus,
)
from .user import (
    LANE_ROLES,
    ROLE_TIERS,
    TASK_ROLES,
    WORK_ROLE_OF_TIER,
    WORK_ROLES,
    LoginAttempt,
    Role,
    RoleAssignment,
    User,
    parse_lane,
)

__all__ = [
    "TIER_ORDER",
    "TIER_ORDER_UP",
    "LANE_ROLES",
    "ROLE_TIERS",
    "TASK_ROLES",
    "WORK_ROLES",
    "WORK_ROLE_OF_TIER",
    "AgencyIndicator",
    "AgencyToken",
    "AggregateValue",
    "ApiResource",
    "AuditEvent",
    "AuditHead",
    "Base",
    "Category",
    "FormerRegionCode",
    "RegionChange",
    "RegionChangeKind",
    "ForumVerdict",
    "Unit",
    "Channel",
    "Cycle",
    "CycleRhythm",
    "CycleStatus",
    "Decision",
    "Determination",
    "DtsenEntry",
    "EmailKind",
    "EMAIL_MAX_ATTEMPTS",
    "EMAIL_NOT_SENT",
    "EmailMessage",
    "FlagStatus",
    "HumanTask",
    "ImportJob",
    "ImportStatus",
    "InstanceStatus",
    "ItemAction",
    "ItemSource",
    "ItemVerdict",
    "JobRun",
    "JobStatus",
    "LoginAttempt",
    "NikCheck",
    "NikStatus",
    "Notification",
    "NotificationPreference",
    "OutboxEvent",
    "Population",
    "ProcessDefinition",
    "ProcessInstance",
    "QualityFlag",
    "QualitySetting",
    "Record",
    "RecordStatus",
    "RecordVersion",
    "ids_by_nik",
    "Region",
    "Rhythm",
    "Role",
    "RoleAssignment",
    "SavedFilter",
    "SchedulerJob",
    "Severity",
    "Source",
    "Submission",
    "SubmissionItem",
    "SubmissionStatus",
    "TaskStatus",
    "Tier",
    "User",
    "Verdict",
    "VervalStatus",
    "ancestor_code",
    "contains",
    "parent_code",
    "parse_lane",
    "tier_of_code",
    "utcnow",
]
