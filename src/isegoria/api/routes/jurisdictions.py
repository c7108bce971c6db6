"""Jurisdictions: public to read; operators add them."""

from __future__ import annotations

from fastapi import APIRouter, Path

from isegoria.api.schemas import JurisdictionIn, JurisdictionOut
from isegoria.domain.identity import Role
from isegoria.http.access import PUBLIC, access, people
from isegoria.http.deps import UnitOfWorkDep
from isegoria.people import jurisdictions
from isegoria.store.models import Jurisdiction

router = APIRouter(prefix="/jurisdictions", tags=["jurisdictions"])

CodePath = Path(min_length=1, max_length=32, description="Jurisdiction code, e.g. FR")


def _out(j: Jurisdiction) -> JurisdictionOut:
    languages = [lang for lang in j.languages.split(",") if lang]
    return JurisdictionOut(code=j.code, name=j.name, parent=j.parent_code, languages=languages)


@router.get("", response_model=list[JurisdictionOut], **access(PUBLIC))
def list_jurisdictions(uow: UnitOfWorkDep) -> list[JurisdictionOut]:
    """Every jurisdiction with its parent."""
    with uow.begin(readonly=True):
        return [_out(j) for j in jurisdictions.list_jurisdictions(uow)]


@router.get("/{code}", response_model=JurisdictionOut, **access(PUBLIC))
def get_jurisdiction(uow: UnitOfWorkDep, code: str = CodePath) -> JurisdictionOut:
    """One jurisdiction."""
    with uow.begin(readonly=True):
        return _out(jurisdictions.get_jurisdiction(uow, code))


@router.post("", response_model=JurisdictionOut, status_code=201, **access(people(Role.OPERATOR)))
def add_jurisdiction(body: JurisdictionIn, uow: UnitOfWorkDep) -> JurisdictionOut:
    """Create a jurisdiction (its law can only come from its citizens' votes)."""
    with uow.begin():
        created = jurisdictions.add_jurisdiction(
            uow, code=body.code, name=body.name, parent=body.parent, languages=body.languages
        )
        return _out(created)
