"""Phrase banks and the writer that turns them into project titles and descriptions.

The banks live in ``ingest/synthetic/phrases/``: ``common.json`` (French generic templates and
vocabulary), one ``theme-<slug>.json`` per theme (its vocabulary, DAC sectors and
theme-specific sentences), ``en.json`` and ``es.json`` (smaller banks for the few descriptions
written in English or Spanish).  A description is assembled part by part — context,
objective, activities, beneficiaries, actors, results, sustainability — each sentence drawn
either from the theme's own sentences or from a generic template filled with the theme's
vocabulary, so that the same theme is told with many different words (the semantic search
built on these texts must not be solvable by keyword overlap alone).

Plausibility (issue 12): before a project is written, :meth:`DescriptionWriter.constrain`
gives the tags of its country (:class:`ingest.synthetic.plausibility.Geography`: no mangroves
in Lebanon)
and the money its works may cost (:class:`ingest.synthetic.plausibility.Costs`: the quantities of
« {n:3-12} forages » shrink to what the budget pays for, and a sentence that cannot fit is
replaced by another one).

Template syntax: ``{slot}`` is replaced by a value of the sentence's theme vocabulary, then
of the language's generic vocabulary, then of the project variables; ``{Slot}`` capitalises
it; ``{slot2}`` draws a second value different from the first; ``{n:a-b}`` draws an integer.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ingest.synthetic.names import protect, tidy_french, unprotect
from ingest.synthetic.plausibility import Costs, Geography

PHRASES_DIR = Path(__file__).parent / "phrases"

#: The parts of a description, in reading order.
PARTS = ("context", "objective", "activity", "beneficiary", "actors", "result", "sustainability")

_SLOT = re.compile(r"\{([A-Za-z_]+?)(\d?)(?::(\d+)-(\d+))?\}")
_THOUSANDS = {"fr": "\u202f", "en": ",", "es": "."}


@dataclass(frozen=True)
class ThemePhrases:
    """One theme in one language: its vocabulary and its own sentences per part."""

    slug: str
    vocab: Mapping[str, tuple[str, ...]]
    parts: Mapping[str, tuple[str, ...]]
    weight: float = 1.0
    sectors: tuple[str, ...] = ()
    related: tuple[str, ...] = ()


@dataclass(frozen=True)
class LanguageBank:
    """The generic templates and vocabulary of one language, plus its themes."""

    lang: str
    vocab: Mapping[str, tuple[str, ...]]
    parts: Mapping[str, tuple[str, ...]]  # PARTS + "title"
    themes: Mapping[str, ThemePhrases]


def _theme_from(slug: str, data: dict[str, Any]) -> ThemePhrases:
    return ThemePhrases(
        slug=slug,
        vocab={k: tuple(v) for k, v in data.get("vocab", {}).items()},
        parts={p: tuple(data[p]) for p in (*PARTS, "title") if p in data},
        weight=float(data.get("weight", 1.0)),
        sectors=tuple(data.get("sectors", ())),
        related=tuple(data.get("related", ())),
    )


@dataclass(frozen=True)
class PhraseBank:
    """All languages' banks, read from the package's ``phrases`` folder."""

    languages: Mapping[str, LanguageBank]

    @classmethod
    def load(cls, directory: Path = PHRASES_DIR) -> PhraseBank:
        """Read ``common.json``, every ``theme-*.json``, ``en.json`` and ``es.json``."""
        common = json.loads((directory / "common.json").read_text(encoding="utf-8"))
        themes = {}
        for path in sorted(directory.glob("theme-*.json")):
            data = json.loads(path.read_text(encoding="utf-8"))
            themes[data["slug"]] = _theme_from(data["slug"], data)
        languages = {"fr": _language("fr", common, themes)}
        for lang in ("en", "es"):
            data = json.loads((directory / f"{lang}.json").read_text(encoding="utf-8"))
            foreign = {slug: _theme_from(slug, t) for slug, t in data["themes"].items()}
            languages[lang] = _language(lang, data, foreign)
        return cls(languages)

    @property
    def themes(self) -> Mapping[str, ThemePhrases]:
        """The French themes (the reference set: weights, sectors, related themes)."""
        return self.languages["fr"].themes


def _language(lang: str, data: dict[str, Any], themes: dict[str, ThemePhrases]) -> LanguageBank:
    vocab = {k: tuple(v) for k, v in data.get("vocab", {}).items()}
    parts = {p: tuple(data[p]) for p in (*PARTS, "title") if p in data}
    return LanguageBank(lang, vocab, parts, themes)


def _capitalise(text: str) -> str:
    return text[:1].upper() + text[1:] if text else text


def _rounded(value: int) -> int:
    # Large counts are rounded the way project documents round them (« 12 000 habitants »);
    # rounded down, so that what the budget allowed stays allowed.
    step = 1000 if value >= 10_000 else 100 if value >= 1_000 else 10 if value >= 200 else 1
    return value // step * step


def _format_number(value: int, lang: str) -> str:
    digits = f"{_rounded(value):,}"
    return digits.replace(",", _THOUSANDS.get(lang, ","))


class _NoFit(Exception):
    """No value of a slot suits the project's country or budget: try another template."""


@dataclass(frozen=True)
class _CostProfile:
    """The works a template or vocabulary value cites
    (see :class:`ingest.synthetic.plausibility.Costs`)."""

    slots: Mapping[int, float]  # start of a ``{n:a-b}`` slot -> minimal unit cost
    lump: float  # whole facilities cited (« une station de potabilisation »)
    least: float  # the least it can cost: lump + every slot at its lower bound


class DescriptionWriter:
    """Writes titles and descriptions from a :class:`PhraseBank` with one random generator."""

    def __init__(self, bank: PhraseBank, rng: random.Random,
                 geography: Geography | None = None, costs: Costs | None = None) -> None:
        self._bank = bank
        self._rng = rng
        self._geography = geography
        self._costs = costs
        self._tags: frozenset[str] = frozenset()
        self._budget = float("inf")  # what the works of the current project may still cost
        self._fitting: dict[tuple[int, frozenset[str]], tuple[str, ...]] = {}
        self._profiles: dict[str, _CostProfile] = {}
        self._flagged: dict[int, dict[str, tuple[frozenset[str], ...]]] = {}
        self._least: dict[int, tuple[float, ...]] = {}

    def constrain(self, tags: frozenset[str], works_budget: float) -> None:
        """Write the next project for a country with ``tags``, its works costing at most
        ``works_budget`` euros (without a geography or cost table, no constraint applies)."""
        self._tags = tags
        self._budget = works_budget if self._costs is not None else float("inf")

    def _fit(self, options: tuple[str, ...]) -> tuple[str, ...]:
        """The options that suit the current country (cached per option list and country)."""
        if self._geography is None:
            return options
        key = (id(options), self._tags)
        found = self._fitting.get(key)
        if found is None:
            flagged = self._flagged.get(id(options))
            if flagged is None:  # which options need some climate or milieu, once per list
                flagged = {o: n for o in options if (n := self._geography.needs(o))}
                self._flagged[id(options)] = flagged
            found = options if not flagged else tuple(
                o for o in options if all(n & self._tags for n in flagged.get(o, ())))
            self._fitting[key] = found
        return found

    def _affordable(self, options: tuple[str, ...], budget: float) -> tuple[str, ...]:
        """The options whose works the remaining budget pays for."""
        least = self._least.get(id(options))
        if least is None:
            least = tuple(self._profile(o).least for o in options)
            self._least[id(options)] = least
        if max(least, default=0.0) <= budget:
            return options
        return tuple(o for o, cost in zip(options, least, strict=True) if cost <= budget)

    def _profile(self, text: str) -> _CostProfile:
        """Costed slots (position -> unit cost) and whole facilities of a template or value."""
        found = self._profiles.get(text)
        if found is None:
            slots: dict[int, float] = {}
            lump, least = 0.0, 0.0
            for works in self._costs.works if self._costs is not None else ():
                for match in works.slot.finditer(text):
                    if works.counted:
                        slots[match.start(1) - 3] = works.minimum  # where « {n: » starts
                        least += int(match.group(1)) * works.minimum
                    else:
                        lump += works.minimum
            found = _CostProfile(slots, lump, lump + least)
            self._profiles[text] = found
        return found

    def title(self, lang: str, theme: str, variables: Mapping[str, str]) -> str:
        """A project title about ``theme`` in ``lang``."""
        language = self._bank.languages[lang]
        specific = self._fit(language.themes[theme].parts.get("title", ()))
        generic = self._fit(language.parts["title"])
        for _ in range(12):
            pool = specific if specific and self._rng.random() < 0.35 else generic
            try:
                text = self._fill(self._rng.choice(pool), language, theme, variables, {})
            except _NoFit:
                continue
            return self._finish(text, lang, sentence=False)
        raise RuntimeError(f"aucun titre possible pour le thème {theme}")  # data error

    def description(
        self,
        lang: str,
        themes: Sequence[str],
        variables: Mapping[str, str],
        min_words: int = 40,
        max_words: int = 150,
    ) -> str:
        """A description of a project about ``themes`` (first = main) in ``lang``.

        Secondary themes get at least one sentence each, so a multi-theme project reads as
        a blend; the length stays within ``[min_words, max_words]``.
        """
        rng = self._rng
        language = self._bank.languages[lang]
        plan = ["context", "objective", *["activity"] * rng.randint(1, 3)]
        plan += [p for p, prob in (("beneficiary", 0.75), ("actors", 0.5), ("result", 0.8),
                                   ("sustainability", 0.45)) if rng.random() < prob]
        sentence_themes = [themes[0] if rng.random() < 0.7 else rng.choice(themes) for _ in plan]
        for i, extra in enumerate(themes[1:]):
            if extra not in sentence_themes:  # blend: each secondary theme shows up at least once
                slot = min(2 + i, len(plan) - 1)
                sentence_themes[slot] = extra
        used_templates: set[str] = set()
        used_values: dict[str, set[str]] = {}
        written = [
            (part, self._sentence(language, part, theme, variables, used_templates, used_values))
            for part, theme in zip(plan, sentence_themes, strict=True)
        ]
        # a part with no sentence suiting the country and budget is left out
        plan = [part for part, text in written if text is not None]
        sentences = [text for _, text in written if text is not None]
        counts = [len(s.split()) for s in sentences]
        target = rng.randint(max(min_words + 5, 55), max_words)
        # Drop optional sentences (latest first) while the text is longer than its target.
        optional = ("sustainability", "actors", "beneficiary", "activity", "result")
        while sum(counts) > target:
            total = sum(counts)
            drop = next((i for p in optional for i in range(len(plan) - 1, 1, -1)
                         if plan[i] == p and total - counts[i] >= min_words), None)
            if drop is None:
                break
            del plan[drop], sentences[drop], counts[drop]
        for _ in range(10):
            if sum(counts) >= min_words:
                break
            part = rng.choice(("activity", "result", "beneficiary"))
            another = self._sentence(language, part, themes[0], variables, used_templates,
                                     used_values)
            if another is None:
                continue
            extra = another
            sentences.insert(len(sentences) - 1, extra)
            counts.append(len(extra.split()))
        text = " ".join(sentences)
        if sum(counts) > max_words:  # last resort, not reached with the shipped banks
            text = " ".join(text.split()[:max_words]).rstrip(",;:") + "."
        return text

    def _sentence(
        self,
        language: LanguageBank,
        part: str,
        theme: str,
        variables: Mapping[str, str],
        used_templates: set[str],
        used_values: dict[str, set[str]],
    ) -> str | None:
        """One sentence for ``part``, or None when no template suits the country and budget."""
        rng = self._rng
        specific = self._fit(language.themes[theme].parts.get(part, ()))
        generic = self._fit(language.parts.get(part, ()))
        # A theme's own sentences are favoured, but in proportion to how many it has, so that a
        # small bank does not repeat the same sentence in most of the theme's descriptions.
        share = min(0.45, 0.1 * len(specific))
        failed: set[str] = set()
        for attempt in range(16):
            pool = specific if specific and (not generic or rng.random() < share) else generic
            if not pool:
                return None
            template = rng.choice(pool)
            if (template in used_templates and attempt < 8) or template in failed:
                continue
            try:
                text = self._fill(template, language, theme, variables, used_values)
            except _NoFit:
                failed.add(template)
                continue
            used_templates.add(template)
            return self._finish(text, language.lang, sentence=True)
        return None

    def _fill(
        self,
        template: str,
        language: LanguageBank,
        theme: str,
        variables: Mapping[str, str],
        used: dict[str, set[str]],
    ) -> str:
        """Fill ``template``; raises :class:`_NoFit` when no value suits the country or budget
        (the budget is only spent when the whole template is filled)."""
        theme_vocab = language.themes[theme].vocab
        rng = self._rng
        budget = [self._budget]
        picked: list[tuple[str, str]] = []

        def fill(text: str) -> str:
            profile = self._profile(text)
            budget[0] -= profile.lump
            if budget[0] < 0:
                raise _NoFit

            def replace(match: re.Match[str]) -> str:
                name, digit, low, high = match.groups()
                key = name.lower()
                if low is not None:
                    top = int(high)
                    unit = profile.slots.get(match.start())
                    if unit:  # works: as many as the money left pays for
                        top = min(top, int(budget[0] // unit))
                        if top < int(low):
                            raise _NoFit
                    number = _rounded(rng.randint(int(low), top))
                    if unit:
                        budget[0] -= number * unit
                    value = _format_number(number, language.lang)
                elif key in theme_vocab or key in language.vocab:
                    options = self._affordable(
                        self._fit(theme_vocab.get(key) or language.vocab[key]), budget[0])
                    if not options:
                        raise _NoFit
                    seen = used.get(key, set())
                    fresh = [o for o in options if o not in seen] or list(options)
                    value = rng.choice(fresh)
                    picked.append((key, value))
                    value = fill(value)  # vocabulary may hold slots: {n:3-12} forages
                elif key + digit in variables:  # {localite2} is its own variable
                    value = protect(variables[key + digit])
                else:
                    raise KeyError(f"gabarit « {template} » : variable inconnue {{{name}}}")
                return _capitalise(value) if name[0].isupper() else value

            return _SLOT.sub(replace, text)

        text = fill(template)
        self._budget = budget[0]
        for key, value in picked:
            used.setdefault(key, set()).add(value)
        return text

    @staticmethod
    def _finish(text: str, lang: str, sentence: bool) -> str:
        if lang == "fr":
            text = tidy_french(text)
        elif lang == "es":
            text = re.sub(r"\bde el ", "del ", re.sub(r"\ba el ", "al ", text))
        text = unprotect(text)
        return _capitalise(text) if sentence else text


