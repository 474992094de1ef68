"""One contract suite over every vector index kind (exact FAISS flat, approximate HNSW)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from search_api.search.vector_index import (
    ExactIndex,
    HnswIndex,
    IndexMismatch,
    VectorIndex,
    build_vector_index,
    load_vector_index,
    read_manifest,
)

DIM = 24


def clustered(n: int, seed: int = 0, clusters: int = 12) -> np.ndarray:
    """Unit vectors around a few centres — like sentence embeddings, unlike uniform noise."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(clusters, DIM))
    vectors = centres[rng.integers(0, clusters, n)] + rng.normal(scale=0.35, size=(n, DIM))
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


BUILDERS: dict[str, Callable[[np.ndarray], VectorIndex]] = {
    "exact": ExactIndex.build,
    "hnsw": HnswIndex.build,  # the parameters used in production
}


@pytest.fixture(params=sorted(BUILDERS))
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def vectors() -> np.ndarray:
    return clustered(600)


def test_is_a_vector_index(kind: str, vectors: np.ndarray) -> None:
    index = BUILDERS[kind](vectors)
    assert isinstance(index, VectorIndex)
    assert index.kind == kind and index.dimension == DIM and len(index) == len(vectors)


def test_rows_are_the_stored_vectors(kind: str, vectors: np.ndarray) -> None:
    index = BUILDERS[kind](vectors)
    assert np.array_equal(index.rows(), vectors)
    with pytest.raises(ValueError):
        index.rows()[0, 0] = 1.0  # read-only: callers cannot corrupt the index


def test_each_vector_finds_itself_first(kind: str, vectors: np.ndarray) -> None:
    index = BUILDERS[kind](vectors)
    scores, rows = index.search(vectors[:50], 5)
    assert rows[:, 0].tolist() == list(range(50))
    assert np.allclose(scores[:, 0], 1.0, atol=1e-5)


def test_scores_are_inner_products_in_descending_order(kind: str, vectors: np.ndarray) -> None:
    index = BUILDERS[kind](vectors)
    query = clustered(3, seed=7)
    scores, rows = index.search(query, 10)
    for q, (s, r) in enumerate(zip(scores, rows, strict=True)):
        assert np.all(np.diff(s) <= 1e-6)
        assert np.allclose(s, vectors[r] @ query[q], atol=1e-5)


def test_recall_against_exact(kind: str) -> None:
    data, queries = clustered(3000, seed=1), clustered(40, seed=2)
    _, truth = ExactIndex.build(data).search(queries, 10)
    _, found = BUILDERS[kind](data).search(queries, 10)
    recall = np.mean([len(set(t) & set(f)) / 10 for t, f in zip(truth, found, strict=True)])
    assert recall >= 0.9


def test_asking_for_more_than_stored(kind: str) -> None:
    index = BUILDERS[kind](clustered(4))
    scores, rows = index.search(clustered(1, seed=3), 6)
    assert sorted(rows[0][:4].tolist()) == [0, 1, 2, 3]
    assert rows[0][4:].tolist() == [-1, -1] and np.isneginf(scores[0][4:]).all()


def test_empty_index(kind: str) -> None:
    index = BUILDERS[kind](np.zeros((0, DIM), dtype=np.float32))
    scores, rows = index.search(clustered(2), 3)
    assert len(index) == 0 and index.rows().shape == (0, DIM)
    assert (rows == -1).all() and np.isneginf(scores).all()


def test_save_and_load_round_trip(kind: str, vectors: np.ndarray, tmp_path: Path) -> None:
    index = BUILDERS[kind](vectors)
    index.save(tmp_path, "modele-a", "abc123")
    manifest = read_manifest(tmp_path)
    assert manifest["model"] == "modele-a" and manifest["kind"] == kind
    assert manifest["dimension"] == DIM and manifest["count"] == len(vectors)
    assert manifest["content_hash"] == "abc123"
    loaded = load_vector_index(tmp_path, "modele-a")
    assert loaded.kind == kind and np.array_equal(loaded.rows(), vectors)
    query = clustered(5, seed=9)
    assert np.array_equal(loaded.search(query, 8)[1], index.search(query, 8)[1])


def test_loading_with_another_model_is_refused(kind: str, vectors: np.ndarray,
                                               tmp_path: Path) -> None:
    BUILDERS[kind](vectors).save(tmp_path, "modele-a", "abc123")
    with pytest.raises(IndexMismatch) as caught:
        load_vector_index(tmp_path, "modele-b")
    assert "modele-a" in caught.value.message and "modele-b" in caught.value.message


def test_missing_index_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(IndexMismatch, match="cooplink build"):
        load_vector_index(tmp_path / "absent", "modele-a")


def test_factory_switches_to_hnsw_above_the_threshold() -> None:
    data = clustered(50)
    assert build_vector_index(data, approximate_threshold=50).kind == "exact"
    assert build_vector_index(data, approximate_threshold=49).kind == "hnsw"


def test_rows_stay_valid_after_the_index_object_is_gone(kind: str, vectors: np.ndarray) -> None:
    rows = BUILDERS[kind](vectors).rows()  # the index itself is not referenced any more
    import gc

    gc.collect()
    assert np.array_equal(np.array(rows[:10]), vectors[:10])
