"""Regenerate the shipped training set and the benchmark's evaluation set (deterministic seeds).

.venv/bin/python -m bench.triage.datagen.build
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from bench.triage.datagen import eval_templates, holdout2_templates, holdout_templates, train_templates
from bench.triage.datagen.common import generate

ROOT = Path(__file__).resolve().parents[3]
TRAIN_PATH = ROOT / "sheepdog" / "brain" / "data" / "train.jsonl"
EVAL_PATH = ROOT / "bench" / "triage" / "eval.jsonl"
HOLDOUT_PATH = ROOT / "bench" / "triage" / "holdout.jsonl"
HOLDOUT2_PATH = ROOT / "bench" / "triage" / "holdout2.jsonl"


def _write(path: Path, rows: list[dict[str, str]]) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")


def _read_texts(path: Path) -> set[str]:
    if not path.exists():
        return set()
    return {
        json.loads(line)["text"].lower()
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    }


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    # The second hold-out set is frozen once written (it was written before the second round of
    # tuning); it is only regenerated on request. Training never contains one of its sentences.
    frozen2 = _read_texts(HOLDOUT2_PATH) if "--holdout2" not in argv else set()
    train = generate(train_templates.templates(), per_category=360, seed=7, exclude=frozen2)
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
    if not HOLDOUT2_PATH.exists() or "--holdout2" in argv:
        seen |= {r["text"].lower() for r in holdout}
        holdout2 = [
            r
            for r in generate(holdout2_templates.templates(), per_category=42, seed=4242)
            if r["text"].lower() not in seen
        ]
        _write(HOLDOUT2_PATH, holdout2)
        print(f"holdout2: {len(holdout2)} → {HOLDOUT2_PATH}")
    else:
        print(f"holdout2: frozen, kept as is → {HOLDOUT2_PATH}")


if __name__ == "__main__":
    main()
