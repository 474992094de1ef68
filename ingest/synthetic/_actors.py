"""The other actors of synthetic projects: real institutions and invented organisations.

Embassies, SCAC and Instituts français come from the reference data of the project's country;
AFD, the DAECT, water agencies, ADEME, IRD/CIRAD and France Volontaires appear where their
mandate fits the project; associations, universities, hospitals and businesses are invented
(names from :class:`ingest.synthetic.names.ActorNamer`) and reused across projects of the
same scope.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from decimal import Decimal

from ingest.records import ActorMention
from ingest.reference import FrenchAuthority, Institution, ReferenceData
from ingest.synthetic._pools import table
from ingest.synthetic.names import ActorNamer

#: Water agency of each région's main river basin (financeur of water projects, « 1 % eau »).
_WATER_AGENCY = (
    ("agence-de-l-eau-loire-bretagne", "24 52 53"),
    ("agence-de-l-eau-seine-normandie", "11 28"),
    ("agence-de-l-eau-artois-picardie", "32"),
    ("agence-de-l-eau-rhin-meuse", "44"),
    ("agence-de-l-eau-adour-garonne", "75 76"),
    ("agence-de-l-eau-rhone-mediterranee-corse", "27 84 93 94"),
)


@dataclass
class CreatedActor:
    """A synthetic actor made while drawing projects."""

    key: str
    cls: str
    name: str
    country: str | None


#: ``ActorMention.kind`` of each synthetic actor class.
_KINDS = {"Association": "association", "Universite": "universite", "Hopital": "hopital",
          "Entreprise": "entreprise"}
_BUILDING_THEMES = ("eau-assainissement", "dechets", "climat-energie", "urbanisme-mobilite",
                    "numerique")


class ActorPicker:
    """Chooses the other actors of a project: real institutions and synthetic ones."""

    def __init__(self, reference: ReferenceData, rng: random.Random) -> None:
        self._rng = rng
        self._names = ActorNamer(rng)
        self._posts: dict[tuple[str, str], Institution] = {}
        self._by_key: dict[str, Institution] = {}
        for inst in reference.institutions:
            self._by_key[inst.key] = inst
            if inst.country:
                self._posts.setdefault((inst.cls, inst.country), inst)
        self._pools: dict[tuple[str, str], list[CreatedActor]] = {}
        self.created: list[CreatedActor] = []

    def for_project(
        self,
        iso2: str,
        themes: list[str],
        cost: Decimal,
        cofinancing: Decimal,
        lead: FrenchAuthority,
        place: str,
        country_name: str,
    ) -> list[ActorMention]:
        """The project's other actors with their roles (from ``ingest.records.ROLES``)."""
        rng, out = self._rng, []

        def real(inst: Institution | None, role: str, kind: str) -> None:
            if inst is not None:
                out.append(ActorMention(inst.name_fr, role, kind))

        if rng.random() < 0.25:
            real(self._posts.get(("Ambassade", iso2)), "appui", "ambassade")
        if rng.random() < 0.15:
            real(self._posts.get(("SCAC", iso2)), rng.choice(("appui", "financeur")), "scac")
        cultural = {"culture-patrimoine", "francophonie"} & set(themes)
        if rng.random() < (0.35 if cultural else 0.03):
            real(self._posts.get(("InstitutFrancais", iso2)), rng.choice(("appui", "operateur")),
                 "institut-francais")
        if cost > 150_000 and rng.random() < 0.15:
            real(self._by_key.get("afd"), "financeur", "agence")
        if cofinancing > 0 and rng.random() < 0.2:
            real(self._by_key.get("daect"), "financeur", "institution")
        if "eau-assainissement" in themes and rng.random() < 0.5:
            real(self._by_key.get(table(_WATER_AGENCY, lead.region) or ""), "financeur",
                 "institution")
        if "climat-energie" in themes and rng.random() < 0.1:
            real(self._by_key.get("ademe"), "financeur", "institution")
        research = {"agriculture-securite-alimentaire", "recherche-enseignement-superieur"}
        if research & set(themes) and rng.random() < 0.1:
            real(self._by_key.get(rng.choice(("ird", "cirad"))), "appui", "institution")
        if rng.random() < 0.04:
            real(self._by_key.get("france-volontaires"), "appui", "association")
        values = {"lieu": place, "pays": country_name, "ville": lead.name}
        for cls, french, chance, roles in (
            ("Association", True, 0.45, ("operateur", "maitre-oeuvre", "appui")),
            ("Association", False, 0.35, ("operateur", "appui")),
            ("Universite", False, 0.5 if "recherche-enseignement-superieur" in themes else 0.04,
             ("appui", "operateur")),
            ("Hopital", False, 0.45 if "sante" in themes else 0.02, ("operateur", "appui")),
            ("Entreprise", rng.random() < 0.5,
             0.25 if set(_BUILDING_THEMES) & set(themes) else 0.03, ("maitre-oeuvre", "operateur")),
        ):
            if rng.random() < chance:
                actor = self._actor(cls, french, iso2, lead, values)
                out.append(ActorMention(actor.name, rng.choice(roles), _KINDS[cls]))
        return out

    def _actor(self, cls: str, french: bool, iso2: str, lead: FrenchAuthority,
               values: dict[str, str]) -> CreatedActor:
        # French associations work in one country, from one région (their name may say both)
        scope = f"FR-{lead.region or lead.insee}-{iso2}" if french else iso2
        pool = self._pools.setdefault((cls, scope), [])
        if pool and self._rng.random() < 0.7:
            return self._rng.choice(pool)
        du_pays = values["pays"]
        name = self._names.name(cls, french, {**values, "du_pays": f"de {du_pays}"})
        actor = CreatedActor(f"syn-{cls.lower()}-{len(self.created) + 1:05d}", cls, name,
                             "FR" if french else iso2)
        pool.append(actor)
        self.created.append(actor)
        return actor

    def operator_phrase(self, mentions: list[ActorMention], lang: str) -> str:
        """Who carries out the work, for the description (an operator's name, or a generic one)."""
        for m in mentions:
            if m.role in ("operateur", "maitre-oeuvre"):
                return with_article(m.name) if lang == "fr" else m.name
        generic = {
            "fr": ("une association locale de développement", "les services techniques municipaux",
                   "une ONG partenaire", "un bureau d'études local", "un comité de pilotage mixte"),
            "en": ("a local development NGO", "the municipal technical services"),
            "es": ("una ONG local", "los servicios técnicos municipales"),
        }[lang]
        return self._rng.choice(generic)

    def support_phrase(self, mentions: list[ActorMention], lang: str, locative: str) -> str:
        """Who backs the project, for the description."""
        for m in mentions:
            if m.kind in ("ambassade", "scac", "agence", "institution", "institut-francais"):
                return with_article(m.name) if lang == "fr" else m.name
        generic = {
            "fr": ("plusieurs partenaires techniques et financiers",
                   "des services déconcentrés de l'État",
                   f"des partenaires institutionnels présents {locative}",
                   "des réseaux régionaux de coopération"),
            "en": ("several technical and financial partners",),
            "es": ("varios socios técnicos y financieros",),
        }[lang]
        return self._rng.choice(generic)


def with_article(name: str) -> str:
    """« l'Ambassade de France au Sénégal », « le Centre médical de … », or the bare name."""
    head = name.split(" ", 1)[0]
    if head in ("Ambassade", "Agence", "Institut", "Association", "Université", "École",
                "Hôpital", "ONG", "Union", "Entreprise", "Expertise"):
        return "l'" + name
    if head in ("Service", "Centre", "Comité", "Groupement", "Bureau", "Collectif", "Consulat",
                "Programme"):
        return "le " + name
    if head in ("Délégation", "Coopérative", "Fédération", "Commission"):
        return "la " + name
    return name
