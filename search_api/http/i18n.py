"""Interface languages of the HTML pages: French by default, English on request.

Every user-visible string of the pages is in a gettext catalog per language,
``locale/{fr,en}/LC_MESSAGES/messages.po`` (compiled to the ``.mo`` beside it by
``make messages``); numbers and amounts are written by Babel with each language's CLDR rules.
Message ids are keys (``"search.title"``), not French sentences: the code builds some of them
(``f"place.{kind}"``, ``f"type.{value}"``), and both languages stay symmetrical — fixing a
French typo does not orphan the English string.

The language comes from ``?lang=en|fr`` (which the pages remember in a cookie) or from that
cookie; it never depends on ``Accept-Language``, so a shared link shows the same page to
everyone. Data labels (themes, countries) come from the graph, not from here: see
:class:`Labels`.
"""

from __future__ import annotations

import functools
import urllib.parse
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from babel import Locale
from babel.numbers import format_currency, format_decimal
from babel.support import Translations
from jinja2 import Environment, pass_context
from jinja2.runtime import Context
from starlette.requests import Request
from starlette.responses import Response

LANGUAGES = ("fr", "en")
DEFAULT_LANGUAGE = "fr"
COOKIE = "lang"
COOKIE_MAX_AGE = 365 * 24 * 3600
LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "messages"


@functools.cache
def catalog(lang: str) -> Translations:
    """The compiled catalog of ``lang`` (read once)."""
    found = Translations.load(str(LOCALE_DIR), [lang], DOMAIN)
    if not isinstance(found, Translations):  # Babel falls back silently to the ids
        raise FileNotFoundError(f"catalogue de traduction absent : {LOCALE_DIR}/{lang} "
                                "(make messages)")
    return found


def choose_language(query_value: str | None, cookie_value: str | None) -> str:
    """``?lang=`` wins over the cookie; anything unknown falls back to French."""
    for value in (query_value, cookie_value):
        if value and value.lower() in LANGUAGES:
            return value.lower()
    return DEFAULT_LANGUAGE


def request_language(request: Request) -> str:
    """The language of a page for this request (``?lang=``, else the cookie, else French)."""
    return choose_language(request.query_params.get("lang"), request.cookies.get(COOKIE))


def toggle_href(request: Request, lang: str, *, keep_query: bool = True) -> str:
    """This page in the other language: the same path and parameters, ``lang`` switched
    (``keep_query=False``: the path alone, for a URL refused as too long)."""
    params = ([(k, v) for k, v in request.query_params.multi_items() if k != "lang"]
              if keep_query else [])
    params.append(("lang", Translator(lang)("lang.other_code")))
    return f"{request.url.path}?{urllib.parse.urlencode(params)}"


def remember_choice(request: Request, response: Response, lang: str) -> None:
    """An explicit ``?lang=`` is kept in a cookie for the next pages."""
    if request.query_params.get("lang") in LANGUAGES:
        response.set_cookie(COOKIE, lang, max_age=COOKIE_MAX_AGE, samesite="lax")


def format_number(n: int, lang: str) -> str:
    """Thousands grouped as each language writes them (« 12 345 » with a narrow no-break space,
    "12,345")."""
    return format_decimal(n, locale=lang)


def format_euros(amount: float, lang: str) -> str:
    """An amount in euros, rounded to the euro, in the language's currency pattern: « 45 000 € »
    (no-break space before the sign) or "€45,000"."""
    return format_currency(round(amount), "EUR", _euro_pattern(lang), locale=lang,
                           currency_digits=False)


@functools.cache
def _euro_pattern(lang: str) -> str:
    """The CLDR currency pattern of ``lang`` without its cents (``#,##0 ¤``, ``¤#,##0``)."""
    return str(Locale.parse(lang).currency_formats["standard"].pattern).replace(".00", "")


def format_years(years: list[int]) -> str:
    """Years as runs: [2014, 2015, 2016, 2019] → « 2014–2016, 2019 »."""
    runs: list[list[int]] = []
    for year in sorted(set(years)):
        if runs and year == runs[-1][-1] + 1:
            runs[-1].append(year)
        else:
            runs.append([year])
    return ", ".join(f"{r[0]}–{r[-1]}" if len(r) > 1 else str(r[0]) for r in runs)


class Translator:
    """The UI strings of one language, for Python code: ``t("results.many", n=3)``."""

    def __init__(self, lang: str) -> None:
        self.lang = lang if lang in LANGUAGES else DEFAULT_LANGUAGE
        self._catalog = catalog(self.lang)

    def __call__(self, key: str, **values: Any) -> str:
        """The string of ``key`` (the key itself when missing: it shows instead of breaking the
        page), its ``%(name)s`` fields filled — always ``%``-formatted, as templates do."""
        return str(self._catalog.gettext(key)) % values

    def knows(self, key: str) -> bool:
        return str(self._catalog.gettext(key)) != key

    def number(self, n: int) -> str:
        return format_number(n, self.lang)

    def euros(self, amount: float) -> str:
        return format_euros(amount, self.lang)


def _language(context: Context) -> str:
    """The template's ``lang`` (French when absent: error and entity pages)."""
    lang = str(context.get("lang") or DEFAULT_LANGUAGE)
    return lang if lang in LANGUAGES else DEFAULT_LANGUAGE


@pass_context
def _gettext(context: Context, message: str) -> str:
    return str(catalog(_language(context)).gettext(message))


@pass_context
def _ngettext(context: Context, singular: str, plural: str, n: int) -> str:
    return str(catalog(_language(context)).ngettext(singular, plural, n))


@pass_context
def _number(context: Context, n: int) -> str:
    return format_number(n, _language(context))


@pass_context
def _euros(context: Context, amount: float) -> str:
    return format_euros(amount, _language(context))


def install(env: Environment) -> None:
    """``_("key", n=…)`` (Jinja's i18n extension, new-style gettext: fields are filled and
    escaped), ``number(n)`` and ``euros(amount)`` in every template of ``env``.

    Not one ``install_gettext_translations(catalog)`` per language: the environment is shared
    by every router and by concurrent requests, so the catalog is chosen per render from the
    template's ``lang`` (Jinja passes the context to a ``pass_context`` gettext)."""
    env.add_extension("jinja2.ext.i18n")
    env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=_gettext, ngettext=_ngettext, newstyle=True)
    env.globals["number"] = _number
    env.globals["euros"] = _euros


#: The graph's labels: language → field (``theme``, ``country``) → value → label.
GraphLabels = Mapping[str, Mapping[str, Mapping[str, str]]]


class Labels:
    """Display labels of filter values in one language: French from the search index's
    vocabularies (themes and countries as the graph labels them), else from the graph's
    ``@fr`` labels (countries without projects); English from the graph's ``@en`` labels; read
    once per served generation by the caller (:meth:`Pages.graph_labels`)."""

    def __init__(self, vocab: Mapping[str, Mapping[str, str]], graph: GraphLabels,
                 lang: str) -> None:
        self.vocab = vocab
        self.graph = graph
        self.lang = lang
        self._t = Translator(lang)

    def label(self, field: str, value: str) -> str:
        """The label of ``value`` in filter ``field`` (the value itself when unknown)."""
        if field == "authority_type":
            return self._t(f"type.{value}") if self._t.knows(f"type.{value}") else value
        if self.lang == "en":
            english = self.graph.get("en", {}).get(field, {}).get(value)
            if english:
                return english
        return (self.vocab.get(field, {}).get(value)
                or self.graph.get("fr", {}).get(field, {}).get(value) or value)

    def country(self, iso2: str) -> str:
        return self.label("country", iso2)

    def theme(self, slug: str) -> str:
        return self.label("theme", slug)

    def authority_type(self, kind: str) -> str:
        return self.label("authority_type", kind)
