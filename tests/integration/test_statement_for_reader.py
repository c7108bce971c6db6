"""A statement of reasons said again in the reader's language, from what the verdict stored.

Rebuilt in the post's own language it must be the stored statement exactly (every field);
rebuilt in another it says the same facts in that language. The case page shows a reader
the statement in their language, with a note and a way to the original.
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
from isegoria.cases.common import dumps, get_case
from isegoria.cases.reasons_text import Clerk
from isegoria.cases.reasons_view import statement_for_reader
from isegoria.clock import ManualClock
from isegoria.http.deps import Services
from isegoria.log.signing import LogSigner
from isegoria.store.models_cases import Juror, Jury
from isegoria.unit_of_work import UnitOfWork
from tests.support.cases_world import CasesWorld, build, report_request, run_jobs

HOUR = timedelta(hours=1)
FACTS = ("case_id", "decision_id", "decided_at", "tally", "sanction", "suspension_days")
OTHERS = ("en", "fr", "de")  # the test world's posts are in Spanish


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


def _file(uow: UnitOfWork, world: CasesWorld, **kwargs: Any) -> int:
    with uow.begin():
        case, _ = cases_intake.file_report(
            uow,
            platform_id=world.base.platform_id,
            request=report_request(uow.now() - HOUR, **kwargs),
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
    """Draw the stage's jury; each juror votes the same way, in words of their own."""
    run_jobs(uow, clock, signer)
    with uow.begin(readonly=True):
        jury = uow.session.scalars(
            select(Jury).where(Jury.case_id == case_id, Jury.stage == stage)
        ).one()
        jurors = list(uow.session.scalars(select(Juror).where(Juror.jury_id == jury.id)))
    for n, juror in enumerate(jurors):
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
                reason=f"Una amenaza, juror {n}." if sanction else f"No es amenaza {n}.",
            )
        clock.advance(timedelta(minutes=1))


def _appeal(uow: UnitOfWork, world: CasesWorld, case_id: int) -> None:
    author = world.volunteers[-1]
    with uow.begin():
        code = cases_appeal.issue_link_code(
            uow, platform_id=world.base.platform_id, pseudonym="@troll"
        )
    with uow.begin():
        cases_appeal.redeem_link_code(uow, account_id=author, code=code)
    with uow.begin():
        cases_appeal.file_appeal(uow, account_id=author, case_id=case_id, statement="Otra vez.")


def _check(uow: UnitOfWork, case_id: int, *, appeal: bool) -> None:
    """Same statement in the post's language; the same facts, other words, in the others."""
    with uow.begin(readonly=True):
        case = get_case(uow, case_id)
        stored = json.loads((case.appeal_statement if appeal else case.statement) or "null")
        again = statement_for_reader(uow, case, stored["language"], appeal=appeal)
        others = {lang: statement_for_reader(uow, case, lang, appeal=appeal) for lang in OTHERS}
    assert again is not None
    assert json.loads(dumps(again.to_dict())) == stored
    for lang, other in others.items():
        assert other is not None
        said = json.loads(dumps(other.to_dict()))
        assert said["language"] == lang
        assert {k: said[k] for k in FACTS} == {k: stored[k] for k in FACTS}, lang
        clerk = Clerk(lang)
        jury = stored["tally"]["jury"]
        sentence = (
            "On the author's appeal, a new jury of %(jury)d citizens drawn by lot examined it."
            if appeal
            else "A jury of %(jury)d citizens drawn by lot examined it."
        )
        assert clerk.gettext(sentence, jury=jury) in said["facts"], lang
        for field in ("facts", "explanation", "redress"):
            assert said[field] != stored[field], (lang, field)
        # The jurors' own words are quoted as they wrote them, never translated.
        assert ("Una amenaza" in said["explanation"]) == ("Una amenaza" in stored["explanation"])


def test_rebuilt_statements_match_the_stored_ones_through_an_appeal(
    uow: UnitOfWork, clock: ManualClock, signer: LogSigner, world: CasesWorld
) -> None:
    # An interim restriction, upheld by the verdict (the row says "upheld" afterwards).
    case_id = _file(uow, world, interim=True)
    _serve(uow, clock, signer, case_id, "first", ("remove", None))
    # A second report on the same post after the verdict: not one the statement counted.
    clock.advance(HOUR)
    _file(uow, world, content_id=_post_of(uow, case_id), reporter="@other")
    _check(uow, case_id, appeal=False)
    _appeal(uow, world, case_id)
    _serve(uow, clock, signer, case_id, "appeal", ("suspend", 7))
    _check(uow, case_id, appeal=True)
    _check(uow, case_id, appeal=False)


def test_a_lifted_interim_restriction_is_said_as_at_the_verdict(
    uow: UnitOfWork, clock: ManualClock, signer: LogSigner, world: CasesWorld
) -> None:
    # No violation: the verdict lifts the restriction and the row then says "lapsed".
    case_id = _file(uow, world, interim=True)
    _serve(uow, clock, signer, case_id, "first", None)
    with uow.begin(readonly=True):
        assert get_case(uow, case_id).interim_state == "lapsed"
    _check(uow, case_id, appeal=False)


def test_the_case_page_shows_the_readers_language_and_the_original(
    app: FastAPI, uow: UnitOfWork, clock: ManualClock, signer: LogSigner, world: CasesWorld
) -> None:
    case_id = _file(uow, world)
    _serve(uow, clock, signer, case_id, "first", ("remove", None))
    with uow.begin(readonly=True):
        stored = json.loads(get_case(uow, case_id).statement or "{}")
        german = statement_for_reader(uow, get_case(uow, case_id), "de", appeal=False)
    assert german is not None
    jury = "A jury of %(jury)d citizens drawn by lot examined it."
    in_german, in_spanish = (Clerk(lang).gettext(jury, jury=5) for lang in ("de", "es"))
    assert in_german in german.facts
    with TestClient(app) as client:
        client.cookies.set("isegoria_lang", "de")
        page = client.get(f"/cases/{case_id}").text
        assert in_german in page
        assert in_spanish not in page
        assert "Übersetzt aus dem Original auf Spanisch" in page
        assert f'href="/cases/{case_id}?statement=original"' in page
        assert '<span lang="es">Una amenaza, juror 0.</span>' in page
        original = client.get(f"/cases/{case_id}?statement=original").text
        assert in_spanish in original
        assert in_german not in original
        assert "Übersetzt aus" not in original
        assert f'href="/cases/{case_id}"' in original
        client.cookies.set("isegoria_lang", "es")
        same = client.get(f"/cases/{case_id}").text
        assert "statement=original" not in same
    # The API gives the statement the author was sent, whoever asks.
    with TestClient(app) as api:
        api.cookies.set("isegoria_lang", "de")
        body = api.get(f"/api/v1/cases/{case_id}").json()
    assert _statement_in(body) == stored


def _statement_in(body: dict[str, Any]) -> Any:
    return body.get("statement")


def _post_of(uow: UnitOfWork, case_id: int) -> str:
    with uow.begin(readonly=True):
        return get_case(uow, case_id).platform_content_id


def test_a_case_that_lapsed_without_a_jury_is_said_again_with_its_own_reason(
    uow: UnitOfWork, clock: ManualClock, signer: LogSigner
) -> None:
    # Three volunteers cannot seat a jury of five: the case lapses, quoting why.
    small = build(uow, clock, signer, volunteers=3)
    case_id = _file(uow, small)
    run_jobs(uow, clock, signer)
    with uow.begin(readonly=True):
        case = get_case(uow, case_id)
        assert case.outcome == "lapsed"
        assert "No jury could be drawn" in json.loads(case.statement or "{}")["explanation"]
    _check(uow, case_id, appeal=False)
