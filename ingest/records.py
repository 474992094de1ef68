"""The intermediate record model between readers (files) and the RDF mapping.

Readers (``spreadsheet``, ``iati``, ``synthetic``) produce :class:`RawProject` objects holding
what the source says, as strings; :mod:`ingest.resolver` turns them into :class:`Project`
objects whose authorities, countries and themes point at reference URIs (or are flagged
unresolved); :mod:`ingest.mapping` turns those into RDF quads.  Keeping the three steps apart
lets each reader stay a pure parser and lets the golden tests pin the mapping.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

Severity = Literal["error", "warning"]

#: Authority types accepted in ``Type de collectivité`` and in the API's ``authority_type``.
AUTHORITY_TYPES = ("region", "departement", "commune", "intercommunalite", "syndicat", "autre")

#: Project statuses (the DAECT sheet has En cours / Terminé; IATI has more).
STATUSES = ("prevu", "en-cours", "termine", "suspendu", "annule")

#: Roles of other actors in a project (IATI OrganisationRole 1–4, plus "appui" for a plain list).
ROLES = ("financeur", "responsable", "operateur", "maitre-oeuvre", "appui")


#: Kinds of warnings -> (singular, plural) French labels, for the report's counts (issue 12):
#: « 6 groupements hors COG, 2 homonymes départagés, 1 nom inconnu ».
ISSUE_KINDS: dict[str, tuple[str, str]] = {
    "groupement-hors-cog": ("groupement hors COG", "groupements hors COG"),
    "homonyme": ("homonyme départagé", "homonymes départagés"),
    "collectivite-inconnue": ("nom inconnu", "noms inconnus"),
    "type-contredit": ("type contredit par le nom", "types contredits par le nom"),
    "nom-rapproche": ("nom rapproché", "noms rapprochés"),
    "collectivite-unique": ("ancien département remplacé", "anciens départements remplacés"),
    "code-inconnu": ("code inconnu", "codes inconnus"),
    "pays-inconnu": ("pays inconnu", "pays inconnus"),
    "partenaire-sans-pays": ("partenaire sans pays", "partenaires sans pays"),
    "theme-inconnu": ("thématique inconnue", "thématiques inconnues"),
    "secteur-inconnu": ("code secteur CAD inconnu", "codes secteur CAD inconnus"),
    "acteur-non-rattache": ("acteur non rattaché", "acteurs non rattachés"),
    "autre": ("autre avertissement", "autres avertissements"),
}


@dataclass(frozen=True)
class Issue:
    """One problem found in the input, located precisely enough for a user to fix it."""

    file: str
    reason: str
    line: int | None = None
    xpath: str | None = None
    column: str | None = None
    severity: Severity = "error"
    record: str | None = None
    kind: str | None = None  # a key of ISSUE_KINDS (resolver warnings); None elsewhere

    def location(self) -> str:
        """Human form: ``file:line, colonne X`` or ``file:/xpath``."""
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
        if self.xpath:
            where += f":{self.xpath}"
        if self.column:
            where += f", colonne « {self.column} »"
        return where

    def as_dict(self) -> dict[str, object]:
        return {
            "file": self.file,
            "line": self.line,
            "xpath": self.xpath,
            "column": self.column,
            "reason": self.reason,
            "severity": self.severity,
            "record": self.record,
            "kind": self.kind or "autre",
        }


def count_kinds(issues: list[Issue]) -> dict[str, int]:
    """Number of warnings of each kind, most frequent first (ties in ISSUE_KINDS order)."""
    order = list(ISSUE_KINDS)
    counts: dict[str, int] = {}
    for issue in issues:
        if issue.severity == "warning":
            kind = issue.kind if issue.kind in ISSUE_KINDS else "autre"
            counts[kind] = counts.get(kind, 0) + 1
    return dict(sorted(counts.items(), key=lambda item: (-item[1], order.index(item[0]))))


def summary_sentence(counts: dict[str, int]) -> str:
    """« 6 groupements hors COG, 2 homonymes départagés, 1 nom inconnu »."""
    return ", ".join(
        f"{n} {ISSUE_KINDS[kind][0 if n == 1 else 1]}" for kind, n in counts.items() if n
    )


@dataclass(frozen=True)
class AuthorityMention:
    """A French authority as a source names it."""

    name: str
    type_hint: str | None = None  # one of AUTHORITY_TYPES, or None
    code: str | None = None  # SIREN (9 digits) or INSEE code


@dataclass(frozen=True)
class PartnerMention:
    """A foreign local authority as a source names it (country raw, may be missing)."""

    name: str
    country: str | None = None
    #: A parenthesis of the name that the reader could not tell apart from a country (« Commune
    #: de Tchaoudjo 1 (Sokodé) » with Pays « Togo »): the resolver decides.
    aside: str | None = None


@dataclass(frozen=True)
class ActorMention:
    """Another actor (embassy, AFD, association…) with its role in the project."""

    name: str
    role: str = "appui"  # one of ROLES
    kind: str | None = None  # actor class hint, e.g. "association", "universite"


@dataclass
class RawProject:
    """What one source record says, before resolution against the reference data."""

    source_id: str | None
    titles: dict[str, str]  # language code -> text; at least one entry
    descriptions: dict[str, str] = field(default_factory=dict)
    language: str = "fr"
    french_authorities: list[AuthorityMention] = field(default_factory=list)
    partners: list[PartnerMention] = field(default_factory=list)
    countries: list[str] = field(default_factory=list)
    themes: list[str] = field(default_factory=list)
    sectors: list[str] = field(default_factory=list)  # DAC 5-digit or 3-digit codes
    status: str | None = None  # one of STATUSES
    start_year: int | None = None
    end_year: int | None = None
    total_cost: Decimal | None = None
    ministry_cofinancing: Decimal | None = None
    authorities_share: Decimal | None = None
    currency: str = "EUR"
    actors: list[ActorMention] = field(default_factory=list)
    line: int | None = None  # where it came from, for PROV and reports
    xpath: str | None = None
    synthetic: bool = False


@dataclass(frozen=True)
class ResolvedRef:
    """An entity a project points to: its URI, display name and whether reference data knew it."""

    uri: str
    name: str
    resolved: bool = True
    type: str | None = None  # authority type, actor kind…
    country: str | None = None  # ISO alpha-2 for partners
    departement: str | None = None  # INSEE code, for groupings outside the COG (« SDE 35 »)


@dataclass
class Project:
    """A resolved project, ready for the RDF mapping."""

    id: str
    raw: RawProject
    french_authorities: list[ResolvedRef] = field(default_factory=list)
    partners: list[ResolvedRef] = field(default_factory=list)
    countries: list[str] = field(default_factory=list)  # ISO alpha-2
    themes: list[str] = field(default_factory=list)  # theme slugs
    sectors: list[str] = field(default_factory=list)  # DAC codes known to the codelist
    actors: list[tuple[ResolvedRef, str]] = field(default_factory=list)  # (actor, role)
    issues: list[Issue] = field(default_factory=list)


@dataclass
class ReadResult:
    """What a reader returns: the records it could read and the issues it found."""

    records: list[RawProject] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
    rows_seen: int = 0
