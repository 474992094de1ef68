"""The simulated clients of the load benchmark (bench/load.py) and what they measure.

:class:`Workload` holds what the clients ask for, found on the server before the run (project
ids, entity pages, editor examples, countries); :class:`Recorder` keeps every response time by
request kind (locust's own percentiles are rounded to two significant digits).
"""

from __future__ import annotations

import math
import random
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter, defaultdict
from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

from _load_queries import query_texts, search_filters
from _load_servers import get_json
from locust import FastHttpUser, constant, task

JSON = {"Accept": "application/json"}
HTML = {"Accept": "text/html"}
SPARQL = {"Accept": "application/sparql-results+json, application/n-triples;q=0.9"}
CL = "https://w3id.org/cooplink/def#"
T = TypeVar("T")
#: Pairs of projects of the same country: its cost grows as the square of the countries' sizes,
#: so the countries chosen set its duration; ``?fois`` repeats it for an engine that is fast
#: even on every country (Virtuoso).
SLOW_QUERY = ("PREFIX cl: <" + CL + ">\nSELECT (COUNT(*) AS ?paires) WHERE {\n"
              "  VALUES ?pays { COUNTRIES }\n  VALUES ?fois { REPEAT }\n"
              "  ?a a cl:Projet ; cl:pays ?pays .\n  ?b a cl:Projet ; cl:pays ?pays .\n"
              "  FILTER(?a != ?b)\n}")
PROBES = ("eau potable", "santé", "état civil", "déchets", "agriculture", "jeunesse", "culture",
          "tourisme", "numérique", "énergie solaire", "formation", "gouvernance locale")


class Workload:
    """What the clients ask for, shared by all of them (one process, gevent)."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.texts = query_texts()
        self.sent = 0
        self.rng = random.Random(13)
        self.projects: list[str] = []
        self.entities: list[str] = []
        self.examples: list[tuple[str, str]] = []
        self.refused_examples: list[str] = []
        self.countries: list[str] = []
        self.themes: list[str] = []
        self.slow_query = ""

    @classmethod
    def discover(cls, base: str) -> Workload:
        """Ids, pages and examples of the served dataset; runs each editor example once and
        keeps those the backend answers (Virtuoso refuses none today, but could)."""
        work = cls(base)
        root = str(get_json(f"{base}/healthz")["base_uri"])
        entities: dict[str, None] = {}
        for probe in PROBES:
            answer = get_json(f"{base}/api/search?" + urllib.parse.urlencode(
                {"q": probe, "limit": 50}))
            for result in answer["results"]:
                work.projects.append(result["id"])
                entities.setdefault(result["uri"].removeprefix(root), None)
                for who in result["french_authorities"] + result["partners"]:
                    entities.setdefault(who["uri"].removeprefix(root), None)
            facets = answer["facets"]
        work.countries = [f["value"] for f in facets["country"] if f["count"] >= 20]
        work.themes = [f["value"] for f in facets["theme"]]
        work.entities = list(entities)
        work.rng.shuffle(work.entities)
        for example in get_json(f"{base}/api/examples"):
            url = f"{base}/sparql?" + urllib.parse.urlencode({"query": example["query"]})
            try:
                _fetch(url, SPARQL["Accept"])
            except OSError:  # a refused example (HTTPError) is reported, not fatal
                work.refused_examples.append(example["id"])
                continue
            work.examples.append((example["id"], example["query"]))
        return work

    def next_text(self) -> str:
        text = self.texts[self.sent % len(self.texts)]
        self.sent += 1
        return text

    def calibrate_slow(self, base: str, seconds: float) -> dict[str, Any]:
        """Size the slow query to about ``seconds`` on an idle server: time it on one country,
        pick countries (and repeats) whose squared sizes add up to the pairs that many seconds
        cover, time that, and correct the size once if it is off by more than 30 %."""
        counts = _when_idle(lambda: get_json(f"{base}/sparql?" + urllib.parse.urlencode({"query": (
            f"PREFIX cl: <{CL}>\nSELECT ?pays (COUNT(?p) AS ?n) WHERE {{ ?p a cl:Projet ; "
            f"cl:pays ?pays }} GROUP BY ?pays ORDER BY DESC(?n)")}), accept=SPARQL["Accept"]))
        sizes = {b["pays"]["value"]: int(b["n"]["value"])
                 for b in counts["results"]["bindings"]}
        probe = next((c for c, n in sizes.items() if n <= 900), next(iter(sizes)))
        probe_s = self._time(base, _slow([probe], 1))
        target = sizes[probe] ** 2 / probe_s * seconds
        for _ in range(3):
            chosen: list[str] = []
            pairs = 0
            for country, n in sizes.items():
                if pairs + n * n <= target:
                    chosen.append(country)
                    pairs += n * n
            repeat = max(1, round(target / max(pairs, 1)))
            self.slow_query = _slow(chosen, repeat)
            try:
                alone_s = self._time(base, self.slow_query)
            except urllib.error.HTTPError as exc:
                if exc.code != 503:
                    raise
                # stopped at the server's time limit (a probe timed on a still-busy server
                # can overshoot): try again with half the pairs
                alone_s = math.inf
                target = pairs * repeat / 2
                continue
            if 0.7 * seconds <= alone_s <= 1.3 * seconds:
                break
            target = pairs * repeat / alone_s * seconds
        return {"pairs": pairs * repeat, "countries": len(chosen), "repeat": repeat,
                "probe_s": round(probe_s, 2), "alone_s": round(alone_s, 1),
                "query": self.slow_query}

    @staticmethod
    def _time(base: str, query: str) -> float:
        def ask() -> float:
            started = time.monotonic()
            get_json(f"{base}/sparql", timeout=300, accept=SPARQL["Accept"],
                     form={"query": query})  # by POST: the text can pass 8 kB
            return time.monotonic() - started

        return _when_idle(ask)


def _when_idle(call: Callable[[], T], tries: int = 24) -> T:
    """``call()``, again after the server's Retry-After while it answers 503 « serveur occupé »:
    right after a 128-client stage its SPARQL slots are still taken by the queries in flight
    (12 s at the median on Virtuoso), and the calibration must time an idle server."""
    for _ in range(tries - 1):
        try:
            return call()
        except urllib.error.HTTPError as exc:
            if exc.code != 503 or exc.headers.get("Retry-After") is None:
                raise
            time.sleep(float(exc.headers["Retry-After"]))
    return call()


def _slow(countries: list[str], repeat: int) -> str:
    return (SLOW_QUERY.replace("COUNTRIES", " ".join(f"<{c}>" for c in countries))
            .replace("REPEAT", " ".join(str(i) for i in range(1, repeat + 1))))


def _fetch(url: str, accept: str) -> bytes:
    request = urllib.request.Request(url, headers={"Accept": accept})
    with urllib.request.urlopen(request, timeout=60) as answer:
        return bytes(answer.read())


class Recorder:
    """Response times (ms) and errors by request kind, from the moment :meth:`start` is called."""

    def __init__(self) -> None:
        self.times: dict[str, list[float]] = defaultdict(list)
        self.errors: Counter[str] = Counter()
        self.samples: dict[str, str] = {}
        self.started: float | None = None

    def start(self) -> None:
        self.times.clear()
        self.errors.clear()
        self.started = time.monotonic()

    def on_request(self, request_type: str, name: str, response_time: float,
                   response_length: int, response: Any = None, exception: Any = None,
                   **_: Any) -> None:
        if self.started is None:
            return
        self.times[name].append(response_time)
        if exception is not None:
            status = getattr(response, "status_code", 0) or type(exception).__name__
            key = f"{name}: {status}"
            self.errors[key] += 1
            # the server's own sentence (« serveur occupé », « durée maximale »…) and when
            body = getattr(response, "text", "") or ""
            self.samples.setdefault(key, f"{str(exception)[:120]} | {body[:200]} | "
                                         f"{response_time / 1000:.1f} s")

    def summary(self) -> dict[str, Any]:
        elapsed = time.monotonic() - (self.started or time.monotonic())
        times = dict(self.times)
        searches = [t for k in ("search", "search_filtered") for t in times.get(k, [])]
        if searches:
            times["search_all"] = searches
        kinds = {}
        for name, values in sorted(times.items()):
            errors = sum(n for k, n in self.errors.items() if k.split(":")[0] == name)
            kinds[name] = {"requests": len(values), "per_s": round(len(values) / elapsed, 1),
                           **_percentiles(values), "errors": errors}
        total = sum(len(v) for k, v in self.times.items())
        return {"requests": total, "throughput_rps": round(total / elapsed, 1),
                "errors": sum(self.errors.values()), "error_kinds": dict(self.errors),
                "error_samples": self.samples, "kinds": kinds}


def _percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]  # noqa: E731
    return {"p50_ms": round(pick(0.50), 1), "p95_ms": round(pick(0.95), 1),
            "p99_ms": round(pick(0.99), 1), "max_ms": round(ordered[-1], 1)}


class _Client(FastHttpUser):
    abstract = True
    wait_time = constant(0)  # the next request as soon as the answer is in
    network_timeout = 60.0
    connection_timeout = 60.0
    workload: ClassVar[Workload]

    def search(self) -> None:
        work = self.workload
        filters = search_filters(work.rng)
        name = "search_filtered" if filters else "search"
        self.client.get("/api/search?" + urllib.parse.urlencode(
            {"q": work.next_text(), **filters}), headers=JSON, name=name)


class SearchUser(_Client):
    """Searches only (the isolation scenario)."""

    @task
    def searching(self) -> None:
        self.search()


class MixedUser(_Client):
    """The mixed workload: searches (about 60 %), comparable projects, pooling, SPARQL examples,
    entity pages, the state of cooperation and country pages."""

    @task(60)
    def searching(self) -> None:
        self.search()

    @task(8)
    def similar(self) -> None:
        project = self.workload.rng.choice(self.workload.projects)
        self.client.get(f"/api/projects/{project}/similar", headers=JSON, name="similar")

    @task(6)
    def pooling(self) -> None:
        rng = self.workload.rng
        self.client.get("/api/pooling?" + urllib.parse.urlencode(
            {"country": rng.choice(self.workload.countries),
             "theme": rng.choice(self.workload.themes)}), headers=JSON, name="pooling")

    @task(6)
    def sparql_example(self) -> None:
        _, query = self.workload.rng.choice(self.workload.examples)
        self.client.get("/sparql?" + urllib.parse.urlencode({"query": query}), headers=SPARQL,
                        name="sparql_example")

    @task(12)
    def entity(self) -> None:
        self.client.get(self.workload.rng.choice(self.workload.entities), headers=HTML,
                        name="entity")

    @task(3)
    def etat(self) -> None:
        self.client.get("/etat", headers=HTML, name="etat")

    @task(5)
    def pays(self) -> None:
        country = self.workload.rng.choice(self.workload.countries)
        self.client.get(f"/pays/{country}", headers=HTML, name="pays")


class SlowSparqlUser(_Client):
    """Sends the calibrated slow SPARQL query again and again (the isolation scenario)."""

    network_timeout = 300.0

    @task
    def slow(self) -> None:
        self.client.post("/sparql", data=urllib.parse.urlencode(
            {"query": self.workload.slow_query}), name="slow_sparql",
            headers={**SPARQL, "Content-Type": "application/x-www-form-urlencoded"})
