"""Notification pieces without a database: words in four languages, tokens, SMTP settings."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from isegoria import i18n
from isegoria.errors import InvalidInput
from isegoria.notifications import mail, messages, tokens

SRC = Path(i18n.__file__).parent
METHODS = [
    ("notifications/**.py", "python"),
    ("web/templates/notifications/**.html", "jinja2.ext:babel_extract"),
    ("web/templates/base.html", "jinja2.ext:babel_extract"),
]
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")
DEADLINE = datetime(2026, 3, 5, 17, 30, tzinfo=UTC)


def _messages() -> set[str]:
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(SRC), METHODS, keywords={"_": None, "gettext": None, "ngettext": (1, 2)}
    ):
        found.add(message if isinstance(message, str) else message[0])
    return found


@pytest.mark.parametrize("language", ["es", "fr", "de"])
def test_every_notification_message_is_translated_without_fuzzy_entries(language: str) -> None:
    translated = {}
    for path in i18n.interface_catalogs(language):
        with path.open("rb") as handle:
            catalog = read_po(handle, locale=language)
        translated.update(
            {
                (m.id if isinstance(m.id, str) else m.id[0]): m
                for m in catalog
                if m.id and (m.string if isinstance(m.string, str) else all(m.string))
            }
        )
    wanted = _messages()
    assert len(wanted) > 40
    missing = sorted(wanted - set(translated))
    assert missing == [], f"untranslated in {language}: {missing[:5]}"
    for msgid in wanted:
        entry = translated[msgid]
        assert not entry.fuzzy, f"{language}: fuzzy {msgid!r}"
        strings = [entry.string] if isinstance(entry.string, str) else list(entry.string)
        for text in strings:
            assert sorted(set(PLACEHOLDER.findall(msgid))) == sorted(
                set(PLACEHOLDER.findall(text))
            ), f"{language}: placeholders differ in {msgid!r}"


@pytest.mark.parametrize(
    ("language", "subject", "date_part"),
    [
        ("en", "You are summoned to a citizen jury (case 12)", "March 5, 2026"),
        ("es", "Has sido convocado a un jurado ciudadano (caso 12)", "5 de marzo de 2026"),
        ("fr", "Vous êtes convoqué à un jury citoyen (affaire 12)", "5 mars 2026"),
        ("de", "Sie sind zu einer Bürgerjury geladen (Fall 12)", "5. März 2026"),
    ],
)
def test_a_summons_reads_in_the_readers_language_with_a_babel_date(
    language: str, subject: str, date_part: str
) -> None:
    words = messages.render(
        "jury_summons", {"case": 12, "deadline": DEADLINE.isoformat()}, language
    )
    assert words.subject == subject
    assert date_part in words.body
    assert "2026-03-05" not in words.body  # no ISO timestamp for people


def test_every_kind_renders_in_every_language() -> None:
    facts = {"case": 3, "proposal": 4, "jurisdiction": "MX", "deadline": DEADLINE.isoformat()}
    for kind in messages.Kind:
        for language in i18n.LANGUAGES:
            words = messages.render(kind, facts, language)
            assert words.subject and words.body and "%(" not in words.body


def test_an_unsubscribe_token_names_one_account_and_channel_and_cannot_be_forged() -> None:
    secret = b"k" * 32
    token = tokens.unsubscribe_token(secret, 42, "email")
    assert tokens.read_token(secret, token) == (42, "email")
    assert tokens.read_token(b"x" * 32, token) is None
    account, channel, signature = token.split(".")
    assert tokens.read_token(secret, f"43.{channel}.{signature}") is None
    assert tokens.read_token(secret, f"{account}.matrix.{signature}") is None
    for junk in ("", "a.b", "1.email.", "x.email.abc", "1.email.abc.def", "1" * 300):
        assert tokens.read_token(secret, junk) is None


def test_smtp_settings_come_from_one_url() -> None:
    assert mail.smtp_settings("", "a@b.example") is None
    assert mail.smtp_settings("smtp://localhost", "") is None
    plain = mail.smtp_settings("smtp://mail.example", "Notices <n@isegoria.example>")
    assert plain is not None and (plain.host, plain.port, plain.starttls) == (
        "mail.example",
        25,
        False,
    )
    assert plain.domain == "isegoria.example"
    full = mail.smtp_settings("smtp://u%40x:p%3Aw@mail.example:587?starttls=true", "n@i.example")
    assert full is not None
    assert (full.username, full.password, full.port, full.starttls) == ("u@x", "p:w", 587, True)
    tls = mail.smtp_settings("smtps://mail.example", "n@i.example")
    assert tls is not None and tls.tls and tls.port == 465
    with pytest.raises(InvalidInput):
        mail.smtp_settings("http://mail.example", "n@i.example")
    assert mail.message_id(full, 7) == mail.message_id(full, 7) == "<notification-7@i.example>"
