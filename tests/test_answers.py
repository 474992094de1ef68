"""Typed answers (issue 10, point 3): the search domain's pydantic models serialise to the JSON
the API has always answered (the field names are a contract), OpenAPI shows the response schema
of every search route and of errors, and ``/docs`` works offline."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from search_api.search.answers import PoolingAnswer, SearchAnswer, SimilarAnswer
from search_api.search.service import SearchService

AUTHORITY = {"name", "uri", "type"}
PARTNER = {"name", "uri", "country"}
RESULT = {"id", "uri", "title", "score", "close_match", "matched_theme", "snippet", "countries",
          "themes", "french_authorities", "partners", "start_year", "end_year"}
FACET = {"value", "label", "count", "relevant"}
PLACE = {"text", "start", "end", "kind", "label", "countries", "french_regions",
         "french_departements", "partners", "kind_label", "filter"}
SIMILAR = {"id", "uri", "title", "score", "why", "countries", "themes", "french_authorities",
           "partners", "start_year", "end_year"}
CONTACT = {"name", "uri", "type", "networks", "years", "amount", "cofinancing", "currency",
           "projects"}
GROUP = {"id", "kind", "title", "shared", "part", "projects", "authorities", "similarity",
         "coherence", "contacts"}


def test_search_json_keeps_its_field_names(client: TestClient, service: SearchService) -> None:
    body = client.get("/api/search", params={"q": "santé en Tunisie", "limit": 5}).json()
    assert set(body) == {"query", "understood", "total", "relevant_total", "results", "facets"}
    assert set(body["understood"]) == {"text", "places", "places_ignored"}
    assert body["understood"]["places"] and all(set(p) == PLACE
                                                for p in body["understood"]["places"])
    for result in body["results"]:
        assert set(result) == RESULT
        assert all(set(a) == AUTHORITY for a in result["french_authorities"])
        assert all(set(p) == PARTNER for p in result["partners"])
    assert all(set(e) == FACET for entries in body["facets"].values() for e in entries)
    # the typed answer the domain returns is exactly that JSON
    typed = service.search("santé en Tunisie", limit=5)
    assert isinstance(typed, SearchAnswer) and typed.model_dump(mode="json") == body


def test_similar_json_keeps_its_field_names(client: TestClient, service: SearchService) -> None:
    source = service.index.docs[3].id
    body = client.get(f"/api/projects/{source}/similar", params={"limit": 5}).json()
    assert set(body) == {"project", "results"}
    assert set(body["project"]) == {"id", "uri", "title", "french_authorities"}
    for result in body["results"]:
        assert set(result) == SIMILAR
        for reason in result["why"]:
            extra = {"value"} if reason["kind"] == "semantic" else {"values"}
            assert set(reason) == {"kind", "text"} | extra
    typed = service.similar(source, 5)
    assert isinstance(typed, SimilarAnswer) and typed.model_dump(mode="json") == body


def test_pooling_json_keeps_its_field_names(client: TestClient, service: SearchService) -> None:
    params = {"country": "SN", "theme": "eau-assainissement"}
    body = client.get("/api/pooling", params=params).json()
    assert set(body) == {"total", "authorities", "clusters"}
    assert body["clusters"] and all(set(c) == CONTACT for c in body["authorities"])
    for group in body["clusters"]:
        assert set(group) == GROUP and all(set(c) == CONTACT for c in group["contacts"])
        # what a group shares has only the keys of its kind, never a null one
        expected = {"partner": {"partner", "terms"}, "province": {"province", "partners", "terms"},
                    "subtopic": {"terms"}, "similar": {"terms"}}[group["kind"]]
        assert set(group["shared"]) == expected
    typed = service.pooling(service.filters(**params))
    assert isinstance(typed, PoolingAnswer) and typed.model_dump(mode="json") == body


def _schema_of(spec: dict[str, Any], path: str, status: str) -> str:
    content = spec["paths"][path]["get"]["responses"][status]["content"]
    ref: str = content["application/json"]["schema"]["$ref"]
    return ref.rsplit("/", 1)[-1]


def test_openapi_lists_the_response_schemas(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert _schema_of(spec, "/api/search", "200") == "SearchAnswer"
    assert _schema_of(spec, "/api/projects/{project_id}/similar", "200") == "SimilarAnswer"
    assert _schema_of(spec, "/api/pooling", "200") == "PoolingAnswer"
    schemas = spec["components"]["schemas"]
    facets = schemas["SearchAnswer"]["properties"]["facets"]["additionalProperties"]
    assert facets["items"]["$ref"].endswith("/FacetEntry")
    for path, status in [("/api/search", "422"), ("/api/search", "406"), ("/api/search", "503"),
                         ("/api/projects/{project_id}/similar", "404"), ("/sparql", "400"),
                         ("/api/pooling", "500")]:
        assert _schema_of(spec, path, status) == "ErrorBody", (path, status)
    assert set(schemas["ErrorBody"]["required"]) == {"error", "status"}
    # one SearchParams: the same parameters on the search, its CSV and its SPARQL
    names = [{p["name"] for p in spec["paths"][path]["get"]["parameters"]}
             for path in ("/api/search", "/api/search.csv", "/api/search.sparql")]
    assert names[0] == names[2] == names[1] - {"sep"} == {
        "q", "country", "theme", "authority_type", "region", "start_year_min",
        "start_year_max", "limit", "offset", "places", "sort"}


def test_docs_are_served_without_a_cdn(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200 and "/openapi.json" in page.text
    assert "cdn" not in page.text.lower() and "https://" not in page.text
    assert client.get("/docs/assets/swagger-ui-bundle.js").status_code == 200
    assert client.get("/docs/assets/swagger-ui.css").status_code == 200
