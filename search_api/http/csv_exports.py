"""CSV renderings of the search domain's typed answers: ``/api/search.csv`` (one row per project)
and ``/api/pooling.csv`` (one row per project and French authority of a pooling group).

The domain answers typed objects (:mod:`search_api.search.answers`); turning them into a file a
spreadsheet opens is the HTTP wing's job, like JSON and HTML.  The files are made for the
spreadsheet a ministry desk opens by double-click: UTF-8 with a byte-order mark (without it Excel
reads « Sénégal » as « SÃ©nÃ©gal »), ``;`` between fields and a decimal comma (a French Excel
splits on ``;`` and reads ``0,83`` as a number), French headers, labels rather than codes, and
the project's cost and ministry co-financing.  ``?sep=,`` gives the international form (``,``
and a decimal point) for every other tool.
"""

from __future__ import annotations

import _csv
import csv
import io
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from graph.errors import BadRequest
from search_api.http.i18n import Translator
from search_api.search.answers import PoolingAnswer, SearchResult
from search_api.search.documents import ProjectDoc
from search_api.search.pooling import find_group

#: Rows of a search export at most (the search's own page limit is lifted to this).
SEARCH_MAX_ROWS = 10_000
BOM = "\ufeff"
SEARCH_HEADER = ["identifiant", "intitulé", "score", "correspondance proche", "pays", "thèmes",
                 "collectivités françaises", "partenaires", "année de début", "année de fin",
                 "coût total (€)", "cofinancement MEAE (€)", "extrait", "lien"]
POOLING_HEADER = ["groupe", "titre du groupe", "collectivité française",
                  "type de collectivité", "réseaux", "projet", "intitulé du projet",
                  "partenaires", "pays", "année de début", "année de fin", "coût total (€)",
                  "cofinancement MEAE (€)", "lien"]
#: Several values in one cell (countries, themes, authorities).
JOIN = " ; "


@dataclass(frozen=True)
class CsvStyle:
    """Field separator and decimal mark of an export (``?sep=``)."""

    sep: str = ";"

    @classmethod
    def parse(cls, sep: str | None) -> CsvStyle:
        value = (sep or ";").strip() or ";"
        if value in {";", ","}:
            return cls(value)
        if value.lower() in {"tab", "\\t"}:
            return cls("\t")
        raise BadRequest(f"séparateur « {sep} » inconnu (valeurs : « ; » par défaut, « , », tab)")

    def number(self, value: float | None) -> str:
        """``20300``, ``0,83`` (or ``0.83`` with ``sep=,``): no thousands separator, which
        spreadsheets would read as text."""
        if value is None:
            return ""
        text = f"{value:.0f}" if value == int(value) else f"{value:.2f}"
        return text.replace(".", ",") if self.sep == ";" else text


def _open(style: CsvStyle) -> tuple[io.StringIO, _csv.Writer]:
    buffer = io.StringIO()
    buffer.write(BOM)
    return buffer, csv.writer(buffer, delimiter=style.sep, lineterminator="\r\n")


def _amounts(doc: ProjectDoc, style: CsvStyle) -> list[str]:
    """Cost and co-financing in euros (left blank when the project states another currency)."""
    if (doc.currency or "EUR") != "EUR":
        return ["", ""]
    return [style.number(doc.total_cost), style.number(doc.ministry_cofinancing)]


def search_csv(results: Iterable[SearchResult], document: Callable[[str], ProjectDoc],
               labels: Mapping[str, Mapping[str, str]], style: CsvStyle = CsvStyle()) -> str:
    """A search's results, one row per project in its order, countries and themes by label."""
    buffer, writer = _open(style)
    writer.writerow(SEARCH_HEADER)
    countries, themes = labels.get("country", {}), labels.get("theme", {})
    for r in results:
        writer.writerow([
            r.id, r.title, style.number(r.score), "oui" if r.close_match else "non",
            JOIN.join(countries.get(c, c) for c in r.countries),
            JOIN.join(themes.get(t, t) for t in r.themes),
            JOIN.join(a.name for a in r.french_authorities),
            JOIN.join(p.name for p in r.partners),
            r.start_year or "", r.end_year or "", *_amounts(document(r.id), style),
            r.snippet, r.uri,
        ])
    return buffer.getvalue()


def pooling_csv(result: PoolingAnswer, document: Callable[[str], ProjectDoc],
                group_id: str | None = None, labels: Mapping[str, Mapping[str, str]] | None = None,
                style: CsvStyle = CsvStyle()) -> str:
    """One row per project and French authority of a group (every group when ``group_id`` is
    ``None``), French headers; amounts are the project's, in euros."""
    groups = [find_group(result, group_id)] if group_id else result.clusters
    countries = (labels or {}).get("country", {})
    kinds = Translator("fr")
    buffer, writer = _open(style)
    writer.writerow(POOLING_HEADER)
    for group in groups:
        networks = {c.uri: JOIN.join(n.label for n in c.networks) for c in group.contacts}
        for project_id in group.projects:
            doc = document(project_id)
            for authority in doc.authorities:
                kind = f"type.{authority.type}"
                writer.writerow([
                    group.id, group.title, authority.name,
                    kinds(kind) if kinds.knows(kind) else authority.type,
                    networks.get(authority.uri, ""), doc.id, doc.title,
                    JOIN.join(p.name for p in doc.partners),
                    JOIN.join(countries.get(c, c) for c in doc.countries),
                    doc.start_year or "", doc.end_year or "", *_amounts(doc, style), doc.uri,
                ])
    return buffer.getvalue()
