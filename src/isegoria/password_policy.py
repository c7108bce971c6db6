"""Passwords people may not choose: those on a bundled list of common and breached ones.

OWASP ASVS 2.1.7 asks that a new password be checked against passwords known from breaches.
The list ships with the package (``data/common-passwords.txt``, its source is noted at its
top), so the check needs no network and reveals nothing about the password to anyone.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files

__all__ = ["COMMON_PASSWORDS_FILE", "common_passwords", "is_common"]

COMMON_PASSWORDS_FILE = "common-passwords.txt"


@cache
def common_passwords() -> frozenset[str]:
    """The bundled list, lower-cased, read once per process."""
    text = files("isegoria.data").joinpath(COMMON_PASSWORDS_FILE).read_text(encoding="utf-8")
    return frozenset(
        line.strip().lower()
        for line in text.splitlines()
        if line.strip() and not line.startswith("#")
    )


def is_common(password: str) -> bool:
    """Whether ``password`` is on the list, in any letter case (``Password1234`` is too)."""
    return password.lower() in common_passwords()
