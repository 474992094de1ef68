"""« Collectivités proches »: the French authorities whose portfolio of projects resembles one
authority's — same countries, same themes, similar projects (issue 11, §3).

The score of a candidate ``b`` for an authority ``a`` (documented in docs/sparql.md) is

    score(a, b) = mean(countries, themes[, projects]) × n_b / (n_b + 2)

- ``countries``: cosine of the two count vectors « projects per country »;
- ``themes``: cosine of the count vectors « projects per theme »;
- ``projects`` (when the served generation has a search index): the mean similarity of every
  pair (project of ``a``, project of ``b``) — the dot product of the two authorities' mean
  project vectors, which equals that mean exactly — rescaled so that the mean similarity of
  two random projects (``pair_mean`` of the index's manifest) counts 0 and identical projects
  1, negative values clipped to 0;
- ``n_b / (n_b + 2)``, with ``n_b`` the candidate's number of projects, is a confidence
  factor: an authority with a single project in the same country and theme would otherwise
  tie with one that shares twenty.

The counts come from one SPARQL query (:data:`PORTFOLIO_QUERY`, shown on the page) run once
per served generation; a profile then costs two matrix-vector products.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from pydantic import BaseModel, Field

from search_api.search._profile_queries import PROLOGUE, tidy
from search_api.search.figures import QueryRunner

#: Every (authority, country or theme, number of projects) of the graph, and each authority's
#: number of projects (dimension ``all``).
PORTFOLIO_QUERY = tidy(f"""{PROLOGUE}
SELECT ?authority ?dimension ?value (COUNT(DISTINCT ?p) AS ?projects) WHERE {{
  {{ ?p a cl:Projet ; cl:collectiviteFrancaise ?authority ; cl:pays ?value .
     BIND("country" AS ?dimension) }}
  UNION
  {{ ?p a cl:Projet ; cl:collectiviteFrancaise ?authority ; cl:theme ?value .
     BIND("theme" AS ?dimension) }}
  UNION
  {{ ?p a cl:Projet ; cl:collectiviteFrancaise ?authority .
     BIND("all" AS ?dimension) BIND(cl:Projet AS ?value) }}
}}
GROUP BY ?authority ?dimension ?value
""")
#: Weight of the confidence factor ``n / (n + CONFIDENCE)``.
CONFIDENCE = 2.0
#: Shared countries and themes named per neighbour.
SHARED_SHOWN = 3


class Neighbour(BaseModel):
    """A French authority with a similar portfolio, and why."""

    uri: str
    label: str = ""
    score: float = Field(description="Score de proximité (0 à 1), voir docs/sparql.md")
    countries: float = Field(description="Cosinus des projets par pays")
    themes: float = Field(description="Cosinus des projets par thème")
    projects_similarity: float | None = Field(
        default=None, description="Similarité moyenne des projets, recalée (0 : au hasard)")
    projects: int = Field(description="Nombre de projets de cette collectivité")
    shared_countries: list[str] = Field(default_factory=list, description="URI des pays communs")
    shared_themes: list[str] = Field(default_factory=list, description="URI des thèmes communs")
    shared_country_labels: list[str] = Field(default_factory=list)
    shared_theme_labels: list[str] = Field(default_factory=list)


def _unit_rows(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.where(norms == 0, 1.0, norms)


@dataclass
class ProjectVectors:
    """Each authority's mean project vector (from the search index) and the mean cosine of
    two random projects."""

    means: dict[str, np.ndarray]
    pair_mean: float


def project_means(doc_vectors: np.ndarray, owners: Sequence[Iterable[str]],
                  pair_mean: float) -> ProjectVectors:
    """Mean vector of each authority's projects: ``owners[i]`` are the authorities of the
    project whose (unit) vector is ``doc_vectors[i]``."""
    rows: dict[str, list[int]] = {}
    for position, authorities in enumerate(owners):
        for uri in authorities:
            rows.setdefault(uri, []).append(position)
    means = {uri: doc_vectors[positions].mean(axis=0) for uri, positions in rows.items()}
    return ProjectVectors(means, pair_mean)


class Portfolios:
    """The portfolios of every French authority of one generation, ready to compare."""

    def __init__(self, counts: Iterable[tuple[str, str, str, int]],
                 vectors: ProjectVectors | None = None) -> None:
        """``counts``: (authority, ``country``|``theme``, value URI, projects) rows."""
        authorities: dict[str, int] = {}
        columns: dict[str, dict[str, int]] = {"country": {}, "theme": {}}
        cells: list[tuple[int, str, int, int]] = []
        totals: dict[int, int] = {}
        for authority, dimension, value, n in counts:
            row = authorities.setdefault(authority, len(authorities))
            if dimension == "all":
                totals[row] = n
                continue
            if dimension not in columns:
                continue
            column = columns[dimension].setdefault(value, len(columns[dimension]))
            cells.append((row, dimension, column, n))
        self.uris = list(authorities)
        self.row = authorities
        self.values = {d: list(c) for d, c in columns.items()}
        self.counts = {d: np.zeros((len(authorities), max(1, len(c))), dtype=np.float32)
                       for d, c in columns.items()}
        for row, dimension, column, n in cells:
            self.counts[dimension][row, column] = n
        self.unit = {d: _unit_rows(m) for d, m in self.counts.items()}
        self.projects = np.array([totals.get(row, 0) for row in range(len(self.uris))],
                                 dtype=np.float32)
        self.means: np.ndarray | None = None
        self.pair_mean = 0.0
        if vectors is not None and vectors.means:
            dim = len(next(iter(vectors.means.values())))
            means = np.zeros((len(self.uris), dim), dtype=np.float32)
            for uri, vector in vectors.means.items():
                if uri in self.row:
                    means[self.row[uri]] = vector
            self.means, self.pair_mean = means, vectors.pair_mean

    @classmethod
    def from_graph(cls, run: QueryRunner, vectors: ProjectVectors | None = None) -> Portfolios:
        rows = run(PORTFOLIO_QUERY).rows()
        return cls(((str(r["authority"]), str(r["dimension"]), str(r["value"]),
                     int(str(r["projects"] or 0))) for r in rows), vectors)

    def __contains__(self, uri: str) -> bool:
        return uri in self.row

    def neighbours(self, uri: str, k: int = 8) -> list[Neighbour]:
        """The ``k`` authorities closest to ``uri`` (none when it has no project)."""
        if uri not in self.row:
            return []
        me = self.row[uri]
        countries = self.unit["country"] @ self.unit["country"][me]
        themes = self.unit["theme"] @ self.unit["theme"][me]
        parts = [countries, themes]
        similarity: np.ndarray | None = None
        if self.means is not None:
            raw = self.means @ self.means[me]
            similarity = np.clip((raw - self.pair_mean) / max(1e-6, 1.0 - self.pair_mean), 0, 1)
            parts.append(similarity)
        score = np.mean(parts, axis=0) * (self.projects / (self.projects + CONFIDENCE))
        score[me] = -1.0
        order = np.lexsort((np.array(self.uris), -self.projects, -score))[:k]
        return [self._neighbour(me, int(b), float(score[b]), float(countries[b]),
                                float(themes[b]),
                                None if similarity is None else float(similarity[b]))
                for b in order if score[b] > 0]

    def _neighbour(self, me: int, other: int, score: float, countries: float, themes: float,
                   similarity: float | None) -> Neighbour:
        return Neighbour(uri=self.uris[other], score=round(score, 4),
                         countries=round(countries, 4), themes=round(themes, 4),
                         projects_similarity=None if similarity is None else round(similarity, 4),
                         projects=int(self.projects[other]),
                         shared_countries=self._shared("country", me, other),
                         shared_themes=self._shared("theme", me, other))

    def _shared(self, dimension: str, a: int, b: int) -> list[str]:
        """The values both have, by the smaller of their two counts, at most three."""
        both = np.minimum(self.counts[dimension][a], self.counts[dimension][b])
        order = [int(i) for i in np.argsort(-both, kind="stable") if both[i] > 0]
        return [self.values[dimension][i] for i in order[:SHARED_SHOWN]]
