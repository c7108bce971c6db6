"""Platform reports to isegoria rules, and platform accounts to pseudonyms (pure, no I/O).

Shared by the Matrix and Mastodon adapters: how a report's free-text reason (or a
platform's own rule ids) is mapped to an isegoria rule, what happens when nothing maps
(a triage item for a citizen to pick the rule), and how an account becomes a pseudonym that
the adapter, and only the adapter, can turn back into the account it must act on.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from cryptography.hazmat.primitives.ciphers.aead import AESSIV

from isegoria.domain.content import MAX_REPORT_REASON, ContentSnapshot, ReportRequest
from isegoria.domain.decisions import Decision, DecisionKind, ReportSource

__all__ = [
    "AppliedResult",
    "Pseudonyms",
    "RuleMapping",
    "RuleMatch",
    "TriageItem",
    "account_content_id",
    "report_or_triage",
    "statement_text",
]

#: AES-SIV takes a 512-bit key (two AES-256 keys; RFC 5297 §2.2).
PSEUDONYM_KEY_BYTES = 64
#: Account ids are padded to a multiple of this many bytes before encryption, so a
#: pseudonym's length reveals only a coarse bucket of the account id's length.
PSEUDONYM_PAD = 32
#: A rule id cited in a report's text, e.g. "MX-3" or "intl-12" (see domain.rulebook).
RULE_ID_PATTERN = re.compile(r"\b([A-Za-z]{2,12}-\d{1,5})\b")
ACCOUNT_PREFIX = "account:"


class Pseudonyms:
    """Stable, reversible pseudonyms: deterministic authenticated encryption of account ids.

    An HMAC would be stable but one-way, and a ``Decision`` names its subject only by the
    pseudonym; the adapter must turn it back into the account to act on. AES-SIV (RFC 5297)
    is deterministic, so the same account always gets the same pseudonym on one instance,
    and without the instance key the pseudonym reveals nothing but a length bucket.
    """

    def __init__(self, key: bytes, *, platform: str) -> None:
        if len(key) != PSEUDONYM_KEY_BYTES:
            raise ValueError(f"a pseudonym key has {PSEUDONYM_KEY_BYTES} bytes, got {len(key)}")
        self._cipher = AESSIV(key)
        self._context = [f"isegoria-pseudonym:{platform}".encode()]
        self._prefix = f"{platform}:"

    def of(self, account: str) -> str:
        """The pseudonym of a platform account id (``@alice:example.org``, ``"109"``)."""
        try:
            raw = account.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate, which JSON's \ud800 escapes can carry
            raise ValueError("an account id must be Unicode text without lone surrogates") from None
        if b"\x00" in raw:
            raise ValueError("an account id cannot contain NUL")
        padded = raw + b"\x00" * (-len(raw) % PSEUDONYM_PAD)
        sealed = self._cipher.encrypt(padded, self._context)
        return self._prefix + base64.urlsafe_b64encode(sealed).decode("ascii").rstrip("=")

    def account(self, pseudonym: str) -> str:
        """The account behind a pseudonym this instance issued; ``ValueError`` otherwise."""
        if not pseudonym.startswith(self._prefix):
            raise ValueError(f"not a pseudonym of this platform: {pseudonym[:40]!r}")
        body = pseudonym[len(self._prefix) :]
        try:
            sealed = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
            padded = self._cipher.decrypt(sealed, self._context)
        except Exception as error:  # InvalidTag, binascii.Error: both mean "not ours"
            raise ValueError(
                f"pseudonym not issued by this instance: {pseudonym[:40]!r}"
            ) from error
        return padded.rstrip(b"\x00").decode("utf-8")


def account_content_id(pseudonym: str) -> str:
    """The content id of a report against an account as a whole (no post reported)."""
    return ACCOUNT_PREFIX + pseudonym


@dataclass(frozen=True)
class RuleMatch:
    """The rule a report was mapped to, and why."""

    rule_id: str
    via: Literal["cited", "platform_rule", "reason", "keyword", "category"]


@dataclass(frozen=True)
class RuleMapping:
    """How a platform's reports map to isegoria rule ids; loaded from the operator's JSON.

    Order of precedence: a rule id the reporter cited in the text (if ``known_rules`` has
    it), the platform's own rule ids (Mastodon server rules), an exact reason, the category,
    then keywords. Two different rules by keyword is doubt, and doubt goes to triage: the
    citizen-facing form picks the rule, never a guess.
    """

    reasons: Mapping[str, str] = field(default_factory=dict)  # case-folded reason -> rule
    keywords: Mapping[str, str] = field(default_factory=dict)  # case-folded word -> rule
    platform_rules: Mapping[str, str] = field(default_factory=dict)  # Mastodon rule id -> rule
    categories: Mapping[str, str] = field(default_factory=dict)  # Mastodon category -> rule
    known_rules: frozenset[str] = frozenset()

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RuleMapping:
        """Read ``{"reasons": {...}, "keywords": {...}, "platform_rules": {...}, ...}``."""
        if not isinstance(data, Mapping):  # found by fuzzing: a list or null crashed set()
            raise ValueError("the rule mapping must be a JSON object")
        allowed = {"reasons", "keywords", "platform_rules", "categories", "known_rules"}
        unknown = set(data) - allowed
        if unknown:
            raise ValueError(f"unknown keys in the rule mapping: {sorted(unknown)}")

        def table(name: str) -> dict[str, str]:
            raw = data.get(name, {})
            if not isinstance(raw, Mapping) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in raw.items()
            ):
                raise ValueError(f"{name} must map strings to rule ids")
            return {str(k).casefold(): str(v) for k, v in raw.items()}

        known = data.get("known_rules", [])
        if not isinstance(known, list) or not all(isinstance(r, str) for r in known):
            raise ValueError("known_rules must be a list of rule ids")
        return cls(
            reasons=table("reasons"),
            keywords=table("keywords"),
            platform_rules={k: v for k, v in table("platform_rules").items()},
            categories=table("categories"),
            known_rules=frozenset(known),
        )

    def match(
        self,
        reason: str,
        *,
        platform_rule_ids: Iterable[str] = (),
        category: str | None = None,
    ) -> RuleMatch | tuple[str, ...]:
        """The rule for a report, or the candidate rules (maybe none) when it is not clear."""
        cited = {m.upper() for m in RULE_ID_PATTERN.findall(reason)}
        known_upper = {rule.upper(): rule for rule in self.known_rules}
        cited_known = sorted(known_upper[c] for c in cited if c in known_upper)
        if len(cited_known) == 1:
            return RuleMatch(cited_known[0], "cited")
        by_platform = sorted(
            {self.platform_rules[r] for r in platform_rule_ids if r in self.platform_rules}
        )
        if len(by_platform) == 1:
            return RuleMatch(by_platform[0], "platform_rule")
        folded = reason.strip().casefold()
        if not cited_known and len(by_platform) == 0 and folded in self.reasons:
            return RuleMatch(self.reasons[folded], "reason")
        if category is not None and not cited_known and not by_platform:
            rule = self.categories.get(category.casefold())
            if rule is not None:
                return RuleMatch(rule, "category")
        words = set(re.findall(r"\w+", folded))
        by_keyword = sorted({rule for word, rule in self.keywords.items() if word in words})
        if len(by_keyword) == 1 and not cited_known and not by_platform:
            return RuleMatch(by_keyword[0], "keyword")
        return tuple(sorted({*cited_known, *by_platform, *by_keyword}))


@dataclass(frozen=True)
class TriageItem:
    """A platform report no rule could be mapped to: a citizen picks the rule on a form."""

    snapshot: ContentSnapshot
    reason: str
    source: ReportSource
    platform_report_id: str
    why: str  # in words, for the triage form
    reporter: str | None = None
    candidates: tuple[str, ...] = ()  # rules the report hinted at, when it hinted at several

    def to_report(self, rule_id: str, rule_version: int | None = None) -> ReportRequest:
        """The report once a citizen picked the rule."""
        return ReportRequest(
            snapshot=self.snapshot,
            rule_id=rule_id,
            rule_version=rule_version,
            reason=self.reason,
            source=self.source,
            reporter=self.reporter,
        )


def report_or_triage(
    snapshot: ContentSnapshot,
    *,
    mapping: RuleMapping,
    reason: str,
    reporter: str | None,
    platform_report_id: str,
    platform_rule_ids: Iterable[str] = (),
    category: str | None = None,
    source: ReportSource = ReportSource.USER,
) -> ReportRequest | TriageItem:
    """A ``ReportRequest`` when the mapping names one rule, else a ``TriageItem``."""
    reason = reason[:MAX_REPORT_REASON]
    found = mapping.match(reason, platform_rule_ids=platform_rule_ids, category=category)
    if isinstance(found, RuleMatch):
        return ReportRequest(
            snapshot=snapshot,
            rule_id=found.rule_id,
            rule_version=None,  # the version in force when the content was posted
            reason=reason,
            source=source,
            reporter=reporter,
        )
    why = (
        f"the report points at several rules ({', '.join(found)}); a citizen must pick one"
        if found
        else "no configured rule matches the report's reason; a citizen must pick the rule"
    )
    return TriageItem(
        snapshot=snapshot,
        reason=reason,
        source=source,
        platform_report_id=platform_report_id,
        why=why,
        reporter=reporter,
        candidates=found,
    )


def statement_text(decision: Decision) -> str:
    """The statement of reasons in words, for the affected user (DSA Art. 17(3) fields)."""
    kind = decision.kind
    lines: list[str] = []
    if kind in (DecisionKind.SANCTION_LIFTED, DecisionKind.INTERIM_LAPSED):
        lines.append(
            f"The measure taken on {decision.content_url or decision.content_id} "
            "has been lifted"
            + (" after your appeal." if kind is DecisionKind.SANCTION_LIFTED else ".")
        )
    else:
        lines.append(
            f"Decision on {decision.content_url or decision.content_id}: "
            f"{decision.sanction.label}"
            + (f" for {decision.suspension_days} days" if decision.suspension_days else "")
            + ("." if kind is not DecisionKind.INTERIM_IMPOSED else " (interim, pending a jury).")
        )
    statement = decision.statement
    if statement is not None:
        lines.append(
            f"Rule {statement.rule_id} (version {statement.rule_version}, "
            f"{statement.jurisdiction}): {statement.rule_title}."
        )
        lines.append(f"Facts: {statement.facts}")
        lines.append(f"Reasons: {statement.explanation}")
        if statement.measure_ends_at is not None:
            lines.append(f"Ends: {statement.measure_ends_at.isoformat()}")
        lines.append(f"Redress: {statement.redress}")
    if decision.statement_url:
        lines.append(f"Full statement of reasons: {decision.statement_url}")
    return "\n".join(lines)


@dataclass(frozen=True)
class AppliedResult:
    """What applying one decision did on the platform: the adapter's confirmation."""

    decision_id: int
    status: Literal["applied", "failed"]
    actions: tuple[str, ...] = ()  # done now, e.g. "redact $event", "suspend"
    unchanged: tuple[str, ...] = ()  # already in the wanted state (a repeat delivery)
    irreversible: tuple[str, ...] = ()  # asked to undo what the platform cannot restore
    reason: str = ""  # why it failed, in words
    subject: str = ""  # the account's pseudonym
    ends_at: datetime | None = None  # when a suspension should be lifted
    created: Mapping[str, str] = field(default_factory=dict)  # ids made, e.g. the note event
    manual: tuple[str, ...] = ()  # steps the platform's API cannot do: left to its moderators
    sanction: str = ""  # the ladder step applied (or lifted), for undo and expiry

    @property
    def ok(self) -> bool:
        """Whether the platform now reflects the decision."""
        return self.status == "applied"
