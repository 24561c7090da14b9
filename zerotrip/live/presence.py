"""Proof of presence: distance from the phone's geolocation fix to the premises, and one-time
challenge codes the applicant writes on paper and shows to the camera."""

from __future__ import annotations

import math
import secrets

EARTH_RADIUS_M = 6_371_008.8
# No look-alikes (0/O, 1/I/L, 2/Z, 5/S, 8/B): the code is read off paper through a phone camera.
CHALLENGE_ALPHABET = "34679ACDEFGHJKMNPQRTUVWXY"
CHALLENGE_LENGTH = 5


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle (haversine) distance in metres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp = p2 - p1
    dl = math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def distance_to_premises(
    lat: float, lon: float, premises_lat: float | None, premises_lon: float | None
) -> float | None:
    if premises_lat is None or premises_lon is None:
        return None
    return round(distance_m(lat, lon, premises_lat, premises_lon), 1)


def new_challenge_code() -> str:
    return "".join(secrets.choice(CHALLENGE_ALPHABET) for _ in range(CHALLENGE_LENGTH))
