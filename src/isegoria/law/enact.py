"""Making an adopted proposal law: a new rule version, a repeal, or a new constitution.

Called only by the tally (:func:`isegoria.law.votes.close_voting`), in the same
transaction: there is no other way to write the rulebook or a constitution, and no route,
page or command reaches these functions except through a counted vote.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from isegoria.domain.constitution import ProposalKind
from isegoria.domain.events import ConstitutionChanged, RuleRepealed, RuleVersionEnacted
from isegoria.domain.rulebook import Rulebook, RulebookError, RuleVersion
from isegoria.errors import Conflict
from isegoria.law.proposals import (
    RuleDraft,
    check_constitution_changes,
    check_draft,
    latest_revision,
)
from isegoria.law.read import latest_constitution, rule_history
from isegoria.log.entries import format_instant
from isegoria.store.models import ConstitutionVersion, Proposal, Rule, RuleVersionRow
from isegoria.unit_of_work import UnitOfWork


def _row(v: RuleVersion, proposal_id: int) -> RuleVersionRow:
    return RuleVersionRow(
        rule_id=v.rule_id,
        version=v.version,
        title=v.title,
        text=v.text,
        harm_category=v.harm_category.value,
        ground=v.ground.value,
        sanction_cap=v.sanction_cap.value,
        max_suspension_days=v.max_suspension_days,
        covered_examples=json.dumps(list(v.covered_examples), ensure_ascii=False),
        not_covered_examples=json.dumps(list(v.not_covered_examples), ensure_ascii=False),
        effective_from=v.effective_from,
        effective_until=None,
        proposal_id=proposal_id,
    )


def _enacted(v: RuleVersion, proposal_id: int) -> RuleVersionEnacted:
    return RuleVersionEnacted(
        rule_id=v.rule_id,
        version=v.version,
        jurisdiction=v.jurisdiction,
        proposal_id=proposal_id,
        title=v.title,
        text=v.text,
        harm_category=v.harm_category.value,
        ground=v.ground.value,
        sanction_cap=v.sanction_cap.value,
        max_suspension_days=v.max_suspension_days,
        covered_examples=list(v.covered_examples),
        not_covered_examples=list(v.not_covered_examples),
        effective_from=format_instant(v.effective_from),
    )


def apply_adopted(uow: UnitOfWork, proposal: Proposal, effective: datetime) -> None:
    """Make the adopted proposal law from ``effective`` on (never before the count)."""
    kind = ProposalKind(proposal.kind)
    content: dict[str, Any] = json.loads(latest_revision(uow, proposal.id).content)
    try:
        if kind is ProposalKind.ENACT:
            _enact(uow, proposal, RuleDraft(**content["rule"]), effective)
        elif kind is ProposalKind.AMEND:
            _amend(uow, proposal, RuleDraft(**content["rule"]), effective)
        elif kind is ProposalKind.REPEAL:
            _repeal(uow, proposal, effective)
        else:
            _constitution(uow, proposal, content["changes"], effective)
    except RulebookError as error:
        raise Conflict(
            "proposal %(id)s cannot be applied: %(error)s", id=proposal.id, error=error
        ) from None


def _enact(uow: UnitOfWork, proposal: Proposal, draft: RuleDraft, effective: datetime) -> None:
    code = proposal.jurisdiction_code
    number = (
        int(
            uow.session.scalar(select(func.max(Rule.number)).where(Rule.jurisdiction_code == code))
            or 0
        )
        + 1
    )
    rule_id = f"{code}-{number}"
    version = dataclasses.replace(
        check_draft(draft, code),
        rule_id=rule_id,
        effective_from=effective,
        enacted_by=str(proposal.id),
    )
    Rulebook().enact(version)  # the domain's checks of a first version
    uow.session.add(
        Rule(rule_id=rule_id, jurisdiction_code=code, number=number, created_at=effective)
    )
    uow.session.flush()
    uow.session.add(_row(version, proposal.id))
    proposal.rule_id, proposal.result_version = rule_id, 1
    uow.session.flush()
    uow.log.append(_enacted(version, proposal.id))


def _amend(uow: UnitOfWork, proposal: Proposal, draft: RuleDraft, effective: datetime) -> None:
    assert proposal.rule_id is not None  # noqa: S101 - an amendment names its rule
    history = rule_history(uow, proposal.rule_id)
    current = history[-1]
    new = dataclasses.replace(
        check_draft(draft, proposal.jurisdiction_code),
        rule_id=current.rule_id,
        version=current.version + 1,
        effective_from=effective,
        enacted_by=str(proposal.id),
    )
    Rulebook(history).amend(new)  # refuses an amendment of a repealed or not-yet-started rule
    old_row = uow.session.get(RuleVersionRow, (current.rule_id, current.version))
    assert old_row is not None  # noqa: S101
    old_row.effective_until = effective
    uow.session.flush()
    uow.session.add(_row(new, proposal.id))
    proposal.result_version = new.version
    uow.session.flush()
    uow.log.append(_enacted(new, proposal.id))


def _repeal(uow: UnitOfWork, proposal: Proposal, effective: datetime) -> None:
    assert proposal.rule_id is not None  # noqa: S101 - a repeal names its rule
    history = rule_history(uow, proposal.rule_id)
    Rulebook(history).repeal(proposal.rule_id, effective)
    current = history[-1]
    old_row = uow.session.get(RuleVersionRow, (current.rule_id, current.version))
    assert old_row is not None  # noqa: S101
    old_row.effective_until = effective
    uow.session.flush()
    uow.log.append(
        RuleRepealed(
            rule_id=current.rule_id,
            version=current.version,
            proposal_id=proposal.id,
            effective_until=format_instant(effective),
        )
    )


def _constitution(
    uow: UnitOfWork, proposal: Proposal, changes: dict[str, Any], effective: datetime
) -> None:
    code = proposal.jurisdiction_code
    latest = latest_constitution(uow, code)
    new = check_constitution_changes(latest.constitution, changes)
    version = latest.version + 1
    params = new.to_dict()
    uow.session.add(
        ConstitutionVersion(
            jurisdiction_code=code,
            version=version,
            params=json.dumps(params, sort_keys=True),
            effective_from=effective,
            proposal_id=proposal.id,
        )
    )
    proposal.result_version = version
    uow.session.flush()
    uow.log.append(
        ConstitutionChanged(
            jurisdiction=code,
            version=version,
            proposal_id=proposal.id,
            effective_from=format_instant(effective),
            constitution=params,
        )
    )
