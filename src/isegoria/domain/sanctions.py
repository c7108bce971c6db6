"""The sanction ladder, harm categories and grounds: the vocabulary of every verdict.

What a citizen should know
--------------------------
A jury that finds a post breaks a rule chooses a sanction from a fixed ladder, from the
mildest step to the harshest::

    none < note < reduce_reach < remove < suspend(days) < ban

* ``none``: nothing happens to the post or its author.
* ``note``: a context note is shown next to the post; the post stays up.
* ``reduce_reach``: the post stays up but is not recommended or amplified.
* ``remove``: the post is taken down.
* ``suspend``: the author's account is suspended for a number of days.
* ``ban``: the author's account is closed.

Every rule says how far up the ladder it may go (its *cap*) and, if it allows suspensions,
for how many days at most. A jury can never go above the cap of the rule it applies.

Every rule also belongs to one *harm category*. The categories are those of the EU Digital
Services Act Transparency Database (statement ``category`` field, schema version 2 in force
since 1 July 2025), so that every decision can be exported there without translation.
Finally, a rule rests on one of two *grounds*: it is a legal ground (the content is illegal
under a law) or a community standard (the content is legal but incompatible with the terms
the community has voted for). The DSA distinguishes the two in its ``decision_ground`` field.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from enum import Enum
from typing import Any

from isegoria.errors import Explained

__all__ = [
    "DSA_ACCOUNT_DECISIONS",
    "DSA_VISIBILITY_DECISIONS",
    "MAX_SUSPENSION_DAYS",
    "GroundKind",
    "HarmCategory",
    "Sanction",
    "SanctionError",
    "SanctionStep",
]

#: The longest suspension any rule may set. A suspension longer than a year is a ban in all
#: but name; a ban is a separate step with its own safeguards (see ``verdict``).
MAX_SUSPENSION_DAYS = 365


class SanctionError(Explained, ValueError):
    """A sanction value is malformed (for example a suspension without a number of days)."""


@functools.total_ordering
class SanctionStep(Enum):
    """One step of the sanction ladder; steps compare by severity (``NOTE < REMOVE``)."""

    NONE = "none"
    NOTE = "note"
    REDUCE_REACH = "reduce_reach"
    REMOVE = "remove"
    SUSPEND = "suspend"
    BAN = "ban"

    @property
    def rank(self) -> int:
        """Position on the ladder: 0 for ``none`` up to 5 for ``ban``."""
        return _LADDER.index(self)

    @property
    def label(self) -> str:
        """The step in words: ``"reduce reach"``."""
        return str(self.value).replace("_", " ")

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, SanctionStep):
            return NotImplemented
        return self.rank < other.rank

    @classmethod
    def parse(cls, name: str) -> SanctionStep:
        """Read a step from its name (``"reduce_reach"``), with an error listing valid names."""
        try:
            return cls(name)
        except ValueError:
            valid = ", ".join(step.value for step in _LADDER)
            raise SanctionError(
                "unknown sanction step %(name)s; use one of: %(valid)s",
                name=repr(name),
                valid=valid,
            ) from None


#: The ladder in order of severity, mildest first.
_LADDER: tuple[SanctionStep, ...] = tuple(SanctionStep)


@dataclass(frozen=True, slots=True, order=False)
class Sanction:
    """A step on the ladder, with the number of days when the step is a suspension."""

    step: SanctionStep
    suspension_days: int | None = None

    def __post_init__(self) -> None:
        if self.step is SanctionStep.SUSPEND:
            days = self.suspension_days
            if days is None or not 1 <= days <= MAX_SUSPENSION_DAYS:
                raise SanctionError(
                    "a suspension needs a number of days between 1 and %(max)s, got %(days)s",
                    max=MAX_SUSPENSION_DAYS,
                    days=repr(days),
                )
        elif self.suspension_days is not None:
            raise SanctionError(
                "only a suspension has a number of days; %(value)s was given "
                "%(suspension_days)s days",
                value=repr(self.step.value),
                suspension_days=self.suspension_days,
            )

    @classmethod
    def of(cls, step: SanctionStep) -> Sanction:
        """A sanction that is not a suspension (``Sanction.of(SanctionStep.REMOVE)``)."""
        return cls(step)

    @classmethod
    def suspend(cls, days: int) -> Sanction:
        """A suspension of the account for ``days`` days."""
        return cls(SanctionStep.SUSPEND, days)

    @property
    def severity(self) -> tuple[int, int]:
        """Sort key: ladder rank first, then days (a longer suspension is more severe)."""
        return (self.step.rank, self.suspension_days or 0)

    def __lt__(self, other: Sanction) -> bool:
        return self.severity < other.severity

    def __le__(self, other: Sanction) -> bool:
        return self.severity <= other.severity

    def __gt__(self, other: Sanction) -> bool:
        return self.severity > other.severity

    def __ge__(self, other: Sanction) -> bool:
        return self.severity >= other.severity

    def describe(self) -> str:
        """Words for a statement of reasons: ``"suspend for 7 days"``, ``"remove"``."""
        if self.step is SanctionStep.SUSPEND:
            unit = "day" if self.suspension_days == 1 else "days"
            return f"suspend for {self.suspension_days} {unit}"
        return self.step.label

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form for the transparency log."""
        return {"step": self.step.value, "suspension_days": self.suspension_days}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Sanction:
        """Inverse of :meth:`to_dict`."""
        return cls(SanctionStep.parse(str(data["step"])), data.get("suspension_days"))


class GroundKind(Enum):
    """Why content can be restricted: a law makes it illegal, or a community standard."""

    LEGAL = "legal"
    COMMUNITY_STANDARD = "community_standard"

    @property
    def dsa_decision_ground(self) -> str:
        """The DSA Transparency Database ``decision_ground`` value."""
        if self is GroundKind.LEGAL:
            return "DECISION_GROUND_ILLEGAL_CONTENT"
        return "DECISION_GROUND_INCOMPATIBLE_CONTENT"


class HarmCategory(Enum):
    """The kind of harm a rule addresses; one per DSA Transparency Database category."""

    ANIMAL_WELFARE = "animal_welfare"
    CONSUMER_INFORMATION = "consumer_information"
    CYBER_VIOLENCE = "cyber_violence"
    CYBER_VIOLENCE_AGAINST_WOMEN = "cyber_violence_against_women"
    DATA_PROTECTION_AND_PRIVACY = "data_protection_and_privacy"
    ILLEGAL_OR_HARMFUL_SPEECH = "illegal_or_harmful_speech"
    INTELLECTUAL_PROPERTY = "intellectual_property"
    CIVIC_DISCOURSE_OR_ELECTIONS = "civic_discourse_or_elections"
    OTHER_TERMS_VIOLATION = "other_terms_violation"
    PROTECTION_OF_MINORS = "protection_of_minors"
    PUBLIC_SECURITY = "public_security"
    SCAMS_AND_FRAUD = "scams_and_fraud"
    SELF_HARM = "self_harm"
    UNSAFE_AND_PROHIBITED_PRODUCTS = "unsafe_and_prohibited_products"
    VIOLENCE = "violence"

    @property
    def dsa_category(self) -> str:
        """The DSA Transparency Database ``category`` value (schema v2)."""
        return _DSA_CATEGORY[self]

    @classmethod
    def parse(cls, name: str) -> HarmCategory:
        """Read a category from its name, with an error listing valid names."""
        try:
            return cls(name)
        except ValueError:
            valid = ", ".join(sorted(c.value for c in cls))
            raise SanctionError(
                "unknown harm category %(name)s; use one of: %(valid)s",
                name=repr(name),
                valid=valid,
            ) from None


# DSA Transparency Database API, ``category`` enumeration, schema v2 (1 July 2025). v2 added
# CONSUMER_INFORMATION, CYBER_VIOLENCE, CYBER_VIOLENCE_AGAINST_WOMEN and NOT_SPECIFIED_NOTICE,
# dropped NON_CONSENSUAL_BEHAVIOUR and PORNOGRAPHY_OR_SEXUALIZED_CONTENT, and renamed
# SCOPE_OF_PLATFORM_SERVICE to OTHER_VIOLATION_TC and UNSAFE_AND_ILLEGAL_PRODUCTS to
# UNSAFE_AND_PROHIBITED_PRODUCTS. NOT_SPECIFIED_NOTICE has no counterpart here on purpose: a
# report must cite a rule, so the category is always known.
_DSA_CATEGORY: dict[HarmCategory, str] = {
    HarmCategory.ANIMAL_WELFARE: "STATEMENT_CATEGORY_ANIMAL_WELFARE",
    HarmCategory.CONSUMER_INFORMATION: "STATEMENT_CATEGORY_CONSUMER_INFORMATION",
    HarmCategory.CYBER_VIOLENCE: "STATEMENT_CATEGORY_CYBER_VIOLENCE",
    HarmCategory.CYBER_VIOLENCE_AGAINST_WOMEN: "STATEMENT_CATEGORY_CYBER_VIOLENCE_AGAINST_WOMEN",
    HarmCategory.DATA_PROTECTION_AND_PRIVACY: (
        "STATEMENT_CATEGORY_DATA_PROTECTION_AND_PRIVACY_VIOLATIONS"
    ),
    HarmCategory.ILLEGAL_OR_HARMFUL_SPEECH: "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH",
    HarmCategory.INTELLECTUAL_PROPERTY: "STATEMENT_CATEGORY_INTELLECTUAL_PROPERTY_INFRINGEMENTS",
    HarmCategory.CIVIC_DISCOURSE_OR_ELECTIONS: (
        "STATEMENT_CATEGORY_NEGATIVE_EFFECTS_ON_CIVIC_DISCOURSE_OR_ELECTIONS"
    ),
    HarmCategory.OTHER_TERMS_VIOLATION: "STATEMENT_CATEGORY_OTHER_VIOLATION_TC",
    HarmCategory.PROTECTION_OF_MINORS: "STATEMENT_CATEGORY_PROTECTION_OF_MINORS",
    HarmCategory.PUBLIC_SECURITY: "STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY",
    HarmCategory.SCAMS_AND_FRAUD: "STATEMENT_CATEGORY_SCAMS_AND_FRAUD",
    HarmCategory.SELF_HARM: "STATEMENT_CATEGORY_SELF_HARM",
    HarmCategory.UNSAFE_AND_PROHIBITED_PRODUCTS: (
        "STATEMENT_CATEGORY_UNSAFE_AND_PROHIBITED_PRODUCTS"
    ),
    HarmCategory.VIOLENCE: "STATEMENT_CATEGORY_VIOLENCE",
}

#: Ladder steps that act on the post, as DSA ``decision_visibility`` values.
DSA_VISIBILITY_DECISIONS: dict[SanctionStep, str] = {
    SanctionStep.NOTE: "DECISION_VISIBILITY_CONTENT_LABELLED",
    SanctionStep.REDUCE_REACH: "DECISION_VISIBILITY_CONTENT_DEMOTED",
    SanctionStep.REMOVE: "DECISION_VISIBILITY_CONTENT_REMOVED",
}

#: Ladder steps that act on the account, as DSA ``decision_account`` values.
DSA_ACCOUNT_DECISIONS: dict[SanctionStep, str] = {
    SanctionStep.SUSPEND: "DECISION_ACCOUNT_SUSPENDED",
    SanctionStep.BAN: "DECISION_ACCOUNT_TERMINATED",
}
