"""Files → records → resolved projects → SHACL-checked quads, with a report of every problem.

The pipeline never writes to a store: it returns :class:`SourceBatch` objects (quads for one
named graph + an :class:`IngestReport`) or, stage by stage (``read``, ``resolve``, ``map``,
``validate``, ``finish``), the chunks that passed; ``search_api/write_path.py`` decides where they
land.  That keeps ``cooplink validate`` (check without writing) and ``cooplink ingest`` on one
path.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from typing import TypeVar

import pyoxigraph as ox
import rdflib

from graph.namespaces import RDF, SKOS, UriMinter, slugify
from graph.progress import NullProgress, Progress
from ingest.archive import ZipLimits
from ingest.groupings import GROUPING_CLASSES
from ingest.mapping import ImportInfo, Mapper
from ingest.records import Issue, Project, RawProject, ReadResult, count_kinds, summary_sentence
from ingest.resolver import Resolver
from ingest.sniff import stream_any
from ingest.validation import Shapes

_CONTEXT_PREDICATES = (RDF + "type", SKOS + "inScheme")
#: Records resolved, mapped and SHACL-checked together: one pyshacl run per chunk keeps the
#: per-record cost low while the rdflib graph it builds stays small.
CHUNK_RECORDS = 500
T = TypeVar("T")


@dataclass
class IngestReport:
    """What happened to one input file; written as JSON to the data dir's ``reports/``."""

    file: str
    graph: str
    records_read: int = 0
    records_landed: int = 0
    rejected: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)
    unresolved: dict[str, list[str]] = field(default_factory=dict)
    project_ids: list[str] = field(default_factory=list)
    unreadable: str | None = None

    @property
    def rejected_records(self) -> int:
        return self.records_read - self.records_landed

    def as_dict(self) -> dict[str, object]:
        return {
            "file": self.file,
            "graph": self.graph,
            "records_read": self.records_read,
            "records_landed": self.records_landed,
            "records_rejected": self.rejected_records,
            "unreadable": self.unreadable,
            "rejected": [i.as_dict() for i in self.rejected],
            "warnings": [i.as_dict() for i in self.warnings],
            "unresolved": self.unresolved,
            "projects": self.project_ids,
            # Issue 12: warnings counted by kind (« 6 groupements hors COG, 2 homonymes… »).
            "warning_kinds": count_kinds(self.warnings),
            "warning_summary": summary_sentence(count_kinds(self.warnings)),
        }


@dataclass
class SourceBatch:
    """Quads for one source's named graph (plus PROV for the meta graph) and its report."""

    graph: str
    quads: list[ox.Quad]
    provenance: list[ox.Quad]
    report: IngestReport
    projects: list[Project] = field(default_factory=list)


@dataclass
class FileRun:
    """One file on its way through the stages: its stream of record chunks and what the
    stages gather about it (report, ids seen, entities described, names not resolved)."""

    name: str
    graph: str
    report: IngestReport
    result: ReadResult
    chunks: Iterator[tuple[RawProject, ...]]
    mapper: Mapper
    described: dict[str, list[tuple[str, str]]]
    context: ContextLookup
    seen_ids: set[str] = field(default_factory=set)
    unresolved: _Unresolved = field(default_factory=lambda: _Unresolved())
    read: int = 0


def batched(items: Iterable[T], size: int) -> Iterator[tuple[T, ...]]:
    """``itertools.batched`` of Python 3.12."""
    iterator = iter(items)
    while chunk := tuple(islice(iterator, size)):
        yield chunk


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def source_graph_name(path: Path) -> str:
    """A source's named graph is keyed by its file name, so ``--replace`` finds it again."""
    return "source-" + slugify(path.name)


def _subject(quad: ox.Quad) -> str:
    """The subject's IRI or blank-node id (we never produce RDF-star triples as subjects)."""
    subject = quad.subject
    return str(subject) if isinstance(subject, ox.Triple) else subject.value


def context_index(reference_quads: Iterable[ox.Quad]) -> dict[str, list[tuple[str, str]]]:
    """rdf:type / skos:inScheme facts of reference entities, keyed by subject URI.

    SHACL ``sh:class`` needs the types of the nodes a record points to; adding just these facts
    (not the whole 400k-triple reference graph) keeps validation of a file fast."""
    index: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for quad in reference_quads:
        if quad.predicate.value in _CONTEXT_PREDICATES and isinstance(quad.object, ox.NamedNode):
            index[_subject(quad)].append((quad.predicate.value, quad.object.value))
    return dict(index)


#: Given the URIs a batch points to, the (subject, predicate, object) context facts about them.
ContextLookup = Callable[[set[str]], Iterable[tuple[str, str, str]]]


def index_lookup(index: dict[str, list[tuple[str, str]]]) -> ContextLookup:
    """A :data:`ContextLookup` over an in-memory :func:`context_index`."""

    def lookup(uris: set[str]) -> Iterator[tuple[str, str, str]]:
        for uri in uris:
            for pred, obj in index.get(uri, ()):
                yield uri, pred, obj

    return lookup


def _both(first: ContextLookup, second: ContextLookup) -> ContextLookup:
    def lookup(uris: set[str]) -> Iterator[tuple[str, str, str]]:
        yield from first(uris)
        yield from second(uris)

    return lookup


def _to_rdflib(quads: list[ox.Quad], context: ContextLookup) -> rdflib.Graph:
    data = ox.serialize([q.triple for q in quads], format=ox.RdfFormat.N_TRIPLES)
    graph = rdflib.Graph()
    graph.parse(data=bytes(data or b"").decode("utf-8"), format="nt")
    referenced = {q.object.value for q in quads if isinstance(q.object, ox.NamedNode)}
    for s, p, o in context(referenced):
        graph.add((rdflib.URIRef(s), rdflib.URIRef(p), rdflib.URIRef(o)))
    return graph


class Pipeline:
    """Reads, resolves, maps and checks source files against the reference data."""

    def __init__(
        self,
        resolver: Resolver,
        minter: UriMinter,
        context: ContextLookup,
        *,
        check_shapes: bool = True,
        max_description_chars: int = 20_000,
        shapes: Shapes | None = None,
        zip_limits: ZipLimits | None = None,
    ) -> None:
        self.zip_limits = zip_limits or ZipLimits()
        self.shapes = shapes
        self.resolver = resolver
        self.minter = minter
        self.context = context
        self.check_shapes = check_shapes
        self.max_description_chars = max_description_chars

    # The stages of one file, in order: ``read`` opens it, then each chunk of
    # :data:`CHUNK_RECORDS` records goes through ``resolve``, ``map`` and ``validate``, and
    # ``finish`` closes the report.  ``search_api/write_path.py`` runs them as named steps of
    # a write; :meth:`prepare` runs them for callers that only want the batch.
    def read(self, path: Path, progress: Progress | None = None) -> FileRun:
        """Open ``path`` as a stream of records (nothing is parsed yet); raises
        :class:`UnreadableInput` for a file that cannot be read, now or while streaming."""
        progress = progress or NullProgress()
        name = path.name
        graph = self.minter.graph(source_graph_name(path))
        result = ReadResult()
        records = stream_any(
            path, result, max_description=self.max_description_chars, zip_limits=self.zip_limits
        )
        info = ImportInfo(graph=graph, source_name=name, sha256=file_sha256(path),
                          started=datetime.now(UTC))
        described: dict[str, list[tuple[str, str]]] = defaultdict(list)
        tracked = progress.track(records, f"Lecture et résolution de {name}")
        return FileRun(name=name, graph=graph, report=IngestReport(file=name, graph=graph),
                       result=result, chunks=batched(tracked, CHUNK_RECORDS),
                       mapper=Mapper(self.minter, info), described=described,
                       context=_both(self.context, index_lookup(described)))

    def resolve(self, run: FileRun, raws: tuple[RawProject, ...]) -> list[Project]:
        """Attach the records to the reference data; a second record with an id seen before
        in the file is rejected."""
        run.read += len(raws)
        projects: list[Project] = []
        for raw in raws:
            project = self.resolver.resolve(raw, run.name)
            if project.id in run.seen_ids:
                run.report.rejected.append(
                    Issue(
                        file=run.name,
                        line=raw.line,
                        xpath=raw.xpath,
                        column="Identifiant",
                        reason=f"identifiant « {project.id} » déjà vu plus haut dans le fichier",
                        record=project.id,
                    )
                )
                continue
            run.seen_ids.add(project.id)
            run.report.warnings.extend(project.issues)
            projects.append(project)
        return projects

    def map(self, run: FileRun, projects: list[Project]) -> dict[str, list[ox.Quad]]:
        """Each project's quads (``docs/model.md``), by project id."""
        return {p.id: run.mapper.project(p) for p in projects}

    def validate(
        self, run: FileRun, projects: list[Project], per_project: dict[str, list[ox.Quad]]
    ) -> list[tuple[Project, list[ox.Quad]]]:
        """SHACL-check the chunk; the projects that pass, with their quads, are counted in the
        report.  The type facts of what the chunk describes serve the later chunks."""
        if self.check_shapes and per_project:
            chunk_quads = [q for quads in per_project.values() for q in quads]
            self._reject_nonconforming(per_project, projects, run.report, run.name, run.context)
            for subject, facts in context_index(chunk_quads).items():
                run.described[subject].extend(facts)
        passed = [(p, per_project[p.id]) for p in projects if p.id in per_project]
        for project, _ in passed:
            run.report.project_ids.append(project.id)
            run.unresolved.add(project)
        return passed

    def finish(self, run: FileRun) -> SourceBatch:
        """The file's report, completed, and its provenance quads (no project quads: the caller
        kept or wrote them chunk by chunk)."""
        report = run.report
        # rows_seen counts rejected rows too; a reader that does not count falls back to records
        report.records_read = max(run.result.rows_seen, run.read)
        # the reader's issues first, in file order, as before the reading was streamed
        report.rejected[:0] = [i for i in run.result.issues if i.severity == "error"]
        report.warnings[:0] = [i for i in run.result.issues if i.severity != "error"]
        report.records_landed = len(report.project_ids)
        report.unresolved = run.unresolved.summary()
        provenance = run.mapper.provenance(self.minter.graph("meta"), report.records_landed)
        return SourceBatch(run.graph, [], provenance, report)

    def prepare(
        self, path: Path, progress: Progress | None = None, *, keep_quads: bool = True
    ) -> SourceBatch:
        """Everything short of writing: raises :class:`UnreadableInput` for unreadable files.

        ``keep_quads=False`` drops each chunk's quads and projects once checked, so memory
        does not grow with the file; the report still lists every landed id and every issue."""
        run = self.read(path, progress)
        landed: list[Project] = []
        quads: list[ox.Quad] = []
        for chunk in run.chunks:
            projects = self.resolve(run, chunk)
            for project, project_quads in self.validate(run, projects, self.map(run, projects)):
                if keep_quads:
                    landed.append(project)
                    quads.extend(project_quads)
        batch = self.finish(run)
        batch.quads, batch.projects = quads, landed
        return batch

    def _reject_nonconforming(
        self,
        per_project: dict[str, list[ox.Quad]],
        projects: list[Project],
        report: IngestReport,
        name: str,
        context: ContextLookup,
    ) -> None:
        """Validate the records together; drop every record a violation points into."""
        owner: dict[str, str] = {}
        for pid, quads in per_project.items():
            for quad in quads:
                owner.setdefault(_subject(quad), pid)
        everything = [q for quads in per_project.values() for q in quads]
        if self.shapes is None:
            self.shapes = Shapes.load()
        violations = self.shapes.validate(_to_rdflib(everything, context))
        by_id = {p.id: p for p in projects}
        for violation in violations:
            if violation.severity != "Violation":
                continue
            found = owner.get(str(violation.focus_node))
            if found is None or found not in per_project:
                continue
            raw = by_id[found].raw
            per_project.pop(found)
            report.rejected.append(
                Issue(
                    file=name,
                    line=raw.line,
                    xpath=raw.xpath,
                    column=str(violation.path) if violation.path else None,
                    reason=f"forme SHACL non respectée : {violation.message_fr}",
                    record=found,
                )
            )


class _Unresolved:
    """Names that the reference data did not know, gathered chunk by chunk for the report."""

    def __init__(self) -> None:
        self.names: dict[str, set[str]] = {
            "collectivites": set(),
            "groupements": set(),  # syndicats, SDIS… outside the COG (issue 12), listed apart
            "pays": set(),
            "themes": set(),
            "acteurs": set(),
        }

    def add(self, p: Project) -> None:
        for a in p.french_authorities:
            if not a.resolved:
                grouping = a.type in GROUPING_CLASSES
                self.names["groupements" if grouping else "collectivites"].add(a.name)
        self.names["acteurs"].update(a.name for a, _ in p.actors if not a.resolved)
        for issue in p.issues:
            if issue.column == "Pays":
                self.names["pays"].add(issue.reason)
            elif issue.column == "Thématique":
                self.names["themes"].add(issue.reason)

    def summary(self) -> dict[str, list[str]]:
        return {k: sorted(v) for k, v in self.names.items()}
