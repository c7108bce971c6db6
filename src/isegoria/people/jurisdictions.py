"""Jurisdictions: the communities that make law."""

from __future__ import annotations

from sqlalchemy import select

from isegoria.domain.events import JurisdictionCreated
from isegoria.domain.identity import JURISDICTION_CODE_PATTERN
from isegoria.errors import Conflict, InvalidInput, NotFound
from isegoria.store.models import Jurisdiction
from isegoria.unit_of_work import UnitOfWork

MAX_LANGUAGES = 24


def add_jurisdiction(
    uow: UnitOfWork, *, code: str, name: str, parent: str | None, languages: list[str]
) -> Jurisdiction:
    """Create a jurisdiction under an optional parent."""
    if not JURISDICTION_CODE_PATTERN.fullmatch(code):
        raise InvalidInput(
            "a jurisdiction code is 1 to 32 letters, digits, '_' or '-', starting with a letter",
            field="code",
        )
    if not name.strip():
        raise InvalidInput("a jurisdiction needs a name", field="name")
    if len(languages) > MAX_LANGUAGES:
        raise InvalidInput("at most %(max)s languages", field="languages", max=MAX_LANGUAGES)
    session = uow.session
    if session.get(Jurisdiction, code) is not None:
        raise Conflict("jurisdiction %(code)s already exists", field="code", code=code)
    if parent is not None and session.get(Jurisdiction, parent) is None:
        raise NotFound(
            "parent jurisdiction %(parent)s does not exist", field="parent", parent=parent
        )
    jurisdiction = Jurisdiction(
        code=code,
        name=name.strip(),
        parent_code=parent,
        languages=",".join(languages),
        created_at=uow.now(),
    )
    session.add(jurisdiction)
    session.flush()
    uow.log.append(
        JurisdictionCreated(code=code, name=jurisdiction.name, parent=parent, languages=languages)
    )
    return jurisdiction


def get_jurisdiction(uow: UnitOfWork, code: str) -> Jurisdiction:
    """The jurisdiction with this code, or a NotFound naming it."""
    jurisdiction = uow.session.get(Jurisdiction, code)
    if jurisdiction is None:
        raise unknown_jurisdiction(code)
    return jurisdiction


def unknown_jurisdiction(code: str) -> NotFound:
    """The error naming a jurisdiction code that is not stored."""
    return NotFound("no jurisdiction with code %(code)s", field="jurisdiction", code=repr(code))


def list_jurisdictions(uow: UnitOfWork) -> list[Jurisdiction]:
    """All jurisdictions, by code."""
    return list(uow.session.scalars(select(Jurisdiction).order_by(Jurisdiction.code)))


def ancestry(uow: UnitOfWork, code: str) -> list[str]:
    """The code and its ancestors' codes, nearest first."""
    chain: list[str] = []
    current: str | None = code
    while current is not None and current not in chain:
        chain.append(current)
        current = get_jurisdiction(uow, current).parent_code
    return chain


def descendants(uow: UnitOfWork, code: str) -> list[str]:
    """The code and every jurisdiction within it, at any depth."""
    children: dict[str | None, list[str]] = {}
    for j in list_jurisdictions(uow):
        children.setdefault(j.parent_code, []).append(j.code)
    found, stack = [], [code]
    while stack:
        current = stack.pop()
        if current not in found:
            found.append(current)
            stack.extend(children.get(current, []))
    return found


def tree_order(uow: UnitOfWork) -> list[tuple[Jurisdiction, int]]:
    """Every jurisdiction with its depth, parents before their children."""
    items = list_jurisdictions(uow)
    children: dict[str | None, list[Jurisdiction]] = {}
    for j in items:
        children.setdefault(j.parent_code, []).append(j)
    ordered: list[tuple[Jurisdiction, int]] = []

    def walk(parent: str | None, depth: int) -> None:
        for child in children.get(parent, []):
            ordered.append((child, depth))
            walk(child.code, depth + 1)

    walk(None, 0)
    return ordered
