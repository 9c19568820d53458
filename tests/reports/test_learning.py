"""The scorer learns from outcomes: CSV history in (any columns), a model stored by the background
job, new briefs blended with it and saying why; `score --eval` and `report --week` from the CLI."""

from __future__ import annotations

import csv
import random
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from sheepdog.app import build_services
from sheepdog.brain import scoring
from sheepdog.cli import main
from sheepdog.handlers import learning
from sheepdog.jobs.queue import InProcessQueue
from sheepdog.jobs.tasks import run_job
from sheepdog.storage.tables import LeadHistory, ScorerModel


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Any) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/l.db"
    return str(request.getfixturevalue("pg_url"))


def history_csv(path: Path, n: int = 200) -> Path:
    """A CRM export: referrals and fast replies close, cold lists do not; a name column to ignore."""
    rng = random.Random(7)
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["Name", "Email", "Lead Source", "Budget", "Response Minutes", "Deal Stage", "Amount"])
        for i in range(n):
            source = rng.choice(["Referral", "Google Ads", "Cold list"])
            minutes = rng.choice([2, 30, 600])
            odds = {"Referral": 0.7, "Google Ads": 0.35, "Cold list": 0.05}[source] * (
                1.3 if minutes == 2 else 0.7
            )
            won = rng.random() < odds
            stage = "Closed Won" if won else "Closed Lost"
            if i % 25 == 0:
                stage = "Open"
            w.writerow(
                [
                    f"Person {i}",
                    f"p{i}@example.com",
                    source,
                    rng.choice(["5000", "12,000"]),
                    minutes,
                    stage,
                    "4500" if won else "",
                ]
            )
    return path


def test_fit_blend_and_reasons() -> None:
    rows = [scoring.features(source=s) for s in ["referral"] * 30 + ["cold"] * 30]
    won = [True] * 24 + [False] * 6 + [True] * 3 + [False] * 27
    assert scoring.fit(rows[:10], won[:10]) is None  # too few: the rubric alone
    model = scoring.fit(rows, won)
    assert model is not None and model.outcomes == 60
    hot, cold = scoring.features(source="referral"), scoring.features(source="cold")
    assert model.probability(hot) > 0.6 > 0.2 > model.probability(cold)
    score, grade, reasons = scoring.blend(50, ("+10 rubric line",), model, hot)
    assert grade == scoring.grade_for(score)
    w = 60 / 160
    assert score == round((1 - w) * 50 + w * model.score(hot)) and score > 50
    assert reasons[0] == "+10 rubric line" and "learned from 60 outcomes" in reasons[1]
    assert any("source=referral raises the odds" in r for r in reasons[2:])
    same = scoring.LearnedModel.from_json(model.to_json())
    assert same.probability(cold) == pytest.approx(model.probability(cold))
    assert scoring.blend(50, (), None, hot) == (50, "C", ())


def test_import_then_the_job_trains_and_briefs_use_it(
    db_url: str, make_settings: Any, tmp_path: Path
) -> None:
    path = history_csv(tmp_path / "crm.csv")
    settings = make_settings(storage={"url": db_url})
    svc = build_services(settings, queue=InProcessQueue(periodic=False))
    try:
        found = learning.read_csv(path, maps=learning.parse_maps(["Deal Stage=outcome"]))
        assert found.columns["Lead Source"] == "source" and found.columns["Amount"] == "value"
        assert found.columns["Name"] == "ignore" and found.columns["Email"] == "ignore"
        assert found.columns["Budget"] == "field" and found.skipped_open == 8
        assert learning.import_csv(svc, path, found.rows) == 192
        assert run_job(svc, "retrain_scorer").startswith("trained on 192 outcomes")
        assert run_job(svc, "retrain_scorer") == "current"  # nothing new: one query, no refit
        model = learning.current_model(svc)
        assert model is not None and model.outcomes == 192
        with svc.db.session() as s:
            assert s.scalar(select(LeadHistory).where(LeadHistory.won.is_(True))).value is not None
            assert len(s.scalars(select(ScorerModel)).all()) == 1
    finally:
        svc.db.dispose()


def test_a_new_brief_shows_what_the_learned_model_moved(make_settings: Any, tmp_path: Path) -> None:
    from sheepdog.handlers.inbound import receive
    from tests.handlers.test_commands import form

    path = history_csv(tmp_path / "crm.csv")
    svc = build_services(make_settings(), queue=InProcessQueue(periodic=False))
    svc.queue.start()
    try:
        found = learning.read_csv(path, outcome_column="Deal Stage")
        learning.import_csv(svc, path, found.rows)
        learning.retrain(svc)
        lead_id = receive(svc, form()).lead_id
        svc.queue.wait_idle()
        from sheepdog.storage.tables import Lead

        with svc.db.session() as s:
            brief = s.get(Lead, lead_id).brief
        assert any(r.startswith(("+", "-")) and "learned from 192 outcomes" in r for r in brief["reasons"])
    finally:
        svc.queue.stop()
        svc.db.dispose()


def test_cli_import_eval_and_report(tmp_path: Path, capsys: Any, monkeypatch: Any) -> None:
    path = history_csv(tmp_path / "crm.csv", n=300)
    config = tmp_path / "s.toml"
    config.write_text(f'[storage]\nurl = "sqlite:///{tmp_path}/c.db"\n[demo]\nsmtp_sink = false\n')
    assert main(["leads", "import", str(path), "--map", "Deal Stage=outcome", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "imported 288 past leads" in out and "12 without an outcome" in out and "scorer: trained" in out
    assert (
        main(["score", "--eval", str(path), "--outcome-column", "Deal Stage", "--exclude-columns", "Budget"])
        == 0
    )
    out = capsys.readouterr().out
    auc = float(out.split("ROC AUC (5 folds): ")[1].split()[0])
    assert 0.7 < auc < 1.0 and "top-decile lift" in out and "source=referral" in out and "budget" not in out
    assert main(["score", "--eval", str(path), "--outcome-column", "Nope"]) == 2
    assert "no column nope" in capsys.readouterr().out
    assert main(["leads", "import", str(tmp_path / "missing.csv")]) == 2
    png = tmp_path / "week.png"
    assert main(["report", "--week", "--out", str(png), "--config", str(config)]) == 0
    assert png.read_bytes().startswith(b"\x89PNG")
    assert main(["report", "--week", "--out", str(tmp_path / "w.pdf"), "--config", str(config)]) == 2
