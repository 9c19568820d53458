"""`sheepdog triage`: classify a CSV or JSONL of messages, write JSONL, and score it against labels.

    sheepdog triage messages.csv --text-column body -o triaged.jsonl
    sheepdog triage bench/triage/eval.jsonl --label-column label

The same evaluate() feeds bench/triage/run.py, so the README's figures come from this code.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from sheepdog.brain.base import Brain
from sheepdog.domain.models import Business, Category, Triage

LABELS = [c.value for c in Category]


def read_rows(path: Path) -> list[dict[str, Any]]:
    """Rows of a .csv (header line) or .jsonl/.json-lines file."""
    if not path.is_file():
        raise FileNotFoundError(f"no such file: {path}")
    if path.suffix.lower() == ".csv":
        with path.open(newline="", encoding="utf-8-sig") as fh:
            return list(csv.DictReader(fh))
    rows = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{n}: not JSON ({exc.msg})") from exc
    return rows


def triage_record(text: str, t: Triage) -> dict[str, Any]:
    """One output line: category, confidence, signals, flags and the extracted fields."""
    ex = t.extracted
    return {
        "text": text,
        "category": t.category.value,
        "confidence": round(t.confidence, 3),
        "signals": [s.name.value for s in t.signals],
        "flags": list(t.flags),
        "refund_amount": f"{ex.refund_amount.amount} {ex.refund_amount.currency}"
        if ex.refund_amount
        else None,
        "order_ref": ex.order_ref,
        "requested_time": ex.requested_time,
        "service": ex.service,
        "name": ex.name,
        "company": ex.company,
        "backend": t.backend,
    }


def triage_all(
    texts: Sequence[str],
    brain: Brain,
    business: Business,
    *,
    open_conversation: bool = False,
    console: Console | None = None,
) -> list[Triage]:
    """Triage every text with a progress bar (on a terminal: rich draws nothing into a pipe or file)."""
    out: list[Triage] = []
    columns = (
        SpinnerColumn(),
        TextColumn("triage"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        TextColumn("left"),
        TimeRemainingColumn(),
    )
    with Progress(
        *columns, console=console or Console(stderr=True), transient=True, disable=not texts
    ) as bar:
        task = bar.add_task("triage", total=len(texts))
        for chunk in read_ahead_chunks(list(texts), brain):
            for text in chunk:
                out.append(brain.triage(text, business, in_open_conversation=open_conversation))
                bar.advance(task)
    return out


def read_ahead_chunks(texts: list[str], brain: object, size: int = 256) -> Iterator[list[str]]:
    """The texts in chunks, each prepared by the brain in one batch before it is triaged (the offline
    brain's sentence vectors); a brain without read_ahead gets the chunks as they are."""
    prepare = getattr(brain, "read_ahead", None)
    for start in range(0, len(texts), size):
        chunk = texts[start : start + size]
        if prepare is not None:
            prepare(chunk)
        yield chunk


@dataclass(frozen=True)
class Scores:
    """Accuracy, macro-F1, per-category precision/recall/F1 and the confusion matrix (rows: truth)."""

    n: int
    accuracy: float
    macro_f1: float
    per_category: dict[str, dict[str, float]]
    labels: list[str]
    confusion: list[list[int]]


def score(truth: Sequence[str], predicted: Sequence[str]) -> Scores:
    from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support

    labels = [c for c in LABELS if c in set(truth) | set(predicted)]
    p, r, f, support = precision_recall_fscore_support(truth, predicted, labels=labels, zero_division=0)
    per = {
        label: {
            "precision": float(p[i]),
            "recall": float(r[i]),
            "f1": float(f[i]),
            "support": int(support[i]),
        }
        for i, label in enumerate(labels)
    }
    present = [c for c in labels if c in set(truth)]
    return Scores(
        n=len(truth),
        accuracy=float(accuracy_score(truth, predicted)),
        macro_f1=float(f1_score(truth, predicted, labels=present, average="macro", zero_division=0)),
        per_category=per,
        labels=labels,
        confusion=confusion_matrix(truth, predicted, labels=labels).tolist(),
    )


def summary_table(triages: Iterable[Triage]) -> Table:
    items = list(triages)
    counts = Counter(t.category.value for t in items)
    table = Table(title=f"Triage of {len(items)} messages")
    for col in ("category", "messages", "share", "mean confidence", "flagged"):
        table.add_column(col, justify="left" if col == "category" else "right")
    for label in LABELS:
        group = [t for t in items if t.category.value == label]
        if not group:
            continue
        mean = sum(t.confidence for t in group) / len(group)
        flagged = sum(1 for t in group if t.flags)
        table.add_row(
            label, str(counts[label]), f"{counts[label] / len(items):.0%}", f"{mean:.2f}", str(flagged)
        )
    return table


def scores_tables(s: Scores) -> tuple[Table, Table]:
    per = Table(title=f"accuracy {s.accuracy:.3f} · macro-F1 {s.macro_f1:.3f} · n={s.n}")
    for col in ("category", "precision", "recall", "F1", "support"):
        per.add_column(col, justify="left" if col == "category" else "right")
    for label, m in s.per_category.items():
        per.add_row(label, f"{m['precision']:.3f}", f"{m['recall']:.3f}", f"{m['f1']:.3f}", str(m["support"]))
    short = {label: str(i + 1) for i, label in enumerate(s.labels)}
    cm = Table(title="confusion matrix (rows: true, columns: predicted)")
    cm.add_column("true \\ pred")
    for label in s.labels:
        cm.add_column(short[label], justify="right")
    for label, row in zip(s.labels, s.confusion, strict=True):
        cm.add_row(f"{label} ({short[label]})", *[str(v) if v else "·" for v in row])
    return per, cm


def unknown_labels(rows: Sequence[dict[str, Any]], column: str, shown: int = 5) -> str:
    """'' when every row's label is a category name; else the wrong ones with their line numbers,
    so a typo ('pricing', 'Complaint ') is fixed before anything is scored against it."""
    wrong: dict[str, list[int]] = {}
    for n, row in enumerate(rows, 1):
        label = str(row.get(column) if row.get(column) is not None else "")
        if label not in LABELS:
            wrong.setdefault(label, []).append(n)
    parts = []
    for label, where in list(wrong.items())[:shown]:
        rows_at = ", ".join(map(str, where[:3])) + (f" and {len(where) - 3} more" if len(where) > 3 else "")
        parts.append(f"{label!r} (row {rows_at})" if label else f"an empty label (row {rows_at})")
    more = f" and {len(wrong) - shown} other labels" if len(wrong) > shown else ""
    return "; ".join(parts) + more


def add_triage_command(subparsers: Any) -> argparse.ArgumentParser:
    """Register `sheepdog triage` on an argparse subparsers object."""
    p = subparsers.add_parser(
        "triage", help="triage a CSV or JSONL of messages; score it with --label-column"
    )
    p.add_argument("input", type=Path, help="a .csv (with a header) or .jsonl file")
    p.add_argument("--text-column", default="text", help="column/key holding the message (default: text)")
    p.add_argument(
        "--label-column", help="column/key with the true category: prints accuracy, macro-F1, confusion"
    )
    p.add_argument("-o", "--output", help="JSONL to write (default: <input>.triaged.jsonl; '-' for stdout)")
    p.add_argument("--config", help="path to a sheepdog.toml (default: the built-in demo business)")
    p.add_argument(
        "--backend",
        choices=("offline", "config"),
        default="offline",
        help="offline brain (default) or whatever the config's [brain] says",
    )
    p.add_argument(
        "--open-conversation", action="store_true", help="treat every message as a reply in a thread"
    )
    p.set_defaults(func=run_triage)
    return p


def run_triage(args: argparse.Namespace) -> int:
    """Entry point of `sheepdog triage`; returns the process exit code."""
    from sheepdog.brain import make_brain, offline_brain
    from sheepdog.config import load_settings

    err = Console(stderr=True)
    try:
        rows = read_rows(Path(args.input))
    except (FileNotFoundError, ValueError) as exc:
        err.print(f"[red]cannot read input[/]: {exc}")
        return 2
    if rows and args.text_column not in rows[0]:
        err.print(
            f"[red]no column {args.text_column!r}[/] (columns: {', '.join(rows[0])}); use --text-column"
        )
        return 2
    if args.label_column and rows and args.label_column not in rows[0]:
        err.print(f"[red]no column {args.label_column!r}[/] (columns: {', '.join(rows[0])})")
        return 2
    if args.label_column:
        refused = unknown_labels(rows, args.label_column)
        if refused:
            err.print(escape(f"labels that are not category names: {refused}"), style="red")
            err.print(escape(f"valid labels (shared/TRIAGE.md): {', '.join(LABELS)}"))
            return 2
    settings = load_settings(args.config)
    business = settings.business.to_domain()
    brain: Brain = make_brain(settings) if args.backend == "config" else offline_brain(settings)
    texts = [str(r.get(args.text_column) or "") for r in rows]
    triages = triage_all(texts, brain, business, open_conversation=args.open_conversation, console=err)
    records = [triage_record(text, t) for text, t in zip(texts, triages, strict=True)]
    if args.label_column:
        for record, row in zip(records, rows, strict=True):
            record["label"] = row.get(args.label_column)
    to_stdout = args.output == "-"
    out_path = None if to_stdout else Path(args.output or Path(args.input).with_suffix(".triaged.jsonl"))
    lines = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    if out_path is None:
        sys.stdout.write(lines)
    else:
        out_path.write_text(lines, encoding="utf-8")
    console = err if to_stdout else Console()
    console.print(summary_table(triages))
    if out_path is not None:
        console.print(f"wrote {len(records)} lines to {out_path}")
    if args.label_column:
        truth = [str(r.get(args.label_column) or "") for r in rows]
        per, cm = scores_tables(score(truth, [t.category.value for t in triages]))
        console.print(per)
        console.print(cm)
    return 0
