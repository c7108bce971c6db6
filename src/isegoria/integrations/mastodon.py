"""Mastodon adapter: ``report.created`` webhooks in, admin account actions out.

In: ``report_from_webhook`` verifies the webhook signature (Mastodon signs the body with
HMAC-SHA256 and sends ``X-Hub-Signature: sha256=<hex>``), refuses stale and replayed
deliveries, reads the report through the admin API (``Mastodon.admin_report``) and returns
one ``ReportRequest`` per reported status (or one for the account when no status is
attached), mapping Mastodon server rules (``rules``) and the category to isegoria rules.

Out: ``apply`` performs a decision with the account-action API; ladder to action, as
documented in docs/integrations/mastodon.md: note -> ``none`` with the statement as warning
text; reduce_reach -> ``silence`` (limit); remove -> ``sensitive``, and the status deletion
left to the server's moderators (the admin API has no status deletion); suspend ->
``suspend``, lifted by ``lift_expired`` after the days run out (Mastodon's suspensions have
no end date); ban -> ``suspend``. Undo: ``unsilence``, ``unsensitive``, ``unsuspend``,
``enable``. Open reports about the decided content are resolved.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import json
import re
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from mastodon import Mastodon, MastodonError

from isegoria.domain.content import ContentSnapshot, ReportRequest
from isegoria.domain.decisions import Decision, DecisionKind
from isegoria.domain.sanctions import SanctionStep
from isegoria.integrations.egress import check_base_url
from isegoria.integrations.matrix_ledger import AppliedLedger, MemoryLedger
from isegoria.integrations.matrix_mapping import (
    ACCOUNT_PREFIX,
    AppliedResult,
    Pseudonyms,
    RuleMapping,
    TriageItem,
    account_content_id,
    report_or_triage,
    statement_text,
)

__all__ = ["MastodonAdapter", "MastodonConfig", "WebhookError", "html_to_text", "mastodon_client"]

#: Mastodon delivers a webhook within seconds and retries for hours; older is refused as stale.
MAX_WEBHOOK_AGE = timedelta(minutes=15)
#: How many delivered (event, report id) pairs are remembered to refuse replays.
REPLAY_MEMORY = 10_000
SIGNATURE_HEADER = "x-hub-signature"
#: Ladder step -> account action type (Mastodon admin API, POST /api/v1/admin/accounts/:id/action).
ACTION_FOR = {
    SanctionStep.NOTE: "none",
    SanctionStep.REDUCE_REACH: "silence",
    SanctionStep.REMOVE: "sensitive",
    SanctionStep.SUSPEND: "suspend",
    SanctionStep.BAN: "suspend",
}
#: Action -> (Admin::Account flag it sets, the endpoint that clears it).
UNDO_FOR = {
    "silence": ("silenced", "unsilence"),
    "sensitive": ("sensitized", "unsensitive"),
    "suspend": ("suspended", "unsuspend"),
    "disable": ("disabled", "enable"),
}


class WebhookError(ValueError):
    """A webhook delivery was refused (bad signature, stale, replayed or malformed)."""


def mastodon_client(base_url: str, access_token: str, *, allow_private: bool = False) -> Mastodon:
    """A Mastodon.py client for an admin token (scopes admin:read, admin:write).

    The server's URL passes the outbound guard each time a client is made (once per pass of
    the worker, per webhook): no loopback, intranet or metadata address unless allowed.
    """
    check_base_url(base_url, allow_private=allow_private)
    # No version check: it calls /api/v1/instance first, and the adapter only uses admin
    # endpoints that have been stable since Mastodon 4.0.
    return Mastodon(access_token=access_token, api_base_url=base_url, version_check_mode="none")


def html_to_text(markup: str) -> str:
    """Plain text of a status' HTML content (paragraphs and line breaks kept)."""
    text = re.sub(r"<br\s*/?>", "\n", markup, flags=re.IGNORECASE)
    text = re.sub(r"</p>\s*<p>", "\n\n", text, flags=re.IGNORECASE)
    return html.unescape(re.sub(r"<[^>]+>", "", text)).strip()


@dataclass(frozen=True)
class MastodonConfig:
    """What the operator configures for one Mastodon server."""

    rules: RuleMapping
    jurisdictions: tuple[str, ...]
    webhook_secret: str
    language: str = "und"  # used when a status has no language
    ban: Literal["suspend", "disable"] = "suspend"
    send_email: bool = True


class MastodonAdapter:
    """Connects one Mastodon server to isegoria."""

    def __init__(
        self,
        api: Mastodon,
        config: MastodonConfig,
        pseudonyms: Pseudonyms,
        ledger: AppliedLedger | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._api = api
        self._config = config
        self._pseudonyms = pseudonyms
        self._ledger: AppliedLedger = ledger if ledger is not None else MemoryLedger()
        self._clock = clock
        self._seen: OrderedDict[tuple[str, str], None] = OrderedDict()

    # -- reports in ---------------------------------------------------------------------

    def verify_webhook(self, body: bytes, headers: Mapping[str, str]) -> dict[str, Any]:
        """The payload of a genuine, fresh, first delivery; ``WebhookError`` otherwise."""
        lowered = {k.lower(): v for k, v in headers.items()}
        given = lowered.get(SIGNATURE_HEADER, "")
        if not given.startswith("sha256="):
            raise WebhookError("missing X-Hub-Signature: sha256=<hex> header")
        expected = hmac.new(self._config.webhook_secret.encode(), body, hashlib.sha256)
        if not hmac.compare_digest(given[len("sha256=") :], expected.hexdigest()):
            raise WebhookError("the webhook signature does not match the shared secret")
        try:
            payload = json.loads(body)
            event, obj = str(payload["event"]), payload["object"]
            sent = datetime.fromisoformat(str(payload["created_at"]).replace("Z", "+00:00"))
            key = (event, str(obj["id"]))
        except (ValueError, KeyError, TypeError) as error:
            raise WebhookError(f"malformed webhook payload: {error}") from error
        if sent.tzinfo is None:  # found by fuzzing: a naive time cannot be compared
            raise WebhookError("malformed webhook payload: created_at has no time zone")
        age = self._clock() - sent
        if age > MAX_WEBHOOK_AGE or age < -MAX_WEBHOOK_AGE:
            raise WebhookError(f"stale webhook: sent at {sent.isoformat()}")
        if key in self._seen:
            raise WebhookError(f"replayed webhook: {event} for {key[1]} was already received")
        self._seen[key] = None
        while len(self._seen) > REPLAY_MEMORY:
            self._seen.popitem(last=False)
        return dict(payload)

    def report_from_webhook(
        self, body: bytes, headers: Mapping[str, str]
    ) -> list[ReportRequest | TriageItem]:
        """Verify a ``report.created`` delivery and turn the report into requests."""
        payload = self.verify_webhook(body, headers)
        if payload["event"] != "report.created":
            return []
        # The webhook body is signed but may be old news; read the report as it is now.
        return self.reports_for(str(payload["object"]["id"]))

    def reports_for(self, report_id: str) -> list[ReportRequest | TriageItem]:
        """One request per reported status, or one for the account if none is attached."""
        report = self._api.admin_report(report_id)
        target = report["target_account"]
        author = self._pseudonyms.of(str(target["id"]))
        reporter = self._pseudonyms.of(str(report["account"]["id"]))
        rule_ids = [str(rule["id"]) for rule in report.get("rules") or []]
        common = {
            "mapping": self._config.rules,
            "reason": str(report.get("comment") or ""),
            "reporter": reporter,
            "platform_report_id": f"report:{report_id}",
            "platform_rule_ids": rule_ids,
            "category": str(report.get("category") or "other"),
        }
        context = {"platform_report": f"report:{report_id}"}
        snapshots = [self._snapshot(status, author, context) for status in report["statuses"]]
        if not snapshots:
            posted = report.get("created_at")
            snapshots.append(
                ContentSnapshot(
                    platform_content_id=account_content_id(author),
                    url="",  # the profile URL would reveal the account behind the pseudonym
                    text="",
                    language=self._config.language,
                    author=author,
                    posted_at=posted if isinstance(posted, datetime) else self._clock(),
                    jurisdictions=self._config.jurisdictions,
                    context={**context, "subject": "account"},
                )
            )
        return [report_or_triage(snapshot, **common) for snapshot in snapshots]  # type: ignore[arg-type]

    def _snapshot(
        self, status: Mapping[str, Any], author: str, context: dict[str, str]
    ) -> ContentSnapshot:
        media = [str(m.get("url") or "") for m in status.get("media_attachments") or []]
        extra = {"media": " ".join(media)} if media else {}
        posted = status["created_at"]
        return ContentSnapshot(
            platform_content_id=str(status["id"]),
            url=str(status.get("url") or status.get("uri") or ""),
            text=html_to_text(str(status.get("content") or "")),
            language=str(status.get("language") or self._config.language),
            author=author,
            posted_at=posted if isinstance(posted, datetime) else datetime.fromisoformat(posted),
            jurisdictions=self._config.jurisdictions,
            context={**context, **extra},
        )

    # -- decisions out ------------------------------------------------------------------

    def apply(self, decision: Decision) -> AppliedResult:
        """Perform a decision with the admin API; applying it again changes nothing."""
        before = self._ledger.get(decision.id)
        if before is not None:
            return replace(before, actions=(), unchanged=before.actions + before.unchanged)
        done: list[str] = []
        unchanged: list[str] = []
        manual: list[str] = []
        step = decision.sanction
        ends_at: datetime | None = None
        try:
            account = self._pseudonyms.account(decision.author)
            reports = self._open_reports(account, decision.content_id)
            if decision.kind in (DecisionKind.SANCTION_IMPOSED, DecisionKind.INTERIM_IMPOSED):
                if step > SanctionStep.NONE:
                    action = ACTION_FOR[step]
                    if step is SanctionStep.BAN and self._config.ban == "disable":
                        action = "disable"
                    self._act(account, action, decision, reports, done, unchanged)
                    if step is SanctionStep.REMOVE:
                        manual.append(f"delete status {decision.content_id}")
                    if step is SanctionStep.SUSPEND:
                        end = decision.statement.measure_ends_at if decision.statement else None
                        days = timedelta(days=decision.suspension_days or 0)
                        ends_at = end or decision.issued_at + days
            elif decision.kind in (DecisionKind.SANCTION_LIFTED, DecisionKind.INTERIM_LAPSED):
                restored = self._ledger.get(decision.restores) if decision.restores else None
                step = SanctionStep.parse(restored.sanction) if restored else step
                self._undo(account, step, done, unchanged)
                if decision.restores is not None:
                    self._ledger.mark_lifted(decision.restores)
            for report_id in reports:
                if self._api.admin_report(report_id).get("action_taken"):
                    continue  # an action with report_id already resolved it
                self._api.admin_report_resolve(report_id)
                done.append(f"resolve report {report_id}")
        except (MastodonError, ValueError) as error:
            return AppliedResult(decision.id, "failed", tuple(done), reason=str(error))
        result = AppliedResult(
            decision_id=decision.id,
            status="applied",
            actions=tuple(done),
            unchanged=tuple(unchanged),
            subject=decision.author,
            ends_at=ends_at,
            manual=tuple(manual),
            sanction=step.value,
        )
        self._ledger.put(result)
        return result

    def lift_expired(self, now: datetime) -> list[AppliedResult]:
        """Unsuspend accounts whose suspension ran its days (Mastodon has no timed one)."""
        lifted = []
        for due in self._ledger.expiring(now):
            done: list[str] = []
            unchanged: list[str] = []
            self._undo(self._pseudonyms.account(due.subject), SanctionStep.SUSPEND, done, unchanged)
            self._ledger.mark_lifted(due.decision_id)
            lifted.append(replace(due, actions=tuple(done), unchanged=tuple(unchanged)))
        return lifted

    def _open_reports(self, account: str, content_id: str) -> list[str]:
        found = []
        for report in self._api.admin_reports(resolved=False, target_account_id=account):
            status_ids = {str(s["id"]) for s in report.get("statuses") or []}
            if content_id.startswith(ACCOUNT_PREFIX) or content_id in status_ids:
                found.append(str(report["id"]))
        return found

    def _act(
        self,
        account: str,
        action: str,
        decision: Decision,
        reports: list[str],
        done: list[str],
        unchanged: list[str],
    ) -> None:
        flag = UNDO_FOR.get(action, ("", ""))[0]
        if flag and self._api.admin_account(account).get(flag):
            unchanged.append(action)
            return
        self._api.admin_account_moderate(
            account,
            action=action,
            report_id=reports[0] if reports else None,
            text=statement_text(decision),
            send_email_notification=self._config.send_email,
        )
        done.append(action)

    def _undo(
        self, account: str, step: SanctionStep, done: list[str], unchanged: list[str]
    ) -> None:
        if step not in ACTION_FOR or ACTION_FOR[step] == "none":
            return
        action = ACTION_FOR[step]
        if step is SanctionStep.BAN and self._config.ban == "disable":
            action = "disable"
        flag, verb = UNDO_FOR[action]
        if not self._api.admin_account(account).get(flag):
            unchanged.append(verb)
            return
        getattr(self._api, f"admin_account_{verb}")(account)
        done.append(verb)
