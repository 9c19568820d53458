"""Config precedence and errors, `sheepdog init`, and the real `sheepdog run` process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from sheepdog.cli import main
from sheepdog.config import load_settings
from sheepdog.errors import ConfigError
from tests.conftest import fixture_bytes, free_port


def test_demo_business_loads_without_a_file() -> None:
    settings = load_settings(None, environ={})
    business = settings.business.to_domain()
    assert business.name == "Brightside Heating & Cooling"
    assert str(business.refund_threshold) == "$150"
    assert any(s.price is not None for s in business.services)
    assert settings.followup.cadences["speed_to_lead"].steps[2].approval is True


def test_environment_beats_file_and_overrides_beat_both(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text('[slack]\nsigning_secret = "from-file"\n[console]\nport = 9000\n', encoding="utf-8")
    env = {"SHEEPDOG_SLACK__SIGNING_SECRET": "from-env", "SHEEPDOG_SLACK__ALLOWLIST": '["U1", "U2"]'}
    settings = load_settings(path, environ=env, overrides={"console": {"port": 9100}})
    assert settings.slack.signing_secret == "from-env"
    assert settings.slack.allowlist == ["U1", "U2"]
    assert settings.console.port == 9100


@pytest.mark.parametrize(
    ("toml", "words"),
    [
        ("[business]\ntimezone = 'Mars/Olympus'\n", "business.timezone = 'Mars/Olympus'"),
        ("[policy.first_reply]\nautonomy = 'L9'\n", "policy.first_reply.autonomy = 'L9'"),
        ("[slack]\nsigning_secrte = 'x'\n", "slack.signing_secrte: unknown setting"),
        ("[business.hours]\nfunday = '09:00-17:00'\n", "unknown day 'funday'"),
        ("[business.hours]\nmon = '18:00-08:00'\n", "closing time must be after opening time"),
        ("[followup]\nnew_lead_cadence = 'nope'\n", "is not one of the cadences"),
        ("[storage\nurl = 1", "not valid TOML"),
    ],
)
def test_a_wrong_key_or_value_names_the_key_the_value_and_what_is_allowed(
    tmp_path: Path, toml: str, words: str
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(toml, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_settings(path, environ={})
    assert words in str(err.value)


def test_missing_file_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="sheepdog init"):
        load_settings(tmp_path / "nope.toml", environ={})


def test_init_writes_a_config_that_loads(tmp_path: Path) -> None:
    target = tmp_path / "sheepdog.toml"
    assert main(["init", str(target)]) == 0
    settings = load_settings(target, environ={})
    assert settings.business.name == "Brightside Heating & Cooling"
    # Ready for a real business: no demo mail sink, a console token that survives restarts,
    # a Redis database of its own, and the file readable by its owner only.
    assert settings.demo.smtp_sink is False and len(settings.console.token or "") >= 24
    assert settings.queue.redis_url.endswith("/1") and (target.stat().st_mode & 0o777) == 0o600
    assert target.read_text(encoding="utf-8").count("FILL IN") >= 2
    assert main(["init", str(target)]) == 1  # never overwrites without --force
    other = tmp_path / "other.toml"
    assert main(["init", str(other)]) == 0
    assert load_settings(other, environ={}).console.token != settings.console.token  # its own
    assert main(["--verbose", "doctor", "--config", str(target)]) in (0, 1)


def test_the_demo_sink_is_applied_alike_in_run_worker_and_doctor(tmp_path: Path) -> None:
    """With demo.smtp_sink on, every command sees the sink as its SMTP server (no worker sends
    real mail while `run` says the sink); with it off, the configured server."""
    import argparse

    from sheepdog.cli import _settings

    config = tmp_path / "sheepdog.toml"
    config.write_text(
        '[demo]\nsmtp_sink = true\nsmtp_sink_port = 2626\n[channels.email.smtp]\nhost = "mail.example.com"\nport = 587\n',
        encoding="utf-8",
    )
    smtp = _settings(argparse.Namespace(config=str(config))).channels.email.smtp
    assert (smtp.host, smtp.port) == ("127.0.0.1", 2626)
    config.write_text(
        '[demo]\nsmtp_sink = false\n[channels.email.smtp]\nhost = "mail.example.com"\nport = 587\n',
        encoding="utf-8",
    )
    smtp = _settings(argparse.Namespace(config=str(config))).channels.email.smtp
    assert (smtp.host, smtp.port) == ("mail.example.com", 587)


def test_cli_reports_config_errors_without_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[queue]\nbackend = 'kafka'\n", encoding="utf-8")
    assert main(["leads", "--config", str(bad)]) == 2
    assert "queue.backend = 'kafka'" in capsys.readouterr().out


def _get(url: str, token: str | None = None) -> tuple[int, bytes]:
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    with urllib.request.urlopen(req, timeout=5) as resp:
        return resp.status, resp.read()


def test_sheepdog_run_serves_the_demo_and_the_readme_lead_shows_up(tmp_path: Path) -> None:
    port, sink = free_port(), free_port()
    env = {
        **os.environ,
        "SHEEPDOG_CONSOLE__TOKEN": "smoke",
        "SHEEPDOG_DEMO__SMTP_SINK_PORT": str(sink),
        "SHEEPDOG_STORAGE__URL": f"sqlite:///{tmp_path}/run.db",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "sheepdog.cli", "run", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    printed: list[str] = []
    sent_line = threading.Event()

    def read() -> None:  # what `run` prints, as it prints it
        assert proc.stdout is not None
        for line in proc.stdout:
            printed.append(line)
            if line.split("  ", 1)[-1].startswith("→ Jordan Ellis"):
                sent_line.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(150):
            try:
                if _get(f"{base}/health")[0] == 200:
                    break
            except OSError:
                time.sleep(0.2)
        else:
            pytest.fail("sheepdog run did not start: " + "".join(printed))
        req = urllib.request.Request(
            f"{base}/hooks/form",
            data=fixture_bytes("loop", "webform__lead.json"),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(req, timeout=10) as resp:
            assert resp.status == 200
        status, body = _get(f"{base}/api/leads", "smoke")
        leads = json.loads(body)["leads"]
        assert status == 200 and [lead["name"] for lead in leads] == ["Jordan Ellis"]
        assert b"Sheepdog console" in _get(f"{base}/", "smoke")[1]
        # The instant reply lands in the demo's SMTP sink, which the console shows.
        for _ in range(150):  # the reply is written by a job (the brain loads beside the server)
            mail = json.loads(_get(f"{base}/api/mail", "smoke")[1])["mail"]
            if mail:
                break
            time.sleep(0.2)
        assert len(mail) == 1 and "jordan.ellis@example.com" in mail[0]["to"].lower()
        # The terminal is live: a line for the message in and one for the reply out.
        assert sent_line.wait(30), "".join(printed)
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        reader.join(timeout=10)
    out = "".join(printed)
    assert "← Jordan Ellis · web form · a new inquiry → answered on its own" in out
    assert "→ Jordan Ellis · email · sent on its own" in out
    # A token of the config's is a secret: the banner names where to log in, never the token.
    assert f"http://127.0.0.1:{port}/ (log in with console.token)" in out and "smoke" not in out
    assert "Traceback" not in out


def test_a_public_install_needs_a_token_on_the_email_hook() -> None:
    with pytest.raises(ConfigError, match=r"channels.email.inbound_token is required"):
        load_settings(None, environ={"SHEEPDOG_CONSOLE__PUBLIC_URL": "https://bot.brightside.example"})
    ok = {"SHEEPDOG_CONSOLE__PUBLIC_URL": "https://bot.brightside.example"}
    assert load_settings(None, environ={**ok, "SHEEPDOG_CHANNELS__EMAIL__INBOUND_TOKEN": "t" * 24})
    imap_only = load_settings(None, environ={**ok, "SHEEPDOG_CHANNELS__EMAIL__INBOUND_WEBHOOK": "false"})
    from sheepdog.channels.registry import inbound_routes

    assert "/hooks/email" not in [path for path, _ in inbound_routes(imap_only)]
