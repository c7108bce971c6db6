"""Federated reports: a verified ``Flag`` becomes one report per reported post.

A Flag names posts, not rules. The instance maps it to a rule by keywords of the
reporter's comment (``activitypub_rules``), else to ``activitypub_default_rule``; when
neither applies the Flag is refused with a message saying so (a report must cite a rule,
and there is no triage queue for federated reports). The reporting server is remembered
per post (``federated_flags``) so the outcome can be sent back once the jury decided.

Network reads (the reporter's actor, posts isegoria holds no snapshot of) happen before
the write transaction, so a slow remote server never holds the database's write lock.
"""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from sqlalchemy import select

from isegoria.cases import intake as cases_intake
from isegoria.domain.content import MAX_CONTENT_TEXT, MAX_URL, ContentSnapshot, ReportRequest
from isegoria.domain.decisions import ReportSource
from isegoria.domain.rulebook import RulebookError
from isegoria.errors import InvalidInput, NotFound
from isegoria.integrations.activitypub import FlagReport
from isegoria.law import read as law_read
from isegoria.people import platforms
from isegoria.store.models_cases import Content
from isegoria.store.models_federation import FederatedFlag
from isegoria.unit_of_work import UnitOfWork

__all__ = ["FederatedReport", "InboxRules", "receive_flag_report", "rule_for"]

UNDETERMINED_LANGUAGE: Final = "und"  # BCP 47 / ISO 639-2: language not determined
MAX_AUTHOR: Final = 256
_TAG = re.compile(r"<[^>]*>")


@dataclass(frozen=True)
class InboxRules:
    """How this instance maps Flags to rules, and whose posts they concern."""

    platform: str  # name (or id) of the platform whose posts are reported
    keywords: Mapping[str, str]  # comment keyword -> rule id, first match wins
    default_rule: str  # "" when a Flag no keyword maps is refused


@dataclass(frozen=True)
class FederatedReport:
    """What a Flag filed: one report per post, in the case it joined."""

    post_uri: str
    case_id: int
    report_id: int
    new: bool  # False when this Flag of this post had been received before


def rule_for(flag: FlagReport, rules: InboxRules) -> str:
    """The rule a Flag cites: the first keyword found in its comment, else the default."""
    for keyword, rule_id in rules.keywords.items():
        if re.search(rf"(?<!\w){re.escape(keyword)}(?!\w)", flag.content, re.IGNORECASE):
            return rule_id
    if rules.default_rule:
        return rules.default_rule
    known = ", ".join(sorted(rules.keywords)) or "none configured"
    raise InvalidInput(
        "no rule applies to this Flag: its comment names none of this "
        "instance's keywords (%(known)s) and there is no default rule "
        "for federated reports",
        field="content",
        known=known,
    )


def _refuse_nul(value: str, field: str) -> None:
    # PostgreSQL text cannot hold NUL; no legitimate post or comment contains one.
    if "\x00" in value:
        raise InvalidInput("%(field_name)s contains a NUL character", field=field, field_name=field)


def _flag_key(flag_id: str, post_uri: str) -> str:
    return hashlib.sha256(f"{flag_id}\n{post_uri}".encode()).hexdigest()


def _reporter_inbox(actor: Mapping[str, Any]) -> str:
    """The actor's shared inbox if it has one (one delivery per server), else its inbox."""
    endpoints = actor.get("endpoints")
    shared = endpoints.get("sharedInbox") if isinstance(endpoints, dict) else None
    inbox = shared if isinstance(shared, str) else actor.get("inbox")
    if not isinstance(inbox, str) or not inbox.startswith(("https://", "http://")):
        raise InvalidInput("the reporting actor publishes no inbox", field="actor")
    _refuse_nul(inbox, "the reporting actor's inbox")
    if len(inbox) > MAX_URL:
        raise InvalidInput(
            "the reporting actor's inbox is longer than %(max)s", field="actor", max=MAX_URL
        )
    return inbox


def _instant(value: Any, uri: str) -> datetime:
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        raise InvalidInput(
            "the post %(uri)s has no valid 'published' time", field="object", uri=uri
        ) from None
    if moment.tzinfo is None:
        raise InvalidInput(
            "the post %(uri)s has a 'published' time without zone", field="object", uri=uri
        )
    return moment.astimezone(UTC)


def snapshot_from_note(document: Mapping[str, Any], uri: str, jurisdiction: str) -> ContentSnapshot:
    """A snapshot of a fetched ActivityStreams object (a ``Note``, usually)."""
    if document.get("id") != uri:
        raise InvalidInput("fetching %(uri)s returned another object", field="object", uri=uri)
    author = document.get("attributedTo")
    if isinstance(author, list) and author:
        author = author[0]
    if isinstance(author, dict):
        author = author.get("id")
    if not isinstance(author, str) or not 0 < len(author) <= MAX_AUTHOR:
        raise InvalidInput(
            "the post %(uri)s names no author (attributedTo)", field="object", uri=uri
        )
    raw = document.get("content")
    text = html.unescape(_TAG.sub(" ", raw)).strip() if isinstance(raw, str) else ""
    summary = document.get("summary")
    if isinstance(summary, str) and summary:  # a content warning is part of what was posted
        text = f"[{html.unescape(_TAG.sub(' ', summary)).strip()}] {text}"
    languages = document.get("contentMap")
    language = UNDETERMINED_LANGUAGE
    if isinstance(languages, dict) and languages:
        first = next(iter(languages))
        if isinstance(first, str) and 0 < len(first) <= 35:
            language = first
    for field, value in (("content", text), ("attributedTo", author), ("language", language)):
        _refuse_nul(value, f"the post's {field}")
    return ContentSnapshot(
        platform_content_id=uri[:512],
        url=uri,
        text=text[:MAX_CONTENT_TEXT],
        language=language,
        author=author,
        posted_at=_instant(document.get("published"), uri),
        jurisdictions=(jurisdiction,),
        context={"reported_via": "activitypub"},
    )


def _held(uow: UnitOfWork, platform_id: int, uri: str) -> ContentSnapshot | None:
    row = uow.session.scalars(
        select(Content)
        .where(Content.platform_id == platform_id, Content.url == uri)
        .order_by(Content.id.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    return ContentSnapshot(
        platform_content_id=row.platform_content_id,
        url=row.url,
        text=row.text,
        language=row.language,
        author=row.author,
        posted_at=row.posted_at,
        jurisdictions=tuple(row.jurisdictions.split(",")),
    )


def receive_flag_report(
    uow: UnitOfWork,
    flag: FlagReport,
    *,
    rules: InboxRules,
    fetch: Callable[[str], dict[str, Any]],
) -> list[FederatedReport]:
    """File a verified Flag: one report per post, remembering who to tell the outcome."""
    for field, value in (("id", flag.flag_id), ("actor", flag.actor), ("content", flag.content)):
        _refuse_nul(value, field)
    for uri in flag.posts:
        _refuse_nul(uri, "object")
    if not flag.posts:
        raise InvalidInput(
            "a Flag must name at least one post: isegoria's juries judge posts, not accounts",
            field="object",
        )
    rule_id = rule_for(flag, rules)
    with uow.begin(readonly=True):
        platform = platforms.find_platform(uow, rules.platform)
        platform_id = platform.id
        try:
            history = law_read.load_rulebook(uow).history(rule_id)
        except RulebookError:
            history = ()
        if not history:  # a misconfigured mapping: say which setting names a missing rule
            raise NotFound(
                "the rule %(rule_id)s mapped to this Flag does not exist",
                field="rule",
                rule_id=rule_id,
            )
        jurisdiction = history[-1].jurisdiction
        held = {uri: _held(uow, platform_id, uri) for uri in flag.posts}
    inbox = _reporter_inbox(_fetched(fetch, flag.actor, "the reporting actor"))
    snapshots = {
        uri: held[uri] or snapshot_from_note(_fetched(fetch, uri, "the post"), uri, jurisdiction)
        for uri in flag.posts
    }
    reason = flag.content.strip() or f"reported from {flag.actor} without a comment"
    filed: list[FederatedReport] = []
    with uow.begin():
        for uri, snapshot in snapshots.items():
            key = _flag_key(flag.flag_id, uri)
            seen = uow.session.scalars(
                select(FederatedFlag).where(FederatedFlag.flag_key == key)
            ).first()
            if seen is not None:  # the remote server retried its delivery: file nothing new
                filed.append(FederatedReport(uri, seen.case_id, seen.report_id, new=False))
                continue
            case, report = cases_intake.file_report(
                uow,
                platform_id=platform_id,
                request=ReportRequest(
                    snapshot=snapshot,
                    rule_id=rule_id,
                    rule_version=None,
                    reason=reason,
                    source=ReportSource.USER,
                    reporter=flag.actor[:256],
                ),
            )
            uow.session.add(
                FederatedFlag(
                    flag_key=key,
                    flag_id=flag.flag_id,
                    actor=flag.actor,
                    inbox=inbox,
                    post_uri=uri,
                    case_id=case.id,
                    report_id=report.id,
                    received_at=uow.now(),
                )
            )
            filed.append(FederatedReport(uri, case.id, report.id, new=True))
    return filed


def _fetched(fetch: Callable[[str], dict[str, Any]], uri: str, what: str) -> dict[str, Any]:
    try:
        return fetch(uri)
    except ValueError as exc:  # FetchRefused: not allowed, unreachable, too large, not JSON
        raise InvalidInput(
            "could not read %(what)s %(uri)s: %(exc)s", field="object", what=what, uri=uri, exc=exc
        ) from None
