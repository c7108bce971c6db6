"""Notifications end to end: a summons reaches the juror's inbox and a real SMTP server, in
their language, with a working link; an SMTP outage loses and duplicates nothing."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from isegoria.cases import ballots as cases_ballots
from isegoria.cases import intake as cases_intake
from isegoria.cases import jury as cases_jury
from isegoria.clock import ManualClock
from isegoria.log.signing import LogSigner
from isegoria.notifications import delivery, inbox, mail, messages
from isegoria.security import hash_password
from isegoria.store.models import Account
from isegoria.store.models_cases import Case, Juror, Jury, PlatformIdentity
from isegoria.store.models_notifications import Notification, NotificationDelivery
from isegoria.unit_of_work import UnitOfWork
from tests.support.cases_world import CasesWorld, build, report_request, run_jobs
from tests.support.smtp import Mailbox, running_mailbox
from tests.support.world import PASSWORD, login

HOUR = timedelta(hours=1)
LANGS = ("es", "fr", "de", "en")
PUBLIC = "https://isegoria.example"


@pytest.fixture
def world(uow: UnitOfWork, clock: ManualClock, signer: LogSigner) -> CasesWorld:
    """The cases world, every volunteer opted in to e-mail in one of the four languages."""
    built = build(uow, clock, signer)
    with uow.begin():
        for n, account_id in enumerate(built.volunteers):
            inbox.save_preferences(
                uow,
                account_id,
                language=LANGS[n % 4],
                email=f"v{n}@mail.example",
                email_on=True,
                matrix_id=None,
                matrix_on=False,
                languages=LANGS,
            )
    return built


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    with running_mailbox() as box:
        yield box


def _channels(box: Mailbox, uow: UnitOfWork) -> delivery.Channels:
    smtp = mail.smtp_settings(box.url, "isegoria <notices@isegoria.example>")
    return delivery.Channels(public_url=PUBLIC, secret=b"s" * 32, smtp=smtp)


def _summon(uow: UnitOfWork, clock: ManualClock, signer: LogSigner, world: CasesWorld) -> int:
    with uow.begin():
        case, _ = cases_intake.file_report(
            uow,
            platform_id=world.base.platform_id,
            request=report_request(uow.now() - HOUR),
        )
        case_id = case.id
    run_jobs(uow, clock, signer)  # the draw
    return case_id


def _seats(uow: UnitOfWork, case_id: int) -> list[Juror]:
    with uow.begin(readonly=True):
        jury = uow.session.scalars(select(Jury).where(Jury.case_id == case_id)).first()
        assert jury is not None
        return list(uow.session.scalars(select(Juror).where(Juror.jury_id == jury.id)))


def _mailed(world: CasesWorld, seats: list[Juror]) -> list[Juror]:
    """The seats of volunteers (who chose e-mail); a drawn citizen without a choice has none."""
    return [s for s in seats if s.account_id in world.volunteers]


def _address(world: CasesWorld, account_id: int) -> tuple[str, str]:
    n = world.volunteers.index(account_id)
    return f"v{n}@mail.example", LANGS[n % 4]


SUBJECTS = {
    "es": "Has sido convocado a un jurado ciudadano (caso {case})",
    "fr": "Vous êtes convoqué à un jury citoyen (affaire {case})",
    "de": "Sie sind zu einer Bürgerjury geladen (Fall {case})",
    "en": "You are summoned to a citizen jury (case {case})",
}


def test_a_summons_arrives_in_the_inbox_and_by_mail_in_the_jurors_language(
    uow: UnitOfWork,
    clock: ManualClock,
    signer: LogSigner,
    world: CasesWorld,
    mailbox: Mailbox,
    client: TestClient,
) -> None:
    case_id = _summon(uow, clock, signer, world)
    seats = _seats(uow, case_id)
    assert seats
    with uow.begin(readonly=True):
        for seat in seats:
            [newest, *_older] = inbox.inbox(uow, seat.account_id)
            assert (newest.kind, newest.read_at) == ("jury_summons", None)
            assert json.loads(newest.params)["case"] == case_id
    sent = delivery.deliver_due(uow.database, clock, _channels(mailbox, uow))
    assert sent.sent == len(_mailed(world, seats)) > 0 and sent.retried == 0
    for seat in _mailed(world, seats):
        address, language = _address(world, seat.account_id)
        [message] = mailbox.to(address)
        assert message["Subject"] == SUBJECTS[language].format(case=case_id)
        assert message["Content-Language"] == language
        body = message.get_content()
        assert f"{PUBLIC}/jury" in body
        assert "/notifications/unsubscribe?token=" in message["List-Unsubscribe"]
    # The link works: the juror logs in, follows it and finds the summons to answer.
    juror = _mailed(world, seats)[0]
    with uow.begin():
        account = uow.session.get(Account, juror.account_id)
        assert account is not None
        account.password_hash = hash_password(PASSWORD)
        login_name = account.login
    login(client, login_name)
    page = client.get("/jury")
    assert page.status_code == 200 and f"/cases/{case_id}" in page.text
    notes = client.get("/api/v1/me/notifications").json()
    assert notes["notifications"][0]["link"] == "/jury"
    assert notes["notifications"][0]["kind"] == "jury_summons"
    unread = notes["unread"]
    assert unread >= 1
    page = client.get("/notifications")
    assert page.status_code == 200 and f"(case {case_id})" in page.text


def test_an_smtp_outage_loses_nothing_and_sends_nothing_twice(
    uow: UnitOfWork,
    clock: ManualClock,
    signer: LogSigner,
    world: CasesWorld,
    mailbox: Mailbox,
) -> None:
    channels = _channels(mailbox, uow)
    mailbox.stop()
    case_id = _summon(uow, clock, signer, world)
    seats = _mailed(world, _seats(uow, case_id))
    down = delivery.deliver_due(uow.database, clock, channels)
    assert down.retried == len(seats) and down.sent == 0
    mailbox.start()
    assert delivery.deliver_due(uow.database, clock, channels).sent == 0  # backing off
    clock.advance(timedelta(minutes=10))
    up = delivery.deliver_due(uow.database, clock, channels)
    assert up.sent == len(seats)
    clock.advance(timedelta(hours=1))
    again = delivery.deliver_due(uow.database, clock, channels)
    assert again == delivery.SendRound(0, 0, 0, 0)
    ids = [m["Message-ID"] for m in mailbox.messages]
    assert len(ids) == len(seats) == len(set(ids))
    with uow.begin(readonly=True):
        rows = list(uow.session.scalars(select(NotificationDelivery)))
        assert {r.status for r in rows if r.sent_at is not None} == {"sent"}


def test_a_crash_after_sending_resends_with_the_same_message_id(
    uow: UnitOfWork,
    clock: ManualClock,
    signer: LogSigner,
    world: CasesWorld,
    mailbox: Mailbox,
) -> None:
    channels = _channels(mailbox, uow)
    _summon(uow, clock, signer, world)
    with uow.begin():  # a sender claimed the rows, then died before recording anything
        claimed = delivery._claim(uow, ["email"])
    assert claimed
    assert delivery.deliver_due(uow.database, clock, channels).sent == 0  # lease still held
    clock.advance(delivery.LEASE + timedelta(seconds=1))
    assert delivery.deliver_due(uow.database, clock, channels).sent == len(claimed)


def test_notifications_never_reveal_other_jurors_or_votes(
    uow: UnitOfWork, clock: ManualClock, signer: LogSigner, world: CasesWorld, mailbox: Mailbox
) -> None:
    case_id = _summon(uow, clock, signer, world)
    seats = _seats(uow, case_id)
    author = next(a for a in world.volunteers if a not in {s.account_id for s in seats})
    with uow.begin():  # a volunteer wrote the post: they linked the platform account
        case = uow.session.get(Case, case_id)
        assert case is not None
        uow.session.add(
            PlatformIdentity(
                platform_id=case.platform_id,
                pseudonym=case.author,
                account_id=author,
                linked_at=uow.now(),
            )
        )
    for seat in seats:
        with uow.begin():
            cases_jury.reply(uow, account_id=seat.account_id, case_id=case_id, accept=True)
    for n, seat in enumerate(seats):
        with uow.begin():
            cases_ballots.cast_ballot(
                uow,
                account_id=seat.account_id,
                case_id=case_id,
                violation=n % 2 == 0,
                sanction="remove" if n % 2 == 0 else None,
                suspension_days=None,
                reason="A threat against a named person, said plainly.",
            )
    clock.advance(timedelta(days=30))
    run_jobs(uow, clock, signer)
    delivery.deliver_due(uow.database, clock, _channels(mailbox, uow))
    with uow.begin(readonly=True):
        names = {
            value
            for seat in seats
            for account in [uow.session.get(Account, seat.account_id)]
            if account is not None
            for value in (account.login, account.display_name, seat.pseudonym)
        }
        kinds = {n.kind for n in uow.session.scalars(select(Notification))}
        assert {"jury_summons", "decision_on_my_post"} <= kinds
        texts = []
        for note in uow.session.scalars(select(Notification)):
            params = json.loads(note.params)
            assert set(params) <= {"case", "deadline", "proposal", "jurisdiction"}
            for language in LANGS:
                words = messages.render(note.kind, params, language)
                texts.append(words.subject + words.body + note.link)
    texts += [str(m["Subject"]) + m.get_content() for m in mailbox.messages]
    assert texts and mailbox.messages
    for text in texts:
        for name in names:
            assert not re.search(rf"\b{re.escape(name)}\b", text), (name, text)
        for vote_word in ("violation", "ballot: yes", "voted yes", "voted no"):
            assert vote_word not in text.lower()


def test_jurors_who_accepted_and_have_not_voted_are_reminded_once(
    uow: UnitOfWork, clock: ManualClock, signer: LogSigner, world: CasesWorld
) -> None:
    case_id = _summon(uow, clock, signer, world)
    seats = _seats(uow, case_id)
    accepted, silent = seats[:3], seats[3:]
    for seat in accepted:
        with uow.begin():
            cases_jury.reply(uow, account_id=seat.account_id, case_id=case_id, accept=True)
    with uow.begin():
        cases_ballots.cast_ballot(
            uow,
            account_id=accepted[0].account_id,
            case_id=case_id,
            violation=True,
            sanction="remove",
            suspension_days=None,
            reason="A threat against a named person, said plainly.",
        )
    with uow.begin(readonly=True):
        jury = uow.session.scalars(select(Jury).where(Jury.case_id == case_id)).one()
        due = max(jury.ballot_deadline - timedelta(hours=24), jury.reply_deadline)
    clock.set(due + timedelta(seconds=1))
    run_jobs(uow, clock, signer)
    run_jobs(uow, clock, signer)

    def reminded(account_id: int) -> int:
        query = select(Notification).where(
            Notification.account_id == account_id, Notification.kind == "ballot_reminder"
        )
        return len(list(uow.session.scalars(query)))

    with uow.begin(readonly=True):
        assert [reminded(s.account_id) for s in accepted] == [0, 1, 1]
        assert [reminded(s.account_id) for s in silent] == [0] * len(silent)


def test_electors_hear_a_vote_open_and_close_and_the_proposer_its_outcome(
    uow: UnitOfWork, world: CasesWorld
) -> None:
    with uow.begin(readonly=True):
        notes = list(uow.session.scalars(select(Notification)))
        proposals = {json.loads(n.params)["proposal"] for n in notes if n.kind == "vote_opened"}
        assert len(proposals) == 2  # the world passed two proposals
        for proposal in proposals:
            opened = {
                n.account_id
                for n in notes
                if n.kind == "vote_opened" and json.loads(n.params)["proposal"] == proposal
            }
            closed = {
                n.account_id
                for n in notes
                if n.kind == "vote_closed" and json.loads(n.params)["proposal"] == proposal
            }
            assert set(world.voters) <= opened and opened == closed
        outcome = [n for n in notes if n.kind == "proposal_adopted"]
        assert len(outcome) == 2 and all(n.link.startswith("/proposals/") for n in outcome)
