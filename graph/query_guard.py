"""What a SPARQL text *is*, read before any evaluation: its form and the remote calls it makes.

The endpoint is read-only and must not let a visitor make the server fetch arbitrary URLs, yet
pyoxigraph would happily run a ``SERVICE <http://…>`` clause (it ships an HTTP client) and has no
hook to veto one.  So the text is tokenised here — comments, IRIs and string literals recognised
exactly as the SPARQL 1.1 grammar does (§19.8), because a ``SERVICE`` inside a string or a
comment is harmless while one outside is not — and:

* the query form is read after the prologue (``BASE``/``PREFIX``): an update operation
  (``INSERT``, ``DELETE``, ``LOAD``, ``CLEAR``…) is refused with :class:`Forbidden`;
* every ``SERVICE`` target is resolved (IRI, prefixed name, or variable) and refused unless it is
  in the allow-list; a variable target is always refused since it could name any URL.

Oxigraph does not pre-process ``\\u`` escapes outside IRIs and strings (checked with 0.5.13), so
neither does this reader; escapes inside a ``SERVICE`` IRI are decoded before the allow-list
comparison, so an escaped spelling of an allowed IRI is still allowed and nothing else is.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Literal

from cooplink.errors import Forbidden
from graph.namespaces import PREFIXES

QueryForm = Literal["select", "ask", "construct", "describe"]

_TOKEN = re.compile(
    r"""
     (?P<ws>\s+)
    |(?P<comment>\#[^\n\r]*)
    |(?P<iri><[^<>"{}|^`\\\x00-\x20]*(?:\\[uU][0-9A-Fa-f]+[^<>"{}|^`\\\x00-\x20]*)*>)
    |(?P<string>\"\"\"(?:[^"\\]|\\.|"(?!""))*\"\"\"
               |'''(?:[^'\\]|\\.|'(?!''))*'''
               |"(?:[^"\\\n\r]|\\.)*"
               |'(?:[^'\\\n\r]|\\.)*')
    |(?P<var>[?$][^\s{}()<>,;.\[\]"'#]*)
    |(?P<word>[^\s{}()<>,;\[\]"'#?$^=!|&*+/@]+)
    |(?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)
_QUERY_FORMS: dict[str, QueryForm] = {
    "SELECT": "select", "ASK": "ask", "CONSTRUCT": "construct", "DESCRIBE": "describe",
}
_UPDATE_KEYWORDS = frozenset(
    {"INSERT", "DELETE", "LOAD", "CLEAR", "CREATE", "DROP", "COPY", "MOVE", "ADD", "WITH"}
)
_ESCAPE = re.compile(r"\\u([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})")


@dataclass(frozen=True)
class Token:
    kind: str  # iri | string | var | word | other
    text: str


@dataclass
class QueryShape:
    """The form of a query and the ``SERVICE`` targets it names (``None`` for a variable)."""

    form: QueryForm | None
    services: list[str | None] = field(default_factory=list)

    @property
    def returns_graph(self) -> bool:
        return self.form in ("construct", "describe")


def tokens(sparql: str) -> Iterator[Token]:
    """Significant tokens of a SPARQL text (whitespace and comments dropped)."""
    for match in _TOKEN.finditer(sparql):
        kind = match.lastgroup or "other"
        if kind in ("ws", "comment"):
            continue
        yield Token(kind, match.group())


def _unescape(text: str) -> str:
    return _ESCAPE.sub(lambda m: chr(int(m.group(1) or m.group(2), 16)), text)


def _expand(pname: str, prefixes: dict[str, str]) -> str | None:
    prefix, sep, local = pname.rstrip(".").partition(":")
    if not sep or prefix not in prefixes:
        return None
    return prefixes[prefix] + local


def shape(sparql: str) -> QueryShape:
    """Read the form and the ``SERVICE`` targets of ``sparql`` (no validation of the rest: the
    parser does that and reports the position of the first error)."""
    toks = list(tokens(sparql))
    prefixes = dict(PREFIXES)  # the endpoint declares these by default, like the CLI
    i = 0
    form: QueryForm | None = None
    # The prologue: BASE <iri> and PREFIX ns: <iri>, in any order.
    while i < len(toks):
        word = toks[i].text.upper() if toks[i].kind == "word" else ""
        if word == "BASE":
            i += 2
        elif word == "PREFIX" and i + 2 < len(toks) and toks[i + 2].kind == "iri":
            prefixes[toks[i + 1].text.rstrip(":")] = _unescape(toks[i + 2].text[1:-1])
            i += 3
        else:
            break
    if i < len(toks) and toks[i].kind == "word":
        first = toks[i].text.upper()
        if first in _UPDATE_KEYWORDS:
            raise Forbidden(
                f"opération de mise à jour refusée ({first}) : "
                "ce point d'accès est en lecture seule"
            )
        form = _QUERY_FORMS.get(first)
    services: list[str | None] = []
    for j, tok in enumerate(toks):
        if tok.kind != "word" or tok.text.upper() != "SERVICE":
            continue
        k = j + 1
        if k < len(toks) and toks[k].kind == "word" and toks[k].text.upper() == "SILENT":
            k += 1
        target = toks[k] if k < len(toks) else None
        if target is None:
            continue  # "SERVICE" as the very last token: a syntax error, left to the parser
        if target.kind == "iri":
            services.append(_unescape(target.text[1:-1]))
        elif target.kind == "word" and ":" in target.text:
            services.append(_expand(target.text, prefixes))
        else:
            services.append(None)
    return QueryShape(form, services)


def check(sparql: str, allowed_services: Iterable[str] = ()) -> QueryShape:
    """:func:`shape`, refusing updates and any ``SERVICE`` target outside ``allowed_services``."""
    result = shape(sparql)
    allowed = set(allowed_services)
    for target in result.services:
        if target is None:
            raise Forbidden(
                "SERVICE vers un point d'accès variable ou inconnu refusé : seuls les points "
                "d'accès autorisés (réglage sparql_allowed_services) peuvent être appelés"
            )
        if target not in allowed:
            raise Forbidden(
                f"SERVICE <{target}> refusé : ce point d'accès distant n'est pas autorisé "
                "(réglage sparql_allowed_services)"
            )
    return result
