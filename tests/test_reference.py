"""The vendored reference data: what users search and filter by must be real and complete."""

from __future__ import annotations

from collections import Counter

import pyoxigraph as ox
import pytest

import ingest.reference
from graph import reference_tables
from graph.namespaces import CL, DAC, RDF, RDFS, SKOS, THEME, UriMinter
from graph.reference_tables import REFERENCE_DIR
from ingest.normalise import name_key
from ingest.reference import FrenchAuthority, ReferenceData
from ingest.reference_graph import reference_quads

GRAPH = ox.NamedNode("http://example.org/graph/reference")
METRO_AND_OVERSEAS_REGIONS = {"01", "02", "03", "04", "06", "11", "24", "27", "28", "32", "44",
                              "52", "53", "75", "76", "84", "93", "94"}  # fmt: skip


@pytest.fixture(scope="module")
def ref() -> ReferenceData:
    return ReferenceData.load()


@pytest.fixture(scope="module")
def store(ref: ReferenceData) -> ox.Store:
    store = ox.Store()
    store.bulk_extend(reference_quads(ref, GRAPH))
    return store


def _by(ref: ReferenceData, kind: str) -> dict[str, FrenchAuthority]:
    return {a.insee or a.siren or "": a for a in ref.authorities if a.type == kind}


def _values(store: ox.Store, query: str) -> list[str]:
    """The first column of a SPARQL SELECT, as strings."""
    rows = store.query(query)
    assert isinstance(rows, ox.QuerySolutions)
    return [str(getattr(row[0], "value", row[0])) for row in rows]


def test_all_regions_and_departements_are_present(ref: ReferenceData) -> None:
    region_level = {a.insee for a in ref.authorities if a.type in ("region", "statut-particulier")}
    assert region_level >= METRO_AND_OVERSEAS_REGIONS
    departements = _by(ref, "departement")
    assert len(departements) == 101
    assert {"2A", "2B", "971", "976"} <= departements.keys()
    assert all(a.region for a in ref.authorities if a.type == "departement")


def test_communes_and_epci_counts(ref: ReferenceData) -> None:
    counts = ref.authority_counts()
    # 34,969 communes actuelles minus the 6 districts of TAAF and Clipperton (no local authority).
    assert counts["commune"] == 34_963
    # 1,255 EPCI, of which the Métropole de Lyon is a collectivité à statut particulier, and the
    # 11 établissements publics territoriaux of the Grand Paris.
    assert counts["intercommunalite"] == 1_254 + 11
    lyon = next(a for a in ref.authorities if a.siren == "200046977")
    assert (lyon.type, lyon.epci_type) == ("statut-particulier", "MET69")
    assert len(lyon.members) == 58  # COG 2026


def test_paris_has_its_siren_and_population(ref: ReferenceData) -> None:
    paris = _by(ref, "commune")["75056"]
    assert (paris.name, paris.siren) == ("Paris", "217500016")
    assert (paris.population or 0) > 2_000_000


def test_epci_members_are_commune_uris(ref: ReferenceData) -> None:
    mel = next(a for a in ref.authorities if a.siren == "200093201")
    assert mel.name == "Métropole Européenne de Lille"
    assert UriMinter(ref.base_uri).commune("59350") in mel.members  # Lille
    assert (mel.departement, mel.region) == ("59", "32")


def test_collectivites_a_statut_particulier(ref: ReferenceData) -> None:
    special = {a.name for a in ref.authorities if a.type == "statut-particulier"}
    assert {"Corse", "Martinique", "Guyane", "Mayotte", "Polynésie française",
            "Nouvelle-Calédonie", "Métropole de Lyon"} <= special  # fmt: skip
    assert not any(a.insee in ("984", "989") for a in ref.authorities)


def test_french_country_names_are_display_forms(ref: ReferenceData) -> None:
    countries = ref.countries
    assert countries["SN"].name_fr == "Sénégal"
    assert countries["KR"].name_fr == "Corée du Sud"
    assert countries["CD"].name_fr == "République démocratique du Congo"
    assert countries["VN"].name_fr == "Viêt Nam"
    assert countries["PS"].name_fr == "Territoires palestiniens"
    assert countries["SN"].dac_code == "269" and countries["CD"].dac_code == "235"
    assert countries["XK"].dac_code == "57"
    awkward = [c.iso2 for c in countries.values() if ", " in c.name_fr or ", " in c.name_en]
    assert awkward == []


def test_themes_have_labels_and_dac_matches(ref: ReferenceData) -> None:
    assert len(ref.themes) == 19
    for theme in ref.themes.values():
        assert theme.label_fr and theme.label_en and theme.definition_fr and theme.definition_en
        assert len(theme.alt_labels) >= 5
    assert ref.themes["eau-assainissement"].label_fr == "Eau et assainissement"
    assert ref.themes["eau-assainissement"].dac_categories == ("140",)
    assert all(c in ref.dac_sectors for t in ref.themes.values() for c in t.dac_categories)


def test_theme_labels_are_unambiguous(ref: ReferenceData) -> None:
    """A label typed in a spreadsheet must designate one theme only."""
    owners: dict[str, set[str]] = {}
    for t in ref.themes.values():
        for label in (t.slug, t.label_fr, t.label_en, *t.alt_labels):
            owners.setdefault(name_key(label), set()).add(t.slug)
    assert {k: v for k, v in owners.items() if len(v) > 1} == {}


def test_dac_sectors_in_french(ref: ReferenceData) -> None:
    water = ref.dac_sectors["14030"]
    assert water.name_fr.startswith("Approvisionnement en eau potable")
    assert water.category == "140"
    assert ref.dac_sectors["140"].name_fr == "Distribution d'Eau et Assainissement"
    assert ref.dac_sectors["15112"].name_fr.startswith("Décentralisation")


def test_national_institutions_and_networks(ref: ReferenceData) -> None:
    by_name = {i.name_fr: i for i in ref.institutions}
    assert by_name["Cités Unies France"].cls == "AssociationNationaleElus"
    assert by_name["Agence française de développement"].acronym == "AFD"
    daect = by_name["Délégation pour l'action extérieure des collectivités territoriales"]
    assert (daect.acronym, daect.parent) == ("DAECT", "meae")
    assert "Commission nationale de la coopération décentralisée" in by_name
    assert by_name["RESACOOP"].region == "84"
    assert "/id/reseau/" in by_name["Cités Unies France"].uri
    assert "/id/acteur/" in by_name["Agence française de développement"].uri
    assert len({i.key for i in ref.institutions}) == len(ref.institutions)


def test_every_embassy_has_a_scac(ref: ReferenceData) -> None:
    embassies = {i.key for i in ref.institutions if i.cls == "Ambassade"}
    scac_parents = {i.parent for i in ref.institutions if i.cls == "SCAC"}
    assert len(embassies) > 100
    assert embassies == scac_parents
    names = {i.name_fr for i in ref.institutions}
    assert {"Ambassade de France au Sénégal", "Ambassade de France en Côte d'Ivoire",
            "Ambassade de France aux Comores", "Ambassade de France à Madagascar",
            "Institut français du Sénégal", "Institut français d'Algérie"} <= names  # fmt: skip


def test_reference_graph_types_each_subject_once(store: ox.Store) -> None:
    types: Counter[str] = Counter()
    for quad in store.quads_for_pattern(None, ox.NamedNode(RDF + "type"), None, GRAPH):
        types[str(quad.subject)] += 1
    assert types and max(types.values()) == 1


def test_reference_graph_content(ref: ReferenceData, store: ox.Store) -> None:
    minter = UriMinter(ref.base_uri)
    ille = ox.NamedNode(minter.departement("35"))
    rdf_type, in_region = ox.NamedNode(RDF + "type"), ox.NamedNode(CL + "region")
    assert ox.Quad(ille, rdf_type, ox.NamedNode(CL + "Departement"), GRAPH) in store
    assert ox.Quad(ille, in_region, ox.NamedNode(minter.region("53")), GRAPH) in store
    label = ox.Literal("Sénégal", language="fr")
    senegal = ox.NamedNode(minter.country("SN"))
    assert ox.Quad(senegal, ox.NamedNode(RDFS + "label"), label, GRAPH) in store
    water = _values(
        store,
        f"""SELECT ?label WHERE {{ GRAPH ?g {{
        <{DAC}14030> <{SKOS}broader> <{DAC}140> ; <{SKOS}prefLabel> ?label .
        FILTER(lang(?label) = "fr") }} }}""",
    )
    assert water[0].startswith("Approvisionnement en eau potable")
    themes = _values(
        store,
        f"""SELECT ?t WHERE {{ GRAPH ?g {{
        ?t <{SKOS}inScheme> <{THEME.rstrip("/")}> ; <{SKOS}closeMatch> ?dac }} }}""",
    )
    assert len(set(themes)) == 18  # all but francophonie have a DAC match
    members = _values(
        store,
        """SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g {
        ?c <http://www.w3.org/ns/org#memberOf> ?e } }""",
    )
    assert int(members[0]) > 30_000


def test_reference_graph_round_trips_as_nquads(store: ox.Store) -> None:
    data = store.dump(format=ox.RdfFormat.N_QUADS)
    assert data is not None
    assert sum(1 for _ in ox.parse(data, format=ox.RdfFormat.N_QUADS)) == len(store)


def test_uris_follow_the_configured_base() -> None:
    ref = ReferenceData.load("https://coop.example.org/")
    assert ref.authorities[0].uri.startswith("https://coop.example.org/id/region/")
    assert next(i for i in ref.institutions if i.key == "afd").uri == (
        "https://coop.example.org/id/acteur/afd"
    )


def test_vendored_files_are_small_and_licensed() -> None:
    total = sum(p.stat().st_size for p in REFERENCE_DIR.iterdir())
    assert total < 3_000_000
    assert {"LICENCE-etalab-2.0.txt", "LICENCE-CC-BY-4.0.txt", "LICENCE-MIT-fr-crs-iati.txt"} <= {
        p.name for p in REFERENCE_DIR.iterdir()
    }


def test_the_tables_sit_on_the_ground_floor() -> None:
    """Ingest and search read the same tables from ``graph/reference/``; the resolver's module
    still hands out the names it always did."""
    assert REFERENCE_DIR.parent.name == "graph" and (REFERENCE_DIR / "regions.csv").is_file()
    assert ingest.reference.REFERENCE_DIR is REFERENCE_DIR
    assert ingest.reference.Country is reference_tables.Country
    senegal = ingest.reference.load_countries()["SN"]
    assert reference_tables.dac_regions()["SN"] == senegal.dac_region == (
        "South of Sahara, regional")


def test_the_eleven_ept_are_typed_with_siren_and_members(
    ref: ReferenceData, store: ox.Store
) -> None:
    ept = {a.siren: a for a in ref.authorities if a.epci_type == "EPT"}
    assert len(ept) == 11
    plaine = ept["200057867"]
    assert (plaine.name, plaine.type, plaine.departement) == ("Plaine Commune", "intercommunalite",
                                                              "93")  # fmt: skip
    minter = UriMinter(ref.base_uri)
    assert minter.commune("93066") in plaine.members  # Saint-Denis
    uri = minter.epci("200057867")
    assert _values(
        store,
        f"SELECT ?t WHERE {{ GRAPH ?g {{ <{uri}> a <{CL}Intercommunalite> ; "
        f'<{CL}typeEPCI> ?t ; <{CL}siren> "200057867" }} }}',
    ) == ["EPT"]
    members = _values(
        store,
        f"SELECT ?m WHERE {{ GRAPH ?g {{ <{uri}> <http://www.w3.org/ns/org#hasMember> ?m }} }}",
    )
    assert len(members) == 8


def test_single_collectivities_replace_their_departements(
    ref: ReferenceData, store: ox.Store
) -> None:
    minter = UriMinter(ref.base_uri)
    replaces = "http://purl.org/dc/terms/replaces"
    corse = _values(
        store, f"SELECT ?d WHERE {{ GRAPH ?g {{ <{minter.region('94')}> <{replaces}> ?d }} }}"
    )
    assert sorted(corse) == [minter.departement("2A"), minter.departement("2B")]
    cea = next(a for a in ref.authorities if a.siren == "200094332")
    assert (cea.name, cea.type, cea.region) == ("Collectivité européenne d'Alsace",
                                                "statut-particulier", "44")  # fmt: skip
    assert cea.uri == minter.collectivite("200094332")
    alsace = _values(store, f"SELECT ?d WHERE {{ GRAPH ?g {{ <{cea.uri}> <{replaces}> ?d }} }}")
    assert sorted(alsace) == [minter.departement("67"), minter.departement("68")]
    assert _values(store, f"SELECT ?c WHERE {{ GRAPH ?g {{ <{cea.uri}> a ?c }} }}") == [
        f"{CL}CollectiviteStatutParticulier"
    ]
