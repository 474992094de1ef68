"""CSV renderings of the search domain's typed answers: ``/api/search.csv`` (one row per project)
and ``/api/pooling.csv`` (one row per project and French authority of a pooling group).

The domain answers typed objects (:mod:`search_api.search.answers`); turning them into a file a
spreadsheet opens is the HTTP wing's job, like JSON and HTML.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable

from search_api.search.answers import PoolingAnswer, SearchResult
from search_api.search.documents import ProjectDoc
from search_api.search.pooling import find_group

#: Rows of a search export at most (the search's own page limit is lifted to this).
SEARCH_MAX_ROWS = 10_000
SEARCH_HEADER = ["id", "uri", "title", "score", "close_match", "countries", "themes",
                 "french_authorities", "partners", "start_year", "end_year", "snippet"]
POOLING_HEADER = ["groupe", "titre du groupe", "collectivité française",
                  "type de collectivité", "réseaux", "projet", "intitulé du projet",
                  "partenaires", "pays", "année de début", "année de fin", "coût total (€)",
                  "cofinancement MEAE (€)", "lien"]


def _blank(value: object) -> object:
    return "" if value is None else value


def search_csv(results: Iterable[SearchResult]) -> str:
    """A search's results as CSV, one row per project, in its order."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(SEARCH_HEADER)
    for r in results:
        writer.writerow([
            r.id, r.uri, r.title, _blank(r.score), "oui" if r.close_match else "non",
            ";".join(r.countries), ";".join(r.themes),
            ";".join(a.name for a in r.french_authorities),
            ";".join(p.name for p in r.partners),
            _blank(r.start_year), _blank(r.end_year), r.snippet,
        ])
    return buffer.getvalue()


def _amount(value: float | None) -> str:
    return "" if value is None else f"{value:.0f}" if value == int(value) else f"{value:.2f}"


def pooling_csv(result: PoolingAnswer, document: Callable[[str], ProjectDoc],
                group_id: str | None = None) -> str:
    """One row per project and French authority of a group (every group when ``group_id`` is
    ``None``), French headers; amounts are the project's, in euros."""
    groups = [find_group(result, group_id)] if group_id else result.clusters
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(POOLING_HEADER)
    for group in groups:
        networks = {c.uri: "; ".join(n.label for n in c.networks) for c in group.contacts}
        for project_id in group.projects:
            doc = document(project_id)
            euros = (doc.currency or "EUR") == "EUR"
            for authority in doc.authorities:
                writer.writerow([
                    group.id, group.title, authority.name, authority.type,
                    networks.get(authority.uri, ""), doc.id, doc.title,
                    "; ".join(p.name for p in doc.partners), "; ".join(doc.countries),
                    _blank(doc.start_year), _blank(doc.end_year),
                    _amount(doc.total_cost) if euros else "",
                    _amount(doc.ministry_cofinancing) if euros else "", doc.uri,
                ])
    return buffer.getvalue()
