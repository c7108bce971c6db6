"""Consistency retrials: a public lottery picks cases that a second, independent jury also tries.

The constitution's ``consistency_retrial_share`` sets how many. Whether a case is picked is
a public function of its first jury's seed (published in ``JuryDrawn``): the first eight
bytes of ``derive_seed(seed, "consistency-retrial")``, read as a number in [0, 1), must be
below the share. The second jury (stage ``retrial``) is drawn at once from the same signed
checkpoint, excluding everyone on the first jury. Neither jury is told: summonses, the case
file and the ballot look the same. When both have closed, the milder verdict stands
(domain.retrial) and ``ConsistencyRetrialSettled`` logs both juries' verdicts, from which
reports measure agreement per rule (reports.consistency).
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from isegoria.algorithms.sortition import derive_seed
from isegoria.cases.common import FIRST, RETRIAL, get_jury
from isegoria.cases.verdict import jury_verdict, record_verdict
from isegoria.domain.case_events import ConsistencyRetrialSettled
from isegoria.domain.retrial import milder
from isegoria.domain.verdict import Verdict
from isegoria.store.models_cases import Case
from isegoria.unit_of_work import UnitOfWork

PICK_LABEL = "consistency-retrial"
PICK_BYTES = 8
_SCALE = 2 ** (8 * PICK_BYTES)


def retrial_draw_value(seed: bytes) -> Fraction:
    """The case's public lottery number in [0, 1), from its first jury's seed."""
    digest = derive_seed(seed, PICK_LABEL)
    return Fraction(int.from_bytes(digest[:PICK_BYTES], "big"), _SCALE)


def selected_for_retrial(seed: bytes, share: Fraction) -> bool:
    """True when the case is among the share tried twice."""
    return retrial_draw_value(seed) < share


def is_paired(uow: UnitOfWork, case_id: int) -> bool:
    """Whether the case has a consistency-retrial jury."""
    return get_jury(uow, case_id, RETRIAL) is not None


def _side(verdict: Verdict, published: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "outcome": verdict.outcome.value,
        "sanction": verdict.sanction.step.value,
        "suspension_days": verdict.sanction.suspension_days,
        "tally": {"violation": verdict.violation_votes, "no_violation": verdict.no_violation_votes},
        "ballots": published,
    }


def settle_pair(uow: UnitOfWork, case: Case) -> Verdict | None:
    """Once both juries have closed, record the milder verdict as the case's; else wait."""
    first, second = get_jury(uow, case.id, FIRST), get_jury(uow, case.id, RETRIAL)
    if first is None or second is None or not (first.closed and second.closed):
        return None
    v1, reasons1, published1 = jury_verdict(uow, case, first)
    v2, reasons2, published2 = jury_verdict(uow, case, second)
    stands = milder(v1, v2)
    uow.log.append(
        ConsistencyRetrialSettled(
            case_id=case.id,
            first=_side(v1, published1),
            retrial=_side(v2, published2),
            stands=FIRST if stands is v1 else RETRIAL,
        )
    )
    if stands is v1:
        record_verdict(uow, case, FIRST, v1, reasons1, published1, first.size)
    else:
        record_verdict(uow, case, FIRST, v2, reasons2, published2, second.size)
    return stands
