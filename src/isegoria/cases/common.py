"""What the case services share: loading a case, its rule and constitution, pseudonyms."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable
from typing import Any

from sqlalchemy import bindparam, select

from isegoria.domain.constitution import Constitution
from isegoria.domain.rulebook import RuleVersion
from isegoria.errors import NotFound
from isegoria.law import read as law_read
from isegoria.store.models_cases import Case, Content, Jury
from isegoria.unit_of_work import UnitOfWork

FIRST, APPEAL = "first", "appeal"
#: 256-bit per-jury pseudonym keys, as long as the instance secret.
PSEUDONYM_KEY_BYTES = 32
# A consistency retrial's second, independent first-instance jury (services.cases_retrial).
RETRIAL = "retrial"


# Read on every ballot and reply: built once with bound values, so SQLAlchemy computes their
# cache keys once per process rather than once per call.
_CASE = select(Case).where(Case.id == bindparam("case_id"))
_CASE_LOCKED = _CASE.with_for_update()
_JURY = select(Jury).where(Jury.case_id == bindparam("case_id"), Jury.stage == bindparam("stage"))


def get_case(uow: UnitOfWork, case_id: int, *, lock: bool = False) -> Case:
    """The case with this number, or NotFound."""
    query = _CASE_LOCKED if lock else _CASE
    case = uow.session.scalars(query, {"case_id": case_id}).first()
    if case is None:
        raise NotFound("no case %(case_id)s", field="case_id", case_id=case_id)
    return case


def case_content(uow: UnitOfWork, case: Case) -> Content:
    """The snapshot a case is about."""
    content = uow.session.get(Content, case.content_id)
    assert content is not None  # noqa: S101 - a foreign key guarantees it
    return content


def case_rule(uow: UnitOfWork, case: Case) -> RuleVersion:
    """The rule version the case applies."""
    return law_read.rule_version(uow, case.rule_id, case.rule_version)


def case_constitution(uow: UnitOfWork, case: Case) -> Constitution:
    """The constitution of the rule's jurisdiction as it stood when the case opened."""
    return law_read.constitution_at(uow, case.jurisdiction, case.opened_at).constitution


def get_jury(uow: UnitOfWork, case_id: int, stage: str) -> Jury | None:
    """The jury of a case at a stage, if drawn."""
    return uow.session.scalars(_JURY, {"case_id": case_id, "stage": stage}).first()


def new_pseudonym_key(uow: UnitOfWork) -> str:
    """A fresh random key (hex) for one jury's pseudonyms."""
    return uow.token_hex(PSEUDONYM_KEY_BYTES)


def jury_pseudonym_key(uow: UnitOfWork, jury: Jury) -> bytes:
    """The key a jury's pseudonyms were made with, while the jury is open.

    Each jury has its own random key, erased when it closes: from then on nobody, the
    instance secret's holder included, can recompute who is behind a pool pseudonym. A
    jury drawn before per-jury keys existed named its pool with the instance secret.
    """
    return bytes.fromhex(jury.pseudonym_key) if jury.pseudonym_key else uow.secret


def juror_pseudonym(secret: bytes, case_id: int, stage: str, account_id: int) -> str:
    """A juror's public name for one case and stage: unlinkable across cases without the key."""
    mac = hmac.new(secret, f"juror:{case_id}:{stage}:{account_id}".encode(), hashlib.sha256)
    return "J-" + mac.hexdigest()[:10]


def seat_pseudonym(secret: bytes, jury: Jury, account_id: int) -> str | None:
    """The pseudonym an account must hold on a jury, or None once the jury closed.

    Closing a jury erases its pseudonym key (ballot secrecy), so from then on nobody can
    recompute which account is behind a seat; ``secret`` names the pool of a jury drawn
    before per-jury keys existed.
    """
    if jury.closed:
        return None
    key = bytes.fromhex(jury.pseudonym_key) if jury.pseudonym_key else secret
    return juror_pseudonym(key, jury.case_id, jury.stage, account_id)


def juror_pseudonyms(
    secret: bytes, case_id: int, stage: str, account_ids: Iterable[int]
) -> list[str]:
    """``juror_pseudonym`` for many accounts at once (a draw names its whole pool)."""
    # Keying an HMAC costs about as much as hashing a short message: key once, copy per name
    # (measured: 1.1 us a name against 1.6 us for a fresh HMAC or hmac.digest per name).
    keyed = hmac.new(secret, f"juror:{case_id}:{stage}:".encode(), hashlib.sha256)
    names = []
    for account_id in account_ids:
        mac = keyed.copy()
        mac.update(str(account_id).encode())
        names.append("J-" + mac.hexdigest()[:10])
    return names


def loads(text: str | None) -> Any:
    """JSON from a text column (None stays None)."""
    return None if text is None else json.loads(text)


def dumps(value: Any) -> str:
    """JSON for a text column, stable key order."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
