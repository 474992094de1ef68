"""The OpenAPI spec tells the truth (issue 8): schemathesis generates requests for every
documented operation, in-process and offline, with a fixed seed and few examples per
operation; no answer may be a 5xx, and every status code, content type, header and JSON body
must be one the spec documents for that route.

schemathesis' ``positive_data_acceptance`` check (a request the schema accepts must get 2xx) is
left out: the schema types a SPARQL query, a format or an entity path as a string, and most
strings are no valid query, format or entity — a 400 or 404 is then the right answer."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from search_api.app import create_app
from search_api.knowledge_base import KnowledgeBase

#: examples per operation: enough for the edge cases schemathesis knows (empty, huge,
#: non-ASCII, IRI-breaking characters), few enough for `make test`
EXAMPLES = 25
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_headers_conformance, response_schema_conformance]


@pytest.fixture(scope="module")
def api_app(built_kb: KnowledgeBase) -> Iterator[FastAPI]:
    app = create_app(built_kb)
    yield app
    app.state.query_runner.close()


def check_operations(app: FastAPI, examples: int = EXAMPLES) -> list[str]:
    """Run schemathesis over every operation of ``app``'s spec; the labels checked."""
    spec = schemathesis.openapi.from_asgi("/openapi.json", app)
    checked = []
    for result in spec.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(max_examples=examples, derandomize=True, database=None, deadline=None,
                  suppress_health_check=list(HealthCheck))
        def answers_as_documented(case: schemathesis.Case) -> None:
            case.call_and_validate(checks=CHECKS)

        try:
            answers_as_documented()
        except Exception as exc:
            raise AssertionError(f"{operation.label} : {exc}") from exc
        checked.append(operation.label)
    return checked


@pytest.mark.slow
def test_every_operation_answers_what_the_spec_documents(api_app: FastAPI) -> None:
    checked = check_operations(api_app)
    assert {"GET /sparql", "POST /sparql", "GET /theme/{slug}", "GET /id/{path}",
            "GET /api/search", "GET /.well-known/void"} <= set(checked)
