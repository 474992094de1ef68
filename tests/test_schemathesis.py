"""The OpenAPI spec tells the truth (issue 8): schemathesis generates requests for every
documented operation, in-process and offline, with a fixed seed and few examples per
operation; no answer may be a 5xx, and every status code, content type and JSON body must be
one the spec documents for that route."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings

from cooplink.knowledge_base import KnowledgeBase
from search_api.app import create_app

#: examples per operation: enough to hit the edge cases schemathesis knows (empty, huge,
#: non-ASCII, IRI-breaking characters), small enough for `make test`
EXAMPLES = 25


@pytest.fixture(scope="module")
def api_app(built_kb: KnowledgeBase) -> Iterator[FastAPI]:
    app = create_app(built_kb)
    yield app
    app.state.query_runner.close()


@pytest.fixture()
def api_schema(api_app: FastAPI) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_asgi("/openapi.json", api_app)


schema = schemathesis.pytest.from_fixture("api_schema")


@pytest.mark.slow
@schema.parametrize()
@settings(max_examples=EXAMPLES, derandomize=True, database=None, deadline=None,
          suppress_health_check=list(HealthCheck))
def test_every_operation_answers_what_the_spec_documents(case: schemathesis.Case) -> None:
    case.call_and_validate()
