"""Issue 8, piece by piece: the lexer that replaced the regex bomb, the three SERVICE layers
(lexer, parsed algebra, network sandbox), the worker pool against killers, the byte cap and the
request limits.  The whole endpoint under attack is ``tests/test_hostile.py``."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pyoxigraph as ox
import pytest
from fastapi.testclient import TestClient
from fixtures_sparql import fixture_kb, publish_fixture_generation

from graph import _sparql_lexer as lex
from graph import query_guard
from graph._query_worker import EngineFailure, _Worker
from graph.datadir import DataDir
from graph.errors import BadRequest, CooplinkError, Forbidden, QueryTimeout
from graph.evaluation import QueryRequest, evaluate, open_store
from graph.query_runner import QueryRunner, QueryTooHeavy
from search_api.app import create_app
from search_api.search.sparql_functions import similarity_texts

ENDLESS = ("SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l . "
           "?m ?n0 ?o }")
INNOCENT = QueryRequest("ASK { ?p a cl:Projet }")


class Listener:
    """A loopback TCP server that records every connection it receives."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port: int = self.sock.getsockname()[1]
        self.connections = 0
        self._stop = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self._stop = True
        self.sock.close()


@pytest.fixture()
def listener() -> Iterator[Listener]:
    served = Listener()
    yield served
    served.close()


# ------------------------------------------------------------------ point 2: a linear lexer
class CountingStr(str):
    """A query text that counts how often the lexer reads it."""

    reads = 0

    def __getitem__(self, key: object) -> str:  # type: ignore[override]
        CountingStr.reads += 1
        return str.__getitem__(self, key)  # type: ignore[index]

    def startswith(self, *args: object) -> bool:  # type: ignore[override]
        CountingStr.reads += 1
        return str.startswith(self, *args)  # type: ignore[arg-type]


def _reads(text: str) -> int:
    CountingStr.reads = 0
    list(lex.tokens(CountingStr(text)))
    return CountingStr.reads


@pytest.mark.parametrize("piece", [
    "\\u0041",  # the bomb: an unterminated IRI full of escapes
    "\\U0001F600",
    "'''",  # unterminated long strings, one after the other
    '"""',
    "<a",  # IRIs that never close
    "'a",
    "cl:similarity(\"x\" ",
    "{(",
])
def test_the_lexer_reads_each_character_a_bounded_number_of_times(piece: str) -> None:
    """The regex of the former guard backtracked exponentially (7.8 s for 126 bytes); the
    lexer's work must grow linearly with the input, whatever the input."""
    prefix = "SELECT * WHERE { ?s ?p <http://e/"
    small, large = prefix + piece * 200, prefix + piece * 1600
    ratio = _reads(large) / _reads(small)
    assert ratio < 9, ratio  # 8 times the input, at most ~8 times the work


def test_the_regex_bomb_is_one_error_token() -> None:
    query = "SELECT * WHERE { ?s ?p <http://e/" + "\\u0041" * 40 + " }"
    toks = list(lex.tokens(query))
    assert [t.kind for t in toks[-3:]] == ["punct", "name", "punct"]  # '<' then http: then '}'
    assert query_guard.shape(query).form == "select"


@pytest.mark.parametrize(("query", "kinds"), [
    ("?o .SERVICE <x>", ["var", "punct", "name", "iri"]),
    ("e:a\\#b SERVICE", ["name", "name"]),
    ('"a\\" # b" # c', ["string"]),
    ("'''x''' 1.5e3 .5 ?v $w", ["string", "number", "number", "var", "var"]),
    ("1SERVICE", ["number", "name"]),
    ("ex:a.b. _:b1 ?x<=3", ["name", "punct", "bnode", "var", "punct", "number"]),
])
def test_the_lexer_tells_code_from_comments_strings_and_iris(query: str, kinds: list[str]) -> None:
    assert [t.kind for t in lex.tokens(query)] == kinds


def test_similarity_texts_are_read_in_one_pass() -> None:
    query = ('SELECT * { BIND(cl:similarity(?p, "eau \\u00e9") AS ?a) '
             'BIND(<https://w3id.org/cooplink/def#similarity>(\'déchets\', ?p) AS ?b) '
             'FILTER(CONTAINS(?t, "pas ici")) }')
    assert similarity_texts(query) == ["eau é", "déchets"]
    many = "SELECT * { " + 'BIND(cl:similarity(?p, "x") AS ?s) ' * 3000 + "}"
    assert _reads(many) < 40 * len(many)
    assert similarity_texts(many) == ["x"]


# ------------------------------------------------------------------ point 1: SERVICE
TARGET = "http://127.0.0.1:{port}/sparql"
#: spellings Oxigraph 0.5.13 accepts (checked by the control test below), one per way of
#: writing the keyword or its target
SPELLINGS = [
    "SELECT * WHERE {{ ?s ?p ?o .SERVICE <{t}> {{ ?a ?b ?c }} }}",
    "SELECT * WHERE {{ ?s ?p ?o.SERVICE<{t}>{{ ?a ?b ?c }} }}",
    "select * where {{ ?s ?p ?o . service <{t}> {{ ?a ?b ?c }} }}",
    "SELECT * WHERE {{ ?s ?p ?o . SeRvIcE\t\n<{t}> {{ ?a ?b ?c }} }}",
    "SELECT * WHERE {{ ?s ?p ?o . SERVICE#x\n<{t}> {{ ?a ?b ?c }} }}",
    "SELECT * WHERE {{ ?s ?p ?o . SERVICESILENT <{t}> {{ ?a ?b ?c }} }}",
    "PREFIX e: <http://x/> SELECT * WHERE {{ ?s ?p ?o . ?s e:a\\#b ?o SERVICE <{t}> "
    "{{ ?a ?b ?c }} }}",
    "PREFIX lo: <{t}> SELECT * WHERE {{ ?s ?p ?o . SERVICE lo: {{ ?a ?b ?c }} }}",
    "BASE <{t}> SELECT * WHERE {{ ?s ?p ?o . SERVICE <> {{ ?a ?b ?c }} }}",
    "SELECT * WHERE {{ ?s ?p ?o . SERVICE <{te}> {{ ?a ?b ?c }} }}",
    "SELECT * WHERE {{ ?s ?p \"1\"SERVICE <{t}> {{ ?a ?b ?c }} }}",
    "SELECT * WHERE {{ ?s ?p ?o OPTIONAL {{ SERVICE <{t}> {{ ?a ?b ?c }} }} }}",
    "SELECT * WHERE {{ ?s ?p ?o FILTER EXISTS {{ SERVICE <{t}> {{ ?a ?b ?c }} }} }}",
    "SELECT * WHERE {{ ?s ?p ?o {{ SELECT * WHERE {{ SERVICE <{t}> {{ ?a ?b ?c }} }} }} }}",
    "SELECT * WHERE {{ {{ ?s ?p ?o }} UNION {{ SERVICE <{t}> {{ ?a ?b ?c }} }} }}",
]
#: refused as well, though Oxigraph 0.5.13 itself cannot run them (no variable endpoints)
REFUSED_TOO = [
    "SELECT * WHERE {{ ?s ?p ?o BIND(<{t}> AS ?e) SERVICE ?e {{ ?a ?b ?c }} }}",
    "SELECT * WHERE {{ VALUES ?e {{ <{t}> }} SERVICE SILENT ?e {{ ?a ?b ?c }} }}",
]
#: glued spellings that rdflib's parser (layer 2) rejects: the sandbox is then the barrier
UNPARSED = ("\\#", "SERVICESILENT")


def _spelled(template: str, port: int) -> str:
    target = TARGET.format(port=port)
    escaped = target.replace("/sparql", "\\u002Fsparql")
    return template.format(t=target, te=escaped)


def _one_triple_store() -> ox.Store:
    store = ox.Store()
    store.add(ox.Quad(ox.NamedNode("http://x/s"), ox.NamedNode("http://x/p"), ox.Literal("1")))
    store.add(ox.Quad(ox.NamedNode("http://x/s"), ox.NamedNode("http://x/a#b"), ox.Literal("1")))
    return store


@pytest.mark.parametrize("template", SPELLINGS)
def test_each_spelling_reaches_the_network_when_nothing_guards_it(
    template: str, listener: Listener
) -> None:
    """The control: unguarded, Oxigraph really calls the listener for each spelling, so the
    refusals below are refusals of working attacks."""
    query = _spelled(template, listener.port)
    with contextlib.suppress(OSError, RuntimeError, ValueError):
        result = _one_triple_store().query(query)
        list(result) if isinstance(result, ox.QuerySolutions) else bool(result)
    deadline = time.monotonic() + 5
    while listener.connections == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert listener.connections >= 1


@pytest.mark.parametrize("template", SPELLINGS + REFUSED_TOO)
def test_layer_one_refuses_each_spelling(template: str) -> None:
    with pytest.raises(Forbidden, match="SERVICE"):
        query_guard.check(_spelled(template, 1), base="http://127.0.0.1:8000/sparql")


@pytest.mark.parametrize("template", SPELLINGS + REFUSED_TOO)
def test_layer_two_finds_each_service_in_the_parsed_algebra(template: str) -> None:
    query = _spelled(template, 1)
    if any(glued in template for glued in UNPARSED):
        with pytest.raises(BadRequest, match="SERVICE"):  # unverifiable: refused with network
            query_guard.verify_parsed(query, [TARGET.format(port=1)], None, sandboxed=False)
        return
    targets = query_guard.parsed_services(query, "http://127.0.0.1:8000/sparql")
    assert targets and all(t in (TARGET.format(port=1), None) for t in targets)
    with pytest.raises(Forbidden):
        query_guard.verify_parsed(query, [], None, sandboxed=False)


def test_layer_two_allows_only_the_allow_list() -> None:
    remote = "http://remote.example/sparql"
    query = f"SELECT * {{ FILTER NOT EXISTS {{ SERVICE <{remote}> {{ ?s ?p ?o }} }} }}"
    query_guard.verify_parsed(query, [remote], None, sandboxed=False)  # allowed: no error
    with pytest.raises(Forbidden, match=r"remote\.example"):
        query_guard.verify_parsed(query, [], None, sandboxed=False)
    unreadable = "SELECT * { ?s ?p trueSERVICE <http://x/> { } }"
    with pytest.raises(BadRequest, match="SERVICE"):
        query_guard.verify_parsed(unreadable, [remote], None, sandboxed=False)
    query_guard.verify_parsed(unreadable, [], None, sandboxed=True)  # left to the sandbox


def test_service_inside_strings_comments_and_names_is_not_a_service() -> None:
    query = ('# SERVICE <http://x/>\nPREFIX e: <http://x/> SELECT ?service WHERE { '
             '?service e:serviceName "SERVICE <http://x/>" FILTER(CONTAINS(?n, "service")) }')
    assert query_guard.check(query).services == []
    assert query_guard.parsed_services(query) == []


_SANDBOXED_CONNECT = """
import socket, sys
from graph._sandbox import forbid_network
assert forbid_network()
import pyoxigraph as ox
try:
    socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=2)
    print("connected")
except OSError as exc:
    print("refused", exc.errno)
try:
    list(ox.Store().query("SELECT * { SERVICE <http://127.0.0.1:%s/x> { ?s ?p ?o } }"
                          % sys.argv[1]))
except OSError as exc:
    print("service refused:", exc)
"""


def test_layer_three_a_sandboxed_process_cannot_open_a_connection(listener: Listener) -> None:
    done = subprocess.run([sys.executable, "-c", _SANDBOXED_CONNECT, str(listener.port)],
                          capture_output=True, text=True, timeout=60, check=True,
                          cwd=Path(__file__).parent.parent)
    assert done.stdout.splitlines()[0] == "refused 1"  # EPERM
    assert "Operation not permitted" in done.stdout
    assert listener.connections == 0


# ------------------------------------------------------------------ point 3: killers
@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("hostile-units")
    publish_fixture_generation(root)
    return root


def make_runner(data_dir: Path, **options: object) -> QueryRunner:
    datadir = DataDir(data_dir)
    return QueryRunner(lambda: datadir.require_current().store_path, **options)  # type: ignore[arg-type]


@pytest.mark.slow  # waits on purpose for workers to load (seconds each)
@pytest.mark.parametrize(("in_memory", "spares"), [(False, 0), (False, 1), (True, 0)])
def test_a_killed_workers_successor_answers_when_it_need_not_load(
    data_dir: Path, in_memory: bool, spares: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With one query slot, a timeout kills the worker; a process started in its place needs
    3 s to load (``slow_functions``).  Loading counts in the 1-second limit, so on disk without
    a spare the next innocent query gets 503 "en cours de chargement" instead of waiting; with
    the warm spare it is answered — and in memory without a spare too, since the successor is
    forked from the template with the generation and its functions already loaded."""
    monkeypatch.setenv("PYTHONPATH", str(Path(__file__).parent))  # workers import the factory
    runner = make_runner(data_dir, workers=1, spares=spares, timeout=1.0, network=False,
                         functions="slow_functions:slow_load", in_memory=in_memory)
    try:
        runner.start()
        assert runner.wait_ready(60)
        with pytest.raises(QueryTimeout, match="durée maximale"):
            runner.run(QueryRequest(ENDLESS))
        if spares or in_memory:
            assert runner.run(INNOCENT).data == b'{"head":{},"boolean":true}'
        else:
            with pytest.raises(QueryTimeout, match="chargement"):
                runner.run(INNOCENT)
        assert runner.wait_ready(60)
        assert runner.run(INNOCENT).data == b'{"head":{},"boolean":true}'
    finally:
        runner.close()


def test_a_worker_killed_by_a_signal_is_replaced_and_its_query_refused_next_time(
    data_dir: Path,
) -> None:
    runner = make_runner(data_dir, workers=1, spares=1, timeout=30.0, network=False)
    try:
        runner.start()
        assert runner.wait_ready(60)
        idle = {w.proc.pid for w in runner._idle}
        outcome: dict[str, BaseException] = {}

        def run() -> None:
            try:
                runner.run(QueryRequest(ENDLESS))
            except CooplinkError as exc:
                outcome["error"] = exc

        thread = threading.Thread(target=run)
        thread.start()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # the busy worker: the one no longer idle
            busy = idle - {w.proc.pid for w in runner._idle}
            if busy:
                break
            time.sleep(0.02)
        time.sleep(0.3)
        os.kill(busy.pop(), signal.SIGABRT)  # what a Rust panic with panic=abort does
        thread.join(30)
        assert isinstance(outcome["error"], EngineFailure)
        assert "signal 6" in outcome["error"].message
        assert runner.run(INNOCENT).data == b'{"head":{},"boolean":true}'  # the spare
        with pytest.raises(BadRequest, match="déjà arrêté"):
            runner.run(QueryRequest(ENDLESS))
    finally:
        runner.close()


def test_a_rust_panic_becomes_a_400_and_retires_the_worker() -> None:
    class PanicException(BaseException):  # what pyo3 raises, not an Exception
        pass

    class PanickingStore:
        def query(self, *args: object, **kwargs: object) -> object:
            raise PanicException("user-provided comparison function does not correctly "
                                 "implement a total order")

    worker = _Worker(None, in_memory=False, sandboxed=True)
    worker.store = PanickingStore()  # type: ignore[assignment]
    status, error, retire = worker.answer(QueryRequest("SELECT ?o { ?s ?p ?o } ORDER BY ?o"),
                                          (10, 1000))
    assert (status, retire, error.status) == ("error", True, 400)
    assert "total order" in error.message and "ORDER BY" in error.message


def test_deep_nesting_under_the_limit_is_evaluated_by_the_worker(data_dir: Path) -> None:
    """The evaluation thread's large stack: nesting far beyond what crashed the former worker
    (3,000 braces) is answered, so any nesting the server lets through is safe."""
    runner = make_runner(data_dir, workers=1, spares=0, timeout=60.0, network=False)
    try:
        deep = "SELECT * WHERE " + "{" * 6000 + " ?s a cl:Pays " + "}" * 6000
        service = "ASK { # service\n" + "{" * 2000 + "}" * 2000 + " }"  # parsed by rdflib too
        assert runner.run(QueryRequest(deep, solution_format="tsv")).data.startswith(b"?s\n")
        assert runner.run(QueryRequest(service)).data == b'{"head":{},"boolean":true}'
    finally:
        runner.close()


# ------------------------------------------------------------------ point 4: memory and size
def test_a_worker_above_the_memory_ceiling_is_stopped_and_replaced(data_dir: Path) -> None:
    runner = make_runner(data_dir, workers=1, spares=1, timeout=30.0, network=False,
                         max_memory_mb=1)  # below any process: every busy worker is over
    try:
        runner.start()
        assert runner.wait_ready(60)
        with pytest.raises(QueryTooHeavy, match="Mo de mémoire"):
            runner.run(QueryRequest(ENDLESS))
        # a quick query is answered before the first look, then its worker is replaced
        assert runner.run(INNOCENT).data == b'{"head":{},"boolean":true}'
    finally:
        runner.close()


def test_the_byte_cap_cuts_answers_at_a_row_boundary(data_dir: Path) -> None:
    store = open_store(DataDir(data_dir).require_current().store_path, in_memory=True)
    rows = QueryRequest("SELECT ?s ?p ?o { ?s ?p ?o }")
    answer = evaluate(store, rows, max_rows=100_000, max_bytes=5_000)
    assert answer.cut == "bytes" and len(answer.data) <= 5_000
    assert ox.parse_query_results(answer.data, format=ox.QueryResultsFormat.JSON).variables
    doubling = "SELECT ?v WHERE { BIND(\"xx\" AS ?v0) " + "".join(
        f"BIND(CONCAT(?v{i}, ?v{i}) AS ?v{i + 1}) " for i in range(20)) + "BIND(?v20 AS ?v) }"
    for fmt in ("json", "tsv", "csv", "xml"):
        cut = evaluate(store, QueryRequest(doubling, solution_format=fmt), 100, max_bytes=10_000)
        assert cut.cut == "bytes" and len(cut.data) <= 10_000  # 2 MB of "x" otherwise
    triples = evaluate(store, QueryRequest("CONSTRUCT WHERE { ?s ?p ?o }", graph_format="jsonld"),
                       100_000, max_bytes=20_000)
    assert triples.cut == "bytes" and len(triples.data) <= 20_000


@pytest.fixture(scope="module")
def small_limits(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    kb = fixture_kb(tmp_path_factory.mktemp("limits"), http_max_url_bytes=2_000,
                    http_max_body_bytes=10_000, sparql_max_query_bytes=3_000,
                    sparql_max_nesting=10)
    app = create_app(kb)
    with TestClient(app) as client:
        yield client
    app.state.query_runner.close()


@pytest.mark.parametrize(("kwargs", "status", "words"), [
    ({"method": "GET", "params": {"query": "ASK {} #" + "x" * 3000}}, 414, "URL trop longue"),
    ({"method": "POST", "data": {"query": "ASK {} #" + "x" * 20_000}}, 413, "corps"),
    ({"method": "POST", "content": ("ASK {} #" + "x" * 5000).encode(),
      "headers": {"content-type": "application/sparql-query"}}, 413, "requête trop longue"),
    ({"method": "GET", "params": {"query": "ASK " + "{" * 11 + "}" * 11}}, 400, "imbriquée"),
    ({"method": "GET", "params": {"query": "ASK {}", "default-graph-uri": "pas une iri"}}, 400,
     "default-graph-uri"),
    ({"method": "GET", "params": {"query": "ASK {}", "named-graph-uri": "http://x/a b"}}, 400,
     "named-graph-uri"),
])
def test_limits_answer_the_one_error_shape(
    small_limits: TestClient, kwargs: dict[str, object], status: int, words: str
) -> None:
    response = small_limits.request(url="/sparql", **kwargs)  # type: ignore[arg-type]
    assert response.status_code == status
    body = response.json()
    assert body["ok"] is False and body["status"] == status and words in body["error"]


def test_a_chunked_body_is_cut_at_the_limit(small_limits: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(100):
            yield b"query=" + b"x" * 1000

    response = small_limits.post("/sparql", content=chunks(),
                                 headers={"content-type": "application/x-www-form-urlencoded"})
    assert response.status_code == 413


# ------------------------------------------------------------------ points 5 and 7
@pytest.mark.parametrize("path", ["/theme/%20", "/id/a%20b", "/secteur-cad/%7B", "/graph/%22",
                                  "/provenance/%3C", "/source/%5C", "/id/x%3E%20%3Fp",
                                  "/theme/%7C", "/nulle-part"])
def test_paths_that_are_no_iri_are_404_in_the_error_shape(small_limits: TestClient,
                                                           path: str) -> None:
    response = small_limits.get(path)
    assert response.status_code == 404
    assert response.json()["ok"] is False and response.json()["status"] == 404


def test_the_service_description_ignores_a_forged_host(small_limits: TestClient) -> None:
    response = small_limits.get("/sparql", headers={"host": "evil.example",
                                                    "accept": "application/n-triples"})
    assert "evil.example" not in response.text
    assert "<http://127.0.0.1:8000/sparql>" in response.text
    relative = small_limits.get("/sparql", headers={"host": "evil.example"},
                                params={"query": "SELECT ?x { BIND(<rel> AS ?x) }"})
    assert relative.json()["results"]["bindings"][0]["x"]["value"] == "http://127.0.0.1:8000/rel"


def test_layer_one_is_linear_on_the_biggest_query_allowed() -> None:
    query = "SELECT * { " + "?s <http://e/\\u0041" * 4000
    with contextlib.suppress(CooplinkError):
        query_guard.check(query)
    assert _reads(query) < 20 * len(query)
