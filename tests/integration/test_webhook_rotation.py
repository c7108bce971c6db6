"""`isegoria platforms rotate-webhook-secret`: deliveries are signed with the new secret only."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from isegoria.cli import app
from isegoria.config import Settings
from isegoria.integrations import webhooks
from isegoria.security import SecretBox
from isegoria.services import platforms
from isegoria.store.db import Database
from isegoria.store.uow import UnitOfWork

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
