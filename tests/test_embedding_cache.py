"""The embedding cache: vectors read back by text hash, across instances, shards and merges."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import numpy as np

from search_api.search.embedding_cache import (
    EmbeddingCache,
    keys_from_array,
    keys_to_array,
    text_key,
)


def vectors(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, 8)).astype(np.float32)


def test_vectors_survive_a_new_instance(tmp_path: Path) -> None:
    keys = [text_key(f"texte {i}") for i in range(5)]
    cache = EmbeddingCache(tmp_path, "modele", 8)
    cache.add(keys, vectors(5))
    again = EmbeddingCache(tmp_path, "modele", 8)
    found, missing = again.lookup([*keys, text_key("nouveau")])
    assert missing == [5] and np.array_equal(found[:5], vectors(5))


def test_keys_ending_with_a_zero_byte_round_trip() -> None:
    keys = [b"\x01" * 15 + b"\x00", b"\x00" * 16, bytes(range(16))]
    assert keys_from_array(keys_to_array(keys)) == keys


def test_another_model_or_dimension_starts_empty(tmp_path: Path) -> None:
    EmbeddingCache(tmp_path, "modele", 8).add([text_key("a")], vectors(1))
    assert len(EmbeddingCache(tmp_path, "autre", 8)) == 0
    assert len(EmbeddingCache(tmp_path, "modele", 4)) == 0


def test_merging_shards_keeps_every_entry_of_a_small_cache(tmp_path: Path) -> None:
    cache = EmbeddingCache(tmp_path, "modele", 8)
    keys = [text_key(str(i)) for i in range(12)]
    for i in range(12):  # one shard per add
        cache.add([keys[i]], vectors(1, seed=i))
    assert cache.compact(live=keys[:2], max_shards=8)
    assert len(list(cache.folder.glob("shard-*.npz"))) == 1
    reread = EmbeddingCache(tmp_path, "modele", 8)
    found, missing = reread.lookup(keys)
    assert not missing and np.array_equal(found[7], vectors(1, seed=7)[0])


def test_merging_a_large_cache_drops_stale_entries(tmp_path: Path) -> None:
    cache = EmbeddingCache(tmp_path, "modele", 8)
    keys = [text_key(str(i)) for i in range(40)]
    for start in range(0, 40, 4):
        cache.add(keys[start : start + 4], vectors(4, seed=start))
    assert cache.compact(live=keys[:5], max_shards=2, min_entries=10)
    assert len(EmbeddingCache(tmp_path, "modele", 8)) == 5


def test_two_writers_sharing_a_folder_lose_nothing(tmp_path: Path) -> None:
    # two data directories (test workers, a benchmark beside a server) on one cache folder:
    # each opened the cache before the other wrote, so both would pick the same next shard
    first, second = EmbeddingCache(tmp_path, "modele", 8), EmbeddingCache(tmp_path, "modele", 8)
    ours = [text_key(f"premier {i}") for i in range(12)]
    theirs = [text_key(f"second {i}") for i in range(3)]
    for i in range(12):
        first.add([ours[i]], vectors(1, seed=i))
        if i < 3:
            second.add([theirs[i]], vectors(1, seed=100 + i))
    # the first merges its own shards; the second's, written meanwhile, are not its to delete
    assert first.compact(live=ours, max_shards=8)
    found, missing = EmbeddingCache(tmp_path, "modele", 8).lookup([*ours, *theirs])
    assert missing == []
    assert np.array_equal(found[12], vectors(1, seed=100)[0])
    assert not list(tmp_path.rglob("*.tmp"))  # no temporary file left behind


def test_shards_are_readable_as_the_umask_allows(tmp_path: Path) -> None:
    # a server running as another user of the build's group reads the same cache
    previous = os.umask(0o022)
    try:
        EmbeddingCache(tmp_path, "modele", 8).add([text_key("a")], vectors(1))
    finally:
        os.umask(previous)
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in tmp_path.rglob("*") if p.is_file()}
    assert modes and set(modes.values()) == {0o644}, modes
