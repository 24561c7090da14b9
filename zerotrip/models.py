"""Every table of the service, imported in one place for Alembic and the test harness."""

from zerotrip.accounts.models import (
    ApplicantLink,
    SecurityEvent,
    StaffToken,
    StaffUser,
    ThrottleCounter,
)
from zerotrip.admin.models import (
    AdminEvent,
    CalendarDay,
    Department,
    MatterSetting,
    MatterVersion,
    OfficeProfile,
    StaffDepartment,
)
from zerotrip.cases.models import AuditEvent, Case, CaseMaterial, Checkpoint
from zerotrip.cases.search import CaseSearch, CaseSearchGram
from zerotrip.dashboard.models import CaseMetrics
from zerotrip.dashboard.rollup import MonthRollup
from zerotrip.identity_check.models import IdentityAccess
from zerotrip.jobs.models import Job
from zerotrip.live.models import LiveChallenge, LiveFix, LiveProcess, LiveSession
from zerotrip.mailing.models import CourierOrder, DeliveryPreference, InboundMessage, OrderEvent
from zerotrip.media.models import CaptureNonce, Evidence, TrustVerdict
from zerotrip.notify.models import Notification
from zerotrip.outbox.models import OutboxMessage
from zerotrip.ratings.models import Rating
from zerotrip.review.models import Annotation, Certificate, Report, VerdictRecord
from zerotrip.worklist.models import StaffTask

__all__ = [
    "AdminEvent",
    "Annotation",
    "ApplicantLink",
    "AuditEvent",
    "CalendarDay",
    "CaptureNonce",
    "Case",
    "CaseMaterial",
    "CaseMetrics",
    "CaseSearch",
    "CaseSearchGram",
    "Certificate",
    "Checkpoint",
    "CourierOrder",
    "DeliveryPreference",
    "Department",
    "Evidence",
    "IdentityAccess",
    "InboundMessage",
    "Job",
    "LiveChallenge",
    "LiveFix",
    "LiveProcess",
    "LiveSession",
    "MatterSetting",
    "MatterVersion",
    "MonthRollup",
    "Notification",
    "OfficeProfile",
    "OrderEvent",
    "OutboxMessage",
    "Rating",
    "Report",
    "SecurityEvent",
    "StaffDepartment",
    "StaffTask",
    "StaffToken",
    "StaffUser",
    "ThrottleCounter",
    "TrustVerdict",
    "VerdictRecord",
]
