"""Turn the triples describing an entity into what the raw page (« données brutes ») shows:
labels (in the page's language first, then French), prefixed names, links to the local page of
every URI the server dereferences, and the number of values each section lists."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

import pyoxigraph as ox

from graph.namespaces import CL, DAC, DCTERMS, FOAF, PREFIXES, RDF, RDFS, SKOS, THEME
from graph.store import GraphStore

LABEL_PREDICATES = (RDFS + "label", SKOS + "prefLabel", DCTERMS + "title", FOAF + "name")
_TYPE = RDF + "type"
_TRUE = ox.Literal("true", datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#boolean"))


class LinkMapper:
    """Maps a URI to the path that dereferences it on this server (``None`` when external).

    Instance URIs are minted under the stable ``base_uri`` (``https://w3id.org/cooplink`` by
    default), not under the server's address: an HTML link to an entity goes to this server's
    own path (``/id/projet/…``), never through w3id.org.  The ontology and the two concept
    schemes live under the same w3id namespace, so they are matched first (``…/def#Projet`` is
    the ontology page's anchor, not a path ``/def``).
    """

    def __init__(self, base: str) -> None:
        self.base = base.rstrip("/")

    def href(self, uri: str) -> str | None:
        if uri.startswith(CL) or uri == CL.rstrip("#"):
            local = uri[len(CL):]
            return "/ontology" + (f"#{local}" if local else "")
        for ns, path in ((THEME, "/theme"), (DAC, "/secteur-cad")):
            if uri == ns.rstrip("/"):
                return path
            if uri.startswith(ns):
                return f"{path}/{uri[len(ns):]}"
        if uri.startswith(self.base + "/"):
            return uri[len(self.base):]
        return None

    def local(self, uri: str) -> str:
        """The local path of ``uri`` when this server dereferences it, else ``uri`` itself."""
        return self.href(uri) or uri


def qname(uri: str) -> str:
    """``cl:Projet`` for a URI in a known namespace (longest match), else the URI itself."""
    best = ""
    for prefix, ns in PREFIXES.items():
        if uri.startswith(ns) and len(ns) > len(PREFIXES.get(best, "")):
            best = prefix
    return f"{best}:{uri[len(PREFIXES[best]):]}" if best else uri


@dataclass
class Value:
    """One value shown on a page: an IRI (with label and link), a literal, or a blank node."""

    text: str
    kind: str  # iri | literal | bnode
    href: str | None = None
    note: str | None = None  # language tag, datatype or prefixed name


@dataclass
class PropertyRow:
    predicate: str
    label: str
    qname: str
    href: str | None
    values: list[Value] = field(default_factory=list)


@dataclass
class EntityView:
    """Everything the page shows about one entity."""

    uri: str
    label: str
    anchor: str
    types: list[Value]
    synthetic: bool
    properties: list[PropertyRow]
    incoming: list[PropertyRow]

    @property
    def outgoing_count(self) -> int:
        """Values listed under « Propriétés » (the heading's count matches the list)."""
        return sum(len(row.values) for row in self.properties)

    @property
    def incoming_count(self) -> int:
        """Values listed under « Liens entrants »."""
        return sum(len(row.values) for row in self.incoming)


def _best(candidates: list[ox.Literal], lang: str) -> str | None:
    if not candidates:
        return None
    rank = {lang: 0, "fr": 1, "": 2, "en": 3}
    return min(candidates, key=lambda lit: rank.get(lit.language or "", 4)).value


def fetch_labels(store: GraphStore, iris: Iterable[str], chunk: int = 500,
                 lang: str = "fr") -> dict[str, str]:
    """Best display label of each IRI (``lang``, then French, untagged, English, any).

    The predicates are tested with ``FILTER(?p IN …)``: a second ``VALUES`` block for them is
    evaluated by oxigraph as a cross product (3.7 s for the 1,000 links of a country page,
    6 ms this way)."""
    found: dict[str, list[ox.Literal]] = defaultdict(list)
    todo = sorted(set(iris))
    preds = ", ".join(f"<{p}>" for p in LABEL_PREDICATES)
    for start in range(0, len(todo), chunk):
        values = " ".join(f"<{i}>" for i in todo[start:start + chunk])
        result = store.query(
            f"SELECT ?x ?l WHERE {{ VALUES ?x {{ {values} }} ?x ?p ?l FILTER(?p IN ({preds})) }}"
        ).result
        assert isinstance(result, ox.QuerySolutions)
        for row in result:
            if isinstance(row["l"], ox.Literal):
                found[row["x"].value].append(row["l"])
    return {iri: label for iri, lits in found.items() if (label := _best(lits, lang))}


def _value(term: ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple, labels: dict[str, str],
           links: LinkMapper) -> Value:
    if isinstance(term, ox.NamedNode):
        iri = term.value
        short = qname(iri)
        # under its label, a value also shows its prefixed name (never the long URI again)
        return Value(labels.get(iri) or short, "iri", links.href(iri) or iri,
                     short if iri in labels and short != iri else None)
    if isinstance(term, ox.Literal):
        note = term.language or qname(term.datatype.value)
        return Value(term.value, "literal", None, None if note == "xsd:string" else note)
    return Value(str(term), "bnode")


def _rows(pairs: list[tuple[str, Value]], labels: dict[str, str], links: LinkMapper
          ) -> list[PropertyRow]:
    grouped: dict[str, list[Value]] = defaultdict(list)
    for predicate, value in pairs:
        grouped[predicate].append(value)
    rows = [PropertyRow(p, labels.get(p) or qname(p), qname(p), links.href(p) or p,
                        sorted(vs, key=lambda v: v.text.casefold()))
            for p, vs in grouped.items()]
    # rdf:type, then labels, then the rest alphabetically by displayed name
    order = {_TYPE: 0, **{p: 1 for p in LABEL_PREDICATES}}
    return sorted(rows, key=lambda r: (order.get(r.predicate, 2), r.label.casefold()))


def build_views(store: GraphStore, triples: list[ox.Triple], focus: list[str],
                links: LinkMapper, lang: str = "fr") -> list[EntityView]:
    """One :class:`EntityView` per URI of ``focus``, from ``triples`` plus labels of what they
    mention (looked up in ``store``)."""
    iris = set(focus)
    for t in triples:
        for term in (t.subject, t.predicate, t.object):
            if isinstance(term, ox.NamedNode):
                iris.add(term.value)
    labels = fetch_labels(store, iris, lang=lang)
    stated: dict[str, list[ox.Literal]] = defaultdict(list)
    for t in triples:  # labels stated in the description itself (e.g. ontology terms)
        if (t.predicate.value in LABEL_PREDICATES and isinstance(t.subject, ox.NamedNode)
                and isinstance(t.object, ox.Literal)):
            stated[t.subject.value].append(t.object)
    for iri, lits in stated.items():
        if iri not in labels and (label := _best(lits, lang)):
            labels[iri] = label
    by_subject: dict[str, list[ox.Triple]] = defaultdict(list)
    by_object: dict[str, list[ox.Triple]] = defaultdict(list)
    for t in triples:
        if isinstance(t.subject, ox.NamedNode):
            by_subject[t.subject.value].append(t)
        if isinstance(t.object, ox.NamedNode) and t.object != t.subject:
            by_object[t.object.value].append(t)
    views = []
    for uri in focus:
        own = by_subject.get(uri, [])
        out = [(t.predicate.value, _value(t.object, labels, links)) for t in own]
        inc = [(t.predicate.value, _value(t.subject, labels, links))
               for t in by_object.get(uri, [])]
        types = [v for p, v in out if p == _TYPE]
        synthetic = any(t.predicate.value == CL + "synthetique" and t.object == _TRUE for t in own)
        anchor = uri[len(CL):] if uri.startswith(CL) else ""
        views.append(EntityView(uri, labels.get(uri) or qname(uri), anchor, types, synthetic,
                                _rows(out, labels, links), _rows(inc, labels, links)))
    return views
