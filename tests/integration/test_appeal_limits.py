"""Appeals on both databases: no harsher outcome on one's own appeal, and nothing to appeal.

An author who appeals alone cannot end worse off (unless the citizens voted the limit off);
a reporter's appeal can harden; a case that took no action offers the author no appeal.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from isegoria.cases import appeal as cases_appeal
from isegoria.cases import ballots as cases_ballots
from isegoria.cases import intake as cases_intake
from isegoria.cases import jury as cases_jury
from isegoria.cases.common import get_case
from isegoria.cases.reasons_text import Clerk
from isegoria.clock import ManualClock
from isegoria.domain.constitution import ProposalKind
from isegoria.domain.verdict import AppliedRule, VerdictRule
from isegoria.errors import Conflict, InvalidInput
from isegoria.http.deps import Services
from isegoria.law import proposals as law_proposals
from isegoria.log.signing import LogSigner
from isegoria.people import accounts as people
from isegoria.security import hash_password
from isegoria.store.models_cases import DecisionRow, Juror, Jury
from isegoria.unit_of_work import UnitOfWork
from tests.support.cases_world import CasesWorld, build, pass_proposal, report_request, run_jobs
from tests.support.world import PASSWORD, login

HOUR = timedelta(hours=1)
SUSPEND_7 = ("suspend", 7)
REMOVE = ("remove", None)


@pytest.fixture
def services(app: FastAPI) -> Services:
    return app.state.services  # type: ignore[no-any-return]


@pytest.fixture
def uow(services: Services) -> UnitOfWork:  # the app's own, so pages see the same world
    return services.uow()


@pytest.fixture
def signer(services: Services) -> LogSigner:
    return services.signer


@pytest.fixture
def world(uow: UnitOfWork, clock: ManualClock, signer: LogSigner) -> CasesWorld:
    return build(uow, clock, signer)


def _file(uow: UnitOfWork, world: CasesWorld, **kwargs: object) -> int:
    with uow.begin():
        case, _ = cases_intake.file_report(
            uow,
            platform_id=world.base.platform_id,
            request=report_request(uow.now() - HOUR, **kwargs),  # type: ignore[arg-type]
        )
        return case.id


def _serve(
    uow: UnitOfWork,
    clock: ManualClock,
    signer: LogSigner,
    case_id: int,
    stage: str,
    sanction: tuple[str, int | None] | None,
) -> None:
    """Draw the stage's jury and have every juror vote the same way."""
    run_jobs(uow, clock, signer)
    with uow.begin(readonly=True):
        jury = uow.session.scalars(
            select(Jury).where(Jury.case_id == case_id, Jury.stage == stage)
        ).one()
        jurors = list(uow.session.scalars(select(Juror).where(Juror.jury_id == jury.id)))
    for juror in jurors:
        with uow.begin():
            cases_jury.reply(uow, account_id=juror.account_id, case_id=case_id, accept=True)
        with uow.begin():
            cases_ballots.cast_ballot(
                uow,
                account_id=juror.account_id,
                case_id=case_id,
                violation=sanction is not None,
                sanction=None if sanction is None else sanction[0],
                suspension_days=None if sanction is None else sanction[1],
                reason="A threat." if sanction else "Not a threat.",
            )


def _link(uow: UnitOfWork, world: CasesWorld, account: int, pseudonym: str) -> None:
    with uow.begin():
        code = cases_appeal.issue_link_code(
            uow, platform_id=world.base.platform_id, pseudonym=pseudonym
        )
    with uow.begin():
        cases_appeal.redeem_link_code(uow, account_id=account, code=code)


def _appeal(uow: UnitOfWork, account: int, case_id: int) -> None:
    with uow.begin():
        cases_appeal.file_appeal(uow, account_id=account, case_id=case_id, statement="Look again.")


Final = tuple[str | None, str | None, int | None, dict[str, Any]]


def _final(uow: UnitOfWork, case_id: int) -> Final:
    """The appeal's outcome, sanction, suspension days and statement of reasons."""
    with uow.begin(readonly=True):
        case = get_case(uow, case_id)
        return (
            case.appeal_outcome,
            case.appeal_sanction,
            case.appeal_suspension_days,
            json.loads(case.appeal_statement or "{}"),
        )


def _login_name(uow: UnitOfWork, account: int) -> str:
    with uow.begin():
        person = people.get_account(uow, account)
        person.password_hash = hash_password(PASSWORD)
        return person.login


def test_author_appeals_a_removal_and_a_suspension_vote_is_capped_at_removal(
    app: FastAPI, uow: UnitOfWork, clock: ManualClock, signer: LogSigner, world: CasesWorld
) -> None:
    case_id = _file(uow, world)
    _serve(uow, clock, signer, case_id, "first", REMOVE)
    author = world.volunteers[-1]
    _link(uow, world, author, "@troll")
    name = _login_name(uow, author)
    # The page says so before the author files, in every language.
    with TestClient(app, raise_server_exceptions=False) as client:
        login(client, name)
        for language, words in {
            "en": "Your appeal cannot make the decision harsher.",
            "es": "Tu apelación no puede agravar la decisión.",
            "fr": "Votre appel ne peut pas aggraver la décision.",
            "de": "Ihre Berufung kann die Entscheidung nicht verschärfen.",
        }.items():
            client.cookies.set("isegoria_lang", language)
            page = client.get(f"/cases/{case_id}").text
            assert f'action="/cases/{case_id}/appeal"' in page
            assert words in page, language
    _appeal(uow, author, case_id)
    _serve(uow, clock, signer, case_id, "appeal", SUSPEND_7)
    outcome, sanction, days, statement = _final(uow, case_id)
    assert (outcome, sanction, days) == ("violation", "remove", None)
    assert statement["appeal_limit"] == "capped"
    # The statement is written in the post's language; it names the limit in those words.
    clerk = Clerk(statement["language"])
    capped = clerk.applied(AppliedRule(VerdictRule.APPEAL_CAPPED, ""))
    assert capped in statement["explanation"]
    assert clerk.applied(AppliedRule(VerdictRule.APPEAL_NO_HARSHER, "")) not in capped
    with uow.begin(readonly=True):
        verdict = json.loads(get_case(uow, case_id).appeal_verdict or "{}")
        kinds = [
            r.kind
            for r in uow.session.scalars(select(DecisionRow).where(DecisionRow.case_id == case_id))
        ]
    assert verdict["median_sanction"] == {"step": "suspend", "suspension_days": 7}
    assert kinds == ["sanction_imposed"]  # the removal stands; nothing new for the platform
    with TestClient(app) as public:
        for language, words in {
            "en": "so the first decision stands: no harsher outcome on one's own appeal.",
            "es": "nadie sale peor de su propia apelación.",
            "fr": "nul ne peut voir sa situation aggravée sur son propre appel.",
            "de": "keine Verschlechterung auf die eigene Berufung hin.",
        }.items():
            public.cookies.set("isegoria_lang", language)
            assert words in public.get(f"/cases/{case_id}").text, language


def test_a_reporters_appeal_can_harden(
    uow: UnitOfWork, clock: ManualClock, signer: LogSigner, world: CasesWorld
) -> None:
    case_id = _file(uow, world)
    _serve(uow, clock, signer, case_id, "first", None)
    reporter = world.volunteers[-2]
    _link(uow, world, reporter, "@victim")
    _appeal(uow, reporter, case_id)
    _serve(uow, clock, signer, case_id, "appeal", SUSPEND_7)
    outcome, sanction, days, statement = _final(uow, case_id)
    assert (outcome, sanction, days) == ("violation", "suspend", 7)
    assert statement["appeal_limit"] == "reporter_appealed"


def test_a_constitution_amended_by_vote_lets_the_authors_appeal_harden(
    app: FastAPI, uow: UnitOfWork, clock: ManualClock, signer: LogSigner, world: CasesWorld
) -> None:
    pass_proposal(
        uow,
        clock,
        signer,
        voters=world.voters,
        kind=ProposalKind.CONSTITUTION,
        title="Appeals may also harden",
        changes={"no_harsher_on_own_appeal": False},
    )
    case_id = _file(uow, world)
    _serve(uow, clock, signer, case_id, "first", REMOVE)
    author = world.volunteers[-1]
    _link(uow, world, author, "@troll")
    with TestClient(app, raise_server_exceptions=False) as client:
        login(client, _login_name(uow, author))
        page = client.get(f"/cases/{case_id}").text
    assert "The new jury may also decide a harsher outcome." in page
    assert "Your appeal cannot make the decision harsher." not in page
    _appeal(uow, author, case_id)
    _serve(uow, clock, signer, case_id, "appeal", SUSPEND_7)
    outcome, sanction, days, statement = _final(uow, case_id)
    assert (outcome, sanction, days) == ("violation", "suspend", 7)
    assert statement["appeal_limit"] == "limit_off"
    limit_off = Clerk(statement["language"]).applied(AppliedRule(VerdictRule.APPEAL_LIMIT_OFF, ""))
    assert limit_off in statement["explanation"]


def test_a_constitution_change_to_the_limit_must_be_true_or_false(
    uow: UnitOfWork, world: CasesWorld
) -> None:
    with uow.begin(), pytest.raises(InvalidInput, match="must be true or false"):
        law_proposals.propose(
            uow,
            account_id=world.voters[0],
            jurisdiction="MX",
            kind=ProposalKind.CONSTITUTION,
            title="Nonsense",
            rationale="A typo.",
            changes={"no_harsher_on_own_appeal": "sometimes"},
        )


def test_a_lapsed_interim_measure_with_no_action_offers_no_appeal(
    app: FastAPI, uow: UnitOfWork, clock: ManualClock, signer: LogSigner, world: CasesWorld
) -> None:
    case_id = _file(uow, world, interim=True)
    run_jobs(uow, clock, signer)
    with uow.begin(readonly=True):
        until = get_case(uow, case_id).interim_until
    assert until is not None
    clock.set(until + timedelta(seconds=1))
    _serve(uow, clock, signer, case_id, "first", None)
    with uow.begin(readonly=True):
        case = get_case(uow, case_id)
        assert (case.status, case.interim_state, case.sanction) == ("decided", "lapsed", "none")
    author = world.volunteers[-1]
    _link(uow, world, author, "@troll")
    with uow.begin(), pytest.raises(Conflict, match="nothing to appeal.*interim measure lapsed"):
        cases_appeal.file_appeal(uow, account_id=author, case_id=case_id, statement="Why?")
    with TestClient(app, raise_server_exceptions=False) as client:
        token = login(client, _login_name(uow, author))
        page = client.get(f"/cases/{case_id}").text
        assert f'action="/cases/{case_id}/appeal"' not in page
        assert "There is nothing to appeal: the decision took no action" in page
        assert "The interim restriction has lapsed" in page
        refused = client.post(
            f"/api/v1/cases/{case_id}/appeal",
            json={"text": "Why?"},
            headers={"X-CSRF-Token": token},
        )
        assert refused.status_code == 409, refused.text
        assert "nothing to appeal" in refused.json()["detail"]
        form = client.post(f"/cases/{case_id}/appeal", data={"csrf_token": token, "text": "Why?"})
        assert form.status_code == 409 and "nothing to appeal" in form.text
        # The same refusal to a Spanish reader: the page in their words, the API in English.
        client.cookies.set("isegoria_lang", "es")
        form = client.post(f"/cases/{case_id}/appeal", data={"csrf_token": token, "text": "Why?"})
        assert form.status_code == 409 and "no hay nada que apelar" in form.text
        assert "medida provisional caducó" in form.text and "nothing to appeal" not in form.text
        refused = client.post(
            f"/api/v1/cases/{case_id}/appeal",
            json={"text": "Why?"},
            headers={"X-CSRF-Token": token},
        )
        assert "nothing to appeal" in refused.json()["detail"]
    with uow.begin(readonly=True):
        assert get_case(uow, case_id).status == "decided"  # nothing was filed
