"""Files → records → resolved projects → SHACL-checked quads, with a report of every problem.

The pipeline never writes to a store: it returns :class:`SourceBatch` objects (quads for one
named graph + an :class:`IngestReport`), and ``cooplink.knowledge_base`` decides where they land.
That keeps ``cooplink validate`` (check without writing) and ``cooplink ingest`` on one path.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pyoxigraph as ox
import rdflib

from cooplink.progress import NullProgress, Progress
from graph.namespaces import RDF, SKOS, UriMinter, slugify
from ingest.groupings import GROUPING_CLASSES
from ingest.mapping import ImportInfo, Mapper
from ingest.records import Issue, Project, count_kinds, summary_sentence
from ingest.resolver import Resolver
from ingest.sniff import read_any
from ingest.validation import Shapes

_CONTEXT_PREDICATES = (RDF + "type", SKOS + "inScheme")


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
    ) -> None:
        self.shapes = shapes
        self.resolver = resolver
        self.minter = minter
        self.context = context
        self.check_shapes = check_shapes
        self.max_description_chars = max_description_chars

    def prepare(self, path: Path, progress: Progress | None = None) -> SourceBatch:
        """Everything short of writing: raises :class:`UnreadableInput` for unreadable files."""
        progress = progress or NullProgress()
        name = path.name
        graph = self.minter.graph(source_graph_name(path))
        report = IngestReport(file=name, graph=graph)
        result = read_any(path, max_description=self.max_description_chars)
        # rows_seen counts rejected rows too; a reader that does not count falls back to records
        report.records_read = max(result.rows_seen, len(result.records))
        for issue in result.issues:
            (report.rejected if issue.severity == "error" else report.warnings).append(issue)
        info = ImportInfo(
            graph=graph,
            source_name=name,
            sha256=file_sha256(path),
            started=datetime.now(UTC),
        )
        mapper = Mapper(self.minter, info)
        projects: list[Project] = []
        per_project: dict[str, list[ox.Quad]] = {}
        seen_ids: set[str] = set()
        for raw in progress.track(result.records, f"Résolution de {name}"):
            project = self.resolver.resolve(raw, name)
            if project.id in seen_ids:
                report.rejected.append(
                    Issue(
                        file=name,
                        line=raw.line,
                        xpath=raw.xpath,
                        column="Identifiant",
                        reason=f"identifiant « {project.id} » déjà vu plus haut dans le fichier",
                        record=project.id,
                    )
                )
                continue
            seen_ids.add(project.id)
            report.warnings.extend(project.issues)
            projects.append(project)
            per_project[project.id] = mapper.project(project)
        if self.check_shapes and per_project:
            self._reject_nonconforming(per_project, projects, report, name)
        landed = [p for p in projects if p.id in per_project]
        quads = [q for p in landed for q in per_project[p.id]]
        report.records_landed = len(landed)
        report.project_ids = [p.id for p in landed]
        report.unresolved = _unresolved(landed)
        provenance = mapper.provenance(self.minter.graph("meta"), len(landed))
        return SourceBatch(graph, quads, provenance, report, landed)

    def _reject_nonconforming(
        self,
        per_project: dict[str, list[ox.Quad]],
        projects: list[Project],
        report: IngestReport,
        name: str,
    ) -> None:
        """Validate all records at once; drop every record a violation points into."""
        owner: dict[str, str] = {}
        for pid, quads in per_project.items():
            for quad in quads:
                owner.setdefault(_subject(quad), pid)
        everything = [q for quads in per_project.values() for q in quads]
        if self.shapes is None:
            self.shapes = Shapes.load()
        violations = self.shapes.validate(_to_rdflib(everything, self.context))
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


def _unresolved(projects: list[Project]) -> dict[str, list[str]]:
    """Names that the reference data did not know, for the report's summary."""
    out: dict[str, set[str]] = {
        "collectivites": set(),
        "groupements": set(),  # syndicats, SDIS… outside the COG (issue 12), listed apart
        "pays": set(),
        "themes": set(),
        "acteurs": set(),
    }
    for p in projects:
        for a in p.french_authorities:
            if not a.resolved:
                grouping = a.type in GROUPING_CLASSES
                out["groupements" if grouping else "collectivites"].add(a.name)
        out["acteurs"].update(a.name for a, _ in p.actors if not a.resolved)
        for issue in p.issues:
            if issue.column == "Pays":
                out["pays"].add(issue.reason)
            elif issue.column == "Thématique":
                out["themes"].add(issue.reason)
    return {k: sorted(v) for k, v in out.items()}
