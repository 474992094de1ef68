"""``cl:similarity``: semantic similarity as a SPARQL extension function.

``cl:similarity(?project, "texte libre")`` and ``cl:similarity(?p1, ?p2)`` return the cosine
(``xsd:double``) between project vectors of the served search index and/or query texts.

The endpoint evaluates queries in worker processes that must stay light (a crash or timeout
replaces them), so workers never load the text encoder: the parent embeds the string literals
of a query that calls ``cl:similarity`` once, with the query encoder, and ships the vectors in
the :class:`graph.evaluation.QueryRequest`.  Workers only load the project vectors of their
generation (memory-mapped ``.npy``, a few MB).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pyoxigraph as ox

from graph import _sparql_lexer as lex
from graph.datadir import Generation
from graph.errors import BadRequest
from graph.namespaces import CL, XSD

SIMILARITY = CL + "similarity"
VECTORS_FILE = "project_vectors.npy"
URIS_FILE = "project_uris.txt"
_DOUBLE = ox.NamedNode(XSD + "double")
_NAMES = ("cl:similarity", f"<{SIMILARITY}>")
#: The search's own ranking in SPARQL (issue 9: « voir la requête SPARQL » must list the
#: page's projects in the page's order): ``cl:searchScore(?p, "texte" [, places])`` is the
#: score a search ranks by, ``cl:closeMatch(?p, "texte" [, places])`` whether the project is a
#: close match; ``places`` (default true) as the search's ``places`` parameter.
SEARCH_SCORE = CL + "searchScore"
CLOSE_MATCH = CL + "closeMatch"
_SEARCH_NAMES = ("cl:searchScore", f"<{SEARCH_SCORE}>", "cl:closeMatch", f"<{CLOSE_MATCH}>")
#: Key prefix of the per-text ranking arrays shipped to the workers with the query vectors.
SEARCH_KEY = "\x1fsearch\x1f"
_BOOLEAN = ox.NamedNode(XSD + "boolean")
MAX_TEXTS = 32


def calls_similarity(sparql: str) -> bool:
    """Whether ``sparql`` may call ``cl:similarity`` (a substring test: linear, and a false
    positive only costs a scan)."""
    low = sparql.lower()
    return any(name.lower() in low for name in _NAMES)


def calls_search(sparql: str) -> bool:
    """Whether ``sparql`` may call ``cl:searchScore`` or ``cl:closeMatch``."""
    low = sparql.lower()
    return any(name.lower() in low for name in _SEARCH_NAMES)


#: why the functions above are refused when the graph is served by a remote store (issue 13)
REMOTE_REFUSAL = (
    "cl:similarity, cl:searchScore et cl:closeMatch sont calculées par cooplink avec ses "
    "index de recherche, pendant l'évaluation : elles ne s'évaluent pas quand le graphe est "
    "servi par un store distant (réglage sparql_endpoint, Virtuoso). Utilisez /api/search ou "
    "/api/projects/{id}/similar (docs/deploy.md)"
)


def refuse_remote(sparql: str) -> None:
    """400 when ``sparql`` calls cooplink's search functions: a remote engine cannot."""
    if calls_similarity(sparql) or calls_search(sparql):
        raise BadRequest(REMOTE_REFUSAL)


def similarity_texts(sparql: str) -> list[str]:
    """The string literals passed to ``cl:similarity`` in ``sparql`` (in order, unique)."""
    return function_texts(sparql, _NAMES) if calls_similarity(sparql) else []


def search_texts(sparql: str) -> list[str]:
    """The string literals passed to ``cl:searchScore`` / ``cl:closeMatch``."""
    return function_texts(sparql, _SEARCH_NAMES) if calls_search(sparql) else []


def function_texts(sparql: str, names: tuple[str, ...]) -> list[str]:
    """The string literals passed to the functions ``names`` in ``sparql`` (in order, unique).

    One pass of the linear lexer (issue 8: the former scan re-read the rest of the query at
    each call and was quadratic), taking every string literal inside the parentheses of each
    call: ``cl:similarity(?p, "texte")`` and ``cl:similarity("texte", ?p)`` alike."""
    wanted = {name.lower() for name in names}
    texts: list[str] = []
    depth = 0
    calls: list[int] = []  # depth inside each open call's parentheses
    pending = False  # the previous token names the function
    for tok in lex.tokens(sparql):
        if tok.kind == "punct" and tok.text == "(":
            depth += 1
            if pending:
                calls.append(depth)
        elif tok.kind == "punct" and tok.text == ")":
            if calls and calls[-1] == depth:
                calls.pop()
            depth = max(0, depth - 1)
        elif tok.kind == "string" and calls:
            text = lex.unescape_string(tok.text)
            if text not in texts:
                texts.append(text)
                if len(texts) == MAX_TEXTS:
                    break
        pending = tok.text.lower() in wanted if tok.kind in ("name", "iri") else False
    return texts


class ProjectVectors:
    """Unit vectors of the projects of one generation, by project URI."""

    def __init__(self, uris: list[str], vectors: np.ndarray) -> None:
        self.rows = {uri: i for i, uri in enumerate(uris)}
        self.vectors = vectors

    @staticmethod
    def save(folder: Path, uris: list[str], vectors: np.ndarray) -> None:
        np.save(folder / VECTORS_FILE, np.ascontiguousarray(vectors, dtype=np.float32))
        (folder / URIS_FILE).write_text("\n".join(uris) + "\n", "utf-8")

    @classmethod
    def load(cls, folder: Path) -> ProjectVectors | None:
        """``None`` when the generation has no search index (e.g. reference data only)."""
        if not (folder / VECTORS_FILE).exists():
            return None
        uris = (folder / URIS_FILE).read_text("utf-8").splitlines()
        return cls(uris, np.load(folder / VECTORS_FILE, mmap_mode="r"))

    def vector(self, uri: str) -> np.ndarray | None:
        row = self.rows.get(uri)
        return None if row is None else np.asarray(self.vectors[row])


def similarity_function(
    projects: ProjectVectors | None, texts: Mapping[str, np.ndarray]
) -> Callable[..., Any]:
    """The Python body of ``cl:similarity`` for pyoxigraph's ``custom_functions``.

    Returns ``None`` (an unbound value, as SPARQL does for a type error) for a term that is
    neither a known project nor an embedded text."""

    def vector_of(term: Any) -> np.ndarray | None:
        if isinstance(term, ox.NamedNode):
            return projects.vector(term.value) if projects is not None else None
        if isinstance(term, ox.Literal):
            return texts.get(term.value)
        return None

    def similarity(a: Any, b: Any) -> ox.Literal | None:
        va, vb = vector_of(a), vector_of(b)
        if va is None or vb is None:
            return None
        return ox.Literal(repr(round(float(np.dot(va, vb)), 6)), datatype=_DOUBLE)

    return similarity


def search_keys(sparql: str, ranking_keys: Callable[[str, bool], tuple[np.ndarray, np.ndarray]],
                ) -> dict[str, np.ndarray]:
    """Per text of ``cl:searchScore``/``cl:closeMatch`` and per ``places`` choice, the
    search's scores and close-match flags of every project, in index order (parent side;
    ``ranking_keys`` is :meth:`SearchService.ranking_keys`)."""
    out: dict[str, np.ndarray] = {}
    for text in search_texts(sparql):
        for places in (True, False):
            scores, close = ranking_keys(text, places)
            out[f"{SEARCH_KEY}{int(places)}{text}"] = np.stack(
                [np.asarray(scores, dtype=np.float64), np.asarray(close, dtype=np.float64)])
    return out


def search_functions(projects: ProjectVectors | None, keys: Mapping[str, np.ndarray],
                     ) -> dict[str, Callable[..., Any]]:
    """The Python bodies of ``cl:searchScore`` and ``cl:closeMatch`` (unbound for an unknown
    project or text, as SPARQL does for a type error)."""

    def row(project: Any, text: Any, places: Any) -> tuple[np.ndarray, int] | None:
        if projects is None or not isinstance(project, ox.NamedNode):
            return None
        if not isinstance(text, ox.Literal):
            return None
        on = not (isinstance(places, ox.Literal) and places.value in ("false", "0"))
        array = keys.get(f"{SEARCH_KEY}{int(on)}{text.value}")
        position = projects.rows.get(project.value)
        if array is None or position is None or position >= array.shape[1]:
            return None
        return array, position

    def score(project: Any, text: Any, places: Any = None) -> ox.Literal | None:
        found = row(project, text, places)
        if found is None:
            return None
        array, position = found
        return ox.Literal(repr(float(array[0, position])), datatype=_DOUBLE)

    def close(project: Any, text: Any, places: Any = None) -> ox.Literal | None:
        found = row(project, text, places)
        if found is None:
            return None
        array, position = found
        return ox.Literal("true" if array[1, position] else "false", datatype=_BOOLEAN)

    return {SEARCH_SCORE: score, CLOSE_MATCH: close}


def embed_texts(sparql: str, encoder: Any) -> dict[str, np.ndarray]:
    """Embed the similarity texts of ``sparql`` with the query encoder (parent side)."""
    texts = similarity_texts(sparql)
    if not texts:
        return {}
    vectors = encoder.encode_queries(texts)
    return {t: np.asarray(v, dtype=np.float32) for t, v in zip(texts, vectors, strict=True)}


class WorkerFunctions:
    """What a query worker holds: the project vectors of its generation; texts per request."""

    def __init__(self, store_path: Path) -> None:
        self.generation = Generation(store_path.parent)
        self.folder = self.generation.search_path
        self.projects = ProjectVectors.load(self.folder)

    def functions(self, texts: Mapping[str, np.ndarray]) -> dict[str, Callable[..., Any]]:
        # A better search tier may have been swapped in since (issue 9): the parent then
        # embeds with its model, so the vectors must be that tier's.
        folder = self.generation.search_path
        if folder != self.folder:
            self.folder, self.projects = folder, ProjectVectors.load(folder)
        return {SIMILARITY: similarity_function(self.projects, texts),
                **search_functions(self.projects, texts)}


def worker_functions(store_path: Path) -> WorkerFunctions:
    """Factory the endpoint names in ``QueryRunner(functions=...)``; runs in each worker."""
    return WorkerFunctions(store_path)
