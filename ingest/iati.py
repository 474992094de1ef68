"""Reader for IATI activity files (standard 2.0x, most of 1.0x) → :class:`ReadResult`.

Safety: the file is parsed by ``xml.parsers.expat`` directly, with handlers that refuse any
``<!DOCTYPE`` or ``<!ENTITY`` declaration (billion laughs, external entities) and parameter
entity parsing off; IATI files never need a DTD.  Every element's line comes from expat, so
issues carry both an XPath (``/iati-activities/iati-activity[3]/title``) and a line.
The file is fed to expat in pieces and activities are converted as soon as they close, then
dropped, so memory stays flat on large publisher files.

Mapping (codelists of IATI 2.03): participating-org ``@role`` 1 funding → financeur,
2 accountable → responsable, 3 extending → operateur, 4 implementing → maitre-oeuvre; an org of
``@type`` 11 (Local Government) whose ``@ref`` starts with ``FR-`` is a French authority (a SIRET,
SIREN or INSEE code in the ref is kept), any other local government is a foreign partner (its
country from the ref prefix, else the only recipient country), everyone else an actor.  A French
local government that is only the reporting-org is added as an authority too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from xml.etree.ElementTree import Element, TreeBuilder
from xml.parsers import expat

from ingest._iati_activity import ActivityReader
from ingest.errors import UnreadableInput
from ingest.inputfile import CHUNK_BYTES, check_input, opened
from ingest.records import Issue, RawProject, ReadResult

#: Same limit as the spreadsheet reader (settings pass their own value).
MAX_DESCRIPTION_CHARS = 20_000

_ROOT = "iati-activities"
_ACTIVITY = "iati-activity"


class _Refused(Exception):
    """Raised inside expat handlers to stop parsing with a French reason."""


class _StreamingTree:
    """Builds one ``iati-activity`` subtree at a time from expat events, with line numbers."""

    def __init__(self, on_activity: Callable[[Element, int, dict[Element, int]], None]) -> None:
        self.parser = expat.ParserCreate()
        self.parser.buffer_text = True
        self.parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
        self.parser.StartDoctypeDeclHandler = self._refuse_dtd
        self.parser.EntityDeclHandler = self._refuse_dtd
        self.parser.StartElementHandler = self._start
        self.parser.EndElementHandler = self._end
        self.parser.CharacterDataHandler = self._data
        self.builder = TreeBuilder()
        self.on_activity = on_activity
        self.lines: dict[Element, int] = {}
        self.root: Element | None = None
        self.depth = 0
        self.activities = 0

    def feed(self, data: bytes, *, final: bool = False) -> None:
        self.parser.Parse(data, final)

    def _refuse_dtd(self, *_: object) -> None:
        raise _Refused(
            "déclaration DOCTYPE ou ENTITY refusée : un fichier IATI n'en a pas besoin et "
            "les entités XML permettent des attaques (« billion laughs », entités externes)"
        )

    def _start(self, tag: str, attrs: dict[str, str]) -> None:
        self.depth += 1
        element = self.builder.start(tag, attrs)
        self.lines[element] = self.parser.CurrentLineNumber
        if self.depth == 1:
            if tag != _ROOT:
                raise _Refused(
                    f"élément racine « {tag} » : un fichier d'activités IATI "
                    f"(« {_ROOT} ») est attendu"
                )
            self.root = element

    def _end(self, tag: str) -> None:
        element = self.builder.end(tag)
        self.depth -= 1
        if self.depth == 1 and tag == _ACTIVITY and self.root is not None:
            self.activities += 1
            self.on_activity(element, self.activities, self.lines)
            self.root.remove(element)  # done with it: keep memory flat
            for sub in element.iter():
                self.lines.pop(sub, None)

    def _data(self, text: str) -> None:
        self.builder.data(text)


def read_iati(path: Path, *, max_description: int = MAX_DESCRIPTION_CHARS) -> ReadResult:
    """Read an IATI activity XML file; one :class:`RawProject` per valid ``iati-activity``.

    Raises :class:`UnreadableInput` for a missing/empty file, malformed XML, a DTD or entity
    declaration, or a root other than ``iati-activities``.
    """
    result = ReadResult()
    result.records.extend(stream_iati(path, result, max_description=max_description))
    return result


def stream_iati(
    path: Path, result: ReadResult, *, max_description: int = MAX_DESCRIPTION_CHARS
) -> Iterator[RawProject]:
    """:func:`read_iati` as a stream: the file is fed to expat in :data:`CHUNK_BYTES` pieces
    and the records of each piece are yielded before the next is read."""
    check_input(path)
    file = path.name
    seen: dict[str, str] = {}
    ready: list[RawProject] = []

    def on_activity(element: Element, index: int, lines: dict[Element, int]) -> None:
        result.rows_seen += 1
        root_lang = tree.root.get("xml:lang") if tree.root is not None else None
        reader = ActivityReader(file, element, index, lines, root_lang)
        record = reader.read(max_description)
        if record is not None and record.source_id in seen:
            reader.error(
                element.find("iati-identifier"),
                f"identifiant IATI « {record.source_id} » en double (déjà utilisé par "
                f"{seen[record.source_id]}) : activité ignorée",
            )
            record = None
        result.issues.extend(reader.issues)
        if record is not None and record.source_id:
            seen[record.source_id] = reader.xpath
            ready.append(record)

    tree = _StreamingTree(on_activity)
    with opened(path) as fh:
        while True:
            chunk = fh.read(CHUNK_BYTES)
            try:
                tree.feed(chunk, final=not chunk)
            except _Refused as exc:
                raise UnreadableInput(file, str(exc)) from exc
            except expat.ExpatError as exc:
                raise UnreadableInput(
                    file,
                    f"XML mal formé ligne {exc.lineno}, colonne {exc.offset + 1} : "
                    f"{expat.ErrorString(exc.code)}",
                ) from exc
            yield from ready
            ready.clear()
            if not chunk:
                break
    if tree.activities == 0:
        result.issues.append(
            Issue(file, "aucune activité (iati-activity) dans le fichier", severity="warning")
        )
