"""Every table of the service, imported in one place for Alembic and the test harness."""

from zerotrip.accounts.models import ApplicantLink, StaffToken, StaffUser
from zerotrip.cases.models import AuditEvent, Case, CaseMaterial, Checkpoint
from zerotrip.inspect.models import Annotation, Certificate, Report, VerdictRecord
from zerotrip.media.models import CaptureNonce, Evidence, TrustVerdict

__all__ = [
    "Annotation",
    "ApplicantLink",
    "AuditEvent",
    "CaptureNonce",
    "Case",
    "CaseMaterial",
    "Certificate",
    "Checkpoint",
    "Evidence",
    "Report",
    "StaffToken",
    "StaffUser",
    "TrustVerdict",
    "VerdictRecord",
]
