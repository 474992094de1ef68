"""Relevance evaluation of the search on a labelled query set (the French check).

Used by ``tests/test_search_quality.py`` (the hybrid must never be worse than the better of its
two parts on any kind of query) and by ``bench/search.py`` (the numbers quoted in
docs/search.md). The check's passages are indexed exactly as projects are — title and
description through :func:`search_api.search.search_index.write_search_index` — and scored through
:class:`search_api.search.service.SearchService`, so what is measured is what is served.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

from search_api.search import ranking
from search_api.search.documents import ProjectDoc, split_sentences
from search_api.search.encoder import Encoder
from search_api.search.keyword_index import fold
from search_api.search.search_index import SearchIndex, write_search_index
from search_api.search.service import SearchService

KINDS = ("paraphrase", "keyword", "crosslingual", "short")
MODES = ("dense", "keyword", "hybrid", "rrf")
RRF_K = 60  # the usual constant of reciprocal-rank fusion


def load_check(folder: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Passages and queries of a check folder (``passages.json``, ``queries.json``)."""
    passages = json.loads((folder / "passages.json").read_text("utf-8"))
    queries = json.loads((folder / "queries.json").read_text("utf-8"))
    return passages, queries


def check_docs(passages: Iterable[dict[str, Any]]) -> list[ProjectDoc]:
    """The passages as projects (title + description), sorted by id like an index."""
    docs = [ProjectDoc(id=p["id"], uri=f"urn:check:{p['id']}", title=p["title"],
                       description=p["text"], themes=(p["theme"],)) for p in passages]
    return sorted(docs, key=lambda d: d.id)


def check_service(passages: list[dict[str, Any]], encoder: Encoder, folder: Path,
                  settings: Any, weights: ranking.FusionWeights | None = None) -> SearchService:
    """Index the passages into ``folder`` and return a service over them."""
    docs = check_docs(passages)
    vocab: dict[str, dict[str, str]] = {
        "country": {}, "region": {}, "authority_type": {},
        "theme": {t: t for d in docs for t in d.themes},
    }
    write_search_index(docs, vocab, folder, None, encoder, settings)
    return SearchService(SearchIndex.load(folder, encoder), weights)


def rrf(*score_lists: np.ndarray, k: int = RRF_K) -> np.ndarray:
    """Reciprocal-rank fusion: Σ 1 / (k + rank) over the lists (rank 1 = best)."""
    total = np.zeros(len(score_lists[0]))
    for scores in score_lists:
        order = np.argsort(-np.asarray(scores), kind="stable")
        ranks = np.empty(len(order))
        ranks[order] = np.arange(1, len(order) + 1)
        total += 1.0 / (k + ranks)
    return total


def mode_scorer(service: SearchService, mode: str,
                weights: ranking.FusionWeights | None = None) -> Callable[[str], np.ndarray]:
    """A function query → score of every document, for one mode of :data:`MODES`."""
    dense_only = ranking.FusionWeights(keyword_short=0.0, keyword_sentence=0.0, theme_prior=0.0,
                                       keyword_boost=0.0, phrase_bonus=0.0)
    if mode == "dense":
        return lambda q: service.scores(q, dense_only)
    if mode == "keyword":
        return lambda q: service.index.keyword.scores(q).astype(np.float64)
    if mode == "rrf":
        return lambda q: rrf(service.scores(q, dense_only), service.index.keyword.scores(q))
    return lambda q: service.scores(q, weights)


def metrics(rankings: list[list[str]],
            queries: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """MRR@10 and recall@5 per query kind and overall, from each query's ranked ids."""
    per_kind: dict[str, list[tuple[float, float]]] = {}
    for ranked, query in zip(rankings, queries, strict=True):
        relevant = set(query["relevant"])
        rr = next((1.0 / (r + 1) for r, pid in enumerate(ranked[:10]) if pid in relevant), 0.0)
        recall = len(relevant & set(ranked[:5])) / len(relevant)
        for kind in (query["kind"], "all"):
            per_kind.setdefault(kind, []).append((rr, recall))
    return {
        kind: {"mrr@10": round(statistics.fmean(v[0] for v in values), 3),
               "recall@5": round(statistics.fmean(v[1] for v in values), 3),
               "n": len(values)}
        for kind, values in sorted(per_kind.items(), key=lambda kv: (kv[0] == "all", kv[0]))
    }


def evaluate(service: SearchService, queries: list[dict[str, Any]],
             modes: Iterable[str] = MODES,
             weights: ranking.FusionWeights | None = None,
             ) -> dict[str, dict[str, dict[str, float]]]:
    """Metrics of each mode on the labelled ``queries``."""
    ids = [doc.id for doc in service.index.docs]
    out: dict[str, dict[str, dict[str, float]]] = {}
    for mode in modes:
        scorer = mode_scorer(service, mode, weights)
        rankings = []
        for query in queries:
            scores = scorer(query["text"])
            rankings.append([ids[i] for i in ranking.rank(scores, 0, 10)])
        out[mode] = metrics(rankings, queries)
    return out


def hybrid_shortfall(report: dict[str, dict[str, dict[str, float]]],
                     metric: str = "mrr@10") -> dict[str, float]:
    """Per kind, how far the hybrid falls below the better of dense and keyword (≤ 0: never
    worse)."""
    return {
        kind: round(max(report["dense"][kind][metric], report["keyword"][kind][metric])
                    - report["hybrid"][kind][metric], 3)
        for kind in report["hybrid"]
    }


#: Paraphrase queries over the built corpus, each with the theme its answers should carry
#: (written for cooplink; French, plus English and Spanish ones).
THEME_QUERIES: list[tuple[str, str]] = [
    ("aider des villages sahéliens à gérer leurs forages", "eau-assainissement"),
    ("numériser les registres d'état civil", "etat-civil"),
    ("faire venir des touristes dans une région rurale", "tourisme"),
    ("soigner les mères et les nouveau-nés dans les dispensaires", "sante"),
    ("ramasser et recycler les ordures de la ville", "dechets"),
    ("scolariser les enfants et former les enseignants", "education-formation"),
    ("aider les paysans à mieux produire et stocker leurs récoltes",
     "agriculture-securite-alimentaire"),
    ("planter des arbres et protéger les espèces menacées", "environnement-biodiversite"),
    ("panneaux solaires et économies d'énergie", "climat-energie"),
    ("restaurer un monument ancien et animer la vie culturelle", "culture-patrimoine"),
    ("soutenir les femmes victimes de violences et leur autonomie", "egalite-femmes-hommes"),
    ("former les élus et améliorer la fiscalité locale", "gouvernance-locale"),
    ("échanges entre universités et laboratoires", "recherche-enseignement-superieur"),
    ("accueillir les réfugiés après un séisme", "urgence-humanitaire"),
    ("terrains de sport et activités pour les adolescents", "jeunesse-sport"),
    ("plan de circulation, transports en commun et aménagement urbain", "urbanisme-mobilite"),
    ("connecter les mairies à internet et former au numérique", "numerique"),
    ("créer des emplois et soutenir les petites entreprises", "developpement-economique"),
    ("promouvoir la langue française", "francophonie"),
    ("drinking water for villages", "eau-assainissement"),
    ("birth registration of children", "etat-civil"),
    ("gestión de residuos sólidos urbanos", "dechets"),
]


def corpus_queries(service: SearchService, seed: int = 0,
                   n: int = 60) -> dict[str, list[tuple[str, set[int]]]]:
    """Labelled queries over an indexed corpus, by kind (positions of relevant documents):

    * ``theme`` — :data:`THEME_QUERIES`, relevant: projects of the theme (precision@10);
    * ``short`` — a partner town and a theme word (« Tillabéri eau »), relevant: projects
      with that partner and theme (known item, MRR@10);
    * ``sentence`` — the longest sentence of a project's description, copied, relevant: every
      project containing it verbatim (known item, MRR@10)."""
    docs = service.index.docs
    rng = np.random.default_rng(seed)
    labels = service.index.vocab["theme"]
    out: dict[str, list[tuple[str, set[int]]]] = {"theme": [], "short": [], "sentence": []}
    for text, theme in THEME_QUERIES:
        out["theme"].append((text, {i for i, d in enumerate(docs) if theme in d.themes}))
    for i in rng.choice(len(docs), min(n, len(docs)), replace=False):
        doc = docs[int(i)]
        if doc.partners and doc.themes:
            place, theme = doc.partners[0].name.split()[-1], doc.themes[0]
            query = f"{place} {labels.get(theme, theme).split()[0].lower()}"
            out["short"].append((query, {j for j, d in enumerate(docs) if theme in d.themes
                                         and any(place in p.name for p in d.partners)}))
    folded = [" ".join(fold(d.text).split()) for d in docs]
    for i in rng.choice(len(docs), min(n, len(docs)), replace=False):
        sentences = split_sentences(docs[int(i)].description)
        if sentences:
            sentence = max(sentences, key=len)
            key = " ".join(fold(sentence).split())
            out["sentence"].append((sentence, {j for j, t in enumerate(folded) if key in t}))
    return out


def corpus_report(service: SearchService, seed: int = 0, modes: Iterable[str] = MODES,
                  ) -> dict[str, dict[str, float]]:
    """Per mode: precision@10 on ``theme`` queries and MRR@10 on the known-item kinds."""
    queries = corpus_queries(service, seed)
    out: dict[str, dict[str, float]] = {}
    for mode in modes:
        scorer = mode_scorer(service, mode)
        row: dict[str, float] = {}
        for kind, items in queries.items():
            values = []
            for text, relevant in items:
                top = ranking.rank(scorer(text), 0, 10).tolist()
                if kind == "theme":
                    values.append(sum(i in relevant for i in top) / 10)
                else:
                    values.append(next((1 / (r + 1) for r, i in enumerate(top) if i in relevant),
                                       0.0))
            row[kind] = round(statistics.fmean(values), 3) if values else 0.0
        out[mode] = row
    return out
