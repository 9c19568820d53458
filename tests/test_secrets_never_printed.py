"""A full run of `sheepdog run` with every kind of secret configured (database password, SMTP
password, Twilio auth token, Telegram bot token and webhook secret, Slack tokens, the Claude key,
a webhook source's secret, the console token): leads arrive on four channels, replies fail against
servers that are down (so errors are logged), the metrics are read, the process stops — and not
one secret appears in anything it printed, in text or JSON logs, even at -v."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import parse_qsl

import pytest
from twilio.request_validator import RequestValidator

from sheepdog.channels.webhook import sign
from tests.channels.helpers import load
from tests.conftest import fixture_bytes, free_port
from tests.jobs.deployment import wait_for

SECRETS = {
    "db": "Db-pass-8f3k2",
    "smtp": "Smtp-pass-1q9w8e",
    "twilio": "twilio-auth-5a6b7c8d9e",
    "telegram": "123456789:AAHsecret-telegram-token",
    "telegram_hook": "tg-hook-secret-77",
    "slack_bot": "xoxb-slack-bot-424242",
    "slack_signing": "slack-signing-3141",
    "claude": "sk-ant-claude-key-1618",
    "webhook": "fb-source-secret-9999",
    "console": "console-token-5555",
}


def run_once(tmp_path: Path, pg_url: str, *flags: str) -> str:
    closed = free_port()  # every platform is down: their errors get logged
    port = free_port()
    public = f"http://127.0.0.1:{port}"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("SHEEPDOG_")},
        "SHEEPDOG_STORAGE__URL": pg_url.replace("postgres@", f"postgres:{SECRETS['db']}@"),
        "SHEEPDOG_CONSOLE__PORT": str(port),
        "SHEEPDOG_CONSOLE__PUBLIC_URL": public,
        "SHEEPDOG_CONSOLE__TOKEN": SECRETS["console"],
        "SHEEPDOG_DEMO__SMTP_SINK": "false",
        "SHEEPDOG_CHANNELS__EMAIL__SMTP__HOST": "127.0.0.1",
        "SHEEPDOG_CHANNELS__EMAIL__SMTP__PORT": str(closed),
        "SHEEPDOG_CHANNELS__EMAIL__SMTP__USERNAME": "mailer",
        "SHEEPDOG_CHANNELS__EMAIL__SMTP__PASSWORD": SECRETS["smtp"],
        "SHEEPDOG_CHANNELS__SMS__ENABLED": "true",
        "SHEEPDOG_CHANNELS__SMS__ACCOUNT_SID": "AC" + "1" * 32,
        "SHEEPDOG_CHANNELS__SMS__AUTH_TOKEN": SECRETS["twilio"],
        "SHEEPDOG_CHANNELS__SMS__FROM_NUMBER": "+15125550100",
        "SHEEPDOG_CHANNELS__SMS__API_BASE_URL": f"http://127.0.0.1:{closed}",
        "SHEEPDOG_CHANNELS__TELEGRAM__ENABLED": "true",
        "SHEEPDOG_CHANNELS__TELEGRAM__BOT_TOKEN": SECRETS["telegram"],
        "SHEEPDOG_CHANNELS__TELEGRAM__SECRET_TOKEN": SECRETS["telegram_hook"],
        "SHEEPDOG_CHANNELS__TELEGRAM__API_BASE_URL": f"http://127.0.0.1:{closed}",
        "SHEEPDOG_CHANNELS__WEBHOOK__SOURCES": json.dumps(
            {"facebook": {"secret": SECRETS["webhook"], "mapping": {"name": "name", "email": "email"}}}
        ),
        "SHEEPDOG_BRAIN__BACKEND": "claude",
        "SHEEPDOG_BRAIN__ANTHROPIC_API_KEY": SECRETS["claude"],
        "SHEEPDOG_BRAIN__BASE_URL": f"http://127.0.0.1:{closed}",
        "SHEEPDOG_BRAIN__MAX_RETRIES": "0",
        "SHEEPDOG_SLACK__ENABLED": "true",
        "SHEEPDOG_SLACK__BOT_TOKEN": SECRETS["slack_bot"],
        "SHEEPDOG_SLACK__SIGNING_SECRET": SECRETS["slack_signing"],
        "SHEEPDOG_SLACK__CHANNEL": "C0LEADS01",
        "SHEEPDOG_SLACK__API_BASE_URL": f"http://127.0.0.1:{closed}/api/",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "sheepdog.cli", *flags, "run"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:

        def up() -> bool:
            try:
                with urllib.request.urlopen(f"{public}/healthz", timeout=2) as resp:
                    return resp.status == 200
            except OSError:
                return proc.poll() is not None

        wait_for(up, 60, "sheepdog run")
        assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else ""

        def post(path: str, body: bytes, headers: dict[str, str]) -> int:
            req = urllib.request.Request(public + path, data=body, headers=headers, method="POST")
            try:
                with urllib.request.urlopen(req, timeout=30) as resp:
                    return int(resp.status)
            except urllib.error.HTTPError as exc:
                return int(exc.code)

        json_type = {"Content-Type": "application/json"}
        assert post("/hooks/form", fixture_bytes("loop", "webform__lead.json"), json_type) == 200
        sms = load("twilio", "sms__text.txt")
        params = dict(parse_qsl(sms.decode(), keep_blank_values=True))
        signature = RequestValidator(SECRETS["twilio"]).compute_signature(
            public + "/hooks/twilio/sms", params
        )
        form = {"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature}
        assert post("/hooks/twilio/sms", sms, form) == 200
        tg = {**json_type, "X-Telegram-Bot-Api-Secret-Token": SECRETS["telegram_hook"]}
        assert post("/hooks/telegram/customer", load("telegram", "message__text.json"), tg) == 200
        hook = json.dumps(
            {"name": "Sam Webhook", "email": "sam@example.com", "message": "Quote please"}
        ).encode()
        stamp = int(time.time())
        signed = {
            **json_type,
            "X-Sheepdog-Timestamp": str(stamp),
            "X-Sheepdog-Signature": sign(SECRETS["webhook"], stamp, hook),
        }
        assert post("/hooks/inbound/facebook", hook, signed) == 200
        auth = {"Authorization": f"Bearer {SECRETS['console']}"}

        def read() -> bool:  # every message read by the brain (Claude down: the offline brain)
            req = urllib.request.Request(public + "/metrics", headers=auth)
            with urllib.request.urlopen(req, timeout=10) as resp:
                text = resp.read().decode()
            return 'sheepdog_jobs_run_total{job="understand"} 4.0' in text and "sheepdog_sends_total" in text

        wait_for(read, 60, "the four messages to be read")
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=30)
    return out.decode(errors="replace")


@pytest.mark.parametrize("flags", [(), ("--log-format", "json"), ("-v",)], ids=["text", "json", "verbose"])
def test_no_secret_is_printed_in_a_full_run(tmp_path: Path, pg_url: str, flags: tuple[str, ...]) -> None:
    from sheepdog.storage.db import Database

    Database(pg_url).dispose()  # migrated, as `sheepdog migrate` would
    out = run_once(tmp_path, pg_url, *flags)
    assert "inbound webform stored as message" in out  # the run logged its work…
    leaked = {name: value for name, value in SECRETS.items() if value in out}
    assert not leaked, f"printed: {sorted(leaked)}\n{out[-3000:]}"  # …and no secret
    if flags == ("--log-format", "json"):
        lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
        inbound = [line for line in lines if line["message"].startswith("inbound ")]
        assert inbound and all("message_id" in line for line in inbound)
