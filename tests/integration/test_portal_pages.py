"""'My isegoria' and the forms that forgive, as a citizen (or nobody) meets them."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from isegoria.cases import appeal as cases_appeal
from isegoria.cases import ballots as cases_ballots
from isegoria.cases import intake as cases_intake
from isegoria.cases import jury as cases_jury
from isegoria.cases.common import get_case
from isegoria.clock import ManualClock
from isegoria.law import views as law_views
from isegoria.log.signing import LogSigner
from isegoria.people import accounts as people
from isegoria.security import SecretBox, hash_password
from isegoria.store.models_cases import Case, CaseBallot, Juror, Jury
from isegoria.unit_of_work import UnitOfWork
from tests.support.cases_world import CasesWorld, build, report_request, run_jobs
from tests.support.world import PASSWORD, account_id, csrf_from, law_world, login, seed

HOUR = timedelta(hours=1)


@pytest.fixture
def world(uow: UnitOfWork, clock: ManualClock, signer: LogSigner) -> CasesWorld:
    return build(uow, clock, signer)


def _open_case(uow: UnitOfWork, clock: ManualClock, signer: LogSigner, world: CasesWorld) -> int:
    with uow.begin():
        case, _ = cases_intake.file_report(
            uow, platform_id=world.base.platform_id, request=report_request(uow.now() - HOUR)
        )
    run_jobs(uow, clock, signer)
    return case.id


def _jurors(uow: UnitOfWork, case_id: int) -> list[Juror]:
    with uow.begin(readonly=True):
        jury = uow.session.scalars(select(Jury).where(Jury.case_id == case_id)).one()
        return list(uow.session.scalars(select(Juror).where(Juror.jury_id == jury.id)))


def _as_citizen(uow: UnitOfWork, account_id: int) -> tuple[str, str]:
    """The login of ``account_id``, given the tests' password, and their display name."""
    with uow.begin():
        account = people.get_account(uow, account_id)
        account.password_hash = hash_password(PASSWORD)
        return account.login, account.display_name


def _ballots(uow: UnitOfWork, case_id: int) -> int:
    with uow.begin(readonly=True):
        query = (
            select(func.count())
            .select_from(CaseBallot)
            .join(Jury, Jury.id == CaseBallot.jury_id)
            .where(Jury.case_id == case_id)
        )
        return int(uow.session.scalar(query) or 0)


def test_a_summoned_citizen_lands_on_my_isegoria_and_sees_only_their_own_seat(
    client: TestClient,
    uow: UnitOfWork,
    clock: ManualClock,
    signer: LogSigner,
    world: CasesWorld,
) -> None:
    case_id = _open_case(uow, clock, signer, world)
    jurors = _jurors(uow, case_id)
    me, *others = jurors
    name, _display = _as_citizen(uow, me.account_id)
    page = client.get("/login")
    landed = client.post(
        "/login",
        data={"login": name, "password": PASSWORD, "csrf_token": csrf_from(page.text)},
        follow_redirects=False,
    )
    assert landed.status_code == 303 and landed.headers["location"] == "/me"
    mine = client.get("/me", headers={"accept-language": "en"})
    assert mine.status_code == 200
    assert f'href="/cases/{case_id}"' in mine.text
    assert f"Case {case_id}: you were drawn for its jury" in mine.text
    assert "answer by" in mine.text
    # The summons is also a notification, counted in the header's badge.
    unread = re.search(r'class="badge">(\d+)<span class="visually-hidden"> unread', mine.text)
    assert unread is not None and int(unread.group(1)) >= 1
    assert "You are summoned to a citizen jury (case" in mine.text
    # Nothing of the other jurors: neither their pseudonyms nor who they are.
    with uow.begin(readonly=True):
        other_people = [people.get_account(uow, j.account_id) for j in others]
    for juror, account in zip(others, other_people, strict=True):
        assert juror.pseudonym not in mine.text
        # Whole words: "Volunteer 1" is a part of the signed-in "Volunteer 13".
        for name in (account.login, account.display_name):
            assert not re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", mine.text), name
    with uow.begin():
        cases_jury.reply(uow, account_id=me.account_id, case_id=case_id, accept=True)
    accepted = client.get("/me")
    assert f'href="/cases/{case_id}/file"' in accepted.text
    assert "read the file and cast your ballot" in accepted.text
    spanish = client.get("/me", headers={"accept-language": "es"})
    assert "<h1>Mi isegoria</h1>" in spanish.text


def test_my_isegoria_shows_decisions_about_my_posts_with_the_appeal_deadline(
    client: TestClient,
    uow: UnitOfWork,
    clock: ManualClock,
    signer: LogSigner,
    world: CasesWorld,
) -> None:
    case_id = _open_case(uow, clock, signer, world)
    jurors = _jurors(uow, case_id)
    author = next(v for v in world.volunteers if v not in {j.account_id for j in jurors})
    with uow.begin():
        code = cases_appeal.issue_link_code(
            uow, platform_id=world.base.platform_id, pseudonym="@troll"
        )
    with uow.begin():
        cases_appeal.redeem_link_code(uow, account_id=author, code=code)
    for juror in jurors:
        with uow.begin():
            cases_jury.reply(uow, account_id=juror.account_id, case_id=case_id, accept=True)
        with uow.begin():
            cases_ballots.cast_ballot(
                uow,
                account_id=juror.account_id,
                case_id=case_id,
                violation=True,
                sanction="remove",
                suspension_days=None,
                reason="A threat.",
            )
    name, _ = _as_citizen(uow, author)
    login(client, name)
    page = client.get("/me", headers={"accept-language": "en"})
    assert f'href="/cases/{case_id}"' in page.text
    assert "the post removed" in page.text
    assert "You may appeal until" in page.text
    # How each juror voted stays sealed: no juror's pseudonym reaches the author's page.
    assert all(j.pseudonym not in page.text for j in jurors)


def test_anonymous_visitors_are_asked_to_log_in_in_their_language_and_the_api_keeps_json(
    client: TestClient,
) -> None:
    for path in ("/me", "/jury", "/notifications"):
        page = client.get(path, headers={"accept": "text/html", "accept-language": "es"})
        assert page.status_code == 401
        assert page.headers["content-type"].startswith("text/html")
        assert '<html lang="es">' in page.text
        assert f'href="/login?next={path.replace("/", "%2F")}"' in page.text
    api = client.get("/api/v1/me")
    assert api.status_code == 401
    assert api.headers["content-type"].startswith("application/problem+json")


def test_a_ballot_with_a_mistake_comes_back_with_what_was_typed_and_casts_nothing(
    client: TestClient,
    uow: UnitOfWork,
    clock: ManualClock,
    signer: LogSigner,
    world: CasesWorld,
) -> None:
    case_id = _open_case(uow, clock, signer, world)
    me = _jurors(uow, case_id)[0]
    with uow.begin():
        cases_jury.reply(uow, account_id=me.account_id, case_id=case_id, accept=True)
    name, _ = _as_citizen(uow, me.account_id)
    login(client, name)
    form = client.get(f"/cases/{case_id}/file")
    csrf = csrf_from(form.text)
    reasons = "Amenaza directa <con> nombre y dirección."
    typo = {
        "csrf_token": csrf,
        "violation": "yes",
        "sanction": "suspend",
        "suspension_days": "7x",
        "reason": reasons,
    }
    bad = client.post(f"/cases/{case_id}/ballot", data=typo, headers={"accept-language": "es"})
    assert bad.status_code == 422
    assert "Amenaza directa &lt;con&gt; nombre y dirección." in bad.text
    assert 'value="7x"' in bad.text and 'value="suspend" selected' in bad.text
    assert 'id="error-suspension_days"' in bad.text and 'aria-invalid="true"' in bad.text
    assert "días" in bad.text  # the message beside the field is in Spanish
    assert _ballots(uow, case_id) == 0
    missing = client.post(f"/cases/{case_id}/ballot", data={"csrf_token": csrf, "reason": reasons})
    assert missing.status_code == 422 and 'id="error-violation"' in missing.text
    assert _ballots(uow, case_id) == 0
    good = client.post(f"/cases/{case_id}/ballot", data={**typo, "suspension_days": "7"})
    assert good.status_code == 200 and 'id="receipt"' in good.text
    assert _ballots(uow, case_id) == 1


def test_a_law_vote_without_a_choice_comes_back_and_changes_nothing(
    client: TestClient, uow: UnitOfWork, clock: ManualClock
) -> None:
    seed(uow, SecretBox(b"k" * 32))
    law = law_world(uow, clock)
    login(client, "ana")
    page = client.get(f"/proposals/{law.voting_id}")
    csrf = csrf_from(page.text)
    bad = client.post(
        f"/proposals/{law.voting_id}/vote",
        data={"csrf_token": csrf, "choice": "maybe", "change": "true"},
        headers={"accept-language": "fr"},
    )
    assert bad.status_code == 422
    assert 'id="error-choice"' in bad.text and "Choisissez oui, non ou abstention." in bad.text
    votes = client.get("/me/votes", headers={"accept-language": "en"})
    assert votes.status_code == 200 and "not yet voted" not in votes.text
    ana = account_id(uow, "ana")
    with uow.begin(readonly=True):
        mine = {v.proposal.id: v for v in law_views.my_votes(uow, ana)}
    assert mine[law.voting_id].choice == "yes"  # the vote she cast before stands
    me = client.get("/me", headers={"accept-language": "en"})
    assert f'href="/proposals/{law.voting_id}"' in me.text and "you have voted" in me.text
    assert f'href="/proposals/{law.deliberation_id}"' in me.text  # her own proposals


def test_unknown_filter_values_are_named_not_ignored(
    client: TestClient, uow: UnitOfWork, clock: ManualClock, signer: LogSigner, world: CasesWorld
) -> None:
    case_id = _open_case(uow, clock, signer, world)
    cases = client.get("/cases?status=closed", headers={"accept-language": "en"})
    assert cases.status_code == 422
    assert "There is no case state called “closed”" in cases.text
    assert f'href="/cases/{case_id}"' not in cases.text
    assert client.get("/cases?status=open").status_code == 200
    proposals = client.get("/proposals?jurisdiction=ZZ", headers={"accept-language": "en"})
    assert proposals.status_code == 422 and "There is no jurisdiction “ZZ”" in proposals.text
    assert client.get("/proposals?jurisdiction=MX").status_code == 200


def test_cases_are_listed_most_recently_opened_first_as_the_caption_says(
    client: TestClient, uow: UnitOfWork, clock: ManualClock, signer: LogSigner, world: CasesWorld
) -> None:
    older = _open_case(uow, clock, signer, world)
    clock.advance(HOUR)
    newer = _open_case(uow, clock, signer, world)
    with uow.begin():  # a back-dated case (as the demo's history is) opened after the other
        uow.session.get(Case, older).opened_at = uow.now() + HOUR  # type: ignore[union-attr]
    page = client.get("/cases", headers={"accept-language": "en"}).text
    assert "The most recently opened first" in page
    assert page.index(f'href="/cases/{older}"') < page.index(f'href="/cases/{newer}"')


def test_an_appeal_with_a_mistake_comes_back_with_the_reasons_kept_and_files_nothing(
    client: TestClient, uow: UnitOfWork, clock: ManualClock, signer: LogSigner, world: CasesWorld
) -> None:
    case_id = _open_case(uow, clock, signer, world)
    jurors = _jurors(uow, case_id)
    author = next(v for v in world.volunteers if v not in {j.account_id for j in jurors})
    with uow.begin():
        code = cases_appeal.issue_link_code(
            uow, platform_id=world.base.platform_id, pseudonym="@troll"
        )
    with uow.begin():
        cases_appeal.redeem_link_code(uow, account_id=author, code=code)
    name, _ = _as_citizen(uow, author)
    login(client, name)
    # Before the verdict the author answers the report; an empty answer is refused in place.
    page = client.get(f"/cases/{case_id}")
    csrf = csrf_from(page.text)
    empty = client.post(
        f"/cases/{case_id}/statement",
        data={"csrf_token": csrf, "text": "   "},
        headers={"accept-language": "de"},
    )
    assert empty.status_code == 422 and 'id="error-statement"' in empty.text
    assert "das Feld ist leer" in empty.text
    for juror in jurors:
        with uow.begin():
            cases_jury.reply(uow, account_id=juror.account_id, case_id=case_id, accept=True)
        with uow.begin():
            cases_ballots.cast_ballot(
                uow,
                account_id=juror.account_id,
                case_id=case_id,
                violation=True,
                sanction="remove",
                suspension_days=None,
                reason="A threat.",
            )
    reasons = "Era una cita de una película. " * 300  # longer than an appeal may be
    too_long = client.post(
        f"/cases/{case_id}/appeal",
        data={"csrf_token": csrf, "text": reasons},
        headers={"accept-language": "es"},
    )
    assert too_long.status_code == 422
    assert 'id="error-appeal"' in too_long.text and "Era una cita de una película." in too_long.text
    with uow.begin(readonly=True):
        assert cases_appeal.may_appeal(uow, author, get_case(uow, case_id)) is not None
    filed = client.post(
        f"/cases/{case_id}/appeal",
        data={"csrf_token": csrf, "text": "Era una cita."},
        follow_redirects=False,
    )
    assert filed.status_code == 303


def test_the_proposal_form_offers_lists_and_constitution_fields_and_forgives(
    client: TestClient, uow: UnitOfWork
) -> None:
    seed(uow, SecretBox(b"k" * 32))
    login(client, "ana")
    form = client.get("/proposals/new?jurisdiction=MX", headers={"accept-language": "en"})
    assert form.status_code == 200
    assert '<select id="jurisdiction"' in form.text and '<option value="MX" selected>' in form.text
    assert 'id="c_jury_size"' in form.text and "JSON" not in form.text
    csrf = csrf_from(form.text)
    typed = {
        "csrf_token": csrf,
        "jurisdiction": "MX",
        "kind": "constitution",
        "title": "Juries of seven",
        "rationale": "Smaller juries meet sooner.",
        "c_jury_size": "siete",
        "c_appeal_window": "14",
    }
    bad = client.post("/proposals/new", data=typed, headers={"accept-language": "es"})
    assert bad.status_code == 422
    assert 'value="Juries of seven"' in bad.text and 'value="siete"' in bad.text
    assert 'id="error-c_jury_size"' in bad.text and "número entero" in bad.text
    with uow.begin(readonly=True):
        assert law_views.list_proposals(uow) == []
    empty = client.post("/proposals/new", data={**typed, "c_jury_size": "", "c_appeal_window": ""})
    assert empty.status_code == 422 and "at least one parameter" in empty.text
    # The constitution's own checks are told too: a jury of 7 cannot keep a quorum of 9.
    quorum = client.post("/proposals/new", data={**typed, "c_jury_size": "7"})
    assert quorum.status_code == 422 and "jury_quorum" in quorum.text
    good = client.post(
        "/proposals/new",
        data={**typed, "c_jury_size": "7", "c_jury_quorum": "5"},
        follow_redirects=False,
    )
    assert good.status_code == 303, good.text
    with uow.begin(readonly=True):
        ((proposal, _title),) = law_views.list_proposals(uow)
        content = law_views.proposal_view(uow, proposal.id).content
    assert content["changes"] == {
        "jury_size": 7,
        "jury_quorum": 5,
        "appeal_window_seconds": 14 * 86_400,
    }
    rule = {**typed, "kind": "enact", "rule_title": "No spam", "text": "Do not spam."}
    days = client.post("/proposals/new", data={**rule, "max_suspension_days": "a week"})
    assert days.status_code == 422 and 'id="error-max_suspension_days"' in days.text
    assert "Do not spam." in days.text
