"""The W3C SPARQL 1.1 Protocol tests that apply to a read-only endpoint, run from the manifest.

Each ``mf:ProtocolTest`` of ``tests/data/w3c-protocol/manifest.ttl`` is a list of HTTP requests
with the status class, result form and boolean expected; the graphs it names
(``ut:graphData``) are loaded as named graphs labelled by their ``rdfs:label``.  Requests go
to ``/sparql`` in-process (``/sparql/`` in the manifest is a placeholder prefix).

Not applicable (listed in docs/sparql.md): the seven ``update_*`` tests, which expect a SPARQL
Update to *succeed*; this endpoint is read-only by design and refuses them with 403, which the
``bad_update_*`` tests (which only expect a 4xx) do check.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import rdflib
from fastapi.testclient import TestClient
from rdflib.namespace import RDF, RDFS

from graph.datadir import DataDir
from graph.store import OxigraphStore
from search_api.app import create_app
from search_api.knowledge_base import KnowledgeBase
from search_api.settings import Settings

HERE = Path(__file__).parent / "data" / "w3c-protocol"
MF = rdflib.Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-manifest#")
HT = rdflib.Namespace("http://www.w3.org/2011/http#")
CNT = rdflib.Namespace("http://www.w3.org/2011/content#")
UT = rdflib.Namespace("http://www.w3.org/2009/sparql/tests/test-update#")
HTS = "http://www.w3.org/2011/http-statusCodes#StatusCode"
NOT_APPLICABLE = ("une mise à jour SPARQL réussie est attendue ; "
                  "ce point d'accès est en lecture seule")
TABULAR = ("application/sparql-results+json", "application/sparql-results+xml", "text/csv",
           "text/tab-separated-values")
RDF_MEDIA = ("application/rdf+xml", "text/turtle", "application/n-triples")


@dataclass
class HttpRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes | None
    status_classes: list[str]  # "2xx", "4xx"…
    result_form: str | None  # boolean | tabular | RDF
    boolean: bool | None


@dataclass
class ProtocolCase:
    name: str
    title: str
    requests: list[HttpRequest]
    graphs: dict[str, str]  # graph name -> data file


def _manifest() -> rdflib.Graph:
    return rdflib.Graph().parse(HERE / "manifest.ttl", format="turtle")


def _cases() -> list[ProtocolCase]:
    g = _manifest()
    manifest = next(g.subjects(RDF.type, MF.Manifest))
    entries = rdflib.collection.Collection(g, g.value(manifest, MF.entries))
    cases = []
    for test in entries:
        action = g.value(test, MF.action)
        requests = []
        for req in rdflib.collection.Collection(g, g.value(action, HT.requests)):
            headers = {}
            header_list = g.value(req, HT.headers)
            if header_list is not None:
                for h in rdflib.collection.Collection(g, header_list):
                    headers[str(g.value(h, HT.fieldName))] = str(g.value(h, HT.fieldValue))
            body_node = g.value(req, HT.body)
            body = None
            if body_node is not None:
                encoding = str(g.value(body_node, CNT.characterEncoding) or "UTF-8")
                body = str(g.value(body_node, CNT.chars)).encode(encoding.lower())
            resp = g.value(req, HT.resp)
            boolean = g.value(resp, MF.expectedBoolean)
            form = g.value(resp, MF.expectedFormat)
            requests.append(HttpRequest(
                method=str(g.value(req, HT.methodName)),
                path="/sparql" + str(g.value(req, HT.absolutePath)).removeprefix("/sparql/"),
                headers=headers,
                body=body,
                status_classes=sorted(str(s).removeprefix(HTS)
                                      for s in g.objects(resp, MF.expectedStatus)),
                result_form=str(form) if form is not None else None,
                boolean=boolean.toPython() if boolean is not None else None,
            ))
        graphs = {str(g.value(d, RDFS.label)): str(g.value(d, UT.graph)).rsplit("/", 1)[-1]
                  for d in g.objects(test, UT.graphData)}
        cases.append(ProtocolCase(str(test).rsplit("#", 1)[-1], str(g.value(test, MF.name)),
                                  requests, graphs))
    return cases


CASES = _cases()


@pytest.fixture(scope="module")
def w3c_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """An endpoint over every graph the manifest names (data1-3, one named graph each)."""
    datadir = DataDir(tmp_path_factory.mktemp("w3c-var"))
    gen = datadir.new_generation()
    store = OxigraphStore(gen.store_path)
    for case in CASES:
        for name, file in case.graphs.items():
            store.load((HERE / file).read_bytes(), "nt", name)
    store.flush()
    gen.write_manifest({"generation": gen.id})
    del store
    datadir.publish(gen)
    app = create_app(KnowledgeBase(Settings(data_dir=datadir.root, search_encoder="hashing")))
    with TestClient(app) as client:
        yield client
    app.state.query_runner.close()


def test_the_manifest_has_the_34_protocol_tests() -> None:
    assert len(CASES) == 34
    applicable = [c for c in CASES if not c.name.startswith("update_")]
    assert len(applicable) == 27


def _check_result(case: ProtocolCase, req: HttpRequest, media: str, body: bytes) -> None:
    if req.result_form == "boolean":
        if "json" in media:
            value = json.loads(body)["boolean"]
        else:
            assert media == "application/sparql-results+xml", (case.name, media)
            value = b"<boolean>true</boolean>" in body
        if req.boolean is not None:
            assert value is req.boolean, case.name
    elif req.result_form == "tabular":
        assert media in TABULAR, (case.name, media)
    elif req.result_form == "RDF":
        assert media in RDF_MEDIA, (case.name, media)
        rdflib.Graph().parse(data=body, format={"text/turtle": "turtle",
                                                "application/rdf+xml": "xml",
                                                "application/n-triples": "nt"}[media])


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_protocol_case(case: ProtocolCase, w3c_client: TestClient) -> None:
    if case.name.startswith("update_"):
        pytest.skip(NOT_APPLICABLE)
    for req in case.requests:
        response = w3c_client.request(req.method, req.path, headers=req.headers,
                                      content=req.body)
        status_class = f"{response.status_code // 100}xx"
        assert status_class in req.status_classes, (case.name, response.status_code,
                                                    response.text[:300])
        media = response.headers.get("content-type", "").split(";")[0]
        if response.is_success:
            _check_result(case, req, media, response.content)
