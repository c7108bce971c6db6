"""Events: facts that happened, named in the past tense, each written to the public log.

An event holds only what a member of the public may see: codes, ids, pseudonyms, counts.
Never a login, an e-mail address or which citizen cast which ballot.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, ClassVar


@dataclass(frozen=True)
class Event:
    """Base of every logged event."""

    kind: ClassVar[str]
    subject_type: ClassVar[str]

    @property
    def subject_id(self) -> str:
        """The id of the thing this event is about."""
        raise NotImplementedError

    def facts(self) -> dict[str, Any]:
        """The public facts of the event, as JSON-ready values."""
        return asdict(self)


@dataclass(frozen=True)
class JurisdictionCreated(Event):
    """A new rule-making community was set up."""

    kind: ClassVar[str] = "JurisdictionCreated"
    subject_type: ClassVar[str] = "jurisdiction"

    code: str
    name: str
    parent: str | None
    languages: list[str]

    @property
    def subject_id(self) -> str:
        """The jurisdiction's code."""
        return self.code


@dataclass(frozen=True)
class PlatformRegistered(Event):
    """A platform started handing its moderation to this instance."""

    kind: ClassVar[str] = "PlatformRegistered"
    subject_type: ClassVar[str] = "platform"

    platform_id: int
    name: str

    @property
    def subject_id(self) -> str:
        """The platform's id."""
        return str(self.platform_id)


# -- The law (issue 4) -----------------------------------------------------------------------


@dataclass(frozen=True)
class ProposalOpened(Event):
    """A citizen proposed a change to the law; deliberation began (the proposer is not named)."""

    kind: ClassVar[str] = "ProposalOpened"
    subject_type: ClassVar[str] = "proposal"

    proposal_id: int
    jurisdiction: str
    proposal_kind: str
    rule_id: str | None
    title: str
    content_sha256: str
    voting_opens_at: str
    voting_closes_at: str
    effective_at: str | None

    @property
    def subject_id(self) -> str:
        """The proposal's number."""
        return str(self.proposal_id)


@dataclass(frozen=True)
class ProposalRevised(Event):
    """The proposer revised the text during deliberation; the earlier texts are kept."""

    kind: ClassVar[str] = "ProposalRevised"
    subject_type: ClassVar[str] = "proposal"

    proposal_id: int
    revision: int
    title: str
    content_sha256: str

    @property
    def subject_id(self) -> str:
        """The proposal's number."""
        return str(self.proposal_id)


@dataclass(frozen=True)
class VotingOpened(Event):
    """Deliberation ended; the electorate, quorum and threshold were fixed and voting began."""

    kind: ClassVar[str] = "VotingOpened"
    subject_type: ClassVar[str] = "proposal"

    proposal_id: int
    revision: int
    electorate_size: int
    quorum: str
    threshold: dict[str, Any]
    voting_closes_at: str

    @property
    def subject_id(self) -> str:
        """The proposal's number."""
        return str(self.proposal_id)


@dataclass(frozen=True)
class ProposalTallied(Event):
    """Voting closed and was counted; every (receipt, choice) pair is listed for recounts."""

    kind: ClassVar[str] = "ProposalTallied"
    subject_type: ClassVar[str] = "proposal"

    proposal_id: int
    jurisdiction: str
    result: dict[str, Any]
    #: ``[receipt_sha256_hex, choice]`` sorted by receipt: no order of casting, no voter.
    ballots: list[list[str]]

    @property
    def subject_id(self) -> str:
        """The proposal's number."""
        return str(self.proposal_id)


@dataclass(frozen=True)
class RuleVersionEnacted(Event):
    """An adopted proposal created a rule version (a new rule or an amendment)."""

    kind: ClassVar[str] = "RuleVersionEnacted"
    subject_type: ClassVar[str] = "rule"

    rule_id: str
    version: int
    jurisdiction: str
    proposal_id: int
    title: str
    text: str
    harm_category: str
    ground: str
    sanction_cap: str
    max_suspension_days: int
    covered_examples: list[str]
    not_covered_examples: list[str]
    effective_from: str

    @property
    def subject_id(self) -> str:
        """The rule's id."""
        return self.rule_id


@dataclass(frozen=True)
class RuleRepealed(Event):
    """An adopted proposal ended a rule's version in force."""

    kind: ClassVar[str] = "RuleRepealed"
    subject_type: ClassVar[str] = "rule"

    rule_id: str
    version: int
    proposal_id: int
    effective_until: str

    @property
    def subject_id(self) -> str:
        """The rule's id."""
        return self.rule_id


@dataclass(frozen=True)
class ConstitutionChanged(Event):
    """A jurisdiction's constitution got a new version (adopted, or the founding default)."""

    kind: ClassVar[str] = "ConstitutionChanged"
    subject_type: ClassVar[str] = "jurisdiction"

    jurisdiction: str
    version: int
    proposal_id: int | None
    effective_from: str
    constitution: dict[str, Any]

    @property
    def subject_id(self) -> str:
        """The jurisdiction's code."""
        return self.jurisdiction


# -- The log itself (issue 9) ----------------------------------------------------------------


@dataclass(frozen=True)
class LogKeyRotated(Event):
    """The log's signing key was replaced; the retiring key signs the checkpoint naming both.

    Keys are C2SP signed-note verifier keys (``name+keyid+base64``). The entry at index ``i``
    splits the history: the previous key signs checkpoints of size up to ``i + 1`` (that
    checkpoint covers this entry, so the old key vouches for the new one) and the new key
    signs checkpoints from size ``i + 1`` on.
    """

    kind: ClassVar[str] = "LogKeyRotated"
    subject_type: ClassVar[str] = "log"

    previous_key: str
    new_key: str

    @property
    def subject_id(self) -> str:
        """The new key's ID: the 8 hex digits between the ``+`` signs of its verifier string."""
        parts = self.new_key.split("+")
        return parts[1] if len(parts) == 3 else self.new_key[:128]


@dataclass(frozen=True)
class IndexVoided(Event):
    """A log index was handed to a write that then rolled back: nothing happened there.

    Written by the log's integrator (log/integrate.py) so that every index of the tree is
    accounted for; only PostgreSQL hands out indexes that can go unused.
    """

    kind: ClassVar[str] = "IndexVoided"
    subject_type: ClassVar[str] = "log"

    index: int

    @property
    def subject_id(self) -> str:
        """The voided index."""
        return str(self.index)
