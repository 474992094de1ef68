"""Plausible foreign place and authority names for the synthetic corpus.

Names are built from small morpheme banks per *naming area* (Wolof-like, Malagasy-like,
German-like…) plus a short list of real towns per country, then dressed with the local
designator (« Commune rurale de … », « Stadt … », « Gmina … », « Municipio de … »).  Every
partner made here is synthetic, whatever its name: the graph marks it ``cl:synthetique``.

The data lives in ``ingest/synthetic/phrases/places.json`` (country profiles, areas, real towns).
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from graph.namespaces import slugify

PLACES_FILE = Path(__file__).parent / "phrases" / "places.json"

#: Placeholder for the spaces inside a proper name, so that French elision rules applied to a
#: sentence never rewrite the inside of a name (« Ayuntamiento de Alcalá » must stay as is).
NAME_SPACE = "\x00"

_VOWELS = "aeiouyàâäéèêëîïôöûùüœAEIOUYÀÂÄÉÈÊËÎÏÔÖÛÙÜŒ"
# One pass for both rules (this runs on every generated sentence): a contraction « de le » →
# « du », « à les » → « aux », or an elision « de Agadez » → « d'Agadez », « que il » → « qu'il ».
_TIDY = re.compile(
    rf"\b(?:([dD]e|[àÀ]) ([lL]es?) |([dD]e|[qQ]ue|[lL][ea]|[jJ]usque) (?=[{_VOWELS}]))"
)
_CONTRACTED = {("de", "le"): "du", ("de", "les"): "des", ("à", "le"): "au", ("à", "les"): "aux"}


def _tidy_match(m: re.Match[str]) -> str:
    if m.group(1):
        word = _CONTRACTED[(m.group(1).lower(), m.group(2).lower())]
        return (word.capitalize() if m.group(1)[0].isupper() else word) + " "
    return m.group(3)[:-1] + "'"


def tidy_french(text: str) -> str:
    """French contractions (« de le » → « du ») and elisions (« de Agadez » → « d'Agadez »)."""
    return _TIDY.sub(_tidy_match, text)


def protect(name: str) -> str:
    """Hide a name's inner spaces from :func:`tidy_french` (undone by :func:`unprotect`)."""
    head, sep, rest = name.partition(" ")
    if sep and head in ("Le", "Les", "le", "les"):  # « de Le Mans » still contracts to « du Mans »
        return head + sep + rest.replace(" ", NAME_SPACE)
    return name.replace(" ", NAME_SPACE)


def unprotect(text: str) -> str:
    """Restore the spaces hidden by :func:`protect`."""
    return text.replace(NAME_SPACE, " ")


@dataclass(frozen=True)
class CountryProfile:
    """How a partner country looks in the corpus: weight, project intensity, naming area."""

    iso2: str
    zone: str  # world zone, drives twinning share and signature years
    area: str  # naming area in ``places.json``
    weight: float  # relative number of partner authorities
    intensity: float  # relative number of projects per partnership
    prep: str  # French locative preposition: "au", "en", "à", "aux"
    lang: str | None  # language a few descriptions may be written in ("en", "es")
    real: tuple[str, ...]  # a few real towns, used as seeds
    designators: tuple[str, ...] = ()  # overrides the area's designators when set
    designator_weights: tuple[float, ...] = ()

    def locative(self, name_fr: str) -> str:
        """« au Sénégal », « en Tunisie », « à Madagascar », « aux Comores »."""
        return f"{self.prep} {name_fr}"

    def genitive(self, name_fr: str) -> str:
        """« du Sénégal », « de Tunisie », « de Madagascar », « des Comores »."""
        form = {"au": "du", "aux": "des", "dans les": "des", "à la": "de la"}.get(self.prep, "de")
        return tidy_french(f"{form} {name_fr}")


@dataclass(frozen=True)
class NameArea:
    """Morphemes and designators of one naming area."""

    start: tuple[str, ...]
    end: tuple[str, ...]
    mid: tuple[str, ...] = ()
    mid_p: float = 0.0
    prefix: tuple[str, ...] = ()
    prefix_p: float = 0.0
    suffix: tuple[str, ...] = ()
    suffix_p: float = 0.0
    join: str = ""
    designators: tuple[str, ...] = ("Commune de {}",)
    designator_weights: tuple[float, ...] = (1.0,)


def _split(value: object) -> tuple[str, ...]:
    return tuple(str(value).split("|")) if value else ()


@dataclass(frozen=True)
class PlaceBank:
    """Everything ``places.json`` holds, parsed once per generation."""

    countries: Mapping[str, CountryProfile]
    areas: Mapping[str, NameArea]
    twinning_share: Mapping[str, float]  # zone -> probability a partnership is a jumelage
    signature_years: Mapping[str, tuple[int, int, int]]  # zone -> (min, max, mode)
    articles: Mapping[str, Mapping[str, str]]  # language -> designator head word -> article

    @classmethod
    def load(cls, path: Path = PLACES_FILE) -> PlaceBank:
        """Read the place data file (part of the package)."""
        data = json.loads(path.read_text(encoding="utf-8"))
        real = data["real"]
        countries = {
            iso2: CountryProfile(
                iso2=iso2,
                zone=c["zone"],
                area=c["area"],
                weight=float(c["w"]),
                intensity=float(c["p"]),
                prep=c["prep"],
                lang=c.get("lang"),
                real=_split(real.get(iso2, "")),
                designators=tuple(c.get("des", {})),
                designator_weights=tuple(float(w) for w in c.get("des", {}).values()),
            )
            for iso2, c in data["countries"].items()
        }
        areas = {
            key: NameArea(
                start=_split(a["start"]),
                end=_split(a["end"]),
                mid=_split(a.get("mid", "")),
                mid_p=float(a.get("mid_p", 0.0)),
                prefix=_split(a.get("prefix", "")),
                prefix_p=float(a.get("prefix_p", 0.0)),
                suffix=_split(a.get("suffix", "")),
                suffix_p=float(a.get("suffix_p", 0.0)),
                join=a.get("join", ""),
                designators=tuple(a["des"]),
                designator_weights=tuple(float(w) for w in a["des"].values()),
            )
            for key, a in data["areas"].items()
        }
        years = {z: (int(v[0]), int(v[1]), int(v[2])) for z, v in data["zone_years"].items()}
        articles = {"fr": data["articles"], "es": data["articles_es"], "en": data["articles_en"]}
        return cls(countries, areas, data["zone_kinds"], years, articles)


class PlaceNamer:
    """Draws place and authority names with one random generator.

    It remembers the authority names already handed out per country, so that two partners of
    the same country never share a name (the resolver identifies partners by name + country).
    """

    def __init__(self, bank: PlaceBank, rng: random.Random, real_share: float = 0.25) -> None:
        self._bank = bank
        self._rng = rng
        self._real_share = real_share
        self._taken: dict[str, set[str]] = {}
        self._real_left: dict[str, list[str]] = {}

    def place(self, iso2: str) -> str:
        """A plausible place name of the country (villages, quartiers: may repeat)."""
        profile = self._bank.countries[iso2]
        if profile.real and self._rng.random() < 0.15:
            return self._rng.choice(profile.real)
        return self._compose(self._bank.areas[profile.area])

    def authority(self, iso2: str) -> tuple[str, str]:
        """A new partner authority of the country: (designated name, bare place name)."""
        profile = self._bank.countries[iso2]
        area = self._bank.areas[profile.area]
        taken = self._taken.setdefault(iso2, set())
        for attempt in range(200):
            place = self._next_real(profile) if self._rng.random() < self._real_share else None
            if place is None:
                place = self._compose(area)
                if attempt > 50:  # a small area ran dry: qualify the name like real twins do
                    place = f"{place} {self._rng.choice(('Nord', 'Sud', 'Centre', 'Est', 'Ouest'))}"
            if profile.designators:
                designator = self._rng.choices(profile.designators, profile.designator_weights)[0]
            else:
                designator = self._rng.choices(area.designators, area.designator_weights)[0]
            name = self._designate(designator, place)
            identity = partner_identity(name)
            if identity not in taken:
                taken.add(identity)
                return name, place
        raise RuntimeError(f"impossible de générer un nom de partenaire inédit pour {iso2}")

    def article_form(self, name: str, lang: str = "fr") -> str:
        """The name with its designator's article (« la Commune de … », « el Municipio … »)."""
        article = self._bank.articles.get(lang, {}).get(name.split(" ", 1)[0])
        if not article:
            return name
        return article + name if article.endswith("'") else f"{article} {name}"

    def _next_real(self, profile: CountryProfile) -> str | None:
        left = self._real_left.get(profile.iso2)
        if left is None:
            left = list(profile.real)
            self._rng.shuffle(left)
            self._real_left[profile.iso2] = left
        return left.pop() if left else None

    def _designate(self, designator: str, place: str) -> str:
        name = designator.format(place)
        if designator.split(" ", 1)[0] in self._bank.articles["fr"]:
            name = tidy_french(name)
        return name

    def _compose(self, area: NameArea) -> str:
        rng = self._rng
        start = rng.choice(area.start)
        end = rng.choice(area.end)
        while area.join == " " and end == start:
            end = rng.choice(area.end)
        middle = rng.choice(area.mid) if area.mid and rng.random() < area.mid_p else ""
        name = f"{start}{area.join}{end}" if area.join else _glue((start, middle, end))
        if area.prefix and rng.random() < area.prefix_p:
            prefix = rng.choice(area.prefix)
            name = prefix + (name if prefix[-1] in " -'" else name[0].lower() + name[1:])
        if area.suffix and rng.random() < area.suffix_p:
            name += rng.choice(area.suffix)
        return name


#: The designators the resolver treats as "the town itself" (``ingest.resolver``): « Commune de
#: Kaolack » and « Mairie de Kaolack » are one partner there, so they must be one here too.
_SAME_TOWN = re.compile(
    r"^(?:commune-(?:urbaine-|rurale-)?(?:de|d|du)-|ville-(?:de|d|du)-|mairie-(?:de|d|du)-|"
    r"municipalite-(?:de|d|du)-|city-of-|town-of-|municipality-of-)"
)


def partner_identity(name: str) -> str:
    """The key under which the resolver identifies a foreign authority of a given country."""
    slug = slugify(name)
    return _SAME_TOWN.sub("", slug) or slug


def _glue(parts: Sequence[str]) -> str:
    """Join morphemes, avoiding a doubled letter at a seam (« Diabba » → « Diaba »)."""
    out = ""
    for part in parts:
        if not part:
            continue
        if out and part[0].lower() == out[-1].lower() and part[0].isalpha() and len(part) > 1:
            part = part[1:]
        out += part if not out or out[-1] in "-' " else part[0].lower() + part[1:]
    return out


ACTORS_FILE = Path(__file__).parent / "phrases" / "actors.json"
_ACTOR_SLOT = re.compile(r"\{(\w+)\}")


class ActorNamer:
    """Invents names for synthetic associations, universities, hospitals and businesses.

    Names are unique (compared as URI slugs, since an actor's URI is minted from its name), and
    every generated place in them is synthetic, so no name designates a real organisation on
    purpose.
    """

    def __init__(self, rng: random.Random, path: Path = ACTORS_FILE) -> None:
        self._rng = rng
        self._data = json.loads(path.read_text(encoding="utf-8"))
        self._taken: set[str] = set()

    def name(self, cls: str, french: bool, values: Mapping[str, str]) -> str:
        """A new name for an actor of class ``cls`` (French side or partner country side).

        ``values`` fills ``{lieu}``, ``{ville}``, ``{pays}``, ``{du_pays}``; several attempts are
        made before a name is qualified by its place to keep it unique.
        """
        patterns = self._data[cls]["fr" if french and "fr" in self._data[cls] else "local"]
        name = ""
        for _ in range(30):
            name = self._fill(self._rng.choice(patterns), values)
            if _slug_key(name) not in self._taken:
                break
        else:
            counter = 2
            base = f"{name} — {values.get('ville') or values.get('lieu', '')}"
            name = base
            while _slug_key(name) in self._taken:
                name, counter = f"{base} {counter}", counter + 1
        self._taken.add(_slug_key(name))
        return name

    def _fill(self, pattern: str, values: Mapping[str, str]) -> str:
        data, rng = self._data, self._rng

        def one(match: re.Match[str]) -> str:
            key = match.group(1)
            if key == "nom":
                return rng.choice(data["nom_debut"]) + rng.choice(data["nom_fin"])
            if key in ("a", "b"):
                return str(rng.choice(data[key]))
            return values[key]

        return tidy_french(_ACTOR_SLOT.sub(one, pattern))


def _slug_key(name: str) -> str:
    # Actors are identified by the slug of their name (``UriMinter.actor``): compare slugs.
    return slugify(name)
