"""The state of decentralised cooperation at a glance (``/etat``, ``/api/etat``).

The CNCD's first task is to « établir un état de la coopération décentralisée » (issue 11).
This module computes it from the graph: headline :class:`Indicator` numbers (French authorities
engaged, foreign partners, countries, projects by status, amounts) and :class:`Figure` series
(projects per theme, start year, type of French authority, French région and country), each with
the SPARQL query that computed it, so the figure a reader sees and the one a researcher re-runs
at ``/sparql`` are the same query.

What counts (docs/etat.md):

* a French authority is *engaged* when a project or a partnership (twinning, convention) names
  it (``cl:collectiviteFrancaise``); a foreign partner likewise (``cl:partenaireEtranger``); a
  country when a project or a partnership is located there (``cl:pays``);
* a project counts once per theme, type of authority, région and country it has: the bars of a
  figure may add up to more than the number of projects;
* amounts add up ``cl:coutTotal`` and ``cl:cofinancementMEAE`` in euros.

The whole answer takes a few seconds on 13,000 projects (about twenty aggregate queries): it is
computed once per served generation and kept (:class:`Dashboard`).
"""

from __future__ import annotations

import threading

from pydantic import BaseModel, Field

from search_api.search._state_sparql import IN_EUROS, authority_type, region_of
from search_api.search.figures import (
    Figure,
    Indicator,
    QueryRunner,
    run_figure,
    run_indicator,
    with_prefixes,
)

#: What engages an authority or locates a cooperation: a project or a partnership.
_COOPERATION = "{ ?p a cl:Projet } UNION { ?p a cl:Partenariat }"

INDICATORS: dict[str, tuple[str, str]] = {
    "french_authorities": ("authorities", f"""
SELECT (COUNT(DISTINCT ?a) AS ?value) WHERE {{
  {_COOPERATION}
  ?p cl:collectiviteFrancaise ?a .
}}"""),
    "foreign_partners": ("authorities", f"""
SELECT (COUNT(DISTINCT ?f) AS ?value) WHERE {{
  {_COOPERATION}
  ?p cl:partenaireEtranger ?f .
}}"""),
    "countries": ("countries", f"""
SELECT (COUNT(DISTINCT ?c) AS ?value) WHERE {{
  {_COOPERATION}
  ?p cl:pays ?c .
}}"""),
    "partnerships": ("partnerships", """
SELECT (COUNT(DISTINCT ?s) AS ?value) WHERE { ?s a cl:Partenariat }"""),
    "projects": ("projects", """
SELECT (COUNT(DISTINCT ?p) AS ?value) WHERE { ?p a cl:Projet }"""),
    "projects_active": ("projects", """
SELECT (COUNT(DISTINCT ?p) AS ?value) WHERE { ?p a cl:Projet ; cl:statut cl:statutEnCours }"""),
    "projects_finished": ("projects", """
SELECT (COUNT(DISTINCT ?p) AS ?value) WHERE { ?p a cl:Projet ; cl:statut cl:statutTermine }"""),
    "total_cost": ("euros", f"""
SELECT (SUM(?cost) AS ?value) WHERE {{
  ?p a cl:Projet ; cl:coutTotal ?cost .
  {IN_EUROS}
}}"""),
    "ministry_cofinancing": ("euros", f"""
SELECT (SUM(?amount) AS ?value) WHERE {{
  ?p a cl:Projet ; cl:cofinancementMEAE ?amount .
  {IN_EUROS}
}}"""),
}

FIGURES: dict[str, tuple[str, str]] = {
    "authorities_by_type": ("authorities", f"""
SELECT ?key (?key AS ?label) (COUNT(?a) AS ?value) WHERE {{
  {{ SELECT DISTINCT ?a WHERE {{ {_COOPERATION} ?p cl:collectiviteFrancaise ?a . }} }}
  BIND({authority_type("?a")} AS ?key)
}} GROUP BY ?key ORDER BY DESC(?value) ?key"""),
    "projects_by_status": ("projects", """
SELECT ?key ?label (COUNT(DISTINCT ?p) AS ?value) ?uri WHERE {
  ?p a cl:Projet ; cl:statut ?uri .
  ?uri skos:notation ?key ; skos:prefLabel ?label . FILTER(lang(?label) = "fr")
} GROUP BY ?key ?label ?uri ORDER BY DESC(?value) ?key"""),
    "projects_by_theme": ("projects", """
SELECT ?key ?label (COUNT(DISTINCT ?p) AS ?value) ?uri WHERE {
  ?p a cl:Projet ; cl:theme ?uri .
  ?uri skos:notation ?key ; skos:prefLabel ?label . FILTER(lang(?label) = "fr")
} GROUP BY ?key ?label ?uri ORDER BY DESC(?value) ?key"""),
    "projects_by_year": ("projects", """
SELECT (STR(?year) AS ?key) (STR(?year) AS ?label) (COUNT(DISTINCT ?p) AS ?value) WHERE {
  ?p a cl:Projet ; cl:anneeDebut ?year .
} GROUP BY ?year ORDER BY ?year"""),
    "projects_by_authority_type": ("projects", f"""
SELECT ?key (?key AS ?label) (COUNT(DISTINCT ?p) AS ?value) WHERE {{
  {{ SELECT DISTINCT ?p ?a WHERE {{ ?p a cl:Projet ; cl:collectiviteFrancaise ?a . }} }}
  BIND({authority_type("?a")} AS ?key)
}} GROUP BY ?key ORDER BY DESC(?value) ?key"""),
    "projects_by_region": ("projects", f"""
SELECT ?key ?label (COUNT(DISTINCT ?p) AS ?value) ?uri WHERE {{
  ?p a cl:Projet ; cl:collectiviteFrancaise ?a .
  {region_of("?a", "?uri")}
  ?uri cl:codeInsee ?key ; rdfs:label ?label .
}} GROUP BY ?key ?label ?uri ORDER BY DESC(?value) ?key"""),
    "projects_by_country": ("projects", """
SELECT ?key ?label (COUNT(DISTINCT ?p) AS ?value) ?uri WHERE {
  ?p a cl:Projet ; cl:pays ?uri .
  ?uri cl:codeIso2 ?key ; skos:prefLabel ?label . FILTER(lang(?label) = "fr")
} GROUP BY ?key ?label ?uri ORDER BY DESC(?value) ?key"""),
}


class DashboardAnswer(BaseModel):
    """``GET /api/etat``: the state of cooperation, each number with its SPARQL query."""

    generation: str | None = Field(description="Génération du graphe servie")
    indicators: dict[str, Indicator] = Field(description=(
        "Chiffres clés : french_authorities, foreign_partners, countries, partnerships, "
        "projects, projects_active, projects_finished, total_cost, ministry_cofinancing"))
    figures: dict[str, Figure] = Field(description=(
        "Séries : authorities_by_type, projects_by_status, projects_by_theme, "
        "projects_by_year, projects_by_authority_type, projects_by_region, "
        "projects_by_country (toutes les lignes, dans l'ordre de la requête)"))


def compute(run: QueryRunner, generation: str | None = None) -> DashboardAnswer:
    """Run every query of the dashboard."""
    return DashboardAnswer(
        generation=generation,
        indicators={name: run_indicator(run, name, with_prefixes(query), unit=unit)
                    for name, (unit, query) in INDICATORS.items()},
        figures={name: run_figure(run, name, with_prefixes(query), unit=unit)
                 for name, (unit, query) in FIGURES.items()},
    )


class Dashboard:
    """The dashboard of the served generation, computed once per generation.

    The graph of a generation never changes, so neither does its dashboard; a new generation
    (build, ingest) gets its own at the first request that sees it."""

    def __init__(self, run: QueryRunner) -> None:
        self._run = run
        self._answer: DashboardAnswer | None = None
        self._lock = threading.Lock()

    def answer(self, generation: str | None) -> DashboardAnswer:
        cached = self._answer
        if cached is not None and cached.generation == generation:
            return cached
        with self._lock:  # one computation at a time; late arrivals take its result
            if self._answer is None or self._answer.generation != generation:
                self._answer = compute(self._run, generation)
            return self._answer
