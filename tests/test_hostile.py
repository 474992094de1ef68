"""Issue 8: the public endpoint as an attacker sees it — over 200 hostile requests against a
live uvicorn server, one point of the issue after another.

Every request is sent while a loopback TCP listener waits for the server to call it (it must
receive nothing: no ``SERVICE`` spelling, ``LOAD`` or ``BASE`` trick reaches the network), and
``/healthz`` must answer within 1 s both while the request is in flight and after it (nothing
blocks the event loop: no regex bomb, no body read or parsed on it).  At the end the graph is
what it was: same triple count, same dump hash.  Point 6 (ingest faults) is tested in
``tests/test_ingest_faults.py``.
"""
from __future__ import annotations

import contextlib
import dataclasses
import gzip
import hashlib
import json
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlsplit

import httpx
import pytest
from fixtures_sparql import PROJECTS, publish_fixture_generation, serve_in_child

PORT_PLACEHOLDER = "{port}"
TIMEOUT = 3.0  # the hostile server's query time limit
MAX_ANSWER = 2_000_000
LIVENESS = 1.0  # /healthz must answer within this, during and after each request
INNOCENT = "ASK { ?p a cl:Projet }"
#: 48 values of the default dataset on which Oxigraph 0.5.13's ORDER BY may panic ("does not
#: correctly implement a total order"), depending on the store's internal order: the ORDER BY
#: attack below then really kills a worker, some runs
ORDER_PANIC = (Path(__file__).parent / "data" / "hostile" / "order-panic.nt").read_bytes()


class Listener:
    """Loopback listeners (IPv4 and, when available, IPv6 on the same port) counting every
    connection the server would make."""

    def __init__(self) -> None:
        self.socks = [socket.create_server(("127.0.0.1", 0))]
        self.port: int = self.socks[0].getsockname()[1]
        with contextlib.suppress(OSError):
            self.socks.append(socket.create_server(("::1", self.port),
                                                   family=socket.AF_INET6))
        self.connections = 0
        for sock in self.socks:
            threading.Thread(target=self._accept, args=(sock,), daemon=True).start()

    def _accept(self, sock: socket.socket) -> None:
        while True:
            try:
                conn, _ = sock.accept()
            except OSError:
                return
            self.connections += 1
            conn.close()

    def close(self) -> None:
        for sock in self.socks:
            sock.close()


@dataclass
class Live:
    url: str
    listener: Listener
    #: one client each for the liveness probes and the requests (a new httpx client costs
    #: a quarter of a second: its TLS context)
    probe: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=LIVENESS))
    client: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=TIMEOUT + 30))
    baseline: dict[str, object] = field(default_factory=dict)
    sent: int = 0


def _dump_hash(url: str) -> str:
    data = httpx.get(url + "/dumps/cooplink.nt.gz", timeout=60).content
    lines = sorted(gzip.decompress(data).splitlines())
    return hashlib.sha256(b"\n".join(lines)).hexdigest()


def _count(url: str) -> str:
    response = httpx.get(url + "/sparql", timeout=30,
                         params={"query": "SELECT (COUNT(*) AS ?n) { ?s ?p ?o }"})
    return str(response.json()["results"]["bindings"][0]["n"]["value"])


def _state(url: str) -> dict[str, object]:
    health = httpx.get(url + "/healthz", timeout=10).json()
    return {"triples": health["triples"], "generation": health["generation"],
            "count": _count(url), "dump": _dump_hash(url)}


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """The server runs in a child process: a liveness probe from this process then measures
    the server, not this interpreter's GIL."""
    listener = Listener()
    data_dir = tmp_path_factory.mktemp("hostile")
    publish_fixture_generation(data_dir, {"http://127.0.0.1:8000/graph/tri": ORDER_PANIC})
    # two spares: killers come every few seconds here, faster than a loaded machine reloads
    with serve_in_child(data_dir, sparql_timeout=TIMEOUT, sparql_workers=2,
                        sparql_spare_workers=2, sparql_max_answer_bytes=MAX_ANSWER,
                        sparql_worker_max_memory_mb=400, search_encoder="hashing") as (url, ready):
        assert ready == "READY True True"  # workers loaded, and without network
        served = Live(url, listener)
        served.baseline = _state(url)
        yield served
    listener.close()


# ------------------------------------------------------------------ the attacks
@dataclass(frozen=True)
class Attack:
    """One hostile request and what it must get."""

    name: str
    method: str = "GET"
    path: str = "/sparql"
    params: dict[str, str] | None = None
    form: dict[str, str] | None = None
    content: bytes | None = None
    headers: dict[str, str] | None = None
    expect: tuple[int, ...] = (403,)
    words: str = ""  # in the error message
    raw: bytes | None = None  # sent as is on a socket (oversized heads and bodies)
    check: Callable[[httpx.Response], None] | None = None
    then_innocent: bool = False  # an innocent query right after must be answered


def _q(name: str, query: str, expect: tuple[int, ...] = (403,), words: str = "",
       via: str = "GET", **extra: object) -> Attack:
    """A SPARQL attack sent by GET, POST form or POST ``application/sparql-query``."""
    if via == "GET":
        return Attack(f"{name} [GET]", params={"query": query}, expect=expect, words=words,
                      **extra)  # type: ignore[arg-type]
    if via == "FORM":
        return Attack(f"{name} [form]", "POST", form={"query": query}, expect=expect,
                      words=words, **extra)  # type: ignore[arg-type]
    headers = {"content-type": "application/sparql-query", **extra.pop("headers", {})}  # type: ignore[dict-item]
    return Attack(f"{name} [body]", "POST", content=query.encode(), expect=expect, words=words,
                  headers=headers, **extra)  # type: ignore[arg-type]


T = "http://127.0.0.1:{port}/sparql"
TE = "http://127.0.0.1:{port}\\u002Fsparql"
#: point 1 — every way to write SERVICE (Oxigraph 0.5.13 runs each of the first sixteen when
#: nothing guards it: tests/test_hostile_units.py proves it against a listener)
SERVICE_SPELLINGS = {
    "dot glued": f"SELECT * WHERE {{ ?s ?p ?o .SERVICE <{T}> {{ ?a ?b ?c }} }}",
    "no spaces": f"SELECT*WHERE{{?s ?p ?o.SERVICE<{T}>{{?a ?b ?c}}}}",
    "lower case": f"select * where {{ ?s ?p ?o . service <{T}> {{ ?a ?b ?c }} }}",
    "mixed case + tab": f"SELECT * WHERE {{ ?s ?p ?o . SeRvIcE\t\n<{T}> {{ ?a ?b ?c }} }}",
    "comment inside": f"SELECT * WHERE {{ ?s ?p ?o . SERVICE#x\n<{T}> {{ ?a ?b ?c }} }}",
    "silent glued": f"SELECT * WHERE {{ ?s ?p ?o . SERVICESILENT <{T}> {{ ?a ?b ?c }} }}",
    "silent": f"SELECT * WHERE {{ SERVICE SILENT <{T}> {{ ?a ?b ?c }} }}",
    "after \\# name": "PREFIX e: <http://x/> SELECT * WHERE { ?s e:a\\#b ?o SERVICE "
                      f"<{T}> {{ ?a ?b ?c }} }}",
    "prefixed target": f"PREFIX lo: <{T}> SELECT * WHERE {{ SERVICE lo: {{ ?a ?b ?c }} }}",
    "prefixed local": "PREFIX lo: <http://127.0.0.1:{port}/> SELECT * WHERE { SERVICE "
                      "lo:sparql { ?a ?b ?c } }",
    "BASE relative": f"BASE <{T}> SELECT * WHERE {{ SERVICE <> {{ ?a ?b ?c }} }}",
    "BASE relative path": "BASE <http://127.0.0.1:{port}/a/> SELECT * WHERE { SERVICE "
                          "<../sparql> { ?a ?b ?c } }",
    "escaped IRI": f"SELECT * WHERE {{ SERVICE <{TE}> {{ ?a ?b ?c }} }}",
    "glued to a literal": f"SELECT * WHERE {{ ?s ?p \"1\"SERVICE <{T}> {{ ?a ?b ?c }} }}",
    "glued to a number": f"SELECT * WHERE {{ ?s ?p 1SERVICE <{T}> {{ ?a ?b ?c }} }}",
    "glued to a boolean": f"SELECT * WHERE {{ ?s ?p trueSERVICE <{T}> {{ ?a ?b ?c }} }}",
    "variable": f"SELECT * WHERE {{ BIND(<{T}> AS ?e) SERVICE ?e {{ ?a ?b ?c }} }}",
    "VALUES variable": f"SELECT * WHERE {{ VALUES ?e {{ <{T}> }} SERVICE ?e {{ ?a ?b ?c }} }}",
}
#: SERVICE nested in every kind of group
SERVICE_CONTEXTS = {
    "OPTIONAL": "SELECT * WHERE { ?s ?p ?o OPTIONAL { @S@ } }",
    "FILTER EXISTS": "SELECT * WHERE { ?s ?p ?o FILTER EXISTS { @S@ } }",
    "FILTER NOT EXISTS": "SELECT * WHERE { ?s ?p ?o FILTER NOT EXISTS { @S@ } }",
    "MINUS": "SELECT * WHERE { ?s ?p ?o MINUS { @S@ } }",
    "sub-query": "SELECT * WHERE { { SELECT * WHERE { @S@ } LIMIT 1 } }",
    "UNION": "SELECT * WHERE { { ?s ?p ?o } UNION { @S@ } }",
    "GRAPH ?g": "SELECT * WHERE { GRAPH ?g { @S@ } }",
    "GRAPH iri": "SELECT * WHERE { GRAPH <http://127.0.0.1:8000/graph/reference> { @S@ } }",
    "nested groups": "SELECT * WHERE { { { { { @S@ } } } } }",
    "BIND EXISTS": "SELECT * WHERE { ?s ?p ?o BIND(EXISTS { @S@ } AS ?x) }",
    "projection EXISTS": "SELECT (EXISTS { @S@ } AS ?x) WHERE { }",
    "ORDER BY EXISTS": "SELECT * WHERE { ?s ?p ?o } ORDER BY (EXISTS { @S@ })",
    "HAVING EXISTS": "SELECT ?s WHERE { ?s ?p ?o } GROUP BY ?s HAVING (EXISTS { @S@ })",
    "CONSTRUCT": "CONSTRUCT { ?a ?b ?c } WHERE { @S@ }",
    "ASK": "ASK { @S@ }",
    "DESCRIBE": "DESCRIBE ?a WHERE { @S@ }",
    "FILTER IN EXISTS": "SELECT * WHERE { ?s ?p ?o FILTER(?s IN (?o) || EXISTS { @S@ }) }",
}
SERVICE_TARGETS = {
    "localhost": "http://localhost:{port}/x",
    "IPv6 loopback": "http://[::1]:{port}/x",
    "query and fragment": "http://127.0.0.1:{port}/x?q=1#f",
    "upper-case scheme": "HTTP://127.0.0.1:{port}/x",
    "https": "https://127.0.0.1:{port}/x",
    "user info": "http://u:p@127.0.0.1:{port}/x",
}
#: keyword spellings Oxigraph refuses as syntax (escapes are not keywords): 400, never a call
SERVICE_SYNTAX = {
    "escaped keyword": f"SELECT * WHERE {{ \\u0053ERVICE <{T}> {{ ?a ?b ?c }} }}",
    "escaped letter": f"SELECT * WHERE {{ SERVIC\\u0045 <{T}> {{ ?a ?b ?c }} }}",
    "no-break space": f"SELECT * WHERE {{ SERVICE\u00a0<{T}> {{ ?a ?b ?c }} }}",
    "fullwidth": f"SELECT * WHERE {{ ＳＥＲＶＩＣＥ <{T}> {{ ?a ?b ?c }} }}",
}
UPDATES = [
    Attack("update= by GET", params={"update": "CLEAR ALL"}, words="lecture seule"),
    Attack("update= by form", "POST", form={"update": "DROP ALL"}, words="lecture seule"),
    Attack("sparql-update body", "POST", content=b"CLEAR DEFAULT",
           headers={"content-type": "application/sparql-update"}, words="lecture seule"),
    Attack("using-graph-uri", params={"query": "ASK {}", "using-graph-uri": "http://x/"},
           words="lecture seule"),
    _q("INSERT DATA", "INSERT DATA { <http://x/a> <http://x/b> 1 }", words="lecture seule"),
    _q("DELETE WHERE", "DELETE WHERE { ?s ?p ?o }", via="FORM", words="lecture seule"),
    _q("LOAD the listener", "LOAD <http://127.0.0.1:{port}/data.ttl>", words="lecture seule"),
    _q("CLEAR after a prologue", "PREFIX x: <http://x/>\n# c\nCLEAR ALL", via="BODY",
       words="lecture seule"),
    _q("INSERT WHERE SERVICE", f"INSERT {{ ?a ?b ?c }} WHERE {{ SERVICE <{T}> {{ ?a ?b ?c }} }}",
       words="lecture seule"),
    _q("WITH DELETE", "WITH <http://x/g> DELETE { ?s ?p ?o } WHERE { ?s ?p ?o }",
       words="lecture seule"),
]


def _point1() -> list[Attack]:
    attacks = []
    for name, query in SERVICE_SPELLINGS.items():
        for via in ("GET", "FORM", "BODY"):
            attacks.append(_q(f"SERVICE {name}", query, words="SERVICE", via=via))
    for name, context in SERVICE_CONTEXTS.items():
        for spelling in ("SERVICE <%s> { ?a ?b ?c }", "?a ?b ?c .SERVICE <%s> { ?a ?b ?c }"):
            query = context.replace("@S@", spelling % T)
            attacks.append(_q(f"SERVICE in {name} ({spelling[:8]})", query, words="SERVICE"))
    for name, target in SERVICE_TARGETS.items():
        query = f"SELECT * WHERE {{ ?s ?p ?o . SERVICE <{target}> {{ ?a ?b ?c }} }}"
        attacks.append(_q(f"SERVICE to {name}", query, words="SERVICE"))
    for name, query in SERVICE_SYNTAX.items():
        attacks.append(_q(f"SERVICE {name}", query, expect=(400, 403)))
    return attacks + UPDATES


def _point2() -> list[Attack]:
    """The regex bomb and its cousins: inputs that made a backtracking scanner explode."""
    attacks = []
    for count in (20, 40, 200, 1500):
        bomb = "SELECT * WHERE { ?s ?p <http://e/" + "\\u0041" * count + " }"
        attacks.append(_q(f"unterminated IRI, {count} escapes", bomb, (400,), via="FORM"))
    for piece in ("\\U0001F600", "\\u00e9a", "a\\u0041"):
        bomb = "SELECT * WHERE { ?s ?p <http://e/" + piece * 800 + " }"
        attacks.append(_q(f"unterminated IRI of {piece[:6]}", bomb, (400,), via="BODY"))
    others = {
        "long strings never closed": "SELECT * { ?s ?p ?o } #\n" + "''' " * 5000,
        "quotes and escapes": 'SELECT * { BIND("' + '\\"' * 8000 + ' AS ?x) }',
        "less-than signs": "SELECT * { FILTER(1 " + "<" * 20_000 + " 2) }",
        "IRIs never closed": "SELECT * { " + "<a" * 10_000 + " }",
        "escapes in a string": 'SELECT * { BIND("' + "\\u0041" * 5000 + '" AS ?x) }',
        "similarity calls": "SELECT * { " + 'BIND(cl:similarity(?p, "x") AS ?s) ' * 1500 + "}",
        "similarity never closed": "SELECT * { BIND(cl:similarity(" * 1500,
        "names with escapes": "SELECT * { ?s " + "e:a\\#" * 8000 + " ?o }",
        "comments": "SELECT * {" + " # SERVICE <http://x/>\n" * 2000 + "}",
    }
    for name, query in others.items():
        attacks.append(_q(name, query, (200, 400, 403, 503), via="BODY"))
    return attacks


ENDLESS = ("SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l . "
           "?m ?n0 ?o }")


def _doubling(steps: int) -> str:
    return "SELECT ?v WHERE { BIND(\"xx\" AS ?v0) " + "".join(
        f"BIND(CONCAT(?v{i}, ?v{i}) AS ?v{i + 1}) " for i in range(steps)) + f"BIND(?v{steps} " \
        "AS ?v) }"


def _under_cap(response: httpx.Response) -> None:
    assert len(response.content) <= MAX_ANSWER
    if response.status_code == 200:
        assert response.headers.get("x-sparql-maxbytes") == str(MAX_ANSWER)


def _point3() -> list[Attack]:
    """Worker killers: each must leave the pool serving the next innocent query."""
    killers = [
        _q("3,000 nested braces", "SELECT * WHERE " + "{" * 3000 + "}" * 3000, (400,),
           "imbriquée", via="BODY"),
        _q("3,000 nested parentheses", "ASK { FILTER(" + "(" * 3000 + "1" + ")" * 3000 + ") }",
           (400,), "imbriquée", via="FORM"),
        _q("65 nested brackets", "ASK { ?s ?p " + "[ ?p " * 65 + "1" + " ]" * 65 + " }", (400,),
           "imbriquée", via="BODY"),
        _q("64 nested braces", "ASK " + "{" * 64 + "}" * 64, (200,), via="BODY"),
        _q("20,000 negations", "ASK { FILTER(" + "!" * 20_000 + "true) }", (200, 400, 503),
           via="BODY"),
        _q("20,000 additions", "ASK { FILTER(" + "+".join(["1"] * 20_000) + ") }",
           (200, 400, 503), via="BODY"),
        _q("3,000 unions", "SELECT * WHERE { " + " UNION ".join(["{?s ?p ?o}"] * 3000) + " }",
           (200, 400, 503), via="BODY"),
        _q("1,000 joins", "SELECT * WHERE { " + " ".join(
            f"?s ?p ?o{i} ." for i in range(1000)) + " } LIMIT 1", (200, 400, 503), via="BODY"),
        _q("1,000 optionals", "SELECT * WHERE { ?s ?p ?o " + " ".join(
            f"OPTIONAL {{ ?s ?p ?x{i} }}" for i in range(1000)) + " } LIMIT 1", (200, 400, 503),
           via="BODY"),
        _q("deep EXISTS", "ASK { " + "FILTER EXISTS { " * 60 + "?s ?p ?o" + " }" * 60 + " }",
           (200,), via="BODY"),
        _q("ORDER BY over everything", "SELECT ?o WHERE { ?s ?p ?o } ORDER BY ?o",
           (200, 400, 503)),
        _q("cartesian product", ENDLESS, (503,), "durée maximale"),
        _q("sorted cartesian product",
           "SELECT * { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i } ORDER BY ?a ?d ?g ?c", (503,)),
        _q("cartesian with a huge LIMIT", "SELECT * { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i } "
           "LIMIT 100000000", (200, 503), via="FORM", check=_under_cap),
        _q("CONCAT doubling (the 268 MB answer)", _doubling(27), (200, 503), check=_under_cap),
        _q("CONCAT doubling in CSV", _doubling(24), (200, 503), via="BODY", check=_under_cap,
           headers={"accept": "text/csv"}),
        _q("CONCAT doubling in a CONSTRUCT", _doubling(22).replace(
            "SELECT ?v WHERE", "CONSTRUCT { <http://x/s> <http://x/p> ?v } WHERE"), (200, 503),
           check=_under_cap),
        _q("REPLACE explosion", 'SELECT (REPLACE(REPLACE(REPLACE(STR(?s), "", "xxxxxxxxxxx"), '
           '"", "xxxxxxxxxxx"), "", "xxxxxxxxxx") AS ?x) { ?s ?p ?o }', (200, 400, 503),
           check=_under_cap),
        _q("every triple in N-Triples", "CONSTRUCT WHERE { ?s ?p ?o }", (200,),
           headers={"accept": "application/n-triples"}),
        _q("catastrophic regex in FILTER", 'ASK { ?s ?p ?o FILTER(REGEX(STR(?o), '
           '"^(a+)+$")) }', (200, 400, 503)),
        _q("property path closure", "SELECT (COUNT(*) AS ?n) { ?a (<>|!<>)* ?b }",
           (200, 400, 503)),
    ]
    return [dataclasses.replace(k, then_innocent=True) for k in killers]


def _raw(head: str, body: bytes = b"") -> bytes:
    return head.replace("\n", "\r\n").encode() + b"\r\n" + body


def _point4() -> list[Attack]:
    """Request line, body and form sizes."""
    long_query = "ASK {} #" + "x" * 70_000
    return [
        Attack("URL of 9 KB", params={"query": "ASK {} #" + "x" * 9_000}, expect=(414,),
               words="URL trop longue"),
        Attack("URL of 30 KB", params={"query": "ASK {} #" + "x" * 30_000}, expect=(414,)),
        Attack("URL of 100 KB", raw=_raw(f"GET /sparql?query={'x' * 100_000} HTTP/1.1\n"
                                         "Host: x\n"), expect=(414,)),
        Attack("URL of 300 KB (uvicorn's own bound)", raw=_raw(
            f"GET /sparql?query={'x' * 300_000} HTTP/1.1\nHost: x\n"), expect=(400, 414)),
        Attack("linked-data URL of 50 KB", path="/id/" + "a" * 50_000, expect=(414,)),
        Attack("query of 70 KB in a form", "POST", form={"query": long_query}, expect=(413,),
               words="requête trop longue"),
        Attack("query of 70 KB in a body", "POST", content=long_query.encode(), expect=(413,),
               headers={"content-type": "application/sparql-query"}),
        Attack("body of 2 MB", "POST", content=b"query=" + b"x" * 2_000_000, expect=(413,),
               headers={"content-type": "application/x-www-form-urlencoded"}, words="corps"),
        Attack("10 MB POST sent in full", raw=_raw(
            "POST /sparql HTTP/1.1\nHost: x\nContent-Type: application/x-www-form-urlencoded\n"
            "Content-Length: 10000000\n", b"query=" + b"a" * 9_999_994), expect=(413,)),
        Attack("100 MB POST announced", raw=_raw(
            "POST /sparql HTTP/1.1\nHost: x\nContent-Type: application/sparql-query\n"
            "Content-Length: 100000000\n", b"ASK {"), expect=(413,)),
        Attack("5 MB chunked POST", raw=_raw(
            "POST /sparql HTTP/1.1\nHost: x\nContent-Type: application/sparql-query\n"
            "Transfer-Encoding: chunked\n",
            b"".join(b"10000\r\n" + b"#" * 0x10000 + b"\r\n" for _ in range(80)) + b"0\r\n\r\n"),
            expect=(413,)),
        Attack("invalid Content-Length", raw=_raw(
            "POST /sparql HTTP/1.1\nHost: x\nContent-Length: -5\n"), expect=(400,)),
        Attack("100,000 form fields", "POST", content=b"&".join([b"a=1"] * 100_000),
               headers={"content-type": "application/x-www-form-urlencoded"}, expect=(400,),
               words="query"),
        Attack("two queries", params={"query": "ASK {}"}, form=None, expect=(400,),
               path="/sparql?query=ASK%20%7B%7D"),
        Attack("huge Accept header", params={"query": INNOCENT},
               headers={"accept": "application/json;q=0.5," * 3000}, expect=(200,)),
    ]


BAD_PATHS = ["/theme/%20", "/theme/%7B", "/theme/%22", "/theme/%3C", "/theme/%5C", "/theme/%5E",
             "/theme/%60", "/theme/%7C", "/theme/a%0Ab", "/id/a%20b", "/id/%00", "/id/%3E",
             "/id/x%3E%20%3Fp%20%3Fo%20%7D%20SERVICE", "/secteur-cad/%7B", "/secteur-cad/%20",
             "/graph/%22", "/provenance/%3C%3E", "/source/%7D", "/id/inconnu", "/nulle-part"]


def _point5() -> list[Attack]:
    attacks = [Attack(f"path {p}", path=p, expect=(404,)) for p in BAD_PATHS]
    attacks += [Attack(f"path {p} as HTML", path=p, expect=(404,),
                       headers={"accept": "text/html"}) for p in BAD_PATHS[:4]]
    for name, value in {"not an IRI": "pas une iri", "empty": "", "space": "http://x/ y",
                        "brackets": "<http://x/>", "relative": "graph/reference"}.items():
        attacks.append(Attack(f"default-graph-uri {name}",
                              params={"query": INNOCENT, "default-graph-uri": value},
                              expect=(400,), words="default-graph-uri"))
    attacks += [
        Attack("named-graph-uri not an IRI", params={"query": INNOCENT, "named-graph-uri": "{x}"},
               expect=(400,), words="named-graph-uri"),
        Attack("unknown format", path="/theme/sante?format=nope", expect=(400,)),
        Attack("ontology in an unknown format", path="/ontology?format=xyz", expect=(400,)),
        Attack("void in an unknown format", path="/.well-known/void?format=xyz", expect=(400,)),
        Attack("PUT /sparql", "PUT", params={"query": INNOCENT}, expect=(405,)),
        Attack("DELETE /theme", "DELETE", path="/theme", expect=(405,)),
        Attack("unknown dump", path="/dumps/cooplink.xml.gz", expect=(404,)),
        Attack("form without query", "POST", form={"format": "json"}, expect=(400,)),
        Attack("text/plain body", "POST", content=b"ASK {}",
               headers={"content-type": "text/plain"}, expect=(415,)),
        Attack("UTF-16 body", "POST", content="ASK {}".encode("utf-16"),
               headers={"content-type": "application/sparql-query; charset=UTF-16"},
               expect=(415,)),
        Attack("bytes that are not UTF-8", path="/sparql?query=ASK%20%7B%FF%7D", expect=(400,)),
    ]
    return attacks


def _forged_host(response: httpx.Response) -> None:
    assert "evil.example" not in response.text
    # the server's own address (public_url unset: http://host:port), whatever port it runs on
    assert re.search(r"http://127\.0\.0\.1:\d+/(sparql|rel)\b", response.text), response.text[:300]


def _point7() -> list[Attack]:
    return [
        Attack("service description, forged Host", headers={"host": "evil.example",
                                                            "accept": "text/turtle"},
               expect=(200,), check=_forged_host),
        Attack("service description, forged X-Forwarded-Host",
               headers={"x-forwarded-host": "evil.example", "accept": "application/n-triples"},
               expect=(200,), check=_forged_host),
        Attack("relative IRI, forged Host", params={"query": "SELECT ?x { BIND(<rel> AS ?x) }"},
               headers={"host": "evil.example"}, expect=(200,), check=_forged_host),
        Attack("void, forged Host", path="/.well-known/void", headers={"host": "evil.example"},
               expect=(200,), check=_forged_host),
    ]


ATTACKS = [*_point1(), *_point2(), *_point3(), *_point4(), *_point5(), *_point7()]


# ------------------------------------------------------------------ the harness
def _healthz(live: Live) -> float:
    """Seconds /healthz took; fails past LIVENESS (the event loop is not free)."""
    started = time.monotonic()
    response = live.probe.get(live.url + "/healthz")
    assert response.status_code == 200 and response.json()["status"] == "ok"
    return time.monotonic() - started


def _send_raw(url: str, data: bytes) -> int:
    """Send ``data`` on a fresh socket while reading the answer (the server may answer and
    close before the body is sent); the status code it answers."""
    parts = urlsplit(url)
    received = bytearray()
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as sock:

        def read() -> None:
            with contextlib.suppress(OSError):
                while b"\r\n" not in received:
                    chunk = sock.recv(4096)
                    if not chunk:
                        return
                    received.extend(chunk)

        reader = threading.Thread(target=read)
        reader.start()
        with contextlib.suppress(OSError):  # refused and closed mid-body: expected
            for start in range(0, len(data), 1 << 16):
                if received:
                    break
                sock.sendall(data[start : start + (1 << 16)])
        reader.join(30)
    head = bytes(received)
    return int(head.split(b" ", 2)[1]) if head.startswith(b"HTTP/1.1 ") else -1


def _send(live: Live, attack: Attack) -> httpx.Response | int:
    fill = {"port": str(live.listener.port)}

    def filled(text: str) -> str:
        return text.replace("{port}", fill["port"])

    if attack.raw is not None:
        return _send_raw(live.url, attack.raw)
    params = {k: filled(v) for k, v in (attack.params or {}).items()}
    form = {k: filled(v) for k, v in attack.form.items()} if attack.form else None
    content = filled(attack.content.decode("utf-8", "surrogateescape")).encode(
        "utf-8", "surrogateescape") if attack.content is not None else None
    url = live.url + attack.path
    if params:
        url += ("&" if "?" in url else "?") + "&".join(
            f"{quote(k)}={quote(v, safe='')}" for k, v in params.items())
    return live.client.request(attack.method, url, data=form, content=content,
                               headers=attack.headers)


@pytest.mark.slow
@pytest.mark.parametrize("attack", ATTACKS, ids=[a.name for a in ATTACKS])
def test_a_hostile_request_is_refused_or_bounded(live: Live, attack: Attack) -> None:
    outcome: dict[str, httpx.Response | int | BaseException] = {}

    def send() -> None:
        try:
            outcome["response"] = _send(live, attack)
        except BaseException as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=send)
    thread.start()
    probes = 0
    while thread.is_alive() or probes == 0:  # during the request, back to back
        _healthz(live)
        probes += 1
    thread.join()
    _healthz(live)  # and after it
    live.sent += 1
    assert "error" not in outcome, outcome.get("error")
    response = outcome["response"]
    status = response if isinstance(response, int) else response.status_code
    body = "" if isinstance(response, int) else response.text
    assert status in attack.expect, (status, body[:300])
    if isinstance(response, httpx.Response) and status >= 400:
        if response.headers.get("content-type", "").startswith("application/json"):
            error = response.json()
            assert error["ok"] is False and error["status"] == status, error
            assert attack.words in error["error"], error
            assert "\n" not in error["error"] and "Traceback" not in error["error"]
        else:
            assert "text/html" in response.headers["content-type"], response.headers
    if attack.check is not None and isinstance(response, httpx.Response):
        attack.check(response)
    assert live.listener.connections == 0, "the server opened a connection to the listener"
    if attack.then_innocent:  # the pool still serves, within the limit, without a reload
        innocent = live.client.get(live.url + "/sparql", params={"query": INNOCENT},
                                   timeout=TIMEOUT + 2)
        assert innocent.status_code == 200, innocent.text
        assert innocent.json()["boolean"] is True


def test_there_are_at_least_200_hostile_requests() -> None:
    assert len(ATTACKS) >= 200, len(ATTACKS)


@pytest.mark.slow
def test_the_graph_is_unchanged_after_the_attacks(live: Live) -> None:
    """Last of the module: every attack above has run against this server."""
    assert live.sent == len(ATTACKS)
    assert _state(live.url) == live.baseline
    assert int(str(live.baseline["count"])) > PROJECTS
    assert live.listener.connections == 0
    assert json.loads(httpx.get(live.url + "/healthz").text)["status"] == "ok"
