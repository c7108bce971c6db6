"""`isegoria demo` says where its mail goes; its citizens' mail lands there in their language."""

from __future__ import annotations

from email import message_from_bytes, policy

import pytest

from isegoria.clock import SystemClock
from isegoria.config import Settings
from isegoria.notifications import delivery, demo
from isegoria.store.db import Database
from tests.support.demo_world import DemoCopy


@pytest.mark.slow
def test_the_demo_mails_its_citizens_into_a_folder_it_names(
    demo_copy: DemoCopy, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = demo_copy.data_dir
    database_url = demo_copy.database_url
    monkeypatch.setenv("ISEGORIA_DATA_DIR", str(data))
    monkeypatch.setenv("ISEGORIA_DATABASE_URL", database_url)
    monkeypatch.delenv("ISEGORIA_SMTP_URL", raising=False)
    output = demo_copy.built.output  # what the suite's demo build printed
    folder = data / "demo-mail"
    assert "demo-mail" in output.replace("\n", "") and ".eml" in output
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
