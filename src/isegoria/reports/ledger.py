"""What the public log says about each case, gathered in one pass over its entries.

The ledger is pure: it reads decoded entries (``log.entries.DecodedEntry``) in index order
and keeps, per case, the facts a transparency report needs. It reads only what the log
publishes, so an outside auditor holding the same entries builds the same ledger.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from isegoria.log.entries import DecodedEntry

FIRST = "first"
APPEAL = "appeal"
RETRIAL = "retrial"
UNKNOWN = "unknown"
INSTANT_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"  # log.entries.format_instant


def parse_instant(text: str) -> datetime:
    """An entry's RFC 3339 UTC timestamp as an aware datetime."""
    return datetime.strptime(text, INSTANT_FORMAT).replace(tzinfo=UTC)


@dataclass(frozen=True)
class Event:
    """One logged event: its kind, when it was appended, and its public facts."""

    index: int
    kind: str
    at: datetime
    facts: dict[str, Any]


@dataclass
class Verdict:
    """A jury's verdict on one stage of a case, as the log published it."""

    at: datetime
    outcome: str
    sanction: str
    ballots: list[dict[str, Any]]


@dataclass
class CaseRecord:
    """Everything the log says about one case."""

    case_id: int
    opened_at: datetime
    rule_id: str
    rule_version: int
    jurisdiction: str
    platform_id: int
    language: str
    source: str
    verdicts: dict[str, Verdict] = field(default_factory=dict)
    appealed_at: datetime | None = None
    interim_imposed_at: datetime | None = None
    interim_lapsed_at: datetime | None = None
    summoned: dict[str, set[str]] = field(default_factory=dict)  # stage -> pseudonyms
    replied: dict[str, set[str]] = field(default_factory=dict)
    voted: dict[str, set[str]] = field(default_factory=dict)
    accepted: dict[str, set[str]] = field(default_factory=dict)
    # A consistency retrial's first jury's own (outcome, sanction); the retrial jury's own
    # verdict is verdicts[RETRIAL]. verdicts[FIRST] is what stood (the milder of the two).
    retrial_first: tuple[str, str] | None = None


@dataclass
class DecisionRecord:
    """A decision sent to a platform, and the platform's confirmation if any."""

    decision_id: int
    case_id: int | None
    platform_id: int
    kind: str
    issued_at: datetime
    apply_by: datetime
    confirmed_at: datetime | None = None
    status: str | None = None
    on_time: bool | None = None
    jurisdiction: str | None = None  # a note decision's; a case's is the case's


@dataclass
class Ledger:
    """The cases, decisions, platforms and jurisdictions the log describes."""

    events: list[Event] = field(default_factory=list)
    cases: dict[int, CaseRecord] = field(default_factory=dict)
    decisions: dict[int, DecisionRecord] = field(default_factory=dict)
    platforms: dict[int, str] = field(default_factory=dict)
    parents: dict[str, str | None] = field(default_factory=dict)
    size: int = 0
    last_at: datetime | None = None

    def within(self, jurisdiction: str | None) -> set[str] | None:
        """The jurisdiction and every one below it; None means all of them."""
        if jurisdiction is None:
            return None
        found = {jurisdiction}
        grew = True
        while grew:
            below = {code for code, parent in self.parents.items() if parent in found}
            grew = not below <= found
            found |= below
        return found


def _rule(text: str) -> tuple[str, int]:
    rule_id, _, version = text.partition("@v")
    return rule_id, int(version) if version.isdigit() else 0


def _open(facts: dict[str, Any], at: datetime) -> CaseRecord:
    rule_id, version = _rule(str(facts.get("rule", "")))
    return CaseRecord(
        case_id=int(facts["case_id"]),
        opened_at=at,
        rule_id=rule_id,
        rule_version=version,
        jurisdiction=str(facts.get("jurisdiction", UNKNOWN)),
        platform_id=int(facts.get("platform_id", 0)),
        # Entries appended before issue 8 lack these two facts.
        language=str(facts.get("language") or UNKNOWN),
        source=str(facts.get("source") or UNKNOWN),
    )


def _case_event(ledger: Ledger, event: Event) -> None:
    facts = event.facts
    case = ledger.cases.get(int(facts["case_id"]))
    if case is None:
        return
    stage = str(facts.get("stage", FIRST))
    kind = event.kind
    if kind == "VerdictReached":
        case.verdicts.setdefault(
            stage,
            Verdict(
                event.at, str(facts["outcome"]), str(facts["sanction"]), list(facts["ballots"])
            ),
        )
    elif kind == "AppealFiled":
        case.appealed_at = event.at
    elif kind == "InterimMeasureImposed":
        case.interim_imposed_at = event.at
    elif kind == "InterimMeasureLapsed":
        case.interim_lapsed_at = event.at
    elif kind == "JuryDrawn":
        case.summoned.setdefault(stage, set()).update(facts["jurors"])
    elif kind == "JurorsReplaced":
        case.summoned.setdefault(stage, set()).update(facts["replacements"])
    elif kind == "JurorReplied":
        case.replied.setdefault(stage, set()).add(str(facts["juror"]))
        if facts["accepted"]:
            case.accepted.setdefault(stage, set()).add(str(facts["juror"]))
    elif kind == "ConsistencyRetrialSettled":
        first, second = facts["first"], facts["retrial"]
        case.retrial_first = (str(first["outcome"]), str(first["sanction"]))
        case.verdicts.setdefault(
            RETRIAL,
            Verdict(
                event.at, str(second["outcome"]), str(second["sanction"]), list(second["ballots"])
            ),
        )
    elif kind == "BallotCast":
        case.voted.setdefault(stage, set()).add(str(facts["juror"]))


def _decision_event(ledger: Ledger, event: Event) -> None:
    facts = event.facts
    if event.kind in ("DecisionIssued", "NoteDecisionIssued"):
        ledger.decisions[int(facts["decision_id"])] = DecisionRecord(
            decision_id=int(facts["decision_id"]),
            case_id=None if facts.get("case_id") is None else int(facts["case_id"]),
            platform_id=int(facts["platform_id"]),
            kind=str(facts["decision_kind"]),
            issued_at=event.at,
            apply_by=parse_instant(str(facts["apply_by"])),
            jurisdiction=None if facts.get("jurisdiction") is None else str(facts["jurisdiction"]),
        )
        return
    record = ledger.decisions.get(int(facts["decision_id"]))
    if record is not None and record.confirmed_at is None:
        record.confirmed_at = event.at
        record.status = str(facts["status"])
        record.on_time = bool(facts["on_time"])


CASE_KINDS = frozenset(
    {
        "VerdictReached",
        "AppealFiled",
        "InterimMeasureImposed",
        "InterimMeasureLapsed",
        "JuryDrawn",
        "JurorsReplaced",
        "JurorReplied",
        "BallotCast",
        "ConsistencyRetrialSettled",
    }
)


def build_ledger(entries: Iterable[DecodedEntry]) -> Ledger:
    """Read the entries (in index order) into a ledger."""
    ledger = Ledger()
    for entry in entries:
        event = Event(entry.index, entry.kind, parse_instant(entry.at), entry.facts)
        ledger.events.append(event)
        ledger.size = entry.index + 1
        ledger.last_at = event.at
        facts = entry.facts
        if entry.kind == "CaseOpened":
            case = _open(facts, event.at)
            ledger.cases[case.case_id] = case
        elif entry.kind in CASE_KINDS:
            _case_event(ledger, event)
        elif entry.kind in ("DecisionIssued", "NoteDecisionIssued", "DecisionConfirmed"):
            _decision_event(ledger, event)
        elif entry.kind == "PlatformRegistered":
            ledger.platforms[int(facts["platform_id"])] = str(facts["name"])
        elif entry.kind == "JurisdictionCreated":
            ledger.parents[str(facts["code"])] = facts.get("parent")
    return ledger
