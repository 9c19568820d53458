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
    examples = load_examples()
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
