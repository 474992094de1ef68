"""Evaluating one SPARQL query on a pyoxigraph store, with a row cap, into serialised bytes.

This is what each worker of :mod:`graph.query_runner` runs (and what in-process callers may run
directly): the request and answer types, the store a worker evaluates on, and the capped
serialisation.

The row and byte caps are applied while serialising: a write sink that counts lines and bytes
stops the serialiser (and therefore the lazy evaluation) once ``max_rows`` rows or ``max_bytes``
bytes are out.  SELECT results are counted in TSV and CONSTRUCT/DESCRIBE results in N-Triples —
one row or triple per line in both — then converted to the requested format by pyoxigraph's
parsers and writers; a conversion that spells terms out longer than the byte cap keeps fewer
rows (issue 8: an 802-byte query doubling a string with ``CONCAT`` answered 268 MB).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Literal, cast

import pyoxigraph as ox

from graph.errors import BadRequest
from graph.namespaces import PREFIXES
from graph.store import GRAPH_FORMATS, SOLUTION_FORMATS, QueryKind


@dataclass(frozen=True)
class QueryRequest:
    """One query as the endpoint received it, with the formats it may answer in."""

    sparql: str
    solution_format: str = "json"  # for SELECT and ASK (json, xml, csv, tsv)
    graph_format: str = "ttl"  # for CONSTRUCT and DESCRIBE (ttl, nt, jsonld, rdfxml)
    default_graphs: tuple[str, ...] = ()
    named_graphs: tuple[str, ...] = ()
    base_iri: str | None = None  # resolves relative IRIs (the protocol allows the endpoint URL)
    #: SERVICE endpoints the query may call (the ``sparql_allowed_services`` setting)
    allowed_services: tuple[str, ...] = ()
    #: (text, vector) pairs embedded by the parent for extension functions (cl:similarity)
    text_vectors: tuple[tuple[str, Any], ...] = ()


#: which cap cut an answer: the row cap or the byte cap
Cut = Literal["rows", "bytes"]
#: answer byte cap when the caller sets none (the ``sparql_max_answer_bytes`` default)
DEFAULT_MAX_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class QueryAnswer:
    """A serialised answer; ``cut`` names the cap that truncated it, if any."""

    kind: QueryKind
    format: str
    data: bytes
    cut: Cut | None = None

    @property
    def truncated(self) -> bool:
        return self.cut is not None


class _CapReached(Exception):
    """Raised inside the serialiser's sink to stop evaluation at a cap."""


class _LineSink:
    """Binary sink keeping whole lines within ``limit`` lines and ``max_bytes`` bytes, and
    stopping the writer past either."""

    def __init__(self, limit: int, max_bytes: int) -> None:
        self.limit = limit
        self.max_bytes = max_bytes
        self.parts: list[bytes] = []
        self.lines = 0
        self.size = 0

    def write(self, chunk: bytes) -> int:
        if self.size > self.max_bytes or self.lines > self.limit:
            raise _CapReached  # the writer may try again after the first refusal
        data = bytes(chunk)
        if self.size + len(data) > self.max_bytes:
            self.parts.append(data[: self.max_bytes - self.size])
            self.size = self.max_bytes + 1  # marks the byte cap as reached
            raise _CapReached
        self.parts.append(data)
        self.size += len(data)
        self.lines += data.count(b"\n")
        if self.lines > self.limit:
            raise _CapReached
        return len(data)

    def flush(self) -> None:
        return None

    def value(self) -> tuple[bytes, Cut | None]:
        data = b"".join(self.parts)
        if self.size > self.max_bytes:  # keep the complete lines only
            return data[: data.rfind(b"\n") + 1], "bytes"
        if self.lines <= self.limit:
            return data, None
        return _first_lines(data, self.limit), "rows"


def _first_lines(data: bytes, count: int) -> bytes:
    cut = -1
    for _ in range(count):
        cut = data.index(b"\n", cut + 1)
    return data[: cut + 1]


def _capped(
    write: Callable[[IO[bytes]], object], limit: int, max_bytes: int
) -> tuple[bytes, Cut | None]:
    sink = _LineSink(limit, max_bytes)
    with contextlib.suppress(_CapReached):
        write(cast(IO[bytes], sink))  # pyoxigraph only calls write() and flush()
    return sink.value()


def _fit(
    lines: bytes, head: int, convert: Callable[[bytes], bytes], max_bytes: int,
    cut: Cut | None,
) -> tuple[bytes, Cut | None]:
    """``convert(lines)``, dropping trailing lines (after the first ``head`` ones) until the
    converted answer fits in ``max_bytes``: other formats spell terms out longer than TSV or
    N-Triples, up to some forty times for short values."""
    data = convert(lines)
    while len(data) > max_bytes:
        rows = lines.count(b"\n") - head
        if rows <= 0:
            break
        keep = min(rows - 1, int(rows * max_bytes / len(data) * 0.9))
        lines, cut = _first_lines(lines, head + keep) if head + keep else b"", "bytes"
        data = convert(lines)
    return data, cut


def evaluate(
    store: ox.Store,
    request: QueryRequest,
    max_rows: int,
    functions: dict[str, Callable[..., Any]] | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> QueryAnswer:
    """Evaluate ``request`` on ``store`` and serialise at most ``max_rows`` rows (or triples)
    and ``max_bytes`` bytes.

    Raises :class:`BadRequest` for a malformed query (with the parser's line:column) or an
    evaluation error.  This is what each worker runs; it is public for in-process callers.
    """
    kwargs: dict[str, Any] = {"prefixes": PREFIXES, "base_iri": request.base_iri}
    try:
        if request.default_graphs:
            kwargs["default_graph"] = [ox.NamedNode(g) for g in request.default_graphs]
        elif request.named_graphs:
            kwargs["default_graph"] = []  # a protocol dataset replaces the whole dataset
        else:
            kwargs["use_default_graph_as_union"] = True
        if request.named_graphs:
            kwargs["named_graphs"] = [ox.NamedNode(g) for g in request.named_graphs]
    except ValueError as exc:  # the endpoint checks these first; in-process callers may not
        raise BadRequest(f"graphe du jeu de données invalide : {exc}") from exc
    if functions:
        kwargs["custom_functions"] = {ox.NamedNode(k): f for k, f in functions.items()}
    try:
        return serialize_answer(store.query(request.sparql, **kwargs), request, max_rows,
                                max_bytes)
    except SyntaxError as exc:
        raise BadRequest(f"requête SPARQL invalide : {french_syntax_error(str(exc))}") from exc
    except (OSError, ValueError, RuntimeError, TypeError) as exc:
        raise BadRequest(f"évaluation impossible : {_one_line(exc)}") from exc


def serialize_answer(result: Any, request: QueryRequest, max_rows: int,
                     max_bytes: int = DEFAULT_MAX_BYTES) -> QueryAnswer:
    """A query's result (pyoxigraph's, or one parsed from a remote endpoint's answer) in the
    request's format, within ``max_rows`` rows (or triples) and ``max_bytes`` bytes."""
    if isinstance(result, ox.QueryBoolean):
        fmt = request.solution_format
        data = result.serialize(format=SOLUTION_FORMATS[fmt]) or b""
        return QueryAnswer("ask", fmt, bytes(data))
    if isinstance(result, ox.QuerySolutions):
        return _solutions(result, request.solution_format, max_rows, max_bytes)
    return _triples(result, request.graph_format, max_rows, max_bytes)


def _one_line(exc: BaseException | str, limit: int = 500) -> str:
    """The engine's message on one line and bounded (its lists of expected tokens are long)."""
    text = " ".join(str(exc).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


_AT = re.compile(r"^error at (\d+):(\d+): ")
#: the parser's character classes (``['0'..='9']``, ``['A' ..= 'Z' | 'a' ..= 'z' | …]``)
_CLASS = re.compile(r"\[(?:'[^']*'|[^\]'])*\.\.=(?:'[^']*'|[^\]'])*\]")
_WORDS = [  # the parser's English, longest first
    ("The SELECT contains a variable that is unbound",
     "une variable du SELECT hors du GROUP BY"),
    ("IRI parsing failed", "une IRI valide"),
    ("expected one of ", "attendu : l'un de "),
    ("expected ", "attendu : "),
    ("[_]", "un caractère"),  # any character: the query ended too soon
]


def french_syntax_error(message: str) -> str:
    """Oxigraph's syntax error in French, on one line: « error at 3:1: expected one of … »
    becomes « ligne 3, colonne 1 : attendu : l'un de … » (an editor shows it as it is)."""
    text = " ".join(message.split())
    found = _AT.match(text)
    where = f"ligne {found[1]}, colonne {found[2]} : " if found else ""
    text = text[found.end():] if found else text
    text = _CLASS.sub(lambda m: "un chiffre" if m[0].replace(" ", "") == "['0'..='9']"
                      else "un caractère de nom", text)
    text = re.sub(r"(un caractère de nom)(, un caractère de nom)+", r"\1", text)
    text = re.sub(r"\['([^']+)'\]", r'"\1"', text)  # one character: as the tokens are written
    for english, french in _WORDS:
        text = text.replace(english, french)
    return _one_line(where + text)


def _solutions(
    result: ox.QuerySolutions, fmt: str, max_rows: int, max_bytes: int
) -> QueryAnswer:
    tsv, cut = _capped(
        lambda sink: result.serialize(sink, format=ox.QueryResultsFormat.TSV), max_rows + 1,
        max_bytes,
    )
    if not tsv:  # not even the header line fitted
        tsv = b"\n"
    if fmt == "tsv":
        return QueryAnswer("select", fmt, tsv, cut)

    def convert(lines: bytes) -> bytes:
        reparsed = ox.parse_query_results(lines, format=ox.QueryResultsFormat.TSV)
        return bytes(reparsed.serialize(format=SOLUTION_FORMATS[fmt]) or b"")

    data, cut = _fit(tsv, 1, convert, max_bytes, cut)
    return QueryAnswer("select", fmt, data, cut)


def _triples(result: Any, fmt: str, max_rows: int, max_bytes: int) -> QueryAnswer:
    nt, cut = _capped(
        lambda sink: result.serialize(sink, format=ox.RdfFormat.N_TRIPLES), max_rows, max_bytes
    )
    if fmt == "nt":
        return QueryAnswer("graph", fmt, nt, cut)

    def convert(lines: bytes) -> bytes:
        triples = list(ox.parse(lines, format=ox.RdfFormat.N_TRIPLES))
        data = ox.serialize(triples, format=GRAPH_FORMATS[fmt], prefixes=prefixes_for(triples))
        return bytes(data or b"")

    data, cut = _fit(nt, 0, convert, max_bytes, cut)
    return QueryAnswer("graph", fmt, data, cut)


def prefixes_for(triples: Iterable[Any], known: dict[str, str] | None = None) -> dict[str, str]:
    """The prefixes of ``known`` (default: the project's) that ``triples`` use, so Turtle output
    declares only what it needs."""
    by_ns = {ns: p for p, ns in (known or PREFIXES).items()}
    used: set[str] = set()
    for t in triples:
        for term in (t.subject, t.predicate, t.object):
            if isinstance(term, ox.Literal):
                term = term.datatype
            if isinstance(term, ox.NamedNode):
                iri = term.value
                used.add(iri[: max(iri.rfind("#"), iri.rfind("/")) + 1])
    return {by_ns[ns]: ns for ns in sorted(used & by_ns.keys(), key=by_ns.__getitem__)}


def open_store(store_path: str | Path, in_memory: bool) -> ox.Store:
    """The store queries are evaluated on: the generation at ``store_path`` opened read-only,
    or (``in_memory``) a copy of it in an in-memory store, 2 to 5 times faster to query."""
    disk = ox.Store.read_only(str(store_path))
    return memory_copy(disk) if in_memory else disk


def memory_copy(disk: ox.Store) -> ox.Store:
    """An in-memory copy of ``disk``. Through an N-Quads dump and a bulk load, which run in
    Rust without the GIL (the default dataset: 9 s, during which another thread of the
    process runs at full speed; copying quad by quad from Python held the GIL throughout)."""
    memory = ox.Store()
    memory.bulk_load(disk.dump(format=ox.RdfFormat.N_QUADS), format=ox.RdfFormat.N_QUADS)
    for graph in disk.named_graphs():
        memory.add_graph(graph)  # empty named graphs too, so GRAPH ?g answers the same
    return memory
