"""A ballot's seat: the caller's juror row, its jury, and how many of the jury voted before.

Every ballot needs to know whether it is its jury's last (that ballot closes the jury and
records the verdict). Counting the jury's votes in the query that finds the seat spares each
ballot a statement. The count is read after the case row is locked, and only a ballot (which
locks the case first) marks a juror as voted, so no other ballot of the jury can slip in
between the count and this ballot's own vote.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from isegoria.cases.jury import SEATS, current_seat, seat_stages
from isegoria.domain.states import JurorStatus
from isegoria.store.models_cases import Case, Juror, Jury
from isegoria.unit_of_work import UnitOfWork

_voter = aliased(Juror)
# The jurors of the seat's jury who voted already: a subquery correlated with the seat's jury.
_VOTED_BEFORE = (
    select(func.count())
    .select_from(_voter)
    .where(_voter.jury_id == Jury.id, _voter.status == JurorStatus.VOTED)
    .correlate(Jury)
    .scalar_subquery()
)
# The seats query with that count; built once with bound values, so SQLAlchemy computes
# its cache key once per process.
_BALLOT_SEATS = SEATS.add_columns(_VOTED_BEFORE)


def ballot_seat(uow: UnitOfWork, account_id: int, case: Case) -> tuple[Jury, Juror, int]:
    """The caller's seat on the case's current jury and the votes its jury holds already
    (NotFound for anyone without a seat). ``case`` must be locked by the caller."""
    stages = seat_stages(case)
    seats = {
        jury.stage: (jury, juror, voted)
        for jury, juror, voted in uow.session.execute(
            _BALLOT_SEATS, {"case_id": case.id, "stages": stages, "account_id": account_id}
        ).tuples()
    }
    return current_seat(seats, stages, case.id)
