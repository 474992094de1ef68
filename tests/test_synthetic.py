"""The synthetic corpus: deterministic, at the documented scale, coherent and varied.

The default-scale corpus is generated once per module (a few seconds) against the real
reference data; a small fake ``ReferenceData`` checks that the generator only relies on the
dataclass API and copes with a tiny reference.
"""

from __future__ import annotations

import random
import re
import statistics
from collections import Counter

import pytest

from ingest.records import ROLES
from ingest.reference import Country, FrenchAuthority, Institution, ReferenceData, Theme
from ingest.resolver import Resolver
from ingest.synthetic._gazetteer import Gazetteer
from ingest.synthetic.audit import gazetteer_names, violations
from ingest.synthetic.generator import N_COUNTRIES, SyntheticCorpus, generate, partner_countries
from ingest.synthetic.names import PlaceBank, PlaceNamer, partner_identity, tidy_french
from ingest.synthetic.phrasebank import PARTS, PhraseBank
from ingest.synthetic.plausibility import Costs, Geography

RICH_THEMES = ("eau-assainissement", "sante", "education-formation",
               "agriculture-securite-alimentaire", "gouvernance-locale", "etat-civil", "dechets",
               "climat-energie")
STOP_WORDS = frozenset((
    "le", "la", "les", "de", "des", "du", "un", "une", "et", "à", "au", "aux", "en", "pour", "par",
    "dans", "sur", "avec", "ce", "cette", "ces", "son", "sa", "ses", "leur", "leurs", "est",
    "sont", "qui", "que", "qu", "pas", "plus", "se", "ou", "où", "il", "elle", "ils", "elles",
    "on", "lui", "été", "être", "sera", "seront", "afin", "ainsi", "entre", "tout", "toute",
    "tous", "toutes", "dont", "deux", "chaque", "comme", "aussi", "également", "très", "sans",
    "sous", "vers", "chez", "après", "avant", "depuis", "lors",
))
NETWORK_CLASSES = ("ReseauRegionalMultiActeurs", "AssociationNationaleElus", "ReseauThematique")


@pytest.fixture(scope="module")
def corpus(reference: ReferenceData) -> SyntheticCorpus:
    return generate(reference)  # the default scale: 13,000 projects, seed 42


@pytest.fixture
def fake_reference() -> ReferenceData:
    """A few dozen authorities and countries, built through the dataclass API only."""
    regions = [FrenchAuthority(f"urn:r{c}", "region", n, c, None, None, None)
               for c, n in (("53", "Bretagne"), ("76", "Occitanie"), ("32", "Hauts-de-France"))]
    deps = [FrenchAuthority(f"urn:d{c}", "departement", n, c, None, r, None)
            for c, n, r in (("35", "Ille-et-Vilaine", "53"), ("29", "Finistère", "53"),
                            ("31", "Haute-Garonne", "76"), ("59", "Nord", "32"))]
    communes = [FrenchAuthority(f"urn:c{i}", "commune", f"Ville-{i}", f"{35000 + i}",
                                f"2135{i:05d}", "53" if i % 2 else "76", "35" if i % 2 else "31",
                                population=100 * (i + 1) ** 2) for i in range(40)]
    epci = [FrenchAuthority(f"urn:e{i}", "intercommunalite", f"CC du Pays {i}", None,
                            f"2400{i:05d}", "53", "35", population=20_000, epci_type="CC")
            for i in range(4)]
    countries = {iso: Country(iso, iso + "X", fr, en) for iso, fr, en in (
        ("SN", "Sénégal", "Senegal"), ("ML", "Mali", "Mali"),
        ("BF", "Burkina Faso", "Burkina Faso"), ("MG", "Madagascar", "Madagascar"),
        ("DE", "Allemagne", "Germany"),
        ("IT", "Italie", "Italy"), ("HT", "Haïti", "Haiti"), ("NI", "Nicaragua", "Nicaragua"),
        ("GB", "Royaume-Uni", "United Kingdom"))}
    themes = {s: Theme(s, s, s) for s in PhraseBank.load().themes}
    institutions = [
        Institution("cites-unies-france", "AssociationNationaleElus", "Cités Unies France", "CUF"),
        Institution("afccre", "AssociationNationaleElus", "AFCCRE", "AFCCRE"),
        Institution("reseau-bretagne-solidaire", "ReseauRegionalMultiActeurs", "RBS", "RBS",
                    region="53"),
        Institution("ambassade-de-france-sn", "Ambassade", "Ambassade de France au Sénégal",
                    "Embassy of France in Senegal", country="SN"),
    ]
    return ReferenceData(regions + deps + communes + epci, countries, themes, {}, institutions)


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-zàâäéèêëîïôöûùüçœ]+", text.lower())
            if len(w) > 2 and w not in STOP_WORDS}


# Determinism ---------------------------------------------------------------------------------


def test_same_seed_gives_the_same_corpus(reference: ReferenceData) -> None:
    first, second = generate(reference, 600, seed=7), generate(reference, 600, seed=7)
    assert first == second
    assert generate(reference, 600, seed=8).projects != first.projects


def test_fake_reference_is_enough(fake_reference: ReferenceData) -> None:
    corpus = generate(fake_reference, 300, seed=1)
    assert corpus == generate(fake_reference, 300, seed=1)
    assert set(corpus.countries) <= set(fake_reference.countries)
    assert {m.network_key for m in corpus.memberships} <= {"cites-unies-france", "afccre",
                                                           "reseau-bretagne-solidaire"}
    assert all(p.descriptions for p in corpus.projects)


def test_rejects_an_empty_corpus(reference: ReferenceData) -> None:
    with pytest.raises(ValueError):
        generate(reference, 0)


# Scale ---------------------------------------------------------------------------------------


def test_default_scale(corpus: SyntheticCorpus, resolver: Resolver) -> None:
    assert len(corpus.projects) == 13_000
    assert len(corpus.countries) == N_COUNTRIES == 147
    assert {p.foreign.country for p in corpus.partnerships} == set(corpus.countries)
    assert {resolver.country(p.countries[0]) for p in corpus.projects} == set(corpus.countries)
    french = {resolver.authority(m)[0].uri for m in
              [r.french for r in corpus.partnerships]
              + [a for p in corpus.projects for a in p.french_authorities]
              + [m.member for m in corpus.memberships]}
    assert 4_500 <= len(french) <= 5_500
    partners = {resolver.partner(r.foreign, []).uri for r in corpus.partnerships}
    assert 9_000 <= len(partners) <= 11_000
    assert {resolver.partner(m, []).uri for p in corpus.projects for m in p.partners} <= partners


def test_french_authorities_are_real_and_of_every_kind(
    corpus: SyntheticCorpus, resolver: Resolver
) -> None:
    resolved = [resolver.authority(r.french) for r in corpus.partnerships]
    assert all(ref.resolved and why is None for ref, why in resolved)  # codes and names agree
    by_uri = {r.uri: r for r in resolver.ref.authorities}
    kinds = Counter(by_uri[uri].type for uri in {ref.uri for ref, _ in resolved})
    assert {"region", "departement", "commune", "intercommunalite"} <= set(kinds)
    populations = [by_uri[ref.uri].population or 0 for ref, _ in resolved
                   if by_uri[ref.uri].type == "commune"]
    assert min(populations) < 500 and max(populations) > 500_000  # small villages and big cities


def test_countries_are_realistically_skewed(corpus: SyntheticCorpus) -> None:
    top = [c for c, _ in Counter(p.countries[0] for p in corpus.projects).most_common(6)]
    assert {"Sénégal", "Mali", "Burkina Faso"} <= set(top)
    twinnings = Counter(r.foreign.country for r in corpus.partnerships if r.kind == "jumelage")
    assert twinnings.most_common(1)[0][0] == "DE"
    german = [r.year for r in corpus.partnerships if r.foreign.country == "DE"]
    senegal = [r.year for r in corpus.partnerships if r.foreign.country == "SN"]
    assert statistics.median(german) < statistics.median(senegal)
    assert all(1950 <= r.year <= 2025 and r.kind in ("jumelage", "convention")
               for r in corpus.partnerships)


def test_partner_countries_follow_the_weights(reference: ReferenceData) -> None:
    countries = partner_countries(reference)
    assert len(countries) == 147 and len(set(countries)) == 147
    assert countries[:3] == ["DE", "GB", "IT"]
    francophone = {"SN", "ML", "BF", "MG", "MA", "TN", "BJ", "NE", "CM", "HT", "LB", "VN"}
    assert francophone <= set(countries)


# Projects ------------------------------------------------------------------------------------


def test_every_project_is_complete_and_consistent(
    corpus: SyntheticCorpus, reference: ReferenceData
) -> None:
    ids = [p.source_id for p in corpus.projects]
    assert len(set(ids)) == len(ids)
    for p in corpus.projects:
        assert p.synthetic and re.fullmatch(rf"SYN-{p.start_year}-\d{{5}}", p.source_id or "")
        assert "fr" in p.titles and set(p.descriptions) == {p.language}
        assert 40 <= len(p.descriptions[p.language].split()) <= 150
        assert 1 <= len(p.themes) <= 3 and set(p.themes) <= set(reference.themes)
        assert p.sectors and all(len(c) == 5 and c in reference.dac_sectors for c in p.sectors)
        assert p.start_year is not None and p.end_year is not None
        assert 2005 <= p.start_year <= p.end_year <= 2030 and p.start_year <= 2027
        expected = ("prevu" if p.start_year > 2025
                    else "termine" if p.end_year < 2025 else "en-cours")
        assert p.status == expected
        assert p.total_cost is not None and 5_000 <= p.total_cost <= 2_000_000
        cofinancing, share = p.ministry_cofinancing or 0, p.authorities_share or 0
        assert 0 <= cofinancing <= p.total_cost / 2
        assert cofinancing + share <= p.total_cost
        assert all(a.role in ROLES for a in p.actors)
        assert len(p.partners) in (1, 2) and all(m.country for m in p.partners)


def test_language_mix(corpus: SyntheticCorpus) -> None:
    languages = Counter(p.language for p in corpus.projects)
    n = len(corpus.projects)
    assert languages["fr"] / n > 0.9
    assert 0.01 < languages["en"] / n < 0.06 and 0.01 < languages["es"] / n < 0.06
    spanish = [p for p in corpus.projects if p.language == "es"]
    assert all(set(p.titles) == {"fr", "es"} for p in spanish)


def test_every_theme_is_used_and_blended(corpus: SyntheticCorpus, reference: ReferenceData) -> None:
    assert {p.themes[0] for p in corpus.projects} == set(reference.themes)
    sizes = Counter(len(p.themes) for p in corpus.projects)
    assert sizes[1] > sizes[2] > sizes[3] > 0


@pytest.mark.parametrize("theme", sorted(PhraseBank.load().themes))
def test_descriptions_do_not_hinge_on_one_keyword(corpus: SyntheticCorpus, theme: str) -> None:
    """No word (stop-words aside) is in most descriptions of a theme: meaning, not keywords."""
    texts = [p.descriptions["fr"] for p in corpus.projects
             if p.language == "fr" and p.themes[0] == theme]
    frequency = Counter(w for text in texts for w in _words(text))
    word, count = frequency.most_common(1)[0]
    limit = 0.6 if theme in RICH_THEMES else 0.75
    assert count / len(texts) <= limit, f"« {word} » dans {count}/{len(texts)} descriptions"


def test_descriptions_quote_the_project(corpus: SyntheticCorpus) -> None:
    texts = [(p, p.descriptions["fr"]) for p in corpus.projects[:500] if p.language == "fr"]
    places = sum(1 for p, text in texts if any(
        word in text for m in p.partners for word in m.name.split()[-1:]))
    assert places / len(texts) > 0.5
    # French contractions and elisions applied: no « de le », « à les », « de une » (names in
    # other languages keep theirs: « Municipio de Ixtapan »)
    assert not any(re.search(r"\b(?:de|à) les?\b|\b(?:de|que) [aeiouéèêà]", text)
                   for _, text in texts)


# Other actors, memberships -------------------------------------------------------------------


def test_actors(corpus: SyntheticCorpus, reference: ReferenceData, resolver: Resolver) -> None:
    assert {a.cls for a in corpus.actors} == {"Association", "Universite", "Hopital", "Entreprise"}
    names = [a.name for a in corpus.actors]
    assert len(set(names)) == len(names)
    known = set(names)
    embassies = {i.name_fr: i.country for i in reference.institutions if i.cls == "Ambassade"}
    for p in corpus.projects[:2000]:
        iso = resolver.country(p.countries[0])
        for a in p.actors:
            if a.kind in ("association", "universite", "hopital", "entreprise"):
                assert a.name in known or resolver.actor(a).resolved
            if a.kind == "ambassade":
                assert embassies[a.name] == iso


def test_memberships(corpus: SyntheticCorpus, reference: ReferenceData, resolver: Resolver) -> None:
    networks = {i.key: i for i in reference.institutions if i.cls in NETWORK_CLASSES}
    assert {m.network_key for m in corpus.memberships} <= set(networks)
    by_uri = {a.uri: a for a in reference.authorities}
    members: dict[str, list[FrenchAuthority]] = {}
    for m in corpus.memberships:
        members.setdefault(m.network_key, []).append(by_uri[resolver.authority(m.member)[0].uri])
    assert len(members["cites-unies-france"]) > 300 and len(members["afccre"]) > 300
    for key, network in networks.items():
        if network.cls == "ReseauRegionalMultiActeurs":
            assert all(network.region in (a.region, a.insee) for a in members.get(key, []))
    assert all(a.type in ("region", "statut-particulier") for a in members["regions-de-france"])
    pairs = [(m.network_key, m.member.type_hint, m.member.code) for m in corpus.memberships]
    assert len(set(pairs)) == len(pairs)


# Phrase banks and names ----------------------------------------------------------------------


def test_every_template_fills_in_every_language() -> None:
    """Each template's slots exist for every theme: no generated text can fail at run time."""
    from ingest.synthetic.phrasebank import DescriptionWriter

    bank = PhraseBank.load()
    writer = DescriptionWriter(bank, random.Random(0))
    variables = dict.fromkeys(
        ("lieu", "partenaire", "collectivite", "collectivite_nom", "pays", "au_pays", "du_pays",
         "annee", "annee_diag", "annee_partenariat", "fin", "duree", "localite", "localite2",
         "operateur", "appui"), "X")
    for language in bank.languages.values():
        assert set(language.themes) == set(bank.themes)
        for slug, theme in language.themes.items():
            for part in (*PARTS, "title"):
                for template in (*language.parts.get(part, ()), *theme.parts.get(part, ())):
                    writer._fill(template, language, slug, variables, {})  # raises on a gap
    counts = {part: sum(len(t.parts.get(part, ())) for t in bank.themes.values())
              + len(bank.languages["fr"].parts[part]) for part in PARTS}
    assert min(counts.values()) >= 25


def test_partner_names_are_local_and_distinct(reference: ReferenceData) -> None:
    namer = PlaceNamer(PlaceBank.load(), random.Random(3))
    names = {iso: [namer.authority(iso)[0] for _ in range(150)] for iso in ("DE", "IT", "ML", "PL")}
    assert any(n.startswith(("Stadt ", "Gemeinde ")) for n in names["DE"])
    assert any(n.startswith("Comune di ") for n in names["IT"])
    assert any(n.startswith("Conseil de cercle ") for n in names["ML"])
    assert any(n.startswith("Gmina ") for n in names["PL"])
    for found in names.values():
        assert len({partner_identity(n) for n in found}) == len(found)


def test_french_contractions_and_elisions() -> None:
    assert tidy_french("Commune de Agadez") == "Commune d'Agadez"
    assert tidy_french("la Ville de Le Mans et de Les Abymes") == "la Ville du Mans et des Abymes"
    assert tidy_french("à le marché et à les écoles") == "au marché et aux écoles"
    assert tidy_french("de La Rochelle") == "de La Rochelle"


# Plausibility (issue 12) ---------------------------------------------------------------------


def test_the_default_corpus_breaks_no_plausibility_rule(
    corpus: SyntheticCorpus, reference: ReferenceData
) -> None:
    """Themes and words fit each country's climate and milieux, works fit the money, the money
    fits the kind of action and the leaders' size, titles do not repeat within a country,
    partners are real towns or flagged plausible, no dissolved département acts."""
    found = violations(corpus, reference)
    counts = found.counts()
    broken = {rule: n for rule, n in counts.items()
              if rule not in ("plausible_partners", "projects") and n}
    assert not broken, (broken, {rule: found.examples[rule] for rule in broken})
    partners = {(r.foreign.country, r.foreign.name) for r in corpus.partnerships}
    # most partners bear a real town's name; invented ones only where GeoNames runs short
    assert counts["plausible_partners"] / len(partners) < 0.2
    # ... once the country's towns are used up
    invented = set(corpus.plausible)
    real = Counter(iso for iso, name in partners if (iso, name) not in invented)
    towns = Gazetteer.load()
    for iso in {iso for iso, _ in corpus.plausible}:
        assert real[iso] >= 0.7 * len(towns.cities(iso)), (iso, real[iso])


def test_the_checker_catches_each_kind_of_implausibility(reference: ReferenceData) -> None:
    """The rules can fail: one faulty record per rule, each counted once."""
    from decimal import Decimal

    from ingest.records import AuthorityMention, PartnerMention, RawProject
    from ingest.synthetic.generator import PartnershipRecord

    def project(n: int, country: str, theme: str, cost: int, text: str, title: str,
                lead: AuthorityMention) -> RawProject:
        return RawProject(source_id=f"T-{n}", titles={"fr": title}, descriptions={"fr": text},
                          language="fr", french_authorities=[lead], countries=[country],
                          themes=[theme], total_cost=Decimal(cost), synthetic=True)

    region = AuthorityMention("Bretagne", "region", "53")
    village = AuthorityMention("Locmélar", "commune", "29131")  # 487 inhabitants
    plain = "Des rencontres entre élus sont prévues."
    corpus = SyntheticCorpus(projects=[
        project(1, "Liban", "environnement-biodiversite", 80_000,
                "La restauration des mangroves du littoral est prévue.", "A", region),
        project(2, "Allemagne", "etat-civil", 30_000, plain, "B", region),
        project(3, "Mali", "eau-assainissement", 20_300,
                "Le projet prévoit 150 latrines familiales et 12 forages équipés.", "C", region),
        project(4, "Sénégal", "jeunesse-sport", 1_900_000, plain, "D", region),
        project(5, "Sénégal", "gouvernance-locale", 400_000, plain, "E", village),
        project(6, "Togo", "gouvernance-locale", 40_000, plain, "F", region),
        project(7, "Togo", "gouvernance-locale", 40_000, plain, "F", region),
        project(8, "Mali", "gouvernance-locale", 40_000, plain, "G",
                AuthorityMention("Corse-du-Sud", "departement", "2A")),
    ], partnerships=[
        PartnershipRecord(region, PartnerMention("Commune de Kaolack", "SN"), "convention", 2000),
        PartnershipRecord(region, PartnerMention("Commune de Zorglubville", "SN"), "convention",
                          2000),
    ])
    counts = violations(corpus, reference).counts()
    assert counts == {"geography": 1, "theme_geography": 1, "works_cost": 1, "theme_budget": 1,
                      "lead_capacity": 1, "duplicate_titles": 1, "partner_names": 1,
                      "dissolved_departements": 1, "plausible_partners": 0, "projects": 8}


def test_geography_knows_the_field() -> None:
    geo = Geography.load()
    desert, mangrove = "l'avancée du désert", "la restauration des mangroves"
    assert not geo.fits(mangrove, geo.tags("LB")) and not geo.fits(desert, geo.tags("LB"))
    assert geo.fits(mangrove, geo.tags("SN")) and geo.fits(desert, geo.tags("NE"))
    assert not geo.fits("la recrudescence du paludisme", geo.tags("MA"))
    assert not geo.fits("une zone littorale", geo.tags("ML"))  # Mali has no coast
    assert not geo.allows_theme("etat-civil", geo.tags("DE"))
    assert geo.allows_theme("etat-civil", geo.tags("BJ"))


def test_the_writer_keeps_the_works_within_the_money() -> None:
    from ingest.synthetic.phrasebank import DescriptionWriter

    money = Costs.load()
    writer = DescriptionWriter(PhraseBank.load(), random.Random(5), Geography.load(), money)
    variables = dict.fromkeys(
        ("lieu", "partenaire", "collectivite", "collectivite_nom", "pays", "au_pays", "du_pays",
         "annee", "annee_diag", "annee_partenariat", "fin", "duree", "localite", "localite2",
         "operateur", "appui"), "X")
    tags = Geography.load().tags("BF")
    cited = []
    for budget in (3_000, 15_000, 60_000, 400_000) * 40:
        writer.constrain(tags, budget)
        text = writer.description("fr", ["eau-assainissement"], variables)
        cost = money.works_cost(text)
        assert cost <= budget, (budget, text)
        cited.append(cost)
    assert max(cited) > 50_000  # large budgets do buy boreholes


def test_partners_are_named_after_real_towns(corpus: SyntheticCorpus) -> None:
    names = gazetteer_names()
    senegal = [r.foreign.name for r in corpus.partnerships if r.foreign.country == "SN"]
    assert any(n.startswith("Région de ") for n in senegal)
    real = [n for n in senegal if any(place in n for place in ("Kaolack", "Thiès", "Ziguinchor",
                                                               "Saint-Louis", "Louga", "Kolda"))]
    assert real
    german = {r.foreign.name for r in corpus.partnerships if r.foreign.country == "DE"}
    assert all(n.split(" ", 1)[1] in names["DE"] for n in german if n.startswith("Stadt "))
