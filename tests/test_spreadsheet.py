"""The DAECT spreadsheet reader (CSV and XLSX), the file sniffer and the broken-input corpus."""

from __future__ import annotations

import dataclasses
import importlib.util
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ingest._daect import header_key
from ingest._parsing import detect_language, parse_amount, parse_year, split_parenthesis
from ingest.errors import UnreadableInput
from ingest.records import ActorMention, AuthorityMention, Issue, PartnerMention, RawProject
from ingest.sniff import read_any
from ingest.spreadsheet import MAX_DESCRIPTION_CHARS, read_spreadsheet

DATA = Path(__file__).parent / "data"
BROKEN = DATA / "broken"
SAMPLE_CSV = DATA / "daect" / "sample.csv"
SAMPLE_XLSX = DATA / "daect" / "sample.xlsx"
HEADER = (
    "Identifiant;Intitulé du projet;Description détaillée;Collectivité;Type de collectivité;"
    "Code collectivité;Partenaire;Pays;Thématique;Statut;Année de début;Année de fin;"
    "Coût total de l'opération;Cofinancement du MAEDI;Part financière des collectivités;Acteurs"
)


def _without_line(record: RawProject) -> dict[str, object]:
    return {k: v for k, v in dataclasses.asdict(record).items() if k != "line"}


def _errors(issues: list[Issue]) -> list[tuple[int | None, str | None]]:
    return [(i.line, i.column) for i in issues if i.severity == "error"]


def _write_csv(tmp_path: Path, *rows: str, header: str = HEADER) -> Path:
    path = tmp_path / "projets.csv"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


# --- the good samples ---------------------------------------------------------------------


def test_sample_csv_reads_all_ten_projects_without_issue() -> None:
    result = read_spreadsheet(SAMPLE_CSV)
    assert result.issues == []
    assert result.rows_seen == 10
    assert [r.source_id for r in result.records] == [f"EX-{y}-{n:03d}" for y, n in [
        (2021, 1), (2016, 2), (2015, 3), (2022, 4), (2026, 5), (2020, 6), (2017, 7), (2023, 8),
        (2014, 9), (2018, 10)]]  # fmt: skip
    first = result.records[0]
    assert first.titles == {"fr": "Appui à la collecte des déchets ménagers à Yélimané"}
    assert first.descriptions["fr"].endswith("sensibilisation dans les écoles.")
    assert "\n" in first.descriptions["fr"]  # the quoted multi-line cell is one value
    assert first.french_authorities == [AuthorityMention("Ville de Montreuil", "commune", "93048")]
    assert first.partners == [PartnerMention("Commune de Yélimané", "Mali")]
    assert first.countries == ["Mali"]
    assert (first.status, first.start_year, first.end_year) == ("en-cours", 2021, 2024)
    assert (first.total_cost, first.ministry_cofinancing, first.authorities_share) == (
        Decimal(85000), Decimal(25000), Decimal(40000))  # fmt: skip
    assert first.actors == [
        ActorMention("Agence Française de Développement", "financeur"),
        ActorMention("Association des ressortissants de Yélimané", "operateur"),
    ]
    # The first row spans lines 2–3, so the second starts on line 4.
    assert [r.line for r in result.records[:3]] == [2, 4, 5]


def test_sample_rows_with_several_authorities_themes_and_languages() -> None:
    records = {r.source_id: r for r in read_spreadsheet(SAMPLE_CSV).records}
    rennes = records["EX-2026-005"]
    assert rennes.french_authorities == [
        AuthorityMention("Ville de Rennes", "commune", "35238"),
        AuthorityMention("Département d'Ille-et-Vilaine", "departement", "35"),
    ]
    assert rennes.themes == ["Culture", "Jeunesse"]
    assert rennes.status == "prevu"
    # "(AFD)" is an acronym, not a role: the name keeps it and the role stays "appui".
    assert records["EX-2022-004"].actors == [
        ActorMention("Agence Française de Développement (AFD)")
    ]
    assert records["EX-2015-003"].status == "termine"  # « Achevé »
    assert records["EX-2018-010"].status == "termine"  # « Clos »
    assert records["EX-2016-002"].partners == [PartnerMention("Conseil régional de Mopti", "Mali")]
    assert records["EX-2016-002"].total_cost == Decimal("120500.50")
    valparaiso = records["EX-2017-007"]
    assert valparaiso.themes == ["Urbanisme", "Gouvernance locale"]
    assert valparaiso.language == "es" and set(valparaiso.descriptions) == {"es"}
    assert valparaiso.titles == {"fr": "Planification urbaine participative à Valparaíso"}
    kisumu = records["EX-2020-006"]
    assert kisumu.language == "en"
    assert set(kisumu.titles) == {"fr"}  # French title above an English description
    douala = records["EX-2023-008"]
    assert (douala.end_year, douala.ministry_cofinancing) == (None, None)


def test_sample_xlsx_gives_the_same_records_as_the_csv() -> None:
    from_csv = read_spreadsheet(SAMPLE_CSV)
    from_xlsx = read_spreadsheet(SAMPLE_XLSX)
    assert from_xlsx.issues == []
    assert [_without_line(r) for r in from_xlsx.records] == [
        _without_line(r) for r in from_csv.records
    ]
    assert [r.line for r in from_xlsx.records] == list(range(2, 12))


# --- encodings, delimiters, layouts -------------------------------------------------------


def test_cp1252_file_is_read_with_accents_intact() -> None:
    result = read_spreadsheet(BROKEN / "cp1252.csv")
    record = result.records[0]
    assert record.titles == {"fr": "Coopération décentralisée à Thiès"}
    assert record.partners == [PartnerMention("Commune de Yélimané", "Mali")]
    assert record.total_cost == Decimal("12500.50")  # "12 500,50 €" with a non-breaking space
    assert result.records[1].status == "termine"
    assert [(i.severity, i.line) for i in result.issues] == [("warning", None)]
    assert "Windows-1252" in result.issues[0].reason


@pytest.mark.parametrize(
    "name", ["delimiter_comma.csv", "bom_comma.csv", "utf16_tab.txt"]
)  # fmt: skip
def test_delimiters_bom_and_utf16_give_the_same_records(name: str) -> None:
    reference = read_spreadsheet(BROKEN / "delimiter_semicolon.csv")
    result = read_spreadsheet(BROKEN / name)
    assert result.issues == []
    assert [dataclasses.asdict(r) for r in result.records] == [
        dataclasses.asdict(r) for r in reference.records
    ]
    assert reference.records[0].titles == {"fr": "Appui aux centres de santé de Yélimané"}


def test_quoted_multiline_cells_keep_physical_line_numbers() -> None:
    result = read_spreadsheet(BROKEN / "multiline.csv")
    assert [r.source_id for r in result.records] == ["M1", "M4"]
    assert result.records[0].descriptions["fr"] == "Première ligne\r\nDeuxième\r\nTroisième"
    assert [r.line for r in result.records] == [2, 8]
    assert _errors(result.issues) == [(5, "Année de début"), (7, "Année de fin")]


def test_xlsx_header_on_row_3_uses_sheet_row_numbers() -> None:
    result = read_spreadsheet(BROKEN / "header_row3.xlsx")
    assert [(r.source_id, r.line) for r in result.records] == [("X1", 4), ("X3", 7)]
    assert result.rows_seen == 3
    assert _errors(result.issues) == [(5, "Année de début")]
    assert "« 20x9 »" in result.issues[0].reason
    x1, x3 = result.records
    assert (x1.start_year, x1.total_cost, x1.authorities_share) == (2019, 10000, Decimal("5000.5"))
    assert (x3.start_year, x3.end_year, x3.total_cost) == (2020, None, Decimal("12500.50"))


def test_xlsx_data_on_second_sheet_is_found() -> None:
    result = read_spreadsheet(BROKEN / "second_sheet.xlsx")
    assert [r.source_id for r in result.records] == ["N1"]


def test_xlsx_renamed_csv_is_still_read_by_content(tmp_path: Path) -> None:
    renamed = tmp_path / "export.csv"
    renamed.write_bytes(SAMPLE_XLSX.read_bytes())
    assert len(read_any(renamed).records) == 10


def test_header_found_below_title_lines_in_csv(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_text(
        "Export des projets;;\n\n" + HEADER + "\nP1;Un projet;;;;;;;;;2020\n", encoding="utf-8"
    )
    result = read_spreadsheet(path)
    assert [(r.source_id, r.line, r.start_year) for r in result.records] == [("P1", 4, 2020)]


# --- bad values, row by row ---------------------------------------------------------------


def test_bad_values_reject_their_row_with_exact_location_and_keep_the_others() -> None:
    result = read_spreadsheet(BROKEN / "bad_values.csv")
    assert [r.source_id for r in result.records] == ["B1", "B9"]
    assert result.rows_seen == 9
    assert _errors(result.issues) == [
        (3, "Année de début"),
        (4, "Année de début"),
        (5, "Année de fin"),
        (6, "Coût total de l'opération"),
        (7, "Coût total de l'opération"),
        (8, "Cofinancement du MAEDI"),
        (9, "Intitulé du projet"),
    ]
    reasons = [i.reason for i in result.issues]
    assert reasons[0] == (
        "année de début invalide : « 20x9 » (attendu : un nombre à 4 chiffres entre 1950 et 2100)"
    )
    assert "une seule année par cellule" in reasons[1]
    assert reasons[2] == "année de fin (2018) antérieure à l'année de début (2020)"
    assert reasons[3].startswith("montant négatif")
    assert reasons[5].startswith("montant ambigu")
    assert [i.record for i in result.issues] == [f"B{n}" for n in range(2, 9)]
    assert all(i.file == "bad_values.csv" for i in result.issues)


def test_duplicate_identifier_rejects_the_second_row() -> None:
    result = read_spreadsheet(BROKEN / "duplicate_ids.csv")
    assert [r.titles["fr"] for r in result.records] == ["Premier projet", "Deuxième projet"]
    assert _errors(result.issues) == [(4, "Identifiant")]
    assert "déjà utilisé ligne 2" in result.issues[0].reason


def test_unquoted_separator_that_shifts_cells_rejects_the_row() -> None:
    result = read_spreadsheet(BROKEN / "shifted.csv")
    assert [r.source_id for r in result.records] == ["P1"]
    assert _errors(result.issues) == [(3, None)]
    assert "14 cellules alors que l'en-tête en compte 13" in result.issues[0].reason


def test_french_amount_formats() -> None:
    records = read_spreadsheet(BROKEN / "french_amounts.csv").records
    assert [r.total_cost for r in records] == [
        Decimal("12500.50"),
        Decimal(12500),
        Decimal("12500.50"),
        Decimal("12500.5"),
        Decimal(1234567),
        Decimal(12500),
        Decimal(15000),
        None,
        None,
    ]


def test_unknown_country_passes_through_as_written() -> None:
    (record,) = read_spreadsheet(BROKEN / "unknown_country.csv").records
    assert record.countries == ["Atlantide"]
    assert record.partners == [PartnerMention("Ville d'Ys", "Atlantide")]


def test_unknown_columns_warn_once_each_and_daect_extras_are_silent() -> None:
    result = read_spreadsheet(BROKEN / "unknown_columns.csv")
    assert len(result.records) == 2
    assert [(i.severity, i.line, i.column) for i in result.issues] == [
        ("warning", 1, "Commentaire interne"),
        ("warning", 1, "Chargé de mission"),
    ]


def test_header_only_file_gives_no_record() -> None:
    result = read_spreadsheet(BROKEN / "header_only.csv")
    assert (result.records, result.issues, result.rows_seen) == ([], [], 0)


def test_ten_megabyte_description_is_truncated_with_a_warning(tmp_path: Path) -> None:
    huge = "Un texte très long. " * 524_288  # 10 MiB
    path = _write_csv(tmp_path, f'G1;Projet bavard;"{huge}"', "G2;Projet suivant")
    result = read_spreadsheet(path)
    assert [(r.source_id, r.line) for r in result.records] == [("G1", 2), ("G2", 3)]
    assert len(result.records[0].descriptions["fr"]) == MAX_DESCRIPTION_CHARS
    assert [(i.severity, i.line, i.column) for i in result.issues] == [
        ("warning", 2, "Description détaillée")
    ]


def test_description_limit_is_a_parameter(tmp_path: Path) -> None:
    path = _write_csv(tmp_path, "G1;Projet;Une description de quarante caractères.")
    (record,) = read_spreadsheet(path, max_description=10).records
    assert record.descriptions == {"fr": "Une descri"}


def test_authority_types_codes_and_status_variants(tmp_path: Path) -> None:
    path = _write_csv(
        tmp_path,
        'T1;Projet;;"Métropole de Lyon; SIVOM du Val; Conseil départemental du Gers";'
        '"Métropole;Syndicat mixte;Conseil général";"200046977;;32";'
        "Commune de Dakar;Sénégal;;Clôturé",
        'T2;Projet;;Ville de Paris;Mairie;"750 56";;;;suspendu',
        "T3;Projet;;Ville de Brest;Ville;12;;;;Abandonné",
    )
    result = read_spreadsheet(path)
    t1, t2, t3 = result.records
    assert t1.french_authorities == [
        AuthorityMention("Métropole de Lyon", "intercommunalite", "200046977"),
        AuthorityMention("SIVOM du Val", "syndicat", None),
        AuthorityMention("Conseil départemental du Gers", "departement", "32"),
    ]
    assert (t1.status, t2.status, t3.status) == ("termine", "suspendu", "annule")
    assert t2.french_authorities == [AuthorityMention("Ville de Paris", "commune", "75056")]
    assert result.issues == []  # "12" is a valid département code


def test_misaligned_lists_and_unknown_labels_are_warnings(tmp_path: Path) -> None:
    path = _write_csv(
        tmp_path,
        '1;Projet;;"Ville de Rennes; Ville de Brest";Commune;X9;;;;Peut-être',
        "2;Projet;;Ville de Brest;Hameau;;;;;",
    )
    result = read_spreadsheet(path)
    assert len(result.records) == 2
    assert result.records[0].french_authorities == [
        AuthorityMention("Ville de Rennes"),
        AuthorityMention("Ville de Brest"),
    ]
    assert result.records[0].status is None
    assert [(i.severity, i.line, i.column) for i in result.issues] == [
        ("warning", 2, "Statut"),
        ("warning", 2, "Type de collectivité"),
        ("warning", 2, "Code collectivité"),
        ("warning", 3, "Type de collectivité"),
    ]


def test_headers_match_whatever_case_accents_and_apostrophes(tmp_path: Path) -> None:
    header = (
        "  INTITULE DU PROJET ;cout total de l’operation (€);Cofinancement MEAE;ANNÉE DE DÉBUT*;"
        "Partenaires"
    )
    path = _write_csv(tmp_path, "Projet;1 000;500;2020;Ville de Hué (Viêt Nam)", header=header)
    result = read_spreadsheet(path)
    (record,) = result.records
    assert (record.total_cost, record.ministry_cofinancing, record.start_year) == (1000, 500, 2020)
    assert record.partners == [PartnerMention("Ville de Hué", "Viêt Nam")]
    assert record.source_id is None
    assert result.issues == []


# --- unreadable files ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("empty.csv", "fichier vide"),
        ("blank.csv", "fichier vide"),
        ("garbage.bin", "fichier binaire"),
        ("garbage_no_nul.bin", "encodage non reconnu"),
        ("old_excel.xls", "ancien classeur Excel (.xls)"),
        ("not_xlsx.zip", "pas un classeur XLSX"),
        ("no_header.csv", "aucune ligne d'en-tête reconnue"),
        ("billion_laughs.xml", "DOCTYPE ou ENTITY refusée"),
        ("not_iati.xml", "élément racine « catalogue »"),
        ("truncated.xml", "XML mal formé ligne 5"),
    ],
)
def test_unreadable_files_raise_with_a_french_reason(name: str, reason: str) -> None:
    with pytest.raises(UnreadableInput) as caught:
        read_any(BROKEN / name)
    assert reason in caught.value.reason
    assert caught.value.file == name


def test_missing_title_column_names_it_and_lists_the_columns_found() -> None:
    with pytest.raises(UnreadableInput) as caught:
        read_any(BROKEN / "missing_title.csv")
    reason = caught.value.reason
    assert reason.startswith("colonne obligatoire « Intitulé du projet » absente (ligne 1)")
    assert "« Identifiant », « Description détaillée »" in reason


def test_missing_path_and_directory_are_unreadable(tmp_path: Path) -> None:
    with pytest.raises(UnreadableInput, match="introuvable"):
        read_any(tmp_path / "absent.csv")
    with pytest.raises(UnreadableInput, match="dossier"):
        read_any(tmp_path)


# --- the committed corpus matches its generator -------------------------------------------


def test_committed_corpus_matches_make_corpus(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("make_corpus", BROKEN / "make_corpus.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.build(tmp_path)
    generated = sorted(p.name for p in tmp_path.iterdir())
    committed = sorted(p.name for p in BROKEN.iterdir() if p.is_file() and p.suffix != ".py")
    assert generated == committed
    for name in generated:
        if name.endswith(".xlsx"):  # zip timestamps differ; compare what the reader sees
            fresh = read_spreadsheet(tmp_path / name)
            kept = read_spreadsheet(BROKEN / name)
            assert (fresh.records, fresh.issues) == (kept.records, kept.issues)
        else:
            assert (tmp_path / name).read_bytes() == (BROKEN / name).read_bytes(), name


# --- cell parsers -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12 500,50 €", Decimal("12500.50")),
        ("12\u202f500 €", Decimal(12500)),
        ("12.500,50", Decimal("12500.50")),
        ("12,500.50", Decimal("12500.50")),
        ("12500.5", Decimal("12500.5")),
        ("1 234 567", Decimal(1234567)),
        ("EUR 3000", Decimal(3000)),
        ("7,5 euros", Decimal("7.5")),
        ("1,5 M€", Decimal(1500000)),
        ("0", Decimal(0)),
        ("n/a", None),
        ("-", None),
        (12500.5, Decimal("12500.5")),
        (3, Decimal(3)),
    ],
)
def test_parse_amount_accepts(text: object, expected: Decimal | None) -> None:
    assert parse_amount(text) == expected


@pytest.mark.parametrize("text", ["12.500", "12 50", "12 k", "abc", "-3", "(3)", "1.2.3,4,5"])
def test_parse_amount_refuses(text: str) -> None:
    with pytest.raises(ValueError, match="montant"):
        parse_amount(text)


@given(st.decimals(min_value=0, max_value=10**9, places=2, allow_nan=False))
def test_parse_amount_reads_back_french_formatting(amount: Decimal) -> None:
    french = f"{amount:,.2f}".replace(",", "\u00a0").replace(".", ",") + " €"
    assert parse_amount(french) == amount


@pytest.mark.parametrize(
    ("value", "expected"), [("2019", 2019), (2019, 2019), (2019.0, 2019), ("2019.0", 2019),
                            (" ", None), ("NC", None)]
)  # fmt: skip
def test_parse_year_accepts(value: object, expected: int | None) -> None:
    assert parse_year(value, "année") == expected


@pytest.mark.parametrize("value", ["20x9", "2019-2021", "1949", "2101", 2019.5, "19"])
def test_parse_year_refuses(value: object) -> None:
    with pytest.raises(ValueError, match="année invalide"):
        parse_year(value, "année")


def test_detect_language() -> None:
    assert detect_language("Le projet vise à former les agents de la ville et des écoles.") == "fr"
    assert detect_language("The project trains the staff of the city and its schools.") == "en"
    assert detect_language("El proyecto forma a los agentes de la ciudad y sus escuelas.") == "es"
    assert detect_language("Dakar 2030") == "fr"  # undecided: the default
    assert detect_language("Dakar 2030", default="en") == "en"


def test_split_parenthesis_and_header_keys() -> None:
    assert split_parenthesis("Commune de Dakar (Sénégal)") == ("Commune de Dakar", "Sénégal")
    assert split_parenthesis("Commune de Dakar") == ("Commune de Dakar", None)
    assert split_parenthesis("(Sénégal)") == ("(Sénégal)", None)
    assert header_key("Cofinancement du MEAE") == "ministry"
    assert header_key("Coût total de l’opération") == "total_cost"
    assert header_key("Total autre financement") == "ignored"
    assert header_key("Commentaire") is None
