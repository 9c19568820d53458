"""Regenerate the shipped training set and the benchmark's evaluation set (deterministic seeds).

.venv/bin/python -m bench.triage.datagen.build
"""

from __future__ import annotations

import json
from pathlib import Path

from bench.triage.datagen import eval_templates, holdout_templates, train_templates
from bench.triage.datagen.common import generate

ROOT = Path(__file__).resolve().parents[3]
TRAIN_PATH = ROOT / "sheepdog" / "brain" / "data" / "train.jsonl"
EVAL_PATH = ROOT / "bench" / "triage" / "eval.jsonl"
HOLDOUT_PATH = ROOT / "bench" / "triage" / "holdout.jsonl"


def _write(path: Path, rows: list[dict[str, str]]) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")


def main() -> None:
    train = generate(train_templates.templates(), per_category=360, seed=7)
    train_texts = {r["text"].lower() for r in train}
    # Evaluation sets are drawn independently of the training set (so they stay the same when the
    # training set grows); any row that happens to equal a training sentence is dropped.
    evals = [
        r
        for r in generate(eval_templates.templates(), per_category=90, seed=2024)
        if r["text"].lower() not in train_texts
    ]
    _write(TRAIN_PATH, [{"text": r["text"], "label": r["label"]} for r in train])
    _write(EVAL_PATH, evals)
    seen = train_texts | {r["text"].lower() for r in evals}
    holdout = [
        r
        for r in generate(holdout_templates.templates(), per_category=40, seed=99)
        if r["text"].lower() not in seen
    ]
    _write(HOLDOUT_PATH, holdout)
    print(
        f"train: {len(train)} → {TRAIN_PATH}\neval: {len(evals)} → {EVAL_PATH}\nholdout: {len(holdout)} → {HOLDOUT_PATH}"
    )


if __name__ == "__main__":
    main()
