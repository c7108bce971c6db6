"""Logged events of a case's life, from the first report to the final decision.

Jurors appear only by their per-case pseudonym; reporters and authors by the platform's
pseudonym or not at all. Ballots are published (by pseudonym) only once the jury has closed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from isegoria.domain.events import Event


@dataclass(frozen=True)
class _CaseEvent(Event):
    subject_type: ClassVar[str] = "case"
    case_id: int

    @property
    def subject_id(self) -> str:
        """The case number."""
        return str(self.case_id)


@dataclass(frozen=True)
class CaseOpened(_CaseEvent):
    """A report opened a case about a post under a rule version."""

    kind: ClassVar[str] = "CaseOpened"
    platform_id: int
    content_digest: str
    author: str
    rule: str  # "MX-3@v2"
    jurisdiction: str
    posted_at: str
    # Added for transparency reports (issue 8): the first report's source and the post's
    # language, so reports by source and outcome rates by language derive from the log.
    source: str
    language: str


@dataclass(frozen=True)
class ReportFiled(_CaseEvent):
    """Another report joined a case (the reporter is not named)."""

    kind: ClassVar[str] = "ReportFiled"
    report_id: int
    source: str


@dataclass(frozen=True)
class InterimMeasureImposed(_CaseEvent):
    """The platform restricted the post pending the verdict; it lapses unless upheld."""

    kind: ClassVar[str] = "InterimMeasureImposed"
    lapses_at: str


@dataclass(frozen=True)
class InterimMeasureLapsed(_CaseEvent):
    """No jury upheld the interim restriction in time: the post is restored."""

    kind: ClassVar[str] = "InterimMeasureLapsed"


@dataclass(frozen=True)
class JuryDrawn(_CaseEvent):
    """A jury was drawn by lot from public inputs anyone can re-run."""

    kind: ClassVar[str] = "JuryDrawn"
    stage: str
    size: int
    seed_checkpoint_size: int
    seed_root: str
    seed: str
    quotas: dict[str, Any]
    portfolio_digest: str
    pool_digest: str
    pool_size: int
    excluded: int
    jurors: list[str]
    min_selection_probability: str
    max_selection_probability: str
    # Digest (sortition.list_digest) of the pool members excluded from this case (conflicted
    # or over their service load); empty in entries written before exclusions were published.
    exclusions_digest: str = ""


@dataclass(frozen=True)
class JurorsReplaced(_CaseEvent):
    """Jurors who declined or did not answer were replaced by a new draw."""

    kind: ClassVar[str] = "JurorsReplaced"
    stage: str
    round: int
    seed_checkpoint_size: int
    seed_root: str
    seed: str
    replaced: list[str]
    replacements: list[str]
    # Pool members left out because they sit on the case's other jury (consistency retrial).
    excluded: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class JurorReplied(_CaseEvent):
    """A juror accepted or declined their seat."""

    kind: ClassVar[str] = "JurorReplied"
    stage: str
    juror: str
    accepted: bool


@dataclass(frozen=True)
class BallotCast(_CaseEvent):
    """A juror cast a sealed ballot (its content is published only when the jury closes)."""

    kind: ClassVar[str] = "BallotCast"
    stage: str
    juror: str


@dataclass(frozen=True)
class VerdictReached(_CaseEvent):
    """The jury's verdict with the tally, the ballots by pseudonym and the sanction."""

    kind: ClassVar[str] = "VerdictReached"
    stage: str
    outcome: str
    sanction: str
    suspension_days: int | None
    tally: dict[str, int]
    ballots: list[dict[str, Any]]
    statement_sha256: str
    final: bool


@dataclass(frozen=True)
class SanctionImposed(_CaseEvent):
    """A sanction the platform must apply."""

    kind: ClassVar[str] = "SanctionImposed"
    decision_id: int
    sanction: str
    suspension_days: int | None


@dataclass(frozen=True)
class SanctionLifted(_CaseEvent):
    """An appeal overturned the sanction: the platform must restore."""

    kind: ClassVar[str] = "SanctionLifted"
    decision_id: int
    restores: int


@dataclass(frozen=True)
class AppealFiled(_CaseEvent):
    """The author (or a reporter, when no violation was found) appealed."""

    kind: ClassVar[str] = "AppealFiled"
    appellant: str


@dataclass(frozen=True)
class CaseClosed(_CaseEvent):
    """The case is final: no appeal was filed in time, or the appeal was decided."""

    kind: ClassVar[str] = "CaseClosed"
    outcome: str
    sanction: str


@dataclass(frozen=True)
class DecisionConfirmed(Event):
    """The platform reported whether it applied a decision."""

    kind: ClassVar[str] = "DecisionConfirmed"
    subject_type: ClassVar[str] = "decision"
    decision_id: int
    case_id: int | None
    status: str
    on_time: bool
    # SHA-256 of the reason the platform gave for a failure ("" when it gave none), so
    # ``log verify`` can check the stored reason; absent from entries written before.
    reason_sha256: str = ""

    @property
    def subject_id(self) -> str:
        """The decision number."""
        return str(self.decision_id)


@dataclass(frozen=True)
class DecisionIssued(_CaseEvent):
    """A decision was sent to the platform, which must apply and confirm it by ``apply_by``."""

    kind: ClassVar[str] = "DecisionIssued"
    decision_id: int
    platform_id: int
    decision_kind: str
    apply_by: str
    # SHA-256 of the decision's body as stored and delivered (the JSON the platform gets),
    # so ``log verify`` can check the row; absent from entries written before.
    body_sha256: str = ""


@dataclass(frozen=True)
class ConsistencyRetrialSettled(_CaseEvent):
    """Both juries of a consistency retrial closed; the milder verdict stands.

    Each side holds that jury's own outcome, sanction, suspension days, tally and ballots
    (by pseudonym); ``stands`` says whose verdict the case took ("first" or "retrial").
    """

    kind: ClassVar[str] = "ConsistencyRetrialSettled"
    first: dict[str, Any]
    retrial: dict[str, Any]
    stands: str
