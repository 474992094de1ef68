"""Who works with whom, in one country or on one theme, and how concentrated it is.

The network of a scope (``country`` ISO2 or ``theme`` slug) has four kinds of nodes — French
authorities, foreign partner authorities, networks the French authorities belong to, and the
other actors taking part in the projects (embassy, SCAC, AFD, Institut français,
associations…) — each sized by the number of projects of the scope it is named on; edges join
the actors of a same project (French authority ↔ partner, French authority ↔ actor) weighted by
their shared projects, and a French authority to its networks.

Concentration measures, for researchers to cite (``docs/etat.md`` gives the definitions):

- ``top10_share``: the share of the scope's projects on which at least one of the 10 French
  authorities with most projects is named;
- ``hhi``: the Herfindahl–Hirschman index of the French authorities' shares of the scope's
  (project, French authority) pairs, Σ sᵢ², from 1/n (even) to 1 (one authority holds all);
- ``authorities``: the number of distinct French authorities.

Every number comes from a SPARQL query kept beside it (``queries``), runnable at ``/sparql``.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable

from pydantic import BaseModel, Field

from graph.errors import BadRequest
from graph.namespaces import THEME
from search_api.search.figures import QueryRunner, with_prefixes

#: Nodes of each kind drawn at most (the largest); counts in ``totals`` are complete.
MAX_NODES = {"authority": 60, "partner": 60, "network": 25, "actor": 40}
TOP = 10


class NetworkNode(BaseModel):
    id: str = Field(description="URI de l'entité")
    label: str
    kind: str = Field(description="authority, partner, network ou actor")
    projects: int = Field(description="Projets du périmètre où l'entité est nommée")


class NetworkEdge(BaseModel):
    source: str
    target: str
    weight: int = Field(description="Projets partagés (1 pour une adhésion à un réseau)")


class Concentration(BaseModel):
    projects: int = Field(description="Projets du périmètre")
    authorities: int = Field(description="Collectivités françaises distinctes")
    top10_share: float = Field(description="Part des projets où figure au moins une des 10 "
                               "collectivités françaises qui en ont le plus")
    hhi: float = Field(description="Indice de Herfindahl-Hirschman des parts des collectivités "
                       "françaises (couples projet-collectivité)")


class NetworkAnswer(BaseModel):
    """``GET /api/network?country=…`` or ``?theme=…``."""

    scope: dict[str, str] = Field(description="Le périmètre : {\"country\": ISO2} ou "
                                  "{\"theme\": slug}")
    nodes: list[NetworkNode]
    edges: list[NetworkEdge]
    totals: dict[str, int] = Field(description="Entités de chaque sorte dans le périmètre "
                                   "(les nœuds dessinés sont les plus grandes)")
    concentration: Concentration
    queries: dict[str, str] = Field(description="Requêtes SPARQL des nœuds, liens et mesures")


class CountryConcentration(Concentration):
    iso2: str
    name: str


class ConcentrationAnswer(BaseModel):
    """``GET /api/concentration``: every country, and the whole corpus."""

    national: Concentration
    countries: list[CountryConcentration]
    query: str = Field(description="La requête SPARQL des couples pays-collectivité-projet")


def _scope_clause(country: str | None, theme: str | None) -> tuple[dict[str, str], str]:
    if bool(country) == bool(theme):
        raise BadRequest("donner un pays (country=SN) ou un thème (theme=eau-assainissement)")
    if country:
        iso2 = country.strip().upper()
        if not (len(iso2) == 2 and iso2.isalpha()):
            raise BadRequest(f"country doit être un code ISO à deux lettres, pas « {country} »")
        return {"country": iso2}, f'?p a cl:Projet ; cl:pays/cl:codeIso2 "{iso2}" .'
    slug = (theme or "").strip()
    if not slug or not all(c.isalnum() or c == "-" for c in slug):
        raise BadRequest(f"thème inconnu : « {theme} »")
    return {"theme": slug}, f"?p a cl:Projet ; cl:theme <{THEME}{slug}> ."


def _pairs_query(scope: str) -> str:
    """Every (project, entity, kind) of the scope: one query for all the nodes and edges.
    An actor also named as the project's French authority or partner is dropped in Python
    (cheaper than FILTER NOT EXISTS per row)."""
    return with_prefixes(f"""SELECT ?p ?e ?kind (SAMPLE(?l) AS ?label) WHERE {{
  {scope}
  {{ ?p cl:collectiviteFrancaise ?e . BIND("authority" AS ?kind) }}
  UNION {{ ?p cl:partenaireEtranger ?e . BIND("partner" AS ?kind) }}
  UNION {{ ?p cl:participation/cl:acteur ?e . BIND("actor" AS ?kind) }}
  OPTIONAL {{ ?e rdfs:label ?l }}
}} GROUP BY ?p ?e ?kind""")


_NETWORKS = with_prefixes("""SELECT DISTINCT ?e WHERE {
  VALUES ?class { cl:Reseau cl:ReseauRegionalMultiActeurs cl:AssociationNationaleElus
                  cl:ReseauThematique }
  ?e a ?class .
}""")


def _memberships_query(scope: str) -> str:
    """The networks the scope's French authorities belong to."""
    return with_prefixes(f"""SELECT DISTINCT ?a ?n (SAMPLE(?l) AS ?label) WHERE {{
  {{ SELECT DISTINCT ?a WHERE {{ {scope} ?p cl:collectiviteFrancaise ?a . }} }}
  ?a org:memberOf ?n .
  VALUES ?class {{ cl:Reseau cl:ReseauRegionalMultiActeurs cl:AssociationNationaleElus
                   cl:ReseauThematique }}
  ?n a ?class .
  OPTIONAL {{ ?n rdfs:label ?l }}
}} GROUP BY ?a ?n""")


def concentration(projects_of: dict[str, set[str]], projects: int) -> Concentration:
    """The measures from each French authority's set of projects (pure maths, see module)."""
    counts = sorted((len(ps) for ps in projects_of.values()), reverse=True)
    pairs = sum(counts)
    top = sorted(projects_of, key=lambda a: (-len(projects_of[a]), a))[:TOP]
    held = set().union(*(projects_of[a] for a in top)) if top else set()
    return Concentration(
        projects=projects, authorities=len(counts),
        top10_share=round(len(held) / projects, 4) if projects else 0.0,
        hhi=round(sum((c / pairs) ** 2 for c in counts), 4) if pairs else 0.0)


def network(run: QueryRunner, *, country: str | None = None,
            theme: str | None = None) -> NetworkAnswer:
    """The network and concentration of one country or one theme."""
    scope, clause = _scope_clause(country, theme)
    pairs_q, members_q = _pairs_query(clause), _memberships_query(clause)
    labels: dict[str, str] = {}
    kinds: dict[str, str] = {}
    by_project: dict[str, list[str]] = defaultdict(list)
    projects_of: dict[str, set[str]] = defaultdict(set)
    networks = {str(row["e"]) for row in run(_NETWORKS).rows()}
    named: dict[str, dict[str, str]] = defaultdict(dict)  # project → entity → kind
    for row in run(pairs_q).rows():
        project, entity, kind = str(row["p"]), str(row["e"]), str(row["kind"])
        labels.setdefault(entity, str(row["label"] or entity.rsplit("/", 1)[-1]))
        if kind != "actor" or entity not in named[project]:
            named[project][entity] = kind  # authority or partner wins over « actor »
    for project, of_project in named.items():
        for entity, kind in of_project.items():
            if kind == "actor" and entity in networks:
                kind = "network"
            kinds.setdefault(entity, kind)
            by_project[project].append(entity)
            projects_of[entity].add(project)
    memberships: list[tuple[str, str]] = []
    for row in run(members_q).rows():
        authority, net = str(row["a"]), str(row["n"])
        memberships.append((authority, net))
        if kinds.get(net) != "actor":
            kinds[net] = "network"
        labels.setdefault(net, str(row["label"] or net.rsplit("/", 1)[-1]))
        # a network counts the projects of its members in the scope
        projects_of[net] |= projects_of.get(authority, set())
    shown = _largest(kinds, projects_of)
    edges = Counter[tuple[str, str]]()
    for members in by_project.values():
        leads = [e for e in members if kinds[e] == "authority" and e in shown]
        others = [e for e in members if kinds[e] != "authority" and e in shown]
        for a in leads:
            for o in others:
                edges[(a, o)] += 1
    for authority, net in memberships:
        if authority in shown and net in shown:
            edges[(authority, net)] = max(edges[(authority, net)], 1)
    authorities = {e: ps for e, ps in projects_of.items() if kinds.get(e) == "authority"}
    return NetworkAnswer(
        scope=scope,
        nodes=[NetworkNode(id=e, label=labels[e], kind=kinds[e], projects=len(projects_of[e]))
               for e in sorted(shown, key=lambda e: (-len(projects_of[e]), labels[e]))],
        edges=[NetworkEdge(source=a, target=b, weight=w)
               for (a, b), w in sorted(edges.items(), key=lambda kv: (-kv[1], kv[0]))],
        totals=dict(Counter(kinds.values())),
        concentration=concentration(authorities, len(by_project)),
        queries={"nodes": pairs_q, "networks": members_q})


def _largest(kinds: dict[str, str], projects_of: dict[str, set[str]]) -> set[str]:
    """The largest nodes of each kind, at most :data:`MAX_NODES` of each."""
    shown: set[str] = set()
    for kind, cap in MAX_NODES.items():
        of_kind = [e for e, k in kinds.items() if k == kind]
        of_kind.sort(key=lambda e: (-len(projects_of.get(e, ())), e))
        shown.update(of_kind[:cap])
    return shown


def _country_pairs_query() -> str:
    return with_prefixes("""SELECT ?iso2 (SAMPLE(?name) AS ?label) ?p ?a WHERE {
  ?p a cl:Projet ; cl:pays ?c ; cl:collectiviteFrancaise ?a .
  ?c cl:codeIso2 ?iso2 .
  OPTIONAL { ?c skos:prefLabel ?name FILTER(langMatches(lang(?name), "fr")) }
} GROUP BY ?iso2 ?p ?a""")


def concentration_by_country(run: QueryRunner) -> ConcentrationAnswer:
    """The measures of every country with projects, largest first, and of the whole corpus."""
    query = _country_pairs_query()
    names: dict[str, str] = {}
    per_country: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    national: dict[str, set[str]] = defaultdict(set)
    for row in run(query).rows():
        iso2, project, authority = str(row["iso2"]), str(row["p"]), str(row["a"])
        names.setdefault(iso2, str(row["label"] or iso2))
        per_country[iso2][authority].add(project)
        national[authority].add(project)
    countries = [
        CountryConcentration(iso2=iso2, name=names[iso2],
                             **concentration(of, _distinct(of.values())).model_dump())
        for iso2, of in per_country.items()]
    countries.sort(key=lambda c: (-c.projects, c.iso2))
    return ConcentrationAnswer(national=concentration(national, _distinct(national.values())),
                               countries=countries, query=query)


def _distinct(sets: Iterable[set[str]]) -> int:
    return len(set().union(*sets))

