"""Regenerate the shipped training set and the benchmark's evaluation set (deterministic seeds).

.venv/bin/python -m bench.triage.datagen.build
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from bench.triage.datagen import (
    eval_templates,
    holdout2_templates,
    holdout_templates,
    train_letters,
    train_narratives,
    train_templates,
)
from bench.triage.datagen.common import generate

ROOT = Path(__file__).resolve().parents[3]
TRAIN_PATH = ROOT / "sheepdog" / "brain" / "data" / "train.jsonl"
EVAL_PATH = ROOT / "bench" / "triage" / "eval.jsonl"
HOLDOUT_PATH = ROOT / "bench" / "triage" / "holdout.jsonl"
PER_CATEGORY = 420
HOLDOUT2_PATH = ROOT / "bench" / "triage" / "holdout2.jsonl"
REAL_TRAIN = [
    ROOT / "bench" / "triage" / "datagen" / name
    for name in ("real_hint3.jsonl", "real_sgd.jsonl", "real_youtube.jsonl")
]
REAL_EVAL_DIR = ROOT / "bench" / "triage" / "real"


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


def _fresh(
    templates: dict[str, list[tuple[str, str]]], per_category: int, seed: int, seen: set[str]
) -> list[dict[str, str]]:
    """An evaluation set drawn independently; a row equal to a sentence already used is dropped."""
    return [
        r for r in generate(templates, per_category=per_category, seed=seed) if r["text"].lower() not in seen
    ]


def main(argv: list[str] | None = None) -> None:
    """Regenerate the training set; the evaluation sets are frozen once written.

    The evaluation sets are kept as they are (so adding training phrasings never changes what is
    measured) and the training set drops any sentence that equals one of theirs. `--eval-sets`
    regenerates eval.jsonl and holdout.jsonl, `--holdout2` the second hold-out set.
    """
    argv = sys.argv[1:] if argv is None else argv
    frozen: set[str] = set()
    for path, flag in (
        (EVAL_PATH, "--eval-sets"),
        (HOLDOUT_PATH, "--eval-sets"),
        (HOLDOUT2_PATH, "--holdout2"),
    ):
        if flag not in argv:
            frozen |= _read_texts(path)
    train = generate(train_templates.templates(), per_category=PER_CATEGORY, seed=7, exclude=frozen)
    # Real customer language (HINT3, imported by import_real.py): never a sentence of any
    # evaluation set, synthetic or real.
    real_eval = set().union(*(_read_texts(p) for p in sorted(REAL_EVAL_DIR.glob("*.jsonl"))))
    seen_train = {r["text"].lower() for r in train}
    for path in REAL_TRAIN:
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            key = row["text"].lower()
            if key not in frozen and key not in real_eval and key not in seen_train:
                seen_train.add(key)
                train.append(row)
    # Long letters (train_letters.py, train_narratives.py): complaints told as a story, and long
    # messages that are not.
    for row in [*train_letters.letters(), *train_narratives.narratives()]:
        key = row["text"].lower()
        if key not in frozen and key not in real_eval and key not in seen_train:
            seen_train.add(key)
            train.append(row)
    train_texts = {r["text"].lower() for r in train}
    _write(TRAIN_PATH, [{"text": r["text"], "label": r["label"]} for r in train])
    print(f"train: {len(train)} → {TRAIN_PATH}")
    if not EVAL_PATH.exists() or "--eval-sets" in argv:
        # Drawn independently of the training set; a row equal to a training sentence is dropped.
        evals = _fresh(eval_templates.templates(), 90, 2024, train_texts)
        _write(EVAL_PATH, evals)
        seen = train_texts | {r["text"].lower() for r in evals}
        holdout = _fresh(holdout_templates.templates(), 40, 99, seen)
        _write(HOLDOUT_PATH, holdout)
        print(f"eval: {len(evals)} → {EVAL_PATH}\nholdout: {len(holdout)} → {HOLDOUT_PATH}")
    else:
        print("eval, holdout: frozen, kept as they are")
    if not HOLDOUT2_PATH.exists() or "--holdout2" in argv:
        # Written before the second round of tuning; frozen since.
        seen = train_texts | _read_texts(EVAL_PATH) | _read_texts(HOLDOUT_PATH)
        holdout2 = _fresh(holdout2_templates.templates(), 42, 4242, seen)
        _write(HOLDOUT2_PATH, holdout2)
        print(f"holdout2: {len(holdout2)} → {HOLDOUT2_PATH}")
    else:
        print(f"holdout2: frozen, kept as is → {HOLDOUT2_PATH}")


if __name__ == "__main__":
    main()
