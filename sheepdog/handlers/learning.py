"""The scorer learns from outcomes: what it trains on, when it retrains, how a brief uses it, and
the CSV history an owner brings (`sheepdog leads import`, `sheepdog score --eval`).

Training rows are every lead with an outcome event (won or lost, the newest per lead) plus every
imported history row. The `retrain_scorer` job (periodic, cheap when nothing changed) refits when
an outcome arrives or history is imported and stores the model in `scorer_models`; every process
scores new leads with the newest stored model (brain.scoring.blend).
"""

from __future__ import annotations

import csv
import dataclasses
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from sheepdog.brain import scoring
from sheepdog.domain.models import Brief, LeadContext
from sheepdog.errors import BadInputError
from sheepdog.handlers.context import Services
from sheepdog.storage.tables import Event, Lead, LeadHistory, ScorerModel, customer_messages

# ---- training rows ---------------------------------------------------------------------------------


def _live_rows(session: Any) -> tuple[list[dict[str, float]], list[bool], int]:
    """Leads with an outcome event: (features, won?) each, and the newest outcome event id."""
    newest: dict[int, tuple[int, bool]] = {}
    for e in session.scalars(select(Event).where(Event.kind == "outcome").order_by(Event.id)):
        result = (e.data or {}).get("result")
        if e.lead_id is not None and result in ("won", "lost"):
            newest[e.lead_id] = (e.id, result == "won")
    rows, outcomes = [], []
    for lead in session.scalars(select(Lead).where(Lead.id.in_(list(newest)))) if newest else []:
        first = session.scalar(customer_messages(lead, newest_first=False).limit(1))
        triage = (first.triage if first is not None else None) or {}
        response = (
            (lead.first_response_at - lead.created_at).total_seconds() if lead.first_response_at else None
        )
        rows.append(
            scoring.features(
                source=lead.source or ("referral" if lead.referral else None),
                channel=lead.channel,
                category=(lead.brief or {}).get("category") or triage.get("category"),
                signals=[s.get("name") for s in triage.get("signals", []) if s.get("name")]
                + (["referral"] if lead.referral else [])
                + (["returning_customer"] if lead.returning_customer else []),
                response_s=response,
                fields={
                    k: str(v)
                    for k, v in (triage.get("fields") or {}).items()
                    if k.lower() not in scoring.IDENTIFIER_COLUMNS
                },
            )
        )
        outcomes.append(newest[lead.id][1])
    return rows, outcomes, max((i for i, _ in newest.values()), default=0)


def _history_rows(session: Any) -> tuple[list[dict[str, float]], list[bool]]:
    rows, outcomes = [], []
    for h in session.scalars(select(LeadHistory).order_by(LeadHistory.id)):
        rows.append(
            scoring.features(
                source=h.source,
                channel=h.channel,
                category=h.category,
                signals=list(h.signals or []),
                response_s=h.response_s,
                fields=h.fields or {},
            )
        )
        outcomes.append(bool(h.won))
    return rows, outcomes


def retrain(services: Services, *, force: bool = False) -> str:
    """Refit when an outcome arrived or history was imported since the stored model (the job)."""
    with services.db.session() as s:
        last_outcome = s.scalar(select(func.max(Event.id)).where(Event.kind == "outcome")) or 0
        history = s.scalar(select(func.count(LeadHistory.id))) or 0
        current = s.scalar(select(ScorerModel).order_by(ScorerModel.id.desc()).limit(1))
        if (
            not force
            and current is not None
            and (current.last_outcome_id, current.history_rows) == (last_outcome, history)
        ):
            return "current"
        live, live_y, _ = _live_rows(s)
        past, past_y = _history_rows(s)
    model = scoring.fit(live + past, live_y + past_y)
    if model is None:
        return f"too few outcomes ({len(live_y) + len(past_y)}; {scoring.MIN_OUTCOMES} needed)"
    with services.db.session() as s:
        s.add(
            ScorerModel(
                trained_at=services.now(),
                outcomes=model.outcomes,
                last_outcome_id=last_outcome,
                history_rows=history,
                model=model.to_json(),
            )
        )
    return f"trained on {model.outcomes} outcomes ({model.won} won)"


_CACHE: dict[int, tuple[int, scoring.LearnedModel]] = {}
_CACHE_LOCK = threading.Lock()


def current_model(services: Services) -> scoring.LearnedModel | None:
    """The newest stored model (parsed once per new row, per process)."""
    with services.db.session() as s:
        newest = s.scalar(select(func.max(ScorerModel.id)))
        if newest is None:
            return None
        with _CACHE_LOCK:
            cached = _CACHE.get(id(services.db))
            if cached is not None and cached[0] == newest:
                return cached[1]
        row = s.get(ScorerModel, newest)
        model = scoring.LearnedModel.from_json(row.model)
    with _CACHE_LOCK:
        _CACHE[id(services.db)] = (newest, model)
    return model


def rescore(services: Services, ctx: LeadContext, brief: Brief) -> Brief:
    """The brain's rubric brief with the learned score blended in; the reasons say what moved it."""
    model = current_model(services)
    if model is None:
        return brief
    score, grade, reasons = scoring.blend(brief.score, brief.reasons, model, scoring.lead_features(ctx))
    return dataclasses.replace(brief, score=score, grade=grade, reasons=reasons)


# ---- CSV history -----------------------------------------------------------------------------------

TARGETS = ("source", "channel", "category", "signals", "response_minutes", "outcome", "value", "ignore")
GUESSES = {
    "source": ("source", "lead source", "lead_source", "utm_source", "origin"),
    "channel": ("channel", "medium"),
    "category": ("category", "type", "inquiry type"),
    "signals": ("signals", "tags"),
    "response_minutes": ("response minutes", "response_minutes", "first response minutes"),
    "outcome": ("outcome", "status", "result", "converted", "won", "stage", "deal stage"),
    "value": ("value", "amount", "deal value", "revenue"),
}
WON_WORDS = frozenset(
    {"won", "closed won", "closed-won", "true", "yes", "1", "converted", "customer", "sale"}
)
LOST_WORDS = frozenset({"lost", "closed lost", "closed-lost", "false", "no", "0", "not converted", "dead"})


@dataclass
class CsvLeads:
    """Rows with a known outcome, in the scorer's words, and what was left out."""

    rows: list[dict[str, Any]] = field(default_factory=list)  # LeadHistory keyword arguments
    skipped_open: int = 0  # no outcome yet (or an outcome word we do not know)
    columns: dict[str, str] = field(default_factory=dict)  # column → target or "field"


def parse_maps(pairs: Iterable[str]) -> dict[str, str]:
    """['Lead Source=source', 'Deal=outcome'] → {'lead source': 'source', 'deal': 'outcome'}."""
    out = {}
    for pair in pairs:
        col, sep, target = pair.rpartition("=")
        target = target.strip().lower()
        if not sep or not col.strip() or target not in TARGETS:
            raise BadInputError(f"--map {pair!r}: say COLUMN=FIELD with FIELD one of {', '.join(TARGETS)}")
        out[col.strip().lower()] = target
    return out


def _amount(text: str) -> Decimal | None:
    try:
        value = Decimal(text.replace(",", "").lstrip("$€£").strip())
    except InvalidOperation:
        return None
    return value.quantize(Decimal("0.01")) if value.is_finite() and 0 <= value < 10**10 else None


def _outcome(text: str) -> bool | None:
    word = text.strip().lower()
    return True if word in WON_WORDS else False if word in LOST_WORDS else None


def read_csv(
    path: Path,
    *,
    maps: dict[str, str] | None = None,
    outcome_column: str | None = None,
    exclude: Iterable[str] = (),
    progress: Callable[[int], None] | None = None,
) -> CsvLeads:
    """A CRM export with any columns: the known ones by name (or --map), the outcome column, and
    every other column a field (the scorer's signals), identifiers and free text left out."""
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise BadInputError(f"{path}: {exc.strerror}") from None
    with handle:
        sample = handle.read(65536)
        handle.seek(0)
        try:
            dialect: Any = csv.Sniffer().sniff(sample, delimiters=",;\t|")
        except csv.Error:
            dialect = csv.excel
        reader = csv.DictReader(handle, dialect=dialect)
        header = [h for h in (reader.fieldnames or []) if h is not None]
        if not header:
            raise BadInputError(f"{path}: no header row")
        lowered = {h: h.strip().lower() for h in header}
        maps = dict(maps or {})
        if outcome_column:
            maps[outcome_column.strip().lower()] = "outcome"
        for col in exclude:
            maps[col.strip().lower()] = "ignore"
        unknown = set(maps) - set(lowered.values())
        if unknown:
            raise BadInputError(
                f"{path}: no column {', '.join(sorted(unknown))} (columns: {', '.join(header)})"
            )
        columns: dict[str, str] = {}
        taken = set(maps.values()) - {"ignore"}
        for h in header:
            low = lowered[h]
            if low in maps:
                columns[h] = maps[low]
                continue
            guess = next((t for t, names in GUESSES.items() if low in names and t not in taken), None)
            if guess:
                taken.add(guess)
                columns[h] = guess
            elif low in scoring.IDENTIFIER_COLUMNS or "email" in low or "phone" in low:
                columns[h] = "ignore"
            else:
                columns[h] = "field"
        if "outcome" not in columns.values():
            raise BadInputError(
                f"{path}: which column holds the outcome? e.g. --map Status=outcome (columns: {', '.join(header)})"
            )
        result = CsvLeads(columns=columns)
        for n, raw in enumerate(reader, start=2):
            row = {h: (raw.get(h) or "").strip() for h in header}
            kw: dict[str, Any] = {"row": n, "signals": [], "fields": {}}
            won: bool | None = None
            for h, target in columns.items():
                text = row[h]
                if target == "outcome":
                    won = _outcome(text)
                elif target in ("source", "channel", "category") and text:
                    kw[target] = text[: 200 if target == "source" else 32]
                elif target == "signals" and text:
                    kw["signals"] = [
                        s.strip().lower() for s in text.replace(";", ",").split(",") if s.strip()
                    ]
                elif target == "response_minutes" and text:
                    minutes = scoring._number(text)
                    kw["response_s"] = minutes * 60 if minutes is not None and minutes >= 0 else None
                elif target == "value" and text:
                    kw["value"] = _amount(text)
                elif target == "field" and text:
                    kw["fields"][h] = text[:200]
            if progress is not None:
                progress(n - 1)
            if won is None:
                result.skipped_open += 1
                continue
            kw["won"] = won
            result.rows.append(kw)
    _drop_identifier_fields(result)
    return result


def _drop_identifier_fields(result: CsvLeads) -> None:
    """A text column with a different word on nearly every row (a name, an id) says nothing
    about what converts: left out, and said so in `columns`."""
    seen: dict[str, set[str]] = {}
    for kw in result.rows:
        for k, v in kw["fields"].items():
            if scoring._number(v) is None:
                seen.setdefault(k, set()).add(v.lower())
    noisy = {k for k, words in seen.items() if len(words) > scoring.MAX_CATEGORIES_PER_COLUMN}
    for kw in result.rows:
        for k in noisy:
            kw["fields"].pop(k, None)
    for k in noisy:
        result.columns[k] = "ignore (too many distinct values)"


def csv_features(kw: dict[str, Any]) -> dict[str, float]:
    return scoring.features(
        source=kw.get("source"),
        channel=kw.get("channel"),
        category=kw.get("category"),
        signals=kw.get("signals", []),
        response_s=kw.get("response_s"),
        fields=kw.get("fields", {}),
    )


def import_csv(services: Services, path: Path, rows: list[dict[str, Any]]) -> int:
    """Store the rows (one transaction, so a broken import leaves nothing half-done), then retrain."""
    with services.db.session() as s:
        for kw in rows:
            s.add(LeadHistory(file=str(path.name)[:500], imported_at=services.now(), **kw))
    return len(rows)


def chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]
