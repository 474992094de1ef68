"""The IATI activity reader, against the standard's own annotated example and French cases."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from ingest._iati_activity import french_code
from ingest.errors import UnreadableInput
from ingest.iati import read_iati
from ingest.records import ActorMention, AuthorityMention, PartnerMention
from ingest.sniff import read_any

IATI = Path(__file__).parent / "data" / "iati"
EXAMPLE = IATI / "activity-standard-example-annotated.xml"


def _write(tmp_path: Path, activities: str, root_attrs: str = 'version="2.03"') -> Path:
    path = tmp_path / "activites.xml"
    path.write_text(
        f'<?xml version="1.0" encoding="UTF-8"?>\n<iati-activities {root_attrs}>\n{activities}\n'
        "</iati-activities>\n",
        encoding="utf-8",
    )
    return path


def test_standard_example_as_the_file_says() -> None:
    result = read_iati(EXAMPLE)
    assert result.issues == []
    assert result.rows_seen == 1
    (activity,) = result.records
    assert activity.source_id == "AA-AAA-123456789-ABC123"
    assert activity.language == "en"  # <iati-activity xml:lang="en">
    assert activity.titles == {
        "en": "Activity title",
        "fr": "Titre de l'activité",
        "es": "Título de la actividad",
    }
    # The general description (type 1) comes first, objectives (2) and target groups (3) after.
    assert activity.descriptions["en"] == (
        "General activity description text.  Long description of the activity with no "
        "particular structure.\n\nObjectives for the activity, for example from a logical "
        "framework.\n\nStatement of groups targeted to benefit from the activity."
    )
    assert activity.descriptions["fr"].startswith("Activité générale du texte de description.")
    assert activity.descriptions["fr"].endswith("bénéficier de l'activité.")
    # No local government (type 11) in the example: every participating org is an actor.
    assert activity.french_authorities == [] and activity.partners == []
    assert activity.actors == [
        ActorMention("Name of Agency B", "financeur", None),  # role 1, type 40 multilateral
        ActorMention("Name of Agency C", "responsable", "institution"),  # role 2, government
        ActorMention("Nom de l'agence A", "operateur", "association"),  # French name preferred
    ]
    assert activity.countries == ["AF", "AG"]
    assert activity.sectors == ["111", "112"]  # vocabulary 2; the vocabulary-99 one is skipped
    assert activity.status == "en-cours"  # activity-status 2 (Implementation)
    # Actual start 2012-04-28 wins over planned 2012-04-15; only a planned end (2015-12-31).
    assert (activity.start_year, activity.end_year) == (2012, 2015)
    # One budget of 3000 whose value says EUR, although the activity's default is USD.
    assert (activity.total_cost, activity.currency) == (Decimal(3000), "EUR")
    assert (activity.line, activity.xpath) == (8, "/iati-activities/iati-activity[1]")


def test_french_cooperation_activities() -> None:
    result = read_iati(IATI / "cooperation_fr.xml")
    assert result.issues == []
    rennes, lille = result.records
    assert rennes.french_authorities == [
        AuthorityMention("Ville de Rennes", code="213502388"),  # FR-RCS-<SIREN>
        AuthorityMention("Département d'Ille-et-Vilaine", code="35"),  # FR-INSEE-<code>
    ]
    assert rennes.partners == [PartnerMention("Commune de Dakar", "SN")]  # from the ref prefix
    assert rennes.actors == [
        ActorMention("Agence Française de Développement", "financeur", "institution"),
        ActorMention("Dakar Clean City Association", "operateur", "association"),
    ]
    assert rennes.titles == {
        "fr": "Appui à la gestion des déchets de la commune de Dakar",
        "en": "Support to waste management in the city of Dakar",
    }
    assert rennes.descriptions == {
        "fr": "La Ville et ses partenaires forment les agents de la propreté urbaine.\n\n"
        "Réduire de moitié les dépôts sauvages."
    }
    assert (rennes.status, rennes.start_year, rennes.end_year) == ("termine", 2021, 2024)
    assert rennes.sectors == ["14050", "15112"]  # vocabulary 1, explicit or by default
    # 2021: the revised budget (type 2) replaces the original; 2022 original only.
    assert (rennes.total_cost, rennes.currency) == (Decimal("75000.50"), "EUR")

    assert lille.french_authorities == [
        AuthorityMention("Métropole Européenne de Lille", code="200093201")  # SIRET → SIREN
    ]
    # No ref: the partner's country is the activity's only recipient country.
    assert lille.partners == [PartnerMention("Commune de Saint-Louis", "SN")]
    assert lille.language == "fr"  # no xml:lang anywhere: guessed from the title
    assert (lille.status, lille.start_year, lille.end_year) == ("prevu", 2024, None)
    assert lille.sectors == ["140"]
    assert lille.total_cost is None
    assert (lille.line, lille.xpath) == (58, "/iati-activities/iati-activity[2]")


def test_per_activity_problems_are_located_by_xpath_and_line() -> None:
    result = read_iati(IATI / "with_errors.xml")
    assert result.rows_seen == 7
    assert [r.source_id for r in result.records] == ["FR-X-OK-1", "FR-X-WARN"]
    assert [(i.severity, i.xpath, i.line) for i in result.issues] == [
        ("error", "/iati-activities/iati-activity[2]/iati-identifier", 9),
        ("error", "/iati-activities/iati-activity[3]/title", 14),
        ("error", "/iati-activities/iati-activity[4]/activity-date", 19),
        ("error", "/iati-activities/iati-activity[5]/budget/value", 27),
        ("error", "/iati-activities/iati-activity[6]/iati-identifier", 31),
        ("warning", "/iati-activities/iati-activity[7]/budget[1]", 39),
        ("warning", "/iati-activities/iati-activity[7]/sector", 38),
        ("warning", "/iati-activities/iati-activity[7]/activity-status", 37),
    ]
    reasons = [i.reason for i in result.issues]
    assert reasons[2] == (
        "date invalide : « 2019-13 » (attendu : une date ISO AAAA-MM-JJ entre 1950 et 2100)"
    )
    assert "« 10 000,00 »" in reasons[3]
    assert "déjà utilisé par /iati-activities/iati-activity[1]" in reasons[4]
    assert "EUR, USD" in reasons[5]
    assert result.issues[0].record is None and result.issues[1].record == "FR-X-NO-TITLE"
    assert result.issues[0].location() == (
        "with_errors.xml:9:/iati-activities/iati-activity[2]/iati-identifier"
    )


def test_iati_1_style_text_and_role_names(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        """<iati-activity default-currency="EUR">
  <iati-identifier>FR-OLD-1</iati-identifier>
  <title>Water for the schools of the city</title>
  <participating-org role="Funding" type="10">Ministry of the example</participating-org>
  <activity-date type="start-actual" iso-date="2010-01-31"/>
  <activity-date type="end-planned" iso-date="2009-12-31"/>
</iati-activity>""",
        'version="1.05"',
    )
    result = read_iati(path)
    assert result.records == []
    assert [(i.xpath, i.reason) for i in result.issues] == [
        (
            "/iati-activities/iati-activity[1]/activity-date[2]",
            "année de fin (2009) antérieure à l'année de début (2010)",
        )
    ]
    path.write_text(path.read_text().replace("2009-12-31", "2012-12-31"), encoding="utf-8")
    (activity,) = read_iati(path).records
    assert activity.titles == {"en": "Water for the schools of the city"}
    assert activity.actors == [ActorMention("Ministry of the example", "financeur", "institution")]
    assert (activity.start_year, activity.end_year) == (2010, 2012)


def test_external_entity_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "xxe.xml"
    path.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY secret SYSTEM "file:///etc/passwd">]>\n'
        "<iati-activities><iati-activity><iati-identifier>&secret;</iati-identifier>"
        "</iati-activity></iati-activities>\n",
        encoding="utf-8",
    )
    with pytest.raises(UnreadableInput, match="DOCTYPE ou ENTITY refusée"):
        read_iati(path)


def test_empty_activity_file_gives_a_warning_not_a_crash(tmp_path: Path) -> None:
    result = read_iati(_write(tmp_path, ""))
    assert result.records == []
    assert [(i.severity, i.reason) for i in result.issues] == [
        ("warning", "aucune activité (iati-activity) dans le fichier")
    ]


def test_read_any_sends_xml_to_the_iati_reader(tmp_path: Path) -> None:
    renamed = tmp_path / "export.txt"
    renamed.write_bytes(EXAMPLE.read_bytes())
    (activity,) = read_any(renamed).records
    assert activity.source_id == "AA-AAA-123456789-ABC123"


@pytest.mark.parametrize(
    ("ref", "code"),
    [
        ("FR-RCS-213502388", "213502388"),
        ("FR-SIRET-20009320100019", "200093201"),
        ("FR-INSEE-35238", "35238"),
        ("FR-INSEE-2A004", "2A004"),
        ("FR-COG-53", "53"),
        ("FR-6", None),
    ],
)
def test_french_code_from_org_ref(ref: str, code: str | None) -> None:
    assert french_code(ref) == code
