"""How the review domain wires itself into a service: the certificate made with its step."""

from __future__ import annotations

from typing import TYPE_CHECKING

from zerotrip.review.certificate import CertificateIssuer

if TYPE_CHECKING:
    from zerotrip.services import Services


def setup(services: Services) -> None:
    issuer = CertificateIssuer(
        services.storage, services.settings.public_url, services.font, services.clock
    )
    services.lifecycle.on_step("issue_certificate", issuer)
