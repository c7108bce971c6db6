"""Passkeys (WebAuthn): the stronger second factor, for staff and for citizens who opt in.

Each ceremony's challenge is kept server-side, tied to the browser session that asked for
it, single use (taken from the table before it is checked) and good for five minutes. The
relying party is the instance's public URL: its host is the RP ID, its scheme, host and
port the only origin accepted. A credential's signature counter must grow with every use
unless the authenticator keeps none (both zero); one that does not betrays a cloned key,
and the sign-in is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

import webauthn
from sqlalchemy import delete, select
from webauthn.helpers import parse_authentication_credential_json
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from isegoria.errors import InvalidInput, NotFound
from isegoria.security import token_digest
from isegoria.store.models import Account, WebSession
from isegoria.store.models_mfa import Passkey, PasskeyChallenge
from isegoria.unit_of_work import UnitOfWork

PASSKEY = "passkey"
REGISTER = "register"
AUTHENTICATE = "authenticate"
CHALLENGE_LIFETIME = timedelta(minutes=5)
MAX_NAME = 80
MAX_PASSKEYS = 10
# A browser's answer is a few kilobytes; anything much larger is not one.
MAX_RESPONSE = 64_000


@dataclass(frozen=True)
class RelyingParty:
    """Who the passkeys are for: the instance, named by its public URL."""

    rp_id: str
    origin: str
    name: str = "isegoria"

    @classmethod
    def from_public_url(cls, public_url: str) -> RelyingParty:
        """The RP ID (host) and origin (scheme://host[:port]) of the instance's public URL."""
        parts = urlsplit(public_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise InvalidInput(
                "the public URL %(public_url)s has no host for passkeys",
                public_url=repr(public_url),
            )
        return cls(rp_id=parts.hostname, origin=f"{parts.scheme}://{parts.netloc}")


def _store_challenge(
    uow: UnitOfWork, session_token: str, purpose: str, account: Account, challenge: bytes
) -> None:
    session_hash = token_digest(session_token)
    now = uow.now()
    # One challenge per session and purpose: asking again replaces it. Stale ones of anyone
    # are swept here so the table stays small.
    uow.session.execute(
        delete(PasskeyChallenge).where(
            (PasskeyChallenge.expires_at <= now)
            | (
                (PasskeyChallenge.session_hash == session_hash)
                & (PasskeyChallenge.purpose == purpose)
            )
        )
    )
    uow.session.add(
        PasskeyChallenge(
            session_hash=session_hash,
            purpose=purpose,
            account_id=account.id,
            challenge=challenge,
            expires_at=now + CHALLENGE_LIFETIME,
        )
    )
    uow.session.flush()


def take_challenge(
    uow: UnitOfWork, session_token: str, purpose: str, account: Account
) -> bytes | None:
    """The session's live challenge for ``purpose``, removed; None if none is pending.

    Run it in a transaction of its own, before checking the answer: the challenge is then
    spent even when the answer is refused (and that transaction rolls back).
    """
    row = uow.session.get(
        PasskeyChallenge, (token_digest(session_token), purpose), with_for_update=True
    )
    if row is None:
        return None
    challenge, expires_at, owner = row.challenge, row.expires_at, row.account_id
    uow.session.delete(row)
    uow.session.flush()
    if expires_at <= uow.now() or owner != account.id:
        return None
    return challenge


def _pending(challenge: bytes | None) -> bytes:
    if challenge is None:
        raise InvalidInput(
            "this passkey request is unknown, expired or already answered; try again",
            field="response",
        )
    return challenge


def passkeys_of(uow: UnitOfWork, account_id: int) -> list[Passkey]:
    """The account's passkeys, oldest first."""
    query = select(Passkey).where(Passkey.account_id == account_id).order_by(Passkey.id)
    return list(uow.session.scalars(query))


def has_passkey(uow: UnitOfWork, account_id: int) -> bool:
    """Whether the account can sign in with a passkey."""
    query = select(Passkey.id).where(Passkey.account_id == account_id).limit(1)
    return uow.session.scalar(query) is not None


def begin_registration(
    uow: UnitOfWork, rp: RelyingParty, account: Account, session_token: str
) -> str:
    """Options for ``navigator.credentials.create`` (JSON); the challenge is kept server-side."""
    existing = passkeys_of(uow, account.id)
    if len(existing) >= MAX_PASSKEYS:
        raise InvalidInput(
            "an account holds at most %(max)s passkeys; remove one first", max=MAX_PASSKEYS
        )
    options = webauthn.generate_registration_options(
        rp_id=rp.rp_id,
        rp_name=rp.name,
        user_name=account.login,
        # An opaque handle, not the login: the authenticator keeps it.
        user_id=token_digest(f"passkey-user:{account.id}").encode()[:32],
        user_display_name=account.display_name,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.PREFERRED,
            user_verification=UserVerificationRequirement.PREFERRED,
        ),
        exclude_credentials=[PublicKeyCredentialDescriptor(id=p.credential_id) for p in existing],
    )
    _store_challenge(uow, session_token, REGISTER, account, options.challenge)
    return webauthn.options_to_json(options)


def _check_response(response: str) -> str:
    if not response or len(response) > MAX_RESPONSE:
        raise InvalidInput("the browser's passkey answer is missing or too large", field="response")
    return response


def finish_registration(
    uow: UnitOfWork,
    rp: RelyingParty,
    account: Account,
    challenge: bytes | None,
    response: str,
    name: str,
) -> Passkey:
    """Check the browser's answer to the registration challenge and keep the new passkey."""
    label = name.strip() or "passkey"
    if len(label) > MAX_NAME:
        raise InvalidInput(
            "a passkey's name is at most %(max)s characters", field="name", max=MAX_NAME
        )
    try:
        verified = webauthn.verify_registration_response(
            credential=_check_response(response),
            expected_challenge=_pending(challenge),
            expected_rp_id=rp.rp_id,
            expected_origin=rp.origin,
        )
    except WebAuthnException as error:
        raise InvalidInput(
            "the passkey was not accepted: %(error)s", field="response", error=error
        ) from None
    taken = select(Passkey.id).where(Passkey.credential_id == verified.credential_id)
    if uow.session.scalar(taken) is not None:
        raise InvalidInput("this passkey is registered already", field="response")
    passkey = Passkey(
        account_id=account.id,
        credential_id=verified.credential_id,
        public_key=verified.credential_public_key,
        sign_count=verified.sign_count,
        name=label,
        created_at=uow.now(),
    )
    uow.session.add(passkey)
    uow.session.flush()
    return passkey


def begin_authentication(
    uow: UnitOfWork, rp: RelyingParty, account: Account, session_token: str
) -> str:
    """Options for ``navigator.credentials.get`` naming the account's passkeys (JSON)."""
    keys = passkeys_of(uow, account.id)
    if not keys:
        raise NotFound("this account has no passkey")
    options = webauthn.generate_authentication_options(
        rp_id=rp.rp_id,
        allow_credentials=[PublicKeyCredentialDescriptor(id=p.credential_id) for p in keys],
        user_verification=UserVerificationRequirement.PREFERRED,
    )
    _store_challenge(uow, session_token, AUTHENTICATE, account, options.challenge)
    return webauthn.options_to_json(options)


def finish_authentication(
    uow: UnitOfWork, rp: RelyingParty, account: Account, challenge: bytes | None, response: str
) -> Passkey:
    """Check the browser's signed answer; the passkey that signed it, with its counter moved.

    ``challenge`` comes from ``take_challenge`` (already spent). Raises InvalidInput on a
    wrong challenge, origin, key, signature or a counter that did not grow.
    """
    expected = _pending(challenge)
    try:
        credential = parse_authentication_credential_json(_check_response(response))
    except WebAuthnException as error:
        raise InvalidInput(
            "the passkey answer is malformed: %(error)s", field="response", error=error
        ) from None
    # Locked: two answers signed by one key cannot both move the counter from one value.
    passkey = uow.session.scalar(
        select(Passkey)
        .where(Passkey.account_id == account.id, Passkey.credential_id == credential.raw_id)
        .with_for_update()
    )
    if passkey is None:
        raise InvalidInput("this passkey does not belong to this account", field="response")
    try:
        verified = webauthn.verify_authentication_response(
            credential=credential,
            expected_challenge=expected,
            expected_rp_id=rp.rp_id,
            expected_origin=rp.origin,
            credential_public_key=passkey.public_key,
            credential_current_sign_count=passkey.sign_count,
        )
    except WebAuthnException as error:
        raise InvalidInput(
            "the passkey was not accepted: %(error)s", field="response", error=error
        ) from None
    passkey.sign_count = verified.new_sign_count
    passkey.last_used_at = uow.now()
    uow.session.flush()
    return passkey


def remove_passkey(uow: UnitOfWork, account: Account, passkey_id: int) -> None:
    """Remove one of the account's passkeys; the sessions it verified end with it."""
    passkey = uow.session.get(Passkey, passkey_id)
    if passkey is None or passkey.account_id != account.id:
        raise NotFound(
            "you have no passkey %(passkey_id)s", field="passkey_id", passkey_id=passkey_id
        )
    uow.session.execute(
        delete(WebSession).where(WebSession.factor == PASSKEY, WebSession.factor_id == passkey.id)
    )
    uow.session.delete(passkey)
    uow.session.flush()
