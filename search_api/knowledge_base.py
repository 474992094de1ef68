"""``KnowledgeBase``: the one core object behind the CLI, the HTTP app and the tests.

It owns the data directory, opens the served store generation read-only (and notices when a
build publishes a new one), and runs builds and ingests through the write path
(``search_api/write_path.py``): *new* generations published atomically — so a crash mid-build
leaves the previous graph served.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
from collections.abc import Callable, Hashable, Iterator
from contextlib import suppress
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

import pyoxigraph as ox

from graph.datadir import DataDir, Generation
from graph.errors import BadRequest, CooplinkError, NoStore
from graph.namespaces import UriMinter, slugify
from graph.progress import NullProgress, Progress
from graph.push import BulkLoader, PushReport, push
from graph.remote import RemoteStore
from graph.store import CustomFunction, GraphStore, OxigraphStore, QueryOutcome
from ingest.pipeline import (
    ContextLookup,
    Pipeline,
    context_index,
    index_lookup,
)
from ingest.reference import ReferenceData
from ingest.reference_graph import reference_quads
from ingest.resolver import Resolver
from ingest.validation import Shapes
from search_api.outcome import IngestOutcome
from search_api.search._place_data import PlaceForm
from search_api.search.encoder import Encoder, load_encoder
from search_api.search.memo import SHELF_ENTRIES, GenerationMemo
from search_api.search.places import builtin_forms
from search_api.search.ranking import FusionWeights
from search_api.search.search_index import SearchIndex, cache_root
from search_api.search.service import SearchService, limit_threads
from search_api.search.sparql_functions import (
    SIMILARITY,
    ProjectVectors,
    calls_search,
    calls_similarity,
    embed_texts,
    refuse_remote,
    search_functions,
    search_keys,
    similarity_function,
)
from search_api.settings import Settings
from search_api.write_path import WritePath, build_search

T = TypeVar("T")


class KnowledgeBase:
    """The cooperation knowledge graph of one data directory."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.datadir = DataDir(settings.data_dir)
        self.minter = UriMinter(settings.base_uri)
        self._store: OxigraphStore | None = None
        self._store_generation: str | None = None
        self._remote: RemoteStore | None = None
        self._encoders: dict[tuple[str, int], Encoder] = {}
        self._search: SearchService | None = None  # the service of _search_key
        self._search_key: tuple[str, str] | None = None  # (generation, search folder)
        self._reloading: tuple[str, str] | None = None
        self._lock = threading.Lock()  # guards the fields above and the encoders
        self._load_lock = threading.Lock()  # one search index load at a time
        self._encoder_lock = threading.Lock()  # one model load at a time
        self._place_forms: tuple[PlaceForm, ...] | None = None  # the built-in gazetteer, read once
        # Figures of the pages, computed once per served generation (see ``memo``)
        self._memo = GenerationMemo(self._served_generation)
        #: False until ``warm`` has loaded the model and indexes (``/healthz``: "starting").
        self.ready = False

    # ---------------------------------------------------------------- reference data
    # Read from files shipped with the package and depending only on the base URI: made once
    # per process (functions below), shared by every KnowledgeBase — a CLI invocation or a
    # test builds one per command, and each used to pay seconds to read them again.
    @property
    def reference(self) -> ReferenceData:
        return shared_reference(self.settings.base_uri)

    @property
    def resolver(self) -> Resolver:
        return shared_resolver(self.settings.base_uri)

    def reference_quads(self) -> tuple[ox.Quad, ...]:
        # both the reference graph and the SHACL context need it
        return _reference_quads(self.settings.base_uri)

    def _context_lookup(self) -> ContextLookup:
        """Types and schemes of the entities a batch points to, for SHACL ``sh:class``.

        With a built store they are read from it (a few ms); on an empty data dir they come
        from the reference data generated in memory (a few seconds, once)."""
        if self.datadir.exists():
            store = self.local_store()  # the write path always reads the generation it copies
            graph = self.minter.graph("reference")

            def from_store(uris: set[str]) -> Iterator[tuple[str, str, str]]:
                ordered = sorted(uris)
                for start in range(0, len(ordered), 500):
                    values = " ".join(f"<{u}>" for u in ordered[start : start + 500])
                    rows = store.query(
                        f"SELECT ?s ?p ?o WHERE {{ VALUES ?s {{ {values} }} "
                        f"GRAPH <{graph}> {{ ?s ?p ?o }} "
                        "FILTER(?p IN (rdf:type, skos:inScheme) && isIRI(?o)) }"
                    ).rows()
                    for row in rows:
                        yield str(row["s"]), str(row["p"]), str(row["o"])

            return from_store
        return index_lookup(_context(self.settings.base_uri))

    def pipeline(self) -> Pipeline:
        return Pipeline(
            self.resolver,
            self.minter,
            self._context_lookup(),
            check_shapes=self.settings.validate_shapes,
            max_description_chars=self.settings.max_description_chars,
            shapes=_shapes(),
            zip_limits=self.settings.zip_limits(),
        )

    # ---------------------------------------------------------------- reading
    def store(self) -> GraphStore:
        """The served graph: the remote store of the ``sparql_endpoint`` setting (issue 13,
        docs/deploy.md), else :meth:`local_store`."""
        remote = self.remote_store()
        if remote is None:
            return self.local_store()
        self.datadir.require_current()  # the search indexes and pages need a generation here
        return remote

    def remote_store(self) -> RemoteStore | None:
        """The remote store of the settings (``None``: the embedded store serves)."""
        s = self.settings
        if not s.sparql_endpoint:
            return None
        if self._remote is None:
            self._remote = self._open_remote(s.sparql_endpoint, s.sparql_timeout)
        return self._remote

    def _open_remote(self, endpoint: str, timeout: float) -> RemoteStore:
        s = self.settings
        return RemoteStore(endpoint, update_endpoint=s.sparql_update_endpoint or None,
                           user=s.sparql_user, password=s.sparql_password.get_secret_value(),
                           timeout=timeout, max_rows=s.sparql_endpoint_max_rows)

    def local_store(self) -> OxigraphStore:
        """The served generation, opened read-only; reopened when a build has published."""
        gen = self.datadir.require_current()
        if self._store is None or self._store_generation != gen.id:
            self._store = OxigraphStore(gen.store_path, read_only=True)
            self._store_generation = gen.id
        return self._store

    def query(
        self,
        sparql: str,
        *,
        default_graphs: list[str] | None = None,
        named_graphs: list[str] | None = None,
        custom_functions: dict[str, CustomFunction] | None = None,
    ) -> QueryOutcome:
        """Run SPARQL on the served graph (CLI, pages); ``cl:similarity`` works here as at
        /sparql, on the embedded store only."""
        if custom_functions is None and (calls_similarity(sparql) or calls_search(sparql)):
            if self.remote_store() is not None:
                refuse_remote(sparql)
            custom_functions = self._similarity_functions(sparql)
        return self.store().query(sparql, default_graphs=default_graphs,
                                  named_graphs=named_graphs, custom_functions=custom_functions)

    def _similarity_functions(self, sparql: str) -> dict[str, CustomFunction]:
        gen = self.datadir.require_current()
        projects = ProjectVectors.load(gen.search_path)
        texts = embed_texts(sparql, self.encoder()) if projects is not None else {}
        keys = (search_keys(sparql, self.search_service().ranking_keys)
                if projects is not None and calls_search(sparql) else {})
        return {SIMILARITY: similarity_function(projects, texts),
                **search_functions(projects, keys)}

    def manifest(self) -> dict[str, Any]:
        return self.datadir.require_current().manifest()

    def health(self) -> dict[str, Any]:
        gen = self.datadir.current()
        if gen is None:
            return {"status": "empty", "projects": 0, "triples": 0}
        m = gen.manifest()
        return {
            "status": "ok",
            "projects": m.get("projects", 0),
            "triples": m.get("triples", 0),
            "synthetic_projects": m.get("synthetic_projects", 0),
            "generation": gen.id,
            "built_at": m.get("built_at"),
            "base_uri": m.get("base_uri"),
        }

    def memo(self, key: Hashable, compute: Callable[[], T], *, shelf: str = "figures",
             size: int = SHELF_ENTRIES) -> T:
        """``compute()`` once per served generation and ``key``, single flight, on LRU
        shelves (:class:`GenerationMemo`): the figures of the state-of-cooperation pages,
        country briefs, profiles, the graph's labels."""
        return self._memo.get(key, compute, shelf=shelf, size=size)

    def _served_generation(self) -> str | None:
        gen = self.datadir.current()
        return gen.id if gen is not None else None

    # ---------------------------------------------------------------- writing
    # Every write is one transaction of named steps: see search_api/write_path.py.
    def build(
        self, projects: int | None = None, seed: int | None = None,
        progress: Progress | None = None, quick: bool = False,
    ) -> dict[str, Any]:
        """Build the default dataset (reference data + synthetic corpus) as a new generation.

        ``quick`` indexes it for search with the first of ``search_staged_encoders`` (seconds
        instead of minutes); :meth:`upgrade_search` computes the full-quality index later."""
        started = time.perf_counter()
        staged = self.settings.search_staged_encoders
        WritePath(self, progress).build(
            self.settings.projects if projects is None else projects,
            self.settings.seed if seed is None else seed,
            spec=staged[0] if quick and staged else None,
        )
        manifest = self.manifest()
        manifest["build_seconds"] = round(time.perf_counter() - started, 2)
        return manifest

    def prepare(self, files: list[Path], progress: Progress | None = None) -> IngestOutcome:
        """Read, resolve and check files without writing anything (``cooplink validate``);
        records are checked a chunk at a time and dropped, so memory stays flat."""
        return WritePath(self, progress).check(files)

    def ingest(
        self, files: list[Path], *, replace: bool = False, progress: Progress | None = None
    ) -> IngestOutcome:
        """Add (or with ``replace`` swap) each file's named graph; write a JSON report.

        Unreadable files are listed in the outcome and the others still land.  When the data
        dir cannot be written (read-only, full), ``write_error`` says so in French, nothing is
        published (the previous generation stays served) and the report is still written —
        under the system's temporary folder if the data dir refuses it.  Into an empty data
        dir, the reference data and the files go into one generation."""
        return WritePath(self, progress).ingest(files, replace=replace)

    def push(self, to: str | None = None, progress: Progress | None = None) -> PushReport:
        """Copy the served generation into the remote store at ``to`` (default: the
        ``sparql_endpoint`` setting): Virtuoso's bulk loader when ``virtuoso_isql`` and
        ``virtuoso_load_dir`` are set, else SPARQL updates; counts checked (graph/push.py)."""
        s = self.settings
        endpoint = to or s.sparql_endpoint
        if not endpoint:
            raise BadRequest("aucun store distant : donnez --to URL ou COOPLINK_SPARQL_ENDPOINT")
        target = self._open_remote(endpoint, max(600.0, s.sparql_timeout))  # a bulk load is long
        bulk = (BulkLoader(s.virtuoso_isql, s.sparql_password.get_secret_value(),
                           s.virtuoso_load_dir)
                if s.virtuoso_isql and s.virtuoso_load_dir else None)
        if bulk is None and target.read_only:
            raise BadRequest("envoi impossible : il faut le point d'accès de mise à jour "
                             "(COOPLINK_SPARQL_UPDATE_ENDPOINT, avec COOPLINK_SPARQL_USER et "
                             "COOPLINK_SPARQL_PASSWORD) ou le chargeur de Virtuoso "
                             "(COOPLINK_VIRTUOSO_ISQL et COOPLINK_VIRTUOSO_LOAD_DIR)")
        source = OxigraphStore(self.datadir.require_current().store_path, read_only=True)
        try:
            return push(source, target, graph_prefix=f"{s.base_uri.rstrip('/')}/graph/",
                        bulk=bulk, progress=progress)
        finally:
            source.close()

    # ---------------------------------------------------------------- search (issues 4, 9)
    # Search artefacts live in each generation's ``search/`` folder, built just before the
    # generation is published, so the graph and its indexes are swapped together. A quick
    # build (``cooplink build --quick``) writes them with a fast model first; ``upgrade_search``
    # then computes the better tiers into ``search-<model>/`` folders of the same generation
    # and swaps each in atomically (``Generation.publish_search``) while the server keeps
    # serving the previous one.
    def encoder(self, *, for_build: bool = False, spec: str | None = None,
                threads: int | None = None) -> Encoder:
        """A text encoder: ``spec``'s, or the build one, or
        (default) the query encoder of the served search tier, with ``search_threads``
        (``search_build_threads`` for a build, or ``threads``)."""
        s = self.settings
        if spec is None:
            spec = s.search_encoder if for_build else self._query_spec()
        if threads is None:
            build_threads = s.search_build_threads or (os.cpu_count() or 1)
            threads = build_threads if for_build else s.search_threads
        key = (spec, threads)
        # Loading a model takes seconds: under its own lock, so a background load never
        # blocks the requests that only read the loaded service.
        with self._encoder_lock:
            if key not in self._encoders:
                self._encoders[key] = load_encoder(
                    spec, threads=threads, cache_dir=cache_root(s) / "models"
                )
            return self._encoders[key]

    def _served_search_spec(self) -> str | None:
        """The model spec of the served generation's search artefacts (None: unrecorded, i.e.
        the configured ``search_encoder``)."""
        gen = self.datadir.current()
        if gen is None:
            return None
        try:
            manifest = json.loads((gen.search_path / "manifest.json").read_text("utf-8"))
        except (OSError, ValueError):
            return None
        spec = manifest.get("spec")
        return str(spec) if spec else None

    def _query_spec(self) -> str:
        s = self.settings
        served = self._served_search_spec()
        if served is not None and served != s.search_encoder:
            return served  # a quick tier is served: queries must use its model
        return s.search_query_encoder or s.search_encoder

    def search_tier(self) -> dict[str, Any]:
        """Which search model is served and whether it is the configured full one."""
        served = self._served_search_spec() or self.settings.search_encoder
        return {"model": served, "full": served == self.settings.search_encoder}

    def upgrade_search(self, progress: Progress | None = None,
                       threads: int | None = None) -> list[str]:
        """Compute the better search tiers of the served generation, each published as soon as
        it is written (``search_staged_encoders`` after the served one, then
        ``search_encoder``); returns the specs published. Stops if another generation gets
        published meanwhile (its own build made its search artefacts). ``threads``: default
        ``search_build_threads``; ``cooplink serve`` runs it in a process of low priority, so
        the server still answers first."""
        progress = progress or NullProgress()
        s = self.settings
        chain = [*s.search_staged_encoders, s.search_encoder]
        served = self._served_search_spec() or s.search_encoder
        todo = chain[chain.index(served) + 1:] if served in chain else []
        done: list[str] = []
        if not todo:
            return done
        with self.datadir.build_lock():
            for spec in todo:
                gen = self.datadir.current()
                if gen is None:
                    break
                folder = gen.path / f"search-{slugify(spec, max_length=60)}"
                shutil.rmtree(folder, ignore_errors=True)
                store = OxigraphStore(gen.store_path, read_only=True)
                try:
                    build_search(store, folder, gen.search_path,
                                 self.encoder(for_build=True, spec=spec, threads=threads),
                                 s, progress, spec)
                finally:
                    store.close()
                current = self.datadir.current()
                if current is None or current.id != gen.id:
                    shutil.rmtree(folder, ignore_errors=True)
                    break
                gen.publish_search(folder)
                done.append(spec)
        return done

    def search_service(self) -> SearchService:
        """The ``SearchService`` of the served generation and search tier.

        A new generation (build, ingest) is loaded at once; a better tier of the same
        generation is loaded in a background thread while the previous one keeps answering."""
        gen = self.datadir.require_current()
        key = (gen.id, gen.search_path.name)
        with self._lock:
            current, loaded_key = self._search, self._search_key
        if current is not None and loaded_key == key:
            return current
        if current is not None and loaded_key is not None and loaded_key[0] == gen.id:
            self._reload_in_background(key)
            return current
        with self._load_lock:
            with self._lock:
                if self._search is not None and self._search_key == key:
                    return self._search
            service = self._load_search(gen)
            with self._lock:
                self._search, self._search_key = service, key
            return service

    def _load_search(self, gen: Generation) -> SearchService:
        s = self.settings
        limit_threads(s.search_threads)
        index = SearchIndex.load(gen.search_path, self.encoder())
        weights = FusionWeights(
            keyword_short=s.search_keyword_weight_short,
            keyword_sentence=s.search_keyword_weight_sentence,
            relevance_cut=s.search_relevance_cut,
            theme_prior=s.search_theme_prior,
            place_boost=s.search_place_boost,
        )
        if self._place_forms is None:
            self._place_forms = builtin_forms()
        return SearchService(index, weights, self._place_forms)

    def _reload_in_background(self, key: tuple[str, str]) -> None:
        with self._lock:
            if self._reloading == key:
                return
            self._reloading = key

        def reload() -> None:
            try:
                gen = self.datadir.require_current()
                with self._load_lock:
                    service = self._load_search(gen)
                    service.query_vector("coopération décentralisée")  # warm the model
                with self._lock:
                    self._search, self._search_key = service, (gen.id, gen.search_path.name)
            finally:
                with self._lock:
                    self._reloading = None

        threading.Thread(target=reload, name="cooplink-search-reload", daemon=True).start()

    def warm(self) -> None:
        """Load and exercise the search service (model, indexes) so the first user query does
        not wait; ``ready`` is True afterwards (``/healthz`` says ``starting`` before)."""
        if self.datadir.current() is not None:
            with suppress(CooplinkError):  # a data dir without search artefacts still serves
                self.search_service().query_vector("coopération décentralisée")
        self.ready = True

    def require_store(self) -> None:
        if not self.datadir.exists():
            raise NoStore(f"aucun graphe dans {self.datadir.root}")


# ---------------------------------------------------------------- shared per process
# Each is immutable once made (the resolver only memoises look-ups), so one copy serves every
# KnowledgeBase of the process, whatever its thread.
@cache
def shared_reference(base_uri: str) -> ReferenceData:
    """The reference data under ``base_uri``, read once per process."""
    return ReferenceData.load(base_uri)


@cache
def shared_resolver(base_uri: str) -> Resolver:
    """The resolver over :func:`shared_reference`, made once per process."""
    return Resolver(shared_reference(base_uri), UriMinter(base_uri))


@cache
def _reference_quads(base_uri: str) -> tuple[ox.Quad, ...]:
    graph = ox.NamedNode(UriMinter(base_uri).graph("reference"))
    return tuple(reference_quads(shared_reference(base_uri), graph))


@cache
def _context(base_uri: str) -> dict[str, list[tuple[str, str]]]:
    return context_index(_reference_quads(base_uri))


@cache
def _shapes() -> Shapes:
    return Shapes.load()
