"""Password hashing with argon2id (argon2-cffi).

Why argon2id: memory-hard, the OWASP and RFC 9106 recommendation; argon2-cffi's defaults
are RFC 9106's low-memory profile (3 passes over 64 MiB). Hashing costs tens of
milliseconds of CPU, so the API calls ``verify``/``hash`` in a worker thread, and at most
``max_parallel`` run at once (a burst of logins must not take the controller's cores or
memory). A login for an unknown user verifies against a dummy hash, so it takes as long as
one for a real user: the answer time does not tell which names exist.
"""
from __future__ import annotations

import threading

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_LENGTH = 8
MAX_LENGTH = 1024  # longer input is refused before any hashing (no free CPU for an attacker)


class WeakPassword(ValueError):
    """The password is too short or too long; the message says which."""


def check_strength(password: str) -> None:
    """Raise WeakPassword unless ``password`` has 8 to 1024 characters."""
    if len(password) < MIN_LENGTH:
        raise WeakPassword(f"a password needs at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise WeakPassword(f"a password has at most {MAX_LENGTH} characters")


def _bytes(password: str) -> bytes:
    """UTF-8; a lone surrogate (JSON allows ``"\\ud800"``) is kept, not an error."""
    return password.encode("utf-8", "surrogatepass")


class Passwords:
    """argon2id hashing with a cap on parallel work. Blocking: call from a worker thread."""

    def __init__(self, hasher: PasswordHasher | None = None, max_parallel: int = 2) -> None:
        self._hasher = hasher or PasswordHasher()
        self._slots = threading.BoundedSemaphore(max_parallel)
        self._dummy: str | None = None
        self._dummy_lock = threading.Lock()

    @classmethod
    def fast_for_tests(cls) -> "Passwords":
        """Cheap parameters (1 pass over 1 MiB): only for tests."""
        return cls(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))

    def hash(self, password: str) -> str:
        with self._slots:
            return self._hasher.hash(_bytes(password))

    def verify(self, password_hash: str | None, password: str) -> bool:
        """Whether ``password`` matches ``password_hash``. With no hash (unknown user) the
        same work is done against a dummy hash and the answer is False."""
        if len(password) > MAX_LENGTH:
            return False
        target = password_hash if password_hash is not None else self._dummy_hash()
        try:
            with self._slots:
                ok = self._hasher.verify(target, _bytes(password))
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False
        return ok and password_hash is not None

    def needs_rehash(self, password_hash: str) -> bool:
        """Whether the hash was made with other parameters than today's."""
        try:
            return self._hasher.check_needs_rehash(password_hash)
        except (InvalidHashError, ValueError):
            return True

    def _dummy_hash(self) -> str:
        with self._dummy_lock:
            if self._dummy is None:
                self._dummy = self.hash("not a password: the dummy for unknown users")
            return self._dummy
