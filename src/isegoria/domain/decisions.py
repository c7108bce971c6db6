"""What a platform is told, and the statement of reasons behind it (EU DSA Art. 17).

A *decision* is the message a platform receives and must apply: a sanction imposed by a
verdict, an interim measure, a sanction lifted after an overturning appeal, an interim
measure that lapsed, or a note that became (or stopped being) shown. Every decision that
restricts something carries a statement of reasons with the fields DSA Art. 17(3) requires.
Integrations (webhooks, Matrix, Mastodon, ActivityPub, AT Protocol labels, the DSA
Transparency Database export) consume these types and nothing else of the case machinery.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime
from enum import Enum
from typing import Any

from isegoria.domain.sanctions import GroundKind, HarmCategory, SanctionStep


class DecisionKind(Enum):
    """Why the platform is being told something."""

    SANCTION_IMPOSED = "sanction_imposed"  # a final or first-instance verdict found a violation
    NO_ACTION = "no_action"  # a verdict found no violation (or the case lapsed)
    INTERIM_IMPOSED = "interim_imposed"  # a restriction pending the verdict
    INTERIM_LAPSED = "interim_lapsed"  # the jury did not uphold it in time: restore
    SANCTION_LIFTED = "sanction_lifted"  # an appeal overturned the sanction: restore
    NOTE_SHOWN = "note_shown"  # a context note became helpful: show it
    NOTE_HIDDEN = "note_hidden"  # a context note stopped being helpful: hide it


class ReportSource(Enum):
    """Who brought the content to the instance's attention (DSA ``source_type``)."""

    USER = "user"  # a person using the platform (DSA: SOURCE_ARTICLE_16)
    TRUSTED_FLAGGER = "trusted_flagger"  # DSA Art. 22 (SOURCE_TRUSTED_FLAGGER)
    PLATFORM = "platform"  # the platform's own staff (SOURCE_VOLUNTARY)
    AUTOMATED = "automated"  # automated detection (SOURCE_VOLUNTARY, automated_detection=Yes)


@dataclass(frozen=True)
class StatementOfReasons:
    """Every field of DSA Art. 17(3), filled from a verdict.

    (a) the measure and its territorial scope and duration; (b) the facts and circumstances,
    including whether a notice was received and from whom where needed; (c) whether
    automated means were used (in isegoria, never for the decision); (d) the legal ground,
    or (e) the contractual ground, with its explanation; (f) the redress available.
    """

    case_id: int
    decision_id: int
    decided_at: datetime
    jurisdiction: str  # the jurisdiction whose rule applied
    territorial_scope: tuple[str, ...]  # ISO 3166 codes (or EU member states) where it applies
    rule_id: str  # e.g. "MX-3"
    rule_version: int
    rule_title: str
    rule_text: str
    ground: GroundKind
    harm_category: HarmCategory
    sanction: SanctionStep
    suspension_days: int | None
    measure_ends_at: datetime | None  # end of a suspension or of an interim measure
    facts: str  # the content and circumstances, in words
    notice_received: bool
    notice_source: ReportSource | None
    automated_detection: bool
    automated_decision: bool  # always False: citizens decide
    explanation: str  # from the jurors' reasons and the tally
    tally: dict[str, int]  # e.g. {"violation": 9, "no_violation": 2, "cast": 11, "jury": 12}
    redress: str  # how to appeal, until when, and other remedies
    appeal: bool = False  # True when this decides an appeal (final)
    content_id: str = ""  # the platform's own id of the content
    content_url: str = ""
    content_language: str = ""
    content_posted_at: datetime | None = None
    #: On appeal, the limit that applied (``domain.appeals.AppealLimit`` value), else None.
    appeal_limit: str | None = None
    language: str = "en"  # the language the text fields are written in (the post's)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StatementOfReasons:
        """Read back what ``to_dict`` wrote."""

        def instant(value: Any) -> datetime | None:
            return None if value is None else datetime.fromisoformat(value)

        source = data.get("notice_source")
        return cls(
            **{
                **data,
                "decided_at": datetime.fromisoformat(data["decided_at"]),
                "territorial_scope": tuple(data["territorial_scope"]),
                "ground": GroundKind(data["ground"]),
                "harm_category": HarmCategory(data["harm_category"]),
                "sanction": SanctionStep(data["sanction"]),
                "measure_ends_at": instant(data.get("measure_ends_at")),
                "notice_source": None if source is None else ReportSource(source),
                "content_posted_at": instant(data.get("content_posted_at")),
            }
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form (enums by value, instants in ISO 8601)."""
        # Field by field rather than dataclasses.asdict, which deep-copies every value: the
        # fields hold only str, int, bool, None, enums, instants, a tuple of str and the
        # tally (a dict of int), and every verdict writes this twice.
        data = {name: getattr(self, name) for name in _STATEMENT_FIELDS}
        for key, value in data.items():
            if isinstance(value, Enum):
                data[key] = value.value
            elif isinstance(value, datetime):
                data[key] = value.isoformat()
            elif isinstance(value, tuple):
                data[key] = list(value)
            elif isinstance(value, dict):
                data[key] = dict(value)
        return data


_STATEMENT_FIELDS = tuple(f.name for f in fields(StatementOfReasons))


@dataclass(frozen=True)
class Decision:
    """A message to one platform about one piece of its content or one of its accounts.

    ``id`` is the idempotency key: delivering the same decision twice must have the effect
    of delivering it once. ``sequence`` orders decisions about the same subject.
    """

    id: int
    kind: DecisionKind
    platform_id: int
    case_id: int | None
    content_id: str  # the platform's own content id
    content_url: str
    author: str  # the author's pseudonym on that platform
    sanction: SanctionStep
    suspension_days: int | None
    issued_at: datetime
    sequence: int  # position among decisions about this content, from 1
    statement: StatementOfReasons | None = None
    statement_url: str = ""
    note_text: str | None = None  # for NOTE_SHOWN / a jury's "note" sanction
    restores: int | None = None  # the id of the decision this one undoes, if any
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def restricts(self) -> bool:
        """Whether applying it restricts the content or account."""
        return self.kind in (DecisionKind.SANCTION_IMPOSED, DecisionKind.INTERIM_IMPOSED) and (
            self.sanction > SanctionStep.NONE
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Decision:
        """Read back a delivered body (what ``to_dict`` wrote)."""
        statement = data.get("statement")
        return cls(
            id=int(data["id"]),
            kind=DecisionKind(data["kind"]),
            platform_id=int(data["platform_id"]),
            case_id=data.get("case_id"),
            content_id=str(data["content_id"]),
            content_url=str(data.get("content_url", "")),
            author=str(data.get("author", "")),
            sanction=SanctionStep(data["sanction"]),
            suspension_days=data.get("suspension_days"),
            issued_at=datetime.fromisoformat(data["issued_at"]),
            sequence=int(data["sequence"]),
            statement=None if statement is None else StatementOfReasons.from_dict(statement),
            statement_url=str(data.get("statement_url", "")),
            note_text=data.get("note_text"),
            restores=data.get("restores"),
            extra=dict(data.get("extra", {})),
        )

    def to_dict(self) -> dict[str, Any]:
        """The JSON body delivered to the platform."""
        return {
            "id": self.id,
            "kind": self.kind.value,
            "platform_id": self.platform_id,
            "case_id": self.case_id,
            "content_id": self.content_id,
            "content_url": self.content_url,
            "author": self.author,
            "sanction": self.sanction.value,
            "suspension_days": self.suspension_days,
            "issued_at": self.issued_at.isoformat(),
            "sequence": self.sequence,
            "statement": self.statement.to_dict() if self.statement else None,
            "statement_url": self.statement_url,
            "note_text": self.note_text,
            "restores": self.restores,
            **({"extra": self.extra} if self.extra else {}),
        }
