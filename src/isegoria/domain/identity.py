"""Who may act: the roles of people and the scopes of platform API keys."""

from __future__ import annotations

import re
from enum import StrEnum

# Names and logins a person types; generous but bounded so no field can be used as storage.
MAX_LOGIN_LENGTH = 64
MAX_DISPLAY_NAME_LENGTH = 120
MAX_PLATFORM_NAME_LENGTH = 120
# OWASP ASVS 4.0.3 2.1.1: at least 12 characters (NIST SP 800-63B asks 8; ASVS is stricter).
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 256  # argon2 hashes any length; the cap stops hashing megabytes on login
LOGIN_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
JURISDICTION_CODE_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,31}$")


class Role(StrEnum):
    """What a person may do on an instance."""

    CITIZEN = "citizen"  # reads, proposes, votes, serves on juries, appeals
    OPERATOR = "operator"  # runs the instance and its platforms; decides no case, writes no law
    AUDITOR = "auditor"  # reads everything that is not personal data


class Scope(StrEnum):
    """What a platform's API key may do; a key holds one or more scopes."""

    PLATFORM_CONFIGURE = "platform:configure"  # set its own webhook address
    REPORTS_WRITE = "reports:write"  # file reports and content snapshots
    CASES_READ = "cases:read"  # read cases and decisions about its content
    DECISIONS_CONFIRM = "decisions:confirm"  # confirm that a decision was applied


ALL_SCOPES: tuple[Scope, ...] = tuple(Scope)

# Self-declared strata a citizen may give for stratified jury draws; all optional.
STRATA: dict[str, tuple[str, ...]] = {
    "age_band": ("18-29", "30-44", "45-59", "60+"),
    "leaning": ("left", "centre-left", "centre", "centre-right", "right", "none"),
}
MAX_REGION_LENGTH = 64


class InvalidLogin(ValueError):
    """A login that does not follow the allowed pattern."""


def check_login(login: str) -> str:
    """Return ``login`` if it is well formed, else raise with what is allowed."""
    if not LOGIN_PATTERN.fullmatch(login):
        raise InvalidLogin(
            "a login is 2 to 64 characters: lower-case letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return login


def parse_scopes(text: str) -> tuple[Scope, ...]:
    """Parse a comma-separated scope list, naming any unknown scope."""
    scopes: list[Scope] = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        try:
            scopes.append(Scope(part))
        except ValueError:
            known = ", ".join(s.value for s in Scope)
            raise ValueError(f"unknown scope {part!r}; known scopes: {known}") from None
    if not scopes:
        raise ValueError("at least one scope is needed")
    return tuple(dict.fromkeys(scopes))
