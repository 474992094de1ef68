"""Content negotiation (``Accept`` and ``format=``) as the SPARQL endpoint, the entity pages and
VoID use it: q-values, wildcards, refusals, the server's order on ties, and the default."""

from __future__ import annotations

import pytest

from graph.errors import BadRequest
from search_api.http import _negotiation as neg

PAGES = [("text/html", neg.HTML), *neg.graph_offers()]


@pytest.mark.parametrize(("accept", "chosen"), [
    (None, neg.HTML),  # no Accept: the server's first offer
    ("", neg.HTML),
    ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", neg.HTML),
    ("text/turtle", "ttl"),
    ("Text/Turtle", "ttl"),  # media types are case-insensitive
    ("application/ld+json;q=0.5, text/turtle;q=0.6", "ttl"),
    ("application/*;q=0.2, text/plain", "nt"),  # the historical N-Triples type
    ("application/*", "nt"),  # the first application/ offer
    ("*/*", neg.HTML),  # a tie: the server's order
    ("text/*;q=0.5, text/html;q=0", "ttl"),  # the most specific range gives the q
    ("nonsense, text/turtle", "ttl"),  # a malformed part is skipped
    ("nonsense", neg.HTML),  # nothing readable: as if absent
])
def test_the_client_preference_picks_the_format(accept: str | None, chosen: str) -> None:
    assert neg.negotiate(accept, PAGES) == chosen


@pytest.mark.parametrize("accept", ["text/csv", "*/*;q=0", "image/png, text/html;q=0"])
def test_nothing_acceptable_gives_none(accept: str) -> None:
    assert neg.negotiate(accept, PAGES) is None


def test_solutions_prefer_json_and_accept_the_aliases() -> None:
    offers = neg.solution_offers()
    assert neg.negotiate("*/*", offers) == "json"
    assert neg.negotiate("text/*", offers) == "csv"
    assert neg.negotiate("application/xml", offers) == "xml"
    assert neg.negotiate("application/sparql-results+json;q=0.1, text/csv", offers) == "csv"


def test_the_format_parameter_takes_names_and_media_types() -> None:
    assert neg.format_param("turtle", graph=True) == "ttl"
    assert neg.format_param("json", graph=True) == "jsonld"
    assert neg.format_param("json", graph=False) == "json"
    assert neg.format_param("application/ld+json,application/x-json+ld", graph=True) == "jsonld"
    with pytest.raises(BadRequest, match="inconnu"):
        neg.format_param("nope", graph=False)
