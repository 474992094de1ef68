"""The SPARQL worker pool: the same answers whether workers copy the graph into memory or read
it on disk, a new generation served by the next query, and a runaway query stopped without
stopping the pool.  Small fixture stores, so each test runs in seconds."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pyoxigraph as ox
import pytest
from fixtures_sparql import publish_fixture_generation
from slow_functions import SLEEP

from graph._query_worker import NICENESS
from graph.datadir import DataDir
from graph.errors import CooplinkError, NoStore, QueryTimeout, ServerBusy
from graph.evaluation import QueryAnswer, QueryRequest, open_store
from graph.namespaces import DEFAULT_BASE_URI, UriMinter
from graph.query_runner import QueryRunner
from graph.remote import RemoteStore
from graph.remote_runner import RemoteRunner
from graph.store import GRAPH_FORMATS

ENDLESS = ("SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l . "
           "?m ?n0 ?o }")
ASK_PROJECT = QueryRequest("ASK { ?p a cl:Projet }")
REFERENCE = UriMinter(DEFAULT_BASE_URI).graph("reference")

REQUESTS = {
    "titles": QueryRequest("SELECT ?p ?t WHERE { ?p a cl:Projet ; rdfs:label ?t } ORDER BY ?t ?p"),
    "titles_csv": QueryRequest(
        "SELECT ?p ?t WHERE { ?p a cl:Projet ; rdfs:label ?t } ORDER BY ?t ?p",
        solution_format="csv"),
    "per_graph": QueryRequest(
        "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g ORDER BY ?g"),
    "named_dataset": QueryRequest(
        "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }", named_graphs=(REFERENCE,)),
    "default_dataset": QueryRequest(
        "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }", default_graphs=(REFERENCE,)),
    "path": QueryRequest(
        "SELECT ?c (COUNT(?x) AS ?n) WHERE { ?x a ?c . "
        "?c rdfs:subClassOf* cl:CollectiviteTerritoriale } GROUP BY ?c ORDER BY ?c"),
    "ask_false": QueryRequest("ASK { ?p cl:pays <http://x/nulle-part> }"),
    "countries": QueryRequest(
        "CONSTRUCT { ?c a cl:Pays ; rdfs:label ?l } WHERE { ?c a cl:Pays ; rdfs:label ?l }",
        graph_format="nt"),
    "countries_ttl": QueryRequest(
        "CONSTRUCT { ?c a cl:Pays } WHERE { ?c a cl:Pays }", graph_format="ttl"),
}


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("runner-var")
    publish_fixture_generation(root)
    return root


def make_runner(data_dir: Path, **options: object) -> QueryRunner:
    datadir = DataDir(data_dir)
    return QueryRunner(lambda: datadir.require_current().store_path, **options)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def both(data_dir: Path) -> Iterator[tuple[QueryRunner, QueryRunner]]:
    """One runner evaluating in memory, one on disk, over the same generation."""
    memory = make_runner(data_dir, in_memory=True, workers=1, max_rows=1000)
    disk = make_runner(data_dir, in_memory=False, workers=1, max_rows=1000)
    memory.start()
    disk.start()
    assert memory.wait_ready(120)  # the workers answering in memory are forks of the copy
    yield memory, disk
    memory.close()
    disk.close()


def _comparable(answer: QueryAnswer) -> object:
    # CONSTRUCT triples come in the order the store's indexes yield them: compare as sets
    if answer.kind == "graph":
        return answer.truncated, set(ox.parse(answer.data, format=GRAPH_FORMATS[answer.format]))
    return answer.truncated, answer.data


@pytest.mark.parametrize("name", sorted(REQUESTS))
def test_in_memory_and_on_disk_give_the_same_answers(
        both: tuple[QueryRunner, QueryRunner], name: str) -> None:
    memory, disk = both
    in_memory, on_disk = memory.run(REQUESTS[name]), disk.run(REQUESTS[name])
    assert _comparable(in_memory) == _comparable(on_disk)
    assert in_memory.data  # a real answer, not two identical failures


def test_the_row_cap_cuts_the_same_rows_in_memory(data_dir: Path) -> None:
    runners = [make_runner(data_dir, in_memory=flag, workers=1, max_rows=5)
               for flag in (True, False)]
    try:
        answers = [r.run(REQUESTS["titles_csv"]) for r in runners]
    finally:
        for runner in runners:
            runner.close()
    assert answers[0] == answers[1]
    assert answers[0].truncated and len(answers[0].data.splitlines()) == 6  # header + 5 rows


def test_a_new_generation_is_served_by_the_next_query_in_memory(tmp_path: Path) -> None:
    publish_fixture_generation(tmp_path)
    runner = make_runner(tmp_path, in_memory=True, workers=2)
    runner.start()
    ask = QueryRequest("ASK { <http://x/nouveau> ?p ?o }")
    try:
        assert runner.run(ask).data == runner.run(REQUESTS["ask_false"]).data  # false
        publish_fixture_generation(
            tmp_path, {"http://x/g": b'<http://x/nouveau> <http://x/p> "1" .'})
        for _ in range(3):  # every worker of the pool, not just the first one
            assert b"true" in runner.run(ask).data
    finally:
        runner.close()


def test_a_runaway_query_times_out_and_the_pool_keeps_serving(data_dir: Path) -> None:
    # one worker: the next query is necessarily answered by the replacement
    runner = make_runner(data_dir, in_memory=True, workers=1, timeout=1.0)
    runner.start()
    try:
        with pytest.raises(QueryTimeout, match="durée maximale"):
            runner.run(QueryRequest(ENDLESS))
        assert b"true" in runner.run(ASK_PROJECT).data
        with pytest.raises(QueryTimeout):
            runner.run(QueryRequest(ENDLESS))
        assert b"true" in runner.run(ASK_PROJECT).data
    finally:
        runner.close()


def test_workers_run_below_the_servers_priority(
        both: tuple[QueryRunner, QueryRunner]) -> None:
    # a long SPARQL query must leave the CPU to the searches the server answers meanwhile
    memory, disk = both
    assert memory.run(ASK_PROJECT).data and disk.run(ASK_PROJECT).data
    workers = [p for p in psutil.Process().children()
               if "graph._query_worker" in " ".join(p.cmdline())]
    assert len(workers) >= 2
    assert all(p.nice() >= os.nice(0) + NICENESS for p in workers)


def _template_and_forks(runner: QueryRunner) -> tuple[psutil.Process, list[psutil.Process]]:
    templates = [p for p in psutil.Process().children()
                 if "--template" in p.cmdline() and runner._template is not None
                 and p.pid == runner._template.proc.pid]
    assert len(templates) == 1
    return templates[0], templates[0].children()


def test_in_memory_workers_are_forks_of_one_copy(data_dir: Path) -> None:
    # one copy of the graph for the whole pool (at ten times the default dataset each copy
    # took 140 s and 2.3 GB): every worker is a fork of the template that made it
    runner = make_runner(data_dir, in_memory=True, workers=2, spares=1)
    runner.start()
    try:
        assert runner.wait_ready(120)
        template, forks = _template_and_forks(runner)
        assert {w.proc.pid for w in runner._idle} == {p.pid for p in forks}
        assert len(forks) == 3
        assert not [p for p in psutil.Process().children()  # nobody made a copy of its own
                    if "--in-memory" in p.cmdline()]
        assert all(p.nice() >= os.nice(0) + NICENESS for p in [template, *forks])
        assert b"true" in runner.run(ASK_PROJECT).data
    finally:
        runner.close()
    assert not template.is_running() or template.status() == psutil.STATUS_ZOMBIE


def test_a_worker_killed_for_its_time_is_followed_by_a_fork(data_dir: Path) -> None:
    runner = make_runner(data_dir, in_memory=True, workers=1, spares=0, timeout=1.0)
    runner.start()
    try:
        assert runner.wait_ready(120)
        _, before = _template_and_forks(runner)
        with pytest.raises(QueryTimeout):
            runner.run(QueryRequest(ENDLESS))
        assert b"true" in runner.run(ASK_PROJECT).data  # no load: the successor is a fork
        _, after = _template_and_forks(runner)
        assert len(after) == 1 and after[0].pid not in {p.pid for p in before}
    finally:
        runner.close()


def test_forks_of_a_replaced_generation_give_way_to_forks_of_the_new_one(
        tmp_path: Path) -> None:
    publish_fixture_generation(tmp_path)
    runner = make_runner(tmp_path, in_memory=True, workers=1, spares=0)
    runner.start()
    try:
        assert runner.wait_ready(120)
        first = runner._template
        assert first is not None
        ask = QueryRequest("ASK { <http://x/nouveau> ?p ?o }")
        assert b"false" in runner.run(ask).data
        publish_fixture_generation(
            tmp_path, {"http://x/g": b'<http://x/nouveau> <http://x/p> "1" .'})
        # the next query is answered on the new generation (from its disk store, or from a
        # fork of its template), and once its copy is made every worker is one of its forks
        assert b"true" in runner.run(ask).data
        assert runner.wait_ready(120)
        assert runner._template is not first and not runner._retired
        _, forks = _template_and_forks(runner)
        assert [w.proc.pid for w in runner._idle] == [p.pid for p in forks]
        assert b"true" in runner.run(ask).data
    finally:
        runner.close()


@pytest.mark.parametrize("one_worker", [{"in_memory": True}], indirect=True)
def test_a_fork_busy_at_close_keeps_its_parent_until_its_query_returns(
        one_worker: QueryRunner) -> None:
    # a server shutting down while a query runs: the fork finishes it under its template
    # (which reaps it), never as an orphan of PID 1; the template goes once the fork has gone
    template, forks = _template_and_forks(one_worker)
    answers: list[object] = []
    thread = threading.Thread(target=lambda: answers.append(one_worker.run(_nap(1.5))))
    thread.start()
    deadline = time.monotonic() + 10
    while not one_worker._busy and time.monotonic() < deadline:
        time.sleep(0.01)
    one_worker.close()
    assert template.is_running() and template.status() != psutil.STATUS_ZOMBIE
    assert forks[0].ppid() == template.pid
    thread.join(30)
    assert len(answers) == 1 and isinstance(answers[0], QueryAnswer)
    template.wait(10)  # stopped once its last fork was gone
    assert not forks[0].is_running() or forks[0].status() == psutil.STATUS_ZOMBIE
    assert not one_worker._retired


def test_the_runner_serves_again_after_close(data_dir: Path) -> None:
    runner = make_runner(data_dir, workers=1)
    runner.start()
    assert b"true" in runner.run(ASK_PROJECT).data
    runner.close()
    assert b"true" in runner.run(ASK_PROJECT).data  # a fresh worker, started on demand
    runner.close()


def test_starting_without_a_built_graph_is_no_error(tmp_path: Path) -> None:
    runner = make_runner(tmp_path, workers=1)
    runner.start()
    try:
        with pytest.raises(NoStore):
            runner.run(ASK_PROJECT)
        publish_fixture_generation(tmp_path)
        assert b"true" in runner.run(ASK_PROJECT).data
    finally:
        runner.close()


def test_the_in_memory_copy_holds_every_quad_and_named_graph(tmp_path: Path) -> None:
    datadir = DataDir(tmp_path)
    gen = datadir.new_generation()
    disk = ox.Store(str(gen.store_path))
    disk.add(ox.Quad(ox.NamedNode("http://x/s"), ox.NamedNode("http://x/p"), ox.Literal("o"),
                     ox.NamedNode("http://x/g")))
    disk.add(ox.Quad(ox.NamedNode("http://x/s"), ox.NamedNode("http://x/p"), ox.Literal("d")))
    disk.add_graph(ox.NamedNode("http://x/vide"))  # an empty named graph is still listed
    del disk
    memory = open_store(gen.store_path, in_memory=True)
    on_disk = open_store(gen.store_path, in_memory=False)
    assert set(memory.quads_for_pattern(None, None, None, None)) == set(
        on_disk.quads_for_pattern(None, None, None, None))
    assert set(memory.named_graphs()) == set(on_disk.named_graphs()) == {
        ox.NamedNode("http://x/g"), ox.NamedNode("http://x/vide")}


def _nap(seconds: float) -> QueryRequest:
    return QueryRequest(f'SELECT ?x WHERE {{ BIND(<{SLEEP}>("{seconds}") AS ?x) }}')


@pytest.fixture
def one_worker(data_dir: Path, monkeypatch: pytest.MonkeyPatch,
               request: pytest.FixtureRequest) -> Iterator[QueryRunner]:
    """One query at a time, no spare, workers able to sleep on demand; options by
    ``@pytest.mark.parametrize("one_worker", [{...}], indirect=True)``."""
    monkeypatch.setenv("PYTHONPATH", str(Path(__file__).parent))  # workers import the factory
    options = {"workers": 1, "spares": 0, "network": False,
               "functions": "slow_functions:sleeping", **getattr(request, "param", {})}
    runner = make_runner(data_dir, **options)
    runner.start()
    assert runner.wait_ready(60)
    yield runner
    runner.close()


def _in_threads(runner: QueryRunner, requests: list[QueryRequest]) -> list[object]:
    """Send ``requests`` at once (in this order into the queue); each one's answer or error."""
    outcomes: list[object] = [None] * len(requests)

    def send(i: int) -> None:
        try:
            outcomes[i] = runner.run(requests[i])
        except CooplinkError as exc:
            outcomes[i] = exc

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(requests))]
    for i, thread in enumerate(threads):
        thread.start()
        # it holds the worker, waits for it or was answered before the next one is sent
        while runner._busy + runner._admission.waiting < i + 1 and thread.is_alive():
            thread.join(0.01)
    for thread in threads:
        thread.join(60)
    return outcomes


@pytest.mark.parametrize("one_worker", [{"timeout": 2.0, "wait": 10.0}], indirect=True)
def test_time_spent_queued_does_not_count_against_the_limit(one_worker: QueryRunner) -> None:
    """Three 1.2-second queries on one worker under a 2-second limit: the third waits 2.4 s
    for the worker, more than the limit, and is still answered — only evaluation counts
    (the wait has its own budget)."""
    outcomes = _in_threads(one_worker, [_nap(1.2)] * 3)
    assert [isinstance(o, QueryAnswer) and "réveillé".encode() in o.data for o in outcomes] == [
        True] * 3, outcomes


@pytest.mark.parametrize("one_worker", [{"timeout": 10.0, "queue": 0}], indirect=True)
def test_a_full_queue_answers_busy_at_once_with_retry_after(one_worker: QueryRunner) -> None:
    held, refused = _in_threads(one_worker, [_nap(1.5), ASK_PROJECT])
    assert isinstance(held, QueryAnswer)
    assert isinstance(refused, ServerBusy)
    assert "serveur occupé" in refused.message and refused.status == 503
    assert refused.headers() == {"Retry-After": str(refused.retry_after)}
    assert refused.retry_after > 0


@pytest.mark.parametrize("one_worker", [{"timeout": 10.0, "wait": 0.5}], indirect=True)
def test_a_query_that_waited_its_whole_budget_is_told_to_come_back(
        one_worker: QueryRunner) -> None:
    held, waited = _in_threads(one_worker, [_nap(2.0), ASK_PROJECT])
    assert isinstance(held, QueryAnswer)
    assert isinstance(waited, ServerBusy) and "serveur occupé" in waited.message
    assert b"true" in one_worker.run(ASK_PROJECT).data  # the worker is free again


def test_the_remote_runner_answers_busy_at_once_when_its_queue_is_full() -> None:
    """The same waiting rule on the Virtuoso backend (the store is never reached here)."""
    runner = RemoteRunner(RemoteStore("http://127.0.0.1:9/sparql"), workers=1, queue=0)
    runner._busy = 1  # as if its one slot were evaluating
    with pytest.raises(ServerBusy, match="serveur occupé") as busy:
        runner.run(ASK_PROJECT)
    assert busy.value.headers()["Retry-After"] == str(busy.value.retry_after)
