"""The states the rules talk about: of a case, a juror's seat, a decision, a law proposal.

Plain strings in the database (``CaseStatus``, ``JurorStatus``, ``DecisionStatus``) or a
``StrEnum`` (``ProposalStatus``); the domain names them so that every context and page
speaks of the same states without importing a service.
"""

from __future__ import annotations

from enum import StrEnum


class CaseStatus:
    """The states of a case (plain strings in the database)."""

    OPEN = "open"  # reported; the jury is being drawn or is deliberating
    DECIDED = "decided"  # first-instance verdict; the appeal window is open
    APPEALED = "appealed"  # an appeal jury is deliberating
    FINAL = "final"  # nothing more can change


class JurorStatus:
    """A juror's seat, from summons to ballot."""

    SUMMONED = "summoned"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    NO_SHOW = "no_show"
    VOTED = "voted"


class DecisionStatus:
    """Whether the platform confirmed it applied a decision."""

    PENDING = "pending"
    APPLIED = "applied"
    FAILED = "failed"


class ProposalStatus(StrEnum):
    """Where a proposal is in its life."""

    DELIBERATION = "deliberation"
    VOTING = "voting"
    ADOPTED = "adopted"
    REJECTED = "rejected"
