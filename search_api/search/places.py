"""Places named in a search query: countries, demonyms, cities, world and French regions, partners.

« gestion des déchets ménagers en Tunisie » names Tunisia; « coopération culturelle avec le
Québec » names Canada (province of Québec); « une commune bretonne » names the French région
Bretagne. :class:`PlaceRecognizer` finds those spans so that search can steer its ranking to the
place and show it as a chip (issue 9, point 2); :func:`remainder` is the query without them, for
the semantic part.

How it matches (docs/search.md, « Lieux / Places »):

- the query and every place name are cut into folded tokens (``_place_text``: case, accents,
  hyphens and apostrophes do not matter), and each name is one key in a dict, so a query costs a
  few dict look-ups per token — no regular expression per place;
- at each token the longest known name wins (« Guinée-Bissau » before « Guinée », « Afrique du
  Sud » before « Afrique »), then matches are kept longest first without overlap;
- an article or preposition just before a name joins its span (« en Tunisie », « de la
  Guinée », « l'Inde », « in Tunisia »), not before a demonym (« une commune *bretonne* »);
- precision first: names that are also ordinary words only count with a capital and, for single
  words, after an article or preposition (« la Réunion » the island, never « une réunion »;
  « dans le Nord », never « coopération Nord-Sud »); French cities are never foreign places;
  a demonym after « en » or « cours de » is a language (« rédigé en malgache »).

Built once per index load (~0.3 s, see bench/places.py); :meth:`PlaceRecognizer.find` takes
tens of microseconds.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from search_api.search import _place_data as data
from search_api.search._place_data import KIND_PRIORITY, PlaceForm, words
from search_api.search._place_text import Token, fold, key_variants, tokenize, word_variants

#: Kinds of place, in the order of precedence when one name could be several.
KINDS: tuple[str, ...] = tuple(KIND_PRIORITY)
#: Kinds a partner entity of the index may have.
PARTNER_KINDS = ("partner", "province")
#: Priority of every form derived from the index's partners (town or province alike).
_PARTNER_PRIORITY = KIND_PRIORITY["partner"]
#: Tokens joined to the span of a name just after them (« en », « du », « l' », « in »…).
_JOINED = words("en au aux a dans du des de d l la le les in to the from el los las del")
_ARTICLES = words("l la le les the el los las")
#: Prepositions joined before an article (« de la Guinée », « à l'Inde », « in the Gambia »).
_BEFORE_ARTICLE = words("de a dans en in to of from desde")
#: Words before a demonym that make it a language (« en malgache », « cours d'espagnol »).
_LANGUAGE_CUES = words(
    "en in langue langues language languages cours course courses classes lessons lecons "
    "apprentissage apprendre learn learning enseignement enseigner teaching teach traduction "
    "traduire traduit translation translate translated parler parle parlant speaking speak "
    "spoken lengua idioma clases curso cursos aprender ensenanza traduccion hablar bilingue "
    "bilingual"
)
_OF = words("de d du des of del")
#: What may stand between an absorbed article and the name (spaces, apostrophes, hyphens).
_GLUE = re.compile(r"^[\s'’ʼ`\-]*$")


@dataclass(frozen=True)
class PlaceMatch:
    """One place found in a query.

    ``text``/``start``/``end``: the span of the query it came from, article or preposition
    included (« en Tunisie »). ``kind``: one of :data:`KINDS`. ``label``: French display label.
    ``countries``: ISO 3166-1 alpha-2 codes the place means (a world region's documented
    members; the country of a city, province or partner). ``french_regions``: INSEE région
    codes (French side; a world region's overseas French members). ``french_departements``:
    INSEE département codes. ``partners``: the index names of the partner authorities or
    provinces a ``partner``/``province`` match stands for.
    """

    text: str
    start: int
    end: int
    kind: str
    label: str
    countries: tuple[str, ...] = ()
    french_regions: tuple[str, ...] = ()
    french_departements: tuple[str, ...] = ()
    partners: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready dict (tuples as lists) for the API's ``understood.places``."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}


@dataclass(frozen=True)
class PartnerPlace:
    """A foreign partner authority or province of the index, as the recogniser is given it."""

    name: str  # as in the graph: « Commune de Kaolack », « Gouvernorat de Sousse »
    country: str | None  # ISO 3166-1 alpha-2
    kind: str = "partner"  # "partner" (a town or any authority) or "province"


def _designators() -> tuple[list[tuple[tuple[str, ...], str]], list[tuple[tuple[str, ...], str]]]:
    prefixes: list[tuple[tuple[str, ...], str]] = []
    suffixes: list[tuple[tuple[str, ...], str]] = []
    for line in (data.DATA_DIR / "designators.txt").read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        position, kind, words = line.split("|")
        target = prefixes if position == "prefix" else suffixes
        target.append((tuple(fold(words).split()), kind))
    # Longest designator first: « Commune rurale de » before « Commune ».
    prefixes.sort(key=lambda d: -len(d[0]))
    suffixes.sort(key=lambda d: -len(d[0]))
    return prefixes, suffixes


class _PartnerNames:
    """Strips designators from partner names (« Commune rurale de Ndiob » → « Ndiob »)."""

    def __init__(self) -> None:
        self.prefixes, self.suffixes = _designators()
        # Designators by first (last) word: 10,000 partners are split at each index load.
        self._by_first: dict[str, list[tuple[tuple[str, ...], str]]] = {}
        for words_of, which in self.prefixes:
            self._by_first.setdefault(words_of[0], []).append((words_of, which))
        self._by_last: dict[str, list[tuple[tuple[str, ...], str]]] = {}
        for words_of, which in self.suffixes:
            self._by_last.setdefault(words_of[-1], []).append((words_of, which))

    def split(self, name: str) -> tuple[str, str | None]:
        """(place name as written, designator kind or None) of a partner's name."""
        bare, kind, _words, _bare_words = self.split_words(name)
        return bare, kind

    def split_words(self, name: str) -> tuple[str, str | None, list[str], list[str]]:
        """:meth:`split`, plus the folded words of the name and of the place name."""
        tokens = tokenize(name)
        words = [t.text for t in tokens]
        if not words:
            return name, None, words, words
        first, last, kind = 0, len(tokens), None
        for words_of, which in self._by_first.get(words[0], ()):
            if tuple(words[: len(words_of)]) == words_of and len(words) > len(words_of):
                first, kind = len(words_of), which
                if words[first] in _OF | _ARTICLES and len(words) > first + 1:
                    first += 1
                if words[first] in _ARTICLES and len(words) > first + 1:  # « de la », « del »
                    first += 1
                break
        for words_of, which in self._by_last.get(words[-1], ()):
            n = len(words_of)
            if last - first > n and tuple(words[last - n : last]) == words_of:
                last, kind = last - n, kind or which
                break
        if first == 0 and last == len(tokens):
            return name, None, words, words
        bare = name[tokens[first].start : tokens[last - 1].end]
        return bare, kind, words, words[first:last]


class PlaceRecognizer:
    """Finds places in queries; build once per index load, then call :meth:`find`.

    ``partners``: the foreign partner authorities and provinces of the index, as
    :class:`PartnerPlace` or ``(name, iso2, kind)`` tuples; each is known by its full name
    and by the place name inside it (« Kaolack » for « Commune de Kaolack »).
    """

    def __init__(
        self,
        partners: Iterable[PartnerPlace | tuple[str, str | None, str]] = (),
        *,
        base: Sequence[PlaceForm] | None = None,
    ) -> None:
        forms: set[PlaceForm] = set(base if base is not None else data.base_forms())
        self.partner_count = 0
        names = _PartnerNames()
        guarded = data.guarded_words()
        for item in partners:
            partner = item if isinstance(item, PartnerPlace) else PartnerPlace(*item)
            if partner.kind not in PARTNER_KINDS:
                raise ValueError(
                    f"type de partenaire inconnu : {partner.kind!r} (attendu : "
                    f"{', '.join(PARTNER_KINDS)}) / unknown partner kind"
                )
            self.partner_count += 1
            forms.update(_partner_forms(partner, names, guarded))
        table: dict[str, list[PlaceForm]] = {}
        for form in forms:
            table.setdefault(form.key, []).append(form)
        self._table: dict[str, tuple[PlaceForm, ...]] = {
            key: tuple(sorted(group, key=_rank)) if len(group) > 1 else (group[0],)
            for key, group in table.items()
        }
        self._longest: dict[str, int] = {}
        longest = self._longest
        for key in self._table:
            head, _, rest = key.partition(" ")
            size = rest.count(" ") + 2 if rest else 1
            if size > longest.get(head, 0):
                longest[head] = size

    @property
    def key_count(self) -> int:
        """Number of distinct folded names known (for the bench and the docs)."""
        return len(self._table)

    def find(self, query: str) -> list[PlaceMatch]:
        """Places named in ``query``, in order: longest non-overlapping matches."""
        tokens = tokenize(query)
        found: list[tuple[int, int, list[PlaceForm]]] = []
        for i, token in enumerate(tokens):
            longest = min(self._longest.get(token.text, 0), len(tokens) - i)
            for size in range(longest, 0, -1):
                group = self._table.get(" ".join(t.text for t in tokens[i : i + size]))
                if not group or (size > 1 and not _one_name(query, tokens, i, size)):
                    continue
                picked = _pick(group, tokens, i, size)
                if picked:
                    found.append((i, i + size, picked))
                    break
        taken = [False] * len(tokens)
        kept: list[tuple[int, int, list[PlaceForm]]] = []
        for first, last, picked in sorted(found, key=lambda f: (f[0] - f[1], f[0])):
            if not any(taken[first:last]):
                taken[first:last] = [True] * (last - first)
                kept.append((first, last, picked))
        matches = []
        for first, last, picked in sorted(kept, key=lambda f: f[0]):
            if not picked[0].adjective:
                first = _join_left(query, tokens, first, taken)
            matches.append(_match(query, tokens[first].start, tokens[last - 1].end, picked))
        return matches

    def remainder(self, query: str, matches: Sequence[PlaceMatch] | None = None) -> str:
        """``query`` without the place spans (found now when ``matches`` is None)."""
        return remainder(query, self.find(query) if matches is None else matches)


def builtin_forms() -> tuple[PlaceForm, ...]:
    """Every built-in place form (countries, regions, cities…), without the index's partners.

    Reading them is most of a build (~0.2–0.3 s): a server that reloads its index may keep
    this tuple and pass it as ``PlaceRecognizer(partners, base=...)``.
    """
    return tuple(data.base_forms())


def remainder(query: str, matches: Sequence[PlaceMatch]) -> str:
    """The query with the place spans removed and its spaces tidied (for the semantic part)."""
    out, position = [], 0
    for match in sorted(matches, key=lambda m: m.start):
        out.append(query[position : match.start])
        position = max(position, match.end)
    out.append(query[position:])
    text = " ".join("".join(out).split())
    text = re.sub(r"\s+([,.;:!?)])", r"\1", text)
    text = re.sub(r"([,;:(])(?=[,;:.!?)]|$)", "", text)
    return text.strip(" ,;:-")


def _rank(form: PlaceForm) -> tuple[int, bool, str, tuple[str, ...]]:
    return (_priority(form), form.adjective, form.label, form.countries)


def _priority(form: PlaceForm) -> int:
    return _PARTNER_PRIORITY if form.names else KIND_PRIORITY[form.kind]


def _allowed(form: PlaceForm, tokens: list[Token], first: int, size: int) -> bool:
    head = tokens[first]
    if form.upper and not all(t.all_upper for t in tokens[first : first + size]):
        return False
    if form.cased and not head.upper:
        return False
    before = tokens[first - 1].text if first else ""
    if form.context and before not in form.context:
        return False
    if form.adjective:
        if before == "en" or (form.language and before in _LANGUAGE_CUES):
            return False
        if form.language and before in _OF and first >= 2:
            return tokens[first - 2].text not in _LANGUAGE_CUES
    return True


#: What may separate the words of one name (« Guinée-Bissau », « Côte d'Ivoire », « St. John's »).
_INSIDE_NAME = re.compile(r"^[\s'’ʼ`\-.]*$")


def _one_name(query: str, tokens: list[Token], first: int, size: int) -> bool:
    """No comma or other punctuation inside the span (« Afrique, du Sud » is not a name)."""
    return all(
        _INSIDE_NAME.match(query[tokens[k].end : tokens[k + 1].start])
        for k in range(first, first + size - 1)
    )


def _pick(group: tuple[PlaceForm, ...], tokens: list[Token], first: int, size: int
          ) -> list[PlaceForm]:
    """The forms a key stands for here: the best allowed one and its equals in rank."""
    best: PlaceForm | None = None
    picked: list[PlaceForm] = []
    for form in group:
        if best is not None and (_priority(form), form.adjective) != (
            _priority(best), best.adjective
        ):
            break
        if _allowed(form, tokens, first, size):
            best = best or form
            picked.append(form)
    return picked


def _join_left(query: str, tokens: list[Token], first: int, taken: list[bool]) -> int:
    """Index of the first token of the span once « en », « de la », « l' »… are joined."""
    for allowed in (_JOINED, _BEFORE_ARTICLE):
        before = first - 1
        if before < 0 or taken[before] or tokens[before].text not in allowed:
            break
        if not _GLUE.match(query[tokens[before].end : tokens[first].start]):
            break
        if allowed is _BEFORE_ARTICLE and tokens[first].text not in _ARTICLES:
            break
        first = before
        if tokens[first].text not in _ARTICLES:
            break
    return first


def _match(query: str, start: int, end: int, picked: list[PlaceForm]) -> PlaceMatch:
    head = picked[0]

    def union(values: Iterable[tuple[str, ...]]) -> tuple[str, ...]:
        return tuple(dict.fromkeys(v for group in values for v in group))

    labels = list(dict.fromkeys(f.label for f in picked))
    return PlaceMatch(
        text=query[start:end],
        start=start,
        end=end,
        kind=head.kind,
        label=" / ".join(labels),
        countries=union(f.countries for f in picked),
        french_regions=union(f.french_regions for f in picked),
        french_departements=union(f.french_departements for f in picked),
        partners=union(f.names for f in picked),
    )


def _partner_forms(partner: PartnerPlace, names: _PartnerNames, guarded: frozenset[str]
                   ) -> list[PlaceForm]:
    """The full name of a partner and the place name inside it, each guarded when ordinary
    (« Man »: a capital and a preposition; « Mar del Plata »: capitals). Written for speed
    (the default corpus has 10,000 partners): one fold per name, forms built directly."""
    countries = (partner.country,) if partner.country else ()
    bare, _designator, all_words, bare_words = names.split_words(partner.name)
    out: list[PlaceForm] = []
    for name_words in (all_words, bare_words) if bare_words != all_words else (all_words,):
        joined = "".join(name_words)
        if len(joined) < 3 or joined.isdigit():
            continue
        ordinary = " ".join(name_words) in guarded or all(w in guarded for w in name_words)
        context = data.CITY_CONTEXT if ordinary and len(name_words) == 1 else frozenset()
        for key in word_variants(name_words):
            out.append(PlaceForm(key, partner.kind, bare, countries, names=(partner.name,),
                                 cased=ordinary, context=context))
    return out


def partner_places(partners: Iterable[tuple[str, str | None]]) -> list[PartnerPlace]:
    """The index's partners ``(name, iso2)`` as :class:`PartnerPlace`, a province when the
    name says so (« Gouvernorat de Sousse », « Région de Kayes »), distinct names once."""
    names = _PartnerNames()
    out: dict[str, PartnerPlace] = {}
    for name, country in partners:
        if name not in out:
            kind = "province" if names.split(name)[1] == "province" else "partner"
            out[name] = PartnerPlace(name, country, kind)
    return list(out.values())


def partner_place(name: str) -> tuple[str, str | None]:
    """(place name, ``"town"``/``"province"``/None) of a partner authority's name:
    « Gouvernorat de Sousse » → (« Sousse », « province »). For the index builder."""
    return _PartnerNames().split(name)


__all__ = [
    "KINDS", "PARTNER_KINDS", "PartnerPlace", "PlaceMatch", "PlaceRecognizer", "builtin_forms",
    "key_variants", "partner_place", "partner_places", "remainder",
]
