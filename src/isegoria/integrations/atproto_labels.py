"""AT Protocol labeler: decisions as signed labels, ``queryLabels``, and ``createReport``.

Labels follow atproto.com/specs/label (version 1) and the ``com.atproto.label.defs#label``
lexicon: ``ver``, ``src`` (the labeler DID), ``uri`` (an ``at://`` record or an account
DID), optional ``cid``, ``val``, ``neg``, ``cts``, optional ``exp``, and ``sig``: the
labeler key's signature over the DAG-CBOR encoding of the label without ``sig``. In JSON,
``sig`` is bytes, written ``{"$bytes": "<base64, no padding>"}`` (atproto data model).

Values (documented in docs/integrations/atproto.md, declared in the labeler's
``app.bsky.labeler.service`` record): custom values ``isegoria-*`` by default, because the
global ``!hide``/``!warn`` values are reserved for the AppView's own moderation; a
deployment may map to them instead through ``values``. A sanction lifted on appeal, a
lapsed interim measure or a hidden note is published as the same label with ``neg: true``.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from isegoria.domain.decisions import Decision, DecisionKind
from isegoria.domain.sanctions import SanctionStep
from isegoria.integrations.atproto_keys import CborValue, LabelerKey, dag_cbor

__all__ = [
    "DEFAULT_LABEL_VALUES",
    "AtprotoError",
    "AtprotoReport",
    "Label",
    "create_report",
    "create_report_output",
    "labels_for_decision",
    "query_labels",
    "sign_label",
]

LABEL_VERSION: Final = 1  # atproto.com/specs/label: "Current version is always 1"
MAX_VAL_BYTES: Final = 128  # lexicon com.atproto.label.defs#label.val maxLength
QUERY_DEFAULT_LIMIT: Final = 50  # lexicon com.atproto.label.queryLabels: default 50
QUERY_MAX_LIMIT: Final = 250  # ... minimum 1, maximum 250
MAX_REPORT_REASON: Final = 2000  # lexicon com.atproto.moderation.createReport: reason graphemes

#: Ladder step -> label value. Custom values are lowercase ASCII and '-' (lexicon
#: labelValueDefinition.identifier).
DEFAULT_LABEL_VALUES: Final[Mapping[SanctionStep, str]] = {
    SanctionStep.NOTE: "isegoria-context-note",
    SanctionStep.REDUCE_REACH: "isegoria-reduced-reach",
    SanctionStep.REMOVE: "isegoria-removed",
    SanctionStep.SUSPEND: "isegoria-suspended",
    SanctionStep.BAN: "isegoria-banned",
}
_ACCOUNT_STEPS: Final = frozenset({SanctionStep.SUSPEND, SanctionStep.BAN})
_RETRACTIONS: Final = frozenset(
    {DecisionKind.SANCTION_LIFTED, DecisionKind.INTERIM_LAPSED, DecisionKind.NOTE_HIDDEN}
)
_REPO_REF: Final = "com.atproto.admin.defs#repoRef"
_STRONG_REF: Final = "com.atproto.repo.strongRef"
REASON_APPEAL: Final = "com.atproto.moderation.defs#reasonAppeal"


class AtprotoError(ValueError):
    """A label cannot be made, or a query or report input is invalid."""


def _datetime(value: datetime) -> str:
    """atproto datetime: RFC 3339 in UTC with milliseconds and ``Z`` (spec "Datetime")."""
    if value.tzinfo is None:
        raise AtprotoError("label timestamps must be timezone-aware")
    utc = value.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


@dataclass(frozen=True)
class Label:
    """One ``com.atproto.label.defs#label``."""

    src: str
    uri: str
    val: str
    cts: str
    neg: bool = False
    cid: str | None = None
    exp: str | None = None
    ver: int = LABEL_VERSION
    sig: bytes | None = None

    def unsigned(self) -> dict[str, CborValue]:
        """The object that is signed: every present field but ``sig``."""
        data: dict[str, CborValue] = {
            "ver": self.ver,
            "src": self.src,
            "uri": self.uri,
            "val": self.val,
            "cts": self.cts,
        }
        if self.neg:
            data["neg"] = True
        if self.cid is not None:
            data["cid"] = self.cid
        if self.exp is not None:
            data["exp"] = self.exp
        return data

    def to_json(self) -> dict[str, Any]:
        """The JSON form served by ``queryLabels`` (``sig`` as ``$bytes``)."""
        data: dict[str, Any] = dict(self.unsigned())
        if self.sig is not None:
            data["sig"] = {"$bytes": base64.b64encode(self.sig).decode("ascii").rstrip("=")}
        return data


def sign_label(label: Label, key: LabelerKey) -> Label:
    """``label`` with ``sig`` over its DAG-CBOR encoding (and ``src`` checked)."""
    if len(label.val.encode("utf-8")) > MAX_VAL_BYTES:
        raise AtprotoError(f"label value {label.val!r} is longer than {MAX_VAL_BYTES} bytes")
    return replace(label, sig=key.sign(dag_cbor(label.unsigned())))


def _subject(decision: Decision, step: SanctionStep) -> tuple[str, str | None]:
    if step in _ACCOUNT_STEPS:  # an account label applies to the DID itself
        if not decision.author.startswith("did:"):
            raise AtprotoError(
                f"decision {decision.id}: an account sanction needs the author's DID, "
                f"got {decision.author!r}"
            )
        return decision.author, None
    for uri in (decision.content_url, decision.content_id):
        if uri.startswith("at://"):
            cid = decision.extra.get("cid")
            return uri, cid if isinstance(cid, str) else None
    raise AtprotoError(
        f"decision {decision.id}: a content label needs an at:// URI, got {decision.content_url!r}"
    )


def labels_for_decision(
    decision: Decision,
    *,
    key: LabelerKey,
    labeler_did: str,
    restored: Decision | None = None,
    values: Mapping[SanctionStep, str] = DEFAULT_LABEL_VALUES,
) -> list[Label]:
    """The signed labels that publish ``decision`` (none for "no action").

    For a retraction (sanction lifted, interim lapsed, note hidden) pass the decision it
    undoes as ``restored``: its label is repeated with ``neg: true``.
    """
    negate = decision.kind in _RETRACTIONS
    source = restored if negate and restored is not None else decision
    step = SanctionStep.NOTE if decision.kind is DecisionKind.NOTE_SHOWN else source.sanction
    if decision.kind is DecisionKind.NOTE_HIDDEN:
        step = SanctionStep.NOTE
    if decision.kind is DecisionKind.NO_ACTION or step not in values:
        return []
    uri, cid = _subject(source, step)
    exp = None
    if not negate and step is SanctionStep.SUSPEND and source.suspension_days:
        exp = _datetime(decision.issued_at + timedelta(days=source.suspension_days))
    label = Label(
        src=labeler_did,
        uri=uri,
        cid=cid,
        val=values[step],
        neg=negate,
        cts=_datetime(decision.issued_at),
        exp=exp,
    )
    return [sign_label(label, key)]


def _matches(uri: str, patterns: Sequence[str]) -> bool:
    # Lexicon queryLabels.uriPatterns: a pattern ending in '*' is a prefix, else exact.
    return any(uri.startswith(p[:-1]) if p.endswith("*") else uri == p for p in patterns)


def query_labels(
    labels: Sequence[Label],
    uri_patterns: Sequence[str],
    sources: Sequence[str] | None = None,
    limit: int = QUERY_DEFAULT_LIMIT,
    cursor: str | None = None,
) -> dict[str, Any]:
    """The ``com.atproto.label.queryLabels`` output over ``labels`` (in publication order).

    The cursor is the position after the last label returned, so paging is stable while
    labels are appended (a retraction is a new label, never an edit).
    """
    if not uri_patterns:
        raise AtprotoError("uriPatterns is required (one or more AT URI patterns)")
    if not 1 <= limit <= QUERY_MAX_LIMIT:
        raise AtprotoError(f"limit must be between 1 and {QUERY_MAX_LIMIT}, got {limit}")
    start = 0
    if cursor:
        if not cursor.isascii() or not cursor.isdigit():
            raise AtprotoError(f"cursor {cursor[:40]!r} was not issued by this labeler")
        start = int(cursor)
    found: list[dict[str, Any]] = []
    position = start
    for position in range(start, len(labels)):
        label = labels[position]
        if _matches(label.uri, uri_patterns) and (not sources or label.src in sources):
            found.append(label.to_json())
            if len(found) == limit:
                return {"cursor": str(position + 1), "labels": found}
    return {"labels": found}


@dataclass(frozen=True)
class AtprotoReport:
    """A parsed ``createReport``: what is reported, why, and the rule it maps to."""

    reason_type: str
    reason: str
    subject: dict[str, str]  # as received: repoRef {did} or strongRef {uri, cid}
    subject_uri: str  # at:// URI, or the DID for an account
    subject_did: str  # the account concerned
    subject_cid: str | None
    rule_id: str | None  # None: no mapping, the report goes to triage
    is_appeal: bool


def create_report(
    input: Mapping[str, Any],
    *,
    reason_rules: Mapping[str, str],
    default_rule: str | None = None,
) -> AtprotoReport:
    """Parse ``com.atproto.moderation.createReport`` input; map ``reasonType`` to a rule."""
    reason_type = input.get("reasonType")
    if not isinstance(reason_type, str) or "#" not in reason_type or len(reason_type) > 256:
        raise AtprotoError(
            "reasonType must be a reason token such as com.atproto.moderation.defs#reasonSpam"
        )
    reason = input.get("reason") or ""
    if not isinstance(reason, str) or len(reason) > MAX_REPORT_REASON:
        raise AtprotoError(f"reason must be text of at most {MAX_REPORT_REASON} characters")
    subject = input.get("subject")
    if not isinstance(subject, dict):
        raise AtprotoError("subject must be a repoRef ({did}) or a strongRef ({uri, cid})")
    kind = subject.get("$type")
    if kind == _REPO_REF or (kind is None and "did" in subject):
        did = subject.get("did")
        if not isinstance(did, str) or not did.startswith("did:"):
            raise AtprotoError("subject.did must be a DID")
        uri, owner = did, did
        cid_value: str | None = None
    elif kind == _STRONG_REF or (kind is None and "uri" in subject):
        record, cid = subject.get("uri"), subject.get("cid")
        if not isinstance(record, str) or not record.startswith("at://did:"):
            raise AtprotoError("subject.uri must be an at:// URI naming a DID")
        if not isinstance(cid, str) or not cid:
            raise AtprotoError("subject.cid is required in a strongRef")
        uri, cid_value = record, cid
        owner = record[len("at://") :].split("/", 1)[0]
    else:
        raise AtprotoError(f"subject type {str(kind)[:60]!r} is not supported")
    return AtprotoReport(
        reason_type=reason_type,
        reason=reason,
        subject={k: str(v) for k, v in subject.items()},
        subject_uri=uri,
        subject_did=owner,
        subject_cid=cid_value,
        rule_id=reason_rules.get(reason_type, default_rule),
        is_appeal=reason_type == REASON_APPEAL,
    )


def create_report_output(
    report: AtprotoReport, *, report_id: int, reported_by: str, created_at: datetime
) -> dict[str, Any]:
    """The ``createReport`` output: the report echoed with its id, reporter and time."""
    return {
        "id": report_id,
        "reasonType": report.reason_type,
        **({"reason": report.reason} if report.reason else {}),
        "subject": report.subject,
        "reportedBy": reported_by,
        "createdAt": _datetime(created_at),
    }
