"""Snippets: the sentence of a description that best matches the query's terms."""

from __future__ import annotations

from collections.abc import Mapping

from search_api.search.documents import split_sentences
from search_api.search.keyword_index import Analyzer

SNIPPET_CHARS = 240


def _shorten(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0].rstrip(",;:")
    return cut + " …"


def snippet(description: str, weights: Mapping[str, float], analyzer: Analyzer,
            limit: int = SNIPPET_CHARS) -> str:
    """The description's sentence holding the most query-term weight (``weights``: stem →
    idf), followed by the next one while it fits; the opening sentences when nothing
    matches (a paraphrase found by meaning alone)."""
    sentences = split_sentences(description)
    if not sentences:
        return ""
    best, best_score = 0, 0.0
    if weights:
        for i, sentence in enumerate(sentences):
            stems = set(analyzer.stems(sentence))
            score = sum(w for stem, w in weights.items() if stem in stems)
            if score > best_score:
                best, best_score = i, score
    text = sentences[best]
    for following in sentences[best + 1 :]:
        if len(text) + 1 + len(following) > limit:
            break
        text = f"{text} {following}"
    return _shorten(text, limit)


def match_spans(text: str, stems: set[str], analyzer: Analyzer) -> list[tuple[int, int]]:
    """Character spans of the words of ``text`` whose stem is in ``stems`` (for highlighting
    the matched terms in a result card)."""
    return [(start, end) for stem, start, end in analyzer.words(text) if stem in stems]
