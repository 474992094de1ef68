"""Ranking maths against brute force (Hypothesis): paging, exact filtering, facets, fusion.

These are the guarantees a user relies on without seeing them: a filter never loses a matching
project (every match is scored, not a top-k post-filtered), a page never repeats or skips a
result, and facet counts are the true counts over the result set.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from search_api.search import ranking
from search_api.search._clustering import average_linkage, mean_pairwise

scores_strategy = arrays(np.float64, st.integers(0, 60),
                         elements=st.sampled_from([-1.0, 0.0, 0.5, 1.0, 2.0, 3.5]))


@given(scores_strategy, st.integers(0, 70), st.integers(1, 30))
def test_rank_is_the_sorted_slice(scores: np.ndarray, offset: int, limit: int) -> None:
    brute = sorted(range(len(scores)), key=lambda i: (-scores[i], i))[offset : offset + limit]
    assert ranking.rank(scores, offset, limit).tolist() == brute


@given(scores_strategy, st.integers(1, 7))
def test_pages_cover_every_result_once(scores: np.ndarray, size: int) -> None:
    pages = [ranking.rank(scores, start, size).tolist() for start in range(0, len(scores), size)]
    flat = [i for page in pages for i in page]
    assert sorted(flat) == list(range(len(scores)))


@st.composite
def corpora(draw: st.DrawFn) -> tuple[int, list[set[int]], np.ndarray]:
    """Documents with sets of values (of a 6-value field) and start years."""
    n = draw(st.integers(1, 40))
    values = [draw(st.sets(st.integers(0, 5), max_size=3)) for _ in range(n)]
    years = np.array([draw(st.sampled_from([-1, 2010, 2015, 2020])) for _ in range(n)])
    return n, values, years


def membership(values: list[set[int]]) -> ranking.Membership:
    pairs = [(d, v) for d, vs in enumerate(values) for v in sorted(vs)]
    docs = np.array([p[0] for p in pairs], dtype=np.int64)
    vals = np.array([p[1] for p in pairs], dtype=np.int64)
    return ranking.Membership(docs, vals, 6)


@given(corpora(), st.sets(st.integers(0, 5)))
def test_membership_mask_and_counts(corpus: tuple[int, list[set[int]], np.ndarray],
                                    selected: set[int]) -> None:
    n, values, _ = corpus
    field = membership(values)
    mask = field.mask(np.array(sorted(selected), dtype=np.int64), n)
    assert mask.tolist() == [bool(vs & selected) for vs in values]
    counts = field.counts(mask)
    assert counts.tolist() == [sum(1 for d in range(n) if mask[d] and v in values[d])
                               for v in range(6)]


@given(st.lists(st.sampled_from([-1, 1999, 2005, 2010, 2020]), max_size=30),
       st.one_of(st.none(), st.integers(1995, 2025)), st.one_of(st.none(), st.integers(1995, 2025)))
def test_year_mask(years: list[int], low: int | None, high: int | None) -> None:
    def ok(y: int) -> bool:
        if low is None and high is None:
            return True
        return y >= 0 and (low is None or y >= low) and (high is None or y <= high)

    assert ranking.year_mask(np.array(years, dtype=np.int64), low, high).tolist() == [
        ok(y) for y in years]


@settings(max_examples=150)
@given(corpora(), corpora(), st.sets(st.integers(0, 5)), st.sets(st.integers(0, 5)),
       st.one_of(st.none(), st.sampled_from([2010, 2015])), st.data())
def test_filtered_ranking_and_facets_match_brute_force(
    a: tuple[int, list[set[int]], np.ndarray], b: tuple[int, list[set[int]], np.ndarray],
    pick_a: set[int], pick_b: set[int], low: int | None, data: st.DataObject,
) -> None:
    n = min(a[0], b[0])
    values_a, values_b, years = a[1][:n], b[1][:n], a[2][:n]
    fields = {"a": membership(values_a), "b": membership(values_b)}
    selected = {name: np.array(sorted(pick), dtype=np.int64)
                for name, pick in (("a", pick_a), ("b", pick_b)) if pick}
    scores = np.array(data.draw(st.lists(st.floats(-3, 6), min_size=n, max_size=n)))
    cut = 1.0
    masks = ranking.filter_masks(fields, selected, years, (low, None))
    needed = ranking.needed_for_facets(masks, n)
    relevant = needed & (scores >= cut)
    chosen = np.flatnonzero(relevant & ranking.combine(masks, n))
    top = chosen[ranking.rank(scores[chosen], 0, 10)].tolist()

    def passes(d: int, skip: str | None = None) -> bool:
        ok_a = "a" not in selected or skip == "a" or bool(values_a[d] & pick_a)
        ok_b = "b" not in selected or skip == "b" or bool(values_b[d] & pick_b)
        ok_y = low is None or skip == "start_year" or (years[d] >= 0 and years[d] >= low)
        return ok_a and ok_b and ok_y

    # Exact filtering: the best matches among *all* filtered documents, never a lossy top-k.
    brute = sorted((d for d in range(n) if passes(d) and scores[d] >= cut),
                   key=lambda d: (-scores[d], d))
    assert top == brute[:10]
    assert len(chosen) == len(brute)
    # Disjunctive facets: a field's counts apply every other filter, not its own.
    wanted_years = np.array([2010, 2015, 2020])
    facets = ranking.facet_counts(fields, years, wanted_years, masks, relevant)
    for name, vals in (("a", values_a), ("b", values_b)):
        expected = [sum(1 for d in range(n)
                        if scores[d] >= cut and passes(d, name) and v in vals[d])
                    for v in range(6)]
        assert facets[name].tolist() == expected
    assert facets["start_year"].tolist() == [
        sum(1 for d in range(n) if scores[d] >= cut and passes(d, "start_year") and years[d] == y)
        for y in wanted_years]


@given(arrays(np.float64, st.integers(1, 50), elements=st.floats(-1, 1)),
       arrays(np.float64, st.integers(1, 50), elements=st.floats(-1, 1)))
def test_standardise(scores: np.ndarray, reference: np.ndarray) -> None:
    z = ranking.standardise(scores, reference)
    std = reference.std() if reference.std() > 1e-9 else 1.0
    assert np.allclose(z, (scores - reference.mean()) / std)


@given(arrays(np.float64, st.integers(0, 30), elements=st.floats(0, 50)), st.floats(0, 20))
def test_keyword_strength_is_a_share_of_the_ideal(bm25: np.ndarray, ideal: float) -> None:
    strength = ranking.keyword_strength(bm25, ideal)
    assert (strength >= 0).all()
    if ideal >= 1e-9:
        assert np.allclose(strength * ideal, bm25)  # order-preserving, comparable across queries
    else:
        assert not strength.any()


@given(st.floats(0, 1.5), st.sampled_from(["short", "sentence"]))
def test_keyword_weight_ramps_with_the_best_match(best: float, kind: str) -> None:
    weights = ranking.FusionWeights(keyword_short=2.0, keyword_sentence=0.5, keyword_boost=2.0,
                                    boost_from=0.5)
    base = 2.0 if kind == "short" else 0.5
    weight = ranking.keyword_weight(kind, weights, best)
    assert base <= weight <= base + 2.0
    if best <= 0.5:
        assert weight == base
    if best >= 1.0:
        assert weight == pytest.approx(base + 2.0)
    assert ranking.keyword_weight(kind, weights, min(best + 0.1, 2.0)) >= weight


def test_query_kinds_and_fusion() -> None:
    assert ranking.query_kind(2) == "short"
    assert ranking.query_kind(3) == "short"
    assert ranking.query_kind(6) == "sentence"
    fused = ranking.fuse(np.array([1.0, 2.0]), np.array([1.0, 0.0]), 2.0)
    assert fused.tolist() == [3.0, 2.0]


@given(arrays(np.float64, st.integers(1, 40), elements=st.floats(-5, 5)), st.data())
def test_max_by_group(values: np.ndarray, data: st.DataObject) -> None:
    groups = np.array(data.draw(st.lists(st.integers(0, 4), min_size=len(values),
                                         max_size=len(values))))
    out = ranking.max_by_group(values, groups, 5)
    for g in range(5):
        members = values[groups == g]
        assert out[g] == (members.max() if len(members) else -np.inf)


def test_needed_for_facets_counts_single_failures() -> None:
    masks = {"a": np.array([True, False, False, True]), "b": np.array([True, True, False, False])}
    assert ranking.needed_for_facets(masks, 4).tolist() == [True, True, False, True]
    assert ranking.needed_for_facets({"a": masks["a"]}, 4).all()


@settings(max_examples=60)
@given(st.integers(2, 25), st.floats(0.0, 0.9), st.integers(0, 10_000))
def test_average_linkage_groups(n: int, threshold: float, seed: int) -> None:
    rng = np.random.default_rng(seed)
    vectors = rng.normal(size=(n, 4))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    similarity = vectors @ vectors.T
    groups = average_linkage(similarity, threshold)
    assert sorted(i for g in groups for i in g) == list(range(n))  # a partition
    for group in groups:
        if len(group) > 1:  # average linkage keeps every group's mean pair similarity ≥ cut
            assert mean_pairwise(similarity, group) >= threshold - 1e-9


def test_average_linkage_finds_planted_clusters() -> None:
    rng = np.random.default_rng(1)
    centres = np.eye(3)
    vectors = np.repeat(centres, 4, axis=0) + rng.normal(scale=0.05, size=(12, 3))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    groups = average_linkage(vectors @ vectors.T, 0.8)
    assert sorted(groups) == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]]


@pytest.mark.parametrize("n", [0, 1])
def test_average_linkage_tiny(n: int) -> None:
    assert average_linkage(np.ones((n, n)), 0.5) == [[0]] * n


@given(corpora(), st.integers(0, 10_000))
def test_theme_centroids_are_normalised_means(corpus: tuple[int, list[set[int]], np.ndarray],
                                              seed: int) -> None:
    n, values, _ = corpus
    vectors = np.random.default_rng(seed).normal(size=(n, 5))
    centroids = ranking.theme_centroids(vectors, membership(values))
    for theme in range(6):
        members = [d for d, vs in enumerate(values) if theme in vs]
        mean = vectors[members].sum(axis=0) if members else np.zeros(5)
        norm = np.linalg.norm(mean)
        expected = mean / norm if norm > 1e-12 else np.zeros(5)
        assert np.allclose(centroids[theme], expected)


def test_theme_prior_favours_the_closest_theme() -> None:
    centroids = np.eye(3)  # three themes along three axes
    query = np.array([0.9, 0.4, 0.1])
    weights = ranking.theme_weights(query, centroids, temperature=1.0)
    assert weights[0] == 1.0 and 1.0 > weights[1] > weights[2] > 0
    # A sharper temperature widens the gap between the best theme and the others.
    assert ranking.theme_weights(query, centroids, temperature=0.25)[1] < weights[1]
    # Each document takes its best theme's weight; a document without theme gets nothing.
    themes = membership([{1}, {1, 0}, set(), {2}])
    prior = ranking.theme_prior(weights, ranking.Membership(themes.docs, themes.values, 3), 4)
    assert prior.tolist() == [weights[1], 1.0, 0.0, weights[2]]


def test_the_theme_prior_needs_broad_themes() -> None:
    themes = membership([{0}] * 25 + [{1}] * 20 + [{0, 1}])
    assert ranking.themes_are_broad(themes, 20)
    assert not ranking.themes_are_broad(themes, 22)  # theme 1 has 21 documents
    assert not ranking.themes_are_broad(membership([set(), set()]), 1)  # no theme at all
