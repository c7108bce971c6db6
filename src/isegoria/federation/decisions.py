"""What a decision sends to the federated world, written in the decision's own transaction.

Called by :func:`isegoria.decisions.lifecycle.issue` for every decision row:

* **AT Protocol labels.** When the decision's subject lives in the AT Protocol (the post is
  an ``at://`` URI; for a suspension or ban, the author is a DID) and the instance has
  recorded its labeler DID, the labels are signed with the labeler key (derived from the
  instance secret) and stored. A sanction lifted on appeal or a lapsed interim measure
  repeats the label it undoes with ``neg: true``.
* **ActivityPub Flag outcomes.** For a verdict (sanction imposed, no action, sanction
  lifted), every server that Flagged the post gets one pending delivery in the ActivityPub
  outbox (``activity_deliveries``); the worker signs and sends it.

Either both commit with the decision or neither does.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Final

from sqlalchemy import bindparam, select

from isegoria.domain.decisions import Decision, DecisionKind
from isegoria.integrations.atproto_labels import AtprotoError, labels_for_decision
from isegoria.integrations.federation_identity import labeler_key
from isegoria.store.models_cases import Case, Content, DecisionRow
from isegoria.store.models_federation import (
    ActivityDelivery,
    AtprotoLabel,
    FederatedFlag,
    LabelerIdentity,
)
from isegoria.unit_of_work import UnitOfWork

__all__ = ["NOTIFIED_KINDS", "publish_decision"]

#: Decisions a reporting server hears about: the verdicts, not interim or note changes.
NOTIFIED_KINDS: Final = frozenset(
    {DecisionKind.SANCTION_IMPOSED, DecisionKind.NO_ACTION, DecisionKind.SANCTION_LIFTED}
)
# Run for every decision: built once with bound values (cache keys computed once). The
# labeler identity is the one row ``atproto_labeler.record_identity`` keeps (id 1).
_LABELER_DID: Final = select(LabelerIdentity.did).where(LabelerIdentity.id == 1)
_FLAGS: Final = (
    select(FederatedFlag)
    .where(FederatedFlag.case_id == bindparam("case_id"))
    .order_by(FederatedFlag.id)
)
_RETRACTIONS: Final = {
    DecisionKind.SANCTION_LIFTED: DecisionKind.SANCTION_IMPOSED,
    DecisionKind.INTERIM_LAPSED: DecisionKind.INTERIM_IMPOSED,
}


def publish_decision(uow: UnitOfWork, row: DecisionRow, decision: Decision) -> None:
    """Write the labels and Flag-outcome deliveries that ``decision`` gives rise to."""
    _label(uow, row, decision)
    if decision.kind in NOTIFIED_KINDS and row.case_id is not None:
        _queue_flag_outcomes(uow, row)


def _restored(uow: UnitOfWork, row: DecisionRow, decision: Decision) -> Decision | None:
    """The decision a retraction undoes: the one it names, else the case's latest of its kind."""
    undone = _RETRACTIONS.get(decision.kind)
    if undone is None:
        return None
    if decision.restores is not None:
        target = uow.session.get(DecisionRow, decision.restores)
    else:
        target = uow.session.scalars(
            select(DecisionRow)
            .where(DecisionRow.case_id == row.case_id, DecisionRow.kind == undone.value)
            .order_by(DecisionRow.id.desc())
            .limit(1)
        ).first()
    return None if target is None else Decision.from_dict(json.loads(target.body))


def _with_cid(uow: UnitOfWork, decision: Decision) -> Decision:
    """The decision with the post's record CID, when the platform sent one in the snapshot."""
    if decision.case_id is None:
        return decision
    case = uow.session.get(Case, decision.case_id)
    content = uow.session.get(Content, case.content_id) if case is not None else None
    if content is None:
        return decision
    cid = json.loads(content.context or "{}").get("cid")
    return replace(decision, extra={**decision.extra, "cid": cid}) if cid else decision


def _label(uow: UnitOfWork, row: DecisionRow, decision: Decision) -> None:
    labeler_did = uow.session.scalar(_LABELER_DID)
    if labeler_did is None:  # the instance never announced a labeler identity: it labels nothing
        return
    restored = _restored(uow, row, decision)
    try:
        labels = labels_for_decision(
            _with_cid(uow, decision),
            key=labeler_key(uow.secret),
            labeler_did=labeler_did,
            restored=None if restored is None else _with_cid(uow, restored),
        )
    except AtprotoError:
        return  # the subject is not an AT Protocol record or account: nothing to label
    for label in labels:
        assert label.sig is not None  # noqa: S101 - labels_for_decision signs every label
        uow.session.add(
            AtprotoLabel(
                decision_id=row.id,
                src=label.src,
                uri=label.uri,
                cid=label.cid,
                val=label.val,
                neg=label.neg,
                cts=label.cts,
                exp=label.exp,
                sig=label.sig,
            )
        )


def _queue_flag_outcomes(uow: UnitOfWork, row: DecisionRow) -> None:
    flags = uow.session.scalars(_FLAGS, {"case_id": row.case_id})
    for flag in flags:
        uow.session.add(
            ActivityDelivery(
                delivery_key=f"{flag.id}:{row.id}",
                flag_row_id=flag.id,
                decision_id=row.id,
                inbox=flag.inbox,
                created_at=uow.now(),
                delivery="pending",
                attempts=0,
            )
        )
