"""What a SPARQL text may do at this endpoint, decided before evaluation (issue 8).

The endpoint is public and read-only, and must not let a visitor make the server fetch
arbitrary URLs, yet pyoxigraph runs ``SERVICE <http://…>`` with its own HTTP client and has no
hook to veto a call.  Three layers, so that no spelling gets through:

1. :func:`check` (in the server, before a worker is used): the size and nesting bounds, the
   query form (an update gets 403), and every ``SERVICE`` the linear lexer of
   :mod:`graph._sparql_lexer` sees.  It is O(length) on a query already bounded in size, and
   conservative: any name outside strings, comments and IRIs whose prefix part contains
   ``service`` counts, since Oxigraph parses keywords glued to what precedes them
   (``1SERVICE <…>``, ``trueSERVICE <…>``, ``service:x`` with a ``:`` prefix).
2. :func:`verify_parsed` (in the worker, within the query's time limit): the query is parsed by
   a real SPARQL parser (rdflib's), translated to its algebra, and every ``Service`` node of
   the algebra — inside ``OPTIONAL``, ``FILTER EXISTS``, sub-queries, ``UNION``, ``MINUS``,
   ``GRAPH``, ``ORDER BY`` expressions… — must name an allowed endpoint.  Oxigraph reads the
   ``SERVICE`` keyword only where the letters s-e-r-v-i-c-e stand in the text (it does not
   pre-process ``\\u`` escapes outside IRIs and strings), so a query without them is not parsed.
3. :mod:`graph._sandbox` (in the worker, at the system level): with no allowed endpoint the
   worker cannot open an IP socket at all.

A ``SERVICE`` target is compared with the allow-list after resolving escapes, prefixes and the
base IRI; a variable target is always refused since it could name any URL.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urljoin

from graph import _sparql_lexer as lex
from graph.errors import BadRequest, CooplinkError, Forbidden
from graph.namespaces import PREFIXES

QueryForm = Literal["select", "ask", "construct", "describe"]

_QUERY_FORMS: dict[str, QueryForm] = {
    "SELECT": "select", "ASK": "ask", "CONSTRUCT": "construct", "DESCRIBE": "describe",
}
_UPDATE_KEYWORDS = frozenset(
    {"INSERT", "DELETE", "LOAD", "CLEAR", "CREATE", "DROP", "COPY", "MOVE", "ADD", "WITH"}
)
#: the SERVICE keyword as Oxigraph matches it (ASCII letters, any case); a fixed-length
#: pattern, so the search is linear
_SERVICE_LETTERS = re.compile(r"[sS][eE][rR][vV][iI][cC][eE]")
#: rdflib's parser recurses per nesting level; it runs in a worker thread with a large stack
PARSER_RECURSION_LIMIT = 100_000


class QueryTooLarge(CooplinkError):
    """The query text is longer than the ``sparql_max_query_bytes`` setting."""

    status = 413


@dataclass(frozen=True)
class QueryLimits:
    """Bounds checked before any parsing (settings ``sparql_max_query_bytes`` and
    ``sparql_max_nesting``)."""

    max_bytes: int = 65_536
    max_nesting: int = 64


@dataclass
class QueryShape:
    """The form of a query, the ``SERVICE`` targets it names (``None`` for a variable or an
    unreadable target), and its deepest nesting of brackets."""

    form: QueryForm | None
    services: list[str | None] = field(default_factory=list)
    depth: int = 0

    @property
    def returns_graph(self) -> bool:
        return self.form in ("construct", "describe")


def might_call_service(sparql: str) -> bool:
    """Whether the letters of ``SERVICE`` appear anywhere (else no parser can see one)."""
    return _SERVICE_LETTERS.search(sparql) is not None


def _expand(pname: str, prefixes: dict[str, str]) -> str | None:
    prefix, sep, local = pname.partition(":")
    if not sep or prefix not in prefixes:
        return None
    return prefixes[prefix] + re.sub(r"\\(.)", r"\1", local)  # PN_LOCAL_ESC: \# is #


def _target(tok: lex.Token | None, prefixes: dict[str, str], base: str | None) -> str | None:
    if tok is None:
        return None
    if tok.kind == "iri":
        iri = lex.unescape_iri(tok.text[1:-1])
        return urljoin(base, iri) if base else iri
    if tok.kind == "name" and ":" in tok.text:
        return _expand(tok.text, prefixes)
    return None  # a variable, or anything else: unknown, hence refused


def shape(sparql: str, base: str | None = None) -> QueryShape:
    """Read the form, the ``SERVICE`` targets and the nesting depth of ``sparql`` in one
    linear pass (no validation of the rest: the parser does that and reports where)."""
    toks = list(lex.tokens(sparql))
    prefixes = dict(PREFIXES)  # the endpoint declares these by default, like the CLI
    i = 0
    # The prologue: BASE <iri> and PREFIX ns: <iri>, in any order.
    while i < len(toks):
        word = toks[i].text.upper() if toks[i].kind == "name" else ""
        nxt = toks[i + 1] if i + 1 < len(toks) else None
        if word == "BASE" and nxt is not None and nxt.kind == "iri":
            iri = lex.unescape_iri(nxt.text[1:-1])
            base = urljoin(base, iri) if base else iri
            i += 2
        elif (word == "PREFIX" and nxt is not None and i + 2 < len(toks)
              and toks[i + 2].kind == "iri"):
            iri = lex.unescape_iri(toks[i + 2].text[1:-1])
            prefixes[nxt.text.rstrip(":")] = urljoin(base, iri) if base else iri
            i += 3
        else:
            break
    form: QueryForm | None = None
    if i < len(toks) and toks[i].kind == "name":
        first = toks[i].text.upper()
        if first in _UPDATE_KEYWORDS:
            raise Forbidden(
                f"opération de mise à jour refusée ({first}) : "
                "ce point d'accès est en lecture seule"
            )
        form = _QUERY_FORMS.get(first)
    services: list[str | None] = []
    for j, tok in enumerate(toks):
        if tok.kind != "name":
            continue
        low = tok.text.lower()
        if "service" not in low.partition(":")[0]:
            continue
        if low not in ("service", "servicesilent"):
            services.append(None)  # glued or ambiguous: refused, never guessed
            continue
        k = j + 1
        if low == "service" and k < len(toks) and toks[k].text.lower() == "silent":
            k += 1
        services.append(_target(toks[k] if k < len(toks) else None, prefixes, base))
    return QueryShape(form, services, lex.max_depth(toks))


def _refuse_services(targets: Iterable[str | None], allowed: set[str]) -> None:
    for target in targets:
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


def check_size(sparql: str, limits: QueryLimits) -> None:
    """Refuse (413) a query longer than ``limits.max_bytes`` in UTF-8, before reading it."""
    size = len(sparql) if len(sparql) > limits.max_bytes else len(sparql.encode("utf-8"))
    if size > limits.max_bytes:
        raise QueryTooLarge(
            f"requête trop longue ({size} octets ; au plus {limits.max_bytes}, réglage "
            "sparql_max_query_bytes)"
        )


def check(
    sparql: str,
    allowed_services: Iterable[str] = (),
    limits: QueryLimits | None = None,
    base: str | None = None,
) -> QueryShape:
    """Layer 1: bounds, form and the ``SERVICE`` targets the lexer sees.  Raises
    :class:`QueryTooLarge` (413), :class:`BadRequest` (too deep) or :class:`Forbidden`."""
    limits = limits or QueryLimits()
    check_size(sparql, limits)
    result = shape(sparql, base)
    if result.depth > limits.max_nesting:
        raise BadRequest(
            f"requête trop imbriquée ({result.depth} niveaux de {{ ( [ ; au plus "
            f"{limits.max_nesting}, réglage sparql_max_nesting)"
        )
    _refuse_services(result.services, set(allowed_services))
    return result


def parsed_services(sparql: str, base: str | None = None) -> list[str | None]:
    """Every ``SERVICE`` target of the algebra of ``sparql`` as rdflib parses it (``None`` for a
    variable).  Raises whatever the parser raises (``ParseException``, ``RecursionError``…)."""
    from rdflib import Namespace, URIRef
    from rdflib.plugins.sparql.algebra import translateQuery
    from rdflib.plugins.sparql.parser import parseQuery
    from rdflib.plugins.sparql.parserutils import CompValue

    query = translateQuery(parseQuery(sparql), base=base,
                           initNs={p: Namespace(ns) for p, ns in PREFIXES.items()})
    found: list[str | None] = []
    stack: list[Any] = [query.algebra]
    seen: set[int] = set()
    while stack:  # iterative: the algebra of a deep query is deep
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, CompValue):
            if node.name == "ServiceGraphPattern":
                term = node.get("term")
                found.append(str(term) if isinstance(term, URIRef) else None)
            stack.extend(node.values())
        elif isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, list | tuple | set | frozenset):
            stack.extend(node)
    return found


def verify_parsed(
    sparql: str, allowed_services: Iterable[str], base: str | None, sandboxed: bool
) -> None:
    """Layer 2, run by the worker: refuse a query whose parsed algebra calls a ``SERVICE``
    outside ``allowed_services``.

    A query the parser cannot read is left to Oxigraph when the worker has no network
    (``sandboxed``): Oxigraph then reports the syntax error with its position, and any
    ``SERVICE`` it might see cannot connect.  With network (an allow-list is configured) such a
    query cannot be verified and is refused."""
    if not might_call_service(sparql):
        return
    try:
        targets = parsed_services(sparql, base)
    except Exception as exc:  # ParseException, RecursionError, unknown prefix…
        if sandboxed:
            return
        detail = " ".join(str(exc).split())[:200]
        raise BadRequest(
            "requête refusée : elle contient le mot SERVICE et l'analyseur de contrôle n'a pas "
            f"pu la lire ({detail})"
        ) from None
    _refuse_services(targets, set(allowed_services))
