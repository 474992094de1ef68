"""SHACL validation of ingested records against ``ontology/shapes.ttl`` (pyshacl).

The ingest pipeline validates a *sub-graph*: the records' triples plus the ``rdf:type`` /
``skos:inScheme`` triples of the entities they point at.  The shapes are written for that (see the
header of ``shapes.ttl``): referenced countries, authorities and partnerships are only checked when
the graph describes them.  ``sh:class`` follows ``rdfs:subClassOf`` *in the data graph*, so the
class hierarchy of ``ontology/cooplink.ttl`` is mixed in at every run (pyshacl's ``ont_graph``);
that is what lets a project point at a ``cl:Commune`` where the shape asks for a
``cl:CollectiviteTerritoriale`` without loading the whole ontology into the data.

Loading and parsing the two Turtle files is done once by :meth:`Shapes.load`; callers keep the
returned object and pass it to :func:`validate` (no module-level cache).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pyshacl
from rdflib import BNode, Graph, URIRef
from rdflib import Literal as RDFLiteral
from rdflib.namespace import RDFS, SH
from rdflib.term import Node

from graph.namespaces import PREFIXES

SHAPES_FILE = "shapes.ttl"
ONTOLOGY_FILE = "cooplink.ttl"

#: The local name of the result's ``sh:resultSeverity``: only ``"Violation"`` rejects a record.
ShaclSeverity = Literal["Violation", "Warning", "Info"]


class OntologyFileNotFound(FileNotFoundError):
    """A Turtle file expected in the ``ontology/`` folder is missing."""


def ontology_path(name: str) -> Path:
    """The path of ``ontology/<name>`` (e.g. ``"shapes.ttl"``), installed or editable.

    ``ontology`` is a namespace package (Turtle only, no ``__init__.py``), and under an editable
    install its ``__path__`` also holds the setuptools finder's placeholder entry, on which
    ``importlib.resources.files`` fails (Python 3.11); so the real directories are searched.
    """
    import ontology  # the package holding the Turtle files; imported lazily, it has no code

    for entry in ontology.__path__:
        candidate = Path(entry) / name
        if candidate.is_file():
            return candidate
    raise OntologyFileNotFound(
        f"Fichier d'ontologie introuvable : {name} (cherché dans {list(ontology.__path__)})"
    )


def _class_hierarchy(ontology: Graph) -> Graph:
    """The named ``rdfs:subClassOf`` triples of the ontology (union classes left out).

    Only these are mixed into the data graph: labels, comments and the concept individuals would
    slow pyshacl down and could be mistaken for data.
    """
    hierarchy = Graph()
    for sub, sup in ontology.subject_objects(RDFS.subClassOf):
        if isinstance(sub, URIRef) and isinstance(sup, URIRef):
            hierarchy.add((sub, RDFS.subClassOf, sup))
    return hierarchy


class ValidationError(RuntimeError):
    """pyshacl could not run the validation at all (broken shapes, unsupported feature)."""


@dataclass(frozen=True)
class Violation:
    """One SHACL result, in the form the ingest report shows to a user.

    ``focus_node`` is the IRI (or blank node id) of the offending resource, ``path`` the property
    in prefixed form (``cl:anneeFin``) when the shape has one, ``value`` the offending value's
    lexical form when pyshacl reports one.
    """

    focus_node: str
    path: str | None
    message_fr: str
    severity: ShaclSeverity
    value: str | None
    message_en: str = ""

    def as_dict(self) -> dict[str, object]:
        """JSON-friendly form (for the ingest report and the API)."""
        return {
            "focus_node": self.focus_node,
            "path": self.path,
            "message": self.message_fr,
            "message_en": self.message_en,
            "severity": self.severity,
            "value": self.value,
        }


@dataclass(frozen=True, eq=False)
class Shapes:
    """The parsed SHACL shapes and the ontology's class hierarchy, loaded once and reused."""

    graph: Graph
    hierarchy: Graph

    @classmethod
    def load(cls, shapes_file: Path | None = None, ontology_file: Path | None = None) -> Shapes:
        """Parse ``ontology/shapes.ttl`` and the class hierarchy of ``ontology/cooplink.ttl``."""
        shapes = Graph().parse(shapes_file or ontology_path(SHAPES_FILE), format="turtle")
        ontology = Graph().parse(ontology_file or ontology_path(ONTOLOGY_FILE), format="turtle")
        return cls(graph=shapes, hierarchy=_class_hierarchy(ontology))

    def validate(self, data: Graph) -> list[Violation]:
        """Validate ``data`` (left unmodified) and return every result, violations first.

        Cost grows linearly, ~3 ms a project on one core (3 s for 1,000 projects; 60 s and
        ~750 MB for 13,000 in one call): validate large corpora in batches of ~1,000.
        """
        _conforms, report, _text = pyshacl.validate(
            data,
            shacl_graph=self.graph,
            ont_graph=self.hierarchy,
            inference="none",
            # SPARQL targets ("entities the graph describes") are a SHACL-AF feature.
            advanced=True,
            allow_warnings=True,
            abort_on_first=False,
        )
        if not isinstance(report, Graph):  # pyshacl returns the failure instead of a report
            raise ValidationError(f"La validation SHACL a échoué : {report}")
        # Two constraints of one property shape can fail on the same value (a non-numeric amount
        # fails sh:datatype and sh:minInclusive) and share its message: report it once.
        return sorted(dict.fromkeys(_violations(report)), key=_sort_key)


def validate(data: Graph, shapes: Shapes | Graph | None = None) -> list[Violation]:
    """Validate ``data`` against the cooplink shapes; an empty list means it conforms.

    Pass a :class:`Shapes` from :meth:`Shapes.load` when validating more than once: without it the
    two Turtle files are parsed again.  A bare shapes ``Graph`` is accepted too (the ontology's
    class hierarchy is then loaded from ``ontology/cooplink.ttl``).  Warnings (``sh:Warning``)
    are returned with ``severity == "warning"``; they do not make the data non-conformant.
    """
    if shapes is None:
        shapes = Shapes.load()
    elif isinstance(shapes, Graph):
        ontology = Graph().parse(ontology_path(ONTOLOGY_FILE), format="turtle")
        shapes = Shapes(graph=shapes, hierarchy=_class_hierarchy(ontology))
    return shapes.validate(data)


def errors(violations: Iterable[Violation]) -> list[Violation]:
    """Only the results that make the data non-conformant (``severity == "Violation"``)."""
    return [v for v in violations if v.severity == "Violation"]


# --- reading the pyshacl report -------------------------------------------------------------

_SEVERITIES: dict[Node, ShaclSeverity] = {
    SH.Violation: "Violation",
    SH.Warning: "Warning",
    SH.Info: "Info",
}


def _violations(report: Graph) -> Iterable[Violation]:
    # Only the report's top-level results: pyshacl nests the results of sh:node / sh:or
    # sub-shapes under sh:detail, and the enclosing result already carries our message.
    for result in report.objects(None, SH.result):
        messages = list(report.objects(result, SH.resultMessage))
        message_fr = _message(messages, "fr")
        message_en = _message(messages, "en")
        yield Violation(
            focus_node=_text(report.value(result, SH.focusNode)) or "",
            path=_compact(report.value(result, SH.resultPath)),
            message_fr=message_fr or message_en,
            message_en=message_en or message_fr,
            severity=_severity(report.value(result, SH.resultSeverity)),
            value=_text(report.value(result, SH.value)),
        )


def _severity(node: Node | None) -> ShaclSeverity:
    # A custom severity IRI counts as a violation, as SHACL treats any unknown severity.
    return _SEVERITIES.get(node, "Violation") if node is not None else "Violation"


def _message(messages: list[Node], lang: str) -> str:
    """The message in ``lang``; else pyshacl's own (untagged, English) message; else any."""
    tagged = [m for m in messages if isinstance(m, RDFLiteral) and m.language == lang]
    untagged = [m for m in messages if isinstance(m, RDFLiteral) and m.language is None]
    chosen = tagged or untagged or messages
    return str(chosen[0]) if chosen else ""


def _text(node: Node | None) -> str | None:
    if node is None:
        return None
    if isinstance(node, BNode):
        return "_:" + str(node)
    return str(node)


def _compact(path: Node | None) -> str | None:
    """``cl:anneeFin`` for a known namespace, the full IRI otherwise; None for complex paths."""
    if not isinstance(path, URIRef):
        return None
    iri = str(path)
    # Longest namespace first so that e.g. ``theme:`` does not shadow a longer match.
    for prefix, namespace in sorted(PREFIXES.items(), key=lambda kv: -len(kv[1])):
        if iri.startswith(namespace) and len(iri) > len(namespace):
            return f"{prefix}:{iri[len(namespace) :]}"
    return iri


def _sort_key(v: Violation) -> tuple[int, str, str, str]:
    rank = {"Violation": 0, "Warning": 1, "Info": 2}[v.severity]
    return (rank, v.focus_node, v.path or "", v.message_fr)
