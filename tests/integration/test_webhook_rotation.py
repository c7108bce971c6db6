"""Rotating a webhook secret: the new one signs at once, the old one too for a grace period."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from isegoria.cli import app
from isegoria.clock import ManualClock
from isegoria.config import Settings
from isegoria.domain.identity import Scope
from isegoria.integrations import webhooks
from isegoria.people import platforms
from isegoria.security import SecretBox
from isegoria.store.db import Database
from isegoria.unit_of_work import UnitOfWork

runner = CliRunner()
NOW = datetime(2026, 3, 1, tzinfo=UTC)


def test_rotation_replaces_the_secret_that_signs_deliveries(
    tmp_path: Path, database_url: str, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ISEGORIA_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("ISEGORIA_DATABASE_URL", database_url)
    added = runner.invoke(app, ["platforms", "add", "Forum", "--scopes", "reports:write"])
    assert added.exit_code == 0, added.output
    old = re.search(r"webhook secret \(shown once\): (\S+)", added.output)
    assert old is not None
    rotated = runner.invoke(app, ["platforms", "rotate-webhook-secret", "Forum"])
    assert rotated.exit_code == 0, rotated.output
    new = re.search(r"new webhook secret \(shown once\): (\S+)", rotated.output)
    assert new is not None and new.group(1) != old.group(1)
    box = SecretBox(Settings().secret_key)
    uow = UnitOfWork(database)
    with uow.begin(readonly=True):
        stored = platforms.webhook_secret(box, platforms.find_platform(uow, "Forum"))
    assert stored == new.group(1)
    header = webhooks.sign(stored, b"{}", int(NOW.timestamp()))
    assert webhooks.verify_signature(header, b"{}", new.group(1), now=NOW)
    with pytest.raises(webhooks.WebhookVerificationError):
        webhooks.verify_signature(header, b"{}", old.group(1), now=NOW)
    missing = runner.invoke(app, ["platforms", "rotate-webhook-secret", "Nowhere"])
    assert missing.exit_code == 1 and "no platform named 'Nowhere'" in missing.output


def _delivered_signature(secrets: list[str], now: datetime) -> str:
    """Deliver ``{}`` signed with ``secrets`` to a stand-in receiver; return its header."""
    seen: list[str] = []

    def receive(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers[webhooks.SIGNATURE_HEADER])
        return httpx.Response(200)

    current, *previous = secrets
    with httpx.Client(transport=httpx.MockTransport(receive)) as client:
        result = webhooks.deliver_body(
            "https://forum.example/hook",
            current,
            delivery_id="1",
            event="decision.no_action",
            body=b"{}",
            client=client,
            now=now,
            also_signed_with=previous,
        )
    assert result.delivered
    return seen[0]


def test_after_rotation_both_secrets_verify_until_the_grace_period_ends(
    uow: UnitOfWork, clock: ManualClock
) -> None:
    box = SecretBox(b"g" * 32)
    with uow.begin():
        platform, _ = platforms.add_platform(uow, box, name="Forum", scopes=[Scope.REPORTS_WRITE])
        old = platforms.webhook_secret(box, platform)
        assert platforms.webhook_signing_secrets(box, platform, uow.now()) == [old]
        new = platforms.rotate_webhook_secret(uow, box, platform)
        platform_id = platform.id
    rotated_at = clock.now()

    # Within the grace, a receiver holding either secret accepts the delivery.
    clock.set(rotated_at + platforms.WEBHOOK_SECRET_GRACE - timedelta(seconds=1))
    with uow.begin(readonly=True):
        platform = platforms.get_platform(uow, platform_id)
        during = platforms.webhook_signing_secrets(box, platform, uow.now())
    assert during == [new, old]
    header = _delivered_signature(during, clock.now())
    assert header.count("v1=") == 2
    for secret in (new, old):
        assert webhooks.verify_signature(header, b"{}", secret, now=clock.now())

    # From the end of the grace on, only the new secret signs.
    clock.set(rotated_at + platforms.WEBHOOK_SECRET_GRACE)
    with uow.begin(readonly=True):
        platform = platforms.get_platform(uow, platform_id)
        after = platforms.webhook_signing_secrets(box, platform, uow.now())
    assert after == [new]
    header = _delivered_signature(after, clock.now())
    assert header.count("v1=") == 1
    assert webhooks.verify_signature(header, b"{}", new, now=clock.now())
    with pytest.raises(webhooks.WebhookVerificationError, match="does not match"):
        webhooks.verify_signature(header, b"{}", old, now=clock.now())


def test_a_second_rotation_keeps_only_the_secret_it_replaced(
    uow: UnitOfWork, clock: ManualClock
) -> None:
    box = SecretBox(b"g" * 32)
    with uow.begin():
        platform, _ = platforms.add_platform(uow, box, name="Forum", scopes=[Scope.REPORTS_WRITE])
        first = platforms.webhook_secret(box, platform)
        second = platforms.rotate_webhook_secret(uow, box, platform)
        clock.advance(timedelta(hours=1))
        third = platforms.rotate_webhook_secret(uow, box, platform)
        signing = platforms.webhook_signing_secrets(box, platform, uow.now())
    assert signing == [third, second]
    assert first not in signing


def test_the_documented_receiver_accepts_either_secret_during_the_grace() -> None:
    """The copy-and-paste verifier in docs/integrations/webhooks.md handles two ``v1=``."""
    doc = (Path(__file__).parents[2] / "docs/integrations/webhooks.md").read_text()
    section = doc.split("## Verifying a delivery", 1)[1]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    namespace: dict[str, Any] = {}
    exec(code, namespace)  # noqa: S102 - our own documentation, run to keep it true
    now = datetime.now(UTC)
    headers = {
        webhooks.SIGNATURE_HEADER: webhooks.sign("new", b"{}", int(now.timestamp()), also=["old"]),
        webhooks.DELIVERY_HEADER: "7",
    }
    for secret in ("new", "old"):
        assert namespace["verify"](headers, b"{}", secret, set()) == "7"
    with pytest.raises(ValueError, match="bad signature"):
        namespace["verify"](headers, b"{}", "neither", set())
