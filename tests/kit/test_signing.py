"""Webhook signatures: HMAC-SHA256 over ``"<unix seconds>." + body``, the wire contract couriers
and SMS gateways implement on their side."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from zerotrip.kit.signing import check_signature, mac_hex
from zerotrip.problems import Unauthenticated

SECRET = "shared-secret"
BODY = '{"id":"o-1","status":"delivered","note":"已签收"}'.encode()
NOW = 1_767_000_000


def test_the_mac_is_hmac_sha256_over_timestamp_dot_body():
    expected = hmac.new(SECRET.encode(), f"{NOW}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert mac_hex(SECRET, NOW, BODY) == expected == mac_hex(SECRET, str(NOW), BODY)


def test_a_fresh_signature_verifies_with_and_without_a_prefix():
    plain = mac_hex(SECRET, NOW, BODY)
    assert check_signature(SECRET, str(NOW), plain, BODY, now=NOW + 5, max_skew_s=300) == plain
    prefixed = "v1=" + plain
    assert (
        check_signature(SECRET, str(NOW), prefixed, BODY, now=NOW, max_skew_s=300, prefix="v1=")
        == prefixed
    )


@pytest.mark.parametrize(
    ("timestamp", "signature", "body", "now"),
    [
        (str(NOW), None, BODY, NOW),  # unsigned
        (None, "x", BODY, NOW),  # no timestamp
        (str(NOW), mac_hex(SECRET, NOW, BODY), BODY + b" ", NOW),  # body changed
        (str(NOW), mac_hex("other", NOW, BODY), BODY, NOW),  # another secret
        (str(NOW), mac_hex(SECRET, NOW, BODY), BODY, NOW + 301),  # stale
        (str(NOW + 301), mac_hex(SECRET, NOW + 301, BODY), BODY, NOW),  # from the future
        ("1e9", mac_hex(SECRET, "1e9", BODY), BODY, 1e9),  # not Unix seconds
        ("9" * 13, mac_hex(SECRET, "9" * 13, BODY), BODY, NOW),  # absurdly long
    ],
)
def test_anything_else_is_refused(timestamp, signature, body, now):
    with pytest.raises(Unauthenticated):
        check_signature(SECRET, timestamp, signature, body, now=now, max_skew_s=300)


def test_the_prefix_is_part_of_the_signature():
    bare = mac_hex(SECRET, NOW, BODY)
    with pytest.raises(Unauthenticated):
        check_signature(SECRET, str(NOW), bare, BODY, now=NOW, max_skew_s=300, prefix="v1=")
