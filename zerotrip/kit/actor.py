"""Who did something: recorded on every audit event, checked by nobody else."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    kind: str  # staff | applicant | system | courier
    id: str = ""
    label: str = ""

    @classmethod
    def system(cls, label: str = "zerotrip") -> Actor:
        return cls("system", "", label)


# The service acting on its own, one per part that writes to a case's chain. The labels are part
# of recorded (hashed) events, so they never change.
SYSTEM = Actor.system()
SYSTEM_MAILING = Actor.system("mailing")
SYSTEM_NOTIFICATIONS = Actor.system("notifications")
SYSTEM_SMS_GATEWAY = Actor.system("sms-gateway")
SYSTEM_LIVE = Actor.system("live session")
