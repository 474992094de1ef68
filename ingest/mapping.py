"""Resolved records → RDF quads, following ``docs/model.md``.

Everything a project says lands in its source's named graph; provenance of the import
(``prov:Activity``, file hash, time) lands in the meta graph, so re-ingesting the same file
yields an isomorphic source graph whatever the clock says.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import pyoxigraph as ox

from graph.namespaces import CL, DCTERMS, PROV, RDF, RDFS, XSD, UriMinter
from ingest.records import Project, ResolvedRef

_TYPE = ox.NamedNode(RDF + "type")
_LABEL = ox.NamedNode(RDFS + "label")
_TRUE = ox.Literal("true", datatype=ox.NamedNode(XSD + "boolean"))

AUTHORITY_CLASS = {
    "region": "Region",
    "departement": "Departement",
    "commune": "Commune",
    "intercommunalite": "Intercommunalite",
    "statut-particulier": "CollectiviteStatutParticulier",
    "syndicat": "Syndicat",
    "etablissement-public": "EtablissementPublic",
    "gip": "GIP",
    "autre": "CollectiviteTerritoriale",
}
ACTOR_CLASS = {
    "association": "Association",
    "universite": "Universite",
    "hopital": "Hopital",
    "entreprise": "Entreprise",
    "ambassade": "Ambassade",
    "scac": "SCAC",
    "institut-francais": "InstitutFrancais",
    "agence": "AgenceDeveloppement",
    "institution": "InstitutionPublique",
}
STATUS_INDIVIDUAL = {
    "prevu": "statutPrevu",
    "en-cours": "statutEnCours",
    "termine": "statutTermine",
    "suspendu": "statutSuspendu",
    "annule": "statutAnnule",
}
ROLE_INDIVIDUAL = {
    "financeur": "roleFinanceur",
    "responsable": "roleResponsable",
    "operateur": "roleOperateur",
    "maitre-oeuvre": "roleMaitreOeuvre",
    "appui": "roleAppui",
}


def cl(local: str) -> ox.NamedNode:
    return ox.NamedNode(CL + local)


def _int(value: int) -> ox.Literal:
    return ox.Literal(str(value), datatype=ox.NamedNode(XSD + "integer"))


def _dec(value: Decimal) -> ox.Literal:
    # Canonical xsd:decimal form ("30000.0", "120000.5"): Turtle writers print decimals that
    # way, so a round trip through a dump keeps the same lexical form (golden tests rely on it).
    text = format(value.normalize(), "f")
    if "." not in text:
        text += ".0"
    return ox.Literal(text, datatype=ox.NamedNode(XSD + "decimal"))


def _text(value: str, lang: str | None = None) -> ox.Literal:
    return ox.Literal(value, language=lang) if lang else ox.Literal(value)


@dataclass(frozen=True)
class ImportInfo:
    """Where a batch of records comes from (one file, or the synthetic generator)."""

    graph: str  # named graph URI
    source_name: str  # file name as given by the user
    sha256: str
    started: datetime
    synthetic: bool = False


class Mapper:
    """Turns resolved projects and side records into quads of one named graph."""

    def __init__(self, minter: UriMinter, info: ImportInfo) -> None:
        self.minter = minter
        self.info = info
        self.graph = ox.NamedNode(info.graph)
        self.activity = ox.NamedNode(minter.import_activity(info.graph, info.sha256))
        self._seen: set[str] = set()  # entities already described in this batch

    def _q(self, s: ox.NamedNode, p: ox.NamedNode, o: ox.NamedNode | ox.Literal) -> ox.Quad:
        return ox.Quad(s, p, o, self.graph)

    def provenance(self, meta_graph: str, record_count: int) -> list[ox.Quad]:
        """PROV description of this import, for the meta graph."""
        g = ox.NamedNode(meta_graph)
        src = ox.NamedNode(self.minter.source_file(self.info.sha256))
        act = self.activity
        when = ox.Literal(self.info.started.isoformat(), datatype=ox.NamedNode(XSD + "dateTime"))
        return [
            ox.Quad(act, _TYPE, ox.NamedNode(PROV + "Activity"), g),
            ox.Quad(
                act, _LABEL, ox.Literal(f"Import de {self.info.source_name}", language="fr"), g
            ),
            ox.Quad(act, ox.NamedNode(PROV + "used"), src, g),
            ox.Quad(act, ox.NamedNode(PROV + "startedAtTime"), when, g),
            ox.Quad(act, ox.NamedNode(PROV + "generated"), self.graph, g),
            ox.Quad(self.graph, ox.NamedNode(PROV + "wasGeneratedBy"), act, g),
            ox.Quad(self.graph, cl("nombreEnregistrements"), _int(record_count), g),
            ox.Quad(src, _TYPE, cl("ImportSource"), g),
            ox.Quad(src, ox.NamedNode(DCTERMS + "source"), ox.Literal(self.info.source_name), g),
            ox.Quad(src, cl("sha256"), ox.Literal(self.info.sha256), g),
        ]

    def country_link(self, uri: str, iso2: str | None) -> list[ox.Quad]:
        """``<uri> cl:pays <country>`` when the country is known (partners, actors)."""
        if not iso2:
            return []
        return [self._q(ox.NamedNode(uri), cl("pays"), ox.NamedNode(self.minter.country(iso2)))]

    def entity(
        self,
        ref: ResolvedRef,
        cls: str,
        extra: Iterable[ox.Quad] = (),
        known: bool | None = None,
    ) -> Iterator[ox.Quad]:
        """Describe an entity unless the reference graph already does (``known``, by default
        ``ref.resolved``); foreign partners are never in the reference graph."""
        if ref.resolved if known is None else known:
            return
        if ref.uri in self._seen:
            return
        self._seen.add(ref.uri)
        node = ox.NamedNode(ref.uri)
        yield self._q(node, _TYPE, cl(cls))
        yield self._q(node, _LABEL, _text(ref.name, "fr"))
        if not ref.resolved:
            yield self._q(node, cl("nonResolu"), _TRUE)
        if self.info.synthetic:
            yield self._q(node, cl("synthetique"), _TRUE)
        yield from extra

    def partnership(
        self,
        french: ResolvedRef,
        foreign: ResolvedRef,
        kind: str | None = None,
        year: int | None = None,
    ) -> tuple[ox.NamedNode, list[ox.Quad]]:
        uri = ox.NamedNode(self.minter.partnership(french.uri, foreign.uri))
        quads: list[ox.Quad] = []
        if uri.value not in self._seen:
            self._seen.add(uri.value)
            quads += [
                self._q(uri, _TYPE, cl("Partenariat")),
                self._q(uri, cl("collectiviteFrancaise"), ox.NamedNode(french.uri)),
                self._q(uri, cl("partenaireEtranger"), ox.NamedNode(foreign.uri)),
                self._q(uri, _LABEL, _text(f"{french.name} – {foreign.name}", "fr")),
            ]
            if foreign.country:
                quads.append(
                    self._q(uri, cl("pays"), ox.NamedNode(self.minter.country(foreign.country)))
                )
            if self.info.synthetic:
                quads.append(self._q(uri, cl("synthetique"), _TRUE))
        if kind == "jumelage":
            quads.append(self._q(uri, _TYPE, cl("Jumelage")))
        elif kind == "convention":
            quads.append(self._q(uri, _TYPE, cl("Convention")))
        if year is not None:
            quads.append(self._q(uri, cl("anneeSignature"), _int(year)))
        return uri, quads

    def project(self, p: Project) -> list[ox.Quad]:
        raw = p.raw
        node = ox.NamedNode(self.minter.project(p.id))
        q = self._q
        out: list[ox.Quad] = [
            q(node, _TYPE, cl("Projet")),
            q(node, ox.NamedNode(DCTERMS + "identifier"), ox.Literal(p.id)),
            q(node, ox.NamedNode(DCTERMS + "language"), ox.Literal(raw.language)),
            q(node, ox.NamedNode(PROV + "wasGeneratedBy"), self.activity),
        ]
        for lang, title in raw.titles.items():
            out.append(q(node, ox.NamedNode(DCTERMS + "title"), _text(title, lang)))
        main_title = raw.titles.get(raw.language) or next(iter(raw.titles.values()))
        out.append(q(node, _LABEL, _text(main_title, raw.language)))
        for lang, text in raw.descriptions.items():
            out.append(q(node, ox.NamedNode(DCTERMS + "description"), _text(text, lang)))
        if raw.status:
            out.append(q(node, cl("statut"), cl(STATUS_INDIVIDUAL[raw.status])))
        if raw.start_year is not None:
            out.append(q(node, cl("anneeDebut"), _int(raw.start_year)))
        if raw.end_year is not None:
            out.append(q(node, cl("anneeFin"), _int(raw.end_year)))
        for prop, amount in (
            ("coutTotal", raw.total_cost),
            ("cofinancementMEAE", raw.ministry_cofinancing),
            ("partCollectivites", raw.authorities_share),
        ):
            if amount is not None:
                out.append(q(node, cl(prop), _dec(amount)))
        if any(
            a is not None for a in (raw.total_cost, raw.ministry_cofinancing, raw.authorities_share)
        ):
            out.append(q(node, cl("devise"), ox.Literal(raw.currency)))
        for slug in p.themes:
            out.append(q(node, cl("theme"), ox.NamedNode(self.minter.theme(slug))))
        for code in p.sectors:
            out.append(q(node, cl("secteurCAD"), ox.NamedNode(self.minter.dac_sector(code))))
        for iso2 in p.countries:
            out.append(q(node, cl("pays"), ox.NamedNode(self.minter.country(iso2))))
        if raw.line is not None:
            out.append(q(node, cl("ligneSource"), _int(raw.line)))
        if raw.xpath:
            out.append(q(node, cl("cheminSource"), ox.Literal(raw.xpath)))
        if raw.synthetic:
            out.append(q(node, cl("synthetique"), _TRUE))
        for fa in p.french_authorities:
            out.append(q(node, cl("collectiviteFrancaise"), ox.NamedNode(fa.uri)))
            # A grouping outside the COG (« SDE 35 ») is placed in the département it names.
            extra = []
            if fa.departement:
                where = ox.NamedNode(self.minter.departement(fa.departement))
                extra.append(q(ox.NamedNode(fa.uri), cl("departement"), where))
            out += self.entity(
                fa, AUTHORITY_CLASS.get(fa.type or "autre", "CollectiviteTerritoriale"), extra
            )
        for pa in p.partners:
            out.append(q(node, cl("partenaireEtranger"), ox.NamedNode(pa.uri)))
            extra = self.country_link(pa.uri, pa.country)
            out += self.entity(pa, "CollectiviteEtrangere", extra, known=False)
            for fa in p.french_authorities:
                uri, quads = self.partnership(fa, pa)
                out += quads
                out.append(q(node, cl("partenariat"), uri))
        for index, (actor, role) in enumerate(p.actors, start=1):
            part = ox.NamedNode(self.minter.participation(p.id, index))
            out += [
                q(node, cl("participation"), part),
                q(part, _TYPE, cl("Participation")),
                q(part, cl("acteur"), ox.NamedNode(actor.uri)),
                q(part, cl("role"), cl(ROLE_INDIVIDUAL.get(role, "roleAppui"))),
            ]
            out += self.entity(actor, ACTOR_CLASS.get(actor.type or "", "Acteur"))
        return out
