"""Request and response bodies of the law API (rulebook, proposals, votes)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from isegoria.api.schemas import Strict
from isegoria.domain.constitution import ProposalKind
from isegoria.domain.rulebook import RuleVersion
from isegoria.law.proposals import (
    MAX_COMMENT_LENGTH,
    MAX_EXAMPLES,
    MAX_RATIONALE_LENGTH,
    MAX_RULE_TEXT_LENGTH,
    MAX_TITLE_LENGTH,
    RuleDraft,
)


class RuleVersionOut(BaseModel):
    """One immutable version of a rule with its effective interval ``[from, until)``."""

    rule_id: str
    version: int
    jurisdiction: str
    title: str
    text: str = Field(description="Markdown")
    harm_category: str
    dsa_category: str
    ground: str
    sanction_cap: str
    max_suspension_days: int
    covered_examples: list[str]
    not_covered_examples: list[str]
    effective_from: datetime
    effective_until: datetime | None
    enacted_by_proposal: int | None

    @classmethod
    def of(cls, v: RuleVersion) -> RuleVersionOut:
        """From the domain version."""
        return cls(
            rule_id=v.rule_id,
            version=v.version,
            jurisdiction=v.jurisdiction,
            title=v.title,
            text=v.text,
            harm_category=v.harm_category.value,
            dsa_category=v.harm_category.dsa_category,
            ground=v.ground.value,
            sanction_cap=v.sanction_cap.value,
            max_suspension_days=v.max_suspension_days,
            covered_examples=list(v.covered_examples),
            not_covered_examples=list(v.not_covered_examples),
            effective_from=v.effective_from,
            effective_until=v.effective_until,
            enacted_by_proposal=int(v.enacted_by) if v.enacted_by else None,
        )


class RulebookOut(BaseModel):
    """The rule versions in force in a jurisdiction at an instant, its parents' included."""

    jurisdiction: str
    at: datetime
    rules: list[RuleVersionOut]


class RuleOut(BaseModel):
    """A rule and every version of it, oldest first."""

    rule_id: str
    jurisdiction: str
    versions: list[RuleVersionOut]


class DiffOut(BaseModel):
    """A unified diff between two versions of a rule."""

    rule_id: str
    from_version: int
    to_version: int
    diff: str


class ConstitutionOut(BaseModel):
    """A jurisdiction's constitution in force (version 0 is the founding default)."""

    jurisdiction: str
    version: int
    effective_from: datetime | None
    proposal_id: int | None
    constitution: dict[str, Any]


class RuleDraftIn(Strict):
    """The rule version a proposal would enact or amend to."""

    title: str = Field(min_length=1, max_length=MAX_TITLE_LENGTH)
    text: str = Field(min_length=1, max_length=MAX_RULE_TEXT_LENGTH, description="Markdown")
    harm_category: str = Field(max_length=64)
    ground: str = Field(max_length=32, description="legal or community_standard")
    sanction_cap: str = Field(max_length=16, description="none, note, reduce_reach, ...")
    max_suspension_days: int = Field(default=0, ge=0, le=365)
    covered_examples: list[str] = Field(default_factory=list, max_length=MAX_EXAMPLES)
    not_covered_examples: list[str] = Field(default_factory=list, max_length=MAX_EXAMPLES)

    def draft(self) -> RuleDraft:
        """The service's draft."""
        return RuleDraft(**self.model_dump())


class ProposalIn(Strict):
    """A new proposal."""

    jurisdiction: str = Field(min_length=1, max_length=32)
    kind: ProposalKind
    title: str = Field(min_length=1, max_length=MAX_TITLE_LENGTH)
    rationale: str = Field(min_length=1, max_length=MAX_RATIONALE_LENGTH)
    rule_id: str | None = Field(default=None, max_length=64)
    rule: RuleDraftIn | None = None
    changes: dict[str, Any] | None = Field(default=None, description="Constitution changes")
    effective_at: datetime | None = Field(
        default=None, description="When an adopted change takes effect; not before the close"
    )


class RevisionIn(Strict):
    """The proposer's new text."""

    title: str = Field(min_length=1, max_length=MAX_TITLE_LENGTH)
    rationale: str = Field(min_length=1, max_length=MAX_RATIONALE_LENGTH)
    rule: RuleDraftIn | None = None
    changes: dict[str, Any] | None = None


class CommentIn(Strict):
    """A comment during deliberation or voting."""

    body: str = Field(min_length=1, max_length=MAX_COMMENT_LENGTH)


class VoteIn(Strict):
    """A vote, or a change of one's vote."""

    choice: str = Field(max_length=8, description="yes, no or abstain")
    change: bool = Field(default=False, description="true to change a vote already cast")


class ReceiptOut(BaseModel):
    """Shown once: keep it to find your ballot in the published tally."""

    proposal_id: int
    ballot_id: str
    choice: str
    nonce: str
    receipt: str


class TallyOut(BaseModel):
    """The published count of a closed vote."""

    yes: int
    no: int
    abstain: int
    electorate_size: int
    quorum: str
    quorum_met: bool
    threshold: dict[str, Any]
    threshold_met: bool
    adopted: bool
    log_index: int | None


class CommentOut(BaseModel):
    """A comment and its author's display name."""

    author: str
    created_at: datetime
    body: str


class RevisionOut(BaseModel):
    """One kept text of a proposal."""

    number: int
    created_at: datetime
    title: str
    rationale: str
    content: dict[str, Any]


class ProposalOut(BaseModel):
    """A proposal: its texts, diff, deadlines and, after the close, its tally."""

    id: int
    jurisdiction: str
    kind: str
    status: str
    title: str
    rule_id: str | None
    base_version: int | None
    created_at: datetime
    voting_opens_at: datetime
    voting_closes_at: datetime
    effective_at: datetime | None
    result_version: int | None
    diff: str | None = None
    revisions: list[RevisionOut] = Field(default_factory=list)
    comments: list[CommentOut] = Field(default_factory=list)
    tally: TallyOut | None = None


class MyVoteOut(BaseModel):
    """A proposal I may vote or voted on; my choice is shown only while voting is open."""

    proposal_id: int
    title: str
    status: str
    has_voted: bool
    choice: str | None


class ReceiptCheckOut(BaseModel):
    """Whether a receipt is in a published tally, and the choice counted for it."""

    proposal_id: int
    counted: bool
    choice: str | None
    tally_log_index: int | None
