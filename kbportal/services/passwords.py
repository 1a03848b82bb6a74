"""Password hashing (argon2id) and the password rules users see."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from kbportal.config import get_settings
from kbportal.services.errors import ValidationFailed

_hasher = PasswordHasher()
# A valid hash of a random password: verifying against it when the account does
# not exist keeps the timing of "unknown email" and "wrong password" alike.
_DUMMY_HASH = _hasher.hash("kbportal-timing-equaliser")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def check_new_password(password: str) -> None:
    minimum = get_settings().password_min_length
    if len(password) < minimum:
        raise ValidationFailed("user.password_too_short", field="password", min=minimum)
    if len(password) > 256:
        raise ValidationFailed("user.password_too_long", field="password", max=256)
