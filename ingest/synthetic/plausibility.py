"""The plausibility rules of the synthetic corpus, as data.

A ministry reader who knows the field must not catch the default corpus out (issue 12): no
mangroves in Lebanon, no « avancée du désert » outside arid zones, no 150 latrines and 12
boreholes for 20,000 €, no village leading a two-million programme alone, no identical titles
side by side in one country, no foreign partner named after a place no gazetteer knows.

The rules live in ``ingest/synthetic/phrases/geography.json`` (climate and milieux of each
country, the words that need them, the themes that need them) and
``ingest/synthetic/phrases/costs.json`` (minimal unit costs of works, cost range of each kind
of action, what an authority carries alone).
The generator draws within them (:mod:`ingest.synthetic.generator`);
:func:`ingest.synthetic.audit.violations` counts, on any corpus, what breaks them.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from ingest.reference import ReferenceData

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
