"""Name resolution: what people type in spreadsheets must land on the right reference entity."""

from __future__ import annotations

import pytest

from graph.namespaces import UriMinter
from ingest.normalise import fold, name_key, split_values
from ingest.records import ActorMention, AuthorityMention, PartnerMention, RawProject
from ingest.resolver import Resolver


def _code(resolver: Resolver, name: str, hint: str | None = None, code: str | None = None) -> str:
    """The last URI segment (INSEE code or SIREN) the mention resolves to."""
    ref, _ = resolver.authority(AuthorityMention(name, hint, code))
    assert ref.resolved, name
    return ref.uri.rsplit("/", 1)[1]


def test_fold_and_keys() -> None:
    assert fold("  Côte d’Ivoire ") == fold("COTE D'IVOIRE") == "cote d'ivoire"
    assert fold("Œuvre\u00a0sociale") == "oeuvre sociale"
    assert name_key("St-Étienne") == name_key("SAINT ETIENNE") == "saint etienne"
    assert name_key("Année de début") == name_key("ANNEE DE DEBUT")
    assert split_values("Sénégal ; Mali / Niger") == ["Sénégal", "Mali", "Niger"]


@pytest.mark.parametrize(
    ("name", "kind", "code"),
    [
        ("Ville de Montreuil", "commune", "93048"),
        ("Département d'Ille-et-Vilaine", "departement", "35"),
        ("Conseil départemental du Nord", "departement", "59"),
        ("Conseil général de la Gironde", "departement", "33"),
        ("Région Bretagne", "region", "53"),
        ("Conseil régional d'Île-de-France", "region", "11"),
        ("Métropole Européenne de Lille", "intercommunalite", "200093201"),
        ("Eurométropole de Strasbourg", "intercommunalite", "246700488"),
        ("Communauté d'agglomération du Grand Angoulême", "intercommunalite", "200071827"),
        ("CA Grand Angoulême", "intercommunalite", "200071827"),
        ("Mairie de St-Étienne", "commune", "42218"),
        ("Ville du Havre", "commune", "76351"),
        ("Commune de L'Haÿ-les-Roses", "commune", "94038"),
        ("Ville-d'Avray", "commune", "92077"),
        ("Paris", "commune", "75056"),
        ("Grand Lyon", "statut-particulier", "200046977"),
        ("Collectivité de Corse", "statut-particulier", "94"),
        ("Guyane", "statut-particulier", "03"),
        ("BRETAGNE", "region", "53"),
    ],
)
def test_authority_by_name(resolver: Resolver, name: str, kind: str, code: str) -> None:
    ref, _ = resolver.authority(AuthorityMention(name))
    assert (ref.type, ref.uri.rsplit("/", 1)[1], ref.resolved) == (kind, code, True)


def test_authority_by_code(resolver: Resolver) -> None:
    assert _code(resolver, "Mairie", code="217500016") == "75056"  # SIREN of Paris
    assert _code(resolver, "", code="217 500 016") == "75056"
    assert _code(resolver, "", code="21750001600019") == "75056"  # a SIRET
    assert _code(resolver, "", code="35238") == "35238"
    assert _code(resolver, "", code="2A004") == "2A004"
    assert _code(resolver, "", code="35") == "35"
    assert _code(resolver, "", "region", code="53") == "53"
    assert _code(resolver, "200093201") == "200093201"  # a code typed in the name column


def test_homonyms_prefer_hint_then_departement_then_population(resolver: Resolver) -> None:
    ref, reason = resolver.authority(AuthorityMention("Saint-Denis"))
    assert ref.uri.endswith("/commune/97411")  # La Réunion's, the most populous
    assert reason and "homonymes" in reason
    assert _code(resolver, "Saint-Denis (93)") == "93066"
    assert _code(resolver, "Saint-Denis (Seine-Saint-Denis)") == "93066"
    assert _code(resolver, "Saint-Denis 93") == "93066"
    assert _code(resolver, "Saint-Denis (La Réunion)") == "97411"
    assert resolver.authority(AuthorityMention("Saint-Denis (93)"))[1] is None
    assert _code(resolver, "Mayenne") == "53"  # the département by default
    assert _code(resolver, "Mayenne", "commune") == "53147"
    assert _code(resolver, "Martinique", "departement") == "02"  # the collectivité unique


def test_unresolved_authority_is_flagged(resolver: Resolver) -> None:
    ref, reason = resolver.authority(AuthorityMention("Inconnue-sur-Mer"))
    assert not ref.resolved and ref.type == "autre"
    assert ref.uri == UriMinter().unresolved_authority("Inconnue-sur-Mer")
    assert reason and "introuvable" in reason


@pytest.mark.parametrize(
    "text",
    ["Sénégal", "senegal", "SN", "SEN", "Senegal", "SÉNÉGAL", "le Sénégal", "Sénégal (Dakar)"],
)
def test_country_senegal(resolver: Resolver, text: str) -> None:
    assert resolver.country(text) == "SN"


@pytest.mark.parametrize(
    ("text", "iso2"),
    [
        ("Côte d'Ivoire", "CI"),
        ("Cote d Ivoire", "CI"),
        ("Ivory Coast", "CI"),
        ("RDC", "CD"),
        ("Congo-Kinshasa", "CD"),
        ("République démocratique du Congo", "CD"),
        ("Congo", "CG"),
        ("USA", "US"),
        ("Corée du Sud", "KR"),
        ("Corée, République de", "KR"),
        ("Vietnam", "VN"),
        ("Birmanie", "MM"),
        ("Macédoine", "MK"),
        ("Palestine", "PS"),
        ("Kosovo", "XK"),
    ],
)
def test_country_variants(resolver: Resolver, text: str, iso2: str) -> None:
    assert resolver.country(text) == iso2


def test_unknown_country(resolver: Resolver) -> None:
    assert resolver.country("Atlantide") is None


@pytest.mark.parametrize(
    ("text", "slug"),
    [
        ("Eau et assainissement", "eau-assainissement"),
        ("eau-assainissement", "eau-assainissement"),
        ("Water and sanitation", "eau-assainissement"),
        ("EAU ET ASSAINISSEMENT", "eau-assainissement"),
        ("Santé publique", "sante"),
        ("sante", "sante"),
        ("Gender equality", "egalite-femmes-hommes"),
        ("Décentralisation", "gouvernance-locale"),
    ],
)
def test_theme(resolver: Resolver, text: str, slug: str) -> None:
    assert resolver.theme(text) == slug


def test_dac_sector(resolver: Resolver) -> None:
    assert resolver.dac_sector("14030") == "14030"
    assert resolver.dac_sector(" 140 ") == "140"
    assert resolver.dac_sector("99999") is None
    assert resolver.themes_for_sectors(["14030"]) == ["dechets", "eau-assainissement"]


def test_actors(resolver: Resolver) -> None:
    afd = resolver.actor(ActorMention("AFD"))
    assert afd.resolved and afd.name == "Agence française de développement"
    assert resolver.actor(ActorMention("Agence française de développement")).uri == afd.uri
    embassy = resolver.actor(ActorMention("Ambassade de France au Sénégal"))
    assert (embassy.type, embassy.country) == ("Ambassade", "SN")
    assert resolver.actor(ActorMention("Ambassade de France"), ["SN"]).uri == embassy.uri
    scac = resolver.actor(ActorMention("SCAC"), ["ML"])
    assert scac.type == "SCAC" and scac.name.endswith("ambassade de France au Mali")
    assert not resolver.actor(ActorMention("SCAC"), ["ML", "SN"]).resolved  # which one?
    assert resolver.actor(ActorMention("Cités Unies France")).type == "AssociationNationaleElus"
    other = resolver.actor(ActorMention("Eau Vive", kind="association"))
    assert (other.resolved, other.type) == (False, "association")
    assert other.uri == UriMinter().actor("Eau Vive")


def test_partner_takes_the_only_project_country(resolver: Resolver) -> None:
    dakar = resolver.partner(PartnerMention("Commune de Dakar"), ["SN"])
    assert (dakar.country, dakar.resolved) == ("SN", True)
    assert dakar.uri == resolver.partner(PartnerMention("Ville de Dakar", "Sénégal"), []).uri
    assert dakar.uri == UriMinter().foreign_authority("SN", "dakar")
    assert resolver.partner(PartnerMention("Dakar"), ["SN", "ML"]).country is None


def _raw(**fields: object) -> RawProject:
    base: dict[str, object] = {"source_id": None, "titles": {"fr": "Adduction d'eau à Kayes"},
                               "start_year": 2019, "line": 7}  # fmt: skip
    return RawProject(**(base | fields))  # type: ignore[arg-type]


def test_resolve_project(resolver: Resolver) -> None:
    raw = _raw(
        french_authorities=[AuthorityMention("Région Bretagne"), AuthorityMention("Bretagne")],
        countries=["Mali ; Sénégal", "Atlantide"],
        partners=[PartnerMention("Cercle de Kayes", "Mali")],
        themes=["Eau et assainissement", "Thème inconnu"],
        sectors=["14030", "12345"],
        actors=[ActorMention("AFD", "financeur")],
    )
    project = resolver.resolve(raw, "daect.xlsx")
    assert project.id.startswith("p-") and project.id == resolver.resolve(raw, "x.csv").id
    assert [a.name for a in project.french_authorities] == ["Bretagne"]  # one authority, once
    assert project.countries == ["ML", "SN"]
    assert project.themes == ["eau-assainissement"]
    assert project.sectors == ["14030"]
    assert project.partners[0].country == "ML"
    assert project.actors[0][0].name == "Agence française de développement"
    assert project.actors[0][1] == "financeur"
    columns = sorted(i.column or "" for i in project.issues)
    assert columns == ["Pays", "Secteur CAD", "Thématique"]
    assert all(i.severity == "warning" and i.line == 7 and i.file == "daect.xlsx"
               for i in project.issues)  # fmt: skip
    assert "Atlantide" in next(i.reason for i in project.issues if i.column == "Pays")


def test_resolve_uses_source_id_and_partner_countries(resolver: Resolver) -> None:
    raw = _raw(source_id="FR-123-abc", partners=[PartnerMention("Dakar", "Sénégal")])
    project = resolver.resolve(raw, "f.xml")
    assert project.id == "FR-123-abc"
    assert project.countries == ["SN"]


def test_resolve_flags_unresolved_authority(resolver: Resolver) -> None:
    project = resolver.resolve(_raw(french_authorities=[AuthorityMention("Xyzville")]), "f.csv")
    assert not project.french_authorities[0].resolved
    assert [i.column for i in project.issues] == ["Collectivité"]
    assert "Xyzville" in project.issues[0].reason
