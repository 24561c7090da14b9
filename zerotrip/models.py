"""Every table of the service, imported in one place for Alembic and the test harness."""

from zerotrip.accounts.models import ApplicantLink, StaffToken, StaffUser
from zerotrip.cases.models import AuditEvent, Case, CaseMaterial, Checkpoint
from zerotrip.dashboard.models import CaseMetrics
from zerotrip.identity.models import IdentityAccess
from zerotrip.inspect.live.models import LiveChallenge, LiveFix, LiveSession
from zerotrip.media.models import CaptureNonce, Evidence, TrustVerdict
from zerotrip.notify.models import Notification
from zerotrip.outbox.models import OutboxMessage
from zerotrip.ratings.models import Rating
from zerotrip.tasks.models import StaffTask

__all__ = [
    "ApplicantLink",
    "AuditEvent",
    "CaptureNonce",
    "Case",
    "CaseMaterial",
    "CaseMetrics",
    "Checkpoint",
    "Evidence",
    "IdentityAccess",
    "LiveChallenge",
    "LiveFix",
    "LiveSession",
    "Notification",
    "OutboxMessage",
    "Rating",
    "StaffTask",
    "StaffToken",
    "StaffUser",
    "TrustVerdict",
]
