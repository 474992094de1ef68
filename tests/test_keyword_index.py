"""The keyword side: French stemming, accent folding, stop words, BM25 ranking, persistence."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from search_api.search.keyword_index import Analyzer, KeywordIndex, fold

DOCS = [
    "Sécurité alimentaire : greniers communautaires et stocks de céréales",
    "Réhabilitation des forages et formation des comités de gestion de l'eau",
    "Numérisation des registres d'état civil de la commune",
    "Festival de musique et résidences d'artistes",
    "Gestion des déchets ménagers et compostage",
    "Les élèves des écoles primaires reçoivent un repas à la cantine",
]


@pytest.fixture(scope="module")
def index() -> KeywordIndex:
    return KeywordIndex.build(DOCS)


def best(index: KeywordIndex, query: str) -> int:
    return int(np.argmax(index.scores(query)))


def test_fold_strips_accents_and_case() -> None:
    assert fold("Éducation à l'Hôpital") == "education a l'hopital"


def test_query_without_accents_finds_accented_text(index: KeywordIndex) -> None:
    assert best(index, "securite alimentaire") == 0
    assert best(index, "etat civil") == 2
    assert best(index, "eleves") == 5


def test_stemming_matches_singular_and_plural(index: KeywordIndex) -> None:
    assert best(index, "forage") == 1
    assert best(index, "registre") == 2
    assert best(index, "festivals") == 3
    assert index.scores("déchet")[4] > 0


def test_stop_words_and_unknown_words_score_nothing(index: KeywordIndex) -> None:
    assert not index.scores("de la des et").any()
    assert not index.scores("xylophone").any()
    assert not index.scores("").any()


def test_rare_terms_weigh_more(index: KeywordIndex) -> None:
    # "gestion" is in two documents, "compostage" in one: the rare term decides.
    scores = index.scores("gestion compostage")
    assert int(np.argmax(scores)) == 4
    assert index.idf("compostag") > index.idf("gestion")


def test_ideal_score_bounds_a_single_mention(index: KeywordIndex) -> None:
    stems = index.analyzer.stems("compostage")
    assert 0 < index.scores_for_stems(stems).max() <= index.ideal_score(stems) * 1.5
    assert index.ideal_score([]) == 0


def test_key_terms_are_distinctive_and_shared(index: KeywordIndex) -> None:
    terms = [stem for stem, _ in index.key_terms(DOCS[1] + " compostage")]
    assert "gestion" in terms  # shared with another document
    assert "forag" not in terms  # only this document has it: it cannot be shared


def test_word_spans_point_into_the_original_text() -> None:
    analyzer = Analyzer()
    text = "Numérisation des Registres d'État civil"
    words = analyzer.words(text)
    assert [text[s:e] for _, s, e in words] == ["Numérisation", "Registres", "État", "civil"]
    assert [stem for stem, _, _ in words] == analyzer.stems("numerisation registre etat civils")


def test_save_and_load_give_the_same_scores(index: KeywordIndex, tmp_path: Path) -> None:
    index.save(tmp_path / "kw")
    loaded = KeywordIndex.load(tmp_path / "kw")
    for query in ("forages eau", "état civil", "cantine scolaire"):
        assert np.allclose(loaded.scores(query), index.scores(query))
    assert loaded.count == len(DOCS)


def test_empty_corpus(tmp_path: Path) -> None:
    empty = KeywordIndex.build([])
    assert empty.scores("eau").shape == (0,)
    empty.save(tmp_path / "kw")
    assert KeywordIndex.load(tmp_path / "kw").scores("eau").shape == (0,)
