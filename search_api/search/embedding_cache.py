"""Content-hash → vector cache, so a rebuild embeds only the texts that changed.

Embedding is by far the slowest step of a build (the default model encodes ~10–20 passages a
second on two cores), while an ingest usually changes a few hundred projects out of thousands.
Vectors are cached per model under ``<cache>/embeddings/<model>/`` keyed by a BLAKE2 digest of
the exact text embedded; a changed title or description gives a new key, an unchanged one is
read back.

Storage: append-only shards (``shard-NNNNNN.npz``: ``keys`` as 16-byte digests and ``vectors``
as float32), each written to a temporary file and renamed, so a killed build leaves at worst an
unreferenced temporary file. Builds are serialised by the data directory's build lock, but
two data directories (test workers, a benchmark beside a server) may share one cache folder:
a shard's name is claimed with a hard link, which fails rather than overwrite another
writer's shard, and :meth:`EmbeddingCache.compact`, which merges the shards when they pile
up and, on a large cache, drops the entries no live text uses once they are three quarters
of it, deletes only the shards this instance has read or written.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import IO

import numpy as np

from graph.namespaces import slugify

KEY_BYTES = 16


def text_key(text: str) -> bytes:
    """Digest of one embedded text."""
    return hashlib.blake2b(text.encode("utf-8"), digest_size=KEY_BYTES).digest()


def keys_to_array(keys: list[bytes]) -> np.ndarray:
    """Digests as a ``(n, 16)`` uint8 array (numpy's ``S`` dtype would drop trailing zero
    bytes, so a digest ending in ``\x00`` would not read back equal)."""
    return np.frombuffer(b"".join(keys), dtype=np.uint8).reshape(len(keys), KEY_BYTES)


def keys_from_array(array: np.ndarray) -> list[bytes]:
    """Inverse of :func:`keys_to_array`."""
    return [row.tobytes() for row in np.asarray(array, dtype=np.uint8).reshape(-1, KEY_BYTES)]


class EmbeddingCache:
    """Vectors of one model (``model`` = the encoder's name), persisted in ``root``."""

    def __init__(self, root: Path, model: str, dimension: int) -> None:
        self.model = model
        self.dimension = dimension
        self.folder = root / "embeddings" / slugify(model, max_length=120)
        self._rows: dict[bytes, int] = {}
        self._blocks: list[np.ndarray] = []
        self._size = 0
        self._files: list[Path] = []  # the shards merged into memory: all compaction may delete
        self._load()

    def _load(self) -> None:
        meta_path = self.folder / "meta.json"
        if meta_path.exists():
            meta = json.loads(meta_path.read_text("utf-8"))
            if meta.get("model") != self.model or meta.get("dimension") != self.dimension:
                return  # another model under the same slug: ignore it, it will be replaced
        for shard in sorted(self.folder.glob("shard-*.npz")):
            try:
                with np.load(shard) as data:
                    keys, vectors = data["keys"], data["vectors"]
            except (OSError, ValueError, KeyError):
                continue  # a damaged shard only costs re-embedding its texts
            if vectors.ndim != 2 or vectors.shape[1] != self.dimension:
                continue
            self._remember(keys, vectors.astype(np.float32, copy=False))
            self._files.append(shard)

    def _remember(self, keys: np.ndarray, vectors: np.ndarray) -> None:
        self._blocks.append(vectors)
        for offset, key in enumerate(keys_from_array(keys)):
            self._rows[key] = self._size + offset
        self._size += len(vectors)

    def __len__(self) -> int:
        return len(self._rows)

    def _matrix(self) -> np.ndarray:
        if len(self._blocks) != 1:
            joined = (np.concatenate(self._blocks) if self._blocks
                      else np.zeros((0, self.dimension), np.float32))
            self._blocks = [joined]
        return self._blocks[0]

    def lookup(self, keys: list[bytes]) -> tuple[np.ndarray, list[int]]:
        """Vectors for ``keys`` (zero rows where missing) and the positions that are missing."""
        out = np.zeros((len(keys), self.dimension), dtype=np.float32)
        found = [(i, self._rows[k]) for i, k in enumerate(keys) if k in self._rows]
        if found:
            positions, rows = zip(*found, strict=True)
            out[list(positions)] = self._matrix()[list(rows)]
        hit = {i for i, _ in found}
        return out, [i for i in range(len(keys)) if i not in hit]

    def add(self, keys: list[bytes], vectors: np.ndarray) -> None:
        """Persist new entries as one more shard."""
        fresh = [i for i, k in enumerate(keys) if k not in self._rows]
        if not fresh:
            return
        new_keys = keys_to_array([keys[i] for i in fresh])
        new_vectors = np.asarray(vectors, dtype=np.float32)[fresh]
        self._files.append(self._write_shard(new_keys, new_vectors))
        self._remember(new_keys, new_vectors)

    def _write_file(self, write: Callable[[IO[bytes]], object], suffix: str) -> Path:
        """A complete file under a unique temporary name (never half-written under a real
        name, and two writers never share a temporary file)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f".{uuid.uuid4().hex}{suffix}"
        # os.open rather than mkstemp: the file gets the umask's permissions (mkstemp's 0600
        # would hide the cache from a server running as another user of the same group)
        with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), "wb") as fh:
            write(fh)
        return path

    def _write_shard(self, keys: np.ndarray, vectors: np.ndarray) -> Path:
        meta = json.dumps({"model": self.model, "dimension": self.dimension}).encode("utf-8")
        os.replace(self._write_file(lambda fh: fh.write(meta), ".json.tmp"),
                   self.folder / "meta.json")
        tmp = self._write_file(lambda fh: np.savez(fh, keys=keys, vectors=vectors), ".npz.tmp")
        try:
            while True:
                numbers = [int(p.stem.split("-")[1]) for p in self.folder.glob("shard-*.npz")]
                target = self.folder / f"shard-{max(numbers, default=0) + 1:06d}.npz"
                try:
                    os.link(tmp, target)  # atomic and exclusive: fails if another writer won
                    return target
                except FileExistsError:
                    continue
        finally:
            tmp.unlink(missing_ok=True)

    def compact(self, live: list[bytes], max_shards: int = 8, min_entries: int = 50_000) -> bool:
        """Merge the shards once they pile up, dropping stale entries only when the cache is
        large (over ``min_entries`` and four times the live set); True if rewritten.

        Stale entries are kept otherwise: another corpus may share the cache (the French check
        next to the test build), and a reverted edit finds its old vector again."""
        if len(self._files) <= max_shards:
            return False
        live_set = set(live) & self._rows.keys()
        drop = len(self._rows) > max(min_entries, 4 * len(live_set))
        keys = sorted(live_set) if drop else list(self._rows)
        vectors, _ = self.lookup(keys)
        merged = self._write_shard(keys_to_array(keys), vectors)
        for path in self._files:  # not a shard another writer added since: its entries are
            path.unlink(missing_ok=True)  # not in memory here
        self._files = [merged]
        self._rows, self._blocks, self._size = {}, [], 0
        self._remember(keys_to_array(keys), vectors)
        return True
