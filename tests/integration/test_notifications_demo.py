"""`isegoria demo` says where its mail goes; its citizens' mail lands there in their language."""

from __future__ import annotations

from email import message_from_bytes, policy
from pathlib import Path

import pytest
from typer.testing import CliRunner

from isegoria.cli import app
from isegoria.clock import SystemClock
from isegoria.config import Settings
from isegoria.notifications import delivery, demo
from isegoria.store.db import Database

runner = CliRunner()


@pytest.mark.slow
def test_the_demo_mails_its_citizens_into_a_folder_it_names(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "data"
    monkeypatch.setenv("ISEGORIA_DATA_DIR", str(data))
    monkeypatch.setenv("ISEGORIA_DATABASE_URL", database_url)
    monkeypatch.delenv("ISEGORIA_SMTP_URL", raising=False)
    result = runner.invoke(app, ["demo", "--no-serve", "--citizens", "300"])
    assert result.exit_code == 0, result.output
    folder = data / "demo-mail"
    assert "demo-mail" in result.output.replace("\n", "") and ".eml" in result.output
    settings = demo.with_demo_mail(Settings())
    database = Database(database_url)
    total = 0
    try:
        channels = delivery.channels_from(settings)
        while (sent := delivery.deliver_due(database, SystemClock(), channels).sent) > 0:
            total += sent
        assert delivery.deliver_due(database, SystemClock(), channels).sent == 0
    finally:
        database.dispose()
    assert total > 0
    files = sorted(folder.glob("*.eml"))
    assert len(files) == total  # one file per message, a resend would replace its file
    mails = [message_from_bytes(f.read_bytes(), policy=policy.default) for f in files]
    languages = {str(m["Content-Language"]) for m in mails}
    assert "es" in languages
    assert all(str(m["To"]).endswith("@demo.isegoria.invalid") for m in mails)
