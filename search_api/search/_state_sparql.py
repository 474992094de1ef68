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


def _chain(var: str, path: str, cases: list[tuple[str, str]], default: str = "autre") -> str:
    """``IF(EXISTS { ?var a C1 }, "v1", IF(…, "default"))``, one case a line: the query a
    reader opens with « voir la requête » stays legible."""
    tests = [f'IF(EXISTS {{ {var} {path} {cls} }}, "{value}",' for cls, value in cases]
    return "\n       ".join([*tests, f'"{default}"' + ")" * len(tests)])


def authority_type(var: str) -> str:
    """``?var``'s type, the first class of :data:`AUTHORITY_TYPES` it has (else ``autre``)."""
    return _chain(var, "a", [(_local(cls), value) for cls, value in AUTHORITY_TYPES.items()])


def actor_kind(var: str) -> str:
    """The kind of the actor ``?var`` (:data:`ACTOR_KINDS`, subclasses included), ``"autre"``
    for any other."""
    return _chain(var, "a/rdfs:subClassOf*", [(f"cl:{cls}", value) for cls, value in ACTOR_KINDS])


def region_of(authority: str, region: str) -> str:
    """The group pattern binding ``?region`` to the French région of ``?authority``: its
    ``cl:region``, itself for a région, or the région of the départements a single collectivity
    took over (Corse, Martinique… have no ``cl:region``)."""
    return (f"{{ {authority} cl:region {region} }}\n"
            f"  UNION {{ {authority} a cl:Region . BIND({authority} AS {region}) }}\n"
            f"  UNION {{ {authority} dcterms:replaces/cl:region {region}\n"
            f"          FILTER NOT EXISTS {{ {authority} cl:region ?anyRegion }} }}")


#: Amounts are added up in euros only (``cl:devise`` EUR or absent): the graph does not convert.
IN_EUROS = 'OPTIONAL { ?p cl:devise ?devise } FILTER(!BOUND(?devise) || ?devise = "EUR")'
