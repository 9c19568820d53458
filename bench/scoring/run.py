"""Lead scoring bench: the learned scorer against the rubric alone, on an open dataset with outcomes.

Dataset: Online Shoppers Purchasing Intention (Sakar, Polat, Katircioglu, Kastro, 2018; UCI Machine
Learning Repository id 468, CC BY 4.0): 12,330 web sessions, 1,908 ending in a purchase
(`Revenue`). See SOURCES.md. Each session is read as a lead the way `sheepdog leads import` reads a
CRM export: TrafficType is the source, VisitorType a field, every other column a signal.

The rubric is what an owner would write without looking at outcomes (time on product pages,
returning visitor, a special day near, a bounce); it is fixed here, not tuned on the data.

Run: .venv/bin/python -m bench.scoring.run   (about a minute on 2 cores)
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

from sklearn.metrics import roc_auc_score

from sheepdog.brain import scoring
from sheepdog.handlers import learning

DATA = Path(__file__).parent / "data" / "online_shoppers_intention.csv"


def rubric(kw: dict) -> int:
    """40 to start, as the product's rubric does; each line an owner's guess."""
    f = kw["fields"]
    score = scoring.BASE_SCORE
    if float(f.get("ProductRelated", 0)) >= 10:
        score += 20  # browsed many product pages
    if f.get("VisitorType") == "Returning_Visitor":
        score += 10  # came back
    if float(f.get("SpecialDay", 0)) > 0:
        score += 10  # shopping for an occasion
    if float(f.get("BounceRates", 0)) >= 0.1:
        score -= 15  # bounced
    return max(1, min(100, score))


def main() -> int:
    found = learning.read_csv(DATA, maps={"traffictype": "source"}, outcome_column="Revenue")
    rows = [learning.csv_features(r) for r in found.rows]
    ys = [bool(r["won"]) for r in found.rows]
    rubric_scores = [rubric(r) for r in found.rows]
    print(f"{len(rows)} sessions, {sum(ys)} purchases")
    print(f"rubric alone, ROC AUC:                {roc_auc_score(ys, rubric_scores):.3f}")
    learned = scoring.out_of_fold(rows, ys, folds=5)
    print(
        f"learned, 5-fold CV ROC AUC:           {roc_auc_score(ys, learned):.3f}  "
        f"(top-decile lift {scoring.top_decile_lift(learned, ys):.2f}x)"
    )
    # Scarce data: train on n outcomes, score the rest, blended as Sheepdog blends (weight n/(n+100)).
    rng = random.Random(0)
    print("outcomes  rubric  learned  blended  (AUC on the sessions not trained on, mean of 5 draws)")
    for n in (30, 100, 300, 1000):
        got = {"rubric": [], "learned": [], "blended": []}
        for _ in range(5):
            idx = list(range(len(rows)))
            rng.shuffle(idx)
            train, test = idx[:n], idx[n:]
            model = scoring.fit([rows[i] for i in train], [ys[i] for i in train])
            if model is None:
                continue
            truth = [ys[i] for i in test]
            got["rubric"].append(roc_auc_score(truth, [rubric_scores[i] for i in test]))
            got["learned"].append(roc_auc_score(truth, [model.probability(rows[i]) for i in test]))
            blended = [
                scoring.blend(rubric_scores[i], (), model, rows[i])[0] + model.probability(rows[i]) * 1e-3
                for i in test
            ]
            got["blended"].append(roc_auc_score(truth, blended))
        mean = {k: sum(v) / len(v) for k, v in got.items() if v}
        print(f"{n:>8}  {mean['rubric']:.3f}   {mean['learned']:.3f}    {mean['blended']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
