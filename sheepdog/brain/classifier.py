"""A local text classifier: TF-IDF over word and character n-grams, logistic regression.

Trained at first use from the labelled set shipped in brain/data/train.jsonl (a second or two),
shared by every OfflineBrain in the process. The owner's corrections act twice: at once, a
corrected message decides for messages close to it; and in the background the model is refitted
with the corrections weighted in, so messages that are merely alike ("walk-through on Saturday"
after "walk-through on Friday" was corrected) follow too.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, Pipeline

log = logging.getLogger(__name__)

TRAIN_FILE = "train.jsonl"
CORRECTION_MATCH = 0.72  # cosine similarity above which a corrected example decides
CORRECTION_WEIGHT = 8.0  # one correction counts as this many shipped examples in a refit


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


def build_pipeline() -> Pipeline:
    features = FeatureUnion(
        [
            (
                "words",
                TfidfVectorizer(preprocessor=normalise, ngram_range=(1, 2), sublinear_tf=True, min_df=1),
            ),
            (
                "chars",
                TfidfVectorizer(
                    preprocessor=normalise,
                    analyzer="char_wb",
                    ngram_range=(2, 5),
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


_LOCK = threading.Lock()
_SHARED: dict[str, Pipeline] = {}


def shared_pipeline() -> Pipeline:
    """The model trained on the shipped data: loaded from the model cache, or fitted once (and
    cached) when the cache has none for this training set and scikit-learn version."""
    with _LOCK:
        if "default" not in _SHARED:
            _SHARED["default"] = _load_or_fit()
        return _SHARED["default"]


def cache_path() -> Path:
    """Where the fitted model is kept: $SHEEPDOG_MODEL_CACHE, else the user's cache folder. The
    name carries a digest of the training data, this module's pipeline and scikit-learn's version,
    so a change to any of them fits anew instead of loading a model that no longer matches."""
    import hashlib
    import inspect
    import os

    import sklearn

    digest = hashlib.sha256()
    digest.update(resources.files("sheepdog.brain").joinpath("data", TRAIN_FILE).read_bytes())
    digest.update(inspect.getsource(build_pipeline).encode())
    digest.update(inspect.getsource(normalise).encode())
    digest.update(sklearn.__version__.encode())
    root = os.environ.get("SHEEPDOG_MODEL_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "sheepdog"
    )
    return Path(root) / f"classifier-{digest.hexdigest()[:16]}.pkl"


def _load_or_fit() -> Pipeline:
    import os
    import pickle
    import tempfile

    path = cache_path()
    try:
        with path.open("rb") as fh:
            pipe = pickle.load(fh)
        if isinstance(pipe, Pipeline):
            return pipe
    except FileNotFoundError:
        pass
    except Exception:  # a truncated or foreign file: fit anew and replace it
        log.warning("model cache %s unreadable; fitting the model again", path, exc_info=True)
    examples = load_examples()
    pipe = build_pipeline()
    pipe.fit([t for t, _ in examples], [c for _, c in examples])
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("wb", dir=path.parent, delete=False, suffix=".tmp") as fh:
            pickle.dump(pipe, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(fh.name, path)  # atomic: a reader sees the old file or the whole new one
    except OSError as exc:  # a read-only home: fit at every start, as before
        log.warning("could not keep the fitted model at %s (%s)", path, exc)
    return pipe


@dataclass
class Classifier:
    """Probabilities per category, with the owner's corrections taking precedence nearby."""

    pipeline: Pipeline = field(default_factory=shared_pipeline)
    corrections: list[tuple[str, str]] = field(default_factory=list)
    refit: bool = True  # refit with the corrections in the background (off: nearest match only)
    _matrix: object | None = None
    _dirty: bool = False
    _running: bool = False  # a refit thread is on it (set and cleared under the lock)
    _refitter: threading.Thread | None = None
    _refit_lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def labels(self) -> list[str]:
        return [str(c) for c in self.pipeline.classes_]

    def predict_proba(self, text: str) -> dict[str, float]:
        return self.predict_many([text])[0]

    def predict_many(self, texts: list[str]) -> list[dict[str, float]]:
        pipeline = self.pipeline  # the same model for the numbers and their labels
        labels = [str(c) for c in pipeline.classes_]
        probs = pipeline.predict_proba(texts)
        return [{label: float(p) for label, p in zip(labels, row, strict=True)} for row in probs]

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
            shipped = load_examples()
            texts = [t for t, _ in shipped] + [t for t, _ in corrections]
            labels = [c for _, c in shipped] + [c for _, c in corrections]
            weights = [1.0] * len(shipped) + [CORRECTION_WEIGHT] * len(corrections)
            pipe = build_pipeline()
            try:
                pipe.fit(texts, labels, model__sample_weight=weights)
            except Exception:  # the shipped model and the nearest-match rule keep working
                log.exception("refitting with %d corrections failed", len(corrections))
                continue
            self.pipeline = pipe  # one reference swap: a triage in flight keeps the model it had
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
        pipeline, corrections = self.pipeline, list(self.corrections)  # a refit may swap them meanwhile
        features = pipeline.named_steps["features"]
        cached = self._matrix
        if not (isinstance(cached, tuple) and cached[0] is pipeline and cached[1] == corrections):
            cached = (pipeline, corrections, features.transform([t for t, _ in corrections]))
            self._matrix = cached
        query = features.transform([text])
        sims = (cached[2] @ query.T).toarray().ravel() / 2.0  # two L2-normalised blocks → max 2
        best = int(np.argmax(sims))
        if sims[best] >= CORRECTION_MATCH:
            return corrections[best][1], float(sims[best])
        return None
