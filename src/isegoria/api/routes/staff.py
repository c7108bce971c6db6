"""The staff audit trail, for auditors and operators: who did what, when, to what."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from isegoria.domain.identity import Role
from isegoria.http.access import access, people
from isegoria.http.deps import UnitOfWorkDep
from isegoria.ops import staff_trail

router = APIRouter(prefix="/staff", tags=["staff"])


class StaffActionOut(BaseModel):
    """One staff action."""

    id: int
    at: datetime
    actor: str = Field(description="The staff login, cli:<system user> for the shell, or system")
    via: str = Field(description="console, api, cli or system")
    action: str = Field(description="e.g. api_key.rotated, staff.added, dead_letter.retried")
    subject: str = Field(description="What was acted on: platform:3, account:7, decision:12...")
    detail: dict[str, object]
    log_index: int | None = Field(
        description="The transparency log entry that made the action public, if it did"
    )


@router.get(
    "/trail",
    response_model=list[StaffActionOut],
    **access(people(Role.AUDITOR, Role.OPERATOR)),
)
def trail(
    uow: UnitOfWorkDep,
    before: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    action: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=staff_trail.PAGE)] = 50,
) -> list[StaffActionOut]:
    """The newest staff actions first; page back with ``before`` (the last id seen)."""
    with uow.begin(readonly=True):
        rows = staff_trail.staff_trail(uow, before=before, action=action, limit=limit)
    return [
        StaffActionOut(
            id=r.id,
            at=r.at,
            actor=r.actor,
            via=r.via,
            action=r.action,
            subject=r.subject,
            detail=r.detail,
            log_index=r.log_index,
        )
        for r in rows
    ]
