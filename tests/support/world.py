"""A small world for integration tests: jurisdictions, one person per role, platform keys."""

from __future__ import annotations

import re
from dataclasses import dataclass

from fastapi.testclient import TestClient

from isegoria.domain.identity import Role, Scope
from isegoria.security import SecretBox
from isegoria.services import jurisdictions, people, platforms
from isegoria.store.uow import UnitOfWork

PASSWORD = "correct horse battery"


@dataclass
class World:
    """Logins and keys created by ``seed``."""

    citizen: str
    operator: str
    auditor: str
    platform_id: int
    key_all: str
    key_reports_only: str


def seed(uow: UnitOfWork, box: SecretBox) -> World:
    """Create intl > EU > FR, MX, a person per role and a platform with two keys."""
    with uow.begin():
        jurisdictions.add_jurisdiction(
            uow, code="intl", name="International", parent=None, languages=["en"]
        )
        jurisdictions.add_jurisdiction(
            uow, code="EU", name="European Union", parent="intl", languages=["en"]
        )
        jurisdictions.add_jurisdiction(uow, code="FR", name="France", parent="EU", languages=["fr"])
        jurisdictions.add_jurisdiction(
            uow, code="MX", name="Mexico", parent="intl", languages=["es"]
        )
        people.add_account(
            uow,
            login="ana",
            display_name="Ana",
            role=Role.CITIZEN,
            password=PASSWORD,
            residences=["MX"],
            strata=people.Strata(region="Jalisco", age_band="30-44"),
            jury_opt_in=True,
        )
        people.add_account(
            uow, login="olga", display_name="Olga", role=Role.OPERATOR, password=PASSWORD
        )
        people.add_account(
            uow, login="audrey", display_name="Audrey", role=Role.AUDITOR, password=PASSWORD
        )
        platform, key_all = platforms.add_platform(uow, box, name="Forum", scopes=list(Scope))
        _, key_reports = platforms.add_platform(
            uow, box, name="Reports only", scopes=[Scope.REPORTS_WRITE]
        )
    return World("ana", "olga", "audrey", platform.id, key_all.key, key_reports.key)


def csrf_from(html: str) -> str:
    """The CSRF token embedded in a page's forms."""
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)


def login(client: TestClient, login_name: str, password: str = PASSWORD) -> str:
    """Log in through the form; returns the session's CSRF token for API writes."""
    page = client.get("/login")
    response = client.post(
        "/login",
        data={"login": login_name, "password": password, "csrf_token": csrf_from(page.text)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    me = client.get("/api/v1/me")
    assert me.status_code == 200
    token: str = me.json()["csrf_token"]
    return token
