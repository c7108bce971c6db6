"""The history of the log's signing keys, so checkpoints signed before a rotation still verify."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from isegoria.http.access import PUBLIC, access
from isegoria.http.deps import ServicesDep, UnitOfWorkDep
from isegoria.log import keyring

router = APIRouter(prefix="/log", tags=["log"])


class KeyPeriodOut(BaseModel):
    """One signing key and the checkpoint sizes it may sign."""

    verifier_key: str = Field(description="C2SP signed-note verifier key: name+keyid+base64")
    key_id: str = Field(description="The key ID (hex) that its signature lines carry")
    first_size: int = Field(description="Smallest checkpoint size this key may sign")
    last_size: int | None = Field(description="Largest checkpoint size; null for the current key")
    since: str | None = Field(description="When the rotation that introduced it was logged")
    until: str | None = Field(description="When the rotation that retired it was logged")


class RotationOut(BaseModel):
    """A LogKeyRotated entry: the retiring key signs the checkpoint that covers it."""

    index: int
    at: str
    previous_key: str
    new_key: str


class KeyHistoryOut(BaseModel):
    """Every key this log was signed with, oldest first, and the entries that rotated them."""

    origin: str
    current: str = Field(description="The key that signs new checkpoints")
    keys: list[KeyPeriodOut]
    rotations: list[RotationOut]


def history(services: ServicesDep, uow: UnitOfWorkDep) -> keyring.KeyHistory:
    """This instance's key history, read from its log."""
    with uow.begin(readonly=True):
        return keyring.local_history(uow.session, services.signer.verifier_key)


@router.get("/keys", response_model=KeyHistoryOut, **access(PUBLIC))
def log_keys(services: ServicesDep, uow: UnitOfWorkDep) -> KeyHistoryOut:
    """Every key that signed this log's checkpoints, with the sizes each may sign."""
    keys = history(services, uow)
    return KeyHistoryOut(
        origin=services.signer.origin,
        current=services.signer.verifier_key,
        keys=[
            KeyPeriodOut(
                verifier_key=p.verifier_key,
                key_id=p.key_id,
                first_size=p.first_size,
                last_size=p.last_size,
                since=p.since,
                until=p.until,
            )
            for p in keys.periods
        ],
        rotations=[RotationOut(**r.to_json()) for r in keys.rotations],
    )
