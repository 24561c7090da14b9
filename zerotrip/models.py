"""Every table of the service, imported in one place for Alembic and the test harness."""

from zerotrip.accounts.models import ApplicantLink, StaffToken, StaffUser
from zerotrip.cases.models import AuditEvent, Case, CaseMaterial, Checkpoint
from zerotrip.media.models import CaptureNonce, Evidence, TrustVerdict

__all__ = [
    "ApplicantLink",
    "AuditEvent",
    "CaptureNonce",
    "Case",
    "CaseMaterial",
    "Checkpoint",
    "Evidence",
    "StaffToken",
    "StaffUser",
    "TrustVerdict",
]
