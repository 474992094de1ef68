"""Query micro-batching: concurrent callers get their own vectors, in fewer encoder calls."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from search_api.knowledge_base import KnowledgeBase
from search_api.search._batcher import QueryBatcher


class SlowEncoder:
    """Encodes a text as [len(text)], slowly, and records the batches it was given."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.active = 0
        self.overlap = False

    def __call__(self, texts: list[str]) -> np.ndarray:
        self.active += 1
        self.overlap |= self.active > 1
        self.batches.append(list(texts))
        time.sleep(0.05)
        self.active -= 1
        return np.array([[float(len(t))] for t in texts])


def test_concurrent_queries_share_calls_and_get_their_own_vector() -> None:
    encoder = SlowEncoder()
    batcher = QueryBatcher(encoder, max_batch=8)
    texts = ["x" * n for n in range(1, 21)]
    results: dict[str, float] = {}

    def run(text: str) -> None:
        results[text] = float(batcher.encode(text)[0])

    threads = [threading.Thread(target=run, args=(t,)) for t in texts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == {t: float(len(t)) for t in texts}
    assert not encoder.overlap  # never two encoder calls at once
    assert len(encoder.batches) < len(texts)
    assert max(len(b) for b in encoder.batches) <= 8


def test_a_lone_query_is_encoded_alone() -> None:
    encoder = SlowEncoder()
    assert QueryBatcher(encoder).encode("abc")[0] == 3.0
    assert encoder.batches == [["abc"]]


def test_an_encoder_error_reaches_the_caller() -> None:
    def broken(texts: list[str]) -> np.ndarray:
        raise ValueError("modèle indisponible")

    batcher = QueryBatcher(broken)
    with pytest.raises(ValueError, match="indisponible"):
        batcher.encode("eau")
    with pytest.raises(ValueError):  # and the batcher is usable again
        batcher.encode("eau")


def test_concurrent_searches_rank_as_a_lone_search(built_kb: KnowledgeBase) -> None:
    """Searches encoded and scored in one batch (one matrix product for all) get the scores and
    the results each would get alone."""
    service = built_kb.search_service()
    index = service.index
    texts = [f"{subject} {place}" for subject in ("eau potable", "santé maternelle", "culture")
             for place in ("au Sénégal", "à Madagascar", "")]
    vectors = index.encoder.encode_queries(texts)
    dense, reference = index.dense_scores_many(vectors), index.reference_scores_many(vectors)
    for i, vector in enumerate(vectors):
        np.testing.assert_allclose(dense[i], index.dense_scores(vector), rtol=0, atol=1e-5)
        np.testing.assert_allclose(reference[i], index.reference_scores(vector), atol=1e-5)
    together: dict[str, list[str]] = {}  # first: new texts are encoded (and scored) together
    start = threading.Barrier(len(texts))

    def search(text: str) -> None:
        start.wait()
        together[text] = [r.uri for r in service.search(text, limit=10).results]

    threads = [threading.Thread(target=search, args=(t,)) for t in texts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    # then each alone: its vector is cached now, so it is scored on its own
    alone = {t: [r.uri for r in service.search(t, limit=10).results] for t in texts}
    assert together == alone
