"""Building the configured couriers by name: ``local`` always, the others when configured."""

from __future__ import annotations

from zerotrip.config import Settings
from zerotrip.mailing.interfaces import Courier
from zerotrip.mailing.local import LocalCourier


def build_couriers(settings: Settings) -> dict[str, Courier]:
    couriers: dict[str, Courier] = {"local": LocalCourier()}
    if settings.shippo_api_key:
        from zerotrip.mailing.shippo.courier import ShippoCourier  # the SDK only when used

        couriers["shippo"] = ShippoCourier.from_settings(settings)
    if settings.courier_webhook_url:
        from zerotrip.mailing.webhook.courier import WebhookCourier

        couriers["webhook"] = WebhookCourier.from_settings(settings)
    if settings.courier not in couriers:
        raise ValueError(
            f"courier {settings.courier!r} is not configured (have: {', '.join(couriers)})"
        )
    return couriers
