"""Resolve what sources say (names, codes) against the reference data.

Every look-up goes through dictionaries built once from :class:`ReferenceData`, keyed by
:func:`ingest.normalise.name_key`, so resolving the ~13,000 projects of a full import takes well
under a second.  What cannot be resolved is kept, with an « unresolved » URI, and reported as a
warning located in the source file: an import never loses a project because a name is unknown.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable

from graph.namespaces import UriMinter, short_hash
from ingest._french_authorities import FrenchAuthorities, Note
from ingest.groupings import GROUPING_LABELS, DepartementFinder, grouping_type
from ingest.normalise import collapse, name_key, split_values, unique
from ingest.records import (
    ActorMention,
    AuthorityMention,
    Issue,
    PartnerMention,
    Project,
    RawProject,
    ResolvedRef,
)
from ingest.reference import FrenchAuthority, Institution, ReferenceData

_FOREIGN_DESIGNATORS = re.compile(
    r"^(?:commune (?:urbaine |rurale )?(?:de |d |du )|ville (?:de |d |du )|mairie (?:de |d |du )|"
    r"municipalite (?:de |d |du )|city of |town of |municipality of )"
)
_POSTS = re.compile(
    r"^(ambassade de france|embassy of france|french embassy|scac|service de "
    r"cooperation et d action culturelle(?: de l ambassade de france)?|institut "
    r"francais)(?: (?:au|aux|en|a la|a|de la|de l|du|des|de|d|in|to))? ?(.*)$"
)
_POST_CLASSES = {"ambassade": "Ambassade", "embassy": "Ambassade", "french": "Ambassade",
                 "scac": "SCAC", "service": "SCAC", "institut": "InstitutFrancais"}  # fmt: skip
_ARTICLE = re.compile(r"^(?:le|la|les|l) ")
_PAREN = re.compile(r"^(.*?)\s*\(([^)]*)\)\s*$")
_CODE = re.compile(r"\d{9}|\d{14}|\d{5}|2[AB]\d{3}|\d{2,3}|2[AB]", re.IGNORECASE)


class Resolver:
    """Look-ups from names and codes to reference URIs; one per import, reused across files."""

    def __init__(self, ref: ReferenceData, minter: UriMinter | None = None) -> None:
        self.ref = ref
        self.minter = minter or UriMinter(ref.base_uri)
        self._french = FrenchAuthorities(ref)
        self._departements = DepartementFinder(
            {name_key(a.name): code for code, a in self._french.departement.items()}
        )
        self._countries: dict[str, str] = {}
        for c in ref.countries.values():  # display names first: they win any collision
            for text in (c.name_fr, c.name_en, c.iso2, c.iso3, *c.aliases):
                self._countries.setdefault(name_key(text), c.iso2)
        self._themes: dict[str, str] = {}
        for t in ref.themes.values():
            for text in (t.slug, t.label_fr, t.label_en, *t.alt_labels):
                self._themes.setdefault(name_key(text), t.slug)
        self._actors: dict[str, Institution] = {}
        self._posts: dict[tuple[str, str], Institution] = {}
        acronyms = defaultdict(list)
        for i in ref.institutions:
            if i.country and i.cls in ("Ambassade", "SCAC", "InstitutFrancais"):
                self._posts[(i.cls, i.country)] = i
            for text in (i.name_fr, i.name_en):
                self._actors.setdefault(name_key(text), i)
            if i.acronym:
                acronyms[name_key(i.acronym)].append(i)
        for key, found in acronyms.items():
            if len(found) == 1:  # "SCAC" names 142 services: it needs the project's country
                self._actors.setdefault(key, found[0])
        self._cache: dict[tuple[str, str | None, str | None], tuple[ResolvedRef, list[Note]]] = {}
        self._keys: dict[str, str] = {}

    def _key(self, text: str) -> str:
        """:func:`name_key`, memoised: the same few thousand names recur across projects."""
        key = self._keys.get(text)
        if key is None:
            key = self._keys[text] = name_key(text)
        return key

    # French authorities -------------------------------------------------------------------

    def authority(self, m: AuthorityMention) -> tuple[ResolvedRef, str | None]:
        """Resolve a French authority: by code first, then by name; the reason is a warning."""
        ref, notes = self.authority_notes(m)
        return ref, "; ".join(text for _, text in notes) or None

    def authority_notes(self, m: AuthorityMention) -> tuple[ResolvedRef, list[Note]]:
        """:meth:`authority` with each warning apart, as ``(kind, text)`` (see ISSUE_KINDS)."""
        cache_key = (m.name, m.type_hint, m.code)
        if cache_key not in self._cache:
            self._cache[cache_key] = self._authority(m)
        return self._cache[cache_key]

    def _authority(self, m: AuthorityMention) -> tuple[ResolvedRef, list[Note]]:
        name, code, notes = collapse(m.name), m.code, list[Note]()
        if not code and _CODE.fullmatch(name.replace(" ", "")):  # a code typed as the name
            code = name
        if code:
            found = self._french.by_code(code, m.type_hint)
            if found:
                chosen, more = self._french.successor(found)
                return _ref(chosen), more
            notes.append(("code-inconnu", f"code « {code} » inconnu du COG 2026"))
        found, more = self._french.by_name(name, m.type_hint)
        notes += more
        if found:
            chosen, more = self._french.successor(found)
            return _ref(chosen), notes + more
        name = name or code or ""
        kind = grouping_type(name, m.type_hint)
        if kind:  # a syndicat, a SDIS, a CHU: real, typed, just not in the COG
            where = self._departements.find(name)
            uri = self.minter.groupement(name)
            label = GROUPING_LABELS[kind] + (f", département {where}" if where else "")
            grouping = ResolvedRef(uri, name, resolved=False, type=kind, departement=where)
            return grouping, [*notes, ("groupement-hors-cog", f"groupement hors COG : « {name} » "
                                       f"({label}), gardé et signalé non résolu")]  # fmt: skip
        uri = self.minter.unresolved_authority(name)
        unresolved = ResolvedRef(uri, name, resolved=False, type=m.type_hint or "autre")
        why = f"collectivité « {name} » introuvable dans le COG 2026"
        return unresolved, [*notes, ("collectivite-inconnue", why)]

    # Countries, themes, sectors ----------------------------------------------------------

    def country(self, text: str) -> str | None:
        """ISO alpha-2 of a country named in French or English, or given by ISO code."""
        key = self._key(text)
        found = self._countries.get(key)
        if found is None:
            paren = _PAREN.match(text)
            if paren:
                return self.country(paren[1]) or self.country(paren[2])
            stripped = _ARTICLE.sub("", key)
            found = self._countries.get(stripped) if stripped != key else None
        return found

    def theme(self, text: str) -> str | None:
        """Slug of the theme named by ``text`` (slug, label or alternative label, fr or en)."""
        return self._themes.get(self._key(text))

    def dac_sector(self, code: str) -> str | None:
        """The DAC code if the codelist knows it (5-digit purpose code or 3-digit category)."""
        code = code.strip()
        return code if code in self.ref.dac_sectors else None

    def themes_for_sectors(self, codes: list[str]) -> list[str]:
        """Themes whose skos:closeMatch covers the sectors' DAC categories.

        Not applied by :meth:`resolve`; offered for sources that give sectors but no theme.
        """
        sectors = self.ref.dac_sectors
        categories = {sectors[c].category or c for c in codes if c in sectors}
        return [t.slug for t in self.ref.themes.values() if categories & set(t.dac_categories)]

    # Partners and actors -----------------------------------------------------------------

    def partner(self, m: PartnerMention, countries: list[str]) -> ResolvedRef:
        """A foreign authority, placed in its country (the mention's, or the project's only one).

        Foreign authorities have no reference list: ``resolved`` says whether the country is known.
        A parenthesis the reader set aside (``m.aside``) is dropped when it names a country and
        kept in the name otherwise (issue 12: « (Sokodé) » is part of the partner's name).
        """
        iso = self.country(m.country) if m.country else None
        name = collapse(m.name)
        if m.aside:  # « Commune de Tchaoudjo 1 (Sokodé) »: a country in parentheses, or the name
            named = self.country(m.aside)
            if named is None:
                name = f"{name} ({collapse(m.aside)})"
            iso = iso or named  # the Pays column wins over the name
        if iso is None and len(countries) == 1:
            iso = countries[0]
        core = _FOREIGN_DESIGNATORS.sub("", self._key(name)) or name
        uri = self.minter.foreign_authority(iso, core)
        return ResolvedRef(uri, name, iso is not None, "collectivite-etrangere", iso)

    def actor(self, m: ActorMention, countries: list[str] | None = None) -> ResolvedRef:
        """A known institution by name or acronym (posts abroad need the country), else new."""
        name = collapse(m.name)
        key = self._key(name)
        inst = self._actors.get(key)
        post = _POSTS.match(key)
        if inst is None and post:
            cls = _POST_CLASSES[post[1].split()[0]]
            iso = self.country(post[2]) if post[2] else None
            if iso is None and countries and len(countries) == 1 and not post[2]:
                iso = countries[0]
            inst = self._posts.get((cls, iso or ""))
        if inst is None:
            return ResolvedRef(uri=self.minter.actor(name), name=name, resolved=False, type=m.kind)
        return ResolvedRef(uri=inst.uri, name=inst.name_fr, type=inst.cls, country=inst.country)

    # Whole projects ----------------------------------------------------------------------

    def resolve(self, raw: RawProject, file: str) -> Project:
        """Resolve every mention of ``raw``; what fails becomes a located warning."""
        title = raw.titles.get(raw.language) or next(iter(raw.titles.values()), "")
        pid = raw.source_id or "p-" + short_hash(
            title, "|".join(a.name for a in raw.french_authorities), str(raw.start_year or "")
        )
        project = Project(id=pid, raw=raw)

        def warn(reason: str, column: str, kind: str) -> None:
            issue = Issue(file, reason, raw.line, raw.xpath, column, "warning", pid, kind)
            project.issues.append(issue)

        for mention in raw.french_authorities:
            resolved, notes = self.authority_notes(mention)
            for kind, reason in notes:
                warn(reason[0].upper() + reason[1:], "Collectivité", kind)
            if resolved.uri not in {r.uri for r in project.french_authorities}:
                project.french_authorities.append(resolved)
        for text in raw.countries:
            found = self._many(text, self.country)
            if found is None:
                warn(f"Pays inconnu : « {text} »", "Pays", "pays-inconnu")
            project.countries.extend(found or [])
        project.countries = unique(project.countries)
        for partner in raw.partners:
            resolved = self.partner(partner, project.countries)
            if resolved.country is None:
                warn(f"Pays du partenaire « {resolved.name} » inconnu", "Partenaire",
                     "partenaire-sans-pays")
            project.partners.append(resolved)
        if not project.countries:
            project.countries = unique(p.country for p in project.partners if p.country)
        for text in raw.themes:
            slugs = self._many(text, self.theme)
            if slugs is None:
                warn(f"Thématique inconnue : « {text} »", "Thématique", "theme-inconnu")
            project.themes.extend(slugs or [])
        project.themes = unique(project.themes)
        for code in raw.sectors:
            if self.dac_sector(code) is None:
                warn(f"Code secteur CAD inconnu : « {code} »", "Secteur CAD", "secteur-inconnu")
            else:
                project.sectors.append(code.strip())
        project.sectors = unique(project.sectors)
        for actor in raw.actors:
            resolved = self.actor(actor, project.countries)
            if not resolved.resolved and _POSTS.match(self._key(actor.name)):
                warn(f"Acteur « {resolved.name} » non rattaché à un poste connu", "Acteurs",
                     "acteur-non-rattache")
            project.actors.append((resolved, actor.role))
        return project

    @staticmethod
    def _many(text: str, look_up: Callable[[str], str | None]) -> list[str] | None:
        """One value, or several in one cell (« Sénégal ; Mali »); None if any is unknown."""
        whole = look_up(text)
        if whole:
            return [whole]
        pieces = split_values(text)
        found = [look_up(p) for p in pieces] if len(pieces) > 1 else [None]
        return None if None in found else [f for f in found if f]


def _ref(a: FrenchAuthority) -> ResolvedRef:
    return ResolvedRef(uri=a.uri, name=a.name, type=a.type)
