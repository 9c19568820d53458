"""Lead scoring against the business's rubric: deterministic, so both backends agree on the number.

The score starts at 40, each matching rubric line adds its points, the result is clamped to
1..100 and graded A >= 80, B >= 60, C >= 40, else D (see config.example.toml).
"""

from __future__ import annotations

import bisect
import math
import re
from dataclasses import dataclass
from typing import Any

from sheepdog.domain.extract import extract_service
from sheepdog.domain.models import Category, Direction, LeadContext, NextAction, SignalName

BASE_SCORE = 40
GRADES = ((80, "A"), (60, "B"), (40, "C"))


def grade_for(score: int) -> str:
    return next((g for floor, g in GRADES if score >= floor), "D")


def lead_text(lead: LeadContext) -> str:
    """Everything the lead wrote, oldest first (what keyword rules look at)."""
    return "\n".join(h.text for h in lead.history if h.direction == Direction.INBOUND)


def lead_service(lead: LeadContext) -> str | None:
    """The service asked about: the one they picked on the form (a choice beats a word their
    message happens to mention: "heat pump install" with "our furnace is old"), else the one
    triage found in the message, else the whole conversation's."""
    field_value = lead.fields.get("service")
    if field_value:
        return extract_service(field_value, lead.business) or field_value
    if lead.triage.extracted.service:
        return lead.triage.extracted.service
    return extract_service(lead_text(lead), lead.business)


def _matches(when: str, lead: LeadContext, service: str | None, text: str) -> bool:
    kind, _, arg = when.partition(":")
    arg_l = arg.strip().lower()
    if kind == "service":
        return service is not None and (arg_l == "any" or service.lower() == arg_l)
    if kind == "channel":
        return lead.channel.value == arg_l
    if kind == "source":
        src = f"{lead.source or ''} {'referral' if lead.referral else ''}".lower()
        return arg_l in src
    if kind == "keyword":
        return re.search(rf"\b{re.escape(arg_l)}\b", text.lower()) is not None
    if kind == "signal":
        if arg_l == "referral" and lead.referral:
            return True
        if arg_l == "returning_customer" and lead.returning_customer:
            return True
        return any(s.name.value == arg_l for s in lead.triage.signals)
    if kind == "has":
        ex = lead.triage.extracted
        return bool(
            {
                "phone": lead.contact_phone,
                "email": lead.contact_email,
                "name": lead.contact_name or ex.name,
                "company": lead.fields.get("company") or ex.company,
            }.get(arg_l)
        )
    return False


def score_lead(lead: LeadContext) -> tuple[int, str, tuple[str, ...]]:
    """(score, grade, reasons) where each reason reads like '+25 heat pump install is our highest-value job'."""
    service = lead_service(lead)
    text = lead_text(lead)
    score = BASE_SCORE
    reasons: list[str] = []
    for rule in lead.business.rubric:
        if _matches(rule.when, lead, service, text):
            score += rule.points
            reasons.append(f"{rule.points:+d} {rule.reason}")
    score = max(1, min(100, score))
    return score, grade_for(score), tuple(reasons)


def next_action(lead: LeadContext, grade: str) -> NextAction:
    """Call the hot ones now, chase the warm ones fast, nurture the rest, decline what is not a lead."""
    cat = lead.triage.category
    if cat in (Category.SPAM, Category.OPT_OUT):
        return NextAction.POLITE_DECLINE
    if grade == "A" or lead.triage.has(SignalName.URGENT) or cat == Category.HUMAN_REQUEST:
        return NextAction.CALL_NOW
    if grade == "D":
        return NextAction.NURTURE
    if grade == "C" and cat not in (Category.SALES_INQUIRY, Category.PRICING_QUESTION, Category.BOOKING):
        return NextAction.NURTURE
    return NextAction.FAST_CADENCE


def brief_flags(lead: LeadContext, service: str | None) -> list[str]:
    """Where a closer should look twice."""
    flags = list(lead.triage.flags)
    if service is None:
        flags.append("no service of ours named: check what they need")
    if not (lead.contact_phone or lead.contact_email):
        flags.append("no phone or email on file")
    if lead.triage.has(SignalName.MENTIONS_COMPETITOR):
        flags.append("mentions a competitor or other quotes")
    if lead.triage.has(SignalName.PROMPT_INJECTION):
        flags.append("message tries to instruct the assistant")
    if lead.triage.category not in (
        Category.SALES_INQUIRY,
        Category.PRICING_QUESTION,
        Category.BOOKING,
        Category.LEAD_REPLY,
    ):
        flags.append(f"triaged as {lead.triage.category.value}, not a sales inquiry")
    return flags


# ---- the scorer that learns from outcomes ------------------------------------------------------
#
# Regularised (L2) logistic regression over what a lead looks like when it arrives: source,
# channel, category, signals, first response time and form fields (unknown CSV columns become
# fields too). It is stored as plain numbers (LearnedModel), so every process scores with it and
# a brief can say which features moved the score. While outcomes are few the rubric dominates:
# the blend weight is n / (n + BLEND_PRIOR_OUTCOMES).

MIN_OUTCOMES = 20  # fewer outcomes (or fewer than MIN_PER_CLASS won or lost): the rubric alone
MIN_PER_CLASS = 5
BLEND_PRIOR_OUTCOMES = 100  # with this many outcomes the model and the rubric weigh the same
MAX_BLEND = 0.8  # the rubric keeps a fifth of the say however much history there is
REGULARISATION_C = 0.5  # inverse L2 strength: small data, strong shrinkage
MAX_CATEGORIES_PER_COLUMN = 30  # a column with more distinct words than this is an identifier
IDENTIFIER_COLUMNS = frozenset(
    {
        "id",
        "name",
        "first name",
        "last name",
        "email",
        "phone",
        "mobile",
        "address",
        "notes",
        "created",
        "date",
    }
)


def _number(text: str) -> float | None:
    cleaned = text.strip().replace(",", "").replace("$", "").replace("€", "").replace("£", "").rstrip("%")
    try:
        value = float(cleaned)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def features(
    *,
    source: str | None = None,
    channel: str | None = None,
    category: str | None = None,
    signals: tuple[str, ...] | list[str] = (),
    response_s: float | None = None,
    fields: dict[str, str] | None = None,
) -> dict[str, float]:
    """One lead → named features: 'source=google ads' 1, 'signal=urgent' 1, 'response (log min)'
    1.6, 'budget (log)' 8.5, 'field service=heat pump' 1. Same words for live leads and CSV rows."""
    out: dict[str, float] = {}
    for name, value in (("source", source), ("channel", channel), ("category", category)):
        if value and str(value).strip():
            out[f"{name}={str(value).strip().lower()[:60]}"] = 1.0
    for sig in signals:
        out[f"signal={sig}"] = 1.0
    if response_s is not None and response_s >= 0:
        out["response (log min)"] = math.log1p(response_s / 60)
    for key, raw in (fields or {}).items():
        k = key.strip().lower()[:60]
        text = str(raw).strip()
        if not k or not text:
            continue
        number = _number(text)
        if number is not None:
            out[f"{k} (log)"] = math.copysign(math.log1p(abs(number)), number)
        else:
            out[f"field {k}={text.lower()[:60]}"] = 1.0
    return out


def lead_features(lead: LeadContext, response_s: float | None = None) -> dict[str, float]:
    return features(
        source=lead.source or ("referral" if lead.referral else None),
        channel=lead.channel.value,
        category=lead.triage.category.value,
        signals=tuple(s.name.value for s in lead.triage.signals)
        + (("referral",) if lead.referral else ())
        + (("returning_customer",) if lead.returning_customer else ()),
        response_s=response_s,
        fields={k: v for k, v in lead.fields.items() if k.lower() not in IDENTIFIER_COLUMNS},
    )


@dataclass(frozen=True)
class LearnedModel:
    """A fitted model as plain numbers: feature → (mean, scale, weight), an intercept, the
    training predictions' sorted probabilities (to turn a probability into a 1-100 rank)."""

    weights: dict[str, tuple[float, float, float]]
    intercept: float
    outcomes: int
    won: int
    ranks: tuple[float, ...]

    def _z(self, x: dict[str, float]) -> dict[str, float]:
        return {f: w * ((x.get(f, 0.0) - mean) / scale) for f, (mean, scale, w) in self.weights.items()}

    def probability(self, x: dict[str, float]) -> float:
        z = self.intercept + sum(self._z(x).values())
        return 1 / (1 + math.exp(-max(-30.0, min(30.0, z))))

    def score(self, x: dict[str, float]) -> int:
        """1-100: the share of past leads this one out-ranks (80 = better than 80 % of them)."""
        p = self.probability(x)
        # mid-rank: a lead tied with a block of past leads sits in the middle of that block
        below = (bisect.bisect_left(self.ranks, p) + bisect.bisect_right(self.ranks, p)) / 2
        return max(1, min(100, round(100 * below / max(1, len(self.ranks)))))

    def reasons(self, x: dict[str, float], top: int = 3) -> list[str]:
        """The features that moved this lead's odds most against an average lead, as odds ratios."""
        moved = sorted(self._z(x).items(), key=lambda kv: -abs(kv[1]))
        out = []
        for name, z in moved[:top]:
            if abs(z) < 0.05:
                break
            word = "raises" if z > 0 else "lowers"
            out.append(f"learned: {name} {word} the odds ×{math.exp(z):.1f}")
        return out

    def top_signals(self, top: int = 10) -> list[tuple[str, float]]:
        """Features by weight per standard deviation, strongest first (what `score --eval` prints)."""
        ranked = sorted(((f, w) for f, (_, _, w) in self.weights.items()), key=lambda kv: -abs(kv[1]))
        return ranked[:top]

    def to_json(self) -> dict[str, Any]:
        return {
            "weights": {f: list(v) for f, v in self.weights.items()},
            "intercept": self.intercept,
            "outcomes": self.outcomes,
            "won": self.won,
            "ranks": list(self.ranks),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LearnedModel:
        return cls(
            {f: (float(v[0]), float(v[1]), float(v[2])) for f, v in data["weights"].items()},
            float(data["intercept"]),
            int(data["outcomes"]),
            int(data["won"]),
            tuple(float(r) for r in data["ranks"]),
        )


def can_learn(outcomes: list[bool]) -> bool:
    won = sum(outcomes)
    return len(outcomes) >= MIN_OUTCOMES and won >= MIN_PER_CLASS and len(outcomes) - won >= MIN_PER_CLASS


def _pipeline() -> Any:
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(
        DictVectorizer(sparse=False),
        StandardScaler(),
        LogisticRegression(C=REGULARISATION_C, max_iter=2000),
    )


def fit(rows: list[dict[str, float]], outcomes: list[bool]) -> LearnedModel | None:
    """Fit on (features, won?) pairs; None while there are too few outcomes to learn from."""
    if not can_learn(outcomes):
        return None
    model = _pipeline().fit(rows, outcomes)
    vec, scaler, lr = (step for _, step in model.steps)
    names = vec.get_feature_names_out()
    weights = {
        str(n): (float(m), float(s) or 1.0, float(w))
        for n, m, s, w in zip(names, scaler.mean_, scaler.scale_, lr.coef_[0], strict=True)
        if abs(w) > 1e-6
    }
    learned = LearnedModel(weights, float(lr.intercept_[0]), len(outcomes), sum(outcomes), ())
    ranks = tuple(sorted(learned.probability(r) for r in rows))
    return LearnedModel(weights, learned.intercept, len(outcomes), sum(outcomes), ranks)


def blend_weight(model: LearnedModel | None) -> float:
    if model is None:
        return 0.0
    return min(MAX_BLEND, model.outcomes / (model.outcomes + BLEND_PRIOR_OUTCOMES))


def blend(
    rubric_score: int, rubric_reasons: tuple[str, ...], model: LearnedModel | None, x: dict[str, float]
) -> tuple[int, str, tuple[str, ...]]:
    """The rubric's score blended with the learned one; the reasons say how and what moved it."""
    w = blend_weight(model)
    if model is None or w == 0:
        return rubric_score, grade_for(rubric_score), rubric_reasons
    learned = model.score(x)
    score = max(1, min(100, round((1 - w) * rubric_score + w * learned)))
    how = (
        f"{score - rubric_score:+d} learned from {model.outcomes} outcomes: scores {learned} "
        f"against past leads (weight {w:.0%}, rubric {rubric_score})"
    )
    return score, grade_for(score), (*rubric_reasons, how, *model.reasons(x))


@dataclass(frozen=True)
class Evaluation:
    """How well the scorer ranks a history it did not see (k-fold, out-of-fold predictions)."""

    rows: int
    won: int
    auc: float
    top_decile_lift: float  # won rate among the top tenth by score / won rate overall
    top_signals: list[tuple[str, float]]


def top_decile_lift(scores: list[float], outcomes: list[bool]) -> float:
    ranked = sorted(zip(scores, outcomes, strict=True), key=lambda so: -so[0])
    top = ranked[: max(1, len(ranked) // 10)]
    overall = sum(outcomes) / len(outcomes)
    return (sum(o for _, o in top) / len(top)) / overall if overall else 0.0


def out_of_fold(rows: list[dict[str, float]], outcomes: list[bool], folds: int = 5) -> list[float]:
    """Each row's probability from a model fitted without it (stratified folds, fixed seed)."""
    from sklearn.model_selection import StratifiedKFold

    predictions = [0.0] * len(rows)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=0)
    for train, test in splitter.split(rows, outcomes):
        model = fit([rows[i] for i in train], [outcomes[i] for i in train])
        if model is None:
            raise ValueError("too few outcomes in a fold to learn from")
        for i in test:
            predictions[i] = model.probability(rows[i])
    return predictions


def evaluate(rows: list[dict[str, float]], outcomes: list[bool], folds: int = 5) -> Evaluation:
    from sklearn.metrics import roc_auc_score

    if not can_learn(outcomes) or sum(outcomes) < folds or len(outcomes) - sum(outcomes) < folds:
        raise ValueError(
            f"{len(outcomes)} outcomes ({sum(outcomes)} won): at least {MIN_OUTCOMES}, "
            f"with {max(MIN_PER_CLASS, folds)} won and {max(MIN_PER_CLASS, folds)} lost, are needed"
        )
    predictions = out_of_fold(rows, outcomes, folds)
    model = fit(rows, outcomes)
    assert model is not None
    return Evaluation(
        len(rows),
        sum(outcomes),
        float(roc_auc_score(outcomes, predictions)),
        top_decile_lift(predictions, outcomes),
        model.top_signals(10),
    )
