"""The page strings: one gettext catalog per language (``search_api/http/locale``), both with
every key the templates use, the same ``%(name)s`` fields, and the committed ``.mo`` compiled
from the ``.po`` beside it; numbers and euros written as each language writes them."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from jinja2.ext import babel_extract

from search_api.http import i18n

TEMPLATES = Path(i18n.__file__).parent / "templates"


def _catalog(lang: str, suffix: str) -> Catalog:
    path = i18n.LOCALE_DIR / lang / "LC_MESSAGES" / f"{i18n.DOMAIN}{suffix}"
    with path.open("rb") as f:
        return read_mo(f) if suffix == ".mo" else read_po(f, locale=lang)


def _messages(catalog: Catalog) -> dict[str, str]:
    return {str(m.id): str(m.string) for m in catalog if m.id}


def test_the_compiled_catalogs_are_up_to_date() -> None:
    for lang in i18n.LANGUAGES:
        source = _catalog(lang, ".po")
        assert not [m.id for m in source if m.fuzzy and m.id], lang
        assert _messages(_catalog(lang, ".mo")) == _messages(source), (
            f"{lang}: messages.mo is older than messages.po — run `make messages`")


def test_both_languages_have_every_string_with_the_same_fields() -> None:
    french, english = (_messages(_catalog(lang, ".po")) for lang in i18n.LANGUAGES)
    assert french.keys() == english.keys()
    for key in french:
        assert french[key] and english[key], key
        # Jinja inserts a catalog string as it is (only its fields are escaped): no markup, and
        # no straight quote that would close the attribute it sits in
        assert not set('<>&"') & set(french[key] + english[key]), key
        fields = [set(re.findall(r"%\((\w+)\)s", text)) for text in (french[key], english[key])]
        assert fields[0] == fields[1], key


def test_every_string_a_template_uses_is_in_the_catalogs() -> None:
    used = set()
    for template in TEMPLATES.glob("*.html"):
        with template.open("rb") as f:
            used |= {message for _, _, message, _ in babel_extract(f, ("_",), [], {})
                     if isinstance(message, str)}
    known = _messages(_catalog("fr", ".po")).keys()
    assert len(used) > 50 and used <= known, sorted(used - known)


def test_strings_numbers_and_amounts_in_each_language() -> None:
    french, english = i18n.Translator("fr"), i18n.Translator("en")
    assert french("search.placeholder").endswith("sahéliens à gérer leurs forages")
    assert english("results.many", n="1,234") == "1,234 cooperations"
    assert french("no.such.key") == "no.such.key"  # a missing string shows its key
    assert french.number(12345) == "12\u202f345" and english.number(12345) == "12,345"
    assert i18n.format_euros(45000.4, "fr") == "45\u202f000\u00a0€"
    assert i18n.format_euros(1234567, "en") == "€1,234,567"
