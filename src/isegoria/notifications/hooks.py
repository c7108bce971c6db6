"""Where events become notifications: one call from the place each event happens.

Every function here runs in the transaction of its event and only inserts rows (the inbox
row and the outbox rows of the citizen's channels). What a notification says is public or
the reader's own: a case number, a deadline, a proposal number. It never names the other
jurors, nor how anyone voted.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from isegoria.jobs import queue as jobs
from isegoria.notifications.inbox import notify, notify_electors
from isegoria.notifications.messages import Kind
from isegoria.store.models import Proposal
from isegoria.store.models_cases import Appeal, Case, Juror, Jury, PlatformIdentity
from isegoria.unit_of_work import UnitOfWork

JOB_BALLOT_REMINDER = "notifications.ballot_reminder"
#: How long before a ballot is due the jurors who have not voted are reminded.
BALLOT_REMINDER_BEFORE = timedelta(hours=24)
SUMMONED, ACCEPTED = "summoned", "accepted"


def jury_summoned(uow: UnitOfWork, jury: Jury, reply_by: datetime) -> None:
    """Tell each newly summoned juror of ``jury`` (draw or replacement) to answer in time."""
    uow.session.flush()
    seats = uow.session.scalars(
        select(Juror).where(Juror.jury_id == jury.id, Juror.status == SUMMONED)
    )
    for juror in seats:
        notify(
            uow,
            juror.account_id,
            Kind.JURY_SUMMONS,
            f"summons:{jury.id}",
            {"case": jury.case_id, "deadline": reply_by},
            "/jury",
        )
    if jury.rounds == 0:
        # A day before; in a shorter window, once the time to accept is over.
        remind_at = max(jury.ballot_deadline - BALLOT_REMINDER_BEFORE, jury.reply_deadline)
        jobs.enqueue(uow, JOB_BALLOT_REMINDER, remind_at, {"jury_id": jury.id})


@jobs.handler(JOB_BALLOT_REMINDER)
def _remind_jurors(uow: UnitOfWork, payload: dict[str, Any]) -> None:
    """Remind the jurors who accepted but have not voted (idempotent by key)."""
    jury = uow.session.get(Jury, int(payload["jury_id"]))
    if jury is None or jury.closed:
        return
    for juror in uow.session.scalars(
        select(Juror).where(Juror.jury_id == jury.id, Juror.status == ACCEPTED)
    ):
        notify(
            uow,
            juror.account_id,
            Kind.BALLOT_REMINDER,
            f"ballot-reminder:{jury.id}",
            {"case": jury.case_id, "deadline": jury.ballot_deadline},
            f"/cases/{jury.case_id}/file",
        )


def _authors(uow: UnitOfWork, case: Case) -> list[int]:
    """The citizens who linked the platform account that wrote the post."""
    query = select(PlatformIdentity.account_id).where(
        PlatformIdentity.platform_id == case.platform_id, PlatformIdentity.pseudonym == case.author
    )
    return sorted(set(uow.session.scalars(query)))


def interim_imposed(uow: UnitOfWork, case: Case) -> None:
    """Tell the author that their post is restricted until the jury decides."""
    assert case.interim_until is not None  # noqa: S101 - called right after it is set
    for account_id in _authors(uow, case):
        notify(
            uow,
            account_id,
            Kind.INTERIM_ON_MY_POST,
            f"interim:{case.id}",
            {"case": case.id, "deadline": case.interim_until},
            f"/cases/{case.id}",
        )


def verdict_recorded(uow: UnitOfWork, case: Case, *, appeal: bool) -> None:
    """Tell the author (and, on appeal, the appellant) that the case is decided."""
    if not appeal:
        assert case.appeal_until is not None  # noqa: S101 - set with the first verdict
        for account_id in _authors(uow, case):
            notify(
                uow,
                account_id,
                Kind.DECISION_ON_MY_POST,
                f"verdict:{case.id}",
                {"case": case.id, "deadline": case.appeal_until},
                f"/cases/{case.id}",
            )
        return
    told = set(_authors(uow, case))
    appellant = uow.session.scalar(select(Appeal.account_id).where(Appeal.case_id == case.id))
    if appellant is not None:
        told.add(appellant)
    for account_id in sorted(told):
        notify(
            uow,
            account_id,
            Kind.APPEAL_OUTCOME,
            f"appeal:{case.id}",
            {"case": case.id},
            f"/cases/{case.id}",
        )


def _proposal_facts(proposal: Proposal) -> dict[str, Any]:
    return {
        "proposal": proposal.id,
        "jurisdiction": proposal.jurisdiction_code,
        "deadline": proposal.voting_closes_at,
    }


def voting_opened(uow: UnitOfWork, proposal: Proposal) -> None:
    """Tell every elector that a vote in their jurisdiction is open."""
    notify_electors(
        uow,
        proposal.id,
        Kind.VOTE_OPENED,
        f"vote-opened:{proposal.id}",
        _proposal_facts(proposal),
        f"/proposals/{proposal.id}",
    )


def voting_closed(uow: UnitOfWork, proposal: Proposal, *, adopted: bool) -> None:
    """Tell every elector the count is done, and the proposer how their proposal fared."""
    facts = _proposal_facts(proposal)
    link = f"/proposals/{proposal.id}"
    notify_electors(uow, proposal.id, Kind.VOTE_CLOSED, f"vote-closed:{proposal.id}", facts, link)
    kind = Kind.PROPOSAL_ADOPTED if adopted else Kind.PROPOSAL_REJECTED
    notify(uow, proposal.proposer_id, kind, f"proposal-outcome:{proposal.id}", facts, link)
