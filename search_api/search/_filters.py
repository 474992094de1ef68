"""Search filters: parsing of request values, validation against the index's vocabularies, and
the SPARQL query that selects the same filtered set (the page's « voir la requête SPARQL »)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields

from graph.errors import BadRequest
from graph.namespaces import CL, THEME

#: Labels used in error messages, per filter.
FILTER_LABELS: dict[str, str] = {
    "country": "pays (code ISO à deux lettres)",
    "theme": "thème",
    "authority_type": "type de collectivité",
    "region": "région (code INSEE)",
}
#: Classes of each authority type (``autre``: none of these).
TYPE_CLASSES: dict[str, str] = {
    "region": "Region",
    "departement": "Departement",
    "commune": "Commune",
    "intercommunalite": "Intercommunalite",
    "syndicat": "Syndicat",
}


def _split(values: Iterable[str] | str | None) -> tuple[str, ...]:
    """``["SN,ML", "BF"]`` or ``"SN, ML"`` → ``("SN", "ML", "BF")``, order kept, no duplicates."""
    if values is None:
        return ()
    items = [values] if isinstance(values, str) else list(values)
    out: list[str] = []
    for item in items:
        for part in str(item).split(","):
            part = part.strip()
            if part and part not in out:
                out.append(part)
    return tuple(out)


def _year(value: int | str | None, name: str) -> int | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise BadRequest(f"{name} doit être une année (nombre entier), pas « {value} »") from None


@dataclass(frozen=True)
class SearchFilters:
    """The filters of a search; several values of one filter are alternatives (OR)."""

    country: tuple[str, ...] = ()
    theme: tuple[str, ...] = ()
    authority_type: tuple[str, ...] = ()
    region: tuple[str, ...] = ()
    start_year_min: int | None = None
    start_year_max: int | None = None

    @classmethod
    def parse(cls, country: Iterable[str] | str | None = None,
              theme: Iterable[str] | str | None = None,
              authority_type: Iterable[str] | str | None = None,
              region: Iterable[str] | str | None = None,
              start_year_min: int | str | None = None,
              start_year_max: int | str | None = None) -> SearchFilters:
        """Filters from request values (lists or comma-separated strings); country codes are
        upper-cased and the other values lower-cased, as they are stored."""
        low = _year(start_year_min, "start_year_min")
        high = _year(start_year_max, "start_year_max")
        if low is not None and high is not None and low > high:
            raise BadRequest(f"start_year_min ({low}) est postérieure à start_year_max ({high})")
        return cls(
            country=tuple(v.upper() for v in _split(country)),
            theme=tuple(v.lower() for v in _split(theme)),
            authority_type=tuple(v.lower() for v in _split(authority_type)),
            region=_split(region),
            start_year_min=low,
            start_year_max=high,
        )

    def values(self) -> dict[str, tuple[str, ...]]:
        """The multi-valued filters that are set."""
        return {f.name: getattr(self, f.name) for f in fields(self)
                if f.name in FILTER_LABELS and getattr(self, f.name)}

    def is_empty(self) -> bool:
        return not self.values() and self.start_year_min is None and self.start_year_max is None

    def as_params(self) -> dict[str, list[str] | int]:
        """Query-string form (for links and for echoing the request)."""
        params: dict[str, list[str] | int] = {k: list(v) for k, v in self.values().items()}
        if self.start_year_min is not None:
            params["start_year_min"] = self.start_year_min
        if self.start_year_max is not None:
            params["start_year_max"] = self.start_year_max
        return params


def validate(filters: SearchFilters, allowed: Mapping[str, Iterable[str]]) -> None:
    """Raise :class:`BadRequest` naming the first unknown value and the allowed ones."""
    for name, values in filters.values().items():
        known = list(allowed[name])
        known_set = set(known)
        for value in values:
            if value not in known_set:
                raise BadRequest(
                    f"valeur inconnue pour le filtre {name} ({FILTER_LABELS[name]}) : "
                    f"« {value} » ; valeurs possibles : {', '.join(known)}"
                )


def _literal(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "")
    return f'"{escaped}"'


def sparql_for(filters: SearchFilters, query: str = "", places: bool = True) -> str:
    """A SPARQL SELECT listing the projects that match ``filters`` (the same set as the search's
    candidates); with a ``query`` text, in the search's own order: close matches first
    (``cl:closeMatch``), then by the search's score (``cl:searchScore``), then by identifier —
    the page's order (issue 9). ``places=False`` as the search's ``places=off``.

    Filters are plain joins plus ``DISTINCT`` — ``FILTER EXISTS`` and ``UNION`` groups are
    evaluated apart from the project being tested and took minutes on oxigraph."""
    lines = [
        "PREFIX cl: <" + CL + ">",
        "PREFIX dcterms: <http://purl.org/dc/terms/>",
        "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>",
        "",
        "SELECT DISTINCT ?projet ?id ?titre" + (" ?proche ?score" if query else "") + " WHERE {",
        "  ?projet a cl:Projet ;",
        "          dcterms:identifier ?id ;",
        # rdfs:label is the title in the project's own language: one row per project, where
        # dcterms:title gives a row per language of a bilingual project
        "          rdfs:label ?titre .",
    ]
    if filters.country:
        codes = " ".join(_literal(c) for c in filters.country)
        lines.append(f"  VALUES ?pays {{ {codes} }}")
        lines.append("  ?projet cl:pays/cl:codeIso2 ?pays .")
    if filters.theme:
        themes = " ".join(f"<{THEME}{t}>" for t in filters.theme)
        lines.append(f"  VALUES ?theme {{ {themes} }}")
        lines.append("  ?projet cl:theme ?theme .")
    if filters.authority_type:
        named = ", ".join(f"cl:{c}" for c in TYPE_CLASSES.values())
        tests = []
        for kind in filters.authority_type:
            if kind in TYPE_CLASSES:
                tests.append(f"?classe = cl:{TYPE_CLASSES[kind]}")
            else:  # "autre": a French authority of none of the named classes
                tests.append("!BOUND(?classe)")
        lines.append("  ?projet cl:collectiviteFrancaise ?ct .")
        lines.append(f"  OPTIONAL {{ ?ct a ?classe . FILTER(?classe IN ({named})) }}")
        lines.append("  FILTER(" + " || ".join(tests) + ")")
    if filters.region:
        codes = ", ".join(_literal(r) for r in filters.region)
        # A région's own code, or the code of the région an authority lies in.
        lines.append("  ?projet cl:collectiviteFrancaise ?ctr .")
        lines.append("  OPTIONAL { ?ctr cl:region/cl:codeInsee ?regionParente }")
        lines.append("  OPTIONAL { ?ctr a cl:Region ; cl:codeInsee ?regionPropre }")
        lines.append(f"  FILTER(COALESCE(?regionParente, ?regionPropre) IN ({codes}))")
    if filters.start_year_min is not None or filters.start_year_max is not None:
        lines.append("  ?projet cl:anneeDebut ?debut .")
        if filters.start_year_min is not None:
            lines.append(f"  FILTER(?debut >= {filters.start_year_min})")
        if filters.start_year_max is not None:
            lines.append(f"  FILTER(?debut <= {filters.start_year_max})")
    if query:
        arguments = f"?projet, {_literal(query)}" + ("" if places else ", false")
        lines.append(f"  BIND(cl:closeMatch({arguments}) AS ?proche)")
        lines.append(f"  BIND(cl:searchScore({arguments}) AS ?score)")
        lines.append("}")
        lines.append("ORDER BY DESC(?proche) DESC(?score) ?id")
    else:
        lines.append("}")
        lines.append("ORDER BY ?id")
    return "\n".join(lines) + "\n"
