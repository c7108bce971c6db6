"""Making a verified person a citizen: exactly one account per (issuer, subject).

The account's login is derived from the verified subject with a keyed hash (HMAC-SHA-256
under the instance secret): the unique index on logins then refuses a second account for
the same person with no extra table, and the stored login reveals neither the provider's
subject nor links it to the same person on another instance. The account has no password:
its holder logs in through the same verifier.
"""

from __future__ import annotations

import hashlib
import hmac

from sqlalchemy import select

from isegoria.domain.identity import Role
from isegoria.errors import Conflict
from isegoria.identity.protocol import VerifiedPerson
from isegoria.people import accounts as people
from isegoria.store.models import Account
from isegoria.unit_of_work import UnitOfWork

LOGIN_PREFIX = "id-"
LOGIN_DIGEST_CHARS = 24  # 96 bits of the HMAC: collisions need ~2^48 people


def person_login(instance_secret: bytes, person: VerifiedPerson) -> str:
    """The login of the citizen ``person`` is (the same for every registration attempt)."""
    message = f"{person.issuer}\n{person.subject}".encode()
    digest = hmac.new(instance_secret, b"isegoria person v1\n" + message, hashlib.sha256)
    return LOGIN_PREFIX + digest.hexdigest()[:LOGIN_DIGEST_CHARS]


def find_citizen(uow: UnitOfWork, instance_secret: bytes, person: VerifiedPerson) -> Account | None:
    """The citizen already registered for ``person``, if any."""
    login = person_login(instance_secret, person)
    return uow.session.scalar(select(Account).where(Account.login == login))


def register_citizen(
    uow: UnitOfWork,
    instance_secret: bytes,
    person: VerifiedPerson,
    *,
    display_name: str,
    residence: str,
    jury_opt_in: bool,
) -> Account:
    """Create the citizen for a verified person; a second registration is refused."""
    if find_citizen(uow, instance_secret, person) is not None:
        raise Conflict(
            "this person is already registered as a citizen: one person, one account; "
            "log in instead"
        )
    return people.add_account(
        uow,
        login=person_login(instance_secret, person),
        display_name=display_name,
        role=Role.CITIZEN,
        password=None,
        residences=[residence],
        jury_opt_in=jury_opt_in,
    )
