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

#: Leading words naming the kind of authority -> the type they imply (tried longest first).
_DESIGNATORS = sorted(
    [(w, "departement") for w in ("conseil departemental", "conseil general", "departement")]
    + [(w, "region") for w in ("conseil regional", "region", "collectivite territoriale")]
    + [(w, "commune") for w in ("la ville", "ville", "commune", "mairie", "municipalite")]
    + [("cd", "departement"), ("cg", "departement"), ("cr", "region")],
    key=lambda pair: -len(pair[0]),
)
#: Article after a designator -> the article the official name may start with.
_ARTICLES = {"de la": "la", "de l": "l", "du": "le", "des": "les", "de": "", "d": ""}
#: Spelled-out EPCI kinds -> the COG's abbreviations ("CA du Grand Angoulême").
_EPCI_WORDS = {
    "communaute d agglomeration": "ca", "communaute de communes": "cc",
    "communaute urbaine": "cu", "agglomeration": "ca", "agglo": "ca",
}  # fmt: skip
#: Types a type hint accepts (the collectivités à statut particulier stand in for their level).
_HINT_TYPES = {
    "region": ("region", "statut-particulier"),
    "departement": ("departement", "statut-particulier"),
    "commune": ("commune",),
    "intercommunalite": ("intercommunalite", "statut-particulier"),
}
#: Without a hint, a name shared by several kinds means the larger authority ("Bretagne" is the
#: région, not the two small communes), except a département merged into another collectivité.
_TYPE_RANK = {
    "statut-particulier": 0,
    "region": 1,
    "departement": 2,
    "commune": 3,
    "intercommunalite": 4,
}
_MERGED_DEPARTEMENTS = frozenset({"75", "2A", "2B", "972", "973", "976"})
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
_TRAILING_CODE = re.compile(r"^(.*?) (\d[\dab]\d?|97\d)$")


class Resolver:
    """Look-ups from names and codes to reference URIs; one per import, reused across files."""

    def __init__(self, ref: ReferenceData, minter: UriMinter | None = None) -> None:
        self.ref = ref
        self.minter = minter or UriMinter(ref.base_uri)
        self._siren: dict[str, FrenchAuthority] = {}
        self._commune: dict[str, FrenchAuthority] = {}
        self._departement: dict[str, FrenchAuthority] = {}
        self._region: dict[str, FrenchAuthority] = {}
        self._names: dict[str, list[FrenchAuthority]] = defaultdict(list)
        for a in ref.authorities:
            if a.siren:
                self._siren[a.siren] = a
            if a.type == "commune" and a.insee:
                self._commune[a.insee] = a
            elif a.type == "departement" and a.insee:
                self._departement[a.insee] = a
            elif a.insee:
                self._region[a.insee] = a
            for key in _authority_keys(a):
                self._names[key].append(a)
        by_uri = {a.uri: a for a in ref.authorities}
        for alias, uri in ref.authority_aliases.items():
            self._names[name_key(alias)] = [by_uri[uri]]
        # Places used to disambiguate homonyms: « Saint-Denis (93) », « Saint-Denis (La Réunion) ».
        self._places: dict[str, str] = {}
        for a in [*self._departement.values(), *self._region.values()]:
            self._places.setdefault(name_key(a.name), a.insee or "")
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
        self._cache: dict[tuple[str, str | None, str | None], tuple[ResolvedRef, str | None]] = {}
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
        cache_key = (m.name, m.type_hint, m.code)
        if cache_key not in self._cache:
            self._cache[cache_key] = self._authority(m)
        return self._cache[cache_key]

    def _authority(self, m: AuthorityMention) -> tuple[ResolvedRef, str | None]:
        name, code, note = collapse(m.name), m.code, None
        if not code and _CODE.fullmatch(name.replace(" ", "")):  # a code typed as the name
            code = name
        if code:
            found = self._by_code(code, m.type_hint)
            if found:
                return _ref(found), None
            note = f"code « {code} » inconnu du COG 2026"
        chosen, reason = self._by_name(name, m.type_hint)
        if chosen:
            return _ref(chosen), "; ".join(r for r in (note, reason) if r) or None
        name = name or code or ""
        uri = self.minter.unresolved_authority(name)
        unresolved = ResolvedRef(uri, name, resolved=False, type=m.type_hint or "autre")
        why = f"collectivité « {name} » introuvable dans le COG 2026"
        return unresolved, f"{why} ({note})" if note else why

    def _by_code(self, code: str, hint: str | None) -> FrenchAuthority | None:
        code = re.sub(r"[\s.]", "", code).upper()
        if re.fullmatch(r"\d{9}|\d{14}", code):  # SIREN, or a SIRET whose first 9 are one
            return self._siren.get(code[:9])
        if re.fullmatch(r"\d{5}|2[AB]\d{3}", code):
            return self._commune.get(code)
        if re.fullmatch(r"\d{2,3}|2[AB]", code):
            if hint == "region":
                return self._region.get(code) or self._departement.get(code)
            return self._departement.get(code) or self._region.get(code)
        return None

    def _by_name(self, name: str, hint: str | None) -> tuple[FrenchAuthority | None, str | None]:
        place = None
        paren = _PAREN.match(name)
        if paren:  # « Saint-Denis (93) », « Montreuil (Seine-Saint-Denis) », « Lyon (ville) »
            name, inner = paren[1], self._key(paren[2])
            inner_kind = _strip_designator(inner + " x")[1]  # is it a designator word alone?
            if inner_kind:
                hint = hint or inner_kind
            else:
                place = inner
        key = self._key(name)
        candidates = self._names.get(key, [])
        if not candidates:
            variants, designated = _strip_designator(key)
            hint = hint or designated
            candidates = list({a.uri: a for v in variants for a in self._names.get(v, [])}.values())
        if not candidates and place is None:  # « Saint-Denis 93 »
            trailing = _TRAILING_CODE.match(key)
            if trailing:
                return self._by_name(f"{trailing[1]} ({trailing[2]})", hint)
        if not candidates:
            return None, None
        reasons = []
        if hint in _HINT_TYPES:
            typed = [a for a in candidates if a.type in _HINT_TYPES[hint]]
            if typed:
                candidates = typed
            else:
                reasons.append(f"aucune collectivité de type « {hint} » ne s'appelle « {name} »")
        if place:
            code = self._place_code(place)
            here = [a for a in candidates if code in (a.departement, a.region, a.insee)]
            candidates = here or candidates
        best = min(_rank(a, hint) for a in candidates)
        tied = [a for a in candidates if _rank(a, hint) == best]
        chosen = max(tied, key=lambda a: a.population or 0)
        if len(tied) > 1:
            where = chosen.departement or chosen.region or ""
            reasons.append(
                f"« {name} » désigne {len(tied)} collectivités homonymes ; retenue : "
                f"{chosen.name} ({where}), la plus peuplée"
            )
        return chosen, "; ".join(reasons) or None

    def _place_code(self, place: str) -> str:
        """INSEE code of a département or région given by code, name or postal code."""
        if re.fullmatch(r"\d{5}", place):  # a postal code: its département
            return place[:3] if place.startswith("97") else place[:2]
        return self._places.get(place) or place.upper()

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
        """
        iso = self.country(m.country) if m.country else None
        if iso is None and len(countries) == 1:
            iso = countries[0]
        name = collapse(m.name)
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

        def warn(reason: str, column: str) -> None:
            issue = Issue(file, reason, raw.line, raw.xpath, column, "warning", record=pid)
            project.issues.append(issue)

        for mention in raw.french_authorities:
            resolved, reason = self.authority(mention)
            if reason:
                warn(reason[0].upper() + reason[1:], "Collectivité")
            if resolved.uri not in {r.uri for r in project.french_authorities}:
                project.french_authorities.append(resolved)
        for text in raw.countries:
            found = self._many(text, self.country)
            if found is None:
                warn(f"Pays inconnu : « {text} »", "Pays")
            project.countries.extend(found or [])
        project.countries = unique(project.countries)
        for partner in raw.partners:
            resolved = self.partner(partner, project.countries)
            if resolved.country is None:
                warn(f"Pays du partenaire « {resolved.name} » inconnu", "Partenaire")
            project.partners.append(resolved)
        if not project.countries:
            project.countries = unique(p.country for p in project.partners if p.country)
        for text in raw.themes:
            slugs = self._many(text, self.theme)
            if slugs is None:
                warn(f"Thématique inconnue : « {text} »", "Thématique")
            project.themes.extend(slugs or [])
        project.themes = unique(project.themes)
        for code in raw.sectors:
            if self.dac_sector(code) is None:
                warn(f"Code secteur CAD inconnu : « {code} »", "Secteur CAD")
            else:
                project.sectors.append(code.strip())
        project.sectors = unique(project.sectors)
        for actor in raw.actors:
            resolved = self.actor(actor, project.countries)
            if not resolved.resolved and _POSTS.match(self._key(actor.name)):
                warn(f"Acteur « {resolved.name} » non rattaché à un poste connu", "Acteurs")
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


def _rank(a: FrenchAuthority, hint: str | None) -> int:
    if a.type == "departement" and a.insee in _MERGED_DEPARTEMENTS:
        return 9  # « Martinique », even as a département, is the collectivité unique
    return -1 if a.type == hint else _TYPE_RANK[a.type]


def _authority_keys(a: FrenchAuthority) -> set[str]:
    key = name_key(a.name)
    keys = {key}
    if a.type in ("intercommunalite", "statut-particulier") and a.epci_type:
        keys.add(_epci_canonical(key))
    return keys


def _epci_canonical(key: str) -> str:
    """« ca du grand angouleme » and « ca grand angouleme » share a key (article dropped)."""
    for words, abbreviation in _EPCI_WORDS.items():
        if key.startswith(words + " "):
            key = abbreviation + key[len(words) :]
            break
    head, _, rest = key.partition(" ")
    if head in ("ca", "cc", "cu"):
        rest = re.sub(r"^(?:de la|de l|du|des|de|d) ", "", rest)
        return f"{head} {rest}"
    return key


def _strip_designator(key: str) -> tuple[list[str], str | None]:
    """Name keys to try once « Ville de », « Conseil départemental du »… is removed.

    « departement du nord » -> ["nord", "le nord"]; « ville du havre » -> ["havre", "le havre"];
    the EPCI form of the key comes first (« communaute d agglomeration du x » -> « ca x »).
    """
    variants = [_epci_canonical(key)]
    for words, kind in _DESIGNATORS:
        if not key.startswith(words + " "):
            continue
        rest = key[len(words) + 1 :]
        for article, official in _ARTICLES.items():
            if rest.startswith(article + " "):
                core = rest[len(article) + 1 :]
                return [*variants, core, f"{official} {core}".strip()], kind
        return [*variants, rest], kind
    return variants, None
