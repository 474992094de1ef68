"""The DAECT spreadsheet layout: its columns, and one row → one :class:`RawProject`.

Used by :mod:`ingest.spreadsheet` for both CSV and XLSX files, so the two formats get exactly
the same rules.  Header labels are matched after :func:`fold` (case, accents, spaces and
apostrophes do not matter; a trailing ``*``, ``:`` or ``(€)`` is ignored).

Row policy: a bad *required* value (empty title) or a malformed *figure* (year, amount, end
before start) rejects the row — DAECT figures are used in totals, a half-read figure is worse
than a reported one.  Everything else that is doubtful (unknown status or authority type,
malformed SIREN, misaligned lists) is kept as far as it is safe and reported as a warning.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from ingest._parsing import (
    cell_text,
    clean_text,
    detect_language,
    one_line,
    parse_amount,
    parse_year,
    split_list,
    split_parenthesis,
)
from ingest.normalise import fold
from ingest.records import (
    ActorMention,
    AuthorityMention,
    Issue,
    PartnerMention,
    RawProject,
    Severity,
)

#: field key -> (label shown in messages, accepted header labels after folding)
FIELDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "id": ("Identifiant", ("identifiant", "identifiant du projet", "id", "reference")),
    "title": ("Intitulé du projet", ("intitule du projet", "intitule", "titre", "titre du projet")),
    "description": ("Description détaillée", ("description detaillee", "description")),
    "authorities": (
        "Collectivité",
        ("collectivite", "collectivites", "collectivite francaise", "collectivites francaises"),
    ),
    "authority_types": ("Type de collectivité", ("type de collectivite", "types de collectivite")),
    "authority_codes": (
        "Code collectivité",
        ("code collectivite", "code de la collectivite", "codes collectivite", "siren"),
    ),
    "partners": ("Partenaire", ("partenaire", "partenaires", "collectivite partenaire")),
    "countries": ("Pays", ("pays",)),
    "themes": ("Thématique", ("thematique", "thematiques", "theme", "themes")),
    "status": ("Statut", ("statut",)),
    "start": ("Année de début", ("annee de debut", "annee debut")),
    "end": ("Année de fin", ("annee de fin", "annee fin")),
    "total_cost": ("Coût total de l'opération", ("cout total de l'operation", "cout total")),
    "ministry": (
        "Cofinancement du MAEDI",
        (
            "cofinancement du maedi",
            "cofinancement du meae",
            "cofinancement meae",
            "cofinancement maedi",
            "cofinancement du mae",
        ),
    ),
    "share": ("Part financière des collectivités", ("part financiere des collectivites",)),
    "actors": ("Acteurs", ("acteurs", "autres acteurs")),
    # Real DAECT columns that cooplink does not model: read without complaint, then dropped.
    "ignored": ("", ("total autre financement", "autre")),
}
REQUIRED = ("title",)
_MAX_LABEL = 200

_ALIASES = {alias: key for key, (_, aliases) in FIELDS.items() for alias in aliases}

# Prefixes of folded values -> normalised value; first match wins, so longer prefixes first.
_AUTHORITY_TYPES = (
    ("conseil regional", "region"),
    ("region", "region"),
    ("conseil departemental", "departement"),
    ("conseil general", "departement"),
    ("departement", "departement"),
    ("commune", "commune"),
    ("ville", "commune"),
    ("mairie", "commune"),
    ("municipalite", "commune"),
    ("intercommunalite", "intercommunalite"),
    ("epci", "intercommunalite"),
    ("metropole", "intercommunalite"),
    ("communaute", "intercommunalite"),
    ("agglomeration", "intercommunalite"),
    ("etablissement public territorial", "intercommunalite"),
    ("syndicat", "syndicat"),
    ("sivu", "syndicat"),
    ("sivom", "syndicat"),
    ("collectivite a statut particulier", "autre"),
    ("autre", "autre"),
)
_STATUSES = (
    ("en cours", "en-cours"),
    ("en-cours", "en-cours"),
    ("actif", "en-cours"),
    ("termine", "termine"),
    ("acheve", "termine"),
    ("clos", "termine"),
    ("cloture", "termine"),
    ("fini", "termine"),
    ("finalis", "termine"),
    ("prevu", "prevu"),
    ("en projet", "prevu"),
    ("a venir", "prevu"),
    ("planifie", "prevu"),
    ("en preparation", "prevu"),
    ("suspendu", "suspendu"),
    ("annule", "annule"),
    ("abandonne", "annule"),
)
_ROLES = (
    ("financ", "financeur"),
    ("cofinanc", "financeur"),
    ("bailleur", "financeur"),
    ("responsable", "responsable"),
    ("chef de file", "responsable"),
    ("operateur", "operateur"),
    ("maitre d'oeuvre", "maitre-oeuvre"),
    ("maitrise d'oeuvre", "maitre-oeuvre"),
    ("appui", "appui"),
    ("soutien", "appui"),
    ("partenaire", "appui"),
)
# SIREN (9 digits), commune INSEE code (5, Corsica 2A/2B), département (2–3), région (2).
_CODE = re.compile(r"[0-9]{9}|[0-9]{5}|2[AB][0-9]{3}|[0-9]{2,3}|2[AB]")


def authority_type(text: str) -> str | None:
    """A « Type de collectivité » value as a type hint (« Conseil départemental » →
    ``departement``, « Communauté d'agglomération » → ``intercommunalite``), or None."""
    return _lookup(_AUTHORITY_TYPES, text) if text else None


def _lookup(table: tuple[tuple[str, str], ...], value: str) -> str | None:
    folded = fold(value)
    return next((norm for prefix, norm in table if folded.startswith(prefix)), None)


def header_key(label: str) -> str | None:
    """The field a header label stands for, or None if unknown."""
    folded = fold(label).rstrip("*: ").strip()
    folded = re.sub(r"\s*\((?:en )?(?:€|eur|euros?)\)$", "", folded)
    return _ALIASES.get(folded)


@dataclass
class Header:
    """A recognised header row: where it is and which column holds which field."""

    line: int
    labels: list[str]
    columns: dict[str, int] = field(default_factory=dict)
    unknown: list[int] = field(default_factory=list)
    duplicates: list[int] = field(default_factory=list)

    @classmethod
    def match(cls, line: int, cells: Sequence[object]) -> Header:
        """Read ``cells`` as a header row: known fields, unknown and duplicated columns."""
        # A 10 MB description cell may sit in the rows scanned for a header: cut before folding.
        labels = [cell_text(c[:_MAX_LABEL] if isinstance(c, str) else c) for c in cells]
        header = cls(line=line, labels=labels)
        for index, label in enumerate(labels):
            if not label:
                continue
            key = header_key(label)
            if key is None:
                header.unknown.append(index)
            elif key in header.columns and key != "ignored":
                header.duplicates.append(index)
            else:
                header.columns.setdefault(key, index)
        return header

    @property
    def score(self) -> int:
        """How many known fields the row names (the header is the first row scoring ≥ 2)."""
        return len(self.columns)

    def label(self, key: str) -> str:
        """The label as written in the file (for issue locations), else the canonical one."""
        index = self.columns.get(key)
        return self.labels[index] if index is not None else FIELDS[key][0]


class _Row:
    """One data row being read: cell access by field and issue reporting at its cells."""

    def __init__(self, file: str, line: int, cells: Sequence[object], header: Header) -> None:
        self.file, self.line, self.cells, self.header = file, line, cells, header
        self.issues: list[Issue] = []
        self.record: str | None = None

    def cell(self, key: str) -> object:
        index = self.header.columns.get(key)
        return self.cells[index] if index is not None and index < len(self.cells) else None

    def text(self, key: str) -> str:
        return cell_text(self.cell(key))

    def report(self, key: str, reason: str, severity: Severity = "error") -> None:
        column = self.header.label(key)
        self.issues.append(
            Issue(
                self.file, reason, self.line, column=column, severity=severity, record=self.record
            )
        )

    def year(self, key: str, label: str) -> int | None:
        try:
            return parse_year(self.cell(key), label)
        except ValueError as exc:
            self.report(key, str(exc))
            return None

    def amount(self, key: str) -> Decimal | None:
        try:
            return parse_amount(self.cell(key))
        except ValueError as exc:
            self.report(key, str(exc))
            return None

    @property
    def rejected(self) -> bool:
        return any(issue.severity == "error" for issue in self.issues)


def parse_row(
    file: str, line: int, cells: Sequence[object], header: Header, max_description: int
) -> tuple[RawProject | None, list[Issue]]:
    """One data row → a record (None when rejected) and the issues found in it."""
    row = _Row(file, line, cells, header)
    title = one_line(row.text("title"))
    row.record = row.text("id") or title[:80] or None
    if not title:
        row.report("title", "intitulé du projet vide (valeur obligatoire)")
    description = clean_text(row.text("description"))
    if len(description) > max_description:
        row.report(
            "description",
            f"description tronquée à {max_description:_} caractères (elle en avait "
            f"{len(description):_})".replace("_", "\u202f"),
            "warning",
        )
        description = description[:max_description]

    start, end = row.year("start", "année de début"), row.year("end", "année de fin")
    if start is not None and end is not None and end < start:
        row.report("end", f"année de fin ({end}) antérieure à l'année de début ({start})")
    total, ministry, share = row.amount("total_cost"), row.amount("ministry"), row.amount("share")
    for key, part in (("ministry", ministry), ("share", share)):
        if part is not None and total is not None and part > total:
            row.report(key, f"montant ({part} €) supérieur au coût total ({total} €)", "warning")

    status = None
    if row.text("status"):
        status = _lookup(_STATUSES, row.text("status"))
        if status is None:
            row.report(
                "status",
                f"statut inconnu ignoré : « {row.text('status')} » "
                "(attendu : En cours, Terminé, Prévu, Suspendu ou Annulé)",
                "warning",
            )
    if row.rejected:
        return None, row.issues

    # The description decides the record's language; a short title rarely can, so it only
    # overrides when its own stop words say so ("Formation des agents…" above an English text).
    language = detect_language(description) if description else detect_language(title)
    title_language = detect_language(title, default=language, min_hits=1)
    partners, countries = _partners(row.text("partners"), row.text("countries"))
    project = RawProject(
        source_id=row.text("id") or None,
        titles={title_language: title},
        descriptions={language: description} if description else {},
        language=language,
        french_authorities=_authorities(row),
        partners=partners,
        countries=countries,
        themes=[t for t in split_list(row.text("themes"), (";", " / ")) if t],
        status=status,
        start_year=start,
        end_year=end,
        total_cost=total,
        ministry_cofinancing=ministry,
        authorities_share=share,
        actors=_actors(row.text("actors")),
        line=line,
    )
    return project, row.issues


def _authorities(row: _Row) -> list[AuthorityMention]:
    """Collectivité, with Type and Code read in the same order (misaligned lists are dropped)."""
    names = split_list(row.text("authorities"))
    aligned: dict[str, list[str]] = {}
    for key, what in (("authority_types", "types"), ("authority_codes", "codes")):
        values = split_list(row.text(key)) if row.text(key) else []
        if values and len(values) != len(names):
            row.report(
                key,
                f"{len(values)} {what} pour {len(names)} collectivités : {what} ignorés "
                "(une valeur par collectivité, séparées par « ; », dans le même ordre)",
                "warning",
            )
            values = []
        aligned[key] = values or [""] * len(names)
    mentions = []
    for name, type_text, code_text in zip(
        names, aligned["authority_types"], aligned["authority_codes"], strict=True
    ):
        if not name:
            continue
        type_hint = _lookup(_AUTHORITY_TYPES, type_text) if type_text else None
        if type_text and type_hint is None:
            row.report(
                "authority_types",
                f"type de collectivité inconnu ignoré : « {type_text} » (attendu : Région, "
                "Département, Commune, Intercommunalité, Syndicat ou Autre)",
                "warning",
            )
        code = re.sub(r"\s", "", code_text).upper() or None
        if code and not _CODE.fullmatch(code):
            row.report(
                "authority_codes",
                f"code collectivité ignoré : « {code_text} » (attendu : un SIREN à 9 chiffres "
                "ou un code INSEE)",
                "warning",
            )
            code = None
        mentions.append(AuthorityMention(name, type_hint=type_hint, code=code))
    return mentions


def _partners(partner_text: str, country_text: str) -> tuple[list[PartnerMention], list[str]]:
    """Partenaire and Pays: a partner's country is its "(Pays)" suffix, else the Pays in the
    same position, else the only Pays of the row; countries named only in a suffix are added
    to the project's countries."""
    names = split_list(partner_text) if partner_text else []
    countries = [c for c in split_list(country_text) if c] if country_text else []
    positional = split_list(country_text) if len(split_list(country_text)) == len(names) else []
    partners = []
    for index, raw in enumerate(names):
        if not raw:
            continue
        name, inner = split_parenthesis(raw)
        # The partner's own Pays value: the one in the same position, or the row's only one
        # for a row with one partner (a single Pays for several partners says nothing of each).
        pays = positional[index] if positional and positional[index] else None
        if pays is None and len(countries) == 1 and (inner is None or len(names) == 1):
            pays = countries[0]
        if inner is None or (pays is not None and fold(inner) == fold(pays)):
            partners.append(PartnerMention(name, pays))
        elif pays is not None:
            # « Commune de Tchaoudjo 1 (Sokodé) » with Pays « Togo »: the Pays column wins; the
            # resolver keeps the parenthesis in the name unless it names a country (issue 12).
            partners.append(PartnerMention(name, pays, aside=inner))
        else:  # no Pays for it: the parenthesis is the only hint of its country
            if fold(inner) not in {fold(c) for c in countries}:
                countries.append(inner)
            partners.append(PartnerMention(name, inner))
    return partners, countries


def _actors(text: str) -> list[ActorMention]:
    """Acteurs: "AFD (financeur)" carries a role; any other parenthesis (an acronym) is kept."""
    actors = []
    for raw in split_list(text) if text else []:
        if not raw:
            continue
        name, paren = split_parenthesis(raw)
        role = _lookup(_ROLES, paren) if paren else None
        actors.append(ActorMention(name, role) if role else ActorMention(raw))
    return actors
