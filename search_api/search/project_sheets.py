"""The sheet of one project: what its page shows instead of its raw triples (issue 11, §3) —
amounts as numbers (the page writes them in euros), years, status, themes and countries with
their codes (for the links to pooling), and every participant with its role and its label.

Read from the project's own statements (already fetched to know its kind), one query for its
participations and one for the labels of everything it points to, in the page's language.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, Field

from graph.namespaces import CL, DAC, DCTERMS, PROV, RDF, RDFS, THEME
from search_api.search import _profile_queries as q
from search_api.search.figures import QueryRunner
from search_api.search.profiles import Item, ProfileReader, Statement

#: Order of the roles on the page (the ontology's scheme cl:roles).
ROLE_ORDER = ("roleResponsable", "roleFinanceur", "roleMaitreOeuvre", "roleOperateur",
              "roleAppui")


class Participant(BaseModel):
    """An actor of the project with its role (``cl:Participation``)."""

    uri: str
    label: str
    role: str = Field(description="Rôle (nom local : roleFinanceur, roleOperateur…)")
    role_label: str
    type_label: str = ""


class ProjectSheet(BaseModel):
    """Everything the project page shows."""

    uri: str
    id: str
    title: str
    description: str = ""
    language: str | None = None
    status: Item | None = None
    start_year: int | None = None
    end_year: int | None = None
    total_cost: float | None = Field(default=None, description="cl:coutTotal")
    ministry_cofinancing: float | None = Field(default=None, description="cl:cofinancementMEAE")
    authorities_share: float | None = Field(default=None, description="cl:partCollectivites")
    currency: str = "EUR"
    themes: list[Item] = Field(default_factory=list, description="notes[0] : le slug")
    sectors: list[Item] = Field(default_factory=list)
    countries: list[Item] = Field(default_factory=list, description="notes[0] : le code ISO")
    authorities: list[Item] = Field(default_factory=list)
    partners: list[Item] = Field(default_factory=list)
    partnerships: list[Item] = Field(default_factory=list)
    participants: list[Participant] = Field(default_factory=list)
    synthetic: bool = False
    generated_by: Item | None = None
    generated_at: str | None = Field(default=None, description="Début de l'import (ISO 8601)")
    source_line: int | None = None
    types: list[Item] = Field(default_factory=list)


def _number(value: str) -> float | None:
    try:
        return float(value)
    except ValueError:
        return None


def _year(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _text(own: Sequence[Statement], predicate: str, lang: str) -> str | None:
    """A text of the project, in the page's language when it has one, else its own."""
    found = [s for s in own if s.predicate == predicate]
    for wanted in (lang, "fr", ""):
        for s in found:
            if s.lang == wanted:
                return s.value
    return found[0].value if found else None


def read_project(run: QueryRunner, uri: str, statements: Sequence[Statement],
                 lang: str = "fr") -> ProjectSheet:
    """The sheet of project ``uri`` from its ``statements`` (``ProfileReader.statements``)."""
    reader = ProfileReader(run, lang)

    def values(name: str, ns: str = CL) -> list[str]:
        return [s.value for s in statements if s.predicate == ns + name]

    def one(name: str, ns: str = CL) -> str | None:
        found = values(name, ns)
        return found[0] if found else None

    activity = one("wasGeneratedBy", PROV)
    started = run(f"{q.PROLOGUE}SELECT ?t WHERE {{ {q.iri(activity)} prov:startedAtTime ?t }}"
                  ).rows() if activity else []
    parts = run(f"{q.PROLOGUE}SELECT ?actor ?role WHERE {{ {q.iri(uri)} cl:participation ?part . "
                "?part cl:acteur ?actor ; cl:role ?role }").rows()
    actors = sorted({str(r["actor"]) for r in parts})
    linked = {s.value for s in statements if s.is_iri} | {str(r["role"]) for r in parts}
    labels = reader.labels(linked | set(actors))
    kinds = reader.pairs(q.class_labels(actors, lang)) if actors else {}
    codes = {str(r["x"]): str(r["code"]) for r in run(
        f"{q.PROLOGUE}SELECT ?x ?code WHERE {{ {q.iri(uri)} cl:pays ?x . ?x cl:codeIso2 ?code }}"
    ).rows()}

    def items(uris: list[str], notes: dict[str, str] | None = None) -> list[Item]:
        found = [Item(uri=u, label=labels.get(u, u.rsplit("/", 1)[-1]),
                      notes=[notes[u]] if notes and u in notes else []) for u in uris]
        return sorted(found, key=lambda i: i.label.casefold())

    order = {name: i for i, name in enumerate(ROLE_ORDER)}
    participants = sorted(
        (Participant(uri=str(r["actor"]),
                     label=labels.get(str(r["actor"])) or str(r["actor"]).rsplit("/", 1)[-1],
                     role=str(r["role"]).removeprefix(CL),
                     role_label=labels.get(str(r["role"]), str(r["role"]).removeprefix(CL)),
                     type_label=", ".join(kinds.get(str(r["actor"]), [])))
         for r in parts),
        key=lambda p: (order.get(p.role, len(order)), p.label.casefold()))
    status = one("statut")
    identifier = one("identifier", DCTERMS) or uri.rsplit("/", 1)[-1]
    return ProjectSheet(
        uri=uri, id=identifier,
        title=_text(statements, DCTERMS + "title", lang) or _text(statements, RDFS + "label",
                                                                  lang) or identifier,
        description=_text(statements, DCTERMS + "description", lang) or "",
        language=one("language", DCTERMS),
        status=Item(uri=status, label=labels.get(status, status)) if status else None,
        start_year=_year(one("anneeDebut")), end_year=_year(one("anneeFin")),
        total_cost=_number(one("coutTotal") or ""),
        ministry_cofinancing=_number(one("cofinancementMEAE") or ""),
        authorities_share=_number(one("partCollectivites") or ""),
        currency=one("devise") or "EUR",
        themes=items(values("theme"), {u: u.removeprefix(THEME) for u in values("theme")}),
        sectors=items(values("secteurCAD"), {u: u.removeprefix(DAC) for u in
                                             values("secteurCAD")}),
        countries=items(values("pays"), codes),
        authorities=items(values("collectiviteFrancaise")),
        partners=items(values("partenaireEtranger")),
        partnerships=items(values("partenariat")),
        participants=participants,
        synthetic="true" in values("synthetique"),
        generated_by=Item(uri=activity, label=labels.get(activity, activity)) if activity
        else None,
        generated_at=str(started[0]["t"]) if started else None,
        source_line=_year(one("ligneSource")),
        types=items([v for v in values("type", RDF)
                     if v.startswith(CL)]),
    )
