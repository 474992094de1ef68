"""``SearchService``: hybrid search, comparable projects and pooling over one :class:`SearchIndex`.

Everything here returns typed answers (:mod:`search_api.search.answers`, which serialise to the
API's JSON), for the JSON routes, the CSV export, the HTML pages and the CLI alike. The maths is
in :mod:`search_api.search.ranking`; this module wires the model call, the indexes and the
filters around it.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np

from graph.errors import BadRequest
from search_api.search import ranking
from search_api.search._batcher import QueryBatcher
from search_api.search._comparison import Comparator
from search_api.search._filters import SearchFilters, sparql_for, validate
from search_api.search._snippets import match_spans, snippet
from search_api.search.answers import (
    FacetEntry,
    PoolingAnswer,
    QueryReading,
    SearchAnswer,
    SearchResult,
    SimilarAnswer,
    authority_refs,
    partner_refs,
)
from search_api.search.documents import ProjectDoc
from search_api.search.keyword_index import fold
from search_api.search.search_index import FIELDS, SearchIndex
from search_api.search.understanding import QueryReader, Understood

MAX_LIMIT = 100
#: Unfiltered queries over an approximate (HNSW) index score this many dense neighbours, plus
#: as many keyword matches; every other search scores its candidates exhaustively.
APPROXIMATE_POOL = 2000
QUERY_CACHE = 512


@dataclass(frozen=True)
class _Encoded:
    """A query's vector and, when it was encoded with a batch over an exact index, its dense
    and reference scores against every document (else ``None``: computed on demand)."""

    vector: np.ndarray
    dense: np.ndarray | None = None
    reference: np.ndarray | None = None
#: Place steering of a query whose subject is generic: above any score difference.
PLACE_ONLY = 1e3


def limit_threads(threads: int) -> None:
    """Cap BLAS (numpy) and FAISS thread pools of this process at ``threads``.

    Process-wide on purpose, for serving: with the default two OpenBLAS threads per call and
    16 concurrent requests, the pools fight over the 2 cores — measured 17 requests/s against
    126 with one thread (docs/search.md)."""
    import faiss

    faiss.omp_set_num_threads(threads)
    try:  # threadpoolctl comes with sentence-transformers' scikit-learn
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover
        return
    threadpool_limits(limits=threads, user_api="blas")


def _check_paging(limit: int, offset: int, max_limit: int) -> None:
    if not 1 <= limit <= max_limit:
        raise BadRequest(f"limit doit être compris entre 1 et {max_limit} (reçu : {limit})")
    if offset < 0:
        raise BadRequest(f"offset doit être positif ou nul (reçu : {offset})")


class SearchService:
    """Search over one loaded index (one store generation)."""

    def __init__(self, index: SearchIndex, weights: ranking.FusionWeights | None = None,
                 place_forms: tuple[Any, ...] | None = None) -> None:
        self.index = index
        self.weights = weights or ranking.FusionWeights()
        self.comparator = Comparator(index)
        # Places in queries (issue 9); ``place_forms``: the built-in gazetteer, kept by the
        # caller across index reloads (reading it is most of the reader's construction).
        self.reader = QueryReader(index, place_forms)
        self._lock = threading.Lock()  # guards the query-vector cache
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        # One encoder call at a time, batching the queries of concurrent requests, and
        # scoring them against every document together.
        self._batcher = QueryBatcher(self._encode_batch)
        # Listing order of a search without text: most recent first, then identifier.
        years = index.years.astype(np.float64)
        self._recency = years * 1e6 - np.arange(len(index))  # docs are sorted by id already
        # The other orders (``sort=``) as ranks in [0, 1): added to CLOSE_FIRST they keep close
        # matches ahead of further results, whatever the order inside each part.
        self._sort_ranks = {"recent": ranking.ranks(self._recency),
                            "cost": ranking.ranks(self._recency, self._costs())}

    def _costs(self) -> np.ndarray:
        """Each project's total cost in euros (-1 when unknown or in another currency)."""
        return np.array([d.total_cost if d.total_cost is not None
                         and (d.currency or "EUR") == "EUR" else -1.0
                         for d in self.index.docs], dtype=np.float64)

    # ------------------------------------------------------------------ helpers
    def query_vector(self, text: str) -> np.ndarray:
        """The query's embedding (an LRU cache spares the model repeated queries)."""
        return self._encoded(text).vector

    def _encode_batch(self, texts: list[str]) -> list[_Encoded]:
        """Vectors of ``texts`` and, over an exact index, their scores against every document:
        under load the batch's queries share one pass over the stored vectors (an approximate
        index scores only each query's candidates)."""
        vectors = self.index.encoder.encode_queries(texts)
        if self.index.vectors.kind != "exact":
            return [_Encoded(v) for v in vectors]
        dense = self.index.dense_scores_many(vectors)
        reference = self.index.reference_scores_many(vectors)
        return [_Encoded(v, d, r) for v, d, r in zip(vectors, dense, reference, strict=True)]

    def _encoded(self, text: str) -> _Encoded:
        with self._lock:
            cached = self._vectors.get(text)
            if cached is not None:
                self._vectors.move_to_end(text)
                return _Encoded(cached)
        encoded = self._batcher.encode(text)
        with self._lock:
            self._vectors[text] = encoded.vector  # the vector only: scores are 8 bytes a doc
            if len(self._vectors) > QUERY_CACHE:
                self._vectors.popitem(last=False)
        return encoded

    def allowed_values(self) -> dict[str, dict[str, str]]:
        """Every filter's allowed values with their French labels."""
        return {name: self.index.vocab[name] for name in FIELDS}

    def filters(self, **raw: Any) -> SearchFilters:
        """Parse and validate request values into :class:`SearchFilters`."""
        parsed = SearchFilters.parse(**raw)
        validate(parsed, self.index.vocab)
        return parsed

    def _masks(self, filters: SearchFilters) -> dict[str, np.ndarray]:
        validate(filters, self.index.vocab)
        selected = {
            name: np.array([self.index.values[name].index(v) for v in values], dtype=np.int64)
            for name, values in filters.values().items()
        }
        return ranking.filter_masks(self.index.fields, selected, self.index.years,
                                    (filters.start_year_min, filters.start_year_max))

    def scores(self, query: str, weights: ranking.FusionWeights | None = None,
               places: bool = True) -> np.ndarray:
        """Ranking score of every document for ``query`` as a search ranks it, places
        included (``weights`` default to the service's; zero keyword, theme and place weights
        give the dense side alone)."""
        understood = self.reader.read(query, places)
        ranked = self._scores(understood.text, np.ones(len(self.index), dtype=bool), weights)[0]
        return self._steer(ranked, understood, weights)

    def _steer(self, ranked: np.ndarray, understood: Understood,
               weights: ranking.FusionWeights | None = None) -> np.ndarray:
        """``ranked`` plus the place boost of the places the query names."""
        boost = (weights or self.weights).place_boost
        if not understood.places or not boost:
            return ranked
        return ranked + boost * self.reader.steering(understood)

    def _scores(self, query: str, needed: np.ndarray, weights: ranking.FusionWeights | None = None,
                ) -> tuple[np.ndarray, np.ndarray, dict[str, float], np.ndarray]:
        """Ranking scores and match scores (``-inf`` outside ``needed``), the query's term
        weights and its weight per theme (:func:`ranking.theme_weights`). The match score
        decides which results are close matches; the ranking score adds the theme prior, which
        only reorders (docs in :mod:`search_api.search.ranking`)."""
        weights = weights or self.weights
        index = self.index
        encoded = self._encoded(query)
        vector = encoded.vector
        stems = index.keyword.analyzer.stems(query)
        kind = ranking.query_kind(len(set(stems)), weights.short_words)
        if weights.language_balance:
            stems = [s for s in stems if s not in index.foreign_stems]
        positions = np.flatnonzero(needed)
        dense = np.full(len(index), -np.inf)
        dense[positions] = (encoded.dense[positions] if encoded.dense is not None
                            else index.dense_scores(vector, positions))
        reference = (encoded.reference if encoded.reference is not None
                     else index.reference_scores(vector))
        z = ranking.standardise(dense, reference)
        if weights.language_balance:
            z = ranking.language_balance(z, index.languages, index.reference,
                                         ranking.standardise(reference, reference))
        strength = ranking.keyword_strength(index.keyword.scores_for_stems(stems),
                                            index.keyword.ideal_score(stems))
        if kind == "sentence" and weights.phrase_bonus:
            strength += weights.phrase_bonus * self._verbatim(query, strength)
        best = float(min(strength.max(initial=0.0), 1.0))
        matched = ranking.fuse(z, strength, ranking.keyword_weight(kind, weights, best))
        matched[~needed] = -np.inf
        ranked = matched
        theme_weights = ranking.theme_weights(vector, index.theme_centroids,
                                              weights.theme_temperature)
        if weights.theme_prior and ranking.themes_are_broad(index.fields["theme"],
                                                            weights.theme_min_documents):
            prior = ranking.theme_prior(theme_weights, index.fields["theme"], len(index))
            ranked = matched + weights.theme_prior * prior
        return ranked, matched, {s: index.keyword.idf(s) for s in set(stems)}, theme_weights

    def _ranked(self, understood: Understood, needed: np.ndarray,
                ) -> tuple[np.ndarray, np.ndarray, dict[str, float], np.ndarray]:
        """What orders a text search: ranking scores (places included), close matches, term
        weights (for snippets) and theme weights — for the documents in ``needed``."""
        n = len(self.index)
        scores, _, weights, themes = self._scores(understood.text, needed)
        # Close matches are the head of the ranking itself (theme prior included), so the
        # line the page draws never has a better-ranked project below it.
        close = needed & (scores >= self.weights.relevance_cut)
        if understood.places:
            # A project outside the place the query names is no close match, however near
            # its subject: it comes after those of the place (issue 9). A query about its
            # place alone (« coopération avec la ville de Dakar ») lists the place's projects
            # first, the named partner's before its country's.
            steering = self.reader.steering(understood)
            # Only the strongest level counts as « in the place »: a named partner's own
            # projects when it has some, not merely those of its country.
            best = float(steering.max(initial=0.0))
            in_place = steering >= best if best > 0 else np.zeros(n, dtype=bool)
            if self.reader.generic(understood.text):
                close = needed & in_place
                scores = scores + PLACE_ONLY * steering
            else:
                close &= in_place
                scores = scores + self.weights.place_boost * steering
        return scores, close, weights, themes

    def ranking_keys(self, query: str, places: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """Score and close-match flag of every document for ``query``, exactly as a search
        ranks them (close matches first, then by score, ties by index position): what
        ``cl:score`` and ``cl:proche`` return in SPARQL, so « voir la requête SPARQL » lists
        the page's projects in the page's order (issue 9)."""
        understood = self.reader.read(" ".join(query.split()), places)
        scores, close, _, _ = self._ranked(understood, np.ones(len(self.index), dtype=bool))
        return scores, close

    def _verbatim(self, query: str, strength: np.ndarray) -> np.ndarray:
        """Documents containing the query verbatim (accents and case aside). Only documents
        matching most of its terms can, so only those are read."""
        folded = " ".join(fold(query).split())
        out = np.zeros(len(strength), dtype=bool)
        for position in np.flatnonzero(strength >= 0.5):
            out[position] = folded in self.index.folded_text(int(position))
        return out

    def _pool(self, query: str) -> np.ndarray:
        """Candidates of an unfiltered query over an approximate index: dense neighbours from
        HNSW plus the best keyword matches (exact indexes score every document instead)."""
        n = len(self.index)
        pool = np.zeros(n, dtype=bool)
        _, rows = self.index.vectors.search(self.query_vector(query)[None, :], APPROXIMATE_POOL)
        found = rows[0][rows[0] >= 0]
        pool[self.index.chunk_doc[found]] = True
        bm25 = self.index.keyword.scores(query)
        best = ranking.rank(bm25, 0, APPROXIMATE_POOL)
        pool[best[bm25[best] > 0]] = True
        return pool

    # ------------------------------------------------------------------ search
    def search(self, q: str = "", filters: SearchFilters | None = None, limit: int = 20,
               offset: int = 0, max_limit: int = MAX_LIMIT, places: bool = True,
               sort: str = "relevance") -> SearchAnswer:
        """Search: ``query``, ``understood``, ``total``, ``relevant_total``, ``results`` and
        ``facets`` (:class:`SearchAnswer`).

        Every project matching the filters is a result (``total``), ranked: a text query
        orders them, it never drops one (issue 9). Results whose match score clears
        ``relevance_cut`` are *close matches* (``close_match`` per result, ``relevant_total``);
        the others are still listed after them. Places named in ``q`` steer the ranking
        towards their projects (``understood``; ``places=False`` ignores them). An empty ``q``
        lists the projects matching the filters, most recent first. ``sort`` (``recent``,
        ``cost``) orders the close matches, then the further results, by that key instead."""
        _check_paging(limit, offset, max_limit)
        filters = filters or SearchFilters()
        query = " ".join(q.split())
        index = self.index
        n = len(index)
        masks = self._masks(filters)
        candidates = ranking.combine(masks, n)
        weights: dict[str, float] = {}
        themes: np.ndarray | None = None
        understood = self.reader.read(query, places)
        if query:
            needed = ranking.needed_for_facets(masks, n)
            if not masks and index.vectors.kind != "exact" and sort == "relevance":
                pool = self._pool(query)
                # The pool holds the best candidates; a page beyond it scores everything.
                if offset + limit <= int(pool.sum()):
                    needed = pool
            scores, close, weights, themes = self._ranked(understood, needed)
            # Unscored candidates (outside an approximate pool) come last, by recency.
            scores = np.where(np.isfinite(scores), scores, -1e9 + self._recency * 1e-12)
        else:
            scores, close = self._recency, np.ones(n, dtype=bool)
        chosen = np.flatnonzero(candidates)
        # Close matches first, so the page can draw one line above the further results.
        key = scores if sort == "relevance" else self._sort_ranks[sort]
        order = key + ranking.CLOSE_FIRST * close if query else key
        page = chosen[ranking.rank(order[chosen], offset, limit)]
        everything = np.ones(n, dtype=bool)
        counts = ranking.facet_counts(index.fields, index.years, index.year_values, masks,
                                      everything)
        close_counts = ranking.facet_counts(index.fields, index.years, index.year_values, masks,
                                            close)
        return SearchAnswer(
            query=query,
            understood=QueryReading.model_validate(understood.as_dict()),
            total=len(chosen),
            relevant_total=int(np.count_nonzero(close[chosen])),
            results=[self._result(int(i), scores[i] if query else None, weights,
                                  bool(close[i]), themes) for i in page],
            facets=self._facets(counts, close_counts, filters),
        )

    def _matched_theme(self, doc: ProjectDoc, themes: np.ndarray | None) -> str | None:
        """The project's theme closest to the query (its first theme without a query)."""
        if not doc.themes:
            return None
        if themes is None or not len(themes):
            return doc.themes[0]
        position = {value: i for i, value in enumerate(self.index.values["theme"])}
        return max(doc.themes, key=lambda t: themes[position[t]] if t in position else -1.0)

    def _result(self, position: int, score: float | None, weights: dict[str, float],
                close_match: bool = True, themes: np.ndarray | None = None) -> SearchResult:
        doc = self.index.docs[position]
        return SearchResult(
            id=doc.id,
            uri=doc.uri,
            title=doc.title,
            score=None if score is None else round(float(score), 4),
            close_match=close_match,
            matched_theme=self._matched_theme(doc, themes),
            snippet=snippet(doc.description, weights, self.index.keyword.analyzer),
            countries=list(doc.countries),
            themes=list(doc.themes),
            french_authorities=authority_refs(doc),
            partners=partner_refs(doc),
            start_year=doc.start_year,
            end_year=doc.end_year,
        )

    def _facets(self, counts: dict[str, np.ndarray], close: dict[str, np.ndarray],
                filters: SearchFilters) -> dict[str, list[FacetEntry]]:
        """Facet entries: ``count`` — projects matching the other filters with this value (what
        ticking it would list); ``relevant`` — how many of them are close matches of the
        query. Sorted by ``relevant``, then ``count``."""
        out: dict[str, list[FacetEntry]] = {}
        chosen = filters.values()
        for name in FIELDS:
            labels = self.index.vocab[name]
            entries = [
                FacetEntry(value=value, label=labels[value], count=int(count),
                           relevant=int(near))
                for value, count, near in zip(self.index.values[name], counts[name], close[name],
                                              strict=True)
                if count > 0 or value in chosen.get(name, ())
            ]
            entries.sort(key=lambda e: (-e.relevant, -e.count, e.label))
            out[name] = entries
        out["start_year"] = [
            FacetEntry(value=int(year), label=str(int(year)), count=int(count),
                       relevant=int(near))
            for year, count, near in zip(self.index.year_values, counts["start_year"],
                                         close["start_year"], strict=True)
            if count > 0
        ]
        return out

    def highlight(self, q: str, text: str) -> list[tuple[int, int]]:
        """Spans of ``text`` matching the query's terms (for the HTML result cards)."""
        analyzer = self.index.keyword.analyzer
        return match_spans(text, set(analyzer.stems(q)), analyzer)

    def sparql_for(self, filters: SearchFilters | None = None, q: str = "",
                   places: bool = True) -> str:
        """SPARQL selecting the same filtered set, in the search's order for ``q``."""
        filters = filters or SearchFilters()
        validate(filters, self.index.vocab)
        return sparql_for(filters, " ".join(q.split()), places)

    # ------------------------------------------------------------------ comparisons
    def document(self, project_id: str) -> ProjectDoc:
        """The project with this source identifier (:class:`NotFound` otherwise)."""
        return self.index.docs[self.comparator.position(project_id)]

    def similar(self, project_id: str, limit: int = 10) -> SimilarAnswer:
        """Comparable projects of *other* French authorities, each with ``score`` and ``why``."""
        _check_paging(limit, 0, MAX_LIMIT)
        return self.comparator.similar(project_id, limit)

    def pooling(self, filters: SearchFilters) -> PoolingAnswer:
        """Authorities working on a country and theme, and clusters of similar projects."""
        validate(filters, self.index.vocab)
        if not filters.country and not filters.theme:
            raise BadRequest("indiquez au moins un pays (country) ou un thème (theme)")
        mask = ranking.combine(self._masks(filters), len(self.index))
        return self.comparator.pooling(np.flatnonzero(mask))

    def similarity_to_text(self, project_uri: str, text: str) -> float | None:
        """Cosine between a project and a free text (``cl:similarity`` in SPARQL)."""
        position = self.index.by_uri.get(project_uri)
        if position is None:
            return None
        return float(self.index.dense_scores(self.query_vector(text), np.array([position]))[0])

    def similarity_between(self, uri_a: str, uri_b: str) -> float | None:
        """Cosine between two projects (``cl:similarity(?p1, ?p2)`` in SPARQL)."""
        a, b = self.index.by_uri.get(uri_a), self.index.by_uri.get(uri_b)
        if a is None or b is None:
            return None
        return float(self.index.doc_vectors[a] @ self.index.doc_vectors[b])
