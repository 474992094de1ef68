"""The brief of one country for the bilateral conferences (``/pays/{iso2}`` and its JSON,
``/api/countries/{iso2}``).

Who cooperates there and how (issue 11, section 2): the French authorities named on the
country's projects and their foreign partners (with the partner's province, read from its name
by :mod:`search_api.search._provinces`, and its coordinates, by
:mod:`search_api.search.locations`), themes, start years, the actors involved (the French
posts — embassy, SCAC, Institut français —, AFD, the networks of the authorities, associations,
universities…), the pooling groups of the search (:mod:`search_api.search.pooling`), and the
partnerships no project refers to (twinnings, conventions) listed apart.

Every list comes from one SPARQL query on the country's URI, kept in ``queries`` under the
field's name, so « voir la requête » re-runs exactly what the brief shows. A brief takes about a
second for the largest countries (pooling most of it): the HTTP layer keeps briefs per served
generation (``KnowledgeBase.memo``, computed once however many first visits arrive together).
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, Field

from graph.errors import NotFound
from search_api.search._provinces import Provinces
from search_api.search._state_sparql import (
    ACTOR_ORDER,
    IN_EUROS,
    POST_CLASSES,
    actor_kind,
    authority_type,
)
from search_api.search.answers import PoolingAnswer, PoolingGroup, ProvinceRef
from search_api.search.figures import QueryRunner, with_prefixes
from search_api.search.locations import Locations

#: Pooling groups a brief shows (the best first); ``pooling_total`` says how many there are.
POOLING_SHOWN = 8
#: Briefs to keep per generation: every country (ISO 3166 has 249 codes; 147 have projects in
#: the default dataset), so a brief is computed once per generation. Each is a few hundred kB
#: at most, most of them far less.
CACHED_BRIEFS = 256
_ISO2 = re.compile(r"^[A-Za-z]{2}$")


def country_code(iso2: str) -> str:
    """``iso2`` as the upper-case code a brief is kept under (:class:`NotFound` if it is no
    two-letter code)."""
    code = iso2.strip().upper()
    if not _ISO2.match(code):
        raise NotFound(f"pays inconnu : « {iso2} » (code ISO 3166-1 à deux lettres)")
    return code


class NamedRef(BaseModel):
    name: str
    uri: str


class BriefAuthority(BaseModel):
    """A French authority named on at least one of the country's projects."""

    name: str
    uri: str
    type: str = Field(description="commune, departement, region, intercommunalite, syndicat, "
                                  "autre")
    projects: int = Field(description="Projets de la collectivité dans ce pays")
    partners: list[str] = Field(description="URI des partenaires étrangers de ces projets")


class BriefPartner(BaseModel):
    """A foreign partner authority of the country, where the graph or the gazetteer places it."""

    name: str
    uri: str
    projects: int = Field(description="Projets qui nomment ce partenaire")
    partnerships: int = Field(description="Partenariats (jumelages, conventions) qui le nomment")
    french_authorities: int = Field(description="Collectivités françaises liées à lui")
    province: ProvinceRef | None = Field(description="Province ou région (ISO 3166-2), lue dans "
                                                     "son nom")
    lat: float | None = Field(description="Latitude de la ville de son nom (GeoNames)")
    lon: float | None = Field(description="Longitude")


class BriefTheme(BaseModel):
    slug: str
    label: str
    count: int


class BriefYear(BaseModel):
    year: int
    count: int


class BriefActor(BaseModel):
    """An actor involved: a participant of the country's projects, a French post there, or a
    network the country's French authorities belong to."""

    name: str
    uri: str
    kind: str = Field(description="ambassade, scac, institut_francais, agence, institution, "
                                  "reseau, association, universite, hopital, entreprise, autre")
    projects: int = Field(description="Projets du pays auxquels il participe")
    authorities: int = Field(description="Pour un réseau : collectivités membres actives dans "
                                         "le pays")


class BriefPartnership(BaseModel):
    """A partnership located in the country that no project refers to."""

    uri: str
    label: str
    kind: str = Field(description="jumelage, convention ou partenariat")
    year: int | None = Field(description="Année de signature")
    french_authority: NamedRef | None
    partner: NamedRef | None


class CountryAnswer(BaseModel):
    """``GET /api/countries/{iso2}``: the country brief."""

    iso2: str
    name: str
    uri: str
    generation: str | None
    projects: int = Field(description="Projets dont le pays est celui-ci")
    projects_active: int
    projects_finished: int
    partnerships: int = Field(description="Partenariats situés dans le pays")
    total_cost: float = Field(description="Coût total des projets, en euros")
    ministry_cofinancing: float = Field(description="Cofinancement du ministère, en euros")
    french_authorities: list[BriefAuthority]
    partners: list[BriefPartner]
    themes: list[BriefTheme]
    years: list[BriefYear]
    actors: list[BriefActor]
    pooling: list[PoolingGroup] = Field(description="Les meilleurs groupes de mutualisation "
                                                    "(/api/pooling?country=…)")
    pooling_total: int = Field(description="Nombre de groupes de mutualisation du pays")
    partnerships_without_project: list[BriefPartnership]
    queries: dict[str, str] = Field(description="La requête SPARQL de chaque champ")


def queries(country: str) -> dict[str, str]:
    """The SPARQL query of each field of the brief of the country ``<country>``."""
    c = f"<{country}>"
    posts = " ".join(f"cl:{cls}" for cls in POST_CLASSES)
    bodies = {
        "projects": f"""
SELECT (COUNT(DISTINCT ?p) AS ?value)
       (COUNT(DISTINCT ?active) AS ?active) (COUNT(DISTINCT ?finished) AS ?finished) WHERE {{
  ?p a cl:Projet ; cl:pays {c} .
  OPTIONAL {{ ?p cl:statut cl:statutEnCours BIND(?p AS ?active) }}
  OPTIONAL {{ ?p cl:statut cl:statutTermine BIND(?p AS ?finished) }}
}}""",
        "amounts": f"""
SELECT (SUM(?cost) AS ?total_cost) (SUM(?meae) AS ?ministry_cofinancing) WHERE {{
  ?p a cl:Projet ; cl:pays {c} .
  OPTIONAL {{ ?p cl:coutTotal ?cost }} OPTIONAL {{ ?p cl:cofinancementMEAE ?meae }}
  {IN_EUROS}
}}""",
        "partnerships": f"""
SELECT (COUNT(DISTINCT ?s) AS ?value) WHERE {{ ?s a cl:Partenariat ; cl:pays {c} }}""",
        "french_authorities": f"""
SELECT ?uri ?name ?type ?projects ?partners WHERE {{
  {{ SELECT ?uri (SAMPLE(?label) AS ?name) (COUNT(DISTINCT ?p) AS ?projects)
            (GROUP_CONCAT(DISTINCT STR(?f); separator=" ") AS ?partners) WHERE {{
      ?p a cl:Projet ; cl:pays {c} ; cl:collectiviteFrancaise ?uri .
      OPTIONAL {{ ?p cl:partenaireEtranger ?f }}
      OPTIONAL {{ ?uri rdfs:label ?label }}
    }} GROUP BY ?uri }}
  BIND({authority_type("?uri")} AS ?type)
}} ORDER BY DESC(?projects) ?name ?uri""",
        "partners": f"""
SELECT ?uri (SAMPLE(?label) AS ?name) (COUNT(DISTINCT ?p) AS ?projects)
       (COUNT(DISTINCT ?s) AS ?partnerships) (COUNT(DISTINCT ?a) AS ?french_authorities) WHERE {{
  {{ ?uri a cl:CollectiviteEtrangere ; cl:pays {c} . ?p cl:partenaireEtranger ?uri ; a cl:Projet .
     OPTIONAL {{ ?p cl:collectiviteFrancaise ?a }} }}
  UNION
  {{ ?uri a cl:CollectiviteEtrangere ; cl:pays {c} . ?s cl:partenaireEtranger ?uri ;
       a cl:Partenariat . OPTIONAL {{ ?s cl:collectiviteFrancaise ?a }} }}
  OPTIONAL {{ ?uri rdfs:label ?label }}
}} GROUP BY ?uri ORDER BY DESC(?projects) DESC(?partnerships) ?name ?uri""",
        "themes": f"""
SELECT ?slug ?label (COUNT(DISTINCT ?p) AS ?count) WHERE {{
  ?p a cl:Projet ; cl:pays {c} ; cl:theme ?theme .
  ?theme skos:notation ?slug ; skos:prefLabel ?label . FILTER(lang(?label) = "fr")
}} GROUP BY ?slug ?label ORDER BY DESC(?count) ?slug""",
        "years": f"""
SELECT ?year (COUNT(DISTINCT ?p) AS ?count) WHERE {{
  ?p a cl:Projet ; cl:pays {c} ; cl:anneeDebut ?year .
}} GROUP BY ?year ORDER BY ?year""",
        "actors": f"""
SELECT ?uri ?name ?kind ?projects ?authorities WHERE {{
  {{ SELECT ?uri (SAMPLE(?label) AS ?name) (COUNT(DISTINCT ?p) AS ?projects)
            (COUNT(DISTINCT ?a) AS ?authorities) WHERE {{
      {{ ?p a cl:Projet ; cl:pays {c} ; cl:participation/cl:acteur ?uri }}
      UNION
      {{ ?uri cl:pays {c} ; a ?post . VALUES ?post {{ {posts} }} }}
      UNION
      {{ ?x a cl:Projet ; cl:pays {c} ; cl:collectiviteFrancaise ?a .
         ?a org:memberOf ?uri . ?uri a/rdfs:subClassOf* cl:Reseau }}
      OPTIONAL {{ ?uri rdfs:label ?label }}
    }} GROUP BY ?uri }}
  BIND({actor_kind("?uri")} AS ?kind)
}} ORDER BY DESC(?projects) DESC(?authorities) ?name ?uri""",
        "partnerships_without_project": f"""
SELECT ?uri ?label ?kind ?year ?authority ?authority_name ?partner ?partner_name WHERE {{
  ?uri a cl:Partenariat ; cl:pays {c} .
  FILTER NOT EXISTS {{ ?project cl:partenariat ?uri }}
  BIND(IF(EXISTS {{ ?uri a cl:Jumelage }}, "jumelage",
          IF(EXISTS {{ ?uri a cl:Convention }}, "convention", "partenariat")) AS ?kind)
  OPTIONAL {{ ?uri rdfs:label ?label }}
  OPTIONAL {{ ?uri cl:anneeSignature ?year }}
  OPTIONAL {{ ?uri cl:collectiviteFrancaise ?authority .
             OPTIONAL {{ ?authority rdfs:label ?authority_name }} }}
  OPTIONAL {{ ?uri cl:partenaireEtranger ?partner .
             OPTIONAL {{ ?partner rdfs:label ?partner_name }} }}
}} ORDER BY ?authority_name ?year ?uri""",
    }
    return {name: with_prefixes(body) for name, body in bodies.items()}


def _int(value: Any) -> int:
    return int(float(str(value))) if value is not None else 0


def _float(value: Any) -> float:
    return float(str(value)) if value is not None else 0.0


def _str(value: Any, default: str = "") -> str:
    return str(value) if value is not None else default


class CountryBriefs:
    """Country briefs over the served graph (see the module docstring); what every brief of a
    generation shares (the partners' towns) is read once.

    ``run`` evaluates SPARQL on the served generation; ``pool`` gives the pooling answer of a
    country (``SearchService.pooling`` with ``country=[iso2]``)."""

    def __init__(self, run: QueryRunner) -> None:
        self._run = run
        self._provinces = Provinces()
        self._locations = Locations()
        self._located: str | None = None  # generation whose partners were all looked up
        self._locating = threading.Lock()  # one gazetteer scan at a time

    def brief(self, iso2: str, generation: str | None,
              pool: Callable[[str], PoolingAnswer]) -> CountryAnswer:
        """The brief of ``iso2``, computed now (:class:`NotFound` when the graph has no such
        country)."""
        return self._compute(country_code(iso2), generation, pool)

    def _country(self, code: str) -> tuple[str, str]:
        rows = list(self._run(with_prefixes(f"""
SELECT ?c (SAMPLE(?l) AS ?label) WHERE {{
  ?c a cl:Pays ; cl:codeIso2 "{code}" .
  OPTIONAL {{ ?c skos:prefLabel ?l FILTER(lang(?l) = "fr") }}
}} GROUP BY ?c""")).rows())
        if not rows or rows[0].get("c") is None:
            raise NotFound(f"pays inconnu : « {code} »")
        return str(rows[0]["c"]), _str(rows[0].get("label"), code)

    def _rows(self, query: str) -> list[dict[str, Any]]:
        return [dict(row) for row in self._run(query).rows()]

    def _compute(self, code: str, generation: str | None,
                 pool: Callable[[str], PoolingAnswer]) -> CountryAnswer:
        uri, name = self._country(code)
        q = queries(uri)
        counts = self._rows(q["projects"])[0]
        amounts = self._rows(q["amounts"])[0]
        projects = _int(counts.get("value"))
        pooling = pool(code) if projects else PoolingAnswer(total=0, authorities=[],
                                                           clusters=[])
        return CountryAnswer(
            iso2=code, name=name, uri=uri, generation=generation,
            projects=projects,
            projects_active=_int(counts.get("active")),
            projects_finished=_int(counts.get("finished")),
            partnerships=_int(self._rows(q["partnerships"])[0].get("value")),
            total_cost=_float(amounts.get("total_cost")),
            ministry_cofinancing=_float(amounts.get("ministry_cofinancing")),
            french_authorities=[
                BriefAuthority(name=_str(r.get("name"), str(r["uri"])), uri=str(r["uri"]),
                               type=_str(r.get("type"), "autre"),
                               projects=_int(r.get("projects")),
                               partners=sorted(_str(r.get("partners")).split()))
                for r in self._rows(q["french_authorities"])],
            partners=self._partners(code, q["partners"], generation),
            themes=[BriefTheme(slug=str(r["slug"]), label=str(r["label"]),
                               count=_int(r.get("count"))) for r in self._rows(q["themes"])],
            years=[BriefYear(year=_int(r["year"]), count=_int(r.get("count")))
                   for r in self._rows(q["years"])],
            actors=self._actors(q["actors"]),
            pooling=list(pooling.clusters[:POOLING_SHOWN]),
            pooling_total=len(pooling.clusters),
            partnerships_without_project=self._partnerships(q["partnerships_without_project"]),
            queries={k: v for k, v in q.items()},
        )

    def _partners(self, code: str, query: str, generation: str | None) -> list[BriefPartner]:
        rows = self._rows(query)
        self._locate_all(generation)
        names = [(_str(r.get("name"), str(r["uri"])), code) for r in rows]
        places = self._locations.find(names)
        by_admin1 = self._admin1_provinces(code)
        out = []
        for row, (label, _) in zip(rows, names, strict=True):
            place = places.get(label)
            province, province_name = self._provinces.of(label, code)
            if province is None and place is not None and place.admin1 in by_admin1:
                province, province_name = by_admin1[place.admin1]
            out.append(BriefPartner(
                name=label, uri=str(row["uri"]), projects=_int(row.get("projects")),
                partnerships=_int(row.get("partnerships")),
                french_authorities=_int(row.get("french_authorities")),
                province=ProvinceRef(code=province, name=province_name or province)
                if province else None,
                lat=place.lat if place else None, lon=place.lon if place else None))
        return out

    def _admin1_provinces(self, code: str) -> dict[str, tuple[str, str]]:
        """GeoNames first-level division → (ISO 3166-2 code, label) of ``code``'s provinces.

        GeoNames numbers its divisions its own way; the link is made through the towns named
        like a subdivision (the Région de Kolda's seat is Kolda, the Département de Bignona's
        is Bignona): the division most of them lie in is that province's."""
        table = self._provinces.subdivisions(code)
        places = self._locations.find((name, code) for name in table)
        votes: dict[str, Counter[tuple[str, str]]] = {}
        for name, place in places.items():
            votes.setdefault(place.admin1, Counter())[table[name]] += 1
        return {admin1: counts.most_common(1)[0][0] for admin1, counts in votes.items()}

    def prepare(self, generation: str | None) -> None:
        """Read what every brief of ``generation`` needs (the partners' towns) ahead of the
        first one."""
        self._locate_all(generation)

    def _locate_all(self, generation: str | None) -> None:
        """Look every partner of the graph, and every subdivision of their countries, up in
        one scan of the gazetteer, once a generation: one country at a time would scan the
        60 MB file for each."""
        with self._locating:  # briefs computed together wait for the one scan
            if self._located != generation:
                self._scan(generation)

    def _scan(self, generation: str | None) -> None:
        rows = self._run(with_prefixes("""
SELECT ?name ?iso WHERE {
  ?f a cl:CollectiviteEtrangere ; rdfs:label ?name ; cl:pays/cl:codeIso2 ?iso .
}""")).rows()
        names = [(str(r["name"]), str(r["iso"])) for r in rows]
        countries = {iso for _, iso in names}
        subdivisions = [(name, iso) for iso in sorted(countries)
                        for name in self._provinces.subdivisions(iso)]
        self._locations.find([*names, *subdivisions])
        self._located = generation

    def _actors(self, query: str) -> list[BriefActor]:
        actors = [BriefActor(name=_str(r.get("name"), str(r["uri"])), uri=str(r["uri"]),
                             kind=_str(r.get("kind"), "autre"),
                             projects=_int(r.get("projects")),
                             authorities=_int(r.get("authorities")))
                  for r in self._rows(query)]
        # Collectivities are left out here rather than by a FILTER on ?kind in the query:
        # Virtuoso 7.2 never finishes that FILTER (over the nested IF(EXISTS { a/subClassOf* }))
        # and its stuck queries then hold its HTTP threads (bench/load.py, /pays/ML).
        actors = [a for a in actors if a.kind != "collectivite"]
        rank = {kind: i for i, kind in enumerate(ACTOR_ORDER)}
        return sorted(actors, key=lambda a: rank.get(a.kind, len(rank)))  # stable: query order

    def _partnerships(self, query: str) -> list[BriefPartnership]:
        out: dict[str, BriefPartnership] = {}
        for r in self._rows(query):
            uri = str(r["uri"])
            if uri in out:  # a second authority or partner of the same partnership: first wins
                continue
            authority, partner = r.get("authority"), r.get("partner")
            out[uri] = BriefPartnership(
                uri=uri, label=_str(r.get("label"), uri), kind=_str(r.get("kind"), "partenariat"),
                year=_int(r["year"]) if r.get("year") is not None else None,
                french_authority=NamedRef(name=_str(r.get("authority_name"), str(authority)),
                                          uri=str(authority)) if authority else None,
                partner=NamedRef(name=_str(r.get("partner_name"), str(partner)),
                                 uri=str(partner)) if partner else None)
        return list(out.values())
