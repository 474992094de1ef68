"""Namespaces and URI minting shared by ingest, the store and the API.

The ontology namespace is fixed (``https://w3id.org/cooplink/def#``) so that queries and the
``cl:similarity`` extension function do not depend on where a deployment runs.  Instance URIs
(authorities, projects, countries…) are minted under one configured base (``COOPLINK_BASE_URI``)
that does not depend on where the server runs: by default the project's persistent namespace
``https://w3id.org/cooplink/`` (issue 12), so an identifier a linked-data consumer stores
outlives a move of the service.  The server dereferences them by path wherever it runs
(``/id/…``), and w3id.org redirects there (docs/uris.md).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass

CL = "https://w3id.org/cooplink/def#"
#: The two concept schemes are part of the published vocabulary, so their URIs are fixed like
#: the ontology's; the server still dereferences them under ``/theme/...`` and ``/secteur-cad/...``.
THEME = "https://w3id.org/cooplink/theme/"
DAC = "https://w3id.org/cooplink/secteur-cad/"
ORG = "http://www.w3.org/ns/org#"
SKOS = "http://www.w3.org/2004/02/skos/core#"
DCTERMS = "http://purl.org/dc/terms/"
SCHEMA = "http://schema.org/"
FOAF = "http://xmlns.com/foaf/0.1/"
PROV = "http://www.w3.org/ns/prov#"
IGEO = "http://rdf.insee.fr/def/geo#"
INSEE_GEO = "http://id.insee.fr/geo/"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
OWL = "http://www.w3.org/2002/07/owl#"
XSD = "http://www.w3.org/2001/XMLSchema#"
SH = "http://www.w3.org/ns/shacl#"
VOID = "http://rdfs.org/ns/void#"
DCAT = "http://www.w3.org/ns/dcat#"

#: Prefixes offered to SPARQL users (CLI, editor, examples).
PREFIXES: dict[str, str] = {
    "cl": CL,
    "theme": THEME,
    "cad": DAC,
    "org": ORG,
    "skos": SKOS,
    "dcterms": DCTERMS,
    "schema": SCHEMA,
    "foaf": FOAF,
    "prov": PROV,
    "igeo": IGEO,
    "rdf": RDF,
    "rdfs": RDFS,
    "owl": OWL,
    "xsd": XSD,
}

#: Base of the instance URIs: ``https://w3id.org/cooplink/id/projet/…``.  Not the server's
#: address: the server maps a request path to ``base + path`` (``search_api.http.linked_data``).
DEFAULT_BASE_URI = "https://w3id.org/cooplink"


def sparql_prologue() -> str:
    """The PREFIX lines for every prefix in :data:`PREFIXES`."""
    return "".join(f"PREFIX {p}: <{ns}>\n" for p, ns in PREFIXES.items())


def slugify(text: str, max_length: int = 80) -> str:
    """ASCII, lower-case, dash-separated slug; stable across runs (used inside URIs)."""
    folded = unicodedata.normalize("NFKD", text)
    folded = "".join(c for c in folded if not unicodedata.combining(c))
    folded = re.sub(r"[^A-Za-z0-9]+", "-", folded).strip("-").lower()
    return folded[:max_length].strip("-") or "x"


def short_hash(*parts: str, length: int = 10) -> str:
    """Deterministic short hex digest of the parts (for ids of records without one)."""
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()
    return digest[:length]


@dataclass(frozen=True)
class UriMinter:
    """Mints every instance URI from one base, so a deployment can move its URIs in one setting.

    Paths are French nouns, like the rest of the public surface.
    """

    base: str = DEFAULT_BASE_URI

    def _u(self, *path: str) -> str:
        return self.base.rstrip("/") + "/" + "/".join(path)

    # French authorities (real, from the COG)
    def region(self, insee: str) -> str:
        return self._u("id", "region", insee)

    def departement(self, insee: str) -> str:
        return self._u("id", "departement", insee)

    def commune(self, insee: str) -> str:
        return self._u("id", "commune", insee)

    def epci(self, siren: str) -> str:
        return self._u("id", "epci", siren)

    def collectivite(self, siren: str) -> str:
        """A French authority outside the COG lists, by SIREN (Collectivité européenne d'Alsace)."""
        return self._u("id", "collectivite", siren)

    def groupement(self, name: str) -> str:
        """A grouping outside the COG (syndicat, SDIS, CHU…), by its name as written."""
        return self._u("id", "groupement", slugify(name))

    def unresolved_authority(self, name: str) -> str:
        return self._u("id", "collectivite", "nr-" + slugify(name))

    # Foreign side
    def country(self, iso2: str) -> str:
        return self._u("id", "pays", iso2.upper())

    def foreign_authority(self, iso2: str | None, name: str) -> str:
        return self._u("id", "collectivite-etrangere", f"{(iso2 or 'xx').lower()}-{slugify(name)}")

    # Vocabularies (concept schemes)
    @staticmethod
    def theme_scheme() -> str:
        return THEME.rstrip("/")

    @staticmethod
    def theme(slug: str) -> str:
        return THEME + slug

    @staticmethod
    def dac_scheme() -> str:
        return DAC.rstrip("/")

    @staticmethod
    def dac_sector(code: str) -> str:
        return DAC + code

    # Actors, networks, partnerships, projects
    def actor(self, key: str) -> str:
        return self._u("id", "acteur", slugify(key))

    def network(self, key: str) -> str:
        return self._u("id", "reseau", slugify(key))

    def partnership(self, french_uri: str, foreign_uri: str) -> str:
        # Hashed on the paths, not the full URIs: the same pair keeps its identifier under
        # any base (a deployment that changes ``base_uri`` rebuilds the same paths).
        return self._u("id", "partenariat",
                       short_hash(self._path(french_uri), self._path(foreign_uri), length=16))

    def _path(self, uri: str) -> str:
        base = self.base.rstrip("/")
        return uri[len(base):] if uri.startswith(base + "/") else uri

    def project(self, project_id: str) -> str:
        return self._u("id", "projet", slugify(project_id, max_length=120))

    def participation(self, project_id: str, index: int) -> str:
        return self.project(project_id) + f"/participation/{index}"

    # Named graphs and provenance
    def graph(self, name: str) -> str:
        return self._u("graph", slugify(name))

    def import_activity(self, graph: str, sha256: str) -> str:
        """The import of one file into one named graph (``graph`` is a name or a graph URI)."""
        name = graph.rstrip("/").rsplit("/", 1)[-1]
        return self._u("provenance", slugify(name), sha256[:16])

    def source_file(self, sha256: str) -> str:
        return self._u("source", sha256[:16])


def insee_territory(kind: str, code: str) -> str:
    """The INSEE geography URI of a territory (``kind`` in region, departement, commune)."""
    return f"{INSEE_GEO}{kind}/{code}"
