"""``SearchParams``: the parameters of a search, declared once (issue 10, point 3) and read by
the API (``/api/search``, its CSV and SPARQL exports), the search page and ``cooplink search``.

Values stay the strings a query string carries and are parsed here, so that a bad one gets the
project's own French message and a 400 (« limit doit être un nombre entier, pas « dix » »)
rather than pydantic's English; only the length of ``q`` is checked by pydantic (422).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from graph.errors import BadRequest

#: Characters of ``q`` read at most: the model reads about 512 tokens (≈ 2,000 characters) of a
#: query, so a longer one only costs the keyword side time.
MAX_QUERY_CHARS = 2000
DEFAULT_LIMIT = 20

#: Several values of a filter: repeated parameters (``country=SN&country=ML``) or commas.
_MANY = "Plusieurs valeurs : paramètre répété (country=SN&country=ML) ou séparées par des virgules."


def parse_int(value: str | int | None, name: str, default: int) -> int:
    """An integer parameter, or ``default`` when absent; :class:`BadRequest` otherwise."""
    if isinstance(value, int):
        return value
    if value is None or not value.strip():
        return default
    try:
        return int(value)
    except ValueError:
        raise BadRequest(f"{name} doit être un nombre entier, pas « {value} »") from None


#: Orders of a search: the ranking (default), most recent first, highest cost first.
SORTS = ("relevance", "recent", "cost")


def sort_order(value: str | None) -> str:
    """``sort=relevance|recent|cost`` (default ``relevance``); :class:`BadRequest` otherwise."""
    if value is None or not value.strip():
        return "relevance"
    choice = value.strip().lower()
    if choice not in SORTS:
        raise BadRequest(f"sort doit valoir {', '.join(f'« {s} »' for s in SORTS)}, "
                         f"pas « {value} »")
    return choice


def places_wanted(value: str | None) -> bool:
    """``places=off`` (or ``non``, ``0``, ``false``) ignores the places a query names."""
    if value is None or not value.strip():
        return True
    choice = value.strip().lower()
    if choice in ("on", "oui", "1", "true", "auto"):
        return True
    if choice in ("off", "non", "0", "false"):
        return False
    raise BadRequest(f"places doit valoir « auto » ou « off », pas « {value} »")


class SearchParams(BaseModel):
    """A search as a query string carries it."""

    model_config = ConfigDict(frozen=True)

    q: str = Field("", max_length=MAX_QUERY_CHARS,
                   description="Texte recherché (vide : la liste filtrée, récents d'abord).")
    country: list[str] | None = Field(None, description="Pays (code ISO). " + _MANY)
    theme: list[str] | None = Field(None, description="Thème (ex. sante). " + _MANY)
    authority_type: list[str] | None = Field(
        None, description="Type de collectivité (commune, departement…). " + _MANY)
    region: list[str] | None = Field(None, description="Région française (code INSEE). "
                                     + _MANY)
    start_year_min: str | None = Field(None, description="Année de début, au plus tôt.")
    start_year_max: str | None = Field(None, description="Année de début, au plus tard.")
    limit: str | None = Field(None, description=f"Résultats par page (défaut {DEFAULT_LIMIT}).")
    offset: str | None = Field(None, description="Rang du premier résultat (défaut 0).")
    places: str | None = Field(
        None, description="« off » : ignorer les lieux nommés dans q (défaut « auto »).")
    sort: str | None = Field(
        None, description="Ordre : « relevance » (défaut : pertinence), « recent » (les plus "
        "récents d'abord), « cost » (coût total décroissant). Avec un texte, les résultats "
        "proches restent devant les autres.")

    def raw_filters(self) -> dict[str, Any]:
        """The filter values, for :meth:`SearchService.filters`."""
        return {"country": self.country, "theme": self.theme,
                "authority_type": self.authority_type, "region": self.region,
                "start_year_min": self.start_year_min, "start_year_max": self.start_year_max}

    def page_size(self, default: int = DEFAULT_LIMIT) -> int:
        return parse_int(self.limit, "limit", default)

    def start(self) -> int:
        return parse_int(self.offset, "offset", 0)

    def with_places(self) -> bool:
        return places_wanted(self.places)

    def order(self) -> str:
        return sort_order(self.sort)
