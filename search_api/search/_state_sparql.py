"""SPARQL pieces shared by the dashboard and the country briefs: how a French authority's type,
an actor's kind and a project's région are read from the graph.

Each is an expression or a group pattern written once, so the figure of ``/etat`` and the
brief of ``/pays/SN`` classify an authority the same way — and the same way as the search
facets (:data:`search_api.search.documents.AUTHORITY_TYPES`: the first class of that list an
authority has decides, anything else is ``autre``).
"""

from __future__ import annotations

from graph.namespaces import CL
from search_api.search.documents import AUTHORITY_TYPES

#: Kinds of actor (``actors[].kind`` of a country brief), the first class that matches decides;
#: subclasses count (``cl:ReseauThematique`` is a ``cl:Reseau``). Authorities are not actors:
#: they have their own lists.
ACTOR_KINDS: tuple[tuple[str, str], ...] = (
    ("CollectiviteTerritoriale", "collectivite"),
    ("Groupement", "collectivite"),
    ("CollectiviteEtrangere", "collectivite"),
    ("Ambassade", "ambassade"),
    ("SCAC", "scac"),
    ("InstitutFrancais", "institut_francais"),
    ("AgenceDeveloppement", "agence"),
    ("InstitutionPublique", "institution"),
    ("Reseau", "reseau"),
    ("Association", "association"),
    ("Universite", "universite"),
    ("Hopital", "hopital"),
    ("Entreprise", "entreprise"),
)
#: The order a brief lists actor kinds in (the diplomatic network first).
ACTOR_ORDER: tuple[str, ...] = (
    "ambassade", "scac", "institut_francais", "agence", "institution", "reseau",
    "association", "universite", "hopital", "entreprise", "autre",
)
#: French posts of a country, listed in its brief even when no project names them.
POST_CLASSES = ("Ambassade", "SCAC", "InstitutFrancais")


def _local(uri: str) -> str:
    return "cl:" + uri[len(CL):]


def authority_type(var: str) -> str:
    """``IF(EXISTS { ?a a cl:Syndicat }, "syndicat", IF(…, "autre"))``: ``?var``'s type."""
    expression = '"autre"'
    for cls, value in reversed(AUTHORITY_TYPES.items()):
        expression = f'IF(EXISTS {{ {var} a {_local(cls)} }}, "{value}", {expression})'
    return expression


def actor_kind(var: str) -> str:
    """The kind of the actor ``?var`` (:data:`ACTOR_KINDS`), ``"autre"`` for any other."""
    expression = '"autre"'
    for cls, value in reversed(ACTOR_KINDS):
        expression = (f'IF(EXISTS {{ {var} a/rdfs:subClassOf* cl:{cls} }}, "{value}", '
                      f'{expression})')
    return expression


def region_of(authority: str, region: str) -> str:
    """The group pattern binding ``?region`` to the French région of ``?authority``: its
    ``cl:region``, itself for a région, or the région of the départements a single collectivity
    took over (Corse, Martinique… have no ``cl:region``)."""
    return (f"{{ {authority} cl:region {region} }} "
            f"UNION {{ {authority} a cl:Region . BIND({authority} AS {region}) }} "
            f"UNION {{ {authority} dcterms:replaces/cl:region {region} "
            f"FILTER NOT EXISTS {{ {authority} cl:region ?anyRegion }} }}")


#: Amounts are added up in euros only (``cl:devise`` EUR or absent): the graph does not convert.
IN_EUROS = 'OPTIONAL { ?p cl:devise ?devise } FILTER(!BOUND(?devise) || ?devise = "EUR")'
