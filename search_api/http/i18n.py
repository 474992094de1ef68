"""Interface languages of the HTML pages: French by default, English on request.

Every user-visible string of the search pages lives in :data:`STRINGS`, French first. The
language comes from ``?lang=en|fr`` (which the pages remember in a cookie) or from that cookie;
it never depends on ``Accept-Language``, so a shared link shows the same page to everyone.
Data labels (themes, countries) come from the graph, not from here: see :class:`Labels`.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from jinja2 import pass_context
from jinja2.runtime import Context

LANGUAGES = ("fr", "en")
DEFAULT_LANGUAGE = "fr"
COOKIE = "lang"

#: key → (French, English). ``{name}`` fields are filled by :meth:`Translator.__call__`.
STRINGS: Mapping[str, tuple[str, str]] = MappingProxyType({
    "site.tagline": ("coopération décentralisée", "decentralised cooperation"),
    "skip": ("Aller au contenu", "Skip to content"),
    "nav.label": ("Navigation principale", "Main navigation"),
    "nav.search": ("Recherche", "Search"),
    "nav.pooling": ("Mutualisation", "Pooling"),
    "nav.sparql": ("Éditeur SPARQL", "SPARQL editor"),
    "nav.api": ("API", "API"),
    "lang.other": ("English", "Français"),
    "lang.other_code": ("en", "fr"),
    "lang.switch": ("Switch to English", "Passer en français"),
    "footer.sources": (
        "Données de référence : INSEE COG 2026 (Licence Ouverte), IATI (CC BY 4.0).",
        "Reference data: INSEE COG 2026 (Licence Ouverte), IATI (CC BY 4.0).",
    ),
    "synthetic.notice": (
        "Corpus de démonstration : {synthetic} projets sur {projects} sont synthétiques, générés "
        "à partir des référentiels réels ; ils ne décrivent pas des coopérations réelles.",
        "Demonstration corpus: {synthetic} of {projects} projects are synthetic, generated from "
        "the real reference data; they do not describe real cooperations.",
    ),
    "tier.notice": (
        "Index de recherche provisoire ({model}) : la recherche par le sens se calcule en "
        "arrière-plan et remplacera celui-ci d'elle-même dans quelques minutes.",
        "Provisional search index ({model}): search by meaning is being computed in the "
        "background and will replace it by itself within minutes.",
    ),
    "empty.store": (
        "Aucun graphe n'est encore construit : lancez « cooplink build ».",
        "No graph has been built yet: run “cooplink build”.",
    ),
    # ---- search page
    "search.title": ("Rechercher des coopérations", "Search cooperations"),
    "search.label": ("Que cherchez-vous ?", "What are you looking for?"),
    "search.placeholder": ("ex. aider des villages sahéliens à gérer leurs forages",
                           "e.g. help Sahelian villages manage their boreholes"),
    "search.hint": (
        "Une phrase suffit : la recherche trouve les projets qui font la même chose, même "
        "s'ils l'écrivent avec d'autres mots. Laissez vide pour lister les projets filtrés.",
        "A sentence is enough: search finds the projects that do the same thing, even in other "
        "words (or languages). Leave empty to list the filtered projects.",
    ),
    "search.submit": ("Rechercher", "Search"),
    "facets.title": ("Affiner", "Refine"),
    "facets.apply": ("Appliquer les filtres", "Apply filters"),
    "facets.clear": ("Effacer les filtres", "Clear filters"),
    "facets.more": ("Voir les {n} autres", "Show {n} more"),
    "facet.country": ("Pays", "Country"),
    "facet.theme": ("Thème", "Theme"),
    "facet.authority_type": ("Type de collectivité", "Type of authority"),
    "facet.region": ("Région de la collectivité", "Region of the authority"),
    "facet.years": ("Année de début", "Start year"),
    "facet.year_min": ("Depuis", "From"),
    "facet.year_max": ("Jusqu'à", "Until"),
    "facet.any_year": ("indifférent", "any"),
    "results.title": ("Résultats", "Results"),
    "results.none": ("Aucune coopération ne correspond.", "No cooperation matches."),
    "results.one": ("1 coopération", "1 cooperation"),
    "results.many": ("{n} coopérations", "{n} cooperations"),
    "results.for": ("pour « {q} »", "for “{q}”"),
    "results.range": ("résultats {start} à {end}", "results {start} to {end}"),
    "results.close": ("dont {n} proches de la requête", "{n} of them close matches"),
    "results.close_none": ("aucune très proche de la requête ; toutes sont classées",
                           "none very close to the query; all are ranked"),
    "results.far": ("Résultats plus éloignés de la requête",
                    "Results further from the query"),
    "facets.relevant": ("{relevant} proches sur {count}", "{relevant} close of {count}"),
    "place.title": ("Lieux compris dans la recherche", "Places understood in the search"),
    "place.country": ("Pays", "Country"),
    "place.world_region": ("Région du monde", "World region"),
    "place.city": ("Ville", "City"),
    "place.partner": ("Partenaire", "Partner"),
    "place.province": ("Province", "Province"),
    "place.french_region": ("Région française", "French région"),
    "place.french_departement": ("Département français", "French département"),
    "place.remove": ("Ignorer ce lieu", "Ignore this place"),
    "place.filter": ("filtrer", "filter"),
    "place.filter_long": ("N'afficher que les projets de ce lieu",
                          "Show only the projects of this place"),
    "place.explain": ("Les projets de ce lieu passent en premier.",
                      "Projects in this place come first."),
    "place.ignored": ("Les lieux nommés dans la recherche sont ignorés.",
                      "Places named in the search are ignored."),
    "place.restore": ("Les prendre en compte", "Take them into account"),
    "export.label": ("Exporter et réutiliser", "Export and reuse"),
    "export.csv": ("Télécharger en CSV", "Download as CSV"),
    "export.json": ("Même résultat en JSON", "Same results as JSON"),
    "export.sparql": ("Voir la requête SPARQL", "See the SPARQL query"),
    "paging.label": ("Pages de résultats", "Result pages"),
    "paging.previous": ("Précédent", "Previous"),
    "paging.next": ("Suivant", "Next"),
    "paging.page": ("Page {n}", "Page {n}"),
    "paging.current": ("page {n} sur {pages}", "page {n} of {pages}"),
    # ---- result cards
    "card.authorities": ("Collectivités françaises", "French authorities"),
    "card.partners": ("Partenaires", "Partners"),
    "card.countries": ("Pays", "Countries"),
    "card.themes": ("Thèmes", "Themes"),
    "card.years": ("Années", "Years"),
    "card.since": ("depuis {start}", "since {start}"),
    "card.unknown_years": ("non renseignées", "not given"),
    "card.score": ("pertinence", "relevance"),
    "card.similar": ("Coopérations comparables", "Comparable cooperations"),
    "card.pooling": ("Qui d'autre travaille ici sur ce thème ?",
                     "Who else works on this theme here?"),
    "card.record": ("Fiche détaillée", "Full record"),
    # ---- comparable cooperations
    "similar.title": ("Coopérations comparables", "Comparable cooperations"),
    "similar.source": ("Projet de référence", "Reference project"),
    "similar.intro": (
        "Projets menés par d'autres collectivités françaises, du plus proche au moins proche, "
        "avec les raisons du rapprochement.",
        "Projects led by other French authorities, closest first, with the reasons they match.",
    ),
    "similar.description": ("Description du projet", "Project description"),
    "similar.why": ("Pourquoi ce rapprochement", "Why it matches"),
    "similar.none": ("Aucun projet comparable.", "No comparable project."),
    "similar.back": ("Retour à la recherche", "Back to search"),
    "why.semantic": ("Similarité sémantique", "Semantic similarity"),
    "why.themes": ("Thèmes communs", "Shared themes"),
    "why.country": ("Même pays", "Same country"),
    "why.neighbour": ("Pays voisin", "Neighbouring country"),
    "why.region": ("Même région du monde (CAD)", "Same world region (DAC)"),
    "why.partner": ("Même partenaire", "Same partner"),
    "why.terms": ("Termes clés communs", "Shared key terms"),
    # ---- pooling
    "pooling.title": ("Mutualisation", "Pooling"),
    "pooling.question": ("Qui travaille déjà sur ce thème dans ce pays ?",
                         "Who already works on this theme in this country?"),
    "pooling.any": ("— tous —", "— all —"),
    "pooling.submit": ("Afficher", "Show"),
    "pooling.prompt": ("Choisissez un pays, un thème ou les deux.",
                       "Choose a country, a theme or both."),
    "pooling.projects": ("{n} projets concernés", "{n} projects concerned"),
    "pooling.authorities": ("Collectivités françaises présentes", "French authorities present"),
    "pooling.authorities_none": ("Aucune collectivité française sur ce périmètre.",
                                 "No French authority in this scope."),
    "pooling.clusters": ("Pistes de mutualisation", "Pooling opportunities"),
    "pooling.clusters_intro": (
        "Groupes d'au plus {max} projets menés par au moins deux collectivités différentes, "
        "titrés par ce qu'ils partagent : même partenaire, même région partenaire ou même "
        "sous-thème. Les plus utiles d'abord (nombre de collectivités, cohérence).",
        "Groups of at most {max} projects led by at least two different authorities, titled by "
        "what they share: same partner, same partner region or same sub-topic. Most useful "
        "first (number of authorities, coherence).",
    ),
    "pooling.clusters_none": ("Aucun groupe de projets à mutualiser.",
                              "No group of projects to pool."),
    "pooling.similarity": ("similarité moyenne {value}", "average similarity {value}"),
    "pooling.project_count": ("{n} projet(s)", "{n} project(s)"),
    "pooling.authority_count": ("{n} collectivités", "{n} authorities"),
    "pooling.kind.partner": ("Même partenaire : {value}", "Same partner: {value}"),
    "pooling.kind.province": ("Même région partenaire : {value}",
                              "Same partner region: {value}"),
    "pooling.kind.subtopic": ("Sous-thème : {value}", "Sub-topic: {value}"),
    "pooling.kind.similar": ("Projets proches", "Similar projects"),
    "pooling.part": ("{n}/{of}", "{n}/{of}"),
    "pooling.terms": ("Termes communs", "Shared terms"),
    "pooling.contacts": ("Qui mettre en relation", "Who to put in touch"),
    "pooling.col.authority": ("Collectivité", "Authority"),
    "pooling.col.networks": ("Réseaux", "Networks"),
    "pooling.col.years": ("Années", "Years"),
    "pooling.col.amount": ("Coût des projets", "Project cost"),
    "pooling.col.cofinancing": ("Cofinancement MEAE", "MEAE co-financing"),
    "pooling.col.projects": ("Projets", "Projects"),
    "pooling.no_network": ("aucun réseau connu", "no known network"),
    "pooling.unknown": ("non renseigné", "not given"),
    "pooling.amounts_note": (
        "Montants : coût total des projets de la collectivité dans ce groupe et part cofinancée "
        "par le ministère (MEAE) ; un projet mené à plusieurs compte pour chacune.",
        "Amounts: total cost of the authority's projects in this group and the share "
        "co-financed by the ministry (MEAE); a project led jointly counts for each authority.",
    ),
    "pooling.group_projects": ("Les projets du groupe", "The group's projects"),
    "pooling.csv": ("Télécharger ce groupe (CSV)", "Download this group (CSV)"),
    "pooling.csv_all": ("Tous les groupes en CSV", "All groups as CSV"),
    "pooling.search": ("Voir ces projets dans la recherche", "See these projects in search"),
    # ---- authority types (the ``authority_type`` filter values)
    "type.region": ("Région", "Region"),
    "type.departement": ("Département", "Département"),
    "type.commune": ("Commune", "Municipality"),
    "type.intercommunalite": ("Intercommunalité", "Inter-municipal body"),
    "type.syndicat": ("Syndicat", "Joint syndicate"),
    "type.autre": ("Autre collectivité", "Other authority"),
    "error.title": ("Erreur {status}", "Error {status}"),
    "error.back": ("Retour à l'accueil", "Back to the home page"),
})


def choose_language(query_value: str | None, cookie_value: str | None) -> str:
    """``?lang=`` wins over the cookie; anything unknown falls back to French."""
    for value in (query_value, cookie_value):
        if value and value.lower() in LANGUAGES:
            return value.lower()
    return DEFAULT_LANGUAGE


def format_number(n: int, lang: str) -> str:
    """Thousands grouped as each language writes them (« 12 345 », "12,345")."""
    text = f"{n:,}"
    return text.replace(",", "\u202f") if lang == "fr" else text


def format_euros(amount: float, lang: str) -> str:
    """An amount in euros, rounded to the euro: « 45 000 € » (narrow no-break space between
    thousands, no-break space before the sign) or "€45,000"."""
    number = format_number(round(amount), lang)
    return f"{number}\u00a0€" if lang == "fr" else f"€{number}"


def format_years(years: list[int]) -> str:
    """Years as runs: [2014, 2015, 2016, 2019] → « 2014–2016, 2019 »."""
    runs: list[list[int]] = []
    for year in sorted(set(years)):
        if runs and year == runs[-1][-1] + 1:
            runs[-1].append(year)
        else:
            runs.append([year])
    return ", ".join(f"{r[0]}–{r[-1]}" if len(r) > 1 else str(r[0]) for r in runs)


class Translator:
    """The UI strings of one language: ``t("results.many", n=3)``."""

    def __init__(self, lang: str) -> None:
        self.lang = lang if lang in LANGUAGES else DEFAULT_LANGUAGE
        self._column = LANGUAGES.index(self.lang)

    def __call__(self, key: str, **values: Any) -> str:
        pair = STRINGS.get(key)
        if pair is None:  # a missing key shows itself instead of breaking the page
            return key
        text = pair[self._column]
        return text.format(**values) if values else text

    def number(self, n: int) -> str:
        return format_number(n, self.lang)

    def euros(self, amount: float) -> str:
        return format_euros(amount, self.lang)


@pass_context
def translate(context: Context, key: str, **values: Any) -> str:
    """Jinja global ``t(key)``: translates into the template's ``lang`` (French when absent), so
    pages rendered by other routers (errors, entities) share the header's strings."""
    return Translator(str(context.get("lang") or DEFAULT_LANGUAGE))(key, **values)


def install(env: Any) -> None:
    """Make ``t(...)`` available to every template of a Jinja environment."""
    env.globals["t"] = translate


class Labels:
    """Display labels of filter values in one language: French from the search index's
    vocabularies (themes and countries as the graph labels them), English from the graph's
    ``@en`` labels, read once per served generation by the caller."""

    def __init__(self, vocab: Mapping[str, Mapping[str, str]],
                 english: Mapping[str, Mapping[str, str]], lang: str) -> None:
        self.vocab = vocab
        self.english = english
        self.lang = lang
        self._t = Translator(lang)

    def label(self, field: str, value: str) -> str:
        """The label of ``value`` in filter ``field`` (the value itself when unknown)."""
        if field == "authority_type":
            return self._t(f"type.{value}") if f"type.{value}" in STRINGS else value
        if self.lang == "en":
            english = self.english.get(field, {}).get(value)
            if english:
                return english
        return self.vocab.get(field, {}).get(value, value)

    def country(self, iso2: str) -> str:
        return self.label("country", iso2)

    def theme(self, slug: str) -> str:
        return self.label("theme", slug)

    def authority_type(self, kind: str) -> str:
        return self.label("authority_type", kind)
