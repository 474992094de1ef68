"""Figures of the state of cooperation: one SPARQL query, its rows, typed.

A figure is the unit every statistics page is made of (the dashboard ``/etat``, the country
briefs, the profiles): a count per theme, per year, per country… Each one keeps the exact
SPARQL text that produced it, so a page can show « voir la requête » and offer the same rows as
CSV or JSON through the public endpoint (``/sparql?query=…&format=csv``): the figure a reader
sees and the one a researcher re-runs are the same query, never a re-implementation.

The query must bind ``?key`` (a code or URI identifying the row), ``?label`` (shown) and
``?value`` (a number); ``?uri`` (the entity page) is optional.  Rows keep the query's order.
The domain gives ids, not titles: the HTTP wing translates ``figure.<id>``.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from pydantic import BaseModel, Field

from graph.namespaces import PREFIXES
from graph.store import QueryOutcome

#: What runs a SPARQL SELECT (``KnowledgeBase.query``, or a store's ``query``).
QueryRunner = Callable[[str], QueryOutcome]


class FigureRow(BaseModel):
    """One bar, slice or cell of a figure."""

    key: str = Field(description="Code ou URI qui identifie la ligne (ISO2, slug de thème, année…)")
    label: str = Field(description="Libellé affiché")
    value: float = Field(description="Valeur (nombre de projets, montant en euros…)")
    uri: str | None = Field(default=None, description="Page de l'entité, s'il y en a une")


class Indicator(BaseModel):
    """One headline number (« 4 976 collectivités engagées ») and the query that counted it."""

    id: str = Field(description="Identifiant stable de l'indicateur (« french_authorities »…)")
    value: float = Field(description="La valeur")
    unit: str = Field(default="projects", description="Unité : projects, euros, authorities…")
    query: str = Field(description="La requête SPARQL exacte qui l'a calculée (variable ?value)")


class Figure(BaseModel):
    """A titled series of rows and the SPARQL query that computed it."""

    id: str = Field(description="Identifiant stable de la figure (« projects_by_theme »…)")
    unit: str = Field(default="projects", description="Unité des valeurs : projects, euros, "
                      "authorities, countries…")
    query: str = Field(description="La requête SPARQL exacte qui a produit les lignes")
    rows: list[FigureRow] = Field(default_factory=list)

    @property
    def total(self) -> float:
        return sum(row.value for row in self.rows)

    @property
    def maximum(self) -> float:
        return max((row.value for row in self.rows), default=0.0)


def _number(value: object) -> float:
    if isinstance(value, bool) or value is None:
        return 0.0
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(str(value))
    except ValueError:
        return 0.0


def run_figure(run: QueryRunner, figure_id: str, query: str, *, unit: str = "projects",
               limit: int | None = None) -> Figure:
    """Evaluate ``query`` and keep its ``key``/``label``/``value``/``uri`` bindings as rows.

    ``limit`` cuts the rows in Python (top-k of an ordered query) so the query a reader re-runs
    stays the complete one."""
    rows: list[FigureRow] = []
    for binding in run(query).rows():
        key = binding.get("key")
        if key is None:
            continue
        label = binding.get("label")
        uri = binding.get("uri")
        rows.append(FigureRow(key=str(key), label=str(label if label is not None else key),
                              value=_number(binding.get("value")),
                              uri=str(uri) if uri is not None else None))
        if limit is not None and len(rows) >= limit:
            break
    return Figure(id=figure_id, unit=unit, query=query.strip(), rows=rows)


def scalar(run: QueryRunner, query: str, variable: str = "value") -> float:
    """The single number a one-row query binds to ``variable`` (0 when unbound)."""
    for binding in run(query).rows():
        return _number(binding.get(variable))
    return 0.0


def run_indicator(run: QueryRunner, indicator_id: str, query: str, *,
                  unit: str = "projects") -> Indicator:
    """An :class:`Indicator` from a one-row query binding ``?value``."""
    return Indicator(id=indicator_id, value=scalar(run, query), unit=unit, query=query.strip())


_PREFIXED = re.compile(r"(?<![\w?$])([a-z]+):")
_IRIS_AND_STRINGS = re.compile(r"<[^>\s]*>|\"[^\"]*\"")


def with_prefixes(body: str) -> str:
    """``body`` preceded by the PREFIX lines of the prefixes it uses: a figure's query runs as
    it is in any SPARQL client, not only at an endpoint that declares them by default."""
    names = _PREFIXED.findall(_IRIS_AND_STRINGS.sub(" ", body))
    used = sorted({name for name in names if name in PREFIXES})
    lines = "".join(f"PREFIX {p}: <{PREFIXES[p]}>\n" for p in used)
    return lines + body.strip()
