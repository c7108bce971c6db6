"""Interface languages: every message of every page is translated, placeholders intact."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from isegoria import i18n

SRC = Path(i18n.__file__).parent
METHODS = [
    ("web/templates/base.html", "jinja2.ext:babel_extract"),
    ("web/templates/home.html", "jinja2.ext:babel_extract"),
    ("web/templates/law/**.html", "jinja2.ext:babel_extract"),
    ("web/templates/cases/**.html", "jinja2.ext:babel_extract"),
    ("web/templates/log.html", "jinja2.ext:babel_extract"),
    ("web/templates/log_entry.html", "jinja2.ext:babel_extract"),
    ("web/templates/login.html", "jinja2.ext:babel_extract"),
    ("web/templates/error.html", "jinja2.ext:babel_extract"),
    ("web/templates/api_docs.html", "jinja2.ext:babel_extract"),
    ("web/templates/reports/**.html", "jinja2.ext:babel_extract"),
    ("web/pages_law.py", "python"),
    ("web/pages_cases.py", "python"),
    ("web/pages_triage.py", "python"),
    ("web/templates/notes/**.html", "jinja2.ext:babel_extract"),
    ("web/pages_notes.py", "python"),
    ("web/report_charts.py", "python"),
    ("web/charts.py", "python"),
    ("web/templates/second_factor.html", "jinja2.ext:babel_extract"),
    ("web/templates/_code_form.html", "jinja2.ext:babel_extract"),
    ("web/templates/recovery_codes.html", "jinja2.ext:babel_extract"),
    ("web/templates/account_security.html", "jinja2.ext:babel_extract"),
    ("web/pages_mfa.py", "python"),
    ("web/templates/me.html", "jinja2.ext:babel_extract"),
    ("web/templates/_portal_words.html", "jinja2.ext:babel_extract"),
    ("web/templates/_field_error.html", "jinja2.ext:babel_extract"),
    ("web/templates/login_needed.html", "jinja2.ext:babel_extract"),
    ("web/forms.py", "python"),
    ("web/pages_portal.py", "python"),
    ("web/proposal_form.py", "python"),
    ("web/templates/staff/**.html", "jinja2.ext:babel_extract"),
    ("web/pages_staff.py", "python"),
    ("web/templates/audit/**.html", "jinja2.ext:babel_extract"),
    ("web/pages_audit.py", "python"),
    ("web/pages_audit_juries.py", "python"),
    ("web/audit_proofs.py", "python"),
    ("web/templates/passkeys.html", "jinja2.ext:babel_extract"),
    ("web/templates/_passkey_form.html", "jinja2.ext:babel_extract"),
    ("web/templates/staff/staff_people.html", "jinja2.ext:babel_extract"),
    ("web/templates/staff/staff_trail.html", "jinja2.ext:babel_extract"),
    ("web/pages_passkeys.py", "python"),
    ("web/pages_staff_people.py", "python"),
    ("web/pages_staff_trail.py", "python"),
    ("web/signin_limits.py", "python"),
]
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


def _source_messages() -> set[str]:
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(SRC), METHODS, keywords={"_": None, "gettext": None, "ngettext": (1, 2)}
    ):
        found.add(message if isinstance(message, str) else message[0])
    return found


@pytest.mark.parametrize("language", ["es", "fr", "de"])
def test_every_interface_message_is_translated(language: str) -> None:
    translated = {}
    for path in i18n.interface_catalogs(language):
        with path.open("rb") as handle:
            catalog = read_po(handle, locale=language)
        for message in catalog:
            if message.id and message.string:
                assert message.id not in translated, f"{message.id!r} twice in {language}"
                translated[message.id] = message.string
    messages = _source_messages()
    assert len(messages) > 100
    missing = sorted(messages - set(translated))
    assert missing == [], f"untranslated in {language}: {missing[:5]}"
    for msgid, text in translated.items():
        assert sorted(PLACEHOLDER.findall(str(msgid))) == sorted(PLACEHOLDER.findall(str(text))), (
            f"{language}: placeholders differ in {msgid!r}"
        )


def test_translations_load_without_a_compile_step() -> None:
    token = i18n.set_language("fr")
    try:
        assert i18n.gettext("The law") == "La loi"
        assert i18n.gettext("Rulebook of %(name)s") % {"name": "MX"} == "Règles de MX"
        assert i18n.gettext("a message nobody translated") == "a message nobody translated"
    finally:
        i18n._current.reset(token)
    assert i18n.gettext("The law") == "The law"


@pytest.mark.parametrize(
    ("cookie", "header", "expected"),
    [
        (None, None, "en"),
        (None, "fr-CH, fr;q=0.9, en;q=0.8", "fr"),
        (None, "en;q=0.5, de;q=0.9", "de"),
        (None, "pt-BR, es;q=0.1", "es"),
        (None, "pt-BR, ja", "en"),
        (None, "de;q=0, es", "es"),
        (None, "de;q=abc, fr", "fr"),
        ("es", "de", "es"),
        ("xx", "de", "de"),
    ],
)
def test_language_negotiation(cookie: str | None, header: str | None, expected: str) -> None:
    assert i18n.negotiate(cookie, header) == expected


def test_the_interface_reads_every_catalog_of_a_language_as_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "es" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    entry = 'msgid "{0}"\nmsgstr "{1}"\n\n'
    (folder / "messages.po").write_text(entry.format("The law", "La ley"))
    (folder / "staff.po").write_text(entry.format("Pipeline", "Flujo"))
    (folder / "reasons.po").write_text(entry.format("Reasons", "Motivos"))
    monkeypatch.setattr(i18n, "LOCALE_DIR", tmp_path)
    i18n.translations.cache_clear()
    try:
        interface = i18n.translations("es")
        assert interface.gettext("The law") == "La ley"
        assert interface.gettext("Pipeline") == "Flujo"
        # The statements of reasons stay a catalog of their own.
        assert interface.gettext("Reasons") == "Reasons"
        assert i18n.translations("es", "reasons").gettext("Reasons") == "Motivos"
    finally:
        i18n.translations.cache_clear()
