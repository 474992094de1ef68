"""The search domain's typed answers (issue 10, point 3): what :class:`SearchService` returns
for a search, comparable projects and pooling.

Each model serialises (``model_dump(mode="json")``) to the JSON the API has always answered —
field names and nesting are a contract (``tests/test_answers.py`` compares them). The HTTP
wing renders JSON, CSV and HTML from these objects, and OpenAPI shows their schemas.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_serializer

from search_api.search.documents import Partner, ProjectDoc


class _Answer(BaseModel):
    model_config = ConfigDict(frozen=True)


# ------------------------------------------------------------------ shared pieces
class AuthorityRef(_Answer):
    """A French authority of a project."""

    name: str
    uri: str
    type: str = Field(description="commune, departement, region, intercommunalite, syndicat, "
                                  "autre")


class PartnerRef(_Answer):
    """A foreign partner of a project."""

    name: str
    uri: str
    country: str | None = Field(description="Code ISO 3166-1 alpha-2.")


def authority_refs(doc: ProjectDoc) -> list[AuthorityRef]:
    """The French authorities of a project, as every answer gives them."""
    return [AuthorityRef(name=a.name, uri=a.uri, type=a.type) for a in doc.authorities]


def partner_ref(partner: Partner) -> PartnerRef:
    """A foreign partner, as every answer gives it."""
    return PartnerRef(name=partner.name, uri=partner.uri, country=partner.country)


def partner_refs(doc: ProjectDoc) -> list[PartnerRef]:
    return [partner_ref(p) for p in doc.partners]


# ------------------------------------------------------------------ search
class PlaceFound(_Answer):
    """A place the query names (« en Tunisie »), and the filter it stands for."""

    text: str
    start: int
    end: int
    kind: str
    label: str
    countries: list[str]
    french_regions: list[str]
    french_departements: list[str]
    partners: list[str]
    kind_label: str
    filter: dict[str, list[str]]


class QueryReading(_Answer):
    """How the query was read: the text matched and the places that steer the ranking."""

    text: str
    places: list[PlaceFound]
    places_ignored: bool


class SearchResult(_Answer):
    """One project of a search."""

    id: str
    uri: str
    title: str
    score: float | None = Field(description="Score de classement ; null sans texte recherché.")
    close_match: bool
    matched_theme: str | None
    snippet: str
    countries: list[str]
    themes: list[str]
    french_authorities: list[AuthorityRef]
    partners: list[PartnerRef]
    start_year: int | None
    end_year: int | None


class FacetEntry(_Answer):
    """One value of a filter: ``count`` projects would be listed by ticking it, ``relevant`` of
    them are close matches of the query."""

    value: str | int
    label: str
    count: int
    relevant: int


class SearchAnswer(_Answer):
    """``GET /api/search``."""

    query: str
    understood: QueryReading
    total: int
    relevant_total: int
    results: list[SearchResult]
    facets: dict[str, list[FacetEntry]]


# ------------------------------------------------------------------ similar
class _Reason(_Answer):
    text: str = Field(description="La raison, en français.")


class SemanticReason(_Reason):
    """Cosine of the two projects' vectors."""

    kind: Literal["semantic"]
    value: float


class SharedReason(_Reason):
    """Themes, country, neighbour or region, partner or key terms shared."""

    kind: Literal["themes", "country", "neighbour", "region", "partner", "terms"]
    values: list[str]


Reason = Annotated[SemanticReason | SharedReason, Field(discriminator="kind")]


class SimilarResult(_Answer):
    """A comparable project of another French authority, with why it compares."""

    id: str
    uri: str
    title: str
    score: float
    why: list[Reason]
    countries: list[str]
    themes: list[str]
    french_authorities: list[AuthorityRef]
    partners: list[PartnerRef]
    start_year: int | None
    end_year: int | None


class SourceProject(_Answer):
    """The project compared."""

    id: str
    uri: str
    title: str
    french_authorities: list[AuthorityRef]


class SimilarAnswer(_Answer):
    """``GET /api/projects/{id}/similar``."""

    project: SourceProject
    results: list[SimilarResult]


# ------------------------------------------------------------------ pooling
class NetworkRef(_Answer):
    """A network an authority belongs to (Cités Unies France, a régional network…)."""

    name: str
    uri: str
    kind: str | None
    acronym: str | None
    label: str


class Contact(_Answer):
    """A French authority to put in touch, with its projects' years and amounts (euros)."""

    name: str
    uri: str
    type: str
    networks: list[NetworkRef]
    years: list[int]
    amount: float | None
    cofinancing: float | None
    currency: str
    projects: list[str]


class ProvinceRef(_Answer):
    code: str
    name: str


class GroupShared(_Answer):
    """What a group's projects share: its partner, its province (and partners there), and its
    distinctive terms. Absent keys are left out of the JSON, not null."""

    partner: PartnerRef | None = None
    province: ProvinceRef | None = None
    partners: list[PartnerRef] | None = None
    terms: list[str] = []

    @model_serializer(mode="wrap")
    def _present(self, handler: Any) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        return {k: v for k, v in data.items() if v is not None}


class PoolingGroup(_Answer):
    """A group of projects whose authorities could pool their work."""

    id: str
    kind: Literal["partner", "province", "subtopic", "similar"]
    title: str
    shared: GroupShared
    part: list[int] | None = Field(description="[n, sur] quand un grand groupe est coupé.")
    projects: list[str]
    authorities: list[str]
    similarity: float
    coherence: float
    contacts: list[Contact]


class PoolingAnswer(_Answer):
    """``GET /api/pooling``."""

    total: int
    authorities: list[Contact]
    clusters: list[PoolingGroup]
