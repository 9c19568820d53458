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


def test_labels_that_are_not_category_names_are_refused_with_the_valid_ones(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "msgs.jsonl"
    rows = [
        ("Cancel my plan", "cancellation"),
        ("How much?", "pricing"),
        ("You broke it", "Complaint"),
        ("hi", ""),
    ]
    src.write_text("".join(json.dumps({"text": t, "label": lab}) + "\n" for t, lab in rows))
    out = tmp_path / "out.jsonl"
    args = parse([str(src), "--label-column", "label", "-o", str(out)])
    assert args.func(args) == 2
    err = " ".join(capsys.readouterr().err.split())  # rich folds long lines
    assert (
        "labels that are not category names: 'pricing' (row 2); 'Complaint' (row 3); an empty label (row 4)"
        in err
    )
    assert "valid labels" in err and "pricing_question" in err and "human_request" in err
    assert not out.exists()  # refused before anything was triaged or written


def test_triage_draws_a_progress_bar_on_a_terminal() -> None:
    import io

    from rich.console import Console

    from sheepdog.brain.evaluate import triage_all
    from sheepdog.brain.offline import OfflineBrain
    from sheepdog.config import load_settings

    screen = io.StringIO()
    term = Console(file=screen, force_terminal=True, width=100)
    business = load_settings(None, environ={}).business.to_domain()
    found = triage_all(
        ["STOP", "Are you open Sundays?", "Cancel my plan"], OfflineBrain(), business, console=term
    )
    assert [t.category.value for t in found] == ["opt_out", "routine_question", "cancellation"]
    drawn = screen.getvalue()
    assert "triage" in drawn and "3/3" in drawn and "━" in drawn and "100%" in drawn


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
