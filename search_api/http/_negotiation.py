"""Content negotiation shared by the SPARQL endpoint, linked-data pages, VoID and the service
description: media types of every format, the choice among them by ``Accept`` q-values (RFC 9110
§12.5.1, parsed by ``python-mimeparse``), and the ``format=`` override (a short name or a media
type)."""

from __future__ import annotations

import contextlib

import mimeparse

from graph.errors import BadRequest

#: SELECT/ASK result formats (short name -> canonical media type).
SOLUTION_MEDIA: dict[str, str] = {
    "json": "application/sparql-results+json",
    "xml": "application/sparql-results+xml",
    "csv": "text/csv",
    "tsv": "text/tab-separated-values",
}
#: RDF formats for CONSTRUCT/DESCRIBE, entity pages, VoID and the service description.
GRAPH_MEDIA: dict[str, str] = {
    "ttl": "text/turtle",
    "nt": "application/n-triples",
    "jsonld": "application/ld+json",
    "rdfxml": "application/rdf+xml",
}
#: Other media types clients send for the same formats (SPARQLWrapper, rdflib, browsers).
_SOLUTION_ALIASES = {
    "application/json": "json",
    "text/javascript": "json",
    "application/javascript": "json",
    "application/xml": "xml",
    "text/xml": "xml",
}
_GRAPH_ALIASES = {
    "application/x-turtle": "ttl",
    "application/turtle": "ttl",
    "text/n3": "ttl",  # Turtle is a subset of N3
    "text/plain": "nt",  # the historical N-Triples media type
    "application/json": "jsonld",
    "application/x-json+ld": "jsonld",
    "application/xml": "rdfxml",
    "text/xml": "rdfxml",
}
#: ``format=`` short names clients use beyond ours.
_FORMAT_ALIASES = {"turtle": "ttl", "ntriples": "nt", "n-triples": "nt", "json-ld": "jsonld",
                   "rdf": "rdfxml", "rdf+xml": "rdfxml", "html": "html", "srj": "json",
                   "srx": "xml"}
HTML = "html"


def _media_ranges(header: str | None) -> list[tuple[str, str, dict[str, str]]]:
    """``Accept`` parsed by ``mimeparse``, one range at a time so that a malformed part is
    skipped instead of failing the request (a client's typo must not cost a 500)."""
    ranges = []
    for part in (header or "").lower().split(","):
        if part.strip():
            with contextlib.suppress(mimeparse.MimeTypeParseException):
                ranges.append(mimeparse.parse_media_range(part))
    return ranges


def negotiate(accept: str | None, offers: list[tuple[str, str]]) -> str | None:
    """The format whose media type the client prefers among ``offers`` (``(media, format)``
    pairs in the server's order of preference); ``None`` when none is acceptable.  An absent
    or empty ``Accept`` takes the first offer."""
    ranges = _media_ranges(accept)
    if not ranges:
        return offers[0][1] if offers else None
    best_fmt: str | None = None
    best_q = 0.0
    # Not ``mimeparse.best_match``: on a tie it prefers the more specific range, then the last
    # offer; here the server's order decides ties, as it always has.
    for media, fmt in offers:
        q = float(mimeparse.quality_parsed(media, ranges))  # q of the most specific range
        if q > best_q:
            best_q, best_fmt = q, fmt
    return best_fmt


def solution_offers() -> list[tuple[str, str]]:
    return [*((m, f) for f, m in SOLUTION_MEDIA.items()), *_SOLUTION_ALIASES.items()]


def graph_offers() -> list[tuple[str, str]]:
    return [*((m, f) for f, m in GRAPH_MEDIA.items()), *_GRAPH_ALIASES.items()]


def format_param(value: str, *, graph: bool) -> str:
    """Resolve a ``format=`` value — a short name, a media type, or a list of media types as
    SPARQLWrapper sends (``application/ld+json,application/x-json+ld``) — for a solution or a
    graph answer.  Raises :class:`BadRequest` naming the accepted values when nothing fits."""
    raw = value.strip().lower()
    name = _FORMAT_ALIASES.get(raw, raw)
    choices = GRAPH_MEDIA if graph else SOLUTION_MEDIA
    if graph and name in ("json", "xml"):
        return {"json": "jsonld", "xml": "rdfxml"}[name]
    if name in choices or name == HTML:
        return name
    found = negotiate(raw, graph_offers() if graph else solution_offers()) if "/" in raw else None
    if found is None:
        raise BadRequest(f"format « {value} » inconnu ici (formats : {', '.join(choices)})")
    return found


def content_type(fmt: str) -> str:
    """The ``Content-Type`` header value for a short format name."""
    media = SOLUTION_MEDIA.get(fmt) or GRAPH_MEDIA.get(fmt) or "application/octet-stream"
    if media.startswith("text/") or media in ("application/n-triples",):
        return media + "; charset=utf-8"
    return media
