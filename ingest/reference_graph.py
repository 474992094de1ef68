"""The reference named graph: French authorities, countries, both concept schemes, institutions.

Follows ``docs/model.md``.  Quads are built directly as pyoxigraph terms (no rdflib on this path):
the ~36,000 authorities and the rest give about 365,000 quads, produced in about a second, which
the store bulk-loads.  Only the most specific class is asserted (``cl:Commune``, not also
``cl:CollectiviteTerritoriale``); queries that want the superclass use ``rdfs:subClassOf*`` over
the ontology graph.
"""

from __future__ import annotations

from collections.abc import Iterator

import pyoxigraph as ox

from graph.namespaces import (
    CL,
    DCTERMS,
    FOAF,
    ORG,
    OWL,
    RDF,
    RDFS,
    SKOS,
    XSD,
    UriMinter,
    insee_territory,
)
from ingest.reference import THEMES_TTL, Country, ReferenceData

#: Authority type -> ontology class local name.
AUTHORITY_CLASSES = {
    "region": "Region",
    "departement": "Departement",
    "commune": "Commune",
    "intercommunalite": "Intercommunalite",
    "statut-particulier": "CollectiviteStatutParticulier",
}

_TYPE = ox.NamedNode(RDF + "type")
_LABEL = ox.NamedNode(RDFS + "label")
_PREF = ox.NamedNode(SKOS + "prefLabel")
_ALT = ox.NamedNode(SKOS + "altLabel")
_NOTATION = ox.NamedNode(SKOS + "notation")
_IN_SCHEME = ox.NamedNode(SKOS + "inScheme")
_TOP_OF = ox.NamedNode(SKOS + "topConceptOf")
_BROADER = ox.NamedNode(SKOS + "broader")
_CONCEPT = ox.NamedNode(SKOS + "Concept")
_SCHEME = ox.NamedNode(SKOS + "ConceptScheme")
_INTEGER = ox.NamedNode(XSD + "integer")
_BOOLEAN = ox.NamedNode(XSD + "boolean")


def _cl(local: str) -> ox.NamedNode:
    return ox.NamedNode(CL + local)


def _fr(text: str) -> ox.Literal:
    return ox.Literal(text, language="fr")


def _en(text: str) -> ox.Literal:
    return ox.Literal(text, language="en")


def reference_quads(ref: ReferenceData, graph: ox.NamedNode) -> Iterator[ox.Quad]:
    """Every quad of the reference graph, in ``graph``."""
    minter = UriMinter(ref.base_uri)
    yield from _authority_quads(ref, graph)
    yield from _country_quads(ref, minter, graph)
    yield from _theme_quads(graph)
    yield from _dac_quads(ref, graph)
    yield from _institution_quads(ref, minter, graph)


def _authority_quads(ref: ReferenceData, g: ox.NamedNode) -> Iterator[ox.Quad]:
    classes = {t: _cl(c) for t, c in AUTHORITY_CLASSES.items()}
    code_insee, siren, population = _cl("codeInsee"), _cl("siren"), _cl("population")
    type_epci, territoire = _cl("typeEPCI"), _cl("territoire")
    in_region, in_departement = _cl("region"), _cl("departement")
    has_member, member_of = ox.NamedNode(ORG + "hasMember"), ox.NamedNode(ORG + "memberOf")
    replaces = ox.NamedNode(DCTERMS + "replaces")
    # Région-level entities (régions and the collectivités holding a région code) and
    # départements, by INSEE code, so that cl:region / cl:departement point at emitted nodes.
    regions = {
        a.insee: ox.NamedNode(a.uri)
        for a in ref.authorities
        if a.insee and a.type in ("region", "statut-particulier")
    }
    departements = {
        a.insee: ox.NamedNode(a.uri) for a in ref.authorities if a.insee and a.type == "departement"
    }
    territory_kind = {"region": "region", "departement": "departement", "commune": "commune"}
    nodes: dict[str, ox.NamedNode] = {}
    for a in ref.authorities:
        s = nodes.setdefault(a.uri, ox.NamedNode(a.uri))
        yield ox.Quad(s, _TYPE, classes[a.type], g)
        yield ox.Quad(s, _LABEL, _fr(a.name), g)
        if a.insee:
            yield ox.Quad(s, code_insee, ox.Literal(a.insee), g)
            kind = territory_kind.get(a.type)
            if kind is None and len(a.insee) == 2:
                # Corse, Martinique, Guyane, Mayotte are INSEE régions; the overseas
                # collectivities (3-digit codes) have no igeo région territory.
                kind = "region"
            if kind:
                yield ox.Quad(s, territoire, ox.NamedNode(insee_territory(kind, a.insee)), g)
        if a.siren:
            yield ox.Quad(s, siren, ox.Literal(a.siren), g)
        if a.population is not None:
            yield ox.Quad(s, population, ox.Literal(str(a.population), datatype=_INTEGER), g)
        if a.epci_type:
            yield ox.Quad(s, type_epci, ox.Literal(a.epci_type), g)
        if a.region and a.region in regions and regions[a.region] != s:
            yield ox.Quad(s, in_region, regions[a.region], g)
        if a.departement and a.departement in departements:
            yield ox.Quad(s, in_departement, departements[a.departement], g)
        for member in a.members:
            m = nodes.setdefault(member, ox.NamedNode(member))
            yield ox.Quad(s, has_member, m, g)
            yield ox.Quad(m, member_of, s, g)
        # The single collectivities took over their départements' councils (Corse 2018,
        # Martinique and Guyane 2015, Mayotte 2011, CeA 2021): dcterms:replaces says so.
        for code in a.territories:
            if code in departements:
                yield ox.Quad(s, replaces, departements[code], g)


def _country_quads(ref: ReferenceData, minter: UriMinter, g: ox.NamedNode) -> Iterator[ox.Quad]:
    pays = _cl("Pays")
    iso2, iso3, cad = _cl("codeIso2"), _cl("codeIso3"), _cl("codeCAD")
    country: Country
    for country in ref.countries.values():
        s = ox.NamedNode(minter.country(country.iso2))
        yield ox.Quad(s, _TYPE, pays, g)
        yield ox.Quad(s, _LABEL, _fr(country.name_fr), g)
        yield ox.Quad(s, _PREF, _fr(country.name_fr), g)
        yield ox.Quad(s, _PREF, _en(country.name_en), g)
        yield ox.Quad(s, iso2, ox.Literal(country.iso2), g)
        yield ox.Quad(s, iso3, ox.Literal(country.iso3), g)
        if country.dac_code:
            yield ox.Quad(s, cad, ox.Literal(country.dac_code), g)


def _theme_quads(g: ox.NamedNode) -> Iterator[ox.Quad]:
    for triple in ox.parse(path=str(THEMES_TTL), format=ox.RdfFormat.TURTLE):
        yield ox.Quad(triple.subject, triple.predicate, triple.object, g)


def _dac_quads(ref: ReferenceData, g: ox.NamedNode) -> Iterator[ox.Quad]:
    scheme = ox.NamedNode(UriMinter.dac_scheme())
    yield ox.Quad(scheme, _TYPE, _SCHEME, g)
    yield ox.Quad(scheme, _PREF, _fr("Secteurs du CAD de l'OCDE"), g)
    yield ox.Quad(scheme, _PREF, _en("OECD-DAC sectors"), g)
    deprecated = ox.NamedNode(OWL + "deprecated")
    for sector in ref.dac_sectors.values():
        s = ox.NamedNode(UriMinter.dac_sector(sector.code))
        yield ox.Quad(s, _TYPE, _CONCEPT, g)
        yield ox.Quad(s, _NOTATION, ox.Literal(sector.code), g)
        # Withdrawn codes have no French name; the English fallback is not tagged @fr.
        if sector.active or sector.name_fr != sector.name_en:
            yield ox.Quad(s, _PREF, _fr(sector.name_fr), g)
        yield ox.Quad(s, _PREF, _en(sector.name_en), g)
        yield ox.Quad(s, _IN_SCHEME, scheme, g)
        if sector.category:
            yield ox.Quad(s, _BROADER, ox.NamedNode(UriMinter.dac_sector(sector.category)), g)
        else:
            yield ox.Quad(s, _TOP_OF, scheme, g)
        if not sector.active:
            yield ox.Quad(s, deprecated, ox.Literal("true", datatype=_BOOLEAN), g)


def _institution_quads(ref: ReferenceData, minter: UriMinter, g: ox.NamedNode) -> Iterator[ox.Quad]:
    homepage, pays, region = ox.NamedNode(FOAF + "homepage"), _cl("pays"), _cl("region")
    sub_of = ox.NamedNode(ORG + "subOrganizationOf")
    by_key = {i.key: i.uri for i in ref.institutions}
    for inst in ref.institutions:
        s = ox.NamedNode(inst.uri)
        yield ox.Quad(s, _TYPE, _cl(inst.cls), g)
        yield ox.Quad(s, _LABEL, _fr(inst.name_fr), g)
        if inst.acronym:
            yield ox.Quad(s, _ALT, _fr(inst.acronym), g)
        if inst.name_en and inst.name_en != inst.name_fr:
            yield ox.Quad(s, _ALT, _en(inst.name_en), g)
        if inst.homepage:
            yield ox.Quad(s, homepage, ox.NamedNode(inst.homepage), g)
        if inst.country:
            yield ox.Quad(s, pays, ox.NamedNode(minter.country(inst.country)), g)
        if inst.parent and inst.parent in by_key:
            yield ox.Quad(s, sub_of, ox.NamedNode(by_key[inst.parent]), g)
        if inst.region:
            yield ox.Quad(s, region, ox.NamedNode(minter.region(inst.region)), g)
