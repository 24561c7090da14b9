"""Every table of the service, imported in one place for Alembic and the test harness."""

from zerotrip.accounts.models import ApplicantLink, StaffToken, StaffUser
from zerotrip.cases.models import AuditEvent, Case, CaseMaterial, Checkpoint
from zerotrip.dashboard.models import CaseMetrics
from zerotrip.identity.models import IdentityAccess
from zerotrip.media.models import Evidence, TrustVerdict
from zerotrip.notify.models import Notification
from zerotrip.ratings.models import Rating

__all__ = [
    "ApplicantLink",
    "AuditEvent",
    "Case",
    "CaseMaterial",
    "CaseMetrics",
    "Checkpoint",
    "Evidence",
    "IdentityAccess",
    "Notification",
    "Rating",
    "StaffToken",
    "StaffUser",
    "TrustVerdict",
]
