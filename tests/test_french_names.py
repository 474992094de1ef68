"""French authority names as staff write them (issue 12): usual names, EPT, single
collectivities, groupings outside the COG, partner parentheses, warnings counted by kind."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pyoxigraph as ox
import pytest
import rdflib
from typer.testing import CliRunner

from graph.namespaces import CL, UriMinter
from ingest._daect import authority_type
from ingest.records import AuthorityMention, PartnerMention, RawProject
from ingest.resolver import Resolver
from ingest.spreadsheet import read_spreadsheet
from search_api.cli import app
from search_api.knowledge_base import KnowledgeBase
from search_api.settings import Settings

USUAL_NAMES = Path(__file__).parent / "data" / "usual_names.csv"
HEADER = "Intitulé du projet;Collectivité;Type de collectivité;Partenaire;Pays;Année de début"
MINTER = UriMinter()


def _path(resolver: Resolver, name: str, type_text: str = "") -> str:
    """Where a name with its « Type de collectivité » value lands (``epci/200057867``…)."""
    ref, _ = resolver.authority(AuthorityMention(name, authority_type(type_text)))
    return ref.uri.split("/id/", 1)[1] if ref.resolved else "non résolu"


def test_usual_names_resolve_right(resolver: Resolver) -> None:
    with USUAL_NAMES.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) >= 150
    wrong = [
        (r["nom"], r["type"], got)
        for r in rows
        if (got := _path(resolver, r["nom"], r["type"])) != r["attendu"]
    ]
    assert (len(rows) - len(wrong)) / len(rows) >= 0.97, wrong


def test_a_type_column_that_contradicts_the_name_never_gives_a_silent_wrong_hit(
    resolver: Resolver,
) -> None:
    with USUAL_NAMES.open(encoding="utf-8", newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if r["genre"] == "type-contraire"]
    assert len(rows) >= 10
    for row in rows:
        ref, reason = resolver.authority(AuthorityMention(row["nom"], authority_type(row["type"])))
        if ref.resolved:
            assert ref.uri.split("/id/", 1)[1] == row["attendu"], row
            assert reason, f"contradiction non signalée : {row}"
    ref, reason = resolver.authority(AuthorityMention("Région Bretagne", "commune"))
    assert ref.uri == MINTER.region("53")  # not the commune of Bretagne (90)
    assert reason and "« Commune » ne correspond pas" in reason


@pytest.mark.parametrize(
    ("name", "siren"),
    [
        ("Plaine Commune", "200057867"),
        ("Est Ensemble", "200057875"),
        ("Grand-Orly Seine Bièvre", "200058014"),
        ("EPT Paris Terres d'Envol", "200058097"),
        ("Établissement public territorial Grand Paris Grand Est", "200058790"),
    ],
)
def test_the_grand_paris_territories(resolver: Resolver, name: str, siren: str) -> None:
    ref, reason = resolver.authority(AuthorityMention(name))
    assert (ref.uri, ref.type, reason) == (MINTER.epci(siren), "intercommunalite", None)


@pytest.mark.parametrize(
    ("name", "hint", "code", "path"),
    [
        ("Haute-Corse", "departement", None, "region/94"),
        ("Conseil départemental de la Corse-du-Sud", None, None, "region/94"),
        ("", None, "2B", "region/94"),
        ("Conseil général de la Martinique", None, None, "region/02"),
        ("Département de la Guyane", None, None, "region/03"),
        ("Conseil départemental de Mayotte", None, None, "region/06"),
        ("Collectivité européenne d'Alsace", None, None, "collectivite/200094332"),
        ("CeA", "departement", None, "collectivite/200094332"),
        ("Région Sud", "region", None, "region/93"),
        ("Région Réunion", "region", None, "region/04"),
    ],
)
def test_single_collectivities_and_usual_region_names(
    resolver: Resolver, name: str, hint: str | None, code: str | None, path: str
) -> None:
    ref, _ = resolver.authority(AuthorityMention(name, hint, code))
    assert ref.uri.split("/id/", 1)[1] == path


def test_a_former_departement_says_which_collectivity_replaced_it(resolver: Resolver) -> None:
    _, reason = resolver.authority(AuthorityMention("Haute-Corse"))
    assert reason and "laissé place à la collectivité unique ; retenue : Corse" in reason


def test_groupings_outside_the_cog_are_typed_placed_and_flagged(resolver: Resolver) -> None:
    sde, reason = resolver.authority(AuthorityMention("SDE 35", "syndicat"))
    assert (sde.uri, sde.type, sde.departement, sde.resolved) == (
        MINTER.groupement("SDE 35"), "syndicat", "35", False
    )
    assert reason and reason.startswith("groupement hors COG")
    loire, _ = resolver.authority(AuthorityMention("Syndicat départemental d'énergie de la Loire"))
    assert (loire.type, loire.departement) == ("syndicat", "42")
    atlantique, _ = resolver.authority(AuthorityMention("SIAEP de Loire-Atlantique"))
    assert atlantique.departement == "44"  # the longer département name wins
    sdis, _ = resolver.authority(AuthorityMention("SDIS 13", "autre"))
    assert (sdis.type, sdis.departement) == ("etablissement-public", "13")
    chu, _ = resolver.authority(AuthorityMention("CHU de Rennes"))
    assert (chu.type, chu.departement) == ("etablissement-public", None)
    petr, _ = resolver.authority(AuthorityMention("Pôle d'équilibre territorial et rural du Pays"))
    assert petr.type == "syndicat"
    # A commune whose name looks like an acronym stays a commune; a made-up name stays unknown.
    assert _path(resolver, "Sigean") == "commune/11379"
    unknown, why = resolver.authority(AuthorityMention("Communauté imaginaire du Haut-Pays"))
    assert unknown.uri == MINTER.unresolved_authority("Communauté imaginaire du Haut-Pays")
    assert why and "introuvable" in why


def _write(tmp_path: Path, *rows: str) -> Path:
    path = tmp_path / "noms.csv"
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return path


def test_a_partner_keeps_a_parenthesis_that_is_not_a_country(
    resolver: Resolver, tmp_path: Path
) -> None:
    path = _write(
        tmp_path,
        "Forages;Ville de Niort;Commune;Commune de Tchaoudjo 1 (Sokodé);Togo;2020",
        "Santé;Ville de Niort;Commune;Commune de Dakar (Sénégal);Sénégal;2021",
    )
    projects = [resolver.resolve(raw, path.name) for raw in read_spreadsheet(path).records]
    sokode, dakar = (p.partners[0] for p in projects)
    assert (sokode.name, sokode.country) == ("Commune de Tchaoudjo 1 (Sokodé)", "TG")
    assert (dakar.name, dakar.country) == ("Commune de Dakar", "SN")
    assert [p.countries for p in projects] == [["TG"], ["SN"]]
    assert not [i.reason for p in projects for i in p.issues]  # no « Pays inconnu : Sokodé »


def test_the_pays_column_wins_over_a_country_in_the_name(resolver: Resolver) -> None:
    raw = RawProject(None, {"fr": "Eau"}, partners=[PartnerMention("Ville de Kayes", "Mali",
                                                                   aside="Sénégal")])  # fmt: skip
    partner = resolver.resolve(raw, "f.csv").partners[0]
    assert (partner.name, partner.country) == ("Ville de Kayes", "ML")


@pytest.fixture(scope="module")
def kb(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeBase:
    return KnowledgeBase(Settings(data_dir=tmp_path_factory.mktemp("names")))


ROWS = (
    "Énergie solaire;SDE 35;Syndicat;Commune de Kaya (Burkina Faso);Burkina Faso;2020",
    "Secours;SDIS 13;Autre;Ville de Dakar (Sénégal);Sénégal;2019",
    "Eau;Ville de Saint-Denis;Commune;Commune de Podor (Sénégal);Sénégal;2018",
    "Culture;Communauté imaginaire du Haut-Pays;;Commune de Matam (Sénégal);Sénégal;2021",
    "Déchets;Mulhouse Alsace Agglomération;Communauté d'agglomération;Commune de Sousse;Tunisie;"
    "2022",
)


def test_groupings_land_typed_in_the_graph_and_apart_in_the_report(
    kb: KnowledgeBase, tmp_path: Path
) -> None:
    batch = kb.pipeline().prepare(_write(tmp_path, *ROWS))
    data = ox.serialize([q.triple for q in batch.quads], format=ox.RdfFormat.N_TRIPLES)
    graph = rdflib.Graph().parse(data=bytes(data or b"").decode("utf-8"), format="nt")
    sde = rdflib.URIRef(MINTER.groupement("SDE 35"))
    assert (sde, rdflib.RDF.type, rdflib.URIRef(CL + "Syndicat")) in graph
    assert (sde, rdflib.URIRef(CL + "departement"), rdflib.URIRef(MINTER.departement("35"))) in (
        graph
    )
    assert (sde, rdflib.URIRef(CL + "nonResolu"), None) in graph
    sdis = rdflib.URIRef(MINTER.groupement("SDIS 13"))
    assert (sdis, rdflib.RDF.type, rdflib.URIRef(CL + "EtablissementPublic")) in graph
    report = batch.report
    assert report.records_landed == 5  # the SHACL shapes accept the new class
    assert report.unresolved["groupements"] == ["SDE 35", "SDIS 13"]
    assert report.unresolved["collectivites"] == ["Communauté imaginaire du Haut-Pays"]
    summary = report.as_dict()
    assert summary["warning_kinds"] == {
        "groupement-hors-cog": 2,
        "homonyme": 1,
        "collectivite-inconnue": 1,
    }
    assert summary["warning_summary"] == (
        "2 groupements hors COG, 1 homonyme départagé, 1 nom inconnu"
    )
    assert {w["kind"] for w in summary["warnings"]} == {  # type: ignore[attr-defined]
        "groupement-hors-cog", "homonyme", "collectivite-inconnue"
    }  # fmt: skip


def test_validate_prints_the_counts_by_kind(tmp_path: Path) -> None:
    path = _write(tmp_path, *ROWS)
    data_dir = str(tmp_path / "v")
    result = CliRunner().invoke(app, ["validate", str(path), "--data-dir", data_dir])
    assert result.exit_code == 0
    text = " ".join(result.stderr.split())
    assert "Avertissements : 2 groupements hors COG, 1 homonyme départagé, 1 nom inconnu" in text
    result = CliRunner().invoke(app, ["validate", str(path), "--json", "--data-dir", data_dir])
    files = json.loads(result.stdout)["files"]
    assert files[0]["warning_kinds"]["groupement-hors-cog"] == 2
