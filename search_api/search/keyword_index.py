"""The keyword side of search: BM25 (``bm25s``) over French-stemmed, accent-folded tokens.

Analysis of a text, the same for documents and queries:

1. lower-case, NFKD accent folding (``é`` → ``e``) so that « securite » finds « sécurité »;
2. words of two letters or more (elisions such as « l' » fall out), stop words removed (French,
   plus English and Spanish ones: about 6 % of the corpus is written in those languages);
3. Snowball French stemmer (PyStemmer), applied *after* folding: folding first makes a query
   typed without accents reach the same stem as the accented text (« sécurité » and
   « securite » both stem to ``securit``; stemming first would give ``secur`` and ``securit``).

bm25s does the scoring (Lucene BM25 variant, k1 = 1.5, b = 0.75); this module only analyses text,
and reads document frequencies from bm25s' sparse matrix to weigh terms (key terms of a project,
snippets and the keyword-score normalisation of :mod:`search_api.search.ranking`).
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

_WORD = re.compile(r"\w\w+", re.UNICODE)
_COMBINING = re.compile(r"[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")
#: Distinct words whose stems an analyzer remembers (a corpus has a few tens of thousands).
STEM_CACHE = 200_000
K1 = 1.5
B = 0.75


def fold(text: str) -> str:
    """Lower-case and strip accents (« Éducation » → « education »)."""
    # A regex over the combining-mark blocks is ~5x faster than testing each character.
    return _COMBINING.sub("", unicodedata.normalize("NFKD", text.lower()))


class Analyzer:
    """Text → stems. Holds the stemmer (not picklable, so not saved with the index)."""

    def __init__(self) -> None:
        import Stemmer
        from bm25s.stopwords import STOPWORDS_EN, STOPWORDS_FRENCH, STOPWORDS_SPANISH

        self._stemmer = Stemmer.Stemmer("french")
        self._stop = {fold(w) for w in (*STOPWORDS_FRENCH, *STOPWORDS_EN, *STOPWORDS_SPANISH)}
        # word as written → stem, or "" for a stop word: snippets re-analyse result texts on
        # every query, and the same few thousand words keep coming back.
        self._stems: dict[str, str] = {}

    def _stem(self, word: str) -> str:
        stem = self._stems.get(word)
        if stem is None:
            folded = fold(word)
            skip = folded in self._stop or folded.isdigit()
            stem = "" if skip else self._stemmer.stemWord(folded)
            if len(self._stems) >= STEM_CACHE:
                self._stems.clear()
            self._stems[word] = stem
        return stem

    def words(self, text: str) -> list[tuple[str, int, int]]:
        """Content words of ``text`` with their stem and character span in ``text``:
        ``(stem, start, end)``."""
        out: list[tuple[str, int, int]] = []
        for match in _WORD.finditer(text):
            stem = self._stem(match.group())
            if stem:
                out.append((stem, match.start(), match.end()))
        return out

    def stems(self, text: str) -> list[str]:
        """The stems of ``text``'s content words, in order (duplicates kept: BM25 counts them)."""
        return [stem for stem in map(self._stem, _WORD.findall(text)) if stem]


class KeywordIndex:
    """BM25 over the documents' texts; row ``i`` is document ``i`` of the search index."""

    def __init__(self, retriever: Any, analyzer: Analyzer, count: int) -> None:
        self._retriever = retriever  # bm25s.BM25, or None for an empty corpus
        self.analyzer = analyzer
        self.count = count
        self._df = self._document_frequencies()

    @classmethod
    def build(cls, texts: Iterable[str], analyzer: Analyzer | None = None) -> KeywordIndex:
        """Index ``texts`` (one per document, in index order)."""
        import bm25s

        analyzer = analyzer or Analyzer()
        corpus = [analyzer.stems(t) for t in texts]
        if not corpus:
            return cls(None, analyzer, 0)
        retriever = bm25s.BM25(k1=K1, b=B, method="lucene")
        retriever.index(corpus, show_progress=False)
        return cls(retriever, analyzer, len(corpus))

    def _document_frequencies(self) -> dict[str, int]:
        if self._retriever is None:
            return {}
        # bm25s stores one CSC column per vocabulary entry: its length is the document frequency.
        indptr = np.asarray(self._retriever.scores["indptr"])
        lengths = np.diff(indptr)
        return {tok: int(lengths[i]) for tok, i in self._retriever.vocab_dict.items() if tok}

    def document_counts(self, docs: np.ndarray) -> dict[str, int]:
        """Per vocabulary stem, how many of the documents marked in the boolean mask ``docs``
        contain it (stems absent from them are left out)."""
        if self._retriever is None or not np.any(docs):
            return {}
        indptr = np.asarray(self._retriever.scores["indptr"], dtype=np.int64)
        rows = np.asarray(self._retriever.scores["indices"], dtype=np.int64)
        marked = np.concatenate([[0], np.cumsum(np.asarray(docs, dtype=np.int64)[rows])])
        # One CSC column per stem: the marked documents among its rows.
        per_column = marked[indptr[1:]] - marked[indptr[:-1]]
        return {tok: int(per_column[i]) for tok, i in self._retriever.vocab_dict.items()
                if tok and i < len(per_column) and per_column[i] > 0}

    def document_frequency(self, stem: str) -> int:
        """How many documents contain ``stem``."""
        return self._df.get(stem, 0)

    def idf(self, stem: str) -> float:
        """Lucene BM25 idf of a stem (a stem absent from the corpus gets the highest idf)."""
        df = self._df.get(stem, 0)
        return math.log(1.0 + (self.count - df + 0.5) / (df + 0.5))

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every document for ``query`` (zeros when no term is known)."""
        return self.scores_for_stems(self.analyzer.stems(query))

    def scores_for_stems(self, stems: list[str]) -> np.ndarray:
        """BM25 score of every document for an analysed query."""
        known = [s for s in stems if s in self._df]
        if self._retriever is None or not known:
            return np.zeros(self.count, dtype=np.float32)
        return np.asarray(self._retriever.get_scores(known), dtype=np.float32)

    def ideal_score(self, stems: list[str]) -> float:
        """Score of an average-length document holding each query term once.

        Dividing a BM25 score by it gives the share of the query's term weight a document
        matches — comparable across queries, unlike raw BM25 (see ranking.keyword_strength).
        Unknown stems count too: a query about a word no project uses matches little."""
        if self.count == 0:
            return 0.0
        return sum(self.idf(s) for s in stems) / (1.0 + K1)

    def key_terms(self, text: str, limit: int = 12) -> list[tuple[str, float]]:
        """The most distinctive stems of ``text``: tf·idf, ignoring stems of one document."""
        counts: dict[str, int] = {}
        for stem in self.analyzer.stems(text):
            counts[stem] = counts.get(stem, 0) + 1
        weighted = [
            (stem, (1 + math.log(n)) * self.idf(stem))
            for stem, n in counts.items()
            if self._df.get(stem, 0) > 1  # a stem only this text has cannot be shared
        ]
        weighted.sort(key=lambda item: (-item[1], item[0]))
        return weighted[:limit]

    def save(self, folder: Path) -> None:
        """Write the BM25 matrices (bm25s format) and the document count."""
        folder.mkdir(parents=True, exist_ok=True)
        if self._retriever is not None:
            self._retriever.save(str(folder), show_progress=False)
        (folder / "keyword.json").write_text(json.dumps({"count": self.count, "k1": K1, "b": B}))

    @classmethod
    def load(cls, folder: Path, analyzer: Analyzer | None = None) -> KeywordIndex:
        """Read an index written by :meth:`save`."""
        import bm25s

        meta = json.loads((folder / "keyword.json").read_text())
        retriever = None
        if meta["count"]:
            retriever = bm25s.BM25.load(str(folder), show_progress=False, mmap=False)
        return cls(retriever, analyzer or Analyzer(), int(meta["count"]))
