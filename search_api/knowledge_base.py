"""``KnowledgeBase``: the one core object behind the CLI, the HTTP app and the tests.

It owns the data directory, opens the served store generation read-only (and notices when a
build publishes a new one), and runs builds and ingests into *new* generations that are
published atomically — so a crash mid-build leaves the previous graph served.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyoxigraph as ox

from graph.datadir import DataDir, Generation
from graph.dumps import write_generation_dumps
from graph.errors import CooplinkError, NoStore, StorageError, os_cause, storage_error
from graph.namespaces import CL, UriMinter, slugify
from graph.progress import NullProgress, Progress
from graph.store import CustomFunction, OxigraphStore, QueryOutcome
from ingest.errors import UnreadableInput
from ingest.pipeline import (
    ContextLookup,
    IngestReport,
    Pipeline,
    SourceBatch,
    context_index,
    index_lookup,
)
from ingest.reference import ReferenceData
from ingest.reference_graph import reference_quads
from ingest.resolver import Resolver
from ingest.synthetic.default_dataset import synthetic_batch
from ingest.synthetic.generator import generate
from ingest.validation import Shapes, ontology_path
from search_api.search._place_data import PlaceForm
from search_api.search.encoder import Encoder, load_encoder
from search_api.search.places import builtin_forms
from search_api.search.ranking import FusionWeights
from search_api.search.search_index import SearchIndex, build_search_index, cache_root
from search_api.search.service import SearchService, limit_threads
from search_api.search.sparql_functions import (
    SIMILARITY,
    ProjectVectors,
    calls_search,
    calls_similarity,
    embed_texts,
    search_functions,
    search_keys,
    similarity_function,
)
from search_api.settings import Settings

ONTOLOGY_FILES = ("cooplink.ttl",)
SHAPES_FILE = "shapes.ttl"


@dataclass
class IngestOutcome:
    """Result of ``ingest``: one report per file, plus files that could not be read at all."""

    reports: list[IngestReport] = field(default_factory=list)
    unreadable: list[tuple[str, str]] = field(default_factory=list)  # (file, reason)
    report_path: Path | None = None
    generation: str | None = None
    #: Why the good records could not be written (data dir read-only, disk full): exit 3.
    write_error: str | None = None
    #: Set when the report could not go to the data dir and went elsewhere (or nowhere).
    report_note: str | None = None

    @property
    def landed(self) -> int:
        """Records written to the served graph (none when writing failed)."""
        if self.write_error:
            return 0
        return sum(r.records_landed for r in self.reports)

    @property
    def exit_code(self) -> int:
        """3 when the data dir could not be written (nothing was published), else 2 when an
        input could not be read at all (scripts must notice, even if the other files landed),
        else 0 when at least one record landed and 1 when none did."""
        if self.write_error:
            return 3
        if self.unreadable:
            return 2
        return 0 if self.landed > 0 else 1

    def as_dict(self) -> dict[str, object]:
        return {
            "landed": self.landed,
            "generation": self.generation,
            "files": [r.as_dict() for r in self.reports],
            "unreadable": [{"file": f, "reason": r} for f, r in self.unreadable],
            "write_error": self.write_error,
        }


class KnowledgeBase:
    """The cooperation knowledge graph of one data directory."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.datadir = DataDir(settings.data_dir)
        self.minter = UriMinter(settings.base_uri)
        self._reference: ReferenceData | None = None
        self._resolver: Resolver | None = None
        self._context: dict[str, list[tuple[str, str]]] | None = None
        self._ref_quads: list[ox.Quad] | None = None
        self._shapes_cache: Shapes | None = None
        self._store: OxigraphStore | None = None
        self._store_generation: str | None = None
        self._encoders: dict[tuple[str, int], Encoder] = {}
        self._search: SearchService | None = None  # the service of _search_key
        self._search_key: tuple[str, str] | None = None  # (generation, search folder)
        self._reloading: tuple[str, str] | None = None
        self._lock = threading.Lock()  # guards the fields above and the encoders
        self._load_lock = threading.Lock()  # one search index load at a time
        self._encoder_lock = threading.Lock()  # one model load at a time
        self._place_forms: tuple[PlaceForm, ...] | None = None  # the built-in gazetteer, read once
        #: False until ``warm`` has loaded the model and indexes (``/healthz``: "starting").
        self.ready = False

    # ---------------------------------------------------------------- reference data
    @property
    def reference(self) -> ReferenceData:
        if self._reference is None:
            self._reference = ReferenceData.load(self.settings.base_uri)
        return self._reference

    @property
    def resolver(self) -> Resolver:
        if self._resolver is None:
            self._resolver = Resolver(self.reference, self.minter)
        return self._resolver

    def _reference_quads(self) -> list[ox.Quad]:
        # Made once per KnowledgeBase: both the reference graph and the SHACL context need it.
        if self._ref_quads is None:
            graph = ox.NamedNode(self.minter.graph("reference"))
            self._ref_quads = list(reference_quads(self.reference, graph))
        return self._ref_quads

    def _context_lookup(self) -> ContextLookup:
        """Types and schemes of the entities a batch points to, for SHACL ``sh:class``.

        With a built store they are read from it (a few ms); on an empty data dir they come
        from the reference data generated in memory (a few seconds, once)."""
        if self.datadir.exists():
            store = self.store()
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
        if self._context is None:
            self._context = context_index(self._reference_quads())
        return index_lookup(self._context)

    def pipeline(self) -> Pipeline:
        return Pipeline(
            self.resolver,
            self.minter,
            self._context_lookup(),
            check_shapes=self.settings.validate_shapes,
            max_description_chars=self.settings.max_description_chars,
            shapes=self._shapes(),
            zip_limits=self.settings.zip_limits(),
        )

    def _shapes(self) -> Shapes:
        if self._shapes_cache is None:
            self._shapes_cache = Shapes.load()
        return self._shapes_cache

    # ---------------------------------------------------------------- reading
    def store(self) -> OxigraphStore:
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
        """Run SPARQL in-process (CLI, pages); ``cl:similarity`` works here as at /sparql."""
        if custom_functions is None and (calls_similarity(sparql) or calls_search(sparql)):
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

    # ---------------------------------------------------------------- writing
    @contextmanager
    def _new_generation(
        self, *, copy_current: bool, progress: Progress | None = None,
        search_spec: str | None = None,
    ) -> Iterator[tuple[Generation, OxigraphStore]]:
        """A new generation, seeded from the current one if asked; published on success,
        deleted on failure.  A kill -9 leaves at worst an unreferenced folder (pruned later).

        An OSError (read-only data dir, no permission, disk full) becomes a
        :class:`StorageError` with a French message: ``CURRENT`` was not replaced, so the
        previous generation is still the one served."""
        try:
            with self._generation(copy_current, progress, search_spec) as made:
                yield made
        except OSError as exc:
            raise storage_error(exc, self.datadir.root, "écriture dans le dossier des données") \
                from exc

    @contextmanager
    def _generation(
        self, copy_current: bool, progress: Progress | None, search_spec: str | None
    ) -> Iterator[tuple[Generation, OxigraphStore]]:
        with self.datadir.build_lock():
            current = self.datadir.current()
            gen = self.datadir.new_generation()
            store: OxigraphStore | None = None
            try:
                if copy_current and current is not None:
                    shutil.rmtree(gen.store_path, ignore_errors=True)
                    source = OxigraphStore(current.store_path, read_only=True)
                    source.backup(gen.store_path)
                    source.close()
                store = OxigraphStore(gen.store_path)
                yield gen, store
                store.flush()
                manifest = self._manifest_for(store, gen, current)
                manifest["search"] = self._build_search(gen, store, current, progress,
                                                        spec=search_spec)
                store.close()
                # Dumps now, so they are ready as soon as the generation is served.
                (progress or NullProgress()).step("Écriture des dumps (N-Triples et Turtle)")
                write_generation_dumps(gen)
                gen.write_manifest(manifest)
                self.datadir.publish(gen)
            except BaseException:
                # Closed first: a RocksDB handle dropped later would write files back into the
                # removed folder.  Closing may fail too (disk full); the first error is the one.
                with suppress(Exception):
                    if store is not None:
                        store.close()
                shutil.rmtree(gen.path, ignore_errors=True)
                raise
            self.datadir.prune(self.settings.keep_stores)

    def _manifest_for(
        self, store: OxigraphStore, gen: Generation, previous: Generation | None
    ) -> dict[str, Any]:
        counts = store.query(
            "SELECT (COUNT(DISTINCT ?p) AS ?n) (COUNT(DISTINCT ?s) AS ?syn) WHERE { "
            f"?p a <{CL}Projet> . OPTIONAL {{ ?p <{CL}synthetique> true . BIND(?p AS ?s) }} }}"
        ).rows()[0]
        return {
            "generation": gen.id,
            "built_at": datetime.now(UTC).isoformat(),
            "base_uri": self.settings.base_uri,
            "triples": store.triple_count(),
            "projects": counts["n"],
            "synthetic_projects": counts["syn"],
            "graphs": store.named_graphs(),
            "previous": previous.id if previous else None,
        }

    def _base_graphs(self, store: OxigraphStore, progress: Progress) -> None:
        """Ontology, shapes and reference data: what every data dir starts with."""
        progress.step("Ontologie et formes SHACL")
        for name in ONTOLOGY_FILES:
            store.load(ontology_path(name).read_bytes(), "ttl", self.minter.graph("ontology"))
        store.load(ontology_path(SHAPES_FILE).read_bytes(), "ttl", self.minter.graph("shapes"))
        progress.step("Données de référence (COG 2026, pays, codes CAD, institutions)")
        store.add_quads(self._reference_quads())

    def build(
        self, projects: int | None = None, seed: int | None = None,
        progress: Progress | None = None, quick: bool = False,
    ) -> dict[str, Any]:
        """Build the default dataset (reference data + synthetic corpus) as a new generation.

        ``quick`` indexes it for search with the first of ``search_staged_encoders`` (seconds
        instead of minutes); :meth:`upgrade_search` computes the full-quality index later."""
        progress = progress or NullProgress()
        n = self.settings.projects if projects is None else projects
        s = self.settings.seed if seed is None else seed
        started = time.perf_counter()
        staged = self.settings.search_staged_encoders
        spec = staged[0] if quick and staged else None
        with self._new_generation(copy_current=False, progress=progress,
                                  search_spec=spec) as (_gen, store):
            self._base_graphs(store, progress)
            progress.step(f"Génération du corpus synthétique ({n} projets, graine {s})")
            corpus = generate(self.reference, n_projects=n, seed=s)
            batch = synthetic_batch(corpus, self.resolver, self.minter, seed=s, progress=progress)
            self._write_batch(store, batch, replace=False)
            progress.step("Écriture du store")
        manifest = self.manifest()
        manifest["build_seconds"] = round(time.perf_counter() - started, 2)
        return manifest

    def ensure_base(self, progress: Progress | None = None) -> None:
        """Create an empty data dir's first generation: ontology and reference data only."""
        if self.datadir.exists():
            return
        with self._new_generation(copy_current=False, progress=progress) as (_gen, store):
            self._base_graphs(store, progress or NullProgress())

    def _write_batch(self, store: OxigraphStore, batch: SourceBatch, *, replace: bool) -> None:
        if replace:
            store.drop_graph(batch.graph)
        store.add_quads(batch.quads)
        store.add_quads(batch.provenance)

    def _read_all(
        self, files: list[Path], progress: Progress | None, *, keep_quads: bool = True
    ) -> tuple[IngestOutcome, list[SourceBatch]]:
        """Read, resolve and check every file; a file that cannot be read is recorded with its
        French reason, not raised, so the other files of the command still go through."""
        outcome = IngestOutcome()
        batches: list[SourceBatch] = []
        pipeline = self.pipeline()
        for path in files:
            try:
                batch = pipeline.prepare(path, progress, keep_quads=keep_quads)
            except UnreadableInput as exc:
                outcome.unreadable.append((path.name, exc.reason))
                continue
            except OSError as exc:  # the input vanished or is unreadable half-way
                outcome.unreadable.append((path.name, f"lecture impossible : {exc}"))
                continue
            except (CooplinkError, MemoryError):
                raise
            except Exception as exc:  # one odd file must not cost the others (issue 8)
                outcome.unreadable.append(
                    (path.name, f"fichier illisible, erreur inattendue ({type(exc).__name__} : "
                                f"{exc}) ; signalez-la avec le fichier si possible")
                )
                continue
            outcome.reports.append(batch.report)
            batches.append(batch)
        return outcome, batches

    def prepare(self, files: list[Path], progress: Progress | None = None) -> IngestOutcome:
        """Read, resolve and check files without writing anything (``cooplink validate``);
        records are checked a chunk at a time and dropped, so memory stays flat."""
        return self._read_all(files, progress, keep_quads=False)[0]

    def ingest(
        self, files: list[Path], *, replace: bool = False, progress: Progress | None = None
    ) -> IngestOutcome:
        """Add (or with ``replace`` swap) each file's named graph; write a JSON report.

        Unreadable files are listed in the outcome and the others still land.  When the data
        dir cannot be written (read-only, full), ``write_error`` says so in French, nothing is
        published (the previous generation stays served) and the report is still written —
        under the system's temporary folder if the data dir refuses it."""
        progress = progress or NullProgress()
        outcome, read = self._read_all(files, progress)
        batches = [b for b in read if b.report.records_landed]
        if batches:
            try:
                self.ensure_base(progress)
                with self._new_generation(copy_current=True, progress=progress) as (gen, store):
                    for batch in progress.track(batches, "Écriture des graphes nommés"):
                        self._write_batch(store, batch, replace=replace)
                    outcome.generation = gen.id
            except StorageError as exc:
                outcome.generation = None
                outcome.write_error = exc.message
        outcome.report_path = self._write_report(outcome)
        return outcome

    def _write_report(self, outcome: IngestOutcome) -> Path | None:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        text = json.dumps(outcome.as_dict(), ensure_ascii=False, indent=2)
        try:
            self.datadir.reports_dir.mkdir(parents=True, exist_ok=True)
            path = self.datadir.reports_dir / f"ingest-{stamp}.json"
            path.write_text(text, "utf-8")
            return path
        except OSError as exc:
            cause = os_cause(exc)
        fallback = Path(tempfile.gettempdir()) / f"cooplink-ingest-{stamp}.json"
        try:
            fallback.write_text(text, "utf-8")
        except OSError:
            outcome.report_note = (
                f"rapport JSON non écrit dans {self.datadir.reports_dir} ({cause}) ni ailleurs : "
                "« cooplink validate --json » le donne sur la sortie standard"
            )
            return None
        outcome.report_note = (
            f"rapport JSON non écrit dans {self.datadir.reports_dir} ({cause}) : écrit à la "
            "place dans le dossier temporaire du système"
        )
        return fallback

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

    def _build_search(
        self,
        gen: Generation,
        store: OxigraphStore,
        previous: Generation | None,
        progress: Progress | None,
        spec: str | None = None,
        folder: Path | None = None,
        threads: int | None = None,
    ) -> dict[str, Any]:
        spec = spec or self.settings.search_encoder
        previous_dir = previous.search_path if previous is not None else None
        encoder = self.encoder(for_build=True, spec=spec, threads=threads)
        folder = folder or gen.path / "search"
        manifest = build_search_index(store, folder, previous_dir, encoder, self.settings,
                                      progress, spec=spec)
        if (folder / "manifest.json").exists():
            # one vector per project, memory-mapped by the SPARQL workers for cl:similarity
            index = SearchIndex.load(folder, encoder)
            ProjectVectors.save(folder, [d.uri for d in index.docs], index.doc_vectors)
        return manifest

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
                    self._build_search(gen, store, gen, progress, spec=spec, folder=folder,
                                       threads=threads)
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
