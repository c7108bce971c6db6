"""Re-authentication before a sensitive operation (ASVS 3.7.1): the caller's current password.

A session cookie proves that someone logged in, up to twelve hours ago, in some browser; a
stolen or forgotten-open session should not be enough to take over what outlives it (a
platform's API key). So a person logged in by cookie confirms such an operation with their
current password, in the same request. A platform calling with its key is not a session and
is not asked. Wrong guesses spend the same buckets as failed logins (http/ratelimit.py), so a
session cannot be used to guess its owner's password faster than the login form allows.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Request
from pydantic import Field

from isegoria.domain.identity import MAX_PASSWORD_LENGTH
from isegoria.errors import Forbidden
from isegoria.http import ratelimit
from isegoria.http.deps import Principal, Services
from isegoria.people import accounts as people

FIELD = "current_password"

#: The body field that carries the confirmation; optional in the schema because a platform's
#: key needs none, required (403 without it) of a person logged in by cookie.
CurrentPassword = Annotated[
    str | None,
    Field(
        min_length=1,
        max_length=MAX_PASSWORD_LENGTH,
        description=(
            "Your current password; required when you call with the session cookie "
            "(re-authentication, ASVS 3.7.1). Not needed with a platform key."
        ),
    ),
]


def confirm_password(
    request: Request, services: Services, principal: Principal, current_password: str | None
) -> None:
    """Refuse (403) a person logged in by cookie whose current password is missing or wrong.

    Runs before anything is changed, in its own read-only transaction: argon2's time is not
    spent while holding the write transaction.
    """
    if not principal.is_person:
        return
    login = principal.login or ""
    if not current_password:
        raise Forbidden(
            "this operation needs your current password: send it in current_password",
            field=FIELD,
        )
    ratelimit.before_login(request, login)  # 429 before spending argon2 time on a guess
    uow = services.uow()
    with uow.begin(readonly=True):
        account = people.authenticate(uow, login, current_password)
    confirmed = account is not None and account.id == principal.account_id
    ratelimit.after_login(request, login, succeeded=confirmed)
    if not confirmed:
        raise Forbidden("the current password is wrong; nothing was changed", field=FIELD)
