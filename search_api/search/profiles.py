"""Profiles: what a person reads about a French authority, a région or département, a foreign
partner, a theme or a country, instead of its raw triples (issue 11, §3).

A profile is typed (:class:`Profile`) and made of SPARQL answers only — summary numbers
(:class:`Fact`), figures (:class:`~search_api.search.figures.Figure`) and paginated lists
(:class:`Listing`) — each keeping the query that produced it, so the page can offer it again
(« voir la requête », CSV, JSON). The texts are in :mod:`search_api.search._profile_queries`;
the similar authorities in :mod:`search_api.search.portfolios`. Labels of countries, themes,
classes and properties follow the page's language; names of authorities and projects are the
graph's (French).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from pydantic import BaseModel, Field

from graph.namespaces import CL, ORG, RDF, SKOS, THEME
from search_api.search import _profile_queries as q
from search_api.search.figures import Figure, QueryRunner, run_figure
from search_api.search.portfolios import PORTFOLIO_QUERY, Neighbour, Portfolios

#: Links per page of a listing.
PAGE_SIZE = 25
#: French authorities that get the authority profile (régions and départements get the
#: territory one, which includes it).
AUTHORITY_CLASSES = frozenset(CL + c for c in (
    "CollectiviteTerritoriale", "Commune", "Intercommunalite", "CollectiviteStatutParticulier",
    "Groupement", "Syndicat", "GIP", "EtablissementPublic", "GroupementCollectivites"))
#: Attributes shown under the title, in this order, by kind of profile.
ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "authority": ("codeInsee", "siren", "typeEPCI", "population", "region", "departement"),
    "region": ("codeInsee", "siren", "population"),
    "departement": ("codeInsee", "siren", "population", "region"),
    "partner": ("pays",),
    "country": ("codeIso2", "codeIso3", "codeCAD"),
    "theme": (SKOS + "notation", SKOS + "definition", SKOS + "closeMatch"),
}
#: Summary numbers, figures and listings by kind of profile.
FACTS: dict[str, tuple[str, ...]] = {
    "authority": ("partners", "countries", "partnerships", "actors"),
    # not the partners of a région's authorities: one more query over thousands of links
    "region": ("authorities", "countries", "partnerships", "actors"),
    "partner": ("authorities", "partnerships", "actors"),
    "theme": ("authorities", "partners", "countries", "actors"),
    "country": ("authorities", "partners", "partnerships", "actors"),
}
FIGURES: dict[str, tuple[str, ...]] = {
    "authority": ("projects_by_theme", "projects_by_country", "projects_by_year"),
    "region": ("projects_by_country", "projects_by_theme", "projects_by_authority"),
    "partner": ("projects_by_theme", "projects_by_authority", "projects_by_year"),
    "theme": ("projects_by_country", "projects_by_authority", "projects_by_year"),
    "country": ("projects_by_theme", "projects_by_authority", "projects_by_year"),
}
LISTINGS: dict[str, tuple[str, ...]] = {
    "authority": ("projects", "partners", "partnerships", "actors"),
    "region": ("projects", "authorities", "partnerships", "actors"),
    "partner": ("projects", "authorities", "partnerships", "actors"),
    "theme": ("projects", "authorities", "partners", "actors"),
    "country": ("projects", "authorities", "partners", "partnerships", "actors"),
}
for _table in (ATTRIBUTES, FACTS, FIGURES, LISTINGS):  # a département reads as a région
    _table.setdefault("departement", _table["region"])


class Item(BaseModel):
    """One entry of a list: an entity, its label and what the page says about it."""

    uri: str = Field(description="URI de l'entité (vide pour une valeur littérale)")
    label: str
    value: float | None = Field(default=None, description="Nombre de projets en commun…")
    notes: list[str] = Field(default_factory=list, description="Pays, collectivités, type…")
    start: int | None = Field(default=None, description="Année de début ou de signature")
    end: int | None = Field(default=None, description="Année de fin")


class Listing(BaseModel):
    """One page of a list grouped by kind (projects, partnerships, partners, authorities,
    actors), and the query listing all of it in this order."""

    id: str
    total: int
    offset: int
    limit: int
    items: list[Item]
    query: str


class Fact(BaseModel):
    """A summary number and the query that counted it."""

    id: str
    value: float
    unit: str = "count"  # count | euros
    query: str
    counted: str = Field(default="value", description="« value » : la requête donne le nombre ; "
                         "« rows » : c'est son nombre de lignes (une par entité)")


class Attribute(BaseModel):
    """A property of the entity shown under its title (code INSEE, population, région…)."""

    id: str
    label: str
    values: list[Item]


class Profile(BaseModel):
    """Everything a profile page shows (the HTML renders it, nothing else)."""

    kind: str = Field(description="authority, region, departement, partner, theme, country")
    uri: str
    label: str
    types: list[Item]
    synthetic: bool = False
    attributes: list[Attribute] = Field(default_factory=list)
    facts: list[Fact] = Field(default_factory=list)
    figures: list[Figure] = Field(default_factory=list)
    listings: list[Listing] = Field(default_factory=list)
    networks: list[Item] = Field(default_factory=list, description="Réseaux et groupements")
    members: int = Field(default=0, description="Membres (org:hasMember) d'un groupement")
    neighbours: list[Neighbour] = Field(default_factory=list,
                                        description="Collectivités proches (authority)")
    neighbours_query: str | None = None
    iso2: str | None = Field(default=None, description="Pays de l'entité (code ISO)")
    region_code: str | None = Field(default=None, description="Code INSEE de sa région")
    theme: str | None = Field(default=None, description="Slug du thème")

    def fact(self, fact_id: str) -> float:
        return next((f.value for f in self.facts if f.id == fact_id), 0.0)


@dataclass(frozen=True)
class Statement:
    """One outgoing statement of the entity."""

    predicate: str
    value: str
    is_iri: bool
    lang: str


@dataclass
class ProfileBase:
    """A profile without the pages of its lists, the scope they are read from, and each
    list in full (id → its query and entries, unlabelled beyond a figure's labels)."""

    profile: Profile
    scope: q.Scope
    lists: dict[str, tuple[str, list[Item]]] = field(default_factory=dict)


def _page_start(offset: int, total: int) -> int:
    """``offset`` moved onto a page boundary inside the list (the last page when past it)."""
    last = max(0, total - 1) // PAGE_SIZE * PAGE_SIZE
    return max(0, min(offset // PAGE_SIZE * PAGE_SIZE, last))


def _lexical(value: object) -> str:
    """A value of ``QueryOutcome.rows`` back as text (booleans as ``true``/``false``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _int(value: object) -> int | None:
    try:
        return int(str(value)) if value is not None else None
    except ValueError:
        return None


def kind_of(uri: str, types: set[str]) -> str | None:
    """Which profile an entity gets (``None``: the raw view, as networks and actors)."""
    if CL + "Projet" in types:
        return "project"
    for cls, kind in ((CL + "Region", "region"), (CL + "Departement", "departement")):
        if cls in types:
            return kind
    if types & AUTHORITY_CLASSES:
        return "authority"
    if CL + "CollectiviteEtrangere" in types:
        return "partner"
    if CL + "Pays" in types:
        return "country"
    if uri.startswith(THEME) and SKOS + "Concept" in types:
        return "theme"
    return None


class ProfileReader:
    """Reads profiles from the graph through ``run`` (``KnowledgeBase.query``), in ``lang``."""

    def __init__(self, run: QueryRunner, lang: str = "fr",
                 portfolios: Callable[[], Portfolios | None] | None = None) -> None:
        self.run = run
        self.lang = lang
        self.portfolios = portfolios

    # ------------------------------------------------------------------ reading helpers
    def statements(self, uri: str) -> list[Statement]:
        return [Statement(str(r["pred"]), _lexical(r["o"]), bool(r["isiri"]),
                          str(r["lang"] or "")) for r in self.run(q.outgoing(uri)).rows()]

    def labels(self, uris: Iterable[str]) -> dict[str, str]:
        """The best label of each URI: in the page's language, else French, else any."""
        todo = sorted(set(uris))
        rank = {self.lang: 0, "fr": 1, "": 2}
        best: dict[str, tuple[int, str]] = {}
        for start in range(0, len(todo), 500):
            for row in self.run(q.labels(todo[start:start + 500])).rows():
                uri, label = str(row["x"]), str(row["label"])
                score = rank.get(str(row["lang"] or ""), 3)
                if uri not in best or score < best[uri][0]:
                    best[uri] = (score, label)
        return {uri: label for uri, (_, label) in best.items()}

    def pairs(self, query: str) -> dict[str, list[str]]:
        found: dict[str, list[str]] = defaultdict(list)
        for row in self.run(query).rows():
            label = str(row["label"])
            if label not in found[str(row["item"])]:
                found[str(row["item"])].append(label)
        return found

    # ------------------------------------------------------------------ the profile
    def profile(self, uri: str, offsets: Mapping[str, int] | None = None,
                statements: list[Statement] | None = None) -> Profile | None:
        """The profile of ``uri`` with the pages of its lists starting at ``offsets`` (by
        list id), or ``None`` when its kind has none (the raw view then)."""
        base = self.base(uri, statements)
        return None if base is None else self.page(base, offsets or {})

    def base(self, uri: str, statements: list[Statement] | None = None) -> ProfileBase | None:
        """Everything of a profile but the pages of its lists: the same for every page and
        every request of one generation, so a caller may keep it."""
        own = statements if statements is not None else self.statements(uri)
        types = {s.value for s in own if s.predicate == RDF + "type"}
        kind = kind_of(uri, types)
        if kind is None or kind == "project":
            return None
        scope = {"authority": lambda: q.authority_scope(uri),
                 "region": lambda: q.territory_scope(uri, "region"),
                 "departement": lambda: q.territory_scope(uri, "departement"),
                 "partner": lambda: q.partner_scope(uri),
                 "theme": lambda: q.theme_scope(uri),
                 "country": lambda: q.country_scope(uri)}[kind]()
        mentioned = {s.value for s in own if s.is_iri}
        labels = self.labels(mentioned | {uri} | {s.predicate for s in own})
        profile = Profile(
            kind=kind, uri=uri, label=labels.get(uri) or uri.rsplit("/", 1)[-1],
            types=[Item(uri=t, label=labels.get(t, t)) for t in sorted(types)
                   if t.startswith(CL)],
            synthetic=any(s.predicate == CL + "synthetique" and s.value == "true" for s in own),
            attributes=self._attributes(kind, own, labels),
            networks=sorted((Item(uri=s.value, label=labels.get(s.value, s.value))
                             for s in own if s.predicate == ORG + "memberOf"),
                            key=lambda i: i.label.casefold()),
            members=sum(s.predicate == ORG + "hasMember" for s in own),
            iso2=next((s.value for s in own if s.predicate == CL + "codeIso2"), None),
            theme=next((s.value for s in own if s.predicate == SKOS + "notation"), None),
        )
        if kind == "partner":
            country = next((s.value for s in own if s.predicate == CL + "pays"), None)
            if country:
                profile.iso2 = country.rsplit("/", 1)[-1]
        base = ProfileBase(profile, scope)
        self._summary(base)
        if kind in ("authority", "region", "departement"):
            profile.region_code = self._region_code(uri)
            self._neighbours(profile)
        return base

    def page(self, base: ProfileBase, offsets: Mapping[str, int]) -> Profile:
        """The profile with one page of each of its lists (``offsets`` by list id)."""
        profile = base.profile.model_copy(deep=True)
        for name in LISTINGS[profile.kind]:
            if name == "projects":
                listing = self._projects(base.scope, int(profile.fact("projects")),
                                         offsets.get(name, 0))
            else:
                query, items = base.lists[name]
                offset = _page_start(offsets.get(name, 0), len(items))
                listing = Listing(id=name, total=len(items), offset=offset, limit=PAGE_SIZE,
                                  items=[i.model_copy() for i in
                                         items[offset:offset + PAGE_SIZE]], query=query)
            self._describe(profile.kind, listing)
            profile.listings.append(listing)
        return profile

    def _attributes(self, kind: str, own: list[Statement],
                    labels: Mapping[str, str]) -> list[Attribute]:
        out = []
        for name in ATTRIBUTES[kind]:
            predicate = name if ":" in name else CL + name
            found = [s for s in own if s.predicate == predicate]
            tagged = [s for s in found if s.lang]
            if tagged:  # a text in both languages: the page's, else French
                found = ([s for s in tagged if s.lang == self.lang]
                         or [s for s in tagged if s.lang == "fr"] or tagged[:1])
            if not found:
                continue
            values = [Item(uri=s.value, label=labels.get(s.value, s.value)) if s.is_iri
                      else Item(uri="", label=s.value) for s in found]
            out.append(Attribute(id=predicate.rsplit("#", 1)[-1].rsplit("/", 1)[-1],
                                 label=labels.get(predicate, ""), values=values))
        return out

    def _region_code(self, uri: str) -> str | None:
        rows = self.run(f"{q.PROLOGUE}SELECT ?code WHERE {{ {q.iri(uri)} cl:region? ?r . "
                        "?r a cl:Region ; cl:codeInsee ?code }").rows()
        return str(rows[0]["code"]) if rows else None

    def _summary(self, base: ProfileBase) -> None:
        """Facts, figures and the full lists. A count of partners, actors, partnerships,
        authorities or countries is the number of rows of the full list (or figure) the page
        shows a part of: one query for both, and the fact names that query."""
        profile, scope = base.profile, base.scope
        kind = profile.kind
        totals = q.totals(scope)
        row = next(iter(self.run(totals).rows()), {})
        figures = {name: self._figure(name, scope) for name in FIGURES[kind]}
        for name in {*FACTS[kind], *LISTINGS[kind]} - {"projects"}:
            base.lists[name] = self._full_list(name, scope, figures)
        facts = [Fact(id="projects", value=float(row.get("projects") or 0), query=totals)]
        for name in FACTS[kind]:
            query, items = base.lists[name]
            facts.append(Fact(id=name, value=len(items), query=query, counted="rows"))
        facts += [Fact(id=name, value=float(row.get(name) or 0), unit="euros", query=totals)
                  for name in ("cost", "cofinancing")]
        profile.facts = facts
        profile.figures = list(figures.values())

    def _figure(self, name: str, scope: q.Scope) -> Figure:
        query = {"projects_by_theme": lambda: q.by_theme(scope, self.lang),
                 "projects_by_country": lambda: q.by_country(scope, self.lang),
                 "projects_by_year": lambda: q.by_year(scope),
                 "projects_by_authority": lambda: q.by_authority(scope)}[name]()
        return run_figure(self.run, name, query)

    def _full_list(self, name: str, scope: q.Scope,
                   figures: dict[str, Figure]) -> tuple[str, list[Item]]:
        """Every entry of list ``name`` (without labels, but for a figure's) and its query."""
        figure_of = {"authorities": "projects_by_authority", "countries": "projects_by_country"}
        if name in figure_of:
            figure = figures.get(figure_of[name]) or self._figure(figure_of[name], scope)
            return figure.query, [Item(uri=r.uri or r.key, label=r.label, value=r.value)
                                  for r in figure.rows]
        if name == "partnerships":
            query = q.dated_list(scope.partnerships or "", "cl:anneeSignature")
            if scope.partnerships is None:
                return query, []
            return query, [Item(uri=str(r["p"]), label="", start=_int(r.get("start")))
                           for r in self.run(query).rows()]
        # partners through projects and partnerships; a participation is a project's
        query = q.ranked_list(scope.links if name in ("partners", "actors") else scope.projects,
                              name)
        return query, [Item(uri=str(r["x"]), label="", value=float(r["value"] or 0))
                       for r in self.run(query).rows()]

    def _projects(self, scope: q.Scope, total: int, offset: int) -> Listing:
        """One page of the projects, most recent first (the full list can be thousands)."""
        query = q.dated_list(scope.projects, "cl:anneeDebut")
        offset = _page_start(offset, total)
        items = [Item(uri=str(r["p"]), label="", start=_int(r.get("start")),
                      end=_int(r.get("end")))
                 for r in self.run(q.page(query, PAGE_SIZE, offset)).rows()]
        return Listing(id="projects", total=total, offset=offset, limit=PAGE_SIZE, items=items,
                       query=query)

    def _describe(self, kind: str, listing: Listing) -> None:
        """Labels and notes of a page of ``listing``."""
        missing = [i.uri for i in listing.items if not i.label]
        if missing:
            names = self.labels(missing)
            for item in listing.items:
                item.label = item.label or names.get(item.uri) or item.uri.rsplit("/", 1)[-1]
        self._notes(kind, listing.id, listing.items)

    def _notes(self, kind: str, name: str, items: list[Item]) -> None:
        """What each listed entity is: its countries and authorities (projects), its class
        (partnerships, authorities, actors), its country (partners)."""
        uris = [i.uri for i in items]
        if not uris:
            return
        queries = []
        if name in ("partnerships", "authorities", "actors"):
            besides = "cl:Partenariat" if name == "partnerships" else None
            queries.append(q.class_labels(uris, self.lang, besides))
        if name in ("projects", "partners") and kind not in ("country", "partner"):
            queries.append(q.linked_labels(uris, "cl:pays", "skos:prefLabel", self.lang))
        if name == "projects" and kind not in ("authority",):
            queries.append(q.linked_labels(uris, "cl:collectiviteFrancaise", "rdfs:label", None))
        notes: dict[str, list[str]] = defaultdict(list)
        for query in queries:
            for uri, found in self.pairs(query).items():
                notes[uri].extend(sorted(found, key=str.casefold))
        for item in items:
            item.notes = notes.get(item.uri, [])

    def _neighbours(self, profile: Profile) -> None:
        portfolios = self.portfolios() if self.portfolios is not None else None
        if portfolios is None:
            return
        found = portfolios.neighbours(profile.uri)
        names = self.labels({n.uri for n in found} | {u for n in found
                                                      for u in n.shared_countries
                                                      + n.shared_themes})
        for n in found:
            n.label = names.get(n.uri, n.uri)
            n.shared_country_labels = [names.get(u, u) for u in n.shared_countries]
            n.shared_theme_labels = [names.get(u, u) for u in n.shared_themes]
        profile.neighbours = found
        profile.neighbours_query = PORTFOLIO_QUERY

