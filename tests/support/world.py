"""A small world for integration tests: jurisdictions, one person per role, platform keys."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from isegoria.clock import ManualClock
from isegoria.domain.identity import Role, Scope
from isegoria.identity import mfa
from isegoria.people import accounts as people
from isegoria.people import jurisdictions, platforms
from isegoria.security import SecretBox
from isegoria.store.models import Account
from isegoria.unit_of_work import UnitOfWork

PASSWORD = "correct horse battery"
# The seeded staff's authenticator secrets (staff must use a second factor, identity/mfa.py).
STAFF_TOTP = {
    "olga": "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP",
    "audrey": "KRSXG5CTMVRXEZLUKRSXG5CTMVRXEZLU",
}


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
        olga = people.add_account(
            uow, login="olga", display_name="Olga", role=Role.OPERATOR, password=PASSWORD
        )
        audrey = people.add_account(
            uow, login="audrey", display_name="Audrey", role=Role.AUDITOR, password=PASSWORD
        )
        for staff in (olga, audrey):
            mfa.enrol_known_secret(uow, box, staff, STAFF_TOTP[staff.login])
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
    if response.headers["location"].startswith("/login/second-factor"):
        answer_second_factor(client, login_name)
    me = client.get("/api/v1/me")
    assert me.status_code == 200
    token: str = me.json()["csrf_token"]
    return token


def totp_code(client: TestClient, login_name: str) -> str:
    """The code the seeded staff member's authenticator shows now (on the app's clock)."""
    now = client.app.state.services.clock.now()  # type: ignore[attr-defined]
    return mfa.current_code(STAFF_TOTP[login_name], now.timestamp())


def answer_second_factor(client: TestClient, login_name: str) -> None:
    """Type the authenticator's code on the second-factor page.

    The tests' clock stands still, so a second login in the same 30 seconds would replay
    the code (refused, as it should be); the remembered step is forgotten first. Only this
    helper does so: the tests of the second factor itself (test_mfa.py) never do.
    """
    services = client.app.state.services  # type: ignore[attr-defined]
    uow = services.uow()
    with uow.begin():
        account = people.get_account_by_login(uow, login_name)
        factor = mfa.confirmed_factor(uow, account.id)
        assert factor is not None, f"{login_name} has no second factor"
        factor.last_used_step = None
    page = client.get("/login/second-factor")
    response = client.post(
        "/login/second-factor",
        data={"code": totp_code(client, login_name), "csrf_token": csrf_from(page.text)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text


# -- The law (issue 4) ------------------------------------------------------------------------


def add_citizens(uow: UnitOfWork, jurisdiction: str, count: int, prefix: str = "c") -> list[int]:
    """Add ``count`` citizens of ``jurisdiction`` who cannot log in; returns their ids."""
    ids = []
    with uow.begin():
        for n in range(count):
            account = people.add_account(
                uow,
                login=f"{prefix}{n:04d}-{jurisdiction.lower()}",
                display_name=f"Citizen {n}",
                role=Role.CITIZEN,
                password=None,
                residences=[jurisdiction],
            )
            ids.append(account.id)
    return ids


def account_id(uow: UnitOfWork, login_name: str) -> int:
    """The id of the account with this login."""
    with uow.begin(readonly=True):
        return uow.session.scalars(select(Account).where(Account.login == login_name)).one().id


@dataclass
class LawWorld:
    """Law made by ``law_world``: an enacted rule, a vote open now, a bill in deliberation."""

    rule_id: str
    adopted_id: int
    voting_id: int
    deliberation_id: int
    counted_receipt: str

    def ids_for(self, path: str) -> dict[str, object]:
        """Values for the placeholders of an API path (votes go to the open vote)."""
        proposal = self.voting_id if path.endswith("/vote") else self.deliberation_id
        return {"rule_id": self.rule_id, "proposal_id": proposal, "receipt": self.counted_receipt}


def law_draft(title: str = "No credible threats", text: str = "Do not threaten people.") -> Any:
    """A rule draft for tests."""
    from isegoria.law.proposals import RuleDraft

    return RuleDraft(title, text, "violence", "legal", "remove")


def law_world(uow: UnitOfWork, clock: ManualClock, proposer: str = "ana") -> LawWorld:
    """Through real proposals and votes (moving ``clock``): MX-1 enacted, then an amendment
    of it open for voting (``proposer`` voted yes) and a new bill still in deliberation."""
    from isegoria.domain.constitution import ProposalKind
    from isegoria.jobs import queue as jobs
    from isegoria.law import proposals as law_proposals
    from isegoria.law import votes as law_votes

    who = account_id(uow, proposer)

    def propose(kind: ProposalKind, rule_id: str | None, title: str) -> int:
        with uow.begin():
            return law_proposals.propose(
                uow,
                account_id=who,
                jurisdiction="MX",
                kind=kind,
                title=title,
                rationale="Because.",
                rule_id=rule_id,
                draft=law_draft(title),
            ).id

    def vote(pid: int) -> str:
        with uow.begin():
            return law_votes.cast_vote(uow, account_id=who, proposal_id=pid, choice="yes").receipt

    adopted = propose(ProposalKind.ENACT, None, "No credible threats")
    clock.advance(timedelta(days=14))
    receipt = vote(adopted)
    clock.advance(timedelta(days=7))
    jobs.run_due(uow.database, clock, uow.signer)
    amendment = propose(ProposalKind.AMEND, "MX-1", "Credible threats, amended")
    clock.advance(timedelta(days=13))
    bill = propose(ProposalKind.ENACT, None, "No spam")
    clock.advance(timedelta(days=1))
    vote(amendment)
    jobs.run_due(uow.database, clock, uow.signer)
    return LawWorld("MX-1", adopted, amendment, bill, receipt)
