"""One error contract (issue 10, point 2): every status a client can meet, each triggered
through a real route, answers the same JSON body — ``{"ok": false, "error": "<French>",
"status": N}`` (plus ``detail`` for a 422) — or the French HTML error page for a browser; the
CLI prints a French message and an exit code, never a traceback.

Runs over the small SPARQL fixture graph (no search index: the routes that need one fail before
or after it, as each case says) and an empty data dir, so no model is loaded."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from fixtures_sparql import fixture_kb
from typer.testing import CliRunner

from search_api.app import create_app
from search_api.cli import app as cli_app
from search_api.knowledge_base import KnowledgeBase
from search_api.search.params import MAX_QUERY_CHARS
from search_api.settings import Settings

HTML = {"accept": "text/html,application/xhtml+xml"}
SELECT = "SELECT * WHERE { ?s ?p ?o } LIMIT 1"


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    kb = fixture_kb(tmp_path_factory.mktemp("errors"), http_max_body_bytes=10_000,
                    http_max_url_bytes=4_000)
    application = create_app(kb)
    yield application
    application.state.query_runner.close()


@pytest.fixture(scope="module")
def client(app: FastAPI) -> Iterator[TestClient]:
    # the server's exceptions become responses, as uvicorn sends them
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def empty(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """A server over a data dir without any graph yet."""
    kb = KnowledgeBase(Settings(data_dir=tmp_path_factory.mktemp("empty") / "var"))
    application = create_app(kb)
    with TestClient(application, raise_server_exceptions=False) as test_client:
        yield test_client
    application.state.query_runner.close()


#: (status, request) — each through a real route
CASES: list[tuple[int, dict[str, Any]]] = [
    (400, {"method": "GET", "url": "/ontology", "params": {"format": "zzz"}}),
    (403, {"method": "GET", "url": "/sparql",
           "params": {"query": "INSERT DATA { <urn:a> <urn:b> <urn:c> }"}}),
    (404, {"method": "GET", "url": "/nulle-part"}),
    (405, {"method": "DELETE", "url": "/api/search"}),
    (406, {"method": "GET", "url": "/api/search", "headers": {"accept": "image/png"}}),
    (413, {"method": "POST", "url": "/sparql", "data": {"query": SELECT + " #" + "x" * 20_000}}),
    (414, {"method": "GET", "url": "/sparql", "params": {"query": SELECT + " #" + "x" * 5_000}}),
    (422, {"method": "GET", "url": "/api/search", "params": {"q": "x" * (MAX_QUERY_CHARS + 1)}}),
]


def _check_json(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text[:300]
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    assert set(body) - {"detail"} == {"ok", "error", "status"}
    assert body["ok"] is False and body["status"] == status
    assert body["error"] and "Traceback" not in body["error"]
    return body


def _check_html(response: Any, status: int) -> None:
    assert response.status_code == status, response.text[:300]
    assert response.headers["content-type"].startswith("text/html")
    assert f"Erreur {status}" in response.text and "Retour à l'accueil" in response.text


@pytest.mark.parametrize(("status", "request_args"), CASES, ids=[str(s) for s, _ in CASES])
def test_every_status_answers_the_one_json_shape(client: TestClient, status: int,
                                                 request_args: dict[str, Any]) -> None:
    _check_json(client.request(**request_args), status)


@pytest.mark.parametrize(("status", "request_args"), [c for c in CASES if c[0] != 406],
                         ids=[str(s) for s, _ in CASES if s != 406])
def test_a_browser_gets_the_french_error_page(client: TestClient, status: int,
                                              request_args: dict[str, Any]) -> None:
    headers = {**request_args.get("headers", {}), **HTML}
    if request_args["url"] == "/api/search" and status != 405:  # a JSON route: the page's
        request_args = {**request_args, "url": "/"}  # same parameters, for a browser
    _check_html(client.request(**{**request_args, "headers": headers}), status)


def test_406_for_a_browser_asking_html_of_a_json_route(client: TestClient) -> None:
    response = client.get("/api/search", headers={"accept": "text/html"})
    _check_html(response, 406)
    assert "application/json" in response.text


@pytest.mark.parametrize(("status", "request_args", "setting"), [
    (413, {"method": "POST", "url": "/sparql", "data": {"query": "x" * 20_000}},
     "http_max_body_bytes"),
    (414, {"method": "GET", "url": "/api/search", "params": {"q": "x" * 5_000}},
     "http_max_url_bytes"),
], ids=["413", "414"])
def test_the_size_limits_follow_the_one_contract(client: TestClient, status: int,
                                                 request_args: dict[str, Any],
                                                 setting: str) -> None:
    # refused before any route reads the request (search_api/http/_limits.py), by the same
    # contract as every other error: JSON for an API client, the French page for a browser
    body = _check_json(client.request(**request_args), status)
    assert setting in body["error"]
    page = client.request(**request_args, headers=HTML)
    _check_html(page, status)
    assert setting in page.text and page.headers["connection"] == "close"


def test_422_names_each_field_in_french(client: TestClient) -> None:
    body = _check_json(client.get("/api/search", params={"q": "x" * (MAX_QUERY_CHARS + 1)}), 422)
    assert body["detail"] == [{"loc": ["query", "q"], "type": "string_too_long",
                               "msg": f"au plus {MAX_QUERY_CHARS} caractères"}]
    assert "paramètre invalide" in body["error"]


def test_an_unexpected_exception_is_a_500_logged_once_on_the_server_only(
        app: FastAPI, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    def broken() -> None:
        raise RuntimeError("secret interne")

    monkeypatch.setattr(app.state.kb, "search_service", broken)
    # raise_server_exceptions: an exception escaping the application (which uvicorn would log
    # a second time) fails the test; no lifespan (the module's client ran it)
    strict = TestClient(app, raise_server_exceptions=True)
    with caplog.at_level(logging.DEBUG):
        response = strict.get("/api/search", params={"q": "eau"})
        page = strict.get("/", params={"q": "eau"}, headers=HTML)
    body = _check_json(response, 500)
    assert "secret interne" not in response.text and "journalisée" in body["error"]
    _check_html(page, 500)
    assert "secret interne" not in page.text
    tracebacks = [r for r in caplog.records if r.exc_info is not None]
    assert [r.getMessage() for r in tracebacks] == ["erreur inattendue sur GET /api/search",
                                                    "erreur inattendue sur GET /"]
    assert all(r.name == "cooplink.http" and r.levelno == logging.ERROR for r in tracebacks)


def test_503_without_a_graph(empty: TestClient) -> None:
    _check_json(empty.get("/api/search", params={"q": "eau"}), 503)
    _check_html(empty.get("/ontology", headers=HTML), 503)


def test_a_busy_endpoint_answers_503_with_retry_after_at_once(
        app: FastAPI, client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every SPARQL worker taken and no room to wait: « serveur occupé » now, and when to
    come back, rather than a 503 after the whole time limit."""
    runner = app.state.query_runner
    monkeypatch.setattr(runner._admission, "queue", 0)
    monkeypatch.setattr(runner, "_busy", runner.size)  # as if every worker were evaluating
    response = client.get("/sparql", params={"query": "ASK {}"})
    assert "serveur occupé" in _check_json(response, 503)["error"]
    assert int(response.headers["retry-after"]) > 0


def test_405_says_which_methods_are_allowed(client: TestClient) -> None:
    response = client.delete("/api/search")
    assert response.headers.get("allow") == "GET"


# ---------------------------------------------------------------- CLI
runner = CliRunner()


@pytest.mark.parametrize(("args", "env", "words"), [
    (["search", "eau"], {"COOPLINK_SEARCH_ENCODER": "hashing:beaucoup+hashing"},
     "poids invalide"),  # an EncoderError
    (["search", "x" * (MAX_QUERY_CHARS + 1)], {}, f"au plus {MAX_QUERY_CHARS} caractères"),
    # hashing: the message is under test, not the default model (seconds to load first)
    (["search", "eau"], {"COOPLINK_SEARCH_ENCODER": "hashing"}, "aucun index de recherche"),
])
def test_the_cli_prints_a_french_message_and_an_exit_code(
        tmp_path: Path, args: list[str], env: dict[str, str], words: str) -> None:
    data_dir = tmp_path / "var"
    fixture_kb(data_dir)
    result = runner.invoke(cli_app, [*args, "--data-dir", str(data_dir)], env=env)
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit)  # typer.Exit, not an error escaping
    assert result.stderr.startswith("Erreur :") and words in result.stderr
    assert "Traceback" not in result.output + result.stderr
