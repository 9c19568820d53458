"""Import real customer complaints from the CFPB Consumer Complaint Database: an evaluation set.

Source: the US Consumer Financial Protection Bureau's Consumer Complaint Database
(https://www.consumerfinance.gov/data-research/consumer-complaints/), column "Consumer complaint
narrative" (the consumer's own account of what happened, published with the consumer's consent,
personal details redacted by the CFPB as "XXXX", "XX/XX/2019", amounts as "{$120.00}").
Licence: a work of the US federal government, public domain in the US (17 U.S.C. 105); the CFPB
publishes the database as open data, listed under CC0 1.0 (its data set card on Hugging Face,
CFPB/consumer-finance-complaints). See bench/triage/SOURCES.md.

Copy read: a 6,623-row extract of the database (complaints of 2015-2020, 1,532 with a narrative)
committed verbatim to a public repository: ZiyuYan9/consumer_complaints, `complaints_sample.csv`,
commit 715893bebf37fac632374ca7cbcde307069fd35f (blob 91d4a37dd8141cfe6d2970258e7fec0d6e7cf85a,
identical at the newest commit ecece4d9228ad0198cd175e59e355a768ebd385b).

Evaluation side only: never used for training. Writes bench/triage/real/cfpb.jsonl, about 300
rows {"text", "label", "domain": "cfpb"}, and bench/triage/real/cfpb_blind.jsonl. Run:

    .venv/bin/python -m bench.triage.datagen.import_cfpb [PATH.csv] [--root /work/.mirror]

(with PATH, a CSV with the CFPB's column names; without it, the file above is read from the git
mirror under --root, `<root>/ZiyuYan9+consumer_complaints/repo`).

Text kept: a narrative is long (a median of ~790 characters, some of several thousand), a
customer's message is short, so only its first 600 characters are kept, cut at the last sentence
end inside them (a narrative of 600 characters or less is kept whole); a narrative with no sentence
end after its first 150 characters is dropped. Whitespace is collapsed to single spaces. The
CFPB's redactions are KEPT as they are ("XXXX", "XX/XX/2019", "{$21.00}"): no placeholder is
substituted; a text of which more than a fifth of the words are redactions is dropped.

Mapping (written before any row was scored; the label is read from the KEPT text, as that is what
the classifier will see; TRIAGE.md decides between categories):

- `refund_request`: the text asks, in the present, for money back: a request word ("I want",
  "I would like", "I need", "I demand", "I expect", "I am requesting/asking for/seeking",
  "please", "want them to", "should be") followed in the same sentence by refund / reimburse /
  money back / funds back / return of my money. Money back beats complaint (TRIAGE.md).
- `cancellation`: the text asks, in the present, to cancel / close / terminate something
  ("I want to cancel", "please close my account") and says nothing else: no money-back word and
  none of the complaint cues below.
- `complaint`: none of the above, and the text says something went wrong: a wrong or unauthorised
  charge, fee, error, inaccuracy, fraud, harassment, threats, refusal, failure, delay, no response,
  a lie, a violation, poor service (the cue list `_WRONG` below).
- dropped as ambiguous or as another category: a money-back word without such a request (a refund
  refused, chased or only told about: complaint, status inquiry or refund request); a cancel request
  together with a complaint or a money-back word; anything asking them to stop calling or writing
  (opt_out beats everything in TRIAGE.md), "cease", "take me off"; a request to speak to someone
  or to be called back (human_request); a "when will / where is / status of ...?" question
  (status_inquiry); no complaint cue at all; texts under 8 words; duplicates.

Sampling (seed 16): every refund request and cancellation kept, and complaints to make up 300
rows, drawn in turn from each CFPB product (credit reporting, debt collection, mortgage, cards,
bank accounts, student loans, ...) so that credit-report disputes, half the narratives, do not
swamp the set. Then, from what is left in the same queues, the next 300 complaints for
`real/cfpb_blind.jsonl` (seed 17 for their order): a second draw with no row of the first, made in
the sixth round of issue 16 to check the first set's figures blind (bench/triage/SOURCES.md).
Third, the next 300 again into `real/cfpb_blind2.jsonl` (seed 18): drawn at the start of the
seventh round, once the first blind draw had become a development set, and scored once at its end.
The smaller product queues are empty by then, so it holds more credit-report disputes.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import random
import re
from pathlib import Path

from bench.triage.datagen.import_real import git_show

HERE = Path(__file__).resolve().parent
OUT = HERE.parent / "real" / "cfpb.jsonl"
BLIND_OUT = HERE.parent / "real" / "cfpb_blind.jsonl"
BLIND2_OUT = HERE.parent / "real" / "cfpb_blind2.jsonl"

REPO = "ZiyuYan9+consumer_complaints"
COMMIT = "715893bebf37fac632374ca7cbcde307069fd35f"
PATH = "complaints_sample.csv"
NARRATIVE, PRODUCT = "Consumer complaint narrative", "Product"

KEEP_CHARS, MIN_CUT = 600, 150
TOTAL, SEED = 300, 16
BLIND_TOTAL, BLIND_SEED = 300, 17
BLIND2_TOTAL, BLIND2_SEED = 300, 18

# A sentence end: . ! or ? (and a closing quote or bracket), then a space; not after a title or an
# abbreviation ("Mr. Cooper", "U.S. Bank", "Inc."), where the sentence goes on.
_SENTENCE_END = re.compile(r"[.!?][\"')\]]*(?= )")
_ABBREV = re.compile(
    r"(?:\b(?:Mr|Mrs|Ms|Dr|Jr|Sr|St|Inc|Co|Corp|Ltd|LLC|Dept|No|vs|etc|approx|e\.g|i\.e)|\b[A-Z])\.$",
)
_REDACTED = re.compile(r"^\W*X{2,}")

_MONEY_BACK = re.compile(
    r"\b(?:refund\w*|reimburs\w*|money back|funds back|pay me back|return (?:of )?(?:my|the) "
    r"(?:money|funds|payment|deposit))",
    re.I,
)
_REFUND_ASK = re.compile(
    r"\b(?:i (?:just |only |really |simply )?(?:want|would like|need|demand|expect|request|am "
    r"(?:requesting|asking for|seeking|demanding))|i'd like|please|want (?:them|you|it) to|like "
    r"(?:them|you) to|should be)\b[^.!?]{0,80}?\b(?:refund\w*|reimburs\w*|money back|funds back|"
    r"pay me back|return (?:of )?(?:my|the) (?:money|funds|payment|deposit))",
    re.I,
)
_NO_REFUND = re.compile(
    r"\b(?:not|n't|never)\s+(?:\w+\s+){0,2}(?:want|asking|requesting|need)\w*\b[^.!?]{0,40}"
    r"(?:refund|reimburs)",
    re.I,
)
_CANCEL_ASK = re.compile(
    r"\b(?:i (?:just |only )?(?:want|would like|need|wish|demand|request|am (?:asking|requesting)) "
    r"(?:you |them )?to (?:cancel|close|terminate)|i'd like to (?:cancel|close|terminate)|please "
    r"(?:cancel|close|terminate))\b",
    re.I,
)
_OPT_OUT = re.compile(
    r"\bstop (?:call|contact|text|email|harass|send)\w*|\bcease\b|\b(?:do not|don't|dont|not to) "
    r"(?:call|contact|text|email)\b|\bto stop\b|\btake me off\b|\bremove my (?:number|phone|name|email)\b",
    re.I,
)
# Added in the third round of issue 16 (before any of these rows was scored), for a real opt-out
# measure: the consumer wants the calls or letters to stop. TRIAGE.md: opt-out beats everything
# ("a furious message that ends 'and stop texting me' is opt_out"), so a narrative with such a
# request is `opt_out` whatever else it says. Only a request to stop contacting the writer counts;
# the wider `_OPT_OUT` ("to stop the payment", "cease") still only drops a row.
_OPT_OUT_ASK = re.compile(
    r"\b(?:stop|cease)\s+(?:all\s+)?(?:calling|contacting|texting|emailing|e-mailing|harassing|sending)\s+"
    r"(?:me|us)\b|\b(?:do not|don't|dont|never)\s+(?:call|contact|text|email)\s+(?:me|us)\b|\btake me off\b|"
    r"\bremove my (?:number|phone|name|email)\b|\bcease (?:and desist|all (?:communication|contact)|"
    r"communicat\w*|contact\w*)\b|\bno (?:more|further) (?:calls|contact|communication)\b",
    re.I,
)
_HUMAN_ASK = re.compile(
    r"\b(?:i (?:want|would like|need|demand|request|am requesting) to (?:speak|talk)|i'd like to "
    r"(?:speak|talk)|please (?:call|contact) me|call me back)\b",
    re.I,
)
_STATUS_ASK = re.compile(r"\b(?:when will|where is|where's|what is the status|status of)\b[^.!?]*\?", re.I)
_WRONG = re.compile(
    r"\b(?:wrong\w*|errors?|erroneous\w*|incorrect\w*|inaccura\w*|mistake\w*|fraud\w*|scam\w*|"
    r"unauthori[sz]ed|not authori[sz]ed|never authori[sz]ed|identity theft|stolen|harass\w*|threat\w*|"
    r"rude\w*|unprofessional|refus\w*|fail\w*|neglect\w*|negligen\w*|denied|deny\w*|lie|lied|lies|"
    r"lying|misled|mislead\w*|decept\w*|deceiv\w*|illegal\w*|unlawful\w*|violat\w*|unfair\w*|abus\w*|"
    r"predatory|overcharg\w*|double[- ]charg\w*|charged|fees?|penalt\w*|excessive\w*|delay\w*|"
    r"late|still|never|no response|not respond\w*|unresponsive|ignor\w*|lost|damag\w*|frustrat\w*|"
    r"unacceptable|terrible|horrible|poor\w*|ridiculous|disput\w*|not mine|does not belong|"
    r"doesn't belong|not my|problem\w*|issues?|complain\w*|without (?:my|any) (?:permission|consent|"
    r"knowledge|notice)|(?:did|does|has|have|had|was|were|is|are|will|would|could|can) ?(?:not|n't)|"
    r"won't|cannot|can't|couldn't)\b",
    re.I,
)


def cut(narrative: str) -> str | None:
    """The narrative's first KEEP_CHARS characters, cut at a sentence end; None if it has none."""
    text = " ".join(narrative.split())
    if len(text) <= KEEP_CHARS:
        return text
    head = text[: KEEP_CHARS + 1]
    ends = [m.end() for m in _SENTENCE_END.finditer(head) if not _ABBREV.search(head[: m.end()])]
    ends = [e for e in ends if MIN_CUT <= e <= KEEP_CHARS]
    return text[: ends[-1]] if ends else None


def label(text: str) -> str | None:
    """Our category of a (cut) narrative by the rules of the module docstring, or None (dropped)."""
    if _OPT_OUT_ASK.search(text):
        return "opt_out"
    if _OPT_OUT.search(text) or _HUMAN_ASK.search(text) or _STATUS_ASK.search(text):
        return None
    money, cancel_ask = _MONEY_BACK.search(text), _CANCEL_ASK.search(text)
    if money:
        if _REFUND_ASK.search(text) and not _NO_REFUND.search(text) and not cancel_ask:
            return "refund_request"
        return None
    if cancel_ask:
        return None if _WRONG.search(text) else "cancellation"
    return "complaint" if _WRONG.search(text) else None


def read_csv(path: Path | None, root: Path) -> list[dict[str, str]]:
    data = path.read_text(encoding="utf-8") if path else git_show(root, (REPO, COMMIT), PATH)
    return list(csv.DictReader(io.StringIO(data, newline="")))


def rows_of(records: list[dict[str, str]]) -> list[tuple[str, dict[str, str]]]:
    """(product, row) for every narrative the rules keep, deduplicated on the kept text."""
    out: list[tuple[str, dict[str, str]]] = []
    seen: set[str] = set()
    for rec in records:
        text = cut(rec.get(NARRATIVE) or "")
        if not text or text.lower() in seen:
            continue
        seen.add(text.lower())
        words = text.split()
        if len(words) < 8 or sum(bool(_REDACTED.match(w)) for w in words) > len(words) / 5:
            continue
        category = label(text)
        if category:
            out.append((rec.get(PRODUCT, ""), {"text": text, "label": category, "domain": "cfpb"}))
    return out


def sample(
    rows: list[tuple[str, dict[str, str]]],
) -> tuple[list[dict[str, str]], list[dict[str, str]], list[dict[str, str]]]:
    """Every refund request, cancellation and opt-out; complaints up to TOTAL together with the
    refunds and cancellations (opt-outs come on top, so adding them changed no other row), one
    product after another. Second, the blind set: the next BLIND_TOTAL complaints from the same
    queues, rows the first set does not hold (drawing them changes no row of the first). Third, a
    second blind set drawn the same way after both (seventh round), kept unscored until the round's
    changes were made."""
    rng = random.Random(SEED)
    kept = [r for _, r in rows if r["label"] not in ("complaint", "opt_out")]
    by_product: dict[str, list[dict[str, str]]] = {}
    for product, r in rows:
        if r["label"] == "complaint":
            by_product.setdefault(product, []).append(r)
    queues = [by_product[p] for p in sorted(by_product)]
    for q in queues:
        rng.shuffle(q)
    _draw(queues, kept, TOTAL)
    kept += [r for _, r in rows if r["label"] == "opt_out"]
    rng.shuffle(kept)
    blind: list[dict[str, str]] = []
    _draw(queues, blind, BLIND_TOTAL)
    random.Random(BLIND_SEED).shuffle(blind)
    blind2: list[dict[str, str]] = []
    _draw(queues, blind2, BLIND2_TOTAL)
    random.Random(BLIND2_SEED).shuffle(blind2)
    return kept, blind, blind2


def _draw(queues: list[list[dict[str, str]]], into: list[dict[str, str]], total: int) -> None:
    """One complaint from each product's queue in turn until `into` holds `total` rows."""
    while len(into) < total and any(queues):
        for q in queues:
            if q and len(into) < total:
                into.append(q.pop())


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("csv", nargs="?", type=Path, help="an extracted CFPB CSV (default: the mirror)")
    parser.add_argument("--root", type=Path, default=Path("/work/.mirror"))
    args = parser.parse_args()
    first, blind, blind2 = sample(rows_of(read_csv(args.csv, args.root)))
    for out, rows in ((OUT, first), (BLIND_OUT, blind), (BLIND2_OUT, blind2)):
        out.parent.mkdir(parents=True, exist_ok=True)
        with out.open("w", encoding="utf-8") as fh:
            for r in rows:
                fh.write(json.dumps(r, ensure_ascii=False) + "\n")
        counts: dict[str, int] = {}
        for r in rows:
            counts[r["label"]] = counts.get(r["label"], 0) + 1
        print(f"{out.name}: {len(rows)} {dict(sorted(counts.items()))}")


if __name__ == "__main__":
    main()
