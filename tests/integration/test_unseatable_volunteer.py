"""A volunteer no quota-satisfying jury can seat is named, and leaves everyone else as before.

The world (issue 16, item 4): MX's quotas come from its 25 citizens. One in five lives in
CDMX and one in five is 60 or older, so a jury of five seats exactly one of each (and three
or four from Jalisco). Citizens aged 60+ live in Jalisco too, but the only ones who
volunteer live in CDMX: every jury's 60+ seat goes to a CDMX volunteer, which fills the CDMX
seat. The one CDMX volunteer aged 30-44 can then never be seated; only a second CDMX seat
would let them sit. The draw must say so publicly, with that quota, `jury verify` must
re-prove it, and the others' smallest chance must be the one they have when that volunteer
does not volunteer at all.
"""

from __future__ import annotations

from datetime import timedelta
from fractions import Fraction
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from isegoria.algorithms import sortition
from isegoria.cases import intake as cases_intake
from isegoria.cases import jury_verify
from isegoria.cases import views as cases_views
from isegoria.cli import app as cli
from isegoria.clock import ManualClock
from isegoria.domain.identity import Role
from isegoria.http.deps import Services
from isegoria.log import read as log_read
from isegoria.log.entries import decode_entry
from isegoria.people import accounts as people
from isegoria.unit_of_work import UnitOfWork
from tests.support.cases_world import CasesWorld, build, report_request, run_jobs
from tests.support.world import account_id

HOUR = timedelta(hours=1)
CDMX, JALISCO, NUEVO_LEON = "CDMX", "Jalisco", "Nuevo León"
OLD, MIDDLE = "60+", "30-44"
# (region, age band, volunteers, citizens who do not volunteer); everyone leans "centre"
# except the base world's Ana (Jalisco, 30-44, leaning undeclared), who stops volunteering.
CITIZENS = [
    (CDMX, OLD, 4, 0),
    (CDMX, MIDDLE, 1, 0),  # the volunteer no jury can seat
    (JALISCO, OLD, 0, 1),  # 60+ is present in Jalisco, but none of them volunteers
    (JALISCO, MIDDLE, 12, 3),  # with Ana, 17 of 25 live in Jalisco: 3 or 4 seats
    (NUEVO_LEON, MIDDLE, 1, 2),  # 3 of 25: none or one seat
]
BLOCKED_PROFILE = [CDMX, MIDDLE, "centre"]
# The smallest relaxation that would seat them: one more seat for CDMX.
BLOCKING = {"stratum": "region", "value": CDMX, "bound": "maximum", "limit": 1, "by": 1}
SENTENCE = (
    "profile CDMX/30-44/centre cannot be seated under these quotas: the closest jury with one "
    "of its volunteers misses region='CDMX' maximum 1 by 1 seat"
)
# Every jury seats one of the four CDMX volunteers aged 60+; the others get more.
SMALLEST_CHANCE = Fraction(1, 4)


@pytest.fixture
def services(app: FastAPI) -> Services:
    """The application's services (database, signer, clock)."""
    return app.state.services  # type: ignore[no-any-return]


@pytest.fixture
def world(services: Services, clock: ManualClock) -> CasesWorld:
    """The base cases world with only Ana, then MX's citizens of the module docstring."""
    uow = services.uow()
    built = build(uow, clock, services.signer, volunteers=0)
    ana_id = account_id(uow, "ana")
    with uow.begin():
        ana = people.get_account(uow, ana_id)
        people.update_citizen_profile(uow, ana, jury_opt_in=False)
        for group, (region, age, volunteers, others) in enumerate(CITIZENS):
            for n in range(volunteers + others):
                account = people.add_account(
                    uow,
                    login=f"c{group}x{n:02d}",
                    display_name=f"Citizen {group}.{n}",
                    role=Role.CITIZEN,
                    password=None,
                    residences=["MX"],
                    strata=people.Strata(region=region, age_band=age, leaning="centre"),
                    jury_opt_in=n < volunteers,
                )
                if n < volunteers:
                    built.volunteers.append(account.id)
    return built


def _file_and_draw(services: Services, clock: ManualClock, world: CasesWorld, post: str) -> int:
    uow = services.uow()
    with uow.begin():
        case, _ = cases_intake.file_report(
            uow,
            platform_id=world.base.platform_id,
            request=report_request(uow.now() - HOUR, content_id=post),
        )
        case_id = case.id
    run_jobs(uow, clock, services.signer)
    return case_id


def _drawn(uow: UnitOfWork, case_id: int) -> dict[str, Any]:
    with uow.begin(readonly=True):
        entries = log_read.entries_about(uow.session, "case", str(case_id))
        return next(decode_entry(e.payload).facts for e in entries if e.kind == "JuryDrawn")


def _smallest_chance(record: dict[str, Any]) -> Fraction:
    portfolio = sortition.Portfolio.from_json_dict(record["portfolio"])
    return sortition.selection_report(portfolio).min_probability


def test_an_unseatable_volunteer_is_named_and_leaves_the_others_chances_alone(
    app: FastAPI,
    services: Services,
    clock: ManualClock,
    world: CasesWorld,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    case_id = _file_and_draw(services, clock, world, "post-unseatable-1")
    record = TestClient(app).get(f"/api/v1/cases/{case_id}/juries/first").json()

    # The public record names the profile and the quota that blocks it.
    assert record["quotas"]["quotas"]["region"][CDMX] == [1, 1]
    assert record["quotas"]["quotas"]["age_band"][OLD] == [1, 1]
    [entry] = record["portfolio"]["unseatable"]
    assert entry["profile"] == BLOCKED_PROFILE
    assert entry["blocked_by"] == [BLOCKING]
    assert record["cannot_be_seated"] == [SENTENCE]
    # Still in the published pool (the lottery is the jurisdiction's), never on the jury.
    pool = {tuple(p["profile"]): p["members"] for p in record["pool"]["profiles"]}
    [blocked_member] = pool[tuple(BLOCKED_PROFILE)]
    assert blocked_member not in record["jurors"]
    assert len(record["jurors"]) == 5

    # The smallest chance among the others is the one the lottery guarantees, not zero.
    uow = services.uow()
    drawn = _drawn(uow, case_id)
    assert Fraction(drawn["min_selection_probability"]) == SMALLEST_CHANCE
    assert _smallest_chance(record) == SMALLEST_CHANCE

    # jury verify re-proves the claim, through the service and through the CLI.
    with uow.begin(readonly=True):
        head = log_read.checkpoint_at(uow.session, record["seed_checkpoint_size"])
        assert head is not None
        note = head.note
    evidence = jury_verify.DrawEvidence(case_id, "first", record, drawn, note)
    verified = jury_verify.verify_draw(evidence, services.signer.verifier_key)
    assert verified.cannot_be_seated == (SENTENCE,)
    assert Fraction(verified.min_probability) == SMALLEST_CHANCE
    monkeypatch.setenv("ISEGORIA_DATA_DIR", str(services.settings.data_dir))
    monkeypatch.setenv("ISEGORIA_DATABASE_URL", services.settings.effective_database_url)
    result = CliRunner().invoke(cli, ["jury", "verify", str(case_id)], env={"COLUMNS": "400"})
    assert result.exit_code == 0, result.output
    assert "smallest selection probability 1/4 among the volunteers who can be seated" in (
        result.output
    )
    assert SENTENCE in " ".join(result.output.split())

    # The same jurisdiction without that volunteer: the others' smallest chance is unchanged.
    blocked_id = account_id(uow, "c1x00")
    with uow.begin():
        blocked = people.get_account(uow, blocked_id)
        people.update_citizen_profile(uow, blocked, jury_opt_in=False)
    clock.advance(HOUR)
    second = _file_and_draw(services, clock, world, "post-unseatable-2")
    without = TestClient(app).get(f"/api/v1/cases/{second}/juries/first").json()
    assert without["cannot_be_seated"] == []
    assert without["portfolio"]["unseatable"] == []
    assert without["quotas"] == record["quotas"]  # the citizenry did not change
    assert tuple(BLOCKED_PROFILE) not in {tuple(p["profile"]) for p in without["pool"]["profiles"]}
    assert _smallest_chance(without) == _smallest_chance(record) == SMALLEST_CHANCE
    assert Fraction(_drawn(uow, second)["min_selection_probability"]) == SMALLEST_CHANCE


def test_a_record_that_hides_the_unseatable_volunteer_does_not_verify(
    app: FastAPI, services: Services, clock: ManualClock, world: CasesWorld
) -> None:
    case_id = _file_and_draw(services, clock, world, "post-unseatable-3")
    uow = services.uow()
    with uow.begin(readonly=True):
        record = cases_views.draw_record(uow, case_id, "first")
        assert record is not None
        head = log_read.checkpoint_at(uow.session, record["seed_checkpoint_size"])
        assert head is not None
        note = head.note
    hidden = {**record, "portfolio": {**record["portfolio"], "unseatable": []}}
    drawn = _drawn(uow, case_id)
    # Re-committing to the edited portfolio too: only the seatability audit can catch it.
    digest = sortition.Portfolio.from_json_dict(hidden["portfolio"]).digest.hex()
    evidence = jury_verify.DrawEvidence(
        case_id, "first", hidden, {**drawn, "portfolio_digest": digest}, note
    )
    with pytest.raises(jury_verify.JuryVerificationError, match="CDMX/30-44/centre never gets"):
        jury_verify.verify_draw(evidence, services.signer.verifier_key)
