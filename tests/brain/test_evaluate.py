"""`sheepdog triage` and the benchmark data: CSV/JSONL in, JSONL out, scores with labels."""

from __future__ import annotations

import argparse
import csv
import json
from collections import Counter
from pathlib import Path

import pytest

from sheepdog.brain.classifier import load_examples
from sheepdog.brain.evaluate import add_triage_command, read_rows, score

BENCH = Path(__file__).resolve().parents[2] / "bench" / "triage"


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="sheepdog")
    add_triage_command(parser.add_subparsers(dest="command"))
    return parser.parse_args(["triage", *argv])


def test_csv_with_labels(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "msgs.csv"
    with src.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["body", "truth"])
        w.writerows(
            [
                ["STOP", "opt_out"],
                ["I want my $120 deposit back", "refund_request"],
                ["Do you install heat pumps?", "sales_inquiry"],
                ["", "other"],
            ]
        )
    out = tmp_path / "out.jsonl"
    args = parse([str(src), "--text-column", "body", "--label-column", "truth", "-o", str(out)])
    assert args.func(args) == 0
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert [x["category"] for x in lines] == ["opt_out", "refund_request", "sales_inquiry", "other"]
    assert lines[1]["refund_amount"] == "120 USD" and 0 < lines[1]["confidence"] <= 1
    printed = capsys.readouterr().out
    assert "accuracy 1.000" in printed and "macro-F1 1.000" in printed and "confusion matrix" in printed


def test_jsonl_to_stdout(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "msgs.jsonl"
    src.write_text(json.dumps({"text": "Can I come Friday at 10?"}) + "\n")
    args = parse([str(src), "-o", "-"])
    assert args.func(args) == 0
    record = json.loads(capsys.readouterr().out.strip().splitlines()[0])
    assert record["category"] == "booking" and record["requested_time"] == "Friday at 10"


def test_missing_column_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "msgs.jsonl"
    src.write_text(json.dumps({"message": "hi"}) + "\n")
    args = parse([str(src)])
    assert args.func(args) == 2
    assert "--text-column" in capsys.readouterr().err


def test_score_counts() -> None:
    s = score(["opt_out", "spam", "spam"], ["opt_out", "spam", "other"])
    assert s.accuracy == pytest.approx(2 / 3)
    assert s.per_category["spam"]["recall"] == 0.5
    assert s.confusion[s.labels.index("spam")][s.labels.index("other")] == 1


def test_evaluation_set_is_large_varied_and_unseen() -> None:
    rows = read_rows(BENCH / "eval.jsonl")
    assert len(rows) >= 1000
    assert len({r["domain"] for r in rows}) >= 3
    assert min(Counter(r["label"] for r in rows).values()) >= 50
    train = {t.lower() for t, _ in load_examples()}
    assert not [r for r in rows if r["text"].lower() in train]
