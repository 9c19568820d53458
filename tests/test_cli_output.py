"""What the `sheepdog` command prints keeps its square brackets: rich reads "[business]" as markup
and would drop it (the config's sections, names, paths and error messages all may hold brackets)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sheepdog.app import build_services
from sheepdog.channels.webform import WebformParser
from sheepdog.cli import main
from sheepdog.config import load_settings
from sheepdog.domain.models import RawRequest
from sheepdog.handlers.inbound import receive
from sheepdog.jobs.queue import InProcessQueue


def _out(capsys: pytest.CaptureFixture[str]) -> str:
    return capsys.readouterr().out


def test_init_names_the_business_section(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "sheepdog.toml"
    assert main(["init", str(target)]) == 0
    out = _out(capsys)
    assert "  - [business]: your name" in out and "[console] public_url" in out  # brackets kept
    assert f"Then: sheepdog migrate --config {target} && sheepdog run --config {target}" in out


def test_doctor_and_leads_print_brackets_in_paths_and_names(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "[shop]"
    folder.mkdir()
    config = folder / "sheepdog.toml"
    url = f"sqlite:///{folder}/sheepdog.db"
    config.write_text(
        f'[storage]\nurl = "{url}"\n[demo]\nsmtp_sink = false\n[channels.email]\nenabled = false\n',
        encoding="utf-8",
    )
    settings = load_settings(config, environ={})
    services = build_services(settings, queue=InProcessQueue(periodic=False))
    body = json.dumps(
        {"name": "Sam [ACME]", "email": "sam@example.com", "message": "AC not cooling [urgent]"}
    )
    raw = RawRequest("POST", "http://x/hooks/form", {}, body.encode(), content_type="application/json")
    receive(services, WebformParser().parse(raw)[0])
    services.db.dispose()
    capsys.readouterr()

    assert main(["doctor", "--config", str(config)]) == 0
    out = _out(capsys)
    assert f"config: {config} — valid" in out and f"storage: {url}" in out

    assert main(["leads", "--config", str(config)]) == 0
    assert "Sam [ACME]" in _out(capsys)
