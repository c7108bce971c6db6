"""The rulebook: every version of every rule, and which one applied at a given moment.

What a citizen should know
--------------------------
A rule (``MX-3``) is never edited in place. Each change is a new *version* with its own
text and its own *effective interval*: it applies from ``effective_from`` (included) until
``effective_until`` (excluded), or indefinitely if it has no end. Enacting a rule creates
version 1; amending it closes the current version at the moment the new one starts;
repealing it closes the current version and starts nothing.

*No punishment without a law.* A post is judged only by the rule version that was in force
at the moment it was posted. A post made one second before an amendment took effect is
judged by the old version; a post made exactly when it took effect, or later, by the new one.
A post made before the rule existed, or after it was repealed, cannot be judged under it.

*Which law applies.* Jurisdictions form a tree: every jurisdiction falls under the
international baseline ``intl``, and some under a further parent (``FR`` and ``DE`` under
``EU``). A post is subject to the rules of its own jurisdictions and of all their parents.

All moments are timezone-aware; a date-time without a timezone is refused, since "10:00"
means different moments in Mexico City and in Paris.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from isegoria.domain.rule_version import (
    INTERNATIONAL,
    NaiveDatetimeError,
    RulebookError,
    RuleConflictError,
    RuleNotApplicableError,
    RuleNotInForceError,
    RuleVersion,
    UnknownJurisdictionError,
    UnknownRuleError,
    _natural,
    _when,
    require_aware,
)
from isegoria.errors import N_

__all__ = [
    "INTERNATIONAL",
    "NaiveDatetimeError",
    "RuleConflictError",
    "RuleNotApplicableError",
    "RuleNotInForceError",
    "RuleVersion",
    "Rulebook",
    "RulebookError",
    "UnknownJurisdictionError",
    "UnknownRuleError",
    "require_aware",
]


class Rulebook:
    """All rule versions of many jurisdictions and the tree of jurisdictions; immutable."""

    __slots__ = ("_by_rule", "_parents")

    def __init__(
        self, versions: Iterable[RuleVersion] = (), parents: Mapping[str, str] | None = None
    ) -> None:
        grouped: dict[str, list[RuleVersion]] = {}
        for v in versions:
            grouped.setdefault(v.rule_id, []).append(v)
        self._by_rule: dict[str, tuple[RuleVersion, ...]] = {
            rule_id: _check_history(rule_id, vs) for rule_id, vs in grouped.items()
        }
        self._parents: dict[str, str] = _check_tree(
            dict(parents or {}), {h[0].jurisdiction for h in self._by_rule.values()}
        )

    # -- reading ---------------------------------------------------------------------------
    @property
    def parents(self) -> Mapping[str, str]:
        """Jurisdiction to parent (every jurisdiction but ``intl`` has one)."""
        return dict(self._parents)

    @property
    def jurisdictions(self) -> frozenset[str]:
        """Every jurisdiction this rulebook knows."""
        return frozenset(self._parents) | {INTERNATIONAL}

    def lineage(self, jurisdiction: str) -> tuple[str, ...]:
        """The jurisdiction, its parent, ... up to ``intl``: all whose rules apply there."""
        if jurisdiction not in self.jurisdictions:
            known = ", ".join(sorted(self.jurisdictions, key=_natural))
            raise UnknownJurisdictionError(
                "unknown jurisdiction %(jurisdiction)s; known jurisdictions: %(known)s",
                jurisdiction=repr(jurisdiction),
                known=known,
            )
        chain = [jurisdiction]
        while chain[-1] != INTERNATIONAL:
            chain.append(self._parents[chain[-1]])
        return tuple(chain)

    def versions(self) -> tuple[RuleVersion, ...]:
        """Every version of every rule, by rule then version."""
        return tuple(
            v for rule_id in sorted(self._by_rule, key=_natural) for v in self._by_rule[rule_id]
        )

    def history(self, rule_id: str) -> tuple[RuleVersion, ...]:
        """All versions of one rule, oldest first."""
        try:
            return self._by_rule[rule_id]
        except KeyError:
            raise UnknownRuleError(
                "there is no rule %(rule_id)s; check the rule number in the published rulebook",
                rule_id=rule_id,
            ) from None

    def get(self, rule_id: str, version: int) -> RuleVersion:
        """One version of one rule."""
        for v in self.history(rule_id):
            if v.version == version:
                return v
        numbers = ", ".join(str(v.version) for v in self.history(rule_id))
        raise UnknownRuleError(
            "rule %(rule_id)s has no version %(version)s; its versions are %(numbers)s",
            rule_id=rule_id,
            version=version,
            numbers=numbers,
        )

    def version_in_force(self, rule_id: str, at: datetime) -> RuleVersion | None:
        """The version of ``rule_id`` in force at ``at``, or None (not yet enacted, repealed)."""
        require_aware(at, "the moment")
        for v in self.history(rule_id):
            if v.in_force_at(at):
                return v
        return None

    def in_force(self, jurisdiction: str, at: datetime) -> list[RuleVersion]:
        """Rule versions applying in ``jurisdiction`` at ``at``: its own first, then parents'."""
        require_aware(at, "the moment")
        order = {j: i for i, j in enumerate(self.lineage(jurisdiction))}
        found = [
            v
            for history in self._by_rule.values()
            if history[0].jurisdiction in order
            for v in history
            if v.in_force_at(at)
        ]
        return sorted(found, key=lambda v: (order[v.jurisdiction], _natural(v.rule_id)))

    def check_citable(
        self, rule_id: str, version: int, jurisdictions: Sequence[str], posted_at: datetime
    ) -> RuleVersion:
        """The cited version if it may judge content posted at ``posted_at`` in ``jurisdictions``.

        It must belong to one of the content's jurisdictions or their parents, and it must
        have been in force at ``posted_at``; otherwise the error names what was in force.
        """
        require_aware(posted_at, "posted_at")
        if not jurisdictions:
            raise RulebookError("the content has no jurisdiction; the platform must send one")
        cited = self.get(rule_id, version)
        reach: list[str] = []
        for j in jurisdictions:
            reach.extend(x for x in self.lineage(j) if x not in reach)
        if cited.jurisdiction not in reach:
            raise RuleNotApplicableError(
                "rule %(rule_id)s is law of %(jurisdiction)s, which does not "
                "apply to content posted in %(values)s (the law there is that of "
                "%(values2)s); cite a rule of one of those jurisdictions",
                rule_id=rule_id,
                jurisdiction=cited.jurisdiction,
                values=", ".join(jurisdictions),
                values2=", ".join(reach),
            )
        if cited.in_force_at(posted_at):
            return cited
        template, params = self._not_in_force_message(cited, posted_at)
        raise RuleNotInForceError(template, **params)

    def _not_in_force_message(
        self, cited: RuleVersion, posted_at: datetime
    ) -> tuple[str, dict[str, object]]:
        """Why ``cited`` cannot judge a post made at ``posted_at``: a template and its values."""
        rule_id, day = cited.rule_id, _when(posted_at)
        current = self.version_in_force(rule_id, posted_at)
        if current is not None:
            return N_(
                "rule %(rule)s version %(cited)s was not in force on %(day)s (it applies "
                "%(cited_interval)s); version %(current)s was in force then "
                "(%(current_interval)s): cite %(rule)s version %(current)s"
            ), {
                "rule": rule_id,
                "cited": cited.version,
                "day": day,
                "cited_interval": cited.describe_interval(),
                "current": current.version,
                "current_interval": current.describe_interval(),
            }
        history = self.history(rule_id)
        if posted_at < history[0].effective_from:
            return N_(
                "rule %(rule)s was not in force on %(day)s (enacted %(enacted)s); "
                "cite the rule version in force when the post was made"
            ), {"rule": rule_id, "day": day, "enacted": _when(history[0].effective_from)}
        ended = max(
            v.effective_until
            for v in history
            if v.effective_until and v.effective_until <= posted_at
        )
        return N_(
            "rule %(rule)s was not in force on %(day)s (repealed %(repealed)s); "
            "cite the rule version in force when the post was made"
        ), {"rule": rule_id, "day": day, "repealed": _when(ended)}

    # -- making law: each returns a new rulebook -------------------------------------------
    def enact(self, version: RuleVersion) -> Rulebook:
        """Add a new rule, or re-enact a repealed one, from ``version.effective_from``."""
        history = self._by_rule.get(version.rule_id, ())
        if history and history[-1].effective_until is None:
            raise RuleConflictError(
                "rule %(rule_id)s is already in force (%(label)s, "
                "%(describe_interval)s); propose an amendment instead",
                rule_id=version.rule_id,
                label=history[-1].label,
                describe_interval=history[-1].describe_interval(),
            )
        if history and version.version <= history[-1].version:
            raise RuleConflictError(
                "rule %(rule_id)s already has versions up to %(version)s; number "
                "the re-enacted version %(value)s",
                rule_id=version.rule_id,
                version=history[-1].version,
                value=history[-1].version + 1,
            )
        return self._with(history, version)

    def amend(self, version: RuleVersion) -> Rulebook:
        """Replace the open version of the rule by ``version`` from ``version.effective_from``."""
        current = self._open_version(version.rule_id, version.effective_from, "amend")
        history = self._by_rule[version.rule_id][:-1] + (current.closed_at(version.effective_from),)
        return self._with(history, version)

    def repeal(self, rule_id: str, at: datetime) -> Rulebook:
        """End the open version of the rule at ``at``."""
        require_aware(at, "the repeal moment")
        current = self._open_version(rule_id, at, "repeal")
        history = self._by_rule[rule_id][:-1] + (current.closed_at(at),)
        return Rulebook(self._others(rule_id) + history, self._parents)

    def _open_version(self, rule_id: str, at: datetime, verb: str) -> RuleVersion:
        current = self.history(rule_id)[-1]
        if current.effective_until is not None:
            raise RuleConflictError(
                N_(
                    "rule %(rule_id)s cannot be amended: it was repealed %(value)s; "
                    "enact it again instead"
                )
                if verb == "amend"
                else N_("rule %(rule_id)s cannot be repealed: it was repealed %(value)s already"),
                rule_id=rule_id,
                value=_when(current.effective_until),
            )
        if at <= current.effective_from:
            raise RuleConflictError(
                N_(
                    "rule %(rule_id)s cannot be amended at %(value)s: its current "
                    "version %(label)s only takes effect %(value2)s"
                )
                if verb == "amend"
                else N_(
                    "rule %(rule_id)s cannot be repealed at %(value)s: its current "
                    "version %(label)s only takes effect %(value2)s"
                ),
                rule_id=rule_id,
                value=_when(at),
                label=current.label,
                value2=_when(current.effective_from),
            )
        return current

    def _others(self, rule_id: str) -> tuple[RuleVersion, ...]:
        return tuple(v for r, h in self._by_rule.items() if r != rule_id for v in h)

    def _with(self, history: tuple[RuleVersion, ...], version: RuleVersion) -> Rulebook:
        return Rulebook(self._others(version.rule_id) + history + (version,), self._parents)


def _check_history(rule_id: str, versions: list[RuleVersion]) -> tuple[RuleVersion, ...]:
    """Sort one rule's versions and check they belong together and follow each other."""
    ordered = sorted(versions, key=lambda v: v.version)
    for earlier, later in zip(ordered, ordered[1:], strict=False):
        if later.jurisdiction != earlier.jurisdiction:
            raise RuleConflictError(
                "rule %(rule_id)s has versions in %(jurisdiction)s and "
                "%(jurisdiction2)s; a rule belongs to one jurisdiction",
                rule_id=rule_id,
                jurisdiction=earlier.jurisdiction,
                jurisdiction2=later.jurisdiction,
            )
        if later.version == earlier.version:
            raise RuleConflictError(
                "rule %(rule_id)s has two versions numbered %(version)s",
                rule_id=rule_id,
                version=later.version,
            )
        if later.effective_from <= earlier.effective_from:
            raise RuleConflictError(
                "rule %(rule_id)s: version %(version)s takes effect %(value)s, "
                "not after version %(version2)s (%(value2)s); version numbers "
                "must increase with time",
                rule_id=rule_id,
                version=later.version,
                value=_when(later.effective_from),
                version2=earlier.version,
                value2=_when(earlier.effective_from),
            )
        if earlier.effective_until is None or earlier.effective_until > later.effective_from:
            raise RuleConflictError(
                "rule %(rule_id)s: version %(version)s (%(describe_interval)s) "
                "overlaps version %(version2)s (%(describe_interval2)s); end "
                "version %(version)s at or before %(value)s",
                rule_id=rule_id,
                version=earlier.version,
                describe_interval=earlier.describe_interval(),
                version2=later.version,
                describe_interval2=later.describe_interval(),
                value=_when(later.effective_from),
            )
    return tuple(ordered)


def _check_tree(parents: dict[str, str], with_rules: set[str]) -> dict[str, str]:
    """Complete the jurisdiction tree (``intl`` by default) and refuse cycles."""
    if INTERNATIONAL in parents:
        raise RulebookError(
            "%(international)s is the root jurisdiction and has no parent",
            international=repr(INTERNATIONAL),
        )
    for j in with_rules | set(parents.values()):
        if j != INTERNATIONAL:
            parents.setdefault(j, INTERNATIONAL)
    for start in parents:
        seen = [start]
        while seen[-1] != INTERNATIONAL:
            seen.append(parents[seen[-1]])
            if seen[-1] in seen[:-1]:
                raise RulebookError(
                    "jurisdictions form a cycle: %(values)s", values=" -> ".join(seen)
                )
    return parents
