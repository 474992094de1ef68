"""SHACL validation of ingested records: a conformant project passes, each kind of broken record
is reported on the right node and property, with a French message."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from decimal import Decimal

import pytest
from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS, RDF, RDFS, SKOS
from rdflib.term import Node

from graph.namespaces import CL as CL_IRI
from graph.namespaces import PROV as PROV_IRI
from graph.namespaces import XSD as XSD_IRI
from ingest.validation import (
    OntologyFileNotFound,
    Shapes,
    Violation,
    errors,
    ontology_path,
    validate,
)

CL = Namespace(CL_IRI)
PROV = Namespace(PROV_IRI)
XSD = Namespace(XSD_IRI)  # plain Namespace: rdflib's closed one warns under pytest's collection
ID = Namespace("https://w3id.org/cooplink/id/")
PROJECT = ID["projet/x"]
PARTICIPATION = ID["projet/x/participation/1"]
THEME_SCHEME = URIRef("https://w3id.org/cooplink/theme")

#: A project as the mapping writes it, plus the rdf:type / skos:inScheme triples of what it
#: references (the sub-graph the ingest validates).  The French authority is only typed
#: cl:Commune: accepting it where cl:CollectiviteTerritoriale is required needs the ontology's
#: class hierarchy, which ingest.validation mixes in.
CONFORMANT = """
@prefix cl: <https://w3id.org/cooplink/def#> .
@prefix dcterms: <http://purl.org/dc/terms/> .
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix prov: <http://www.w3.org/ns/prov#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix theme: <https://w3id.org/cooplink/theme/> .
@prefix cad: <https://w3id.org/cooplink/secteur-cad/> .
@prefix projet: <https://w3id.org/cooplink/id/projet/> .
@prefix pays: <https://w3id.org/cooplink/id/pays/> .
@prefix commune: <https://w3id.org/cooplink/id/commune/> .
@prefix etrangere: <https://w3id.org/cooplink/id/collectivite-etrangere/> .
@prefix acteur: <https://w3id.org/cooplink/id/acteur/> .

projet:x a cl:Projet ;
    dcterms:identifier "x" ;
    dcterms:title "Accès à l'eau potable à Dori"@fr , "Drinking water in Dori"@en ;
    dcterms:description "Construction de forages et formation des comités de gestion."@fr ;
    dcterms:language "fr" ;
    cl:anneeDebut 2019 ;
    cl:anneeFin 2021 ;
    cl:coutTotal 120000.50 ;
    cl:cofinancementMEAE 40000.0 ;
    cl:partCollectivites 30000.0 ;
    cl:devise "EUR" ;
    cl:statut cl:statutTermine ;
    cl:theme theme:eau-assainissement ;
    cl:secteurCAD cad:14030 ;
    cl:pays pays:BF ;
    cl:collectiviteFrancaise commune:35238 ;
    cl:partenaireEtranger etrangere:bf-dori ;
    cl:participation <https://w3id.org/cooplink/id/projet/x/participation/1> ;
    cl:synthetique true ;
    cl:ligneSource 3 ;
    prov:wasGeneratedBy <https://w3id.org/cooplink/provenance/daect/0123456789abcdef> .

<https://w3id.org/cooplink/id/projet/x/participation/1> a cl:Participation ;
    cl:acteur acteur:afd ;
    cl:role cl:roleFinanceur .

etrangere:bf-dori a cl:CollectiviteEtrangere ;
    rdfs:label "Dori"@fr ;
    cl:pays pays:BF .

pays:BF a cl:Pays .
commune:35238 a cl:Commune .
acteur:afd a cl:AgenceDeveloppement .
<https://w3id.org/cooplink/provenance/daect/0123456789abcdef> a prov:Activity .
theme:eau-assainissement a skos:Concept ; skos:inScheme <https://w3id.org/cooplink/theme> .
cad:14030 a skos:Concept ; skos:inScheme <https://w3id.org/cooplink/secteur-cad> .
"""


@pytest.fixture(scope="module")
def shapes() -> Shapes:
    return Shapes.load()


def conformant() -> Graph:
    return Graph().parse(data=CONFORMANT, format="turtle")


Triple = tuple[Node, Node, Node]
Pattern = tuple[Node | None, Node | None, Node | None]


def variant(remove: Sequence[Pattern] = (), add: Sequence[Triple] = ()) -> Graph:
    """The conformant graph with triples removed (None = wildcard) and added."""
    g = conformant()
    for pattern in remove:
        g.remove(pattern)
    for triple in add:
        g.add(triple)
    return g


def only(violations: list[Violation]) -> Violation:
    errs = errors(violations)
    assert len(errs) == 1, errs
    return errs[0]


def test_conformant_project_validates_clean(shapes: Shapes) -> None:
    assert shapes.validate(conformant()) == []


def test_validation_leaves_the_data_graph_untouched(shapes: Shapes) -> None:
    g = conformant()
    before = set(g)
    shapes.validate(g)
    assert set(g) == before


def test_missing_title(shapes: Shapes) -> None:
    v = only(shapes.validate(variant(remove=[(PROJECT, DCTERMS.title, None)])))
    assert (v.focus_node, v.path, v.severity) == (str(PROJECT), "dcterms:title", "Violation")
    assert "titre" in v.message_fr
    assert "title" in v.message_en


def test_title_without_language_tag(shapes: Shapes) -> None:
    g = variant(
        remove=[(PROJECT, DCTERMS.title, None)],
        add=[(PROJECT, DCTERMS.title, Literal("Eau potable"))],
    )
    assert only(shapes.validate(g)).path == "dcterms:title"


def test_end_year_before_start_year(shapes: Shapes) -> None:
    g = variant(
        remove=[(PROJECT, CL.anneeFin, None)],
        add=[(PROJECT, CL.anneeFin, Literal(2017))],
    )
    v = only(shapes.validate(g))
    assert v.path == "cl:anneeDebut"
    assert "précède" in v.message_fr
    assert v.value == "2019"


def test_negative_cost(shapes: Shapes) -> None:
    g = variant(
        remove=[(PROJECT, CL.coutTotal, None)],
        add=[(PROJECT, CL.coutTotal, Literal(Decimal("-1.5")))],
    )
    v = only(shapes.validate(g))
    assert (v.path, v.value) == ("cl:coutTotal", "-1.5")
    assert "montant" in v.message_fr


def test_amount_must_be_decimal(shapes: Shapes) -> None:
    g = variant(
        remove=[(PROJECT, CL.partCollectivites, None)],
        add=[(PROJECT, CL.partCollectivites, Literal("trente mille"))],
    )
    assert only(shapes.validate(g)).path == "cl:partCollectivites"


def test_year_1800_is_out_of_range(shapes: Shapes) -> None:
    g = variant(
        remove=[(PROJECT, CL.anneeDebut, None)],
        add=[(PROJECT, CL.anneeDebut, Literal(1800))],
    )
    v = only(shapes.validate(g))
    assert (v.path, v.value) == ("cl:anneeDebut", "1800")
    assert "1950" in v.message_fr


def test_unknown_status(shapes: Shapes) -> None:
    g = variant(
        remove=[(PROJECT, CL.statut, None)],
        add=[(PROJECT, CL.statut, CL.statutInconnu)],
    )
    v = only(shapes.validate(g))
    assert (v.path, v.value) == ("cl:statut", str(CL.statutInconnu))


def test_theme_not_in_the_theme_scheme(shapes: Shapes) -> None:
    stray = URIRef("https://w3id.org/cooplink/theme/astronautique")
    other_scheme = URIRef("http://example.org/autre-schema")
    g = variant(
        add=[
            (PROJECT, CL.theme, stray),
            (stray, RDF.type, SKOS.Concept),
            (stray, SKOS.inScheme, other_scheme),
        ]
    )
    v = only(shapes.validate(g))
    assert (v.focus_node, v.path, v.value) == (str(PROJECT), "cl:theme", str(stray))
    assert "thématique" in v.message_fr


def test_two_identifiers(shapes: Shapes) -> None:
    g = variant(add=[(PROJECT, DCTERMS.identifier, Literal("y"))])
    v = only(shapes.validate(g))
    assert v.path == "dcterms:identifier"
    assert "exactement un identifiant" in v.message_fr


def test_unknown_role_is_reported_on_the_participation(shapes: Shapes) -> None:
    g = variant(
        remove=[(PARTICIPATION, CL.role, None)],
        add=[(PARTICIPATION, CL.role, CL.roleSpectateur)],
    )
    v = only(shapes.validate(g))
    assert (v.focus_node, v.path) == (str(PARTICIPATION), "cl:role")


def test_untyped_participation_is_still_checked(shapes: Shapes) -> None:
    g = variant(remove=[(PARTICIPATION, RDF.type, None), (PARTICIPATION, CL.acteur, None)])
    v = only(shapes.validate(g))
    assert (v.focus_node, v.path) == (str(PARTICIPATION), "cl:acteur")


def test_foreign_authority_cannot_be_the_french_authority(shapes: Shapes) -> None:
    g = variant(add=[(PROJECT, CL.collectiviteFrancaise, ID["collectivite-etrangere/bf-dori"])])
    v = only(shapes.validate(g))
    assert (v.path, v.value) == (
        "cl:collectiviteFrancaise",
        str(ID["collectivite-etrangere/bf-dori"]),
    )


def test_without_class_hierarchy_a_commune_is_not_an_authority() -> None:
    """Why ingest.validation mixes the ontology in: sh:class reads the data graph only."""
    bare = Shapes(graph=Shapes.load().graph, hierarchy=Graph())
    paths = {v.path for v in errors(bare.validate(conformant()))}
    assert "cl:collectiviteFrancaise" in paths


def test_project_without_french_authority_is_only_a_warning(shapes: Shapes) -> None:
    results = shapes.validate(variant(remove=[(PROJECT, CL.collectiviteFrancaise, None)]))
    assert errors(results) == []
    assert [(v.severity, v.path) for v in results] == [("Warning", "cl:collectiviteFrancaise")]


def test_referenced_entities_known_only_by_type_are_not_checked(shapes: Shapes) -> None:
    """pays:BF has no cl:codeIso2 in the sub-graph: fine, it is described elsewhere."""
    assert errors(shapes.validate(conformant())) == []


def test_described_country_is_checked(shapes: Shapes) -> None:
    bf = ID["pays/BF"]
    v = only(shapes.validate(variant(add=[(bf, CL.codeIso2, Literal("bf"))])))
    assert (v.focus_node, v.path, v.value) == (str(bf), "cl:codeIso2", "bf")


def test_described_foreign_authority_needs_a_name(shapes: Shapes) -> None:
    dori = ID["collectivite-etrangere/bf-dori"]
    # Still described (cl:pays): only entities known by their type alone are skipped.
    v = only(shapes.validate(variant(remove=[(dori, RDFS.label, None)])))
    assert (v.focus_node, v.path) == (str(dori), "rdfs:label")


def test_foreign_authority_without_country_is_a_warning_with_two_an_error(shapes: Shapes) -> None:
    dori = ID["collectivite-etrangere/bf-dori"]
    missing = shapes.validate(variant(remove=[(dori, CL.pays, None)]))
    assert [(v.severity, v.focus_node, v.path) for v in missing] == [
        ("Warning", str(dori), "cl:pays")
    ]
    two = shapes.validate(
        variant(add=[(dori, CL.pays, ID["pays/SN"]), (ID["pays/SN"], RDF.type, CL.Pays)])
    )
    assert [(v.focus_node, v.path) for v in errors(two)] == [(str(dori), "cl:pays")]


def test_described_french_authority_codes(shapes: Shapes) -> None:
    rennes = ID["commune/35238"]
    good = [
        (rennes, RDFS.label, Literal("Rennes", lang="fr")),
        (rennes, CL.codeInsee, Literal("35238")),
        (rennes, CL.siren, Literal("213502388")),
    ]
    assert shapes.validate(variant(add=good)) == []
    epci = ID["epci/200039022"]
    g = variant(
        add=[
            (epci, RDF.type, CL.Intercommunalite),
            (epci, RDFS.label, Literal("Rennes Métropole", lang="fr")),
            # Typed and plain strings are both accepted (the mapping may write either).
            (epci, CL.typeEPCI, Literal("METRO", datatype=XSD.string)),
            (epci, CL.siren, Literal("20003902")),  # 8 digits
        ]
    )
    v = only(shapes.validate(g))
    assert (v.focus_node, v.path, v.value) == (str(epci), "cl:siren", "20003902")


def test_partnership_links_one_authority_on_each_side(shapes: Shapes) -> None:
    partnership = ID["partenariat/abc"]
    g = variant(
        add=[
            (PROJECT, CL.partenariat, partnership),
            (partnership, RDF.type, CL.Jumelage),
            (partnership, CL.collectiviteFrancaise, ID["commune/35238"]),
            (partnership, CL.anneeSignature, Literal(1962)),
        ]
    )
    v = only(shapes.validate(g))
    assert (v.focus_node, v.path) == (str(partnership), "cl:partenaireEtranger")


def test_import_source_digest(shapes: Shapes) -> None:
    source = URIRef("https://w3id.org/cooplink/source/0123456789abcdef")
    g = variant(
        add=[
            (source, RDF.type, CL.ImportSource),
            (source, CL.sha256, Literal("0123")),
            (source, DCTERMS.source, Literal("daect.xlsx")),
        ]
    )
    assert only(shapes.validate(g)).path == "cl:sha256"


def test_validate_function_loads_the_shapes_itself() -> None:
    violations = validate(variant(remove=[(PROJECT, DCTERMS.identifier, None)]))
    assert [v.path for v in errors(violations)] == ["dcterms:identifier"]
    assert violations[0].as_dict()["message"] == violations[0].message_fr


def test_synthetic_corpus_validates_clean(shapes: Shapes) -> None:
    g = synthetic_projects(20)
    assert len(g) > 20 * 25
    assert shapes.validate(g) == []


def test_ontology_path() -> None:
    assert ontology_path("shapes.ttl").is_file()
    with pytest.raises(OntologyFileNotFound):
        ontology_path("absent.ttl")


# --- synthetic sub-graphs (also used to time pyshacl, see docs/ontology.md) -----------------


def synthetic_projects(n: int) -> Graph:
    """``n`` conformant projects of ~25 triples each plus the types of what they reference."""
    g = Graph()
    for triple in _references():
        g.add(triple)
    for i in range(n):
        for triple in _project(i):
            g.add(triple)
    return g


_STATUSES = [CL.statutPrevu, CL.statutEnCours, CL.statutTermine]
_THEMES = [URIRef(f"https://w3id.org/cooplink/theme/t{k}") for k in range(19)]
_COUNTRIES = [ID[f"pays/{c}"] for c in ("BF", "SN", "ML", "MA", "VN", "HT", "MG", "BJ")]


def _references() -> Iterator[Triple]:
    for theme in _THEMES:
        yield theme, RDF.type, SKOS.Concept
        yield theme, SKOS.inScheme, THEME_SCHEME
    for country in _COUNTRIES:
        yield country, RDF.type, CL.Pays
    for k in range(50):
        yield ID[f"commune/{35000 + k}"], RDF.type, CL.Commune
    yield ID["acteur/afd"], RDF.type, CL.AgenceDeveloppement
    yield URIRef("https://w3id.org/cooplink/provenance/synthetique/0"), RDF.type, PROV.Activity


def _project(i: int) -> Iterator[Triple]:
    p = ID[f"projet/p{i}"]
    partner = ID[f"collectivite-etrangere/p{i}"]
    participation = ID[f"projet/p{i}/participation/1"]
    country = _COUNTRIES[i % len(_COUNTRIES)]
    start = 1990 + i % 30
    yield p, RDF.type, CL.Projet
    yield p, DCTERMS.identifier, Literal(f"p{i}")
    yield p, DCTERMS.title, Literal(f"Projet {i} : appui à la gestion de l'eau", lang="fr")
    yield p, DCTERMS.description, Literal(f"Description du projet {i}.", lang="fr")
    yield p, DCTERMS.language, Literal("fr")
    yield p, CL.anneeDebut, Literal(start)
    yield p, CL.anneeFin, Literal(start + 2)
    yield p, CL.coutTotal, Literal(Decimal(10000 + i))
    yield p, CL.cofinancementMEAE, Literal(Decimal(3000))
    yield p, CL.devise, Literal("EUR")
    yield p, CL.statut, _STATUSES[i % len(_STATUSES)]
    yield p, CL.theme, _THEMES[i % len(_THEMES)]
    yield p, CL.theme, _THEMES[(i + 7) % len(_THEMES)]
    yield p, CL.pays, country
    yield p, CL.collectiviteFrancaise, ID[f"commune/{35000 + i % 50}"]
    yield p, CL.partenaireEtranger, partner
    yield p, CL.participation, participation
    yield p, CL.synthetique, Literal(True)
    yield p, PROV.wasGeneratedBy, URIRef("https://w3id.org/cooplink/provenance/synthetique/0")
    yield participation, RDF.type, CL.Participation
    yield participation, CL.acteur, ID["acteur/afd"]
    yield participation, CL.role, CL.roleFinanceur
    yield partner, RDF.type, CL.CollectiviteEtrangere
    yield partner, RDFS.label, Literal(f"Partenaire {i}", lang="fr")
    yield partner, CL.pays, country
    yield partner, CL.synthetique, Literal(True)
