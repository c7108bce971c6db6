"""A proposal's drafts checked before anyone votes: lengths, rule text, constitution changes."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from isegoria.domain.constitution import Constitution, ConstitutionError
from isegoria.domain.rulebook import RulebookError, RuleVersion
from isegoria.domain.sanctions import GroundKind, HarmCategory, SanctionError, SanctionStep
from isegoria.domain.tally import TallyError
from isegoria.errors import N_, InvalidInput

#: A draft is validated as a domain version with this placeholder start (replaced on enactment).
_PLACEHOLDER_TIME = datetime(2000, 1, 1, tzinfo=UTC)


MAX_TITLE_LENGTH = 200


MAX_RATIONALE_LENGTH = 10_000


#: A rule should be readable in one sitting; the longest national speech laws are shorter.
MAX_RULE_TEXT_LENGTH = 20_000


MAX_EXAMPLES = 20


MAX_EXAMPLE_LENGTH = 500


MAX_COMMENT_LENGTH = 4_000


#: Largest id a 32-bit INTEGER column holds: larger numbers name no proposal.
MAX_ID = 2**31 - 1


@dataclass(frozen=True)
class RuleDraft:
    """The rule version a proposal would enact or amend to."""

    title: str
    text: str
    harm_category: str
    ground: str
    sanction_cap: str
    max_suspension_days: int = 0
    covered_examples: list[str] = field(default_factory=list)
    not_covered_examples: list[str] = field(default_factory=list)


def _require(condition: bool, template: str, name: str, **params: object) -> None:
    if not condition:
        raise InvalidInput(template, field=name, **params)


def check_draft(draft: RuleDraft, jurisdiction: str) -> RuleVersion:
    """Validate a draft by building the domain version it describes (placeholder id/time)."""
    _require(
        0 < len(draft.title.strip()) <= MAX_TITLE_LENGTH,
        N_("a rule title is 1 to %(max)s characters"),
        "title",
        max=MAX_TITLE_LENGTH,
    )
    _require(
        0 < len(draft.text.strip()) <= MAX_RULE_TEXT_LENGTH,
        N_("a rule text is 1 to %(max)s characters"),
        "text",
        max=MAX_RULE_TEXT_LENGTH,
    )
    for name in ("covered_examples", "not_covered_examples"):
        examples = getattr(draft, name)
        _require(
            len(examples) <= MAX_EXAMPLES, N_("at most %(max)s examples"), name, max=MAX_EXAMPLES
        )
        _require(
            all(0 < len(e.strip()) <= MAX_EXAMPLE_LENGTH for e in examples),
            N_("each example is 1 to %(max)s characters"),
            name,
            max=MAX_EXAMPLE_LENGTH,
        )
    try:
        return RuleVersion(
            jurisdiction=jurisdiction,
            rule_id=f"{jurisdiction}-0",
            version=1,
            title=draft.title.strip(),
            text=draft.text.strip(),
            harm_category=HarmCategory.parse(draft.harm_category),
            ground=_ground(draft.ground),
            sanction_cap=SanctionStep.parse(draft.sanction_cap),
            max_suspension_days=draft.max_suspension_days,
            effective_from=_PLACEHOLDER_TIME,
            covered_examples=tuple(e.strip() for e in draft.covered_examples),
            not_covered_examples=tuple(e.strip() for e in draft.not_covered_examples),
        )
    except (RulebookError, SanctionError) as error:
        raise InvalidInput.because(error) from None


def _ground(name: str) -> GroundKind:
    try:
        return GroundKind(name)
    except ValueError:
        valid = ", ".join(g.value for g in GroundKind)
        raise InvalidInput(
            "unknown ground %(name)s; use one of: %(valid)s",
            field="ground",
            name=repr(name),
            valid=valid,
        ) from None


def check_constitution_changes(current: Constitution, changes: dict[str, Any]) -> Constitution:
    """The constitution ``changes`` would make, or InvalidInput naming the bad field."""
    if not changes:
        raise InvalidInput("a constitutional proposal must change at least one parameter")
    if "jurisdiction" in changes:
        raise InvalidInput("a constitution cannot change its jurisdiction", field="changes")
    try:
        return Constitution.from_dict({**current.to_dict(), **changes})
    except (ConstitutionError, TallyError, TypeError, ValueError, KeyError) as error:
        raise InvalidInput(
            "invalid constitution change: %(error)s", field="changes", error=error
        ) from None


def content_sha256(content: dict[str, Any]) -> str:
    """The hash of a proposal's content, as published in the log."""
    canonical = json.dumps(content, sort_keys=True, ensure_ascii=False).encode()
    return hashlib.sha256(canonical).hexdigest()
