"""The write path: from files (or the synthetic corpus) to a published, searchable generation.

One write is one :class:`graph.transaction.Transaction` on the data dir and these steps, in
this order (:data:`STEPS`), each a method of :class:`WritePath`:

``read``      open a file as a stream of records (``ingest/sniff.py``)
``resolve``   attach a chunk of records to the reference data (``ingest/resolver.py``)
``map``       make their RDF quads (``ingest/mapping.py``)
``validate``  SHACL-check them (``ingest/validation.py``); the ones that pass are staged as
              N-Quads in the new generation's folder, so memory does not grow with the file
``write``     fill the new store: a copy of the served one (or, in an empty data dir, the
              ontology, shapes and reference data), then the staged graphs and provenance
``index``     build the search index into the generation's ``search/`` folder
``dumps``     write the N-Triples and Turtle dumps
``publish``   write the manifest and swap ``CURRENT``

``resolve``, ``map`` and ``validate`` run once per chunk of ``ingest.pipeline.CHUNK_RECORDS``
records.  A failure at any step leaves the previous generation served and removes the new
folder; a data dir that cannot be written gives ``IngestOutcome.write_error`` (exit 3) and the
report is still written.  ``cooplink build`` takes the same path, its corpus generated instead
of read.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import pyoxigraph as ox

from graph.datadir import DataDir
from graph.dumps import write_generation_dumps
from graph.errors import CooplinkError, StorageError
from graph.namespaces import CL, UriMinter
from graph.progress import NullProgress, Progress
from graph.store import OxigraphStore
from graph.transaction import Transaction
from ingest.errors import UnreadableInput
from ingest.pipeline import FileRun, Pipeline, SourceBatch
from ingest.records import Project, RawProject
from ingest.reference import ReferenceData
from ingest.resolver import Resolver
from ingest.synthetic.default_dataset import synthetic_batch
from ingest.synthetic.generator import generate
from ingest.validation import ontology_path
from search_api.outcome import IngestOutcome, write_report
from search_api.search.encoder import Encoder
from search_api.search.search_index import SearchIndex, build_search_index
from search_api.search.sparql_functions import ProjectVectors
from search_api.settings import Settings

STEPS = ("read", "resolve", "map", "validate", "write", "index", "dumps", "publish")
ONTOLOGY_FILES = ("cooplink.ttl",)
SHAPES_FILE = "shapes.ttl"


class Sources(Protocol):
    """What the write path needs from its ``KnowledgeBase``."""

    settings: Settings
    datadir: DataDir
    minter: UriMinter

    @property
    def reference(self) -> ReferenceData: ...

    @property
    def resolver(self) -> Resolver: ...

    def pipeline(self) -> Pipeline: ...

    def reference_quads(self) -> tuple[ox.Quad, ...]: ...

    def encoder(self, *, for_build: bool = False, spec: str | None = None,
                threads: int | None = None) -> Encoder: ...


@dataclass
class Landing:
    """A source on its way into the store: its report and provenance, with its checked quads
    staged in an N-Quads file (a read file) or held (the synthetic corpus)."""

    batch: SourceBatch
    staged: Path | None = None


def build_search(
    store: OxigraphStore, folder: Path, previous: Path | None, encoder: Encoder,
    settings: Settings, progress: Progress | None, spec: str,
) -> dict[str, Any]:
    """The search index of ``store`` in ``folder`` (embeddings of unchanged projects reused
    from ``previous``), and one vector per project for ``cl:similarity``; its manifest."""
    manifest = build_search_index(store, folder, previous, encoder, settings, progress, spec=spec)
    if (folder / "manifest.json").exists():
        # one vector per project, memory-mapped by the SPARQL workers for cl:similarity
        index = SearchIndex.load(folder, encoder)
        ProjectVectors.save(folder, [d.uri for d in index.docs], index.doc_vectors)
    return manifest


class WritePath:
    """The steps of one write; ``on_step`` hears each step's name as it starts."""

    def __init__(self, kb: Sources, progress: Progress | None = None,
                 on_step: Callable[[str], None] | None = None) -> None:
        self.kb = kb
        self.settings = kb.settings
        self.progress = progress or NullProgress()
        self.on_step = on_step or (lambda _name: None)

    # ------------------------------------------------------------------ the commands
    def ingest(self, files: list[Path], *, replace: bool = False) -> IngestOutcome:
        """Read every file, then write what passed into one new generation, published with
        its search index and dumps.  Unreadable files are listed and the others still land."""
        outcome = IngestOutcome()
        pipeline = self.kb.pipeline()
        done = 0
        try:
            with self._transaction() as txn:
                landings: list[Landing] = []
                for path in files:
                    landing = self._land(pipeline, path, outcome, txn)
                    done += 1
                    if landing is not None and landing.batch.report.records_landed:
                        landings.append(landing)
                if landings:
                    manifest = self.write(txn, landings, replace=replace)
                    manifest["search"] = self.index(txn)
                    self.dumps(txn)
                    self.publish(txn, manifest)
                    outcome.generation = txn.generation.id
        except StorageError as exc:
            outcome.generation, outcome.write_error = None, exc.message
            for path in files[done:]:  # still checked, so the report says what would have landed
                self._land(pipeline, path, outcome, None)
        outcome.report_path = write_report(outcome, self.kb.datadir.reports_dir)
        return outcome

    def check(self, files: list[Path]) -> IngestOutcome:
        """``cooplink validate``: the steps up to ``validate``, nothing kept or written."""
        outcome = IngestOutcome()
        pipeline = self.kb.pipeline()
        for path in files:
            self._land(pipeline, path, outcome, None)
        return outcome

    def build(self, projects: int, seed: int, spec: str | None = None) -> dict[str, Any]:
        """The default dataset (reference data + a synthetic corpus of ``projects``) as a new
        generation; its manifest.  ``spec``: the search model, if not ``search_encoder``."""
        with self._transaction() as txn:
            self._step("read", f"Génération du corpus synthétique ({projects} projets, "
                               f"graine {seed})")
            corpus = generate(self.kb.reference, n_projects=projects, seed=seed)
            self._step("map")
            batch = synthetic_batch(corpus, self.kb.resolver, self.kb.minter, seed=seed,
                                    progress=self.progress)
            manifest = self.write(txn, [Landing(batch)], replace=False, fresh=True)
            manifest["search"] = self.index(txn, spec)
            self.dumps(txn)
            self.publish(txn, manifest)
        return manifest

    def _transaction(self) -> Transaction:
        return Transaction(self.kb.datadir, keep=self.settings.keep_stores)

    # ------------------------------------------------------------------ read → validate
    def _land(self, pipeline: Pipeline, path: Path, outcome: IngestOutcome,
              txn: Transaction | None) -> Landing | None:
        """One file through ``read`` … ``validate``, its checked records staged in ``txn``
        (none: checked only).  A file that cannot be read is recorded with its French reason,
        not raised, so the other files of the command still go through."""
        try:
            landing = self._prepare(pipeline, path, txn, len(outcome.reports))
        except UnreadableInput as exc:
            outcome.unreadable.append((path.name, exc.reason))
            return None
        except OSError as exc:  # the input vanished or is unreadable half-way
            outcome.unreadable.append((path.name, f"lecture impossible : {exc}"))
            return None
        except (CooplinkError, MemoryError):
            raise
        except Exception as exc:  # one odd file must not cost the others (issue 8)
            outcome.unreadable.append(
                (path.name, f"fichier illisible, erreur inattendue ({type(exc).__name__} : "
                            f"{exc}) ; signalez-la avec le fichier si possible")
            )
            return None
        outcome.reports.append(landing.batch.report)
        return landing

    def _prepare(self, pipeline: Pipeline, path: Path, txn: Transaction | None,
                 number: int) -> Landing:
        run = self.read(pipeline, path)
        staged = txn.staging / f"{number}.nq" if txn is not None else None
        with _Stage(staged, txn) as stage:
            for chunk in run.chunks:
                projects = self.resolve(pipeline, run, chunk)
                checked = self.validate(pipeline, run, projects,
                                        self.map(pipeline, run, projects))
                stage.add([q for _, quads in checked for q in quads])
        return Landing(pipeline.finish(run), staged)

    def read(self, pipeline: Pipeline, path: Path) -> FileRun:
        self._step("read")
        return pipeline.read(path, self.progress)

    def resolve(self, pipeline: Pipeline, run: FileRun,
                chunk: tuple[RawProject, ...]) -> list[Project]:
        self._step("resolve")
        return pipeline.resolve(run, chunk)

    def map(self, pipeline: Pipeline, run: FileRun,
            projects: list[Project]) -> dict[str, list[ox.Quad]]:
        self._step("map")
        return pipeline.map(run, projects)

    def validate(self, pipeline: Pipeline, run: FileRun, projects: list[Project],
                 mapped: dict[str, list[ox.Quad]]) -> list[tuple[Project, list[ox.Quad]]]:
        self._step("validate")
        return pipeline.validate(run, projects, mapped)

    # ------------------------------------------------------------------ write → publish
    def write(self, txn: Transaction, landings: list[Landing], *, replace: bool,
              fresh: bool = False) -> dict[str, Any]:
        """Fill the new store; the manifest's counts.  ``fresh`` (a build), or an empty data
        dir, starts from the ontology, shapes and reference data instead of the served graph:
        an empty data dir needs no generation of its own before its first ingest."""
        self._step("write")
        store = txn.open_store(copy_previous=not fresh)
        if fresh or txn.previous is None:
            self._base_graphs(store)
        for landing in self.progress.track(landings, "Écriture des graphes nommés"):
            batch = landing.batch
            if replace:
                store.drop_graph(batch.graph)
            if landing.staged is not None:
                store.load_quads_file(landing.staged)
            store.add_quads(batch.quads)
            store.add_quads(batch.provenance)
        self.progress.step("Écriture du store")
        store.flush()
        return self._manifest(txn, store)

    def _base_graphs(self, store: OxigraphStore) -> None:
        """Ontology, shapes and reference data: what every data dir starts with."""
        graph = self.kb.minter.graph
        self.progress.step("Ontologie et formes SHACL")
        for name in ONTOLOGY_FILES:
            store.load(ontology_path(name).read_bytes(), "ttl", graph("ontology"))
        store.load(ontology_path(SHAPES_FILE).read_bytes(), "ttl", graph("shapes"))
        self.progress.step("Données de référence (COG 2026, pays, codes CAD, institutions)")
        store.add_quads(self.kb.reference_quads())

    def _manifest(self, txn: Transaction, store: OxigraphStore) -> dict[str, Any]:
        counts = store.query(
            "SELECT (COUNT(DISTINCT ?p) AS ?n) (COUNT(DISTINCT ?s) AS ?syn) WHERE { "
            f"?p a <{CL}Projet> . OPTIONAL {{ ?p <{CL}synthetique> true . BIND(?p AS ?s) }} }}"
        ).rows()[0]
        return {
            "generation": txn.generation.id,
            "built_at": datetime.now(UTC).isoformat(),
            "base_uri": self.settings.base_uri,
            "triples": store.triple_count(),
            "projects": counts["n"],
            "synthetic_projects": counts["syn"],
            "graphs": store.named_graphs(),
            "previous": txn.previous.id if txn.previous else None,
        }

    def index(self, txn: Transaction, spec: str | None = None) -> dict[str, Any]:
        """The search index, built before publication so graph and index are swapped
        together; its manifest."""
        self._step("index")
        if txn.store is None:
            raise RuntimeError("l'index se construit sur le store écrit par « write »")
        spec = spec or self.settings.search_encoder
        previous = txn.previous.search_path if txn.previous is not None else None
        encoder = self.kb.encoder(for_build=True, spec=spec)
        return build_search(txn.store, txn.generation.path / "search", previous, encoder,
                            self.settings, self.progress, spec)

    def dumps(self, txn: Transaction) -> None:
        """The dumps, now, so they are ready as soon as the generation is served."""
        self._step("dumps", "Écriture des dumps (N-Triples et Turtle)")
        txn.close_store()
        write_generation_dumps(txn.generation)

    def publish(self, txn: Transaction, manifest: dict[str, Any]) -> None:
        self._step("publish")
        txn.publish(manifest)

    def _step(self, name: str, description: str | None = None) -> None:
        self.on_step(name)
        if description:
            self.progress.step(description)


class _Stage:
    """Checked quads appended, chunk by chunk, to an N-Quads file of the new generation (or
    dropped when there is no file: ``cooplink validate``)."""

    def __init__(self, path: Path | None, txn: Transaction | None) -> None:
        self.path, self.txn = path, txn
        self._fh: Any = None

    def __enter__(self) -> _Stage:
        path = self.path
        if path is not None:
            self._guard(lambda: setattr(self, "_fh", path.open("wb")))
        return self

    def add(self, quads: list[ox.Quad]) -> None:
        if self._fh is not None and quads:
            self._guard(lambda: ox.serialize(quads, self._fh, format=ox.RdfFormat.N_QUADS))

    def __exit__(self, *exc: object) -> None:
        if self._fh is not None:
            self._guard(self._fh.close)

    def _guard(self, write: Callable[[], object]) -> None:
        """A write that fails is the data dir's fault, not the input's: a StorageError, which
        the reading loop does not take for an unreadable file."""
        try:
            write()
        except OSError as exc:
            if self.txn is None:
                raise
            raise self.txn.storage_error(exc) from exc
