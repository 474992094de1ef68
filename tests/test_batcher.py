"""Query micro-batching: concurrent callers get their own vectors, in fewer encoder calls."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

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
