"""The French search queries and filters of the load benchmark (bench/load.py).

A query-result or query-vector cache (the search service keeps 512 query vectors) would hide the
cost of a search if a benchmark repeated a few texts, so the load test draws from thousands of
distinct texts: the people-written queries of ``bench/people_corpus`` and ``bench/french_check``
(French only), then subjects of real decentralised cooperation (water, health, culture, civil
registry, waste, agriculture, youth…) phrased in several ways and placed in many countries and
towns.  Every text is distinct, and a run walks them in a shuffled order without repeating
until the pool is exhausted.
"""

from __future__ import annotations

import itertools
import json
import random
from pathlib import Path

BENCH = Path(__file__).resolve().parent

#: What a ministry officer, an elected member or a researcher looks for, in their words.
SUBJECTS = (
    # eau et assainissement
    "accès à l'eau potable", "forages villageois", "gestion des points d'eau par les comités",
    "assainissement des quartiers", "latrines dans les écoles", "boues de vidange",
    "réseau d'adduction d'eau", "gestion d'un bassin versant", "maintenance des pompes manuelles",
    "tarification du service de l'eau",
    # santé
    "santé maternelle et infantile", "centre de santé communautaire", "lutte contre le paludisme",
    "formation des sages-femmes", "équipement d'un hôpital de district", "mutuelle de santé",
    "santé mentale des jeunes", "vaccination en zone rurale",
    # culture et patrimoine
    "restauration du patrimoine bâti", "festival de musique", "bibliothèque de lecture publique",
    "échanges artistiques entre villes jumelées", "musée et archives locales",
    "sauvegarde d'un centre historique", "résidences d'artistes",
    # état civil et gouvernance
    "modernisation de l'état civil", "numérisation des registres d'actes de naissance",
    "jugements supplétifs pour les enfants sans acte", "fiscalité locale et cadastre",
    "appui à la décentralisation", "formation des élus locaux", "budget participatif",
    "coopération entre services techniques municipaux", "archives municipales",
    # déchets
    "collecte des ordures ménagères", "tri et valorisation des déchets",
    "compostage des déchets verts",
    "fermeture d'une décharge sauvage", "recyclage du plastique", "pré-collecte par charrettes",
    # agriculture et alimentation
    "maraîchage et irrigation", "sécurité alimentaire", "filière cacao équitable",
    "coopératives agricoles de femmes", "lutte contre la désertification", "élevage pastoral",
    "banques de céréales", "transformation des produits agricoles", "agroécologie paysanne",
    # jeunesse, éducation, sport
    "insertion professionnelle des jeunes", "volontariat de réciprocité", "chantiers de jeunes",
    "construction d'écoles primaires", "formation professionnelle des artisans",
    "échanges scolaires", "équipements sportifs de quartier", "alphabétisation des adultes",
    # climat, énergie, environnement
    "électrification solaire des villages", "adaptation au changement climatique",
    "reboisement des berges", "protection des mangroves", "efficacité énergétique des bâtiments",
    "plan climat territorial",
    # économie, tourisme, urbanisme, numérique
    "tourisme solidaire", "appui aux microentreprises", "marché municipal",
    "aménagement urbain et voirie", "transport public urbain", "adressage des rues",
    "espaces numériques publics", "économie sociale et solidaire",
    # égalité, francophonie, urgence, recherche
    "égalité entre les femmes et les hommes", "accueil des réfugiés",
    "reconstruction après le séisme", "aide d'urgence après les inondations",
    "coopération universitaire", "promotion de la francophonie",
)

#: Where: countries and towns of French decentralised cooperation, with their preposition.
PLACES = (
    "au Sénégal", "au Burkina Faso", "au Mali", "à Madagascar", "au Maroc", "au Bénin", "au Niger",
    "en Tunisie", "en Haïti", "au Viêt Nam", "au Cameroun", "au Liban", "au Togo",
    "en Côte d'Ivoire", "en Palestine", "en Mauritanie", "en Algérie", "au Cambodge", "en Guinée",
    "au Brésil", "au Laos", "aux Comores", "en Roumanie", "en Arménie", "en Chine", "en Ukraine",
    "au Tchad", "en Pologne", "à Ziguinchor", "à Saint-Louis", "à Tombouctou", "à Ouagadougou",
    "dans la région de Kayes", "à Agadez", "à Essaouira", "à Hué", "à Jacmel", "à Tripoli",
    "dans le delta du Mékong", "au Sahel", "en Afrique de l'Ouest", "dans les Andes",
)

#: Ways of asking: a bare subject, a place, a request, a question.
TEMPLATES = (
    "{s} {p}",
    "projets de {s} {p}",
    "collectivités qui financent {s} {p}",
    "qui travaille sur {s} {p} ?",
    "{s}",
    "coopération décentralisée : {s} {p}",
    "exemples de {s} menés par des communes françaises {p}",
    "partenariat pour {s} {p}",
)

#: Filters of ``/api/search`` (values of the default dataset's facets); about half the
#: searches carry one or two.
COUNTRIES = ("SN", "BF", "ML", "MG", "MA", "BJ", "NE", "TN", "HT", "VN", "CM", "LB", "TG", "CI",
             "PS", "MR", "DZ", "KH", "GN", "BR")
THEMES = ("eau-assainissement", "education-formation", "gouvernance-locale",
          "agriculture-securite-alimentaire", "sante", "developpement-economique",
          "culture-patrimoine", "egalite-femmes-hommes", "climat-energie",
          "environnement-biodiversite", "jeunesse-sport", "urbanisme-mobilite", "numerique",
          "dechets", "etat-civil", "tourisme", "francophonie", "urgence-humanitaire")
AUTHORITY_TYPES = ("commune", "intercommunalite", "departement", "region")
REGIONS = ("84", "75", "11", "32", "76", "44", "28", "93", "27", "53", "52", "24")


def people_queries() -> list[str]:
    """The French queries people wrote for the quality checks (if present)."""
    texts: list[str] = []
    for path in (BENCH / "people_corpus" / "queries.json", BENCH / "french_check" / "queries.json"):
        if path.exists():
            texts += [q["text"] for q in json.loads(path.read_text("utf-8"))
                      if q.get("lang", "fr") == "fr"]
    return texts


def query_texts(seed: int = 13) -> list[str]:
    """Every distinct query text: the people-written ones first, then the composed ones, in a
    shuffled order (the same for a given seed)."""
    seen: dict[str, None] = {}
    for text in people_queries():
        seen.setdefault(" ".join(text.split()), None)
    composed = [t.format(s=s, p=p) for s, p, t in itertools.product(SUBJECTS, PLACES, TEMPLATES)]
    random.Random(seed).shuffle(composed)
    for text in composed:
        seen.setdefault(" ".join(text.split()), None)
    return list(seen)


def search_filters(rng: random.Random) -> dict[str, str]:
    """Filters for one search: none half the time, else one or two facets, a year range, an
    order or a second page."""
    if rng.random() < 0.5:
        return {}
    choice = rng.randrange(6)
    if choice == 0:
        return {"country": rng.choice(COUNTRIES)}
    if choice == 1:
        return {"theme": rng.choice(THEMES)}
    if choice == 2:
        return {"country": rng.choice(COUNTRIES), "theme": rng.choice(THEMES)}
    if choice == 3:
        return {"authority_type": rng.choice(AUTHORITY_TYPES), "region": rng.choice(REGIONS)}
    if choice == 4:
        year = rng.randrange(2005, 2024)
        return {"start_year_min": str(year), "start_year_max": str(year + rng.randrange(1, 5))}
    return {"sort": rng.choice(("recent", "cost")), "offset": str(rng.choice((0, 20, 40)))}
