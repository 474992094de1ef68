"""The SPARQL texts of the profile pages (:mod:`search_api.search.profiles`).

Every number and list of a profile comes from one of these queries, and the page links to the
very text it ran (« voir la requête », CSV, JSON through ``/sparql``). They are written for
oxigraph's evaluator on the default dataset (13,000 projects, about a million triples), where
each one answers in tens of milliseconds for the largest entity:

- a profile is a *scope*, a graph pattern binding ``?p`` to its projects (``?p cl:pays <C> ;
  a cl:Projet``); the territory of a région or département is the optional path
  ``?a cl:region? <R>`` (the council itself or an authority lying in it) — the same set
  written as a ``UNION`` of two joins took minutes;
- a participation's actor is reached in two triple patterns, not the path
  ``cl:participation/cl:acteur`` (twice as slow);
- labels are read with ``FILTER(?p IN (…))`` over ``?x ?p ?l``, never a ``VALUES ?p`` block,
  which oxigraph evaluates as a cross product (1.8 s instead of 6 ms for 500 labels).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import pyoxigraph as ox

from graph.namespaces import CL, DCTERMS, FOAF, ORG, PROV, RDFS, SKOS

PROLOGUE = (f"PREFIX cl: <{CL}>\nPREFIX rdfs: <{RDFS}>\nPREFIX skos: <{SKOS}>\n"
            f"PREFIX org: <{ORG}>\nPREFIX dcterms: <{DCTERMS}>\nPREFIX prov: <{PROV}>\n")
_PREFIXES = {"cl": CL, "rdfs": RDFS, "skos": SKOS, "org": ORG, "dcterms": DCTERMS, "prov": PROV}


def tidy(query: str) -> str:
    """``query`` with only the PREFIX lines it uses (the page links to it: short is
    readable)."""
    if not query.startswith(PROLOGUE):
        return query
    body = query[len(PROLOGUE):].lstrip("\n")
    used = "".join(f"PREFIX {p}: <{ns}>\n" for p, ns in _PREFIXES.items() if f"{p}:" in body)
    return f"{used}\n{body}"
LABEL_PREDICATES = (RDFS + "label", SKOS + "prefLabel", DCTERMS + "title", FOAF + "name")


def iri(uri: str) -> str:
    """``<uri>`` for a query text. Callers pass URIs read from the graph or checked by the
    route (a 404 for a path that is no IRI); ``ox.NamedNode`` refuses anything else here too,
    so that no text can close the brackets early."""
    return str(ox.NamedNode(uri))


def lang_filter(var: str, lang: str) -> str:
    """Keep the labels in ``lang`` (French labels exist for every entity; English ones for
    countries, themes, roles, statuses and the ontology's terms)."""
    return f'FILTER(lang({var}) = "{lang}")'


@dataclass(frozen=True)
class Scope:
    """What a profile counts, as graph patterns over ``?p``.

    ``projects`` binds ``?p`` to each project of the profile, ``partnerships`` to each
    partnership (``cl:Partenariat``), ``links`` to both — a foreign partner of an authority is
    one of its projects' partners or one of its partnerships'."""

    projects: str
    partnerships: str | None
    links: str
    #: ``?a``: the territory's own authorities are counted, not every co-author of its projects
    authority: str | None = None


def authority_scope(uri: str) -> Scope:
    me = iri(uri)
    return Scope(projects=f"?p cl:collectiviteFrancaise {me} ; a cl:Projet .",
                 partnerships=f"?p cl:collectiviteFrancaise {me} ; a cl:Partenariat .",
                 links=f"?p cl:collectiviteFrancaise {me} .")


def territory_scope(uri: str, predicate: str) -> Scope:
    """The French authorities of a région (``predicate`` ``region``) or département: the
    council itself or any authority whose ``cl:region``/``cl:departement`` it is."""
    where = f"?a cl:{predicate}? {iri(uri)} . ?p cl:collectiviteFrancaise ?a"
    return Scope(projects=f"{where} ; a cl:Projet .",
                 partnerships=f"{where} ; a cl:Partenariat .",
                 links=f"{where} .", authority="?a")


def _pointed_at(predicate: str, uri: str) -> Scope:
    """Projects and partnerships whose ``cl:{predicate}`` is ``uri``."""
    link = f"?p cl:{predicate} {iri(uri)}"
    return Scope(projects=f"{link} ; a cl:Projet .", partnerships=f"{link} ; a cl:Partenariat .",
                 links=f"{link} .")


def partner_scope(uri: str) -> Scope:
    return _pointed_at("partenaireEtranger", uri)


def theme_scope(uri: str) -> Scope:
    # cl:theme is a property of projects only (docs/model.md): no type test needed, and no
    # partnership has a theme
    pattern = f"?p cl:theme {iri(uri)} ."
    return Scope(projects=pattern, partnerships=None, links=pattern)


def country_scope(uri: str) -> Scope:
    return _pointed_at("pays", uri)


# ------------------------------------------------------------------------------ facts
def totals(scope: Scope) -> str:
    """Projects, their total cost and the ministry's co-financing (``?projects``, ``?cost``,
    ``?cofinancing``): one row, the amounts summed once per project."""
    return tidy(f"{PROLOGUE}\nSELECT (COUNT(?p) AS ?projects) (SUM(?cout) AS ?cost) "
            "(SUM(?meae) AS ?cofinancing) WHERE {\n"
            f"  {{ SELECT DISTINCT ?p WHERE {{ {scope.projects} }} }}\n"
            "  OPTIONAL { ?p cl:coutTotal ?cout }\n"
            "  OPTIONAL { ?p cl:cofinancementMEAE ?meae }\n}\n")


#: What a list reaches from the scope's ``?p`` (``?x``), by list id.
REACH = {
    "authorities": "?p cl:collectiviteFrancaise ?x .",
    "partners": "?p cl:partenaireEtranger ?x .",
    "countries": "?p cl:pays ?x .",
    "actors": "?p cl:participation ?part . ?part cl:acteur ?x .",
}


# ------------------------------------------------------------------------------ figures
# Counted in a sub-query, labelled after in an OPTIONAL: oxigraph evaluates an OPTIONAL by
# looking up each counted row, where a plain join scans every label of the graph (60 ms more
# on a région's 411 authorities). A predicate only projects have (cl:theme, cl:anneeDebut,
# cl:participation) makes the scope's type test redundant: ``links`` is then used, a third
# cheaper on a région's thousands of links.
def _counted(pattern: str, reach: str, code: str | None, label: str, lang: str | None,
             group: str = "?uri") -> str:
    chosen = "?uri" if group == "?uri" else f"({group} AS ?uri)"
    keep = f" {lang_filter('?label', lang)}" if lang else ""
    key = (f"  OPTIONAL {{ ?uri {code} ?code }}\n  BIND(COALESCE(?code, STR(?uri)) AS ?key)\n"
           if code else "  BIND(STR(?uri) AS ?key)\n")
    return tidy(f"{PROLOGUE}\nSELECT ?key ?label ?value ?uri WHERE {{\n"
            f"  {{ SELECT {chosen} (COUNT(DISTINCT ?p) AS ?value) WHERE {{\n"
            f"      {pattern}\n" + (f"      {reach}\n" if reach else "") +
            f"    }} GROUP BY {group} }}\n"
            f"  OPTIONAL {{ ?uri {label} ?label .{keep} }}\n{key}"
            "}\nORDER BY DESC(?value) ?label ?uri\n")


def by_theme(scope: Scope, lang: str) -> str:
    return _counted(scope.links, "?p cl:theme ?uri .", "skos:notation", "skos:prefLabel", lang)


def by_country(scope: Scope, lang: str) -> str:
    return _counted(scope.projects, "?p cl:pays ?uri .", "cl:codeIso2", "skos:prefLabel", lang)


def by_authority(scope: Scope) -> str:
    """French authorities by number of the scope's projects (the « top authorities », and
    the list of every authority of the scope); for a territory, its own authorities."""
    if scope.authority:
        return _counted(scope.projects, "", None, "rdfs:label", None, scope.authority)
    return _counted(scope.projects, "?p cl:collectiviteFrancaise ?uri .", None, "rdfs:label",
                    None)


def by_year(scope: Scope) -> str:
    return tidy(f"{PROLOGUE}\nSELECT ?key ?label (COUNT(DISTINCT ?p) AS ?value) WHERE {{\n"
            f"  {scope.links}\n"
            "  ?p cl:anneeDebut ?key .\n"
            "  BIND(STR(?key) AS ?label)\n"
            "}\nGROUP BY ?key ?label\nORDER BY ?key\n")


# ------------------------------------------------------------------------------ listings
# Listings bind no label: the page reads the labels of its 25 entries only, and a list's
# length is then exactly the number of distinct entities (the number the page shows).
def dated_list(pattern: str, year: str) -> str:
    """Projects or partnerships of ``pattern`` (binding ``?p``), most recent first
    (``year``: ``cl:anneeDebut`` or ``cl:anneeSignature``)."""
    end = "\n  OPTIONAL { ?p cl:anneeFin ?fin }" if year == "cl:anneeDebut" else ""
    return tidy(f"{PROLOGUE}\nSELECT ?p (MAX(?annee) AS ?start) (MAX(?fin) AS ?end) WHERE {{\n"
            f"  {pattern}\n"
            f"  OPTIONAL {{ ?p {year} ?annee }}{end}\n"
            "}\nGROUP BY ?p\nORDER BY DESC(?start) ?p\n")


def ranked_list(pattern: str, name: str) -> str:
    """What the scope reaches (``REACH[name]``), by number of the scope's projects (or
    projects and partnerships, for partners) it appears in."""
    return tidy(f"{PROLOGUE}\nSELECT ?x (COUNT(DISTINCT ?p) AS ?value) WHERE {{\n"
            f"  {pattern}\n  {REACH[name]}\n"
            "}\nGROUP BY ?x\nORDER BY DESC(?value) ?x\n")


def page(query: str, limit: int, offset: int) -> str:
    """One page of a listing query (the page links to the query without it)."""
    return f"{query}LIMIT {limit}\nOFFSET {offset}\n"


def values(uris: Iterable[str]) -> str:
    return " ".join(iri(u) for u in uris)


def class_labels(items: Iterable[str], lang: str, besides: str | None = None) -> str:
    """The ontology class of each item (``?item``), labelled in ``lang``; ``besides``: a class
    the list's heading already names (``cl:Partenariat`` above twinnings and conventions)."""
    skip = f" && ?class != {besides}" if besides else ""
    return tidy(f"{PROLOGUE}\nSELECT ?item ?label WHERE {{\n"
            f"  VALUES ?item {{ {values(items)} }}\n"
            "  ?item a ?class . ?class rdfs:label ?label .\n"
            f"  FILTER(STRSTARTS(STR(?class), STR(cl:)){skip})\n"
            f"  {lang_filter('?label', lang)}\n}}\n")


def linked_labels(items: Iterable[str], predicate: str, label: str, lang: str | None) -> str:
    """The labels of what each item points to by ``predicate`` (its country, authorities…)."""
    keep = f"\n  {lang_filter('?label', lang)}" if lang else ""
    return tidy(f"{PROLOGUE}\nSELECT ?item ?label WHERE {{\n"
            f"  VALUES ?item {{ {values(items)} }}\n"
            f"  ?item {predicate} ?x . ?x {label} ?label .{keep}\n}}\n")


def labels(uris: Iterable[str]) -> str:
    """Every display label of ``uris`` with its language (``?lang``), to choose from."""
    preds = ", ".join(iri(p) for p in LABEL_PREDICATES)
    return (f"SELECT ?x ?label ?lang WHERE {{\n  VALUES ?x {{ {values(uris)} }}\n"
            f"  ?x ?pred ?label . FILTER(?pred IN ({preds}))\n"
            "  BIND(lang(?label) AS ?lang)\n}\n")


def outgoing(uri: str) -> str:
    """The entity's own statements (its attributes, types and memberships)."""
    return (f"SELECT ?pred ?o (isIRI(?o) AS ?isiri) (lang(?o) AS ?lang) "
            f"WHERE {{ {iri(uri)} ?pred ?o }}\n")
