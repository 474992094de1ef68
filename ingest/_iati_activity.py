"""One ``iati-activity`` element → one :class:`RawProject` (see :mod:`ingest.iati` for the rules).

Like the spreadsheet reader, a missing identifier or title and any malformed figure (date,
budget value) reject the activity; unknown codes are warnings.  Issues carry the XPath of the
offending element and its line.
"""

from __future__ import annotations

import re
from collections import defaultdict
from decimal import Decimal
from xml.etree.ElementTree import Element

from ingest._parsing import YEAR_MAX, YEAR_MIN, clean_text, detect_language, one_line
from ingest.records import (
    ActorMention,
    AuthorityMention,
    Issue,
    PartnerMention,
    RawProject,
    Severity,
)

# IATI codelists (2.03): OrganisationRole, ActivityStatus, ActivityDateType; the 1.0x text
# codes are accepted as well since old files still circulate.
_ROLES = {"1": "financeur", "2": "responsable", "3": "operateur", "4": "maitre-oeuvre"}
_ROLES_V1 = {"funding": "1", "accountable": "2", "extending": "3", "implementing": "4"}
_STATUSES = {"1": "prevu", "2": "en-cours", "3": "termine", "4": "termine", "5": "annule",
             "6": "suspendu"}  # fmt: skip
_DATE_TYPES = {
    "1": ("start", False),
    "2": ("start", True),
    "3": ("end", False),
    "4": ("end", True),
    "start-planned": ("start", False),
    "start-actual": ("start", True),
    "end-planned": ("end", False),
    "end-actual": ("end", True),
}
LOCAL_GOVERNMENT = "11"  # OrganisationType codelist: 11 = Local Government
# OrganisationType → actor kind used by the RDF mapping (ingest.mapping.ACTOR_CLASS).
_ACTOR_KINDS = {"10": "institution", "15": "institution", "21": "association",
                "22": "association", "23": "association", "24": "association",
                "60": "association", "70": "entreprise", "71": "entreprise",
                "72": "entreprise", "73": "entreprise", "80": "universite"}  # fmt: skip
# Sector vocabularies: 1 = OECD DAC 5-digit purpose codes (the default), 2 = 3-digit categories.
_SECTOR_DIGITS = {"1": 5, "dac": 5, "2": 3, "dac-3": 3}
# Org-id prefixes that are not countries (XM = multilateral, XI = IATI registry…).
_NOT_COUNTRIES = {"XM", "XI", "XX", "ZZ"}


def _lang(code: str | None) -> str | None:
    code = (code or "").strip().lower().split("-")[0]
    return code or None


def french_code(ref: str) -> str | None:
    """The SIREN or INSEE code inside a French org-id (``FR-RCS-213502388`` → ``213502388``).

    A SIRET (14 digits) gives its SIREN (first 9); an INSEE/COG ref gives its commune,
    département or région code.
    """
    digits = re.findall(r"[0-9]{14}|[0-9]{9}", ref)
    if digits:
        return digits[0][:9]
    if re.search(r"INSEE|COG", ref, re.IGNORECASE):
        match = re.search(r"(?<![0-9A-Z])([0-9]{5}|2[AB][0-9]{3}|[0-9]{2,3})$", ref.upper())
        return match.group(1) if match else None
    return None


def parse_decimal(text: str | None) -> Decimal | None:
    """An ``xsd:decimal`` as IATI writes it (``3000``, ``1500.50``); None when malformed."""
    text = (text or "").strip()
    if not re.fullmatch(r"\+?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)", text):
        return None
    return Decimal(text)


def _iso(element: Element, child: str) -> str:
    found = element.find(child)
    return (found.get("iso-date") or "").strip() if found is not None else ""


class ActivityReader:
    """Reads one activity, collecting issues located by XPath and line."""

    def __init__(
        self,
        file: str,
        activity: Element,
        index: int,
        lines: dict[Element, int],
        root_lang: str | None,
    ) -> None:
        self.file, self.activity, self.lines = file, activity, lines
        self.xpath = f"/iati-activities/iati-activity[{index}]"
        self.issues: list[Issue] = []
        self.record_id: str | None = None
        self.parents = {child: parent for parent in activity.iter() for child in parent}
        self.lang = _lang(activity.get("xml:lang")) or _lang(root_lang)

    def path(self, element: Element) -> str:
        """XPath of ``element`` (a descendant of the activity), positions where ambiguous."""
        steps = []
        while element is not self.activity and element in self.parents:
            parent = self.parents[element]
            same = [e for e in parent if e.tag == element.tag]
            step = element.tag if len(same) == 1 else f"{element.tag}[{same.index(element) + 1}]"
            steps.append(step)
            element = parent
        return "/".join([self.xpath, *reversed(steps)])

    def report(self, element: Element | None, reason: str, severity: Severity) -> None:
        element = self.activity if element is None else element
        self.issues.append(
            Issue(
                self.file,
                reason,
                self.lines.get(element),
                self.path(element),
                severity=severity,
                record=self.record_id,
            )
        )

    def error(self, element: Element | None, reason: str) -> None:
        """Report a problem that rejects the activity."""
        self.report(element, reason, "error")

    def warn(self, element: Element | None, reason: str) -> None:
        """Report a problem the activity is kept despite."""
        self.report(element, reason, "warning")

    def narratives(self, element: Element | None) -> list[tuple[str | None, str]]:
        """(language or None, text) of each narrative; IATI 1.0x kept the text in the element."""
        if element is None:
            return []
        items = element.findall("narrative") or [element]
        return [(_lang(i.get("xml:lang")), clean_text(i.text or "")) for i in items]

    def read(self, max_description: int) -> RawProject | None:
        """The activity as a record, or None if it must be rejected (see ``issues``)."""
        act = self.activity
        id_element = act.find("iati-identifier")
        identifier = clean_text(id_element.text or "") if id_element is not None else ""
        self.record_id = identifier or None
        if not identifier:
            self.error(id_element, "identifiant IATI (iati-identifier) absent ou vide")
        title_element = act.find("title")
        title_texts = [(lang, one_line(t)) for lang, t in self.narratives(title_element) if t]
        described = [
            (desc, lang, text)
            for desc in act.findall("description")
            for lang, text in self.narratives(desc)
            if text
        ]
        if self.lang is None:  # no xml:lang anywhere: guess from the untagged texts
            texts = title_texts + [(lang, text) for _, lang, text in described]
            untagged = " ".join(text for lang, text in texts if lang is None)
            self.lang = detect_language(untagged, default="en")
        titles: dict[str, str] = {}
        for lang, text in title_texts:
            titles.setdefault(lang or self.lang, text)
        if not titles:
            self.error(title_element, "titre (title/narrative) absent ou vide")
        descriptions = self._descriptions(described, max_description)
        start, end = self._years()
        total, currency = self._budget()
        if any(i.severity == "error" for i in self.issues):
            return None
        authorities, partners, actors = self._organisations()
        return RawProject(
            source_id=self.record_id,
            titles=titles,
            descriptions=descriptions,
            language=self.lang,
            french_authorities=authorities,
            partners=partners,
            countries=self._countries(),
            sectors=self._sectors(),
            status=self._status(),
            start_year=start,
            end_year=end,
            total_cost=total,
            currency=currency,
            actors=actors,
            line=self.lines.get(act),
            xpath=self.xpath,
        )

    def _descriptions(
        self, described: list[tuple[Element, str | None, str]], max_description: int
    ) -> dict[str, str]:
        # The general description (type 1, the default) comes first; objectives, target
        # groups… follow, separated by a blank line.
        ordered = sorted(described, key=lambda item: item[0].get("type", "1").strip() != "1")
        parts: dict[str, list[str]] = defaultdict(list)
        for _, lang, text in ordered:
            parts[lang or self.lang or "en"].append(text)
        descriptions = {}
        for lang, texts in parts.items():
            text = "\n\n".join(texts)
            if len(text) > max_description:
                self.warn(
                    ordered[0][0],
                    f"description ({lang}) tronquée à {max_description} caractères "
                    f"(elle en avait {len(text)})",
                )
                text = text[:max_description]
            descriptions[lang] = text
        return descriptions

    def _years(self) -> tuple[int | None, int | None]:
        found: dict[tuple[str, bool], tuple[int, Element]] = {}
        for element in self.activity.findall("activity-date"):
            kind = _DATE_TYPES.get(element.get("type", "").strip().lower())
            if kind is None:
                self.warn(element, f"type de date inconnu ignoré : « {element.get('type')} »")
                continue
            iso = (element.get("iso-date") or element.text or "").strip()
            match = re.fullmatch(r"([0-9]{4})-[0-9]{2}-[0-9]{2}(?:T.*)?", iso)
            if not match or not YEAR_MIN <= int(match.group(1)) <= YEAR_MAX:
                self.error(
                    element,
                    f"date invalide : « {iso} » (attendu : une date ISO AAAA-MM-JJ entre "
                    f"{YEAR_MIN} et {YEAR_MAX})",
                )
                continue
            found.setdefault(kind, (int(match.group(1)), element))
        # Actual dates win over planned ones.
        start = found.get(("start", True)) or found.get(("start", False))
        end = found.get(("end", True)) or found.get(("end", False))
        if start and end and end[0] < start[0]:
            self.error(
                end[1], f"année de fin ({end[0]}) antérieure à l'année de début ({start[0]})"
            )
        return (start[0] if start else None), (end[0] if end else None)

    def _budget(self) -> tuple[Decimal | None, str]:
        default = (self.activity.get("default-currency") or "").strip().upper() or None
        # Per period, a revised budget (type 2) replaces the original one (type 1).
        periods: dict[tuple[str, str], tuple[bool, Decimal, str | None]] = {}
        for budget in self.activity.findall("budget"):
            value = budget.find("value")
            amount = parse_decimal(value.text if value is not None else None)
            if value is None or amount is None:
                shown = clean_text(value.text or "") if value is not None else ""
                self.error(
                    budget if value is None else value,
                    f"montant de budget invalide : « {shown} » (attendu : un nombre décimal "
                    "positif, par ex. « 3000.50 »)",
                )
                continue
            currency = (value.get("currency") or "").strip().upper() or default
            period = (_iso(budget, "period-start"), _iso(budget, "period-end"))
            revised = budget.get("type", "1").strip() == "2"
            kept = periods.get(period)
            if kept is None or (revised and not kept[0]):
                periods[period] = (revised, amount, currency)
        if not periods:
            return None, default or "EUR"
        currencies = {currency for _, _, currency in periods.values()}
        single = next(iter(currencies)) if len(currencies) == 1 else None
        if single is None:
            shown = ", ".join(sorted(c or "non précisée" for c in currencies))
            self.warn(
                self.activity.find("budget"),
                f"budgets en devises différentes ou sans devise ({shown}) : coût total non calculé",
            )
            return None, default or "EUR"
        return sum((amount for _, amount, _ in periods.values()), Decimal(0)), single

    def _name(self, element: Element) -> str | None:
        """An organisation's name: French narrative first, then the default language, the ref."""
        names: dict[str | None, str] = {}
        for lang, text in self.narratives(element):
            if text:
                names.setdefault(lang or self.lang, text)
        first = next(iter(names.values()), None)
        return names.get("fr") or names.get(self.lang) or first or element.get("ref") or None

    def _organisations(
        self,
    ) -> tuple[list[AuthorityMention], list[PartnerMention], list[ActorMention]]:
        authorities: dict[str, AuthorityMention] = {}
        partners: dict[str, PartnerMention] = {}
        actors: dict[tuple[str, str], ActorMention] = {}
        countries = self._countries()
        orgs = [(org, False) for org in self.activity.findall("participating-org")]
        orgs += [(org, True) for org in self.activity.findall("reporting-org")]
        for org, reporting in orgs:
            name = one_line(self._name(org) or "")
            if not name:
                self.warn(org, "organisation sans nom ni référence (ref) ignorée")
                continue
            ref = (org.get("ref") or "").strip()
            local = org.get("type", "").strip() == LOCAL_GOVERNMENT
            if local and ref.upper().startswith("FR-"):
                authorities.setdefault(name, AuthorityMention(name, code=french_code(ref)))
            elif reporting:
                continue  # the publisher is only kept when it is a French authority
            elif local:
                prefix = ref[:2].upper() if re.match(r"[A-Za-z]{2}-", ref) else None
                country = prefix if prefix and prefix not in _NOT_COUNTRIES else None
                if country is None and len(countries) == 1:
                    country = countries[0]
                partners.setdefault(name, PartnerMention(name, country))
            else:
                role_code = org.get("role", "").strip()
                role = _ROLES.get(_ROLES_V1.get(role_code.lower(), role_code), "appui")
                kind = _ACTOR_KINDS.get(org.get("type", "").strip())
                actors.setdefault((name, role), ActorMention(name, role, kind))
        return list(authorities.values()), list(partners.values()), list(actors.values())

    def _countries(self) -> list[str]:
        codes = []
        for element in self.activity.findall("recipient-country"):
            code = (element.get("code") or "").strip().upper()
            if code and code not in codes:
                codes.append(code)
        return codes

    def _sectors(self) -> list[str]:
        codes = []
        for element in self.activity.findall("sector"):
            vocabulary = (element.get("vocabulary") or "1").strip().lower()
            digits = _SECTOR_DIGITS.get(vocabulary)
            if digits is None:
                continue  # other vocabularies (UN SDG, publisher codes…) are not modelled
            code = (element.get("code") or "").strip()
            if not re.fullmatch(f"[0-9]{{{digits}}}", code):
                reason = (
                    f"code secteur CAD invalide ignoré : « {code} » ({digits} chiffres attendus)"
                )
                self.warn(element, reason)
            elif code not in codes:
                codes.append(code)
        return codes

    def _status(self) -> str | None:
        element = self.activity.find("activity-status")
        if element is None:
            return None
        code = (element.get("code") or "").strip()
        if code not in _STATUSES:
            self.warn(element, f"statut d'activité inconnu ignoré : « {code} » (attendu : 1 à 6)")
            return None
        return _STATUSES[code]
