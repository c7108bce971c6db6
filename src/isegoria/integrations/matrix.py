"""Matrix (Synapse) adapter: reports in through the admin API, decisions out through it.

In: ``poll_reports`` reads Synapse's event reports (and user reports, Synapse >= 1.134) past
a cursor the caller stores, snapshots each reported event (text, sender as a pseudonym,
room, origin_server_ts) and maps the reporter's reason to a rule, or returns a triage item.

Out: ``apply`` performs a ``Decision`` on the homeserver, idempotently: it reads the state
first (already redacted, already suspended) and remembers what it did in a ledger, so a
repeated delivery changes nothing. Ladder steps map to Synapse as follows (docs/integrations/
matrix.md): note -> a reply from the admin account quoting the note; reduce_reach ->
shadow-ban (Matrix has no per-event demotion); remove -> redaction; suspend -> redaction
and account suspension; ban -> redaction and deactivation (or lock). Lifted sanctions undo
what can be undone; a redaction cannot be, and the result says so.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Literal

from isegoria.domain.content import ContentSnapshot, ReportRequest
from isegoria.domain.decisions import Decision, DecisionKind
from isegoria.domain.sanctions import SanctionStep
from isegoria.integrations.matrix_client import REPORTS_PAGE, SynapseAdmin, SynapseError
from isegoria.integrations.matrix_ledger import AppliedLedger, MemoryLedger
from isegoria.integrations.matrix_mapping import (
    ACCOUNT_PREFIX,
    AppliedResult,
    Pseudonyms,
    TriageItem,
    account_content_id,
    report_or_triage,
    statement_text,
)
from isegoria.integrations.matrix_snapshot import (
    MatrixConfig,
    MatrixCursor,
    Polled,
    instant,
    snapshot_of_event,
)

__all__ = ["MatrixAdapter", "MatrixConfig", "MatrixCursor", "Polled", "snapshot_of_event"]

#: Stop paging after this many pages in one poll; the next poll continues from the cursor.
MAX_PAGES_PER_POLL = 50
UNDO_KINDS = (DecisionKind.SANCTION_LIFTED, DecisionKind.INTERIM_LAPSED)
RESTRICT_KINDS = (DecisionKind.SANCTION_IMPOSED, DecisionKind.INTERIM_IMPOSED)


class MatrixAdapter:
    """Connects one Synapse homeserver to isegoria."""

    def __init__(
        self,
        admin: SynapseAdmin,
        config: MatrixConfig,
        pseudonyms: Pseudonyms,
        ledger: AppliedLedger | None = None,
    ) -> None:
        self._admin = admin
        self._config = config
        self._pseudonyms = pseudonyms
        self._ledger: AppliedLedger = ledger if ledger is not None else MemoryLedger()
        self._rooms_joined: set[str] = set()

    # -- reports in ---------------------------------------------------------------------

    def poll_reports(self, cursor: MatrixCursor = MatrixCursor()) -> Polled:  # noqa: B008
        """Reports newer than ``cursor``, oldest first, and the cursor past them."""
        items: list[ReportRequest | TriageItem] = []
        event_ids = self._new_ids(self._admin.event_reports, "event_reports", cursor.event_reports)
        for report_id in event_ids:
            items.append(self._from_event_report(self._admin.event_report(report_id)))
        user_rows: list[dict[str, Any]] = []
        if self._config.user_reports:
            user_rows = self._new_rows(
                self._admin.user_reports, "user_reports", cursor.user_reports
            )
            items.extend(self._from_user_report(row) for row in user_rows)
        return Polled(
            tuple(items),
            MatrixCursor(
                max([cursor.event_reports, *event_ids]),
                max([cursor.user_reports, *(int(r["id"]) for r in user_rows)]),
            ),
        )

    def _new_ids(self, page: Callable[[int, int], Any], key: str, after: int) -> list[int]:
        return [int(row["id"]) for row in self._new_rows(page, key, after)]

    def _new_rows(
        self, page: Callable[[int, int], Any], key: str, after: int
    ) -> list[dict[str, Any]]:
        # Pages come newest first (the API's default direction); reports can be deleted by
        # admins, so offsets shift: stop at the first id already handled, not at an offset.
        rows: list[dict[str, Any]] = []
        start = 0
        for _ in range(MAX_PAGES_PER_POLL):
            reply = page(start, REPORTS_PAGE)
            if reply is None:
                break
            batch = [row for row in reply.get(key, []) if isinstance(row, dict)]
            rows.extend(row for row in batch if int(row["id"]) > after)
            if any(int(row["id"]) <= after for row in batch) or "next_token" not in reply:
                break
            start = int(reply["next_token"])
        return sorted(rows, key=lambda row: int(row["id"]))

    def _from_event_report(self, report: Mapping[str, Any]) -> ReportRequest | TriageItem:
        event = dict(report.get("event_json") or {})
        event.setdefault("event_id", report["event_id"])
        event.setdefault("room_id", report["room_id"])
        event.setdefault("sender", report["sender"])
        snapshot = snapshot_of_event(
            event,
            pseudonyms=self._pseudonyms,
            config=self._config,
            room_name=report.get("name"),
            extra_context={"platform_report": f"event_report:{report['id']}"},
        )
        return report_or_triage(
            snapshot,
            mapping=self._config.rules,
            reason=str(report.get("reason") or ""),
            reporter=self._pseudonyms.of(str(report["user_id"])),
            platform_report_id=f"event_report:{report['id']}",
        )

    def _from_user_report(self, report: Mapping[str, Any]) -> ReportRequest | TriageItem:
        author = self._pseudonyms.of(str(report["target_user_id"]))
        snapshot = ContentSnapshot(
            platform_content_id=account_content_id(author),
            url="",  # a matrix.to link would reveal the user id behind the pseudonym
            text="",
            language=self._config.language,
            author=author,
            posted_at=instant(report["received_ts"]),  # the account as it was when reported
            jurisdictions=self._config.jurisdictions,
            context={"subject": "account", "platform_report": f"user_report:{report['id']}"},
        )
        return report_or_triage(
            snapshot,
            mapping=self._config.rules,
            reason=str(report.get("reason") or ""),
            reporter=self._pseudonyms.of(str(report["user_id"])),
            platform_report_id=f"user_report:{report['id']}",
        )

    # -- decisions out ------------------------------------------------------------------

    def apply(self, decision: Decision) -> AppliedResult:
        """Perform a decision on the homeserver; applying it again changes nothing."""
        before = self._ledger.get(decision.id)
        if before is not None:
            return replace(before, actions=(), unchanged=before.actions + before.unchanged)
        run = _Run(decision)
        try:
            self._perform(decision, run)
        except (SynapseError, ValueError) as error:
            return run.result("failed", reason=str(error))
        result = run.result("applied")
        self._ledger.put(result)
        return result

    def lift_expired(self, now: datetime) -> list[AppliedResult]:
        """Unsuspend accounts whose suspension has run its days (Synapse has no timer)."""
        lifted: list[AppliedResult] = []
        for due in self._ledger.expiring(now):
            user = self._pseudonyms.account(due.subject)
            run = _Run(None)
            try:
                self._set(run, user, "suspended", False)
                self._notify(run, user, f"isegoria-expiry-{due.decision_id}", _EXPIRED)
            except SynapseError as error:
                lifted.append(replace(due, status="failed", reason=str(error), actions=()))
                continue
            self._ledger.mark_lifted(due.decision_id)
            lifted.append(replace(due, actions=tuple(run.actions), unchanged=tuple(run.unchanged)))
        return lifted

    def _perform(self, decision: Decision, run: _Run) -> None:
        event, user = self._subject(decision)
        kind = decision.kind
        if kind is DecisionKind.NOTE_SHOWN:
            self._post_note(run, decision, event)
        elif kind is DecisionKind.NOTE_HIDDEN:
            self._remove_note(run, decision)
        elif kind in RESTRICT_KINDS and decision.sanction > SanctionStep.NONE:
            run.sanction = decision.sanction
            self._notify(run, user, f"isegoria-{decision.id}", statement_text(decision))
            self._restrict(run, decision, event, user)
        elif kind in UNDO_KINDS:
            self._undo(run, decision, event, user)
            self._notify(run, user, f"isegoria-{decision.id}", statement_text(decision))

    def _subject(self, decision: Decision) -> tuple[dict[str, Any] | None, str]:
        user = self._pseudonyms.account(decision.author)
        if decision.content_id.startswith(ACCOUNT_PREFIX):
            return None, user
        event = self._admin.fetch_event(decision.content_id)
        if event is None:
            raise ValueError(f"the homeserver does not know event {decision.content_id}")
        if event.get("sender") != user:
            raise ValueError(
                f"event {decision.content_id} was not sent by the decision's author; "
                "the decision names the wrong content or the wrong pseudonym"
            )
        return event, user

    def _restrict(
        self, run: _Run, decision: Decision, event: dict[str, Any] | None, user: str
    ) -> None:
        step = decision.sanction
        if step is SanctionStep.NOTE:
            self._post_note(run, decision, event)
        elif step is SanctionStep.REDUCE_REACH and self._config.reduce_reach == "shadow_ban":
            self._set(run, user, "shadow_banned", True)
        if step >= SanctionStep.REMOVE and event is not None:
            self._redact(run, decision, event)
        if step is SanctionStep.SUSPEND:
            self._set(run, user, "suspended", True)
            days = decision.suspension_days or 0
            ends = decision.statement.measure_ends_at if decision.statement else None
            run.ends_at = ends or decision.issued_at + timedelta(days=days)
        elif step is SanctionStep.BAN:
            flag = "deactivated" if self._config.ban == "deactivate" else "locked"
            self._set(run, user, flag, True)

    def _undo(self, run: _Run, decision: Decision, event: dict[str, Any] | None, user: str) -> None:
        restored = self._ledger.get(decision.restores) if decision.restores else None
        step = SanctionStep.parse(restored.sanction) if restored else decision.sanction
        run.sanction = step
        if step is SanctionStep.NOTE and restored is not None:
            self._remove_note(run, decision)
        elif step is SanctionStep.REDUCE_REACH and self._config.reduce_reach == "shadow_ban":
            self._set(run, user, "shadow_banned", False)
        elif step is SanctionStep.SUSPEND:
            self._set(run, user, "suspended", False)
        elif step is SanctionStep.BAN:
            flag = "deactivated" if self._config.ban == "deactivate" else "locked"
            self._set(run, user, flag, False)
        if step >= SanctionStep.REMOVE and event is not None:
            # Matrix redaction strips the event's content for good (spec, "Redactions").
            run.irreversible.append(f"redaction of {event['event_id']}")
        if decision.restores is not None:
            self._ledger.mark_lifted(decision.restores)

    def _join(self, room_id: str) -> None:
        if room_id in self._rooms_joined:
            return
        # The admin may be in the room with power already (an earlier decision): joining
        # again is a no-op. Otherwise the Synapse admin API's make_room_admin raises it to the
        # room's admin level (acting as a local room admin, who must not be suspended yet:
        # hence redaction comes before suspension) and invites it, and then it joins.
        try:
            self._admin.join(room_id)
        except SynapseError:
            self._admin.make_room_admin(room_id)
            self._admin.join(room_id)
        self._rooms_joined.add(room_id)

    def _redact(self, run: _Run, decision: Decision, event: Mapping[str, Any]) -> None:
        room_id, event_id = str(event["room_id"]), str(event["event_id"])
        self._join(room_id)
        seen = self._admin.room_event(room_id, event_id)
        label = f"redact {event_id}"
        if "redacted_because" in seen or "redacted_because" in (seen.get("unsigned") or {}):
            run.unchanged.append(label)
            return
        reason = (
            f"isegoria decision {decision.id}: {decision.statement_url or decision.sanction.label}"
        )
        self._admin.redact(room_id, event_id, f"isegoria-redact-{decision.id}", reason)
        run.actions.append(label)

    def _set(self, run: _Run, user: str, flag: str, value: bool) -> None:
        label = f"{'set' if value else 'clear'} {flag}"
        if bool(self._admin.user(user).get(flag)) == value:
            run.unchanged.append(label)
            return
        if flag == "suspended":
            self._admin.set_suspended(user, value)
        elif flag == "shadow_banned":
            self._admin.set_shadow_banned(user, value)
        else:
            self._admin.set_user_flag(user, flag, value)
        run.actions.append(label)

    def _notify(self, run: _Run, user: str, txn_id: str, text: str) -> None:
        if self._config.notify == "none" or not text:
            return
        content = {"msgtype": "m.text", "body": text}
        run.created["notice"] = self._admin.server_notice(user, txn_id, content)
        run.actions.append("notify")

    def _post_note(self, run: _Run, decision: Decision, event: Mapping[str, Any] | None) -> None:
        if event is None or not decision.note_text:
            run.unchanged.append("note (no event or no note text)")
            return
        room_id, event_id = str(event["room_id"]), str(event["event_id"])
        self._join(room_id)
        content = {
            "msgtype": "m.notice",
            "body": f"Context note (isegoria): {decision.note_text}",
            "m.relates_to": {"m.in_reply_to": {"event_id": event_id}},
        }
        run.created["note"] = self._admin.send_notice(
            room_id, f"isegoria-note-{decision.id}", content
        )
        run.created["room"] = room_id
        run.actions.append(f"note on {event_id}")

    def _remove_note(self, run: _Run, decision: Decision) -> None:
        shown = self._ledger.get(decision.restores) if decision.restores else None
        if shown is None or "note" not in shown.created:
            run.unchanged.append("no note to hide")
            return
        note = {"room_id": shown.created["room"], "event_id": shown.created["note"]}
        self._redact(run, decision, note)


_EXPIRED = "Your suspension has ended; you can post again."


@dataclass
class _Run:
    """What one ``apply`` call did so far (for a partial failure too)."""

    decision: Decision | None
    actions: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    irreversible: list[str] = field(default_factory=list)
    created: dict[str, str] = field(default_factory=dict)
    sanction: SanctionStep = SanctionStep.NONE
    ends_at: datetime | None = None

    def result(self, status: Literal["applied", "failed"], *, reason: str = "") -> AppliedResult:
        """The confirmation for the caller."""
        decision = self.decision
        return AppliedResult(
            decision_id=decision.id if decision else 0,
            status=status,
            actions=tuple(self.actions),
            unchanged=tuple(self.unchanged),
            irreversible=tuple(self.irreversible),
            reason=reason,
            subject=decision.author if decision else "",
            ends_at=self.ends_at,
            created=dict(self.created),
            sanction=self.sanction.value,
        )
