"""Rewrites a query worker applies before the engine sees a query, each answering exactly what
the original answers on the read-only generation the worker holds (issue 13 §2).

pyoxigraph has no statistics: counting the triples of each named graph,

    SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g

scans every quad of the store (960k on the default dataset: 250 ms on a quiet machine, where
Virtuoso answers from its own statistics in 15 ms).  A generation is never written once
published, so a worker counts once per generation (:class:`GraphCounts`) and replaces that
group, wherever it stands in a query (the editor's provenance example has it as a sub-query),
with the same rows written as ``VALUES``.  The rows are the same: one per non-empty named
graph, the count an ``xsd:integer``; their order is unspecified in both forms.

The shape is matched on the tokens of :mod:`graph._sparql_lexer` (so comments, spacing, case
and ``$`` or ``?`` do not matter), never on a particular query's text, and only where nothing
else could change the answer: no ``FROM`` or ``FROM NAMED`` anywhere in the query and no
protocol dataset (``default-graph-uri``, ``named-graph-uri``), which would restrict the
graphs ``GRAPH ?g`` ranges over.  tests/test_planner.py compares each form, rewritten and not,
on the test corpus.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import cast

import pyoxigraph as ox

from graph import _sparql_lexer as lex

#: the counting query, as the worker runs it once per generation
_COUNT_QUERY = "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g"
#: the shape, token by token: keywords (upper-case), punctuation, and variables named by role
_SHAPE = ("SELECT", "g", "(", "COUNT", "(", "*", ")", "AS", "n", ")", "WHERE", "{", "GRAPH",
          "g", "{", "s", "p", "o", ".", "}", "}", "GROUP", "BY", "g")
_ROLES = frozenset("gnspo")
_COUNT_ALL = re.compile(r"COUNT\s*\(\s*\*\s*\)", re.IGNORECASE)
_OPTIONAL = frozenset({"WHERE", "."})  # SPARQL lets both out
#: what may follow the shape when it is the whole query (solution modifiers on ?g and ?n)
_TAIL = frozenset({"ORDER", "LIMIT", "OFFSET"})


@dataclass
class GraphCounts:
    """The triple count of each named graph of one generation, made on first use (by the
    store that asks first: the read-only disk store and its in-memory copy hold the same)."""

    _counts: dict[str, int] | None = field(default=None, init=False)
    _blank: bool = field(default=False, init=False)

    def get(self, store: ox.Store) -> Mapping[str, int] | None:
        """``{graph IRI: triples}`` for the non-empty named graphs, or ``None`` when a graph is
        named by a blank node (which ``VALUES`` could not name)."""
        if self._counts is None and not self._blank:
            counts: dict[str, int] = {}
            for row in cast(ox.QuerySolutions, store.query(_COUNT_QUERY)):
                graph, number = row[0], row[1]
                if not isinstance(graph, ox.NamedNode) or number is None:
                    self._blank = True
                    return None
                counts[graph.value] = int(number.value)
            self._counts = counts
        return self._counts


def _match(toks: list[lex.Token], i: int) -> tuple[int, dict[str, str]] | None:
    """Where the shape starting at ``toks[i]`` ends (exclusive) and its variables by role."""
    names: dict[str, str] = {}
    j = 0
    for want in _SHAPE:
        tok = toks[j + i] if j + i < len(toks) else None
        if want in _ROLES:
            if tok is None or tok.kind != "var":
                return None
            name = tok.text[1:]
            if names.setdefault(want, name) != name:
                return None
        elif tok is not None and tok.text.upper() == want and (
                tok.kind == "punct" if len(want) == 1 else tok.kind == "name"):
            pass
        elif want in _OPTIONAL:
            continue
        else:
            return None
        j += 1
    if len(set(names.values())) != len(_ROLES):  # ?s ?p ?o ?g ?n all different
        return None
    return i + j, names


def _values(names: Mapping[str, str], counts: Mapping[str, int]) -> str:
    rows = " ".join(f"(<{g}> {n})" for g, n in sorted(counts.items()))
    return f"VALUES (?{names['g']} ?{names['n']}) {{ {rows} }}"


def rewrite(sparql: str, store: ox.Store, counts: GraphCounts) -> str:
    """``sparql`` with every group counting the triples of each named graph replaced by its
    rows (see the module docstring); the text itself when there is none.  The caller applies
    it only to a query evaluated on the store's own dataset (no protocol dataset)."""
    upper = sparql.upper()
    if "GRAPH" not in upper or "SERVICE" in upper or not _COUNT_ALL.search(sparql):
        # the common case, decided without lexing (0.1 to 0.5 ms for a query with the usual
        # PREFIX lines); a group inside SERVICE is evaluated on another dataset, so any query
        # naming SERVICE is left alone; a comment inside COUNT(*) only means no rewrite
        return sparql
    toks = list(lex.tokens(sparql))
    if any(t.kind == "name" and t.text.upper() == "FROM" for t in toks):
        return sparql
    out: list[str] = []
    done = 0  # text copied up to here
    i = 0
    while i < len(toks):
        tok = toks[i]
        found = _match(toks, i) if tok.kind == "name" and tok.text.upper() == "SELECT" else None
        if found is None:
            i += 1
            continue
        end, names = found
        inner = i > 0 and toks[i - 1].text == "{" and end < len(toks) and toks[end].text == "}"
        whole = not any(t.kind == "punct" and t.text in "{}" for t in toks[:i]) and (
            end == len(toks) or toks[end].text.upper() in _TAIL)
        if not (inner or whole):
            i = end
            continue
        table = counts.get(store)
        if table is None:
            return sparql
        stop = toks[end - 1].start + len(toks[end - 1].text)
        values = _values(names, table)
        out += [sparql[done:tok.start],
                values if inner else f"SELECT ?{names['g']} ?{names['n']} WHERE {{ {values} }}"]
        done = stop
        i = end
    if not out:
        return sparql
    return "".join(out) + sparql[done:]
