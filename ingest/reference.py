"""Real reference data vendored in ``graph/reference/`` (COG 2026, IATI/DAC codelists, countries).

API CONTRACT (other modules code against these names):

- ``ReferenceData.load() -> ReferenceData`` reads only files inside the repo/package
  (``graph/reference/*``, read through ``graph.reference_tables``, and
  ``ontology/themes.ttl``) and ``pycountry``;
  never the developers' shared input folder.
- ``authorities``: every French local authority of the COG 2026: régions, collectivités à statut
  particulier, 101 départements, the communes (``commune-actuelle``), 1,255 EPCI, the 11 EPT of
  the Grand Paris and the Collectivité européenne d'Alsace.
  ``FrenchAuthority.uri`` is minted by ``graph.namespaces.UriMinter``.
- ``countries``: ISO alpha-2 -> Country, the 249 ISO countries plus Kosovo (XK), French display
  names.
- ``themes``: slug -> Theme, the 19 cooperation themes of ``ontology/themes.ttl``.
- ``dac_sectors``: 5-digit and 3-digit code -> DacSector.
- ``institutions``: the real national institutions, networks and per-country embassies/SCAC/IF.

Collectivités à statut particulier (type ``statut-particulier``), decided from the CGCT:

- Corse (région 94, « Collectivité de Corse » since 2018), Martinique (02) and Guyane (03)
  (collectivités territoriales uniques since 2015) and Mayotte (06, a single « Département de
  Mayotte » exercising regional powers) keep their région URI and code, so the communes'
  ``cl:region`` still points at them.  Their old départements (2A, 2B, 972, 973, 976) stay in the
  COG as territories and are kept as ``departement`` so the 101 départements are all present; the
  resolver prefers the collectivité when a name is ambiguous.
- The overseas collectivities 975 Saint-Pierre-et-Miquelon, 977 Saint-Barthélemy, 978
  Saint-Martin, 986 Wallis-et-Futuna, 987 Polynésie française and 988 Nouvelle-Calédonie (sui
  generis) appear in the COG both as « région » and « département » with one code; each becomes
  one authority with a région URI.  984 (TAAF) and 989 (Clipperton) are State-administered
  territories without an elected council: they and their districts are left out.
- Métropole de Lyon (EPCI type MET69) is a collectivité territoriale, not an EPCI: statut
  particulier, still minted under its SIREN with its members.
- Paris stays a commune (75056); the Ville de Paris also holds the département powers, and the
  COG still lists département 75, kept like 2A/2B.
- The Collectivité européenne d'Alsace (CeA, SIREN 200094332, since 2021) is not in the COG (67
  and 68 remain départements there): it comes from the hand-written
  ``collectivites_hors_cog.csv``, as a statut-particulier authority minted under its SIREN
  (``/id/collectivite/200094332``), placed in région 44 and over the territories 67 and 68.
- The 11 établissements publics territoriaux (EPT) of the Grand Paris (``ept.csv``, from the
  package's ``ept.json``) are intercommunalités of EPCI type ``EPT`` with their member communes.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path

from graph.namespaces import DEFAULT_BASE_URI, UriMinter

# The tables live on the ground floor (search reads them too); re-exported here, where the
# resolver, the synthetic generator and the tests import them.
from graph.reference_tables import REFERENCE_DIR as REFERENCE_DIR
from graph.reference_tables import Country as Country
from graph.reference_tables import load_countries as load_countries
from graph.reference_tables import rows as _rows

#: Installed next to ``ingest`` (package ``ontology``): holds for editable and wheel installs.
THEMES_TTL = Path(__file__).resolve().parent.parent / "ontology" / "themes.ttl"


@dataclass(frozen=True)
class FrenchAuthority:
    uri: str
    type: str  # region | departement | commune | intercommunalite | statut-particulier
    name: str  # official name, e.g. "Ille-et-Vilaine", "Montreuil", "Métropole Européenne de Lille"
    insee: str | None  # INSEE code (région, département, commune); None for EPCI
    siren: str | None  # SIREN where the COG has it (communes, EPCI)
    region: str | None  # INSEE code of its région
    departement: str | None  # INSEE code of its département
    population: int | None = None
    epci_type: str | None = None  # CC, CA, CU, METRO, MET69, EPT
    members: tuple[str, ...] = ()  # URIs of member authorities (EPCI -> communes)
    #: Which list it comes from: "cog" (régions, départements, communes, EPCI à fiscalité
    #: propre), "ept" (the Grand Paris territories) or "loi" (created by a law, not in the COG).
    origin: str = "cog"
    #: A single collectivity's former départements (INSEE codes), whose councils it replaced.
    territories: tuple[str, ...] = ()


@dataclass(frozen=True)
class Theme:
    slug: str
    label_fr: str
    label_en: str
    alt_labels: tuple[str, ...] = ()  # French and English alternative labels
    dac_categories: tuple[str, ...] = ()  # 3-digit DAC categories (skos:closeMatch)
    definition_fr: str = ""
    definition_en: str = ""


@dataclass(frozen=True)
class DacSector:
    code: str  # 5-digit purpose code or 3-digit category
    name_fr: str
    name_en: str
    category: str | None  # 3-digit parent for a 5-digit code
    active: bool = True


@dataclass(frozen=True)
class Institution:
    key: str  # stable slug used in its URI
    cls: str  # ontology class local name, e.g. "AgenceDeveloppement", "AssociationNationaleElus"
    name_fr: str
    name_en: str
    acronym: str | None = None
    homepage: str | None = None
    country: str | None = None  # ISO alpha-2 for embassies, SCAC, Instituts français
    parent: str | None = None  # key of the parent organisation (SCAC -> embassy)
    region: str | None = None  # INSEE région code for RRMA
    uri: str = ""


#: Classes minted under ``/id/reseau/`` (the subclasses of cl:Reseau); others under ``/id/acteur/``.
NETWORK_CLASSES = frozenset(
    {"Reseau", "ReseauRegionalMultiActeurs", "AssociationNationaleElus", "ReseauThematique"}
)
#: Régions that are collectivités à statut particulier (see the module docstring).
_SPECIAL_REGIONS = frozenset({"94", "02", "03", "06"})
#: Single collectivities -> the départements whose council they took over (Corse 2018, Martinique
#: and Guyane 2015, Mayotte 2011); the resolver sends those départements' names to them.
_SINGLE_COLLECTIVITIES = {"94": ("2A", "2B"), "02": ("972",), "03": ("973",), "06": ("976",)}
#: Overseas collectivities with an elected council (COG "région" and "département" at once).
_OVERSEAS_COLLECTIVITIES = frozenset({"975", "977", "978", "986", "987", "988"})
#: State-administered territories without a local authority.
_NO_AUTHORITY = frozenset({"984", "989"})
_VOWELS = tuple("AEIOUYÂÉÈÊÎÏÔÛÀH")


def _int(text: str) -> int | None:
    return int(text) if text else None


def _authorities(minter: UriMinter) -> list[FrenchAuthority]:
    out: list[FrenchAuthority] = []
    for r in _rows("regions.csv"):
        code = r["code"]
        if code in _NO_AUTHORITY:
            continue
        special = code in _SPECIAL_REGIONS or code in _OVERSEAS_COLLECTIVITIES
        kind = "statut-particulier" if special else "region"
        territories = _SINGLE_COLLECTIVITIES.get(code, ())
        out.append(
            FrenchAuthority(
                minter.region(code), kind, r["nom"], code, None, None, None,
                territories=territories,
            )
        )
    for d in _rows("departements.csv"):
        if d["zone"] == "com":  # the overseas collectivities are already in, at région level
            continue
        uri, code = minter.departement(d["code"]), d["code"]
        out.append(FrenchAuthority(uri, "departement", d["nom"], code, None, d["region"], None))
    communes: dict[str, FrenchAuthority] = {}
    for c in _rows("communes.csv"):
        if c["departement"] in _NO_AUTHORITY:
            continue
        code, siren, population = c["code"], c["siren"] or None, _int(c["population"])
        communes[code] = FrenchAuthority(
            minter.commune(code),
            "commune",
            c["nom"],
            code,
            siren,
            c["region"],
            c["departement"],
            population,
        )
    out.extend(communes.values())
    epci = [(e, "cog") for e in _rows("epci.csv")] + [(e, "ept") for e in _rows("ept.csv")]
    for e, origin in epci:
        members = [communes[code] for code in e["membres"].split() if code in communes]
        # The COG gives no seat for an EPCI: its most populous member stands for it (that is the
        # seat for nearly all of them), which places it in a département and région.
        main = max(members, key=lambda m: m.population or 0)
        kind = "statut-particulier" if e["type"] == "MET69" else "intercommunalite"
        out.append(
            FrenchAuthority(
                minter.epci(e["siren"]),
                kind,
                e["nom"],
                None,
                e["siren"],
                main.region,
                main.departement,
                _int(e["population"]),
                e["type"],
                tuple(m.uri for m in members),
                origin,
            )
        )
    for r in _rows("collectivites_hors_cog.csv"):
        territories = tuple(r["departements"].split())
        out.append(
            FrenchAuthority(
                minter.collectivite(r["siren"]),
                "statut-particulier",
                r["nom"],
                None,
                r["siren"],
                r["region"],
                None,
                sum(a.population or 0 for a in communes.values() if a.departement in territories),
                origin="loi",
                territories=territories,
            )
        )
    return out


def _themes() -> dict[str, Theme]:
    from rdflib import Graph, Literal, URIRef
    from rdflib.namespace import RDF, SKOS

    graph = Graph().parse(THEMES_TTL, format="turtle")

    def text(subject: URIRef, predicate: URIRef, lang: str) -> str:
        for value in graph.objects(subject, predicate):
            if isinstance(value, Literal) and value.language == lang:
                return str(value)
        return ""

    out: dict[str, Theme] = {}
    for concept in graph.subjects(RDF.type, SKOS.Concept):
        assert isinstance(concept, URIRef)
        slug = str(graph.value(concept, SKOS.notation))
        alt = tuple(sorted(str(v) for v in graph.objects(concept, SKOS.altLabel)))
        matches = graph.objects(concept, SKOS.closeMatch)
        dac = tuple(sorted(str(v).rsplit("/", 1)[1] for v in matches))
        labels = [
            text(concept, p, lang)
            for p in (SKOS.prefLabel, SKOS.definition)
            for lang in ("fr", "en")
        ]
        out[slug] = Theme(slug, labels[0], labels[1], alt, dac, labels[2], labels[3])
    return dict(sorted(out.items()))


def _dac_sectors() -> dict[str, DacSector]:
    out: dict[str, DacSector] = {}
    for r in [*_rows("dac_categories.csv"), *_rows("dac_sectors.csv")]:
        # Withdrawn codes have no French name: the English one stands in.
        name_fr, category = r["name_fr"] or r["name_en"], r.get("category") or None
        out[r["code"]] = DacSector(
            r["code"], name_fr, r["name_en"], category, r["status"] == "active"
        )
    return out


def _uri(minter: UriMinter, key: str, cls: str) -> str:
    return minter.network(key) if cls in NETWORK_CLASSES else minter.actor(key)


def _posts(minter: UriMinter, countries: dict[str, Country]) -> list[Institution]:
    """Embassy, SCAC and Institut français for every sovereign DAC recipient country.

    They are generated so that « Ambassade de France au Sénégal » or « SCAC » in a spreadsheet
    resolves to one entity per country; the French preposition comes from the hand-written
    ``countries_fr.csv`` (au / en / aux / à / à la), which is left empty for territories that
    are not sovereign states and for North Korea (no diplomatic relations).  A few embassies are
    non-resident (accredited from a neighbouring country); the name is still the one used.
    """
    out: list[Institution] = []
    for row in _rows("countries_fr.csv"):
        prep, iso2 = row["preposition"], row["iso2"]
        if not prep or iso2 not in countries:
            continue
        country = countries[iso2]
        noun = row["nom_poste"] or country.name_fr
        where = f"{prep} {noun}"
        of = {"au": "du ", "aux": "des ", "à la": "de la "}.get(prep)
        if of is None:  # "en", "à": "de", elided before a vowel or mute h
            of = "d'" if noun.upper().startswith(_VOWELS) else "de "
            if noun.startswith("République"):  # "de la République centrafricaine"
                of = "de la "
        iso, name_en = iso2.lower(), country.name_en
        embassy = Institution(
            f"ambassade-de-france-{iso}",
            "Ambassade",
            f"Ambassade de France {where}",
            f"Embassy of France in {name_en}",
            country=iso2,
        )
        scac = Institution(
            f"scac-{iso}",
            "SCAC",
            f"Service de coopération et d'action culturelle de l'ambassade de France {where}",
            f"Cooperation and Cultural Action Service, Embassy of France in {name_en}",
            acronym="SCAC",
            country=iso2,
            parent=embassy.key,
        )
        out += [embassy, scac]
        # "non" where France has no resident post (Pacific and eastern Caribbean micro-states,
        # Bhutan, Maldives, Lesotho, Eswatini, covered from a neighbouring embassy) or the post
        # is closed (Afghanistan, Syria, Yemen, Somalia).
        if row["institut_francais"] == "oui":
            out.append(
                Institution(
                    f"institut-francais-{iso}",
                    "InstitutFrancais",
                    f"Institut français {of}{noun}",
                    f"Institut français, {name_en}",
                    country=iso2,
                )
            )
    return [_with_uri(minter, i) for i in out]


def _with_uri(minter: UriMinter, inst: Institution) -> Institution:
    return replace(inst, uri=_uri(minter, inst.key, inst.cls))


def _institutions(minter: UriMinter, countries: dict[str, Country]) -> list[Institution]:
    listed = []
    for r in _rows("institutions.csv"):
        acronym, homepage, country, parent, region = (
            r[k] or None for k in ("acronym", "homepage", "country", "parent", "region")
        )
        listed.append(
            Institution(
                r["key"],
                r["cls"],
                r["name_fr"],
                r["name_en"],
                acronym,
                homepage,
                country,
                parent,
                region,
            )
        )
    return [_with_uri(minter, i) for i in listed] + _posts(minter, countries)


def _authority_aliases(authorities: list[FrenchAuthority]) -> dict[str, str]:
    by_code: dict[tuple[str, str], str] = {}
    for a in authorities:
        if a.siren:
            by_code["siren", a.siren] = a.uri
        if a.insee and a.type in ("region", "statut-particulier"):
            by_code["region", a.insee] = a.uri
    return {r["alias"]: by_code[(r["kind"], r["code"])] for r in _rows("authority_aliases.csv")}


@dataclass
class ReferenceData:
    authorities: list[FrenchAuthority] = field(default_factory=list)
    countries: dict[str, Country] = field(default_factory=dict)
    themes: dict[str, Theme] = field(default_factory=dict)
    dac_sectors: dict[str, DacSector] = field(default_factory=dict)
    institutions: list[Institution] = field(default_factory=list)
    base_uri: str = DEFAULT_BASE_URI
    #: Usual names that are not the official one ("Grand Lyon", "Collectivité de Corse") -> URI.
    authority_aliases: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, base_uri: str | None = None) -> ReferenceData:
        """Read the vendored reference files and ``pycountry``; URIs minted under ``base_uri``.

        Raises ``FileNotFoundError`` if a vendored file is missing.
        """
        minter = UriMinter(base_uri or DEFAULT_BASE_URI)
        countries = load_countries()
        authorities = _authorities(minter)
        return cls(
            authorities=authorities,
            countries=countries,
            themes=_themes(),
            dac_sectors=_dac_sectors(),
            institutions=_institutions(minter, countries),
            base_uri=minter.base,
            authority_aliases=_authority_aliases(authorities),
        )

    def authority_counts(self) -> Counter[str]:
        """Number of authorities by type (for reports and the stats page)."""
        return Counter(a.type for a in self.authorities)
