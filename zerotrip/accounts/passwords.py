"""Staff passwords: argon2id hashing and the policy a new password must meet (ASVS V2.1).

The policy is the one NIST 800-63B and ASVS ask for, no composition rules: at least
:data:`MIN_LENGTH` characters, and not a commonly used password. "Common" means in the list shipped
with the package (``common_passwords.txt``), also after taking off the digits and symbols people
add to a common word (``password2026!``), or made of a handful of characters repeated
(``aaaaaaaaaaaa``, ``abcabcabcabc``), or a run along the keyboard or the alphabet
(``123456789012``).
"""

from __future__ import annotations

import asyncio
from functools import cache
from importlib import resources

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from zerotrip.problems import InvalidInput

MIN_LENGTH = 12
MAX_LENGTH = 200
_TRAILING = "0123456789!@#$%^&*()-_=+.,;:?~ "
# Runs people type along the keyboard or count through, in both directions.
_RUNS = tuple(
    run + run[::-1]
    for run in (
        "01234567890123456789",
        "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz",
        "qwertyuiopasdfghjklzxcvbnm",
        "1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik9ol0p",
    )
)
_hasher = PasswordHasher()
# Verified against when the username is unknown, so timing does not reveal which usernames exist.
DUMMY_HASH = _hasher.hash("not-a-real-password")


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hasher.hash, password)


async def verify_password(stored_hash: str, password: str) -> bool:
    def check() -> bool:
        try:
            return _hasher.verify(stored_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(check)


@cache
def common_passwords() -> frozenset[str]:
    """The shipped list, read once per process (about 20,000 entries)."""
    text = resources.files("zerotrip.accounts").joinpath("common_passwords.txt").read_text("utf-8")
    return frozenset(line for line in text.splitlines() if line and not line.startswith("# "))


def _is_common(password: str) -> bool:
    lowered = password.lower()
    common = common_passwords()
    stripped = lowered.rstrip(_TRAILING).lstrip(_TRAILING)
    if lowered in common or (len(stripped) >= 4 and stripped in common):
        return True
    return (
        len(set(lowered)) < 5
        or _repeats_a_short_unit(lowered)
        or any(lowered in run for run in _RUNS)
    )


def _repeats_a_short_unit(text: str) -> bool:
    return any(
        len(text) % size == 0 and text == text[:size] * (len(text) // size)
        for size in range(1, min(6, len(text) // 2) + 1)
    )


def check_password_policy(password: str, field: str = "password") -> None:
    """Refuse a password that breaks the policy with a 422 naming the rule, zh-CN and en."""
    if len(password) < MIN_LENGTH:
        raise InvalidInput(
            f"{field}: a password needs at least {MIN_LENGTH} characters.",
            zh=f"密码至少需要 {MIN_LENGTH} 个字符。",
            rule="password_min_length",
            errors=[{"field": field, "message": "too short", "code": "password_min_length"}],
        )
    if len(password) > MAX_LENGTH:
        raise InvalidInput(
            f"{field}: a password may have at most {MAX_LENGTH} characters.",
            zh=f"密码最多 {MAX_LENGTH} 个字符。",
            rule="password_max_length",
            errors=[{"field": field, "message": "too long", "code": "password_max_length"}],
        )
    if _is_common(password):
        raise InvalidInput(
            f"{field}: this password is too common or too easy to guess; choose another, "
            "for example a few unrelated words.",
            zh="这个密码太常见或太容易被猜到，请换一个，例如几个不相关的词组合。",
            rule="password_common",
            errors=[{"field": field, "message": "too common", "code": "password_common"}],
        )
