"""The second factor: TOTP authenticator apps and one-use recovery codes.

Operators and auditors must have one (enrolment is forced at their first login); citizens
may opt in. A TOTP secret is sealed with the instance SecretBox; recovery codes are kept
only as argon2id hashes. A code is accepted once: the time step it was good for is
remembered, so a code seen over a shoulder or replayed from a log is refused.
"""

from __future__ import annotations

import hmac
import secrets
import time
from dataclasses import dataclass

import pyotp
import segno
from sqlalchemy import delete, select

from isegoria import i18n
from isegoria.domain.identity import Role
from isegoria.ops.staff_trail import Actor, record_staff_action
from isegoria.security import SecretBox, hash_password, verify_password
from isegoria.store.models import Account, WebSession
from isegoria.store.models_mfa import Passkey, RecoveryCode, SecondFactor
from isegoria.unit_of_work import UnitOfWork

TOTP = "totp"
RECOVERY = "recovery"
STEP_SECONDS = 30
CODE_DIGITS = 6
# A code from the step before or after is still taken: phone clocks drift a little.
DRIFT_STEPS = 1
RECOVERY_CODES = 10
RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i to misread
RECOVERY_GROUPS = 3
RECOVERY_GROUP_LENGTH = 4
ISSUER = "isegoria"
STAFF_ROLES = frozenset({Role.OPERATOR.value, Role.AUDITOR.value})


@dataclass(frozen=True)
class Enrolment:
    """What a person needs to add the instance to their authenticator app."""

    factor_id: int
    secret: str
    uri: str
    qr_svg: str


def must_have_factor(role: str) -> bool:
    """Whether this role may not use the site without a second factor (staff)."""
    return role in STAFF_ROLES


def confirmed_factor(uow: UnitOfWork, account_id: int) -> SecondFactor | None:
    """The account's working second factor, if it has one."""
    return uow.session.scalar(
        select(SecondFactor).where(
            SecondFactor.account_id == account_id, SecondFactor.confirmed.is_(True)
        )
    )


def needs_second_factor(uow: UnitOfWork, account: Account) -> bool:
    """Whether a password alone does not open a session for this account."""
    if must_have_factor(account.role) or confirmed_factor(uow, account.id) is not None:
        return True
    passkey = select(Passkey.id).where(Passkey.account_id == account.id).limit(1)
    return uow.session.scalar(passkey) is not None


def _enrolment(factor: SecondFactor, secret: str, login: str) -> Enrolment:
    uri = pyotp.TOTP(secret).provisioning_uri(name=login, issuer_name=ISSUER)
    # Inline SVG: no image request and nothing the CSP has to allow (presentation attributes).
    svg = segno.make(uri, error="m").svg_inline(scale=4, title=i18n.gettext("QR code"), border=2)
    return Enrolment(factor.id, secret, uri, svg)


def begin_totp(uow: UnitOfWork, box: SecretBox, account: Account) -> Enrolment:
    """A TOTP secret waiting for its first code (the same one until confirmed)."""
    pending = uow.session.scalar(
        select(SecondFactor).where(
            SecondFactor.account_id == account.id, SecondFactor.confirmed.is_(False)
        )
    )
    if pending is None:
        pending = SecondFactor(
            account_id=account.id,
            kind=TOTP,
            sealed_secret=box.seal(pyotp.random_base32()),
            confirmed=False,
            created_at=uow.now(),
        )
        uow.session.add(pending)
        uow.session.flush()
    return _enrolment(pending, box.open(pending.sealed_secret), account.login)


def enrol_known_secret(uow: UnitOfWork, box: SecretBox, account: Account, secret: str) -> int:
    """Give an account a confirmed TOTP factor with ``secret`` (the demo's staff); its id."""
    pyotp.TOTP(secret).byte_secret()  # refuses a secret too short to be one
    factor = SecondFactor(
        account_id=account.id,
        kind=TOTP,
        sealed_secret=box.seal(secret),
        confirmed=True,
        created_at=uow.now(),
    )
    uow.session.add(factor)
    uow.session.flush()
    return factor.id


def _clean_code(code: str) -> str | None:
    digits = "".join(code.split())
    return digits if len(digits) == CODE_DIGITS and digits.isdigit() else None


def check_totp(uow: UnitOfWork, box: SecretBox, factor_id: int, code: str) -> bool:
    """Whether ``code`` is good now for this factor and was never used; remembers its step."""
    digits = _clean_code(code)
    # Locked for the rest of the transaction: two requests with one code cannot both pass.
    factor = uow.session.get(SecondFactor, factor_id, with_for_update=True)
    if digits is None or factor is None:
        return False
    totp = pyotp.TOTP(box.open(factor.sealed_secret))
    # An authenticator app keeps real time; a demo served on its simulated clock (or a test
    # on a manual one) keeps another. A code is good by either; in production they are one.
    bases = sorted({int(uow.now().timestamp()) // STEP_SECONDS, int(time.time()) // STEP_SECONDS})
    for base in bases:
        for step in range(base - DRIFT_STEPS, base + DRIFT_STEPS + 1):
            if factor.last_used_step is not None and step <= factor.last_used_step:
                continue  # this code, or an older one, was already used: a replay
            if hmac.compare_digest(totp.generate_otp(step), digits):
                factor.last_used_step = step
                return True
    return False


def confirm_totp(
    uow: UnitOfWork, box: SecretBox, account: Account, code: str
) -> tuple[int, list[str]] | None:
    """Confirm the account's pending TOTP factor with its first code.

    Returns the factor's id and the new recovery codes, else None. Any earlier factor of
    the account is replaced, and the sessions bound to it end.
    """
    factor = uow.session.scalar(
        select(SecondFactor).where(
            SecondFactor.account_id == account.id, SecondFactor.confirmed.is_(False)
        )
    )
    if factor is None or not check_totp(uow, box, factor.id, code):
        return None
    factor_id = factor.id
    for old in uow.session.scalars(
        select(SecondFactor).where(
            SecondFactor.account_id == account.id, SecondFactor.id != factor_id
        )
    ):
        _end_sessions_bound_to(uow, old.id)
        uow.session.delete(old)
    factor.confirmed = True
    return factor_id, issue_recovery_codes(uow, account)


def _new_recovery_code() -> str:
    groups = (
        "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_GROUP_LENGTH))
        for _ in range(RECOVERY_GROUPS)
    )
    return "-".join(groups)


def _normal_recovery(code: str) -> str:
    return "".join(ch for ch in code.casefold() if ch.isalnum())


def issue_recovery_codes(uow: UnitOfWork, account: Account) -> list[str]:
    """Replace the account's recovery codes with fresh ones; the only time they are seen."""
    uow.session.execute(delete(RecoveryCode).where(RecoveryCode.account_id == account.id))
    codes = [_new_recovery_code() for _ in range(RECOVERY_CODES)]
    for code in codes:
        uow.session.add(
            RecoveryCode(account_id=account.id, code_hash=hash_password(_normal_recovery(code)))
        )
    uow.session.flush()
    return codes


def use_recovery_code(uow: UnitOfWork, account: Account, code: str) -> bool:
    """Spend one of the account's unused recovery codes; False if none matches."""
    wanted = _normal_recovery(code)
    if len(wanted) != RECOVERY_GROUPS * RECOVERY_GROUP_LENGTH:
        return False
    unused = uow.session.scalars(
        select(RecoveryCode)
        .where(RecoveryCode.account_id == account.id, RecoveryCode.used_at.is_(None))
        .with_for_update()
    )
    for row in unused:
        if verify_password(row.code_hash, wanted):
            row.used_at = uow.now()
            return True
    return False


def recovery_codes_left(uow: UnitOfWork, account_id: int) -> int:
    """How many unused recovery codes the account still holds."""
    rows = uow.session.scalars(
        select(RecoveryCode.id).where(
            RecoveryCode.account_id == account_id, RecoveryCode.used_at.is_(None)
        )
    )
    return len(list(rows))


def _end_sessions_bound_to(uow: UnitOfWork, factor_id: int) -> None:
    # Passkeys number their own rows: only sessions verified by this TOTP factor end here.
    uow.session.execute(
        delete(WebSession).where(
            WebSession.factor_id == factor_id, WebSession.factor.in_((TOTP, RECOVERY))
        )
    )


def remove_second_factor(uow: UnitOfWork, account: Account) -> int:
    """Remove the account's factors, passkeys and recovery codes, end its sessions; how many.

    A staff member must enrol again at their next login (what an operator does for a
    colleague who lost their phone and their recovery codes).
    """
    factors = list(
        uow.session.scalars(select(SecondFactor).where(SecondFactor.account_id == account.id))
    )
    for factor in factors:
        _end_sessions_bound_to(uow, factor.id)
        uow.session.delete(factor)
    passkeys = uow.session.execute(delete(Passkey).where(Passkey.account_id == account.id))
    uow.session.execute(delete(RecoveryCode).where(RecoveryCode.account_id == account.id))
    uow.session.execute(delete(WebSession).where(WebSession.account_id == account.id))
    uow.session.flush()
    return len(factors) + int(getattr(passkeys, "rowcount", 0) or 0)


def reset_second_factor(uow: UnitOfWork, account: Account, *, actor: Actor | None = None) -> int:
    """An operator resets a colleague's second factor (see ``remove_second_factor``); trailed."""
    removed = remove_second_factor(uow, account)
    detail = {"login": account.login, "removed": removed}
    record_staff_action(uow, actor, "second_factor.reset", f"account:{account.id}", detail=detail)
    return removed


def current_code(secret: str, at_timestamp: float) -> str:
    """The TOTP code a secret gives at a moment (what an authenticator app shows)."""
    return pyotp.TOTP(secret).at(int(at_timestamp))
