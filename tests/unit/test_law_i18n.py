"""Interface languages: every message of every page is translated, placeholders intact."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from isegoria import i18n
from tests.support.error_sources import translation_keywords

SRC = Path(i18n.__file__).parent
#: The statements of reasons: their sentences live in ``reasons.po``, not the interface's.
REASONS_MODULES = ["cases/reasons.py", "cases/reasons_text.py"]
#: Every template and every Python module: a new page or module is covered without a list.
METHODS = [
    *((module, "ignore") for module in REASONS_MODULES),
    ("**/templates/**.html", "jinja2.ext:babel_extract"),
    ("**.py", "python"),
]
REASONS_METHODS = [(module, "python") for module in REASONS_MODULES]
#: The pages' words, and the errors' messages: an error class's first argument is one.
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), **translation_keywords()}
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")
LANGUAGES = ["es", "fr", "de"]
#: The placeholders ngettext fills with the count itself.
COUNTS = {"n", "num", "count"}


def _source_messages(methods: list[tuple[str, str]]) -> dict[str, str]:
    """Each message the source marks for translation, with the first place it is used."""
    found: dict[str, str] = {}
    for file, line, message, _comments, _context in extract_from_dir(
        str(SRC), methods, keywords=KEYWORDS
    ):
        found.setdefault(message if isinstance(message, str) else message[0], f"{file}:{line}")
    return found


def _read(path: Path, language: str) -> Catalog:
    with path.open("rb") as handle:
        return read_po(handle, locale=language)


def _unfinished(catalog: Catalog, name: str) -> list[str]:
    """Entries a reader would meet in English or half-translated: empty or fuzzy."""
    bad = []
    for message in catalog:
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.fuzzy or not all(strings):
            bad.append(f"{name}: {message.id!r}{' (fuzzy)' if message.fuzzy else ''}")
    bad += [f"{name}: obsolete {key!r}" for key in catalog.obsolete]
    return bad


def _key(message_id: str | tuple[str, ...]) -> str:
    return message_id if isinstance(message_id, str) else message_id[0]


@pytest.fixture(scope="module")
def interface_messages() -> dict[str, str]:
    """The interface's messages: every template and every module but the reasons'."""
    return _source_messages(METHODS)


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_interface_message_is_translated(
    language: str, interface_messages: dict[str, str]
) -> None:
    translated: dict[str, str] = {}
    unfinished: list[str] = []
    for path in i18n.interface_catalogs(language):
        catalog = _read(path, language)
        unfinished += _unfinished(catalog, f"{language}/{path.name}")
        for message in catalog:
            if message.id:
                key = _key(message.id)
                assert key not in translated, f"{key!r} twice in the {language} catalogs"
                translated[key] = str(message.string)
    assert len(interface_messages) > 500
    assert unfinished == [], f"untranslated, fuzzy or obsolete: {unfinished[:10]}"
    missing = [f"{m!r} ({where})" for m, where in interface_messages.items() if m not in translated]
    assert missing == [], f"untranslated in {language}: {missing[:10]}"
    unused = sorted(set(translated) - set(interface_messages))
    assert unused == [], f"{language}: catalog entries no source uses: {unused[:10]}"
    for path in i18n.interface_catalogs(language):
        _same_placeholders(_read(path, language), language)


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_sentence_of_a_statement_of_reasons_is_translated(language: str) -> None:
    sentences = _source_messages(REASONS_METHODS)
    catalog = _read(SRC / "locale" / language / "LC_MESSAGES" / "reasons.po", language)
    assert len(sentences) > 40
    assert _unfinished(catalog, f"{language}/reasons.po") == []
    translated = {_key(m.id) for m in catalog if m.id}
    assert sorted(set(sentences) - translated) == []
    assert sorted(translated - set(sentences)) == []
    _same_placeholders(catalog, language)


def _same_placeholders(catalog: Catalog, language: str) -> None:
    for message in catalog:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        wanted = set(PLACEHOLDER.findall(" ".join(ids)))
        # A plural form may write its count in words ("once"); it keeps every other value.
        needed = wanted - COUNTS if len(ids) > 1 else wanted
        for text in strings:
            found = set(PLACEHOLDER.findall(str(text)))
            assert needed <= found <= wanted, f"{language}: placeholders differ in {message.id!r}"


def test_the_check_finds_fuzzy_empty_and_obsolete_entries() -> None:
    po = (
        'msgid ""\nmsgstr ""\n"Language: es\\n"\n\n'
        'msgid "Done"\nmsgstr "Hecho"\n\n'
        '#, fuzzy\nmsgid "Case"\nmsgstr "Caso"\n\n'
        'msgid "Rule"\nmsgstr ""\n\n'
        '#~ msgid "Old"\n#~ msgstr "Viejo"\n'
    )
    catalog = read_po(io.BytesIO(po.encode()), locale="es")
    assert _unfinished(catalog, "x") == ["x: 'Case' (fuzzy)", "x: 'Rule'", "x: obsolete 'Old'"]


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
