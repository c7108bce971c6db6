"""How the demo's platform complies: most decisions applied on time, some late, a few never.

A platform confirms a decision through the same service its API call reaches
(``decisions.lifecycle.confirm``), so each confirmation is logged with its timing like a
real one, and the operator console and the transparency report have something true to
show. Each decision's fate is drawn from its own stream of the seed, so the demo's cases
and juries are the ones they were before compliance was simulated.
"""

from __future__ import annotations

import logging
import random
from datetime import timedelta

from sqlalchemy import select

from isegoria.clock import ManualClock
from isegoria.decisions import lifecycle, outbox
from isegoria.integrations import webhooks
from isegoria.people import platforms
from isegoria.store.models_cases import DecisionRow
from isegoria.unit_of_work import UnitOfWork

#: Shares of decisions, cumulative: applied on time, applied late, refused; the rest the
#: platform never confirms (the console lists them as overdue).
ON_TIME, LATE, REFUSED = 0.74, 0.88, 0.94
REFUSAL = "The post had already been deleted by its author before the decision arrived."
OLD_RECEIVER = "https://forum.example/isegoria/decisions"


def _confirm(uow: UnitOfWork, platform_id: int, decision_id: int, *, applied: bool) -> None:
    # The key's last use is left alone: the history is back-dated to before the demo's
    # platform key was issued, and a running demo records real uses.
    with uow.begin():
        lifecycle.confirm(
            uow,
            platform_id=platform_id,
            decision_id=decision_id,
            applied=applied,
            reason=None if applied else REFUSAL,
        )


def platform_applies(
    uow: UnitOfWork, clock: ManualClock, rng: random.Random, platform_id: int, case_id: int
) -> None:
    """The platform answers the case's pending decisions, each in its drawn way and time."""
    with uow.begin(readonly=True):
        waiting = [
            (row.id, row.apply_by)
            for row in lifecycle.pending_for(uow, platform_id)
            if row.case_id == case_id
        ]
    for decision_id, apply_by in waiting:
        fate = rng.random()
        if fate >= REFUSED:
            continue  # never confirmed
        if fate < ON_TIME:
            clock.advance(timedelta(minutes=rng.randint(15, 12 * 60)))
        elif fate < LATE:
            clock.set(max(clock.now(), apply_by) + timedelta(hours=rng.randint(1, 12)))
        else:
            clock.advance(timedelta(hours=rng.randint(1, 6)))
        _confirm(uow, platform_id, decision_id, applied=fate < LATE)


def webhook_gone(uow: UnitOfWork, platform_id: int) -> int | None:
    """The platform's old receiver answered 410 Gone to one decision: a dead letter.

    The platform has since taken its webhook away and reads its decisions from the API,
    so a running demo sends nothing anywhere; the dead letter waits for an operator.
    """
    with uow.begin():
        platform = platforms.get_platform(uow, platform_id)
        first = uow.session.scalars(
            select(DecisionRow)
            .where(DecisionRow.platform_id == platform_id)
            .order_by(DecisionRow.id)
        ).first()
        if first is None:
            return None
        platforms.set_webhook(uow, platform, OLD_RECEIVER)
        gone = webhooks.DeliveryResult(
            webhooks.DeliveryOutcome.PERMANENT, status_code=410, error="HTTP 410 Gone"
        )
        # The outbox warns an operator of a dead letter; this one the demo makes on purpose,
        # so the person building it is not told of a failure that is not one.
        quiet = outbox.logger
        level = quiet.level
        quiet.setLevel(logging.ERROR)
        try:
            outbox.record_attempt(uow, first.id, gone, random.Random(0))  # noqa: S311 - no jitter
        finally:
            quiet.setLevel(level)
        platforms.set_webhook(uow, platform, None)
        return first.id
