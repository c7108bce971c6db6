"""The Mastodon adapter against the stand-in built from Mastodon's documented API."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from isegoria.domain.content import ReportRequest
from isegoria.domain.decisions import Decision, DecisionKind
from isegoria.domain.sanctions import SanctionStep
from isegoria.integrations.mastodon import (
    MastodonAdapter,
    MastodonConfig,
    WebhookError,
    mastodon_client,
)
from isegoria.integrations.matrix_mapping import Pseudonyms, RuleMapping, TriageItem
from tests.support.mastodon_standin import Standin, running_standin

SECRET = "webhook-secret-from-the-admin-ui"
_ids = itertools.count(5000)


@pytest.fixture
def standin() -> Iterator[Standin]:
    with running_standin() as server:
        yield server


@pytest.fixture
def adapter(standin: Standin) -> MastodonAdapter:
    harass = standin.add_rule("No harassment")
    standin.add_rule("No spam")
    config = MastodonConfig(
        rules=RuleMapping(platform_rules={harass: "intl-1"}, categories={"spam": "intl-4"}),
        jurisdictions=("intl", "ES"),
        webhook_secret=SECRET,
    )
    api = mastodon_client(standin.url, standin.token, allow_private=True)  # on loopback
    return MastodonAdapter(api, config, Pseudonyms(os.urandom(64), platform="mastodon"))


def _world(standin: Standin) -> tuple[str, str, str]:
    author, reporter = standin.add_account("autor"), standin.add_account("denunciante")
    status = standin.post(author, "<p>Te voy a buscar &amp; encontrar</p><p>ya verás</p>")
    return author, reporter, status


def _decision(
    request: ReportRequest, kind: DecisionKind, step: SanctionStep, **extra: Any
) -> Decision:
    return Decision(
        id=next(_ids), kind=kind, platform_id=2, case_id=9,
        content_id=request.snapshot.platform_content_id, content_url=request.snapshot.url,
        author=request.snapshot.author, sanction=step,
        suspension_days=3 if step is SanctionStep.SUSPEND else None,
        issued_at=datetime.now(UTC), sequence=1, statement_url="https://isegoria.test/s/9",
        **extra,
    )  # fmt: skip


def test_webhook_is_verified_and_the_report_mapped(
    standin: Standin, adapter: MastodonAdapter
) -> None:
    author, reporter, status = _world(standin)
    other = standin.post(author, "<p>second</p>")
    report = standin.report(reporter, author, status_ids=(status, other), rule_ids=("1",))
    body, headers = standin.webhook("report.created", report, SECRET)
    items = adapter.report_from_webhook(body, headers)
    assert [i.snapshot.platform_content_id for i in items] == [status, other]
    first = items[0]
    assert isinstance(first, ReportRequest) and first.rule_id == "intl-1"
    assert first.snapshot.text == "Te voy a buscar & encontrar\n\nya verás"
    assert first.snapshot.language == "es" and first.snapshot.url.endswith(status)
    assert first.snapshot.author.startswith("mastodon:") and author not in first.snapshot.author

    with pytest.raises(WebhookError, match="replayed"):
        adapter.report_from_webhook(body, headers)
    forged = body.replace(b"Te voy", b"Le voy")
    with pytest.raises(WebhookError, match="signature"):
        adapter.report_from_webhook(forged, headers)
    with pytest.raises(WebhookError, match="header"):
        adapter.report_from_webhook(body, {})


def test_stale_webhook_is_refused(standin: Standin, adapter: MastodonAdapter) -> None:
    author, reporter, status = _world(standin)
    report = standin.report(reporter, author, status_ids=(status,), category="spam")
    body, headers = standin.webhook("report.created", report, SECRET)
    payload = json.loads(body)
    payload["created_at"] = (datetime.now(UTC) - timedelta(hours=2)).isoformat()
    old = json.dumps(payload).encode()
    signed = {
        "X-Hub-Signature": "sha256=" + hmac.new(SECRET.encode(), old, hashlib.sha256).hexdigest()
    }
    with pytest.raises(WebhookError, match="stale"):
        adapter.report_from_webhook(old, signed)
    (fresh,) = adapter.report_from_webhook(body, headers)
    assert isinstance(fresh, ReportRequest) and fresh.rule_id == "intl-4"  # by category


def test_account_report_without_statuses_and_triage(
    standin: Standin, adapter: MastodonAdapter
) -> None:
    author, reporter, _ = _world(standin)
    report = standin.report(reporter, author, comment="no me gusta")
    (item,) = adapter.reports_for(report)
    assert isinstance(item, TriageItem) and item.snapshot.context["subject"] == "account"
    assert item.snapshot.platform_content_id == "account:" + item.snapshot.author


@pytest.mark.parametrize(
    ("step", "expected"),
    [
        (SanctionStep.NOTE, ["none"]),
        (SanctionStep.REDUCE_REACH, ["silence"]),
        (SanctionStep.REMOVE, ["sensitive"]),
        (SanctionStep.SUSPEND, ["suspend"]),
        (SanctionStep.BAN, ["suspend"]),
    ],
)
def test_each_step_maps_to_its_action_and_undoes(
    standin: Standin, adapter: MastodonAdapter, step: SanctionStep, expected: list[str]
) -> None:
    author, reporter, status = _world(standin)
    report = standin.report(reporter, author, status_ids=(status,), rule_ids=("1",))
    (request,) = adapter.reports_for(report)
    assert isinstance(request, ReportRequest)
    imposed = _decision(request, DecisionKind.SANCTION_IMPOSED, step)
    result = adapter.apply(imposed)
    assert result.ok, result.reason
    assert [kind for kind, _ in standin.moderation()] == expected
    action = standin.actions[0]
    assert action["report_id"] == report and action["type"] == expected[0]
    assert "isegoria.test/s/9" in action["text"]
    assert standin.reports[report]["action_taken"] is True
    assert adapter.apply(imposed).actions == ()  # idempotent
    assert len(standin.actions) == 1
    if step is SanctionStep.REMOVE:
        assert result.manual == (f"delete status {status}",)
    if step is SanctionStep.SUSPEND:
        assert result.ends_at == imposed.issued_at + timedelta(days=3)

    lifted = _decision(request, DecisionKind.SANCTION_LIFTED, step, restores=imposed.id)
    undo = adapter.apply(lifted)
    assert undo.ok
    undo_verb = {"silence": "unsilence", "sensitive": "unsensitive", "suspend": "unsuspend"}
    assert [k for k, _ in standin.moderation()[1:]] == (
        [undo_verb[expected[0]]] if expected[0] in undo_verb else []
    )
    flags = standin.admin_account(author)
    assert not (flags["suspended"] or flags["silenced"] or flags["sensitized"])


def test_suspension_is_lifted_after_its_days(standin: Standin, adapter: MastodonAdapter) -> None:
    author, reporter, status = _world(standin)
    report = standin.report(reporter, author, status_ids=(status,), rule_ids=("1",))
    (request,) = adapter.reports_for(report)
    assert isinstance(request, ReportRequest)
    imposed = _decision(request, DecisionKind.SANCTION_IMPOSED, SanctionStep.SUSPEND)
    adapter.apply(imposed)
    assert adapter.lift_expired(imposed.issued_at + timedelta(days=2)) == []
    (lifted,) = adapter.lift_expired(imposed.issued_at + timedelta(days=3, seconds=1))
    assert lifted.actions == ("unsuspend",)
    assert standin.admin_account(author)["suspended"] is False
    assert adapter.lift_expired(imposed.issued_at + timedelta(days=9)) == []
