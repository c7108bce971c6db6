"""Reading the law: rulebooks at an instant, rule histories, diffs and constitutions.

Rows become the pure domain objects of :mod:`isegoria.domain.rulebook` so that the answer to
"which rules applied at this instant" is computed by one exact, property-tested function.
"""

from __future__ import annotations

import difflib
import functools
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select

from isegoria.domain.constitution import Constitution
from isegoria.domain.rulebook import INTERNATIONAL, Rulebook, RuleVersion
from isegoria.domain.sanctions import GroundKind, HarmCategory, SanctionStep
from isegoria.errors import NotFound
from isegoria.people.jurisdictions import get_jurisdiction, list_jurisdictions
from isegoria.store.models import ConstitutionVersion, Rule, RuleVersionRow
from isegoria.unit_of_work import UnitOfWork

#: Distinct constitution texts kept parsed (a few per jurisdiction ever amend theirs).
CONSTITUTIONS_PARSED = 256
#: Lines of unchanged text shown around each change in a diff (as ``diff -u``).
DIFF_CONTEXT_LINES = 3


def to_domain(row: RuleVersionRow, jurisdiction: str) -> RuleVersion:
    """The domain rule version of a stored row."""
    return RuleVersion(
        jurisdiction=jurisdiction,
        rule_id=row.rule_id,
        version=row.version,
        title=row.title,
        text=row.text,
        harm_category=HarmCategory(row.harm_category),
        ground=GroundKind(row.ground),
        sanction_cap=SanctionStep(row.sanction_cap),
        max_suspension_days=row.max_suspension_days,
        effective_from=row.effective_from,
        effective_until=row.effective_until,
        covered_examples=tuple(json.loads(row.covered_examples)),
        not_covered_examples=tuple(json.loads(row.not_covered_examples)),
        enacted_by=str(row.proposal_id),
    )


def load_rulebook(uow: UnitOfWork) -> Rulebook:
    """Every stored version of every rule, with the tree of jurisdictions."""
    rows = uow.session.execute(
        select(RuleVersionRow, Rule.jurisdiction_code).join(
            Rule, Rule.rule_id == RuleVersionRow.rule_id
        )
    ).all()
    # A top-level jurisdiction other than intl still falls under the international baseline.
    parents = {
        j.code: j.parent_code or INTERNATIONAL
        for j in list_jurisdictions(uow)
        if j.code != INTERNATIONAL
    }
    return Rulebook([to_domain(row, code) for row, code in rows], parents)


def in_force(uow: UnitOfWork, jurisdiction: str, at: datetime) -> list[RuleVersion]:
    """The rule versions that applied in ``jurisdiction`` at ``at``: its own, then parents'."""
    get_jurisdiction(uow, jurisdiction)
    return load_rulebook(uow).in_force(jurisdiction, at)


def rule_history(uow: UnitOfWork, rule_id: str) -> list[RuleVersion]:
    """Every version of one rule, oldest first, or NotFound."""
    rule = uow.session.get(Rule, rule_id)
    if rule is None:
        raise NotFound(
            "there is no rule %(rule_id)s; check its number in the rulebook", rule_id=rule_id
        )
    rows = uow.session.scalars(
        select(RuleVersionRow)
        .where(RuleVersionRow.rule_id == rule_id)
        .order_by(RuleVersionRow.version)
    )
    return [to_domain(row, rule.jurisdiction_code) for row in rows]


# Built once with bound values: its cache key is computed once per process, not per ballot.
_RULE_VERSION = (
    select(RuleVersionRow, Rule.jurisdiction_code)
    .join(Rule, Rule.rule_id == RuleVersionRow.rule_id)
    .where(
        RuleVersionRow.rule_id == bindparam("rule_id"),
        RuleVersionRow.version == bindparam("version"),
    )
)


def rule_version(uow: UnitOfWork, rule_id: str, version: int) -> RuleVersion:
    """One version of one rule, or NotFound listing the versions there are."""
    # One indexed row on the hot path (every ballot and case page names its rule version);
    # the whole history is read only to explain a miss.
    found = uow.session.execute(_RULE_VERSION, {"rule_id": rule_id, "version": version}).first()
    if found is not None:
        return to_domain(found[0], found[1])
    history = rule_history(uow, rule_id)
    for v in history:
        if v.version == version:
            return v
    numbers = ", ".join(str(v.version) for v in history)
    raise NotFound(
        "rule %(rule_id)s has no version %(version)s; its versions are %(numbers)s",
        rule_id=rule_id,
        version=version,
        numbers=numbers,
    )


def open_version(uow: UnitOfWork, rule_id: str) -> RuleVersion | None:
    """The rule's latest version if it has no end (in force now or scheduled), else None."""
    history = rule_history(uow, rule_id)
    last = history[-1]
    return last if last.effective_until is None else None


@dataclass(frozen=True)
class DiffLine:
    """One line of a unified diff: ``kind`` is add, del, ctx or hunk."""

    kind: str
    text: str


def diff_lines(
    old: str, new: str, old_label: str = "before", new_label: str = "after"
) -> list[DiffLine]:
    """A unified diff of two texts, line by line, for safe rendering (no HTML here)."""
    out: list[DiffLine] = []
    lines = difflib.unified_diff(
        old.splitlines(),
        new.splitlines(),
        fromfile=old_label,
        tofile=new_label,
        n=DIFF_CONTEXT_LINES,
        lineterm="",
    )
    for line in lines:
        if line.startswith(("---", "+++")):
            continue
        if line.startswith("@@"):
            out.append(DiffLine("hunk", line))
        elif line.startswith("+"):
            out.append(DiffLine("add", line[1:]))
        elif line.startswith("-"):
            out.append(DiffLine("del", line[1:]))
        else:
            out.append(DiffLine("ctx", line[1:]))
    return out


def diff_text(lines: list[DiffLine]) -> str:
    """The diff as plain unified-diff text."""
    marks = {"add": "+", "del": "-", "ctx": " ", "hunk": ""}
    return "\n".join(marks[line.kind] + line.text for line in lines)


def version_as_text(v: RuleVersion | None) -> str:
    """Everything a citizen votes on in a rule version, as lines a diff can compare."""
    if v is None:
        return ""
    parts = [
        f"# {v.title}",
        "",
        v.text.strip(),
        "",
        f"harm category: {v.harm_category.value}",
        f"ground: {v.ground.value}",
        f"highest sanction: {v.ceiling.describe()}",
    ]
    parts += [f"covers: {e}" for e in v.covered_examples]
    parts += [f"does not cover: {e}" for e in v.not_covered_examples]
    return "\n".join(parts)


@dataclass(frozen=True)
class ConstitutionInForce:
    """A constitution with its version number (0: the founding default) and start."""

    constitution: Constitution
    version: int
    effective_from: datetime | None
    proposal_id: int | None


# Every verdict and juror reply asks for its case's constitution: built once, like the above.
_CONSTITUTION_AT = (
    select(ConstitutionVersion)
    .where(
        ConstitutionVersion.jurisdiction_code == bindparam("jurisdiction"),
        ConstitutionVersion.effective_from <= bindparam("at"),
    )
    .order_by(ConstitutionVersion.version.desc())
    .limit(1)
)


def constitution_at(uow: UnitOfWork, jurisdiction: str, at: datetime) -> ConstitutionInForce:
    """The constitution of ``jurisdiction`` in force at ``at`` (the default before any change)."""
    row = uow.session.scalars(_CONSTITUTION_AT, {"jurisdiction": jurisdiction, "at": at}).first()
    if row is None:
        get_jurisdiction(uow, jurisdiction)  # NotFound for an unknown code, else the default
        return ConstitutionInForce(Constitution(jurisdiction), 0, None, None)
    return ConstitutionInForce(
        parse_constitution(row.params), row.version, row.effective_from, row.proposal_id
    )


@functools.lru_cache(maxsize=CONSTITUTIONS_PARSED)
def parse_constitution(params: str) -> Constitution:
    """The constitution stored as ``params`` (JSON); parsed once per distinct text, since
    every juror reply and ballot asks for its case's constitution and it is immutable."""
    return Constitution.from_dict(json.loads(params))


def latest_constitution(uow: UnitOfWork, jurisdiction: str) -> ConstitutionInForce:
    """The newest constitution version, even one scheduled to take effect later."""
    row = uow.session.scalars(
        select(ConstitutionVersion)
        .where(ConstitutionVersion.jurisdiction_code == jurisdiction)
        .order_by(ConstitutionVersion.version.desc())
        .limit(1)
    ).first()
    if row is None:
        return ConstitutionInForce(Constitution(jurisdiction), 0, None, None)
    params: dict[str, Any] = json.loads(row.params)
    return ConstitutionInForce(
        Constitution.from_dict(params), row.version, row.effective_from, row.proposal_id
    )
