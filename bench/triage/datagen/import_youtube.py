"""Import spam training rows from the YouTube Spam Collection (Alberto, Lochter & Almeida 2015).

UCI Machine Learning Repository dataset 380, CC BY 4.0: 1,956 real comments from five music videos,
each labelled spam (1) or not (0) by the authors. Its spam is what a small business's inbox gets
from strangers: "check out my channel", "make money from home at <site>", "free gift cards",
"subscribe and I'll subscribe back". Only the spam comments are kept, as `spam`: the ordinary
comments ("love this song") are fan chatter, not a customer writing to a business, and would teach
nothing TRIAGE.md has a category for. Exact repeats (case-insensitive) are dropped, and comments
shorter than 8 characters.

Why this source: the offline brain's spam examples were e-mail pitches, so it missed short
text-message spam. The SMS Spam Collection (an evaluation source) is a different collection from
different people and a different medium; every copy or extension of it is left out of training
(bench/triage/SOURCES.md). Read from a public copy of the five CSV files (`--root DIR` holding
`<owner>+<name>/repo`, as the search tool's fetch leaves it); the output is committed.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import random
from pathlib import Path

from bench.triage.datagen.import_real import git_show

HERE = Path(__file__).resolve().parent
REPO = ("shravyashetty04+youtube-spam-detector", "5649b037f9109d9625b73a4379f2da022bcc592f")
FILES = (
    "Youtube01-Psy.csv",
    "Youtube02-KatyPerry.csv",
    "Youtube03-LMFAO.csv",
    "Youtube04-Eminem.csv",
    "Youtube05-Shakira.csv",
)
OUT = HERE / "real_youtube.jsonl"


def spam_rows(root: Path) -> list[dict[str, str]]:
    """The collection's spam comments, whitespace folded, each once."""
    seen: set[str] = set()
    rows: list[dict[str, str]] = []
    for name in FILES:
        raw = git_show(root, REPO, name)
        for record in csv.DictReader(io.StringIO(raw)):
            text = " ".join(record["CONTENT"].replace("\ufeff", "").split())
            if record["CLASS"].strip() != "1" or len(text) < 8 or text.lower() in seen:
                continue
            seen.add(text.lower())
            rows.append({"text": text, "label": "spam"})
    random.Random(16).shuffle(rows)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path("/work/.mirror"))
    rows = spam_rows(parser.parse_args().root)
    with OUT.open("w", encoding="utf-8") as fh:
        for r in rows:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    print(f"{OUT.name}: {len(rows)} spam comments")


if __name__ == "__main__":
    main()
