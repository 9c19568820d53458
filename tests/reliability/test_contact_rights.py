"""Data rights, on SQLite and PostgreSQL: `sheepdog contact export` gives JSON of every row held
about one person; `sheepdog contact erase` (and the console's POST /api/contacts/erase) removes
them all, raw payloads included, and leaves only a tombstone digest so the person is never
messaged again. Merging contacts carries an opt-out through to waiting drafts and follow-ups."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import select, text

from sheepdog.app import build_runtime, build_services
from sheepdog.channels.webform import WebformParser
from sheepdog.cli import main
from sheepdog.domain.models import RawRequest
from sheepdog.handlers.inbound import receive
from sheepdog.jobs.queue import InProcessQueue
from sheepdog.storage.tables import Base, Contact, Draft, Lead, Outbox, RejectedPayload, Tombstone
from tests.conftest import TOKEN, fixture_bytes

EMAIL, NAME = "jordan.ellis@example.com", "Jordan Ellis"


def _form(**fields: str) -> Any:
    form = json.loads(fixture_bytes("loop", "webform__lead.json"))
    form.update(fields)
    raw = RawRequest(
        "POST", "http://x/hooks/form", {}, json.dumps(form).encode(), content_type="application/json"
    )
    return WebformParser().parse(raw)[0]


def _mentions(svc: Any, *needles: str) -> list[str]:
    """Every table.column whose stored value contains one of the needles (bytes and JSON too)."""
    found = []
    with svc.db.engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            for row in conn.execute(table.select()):
                for column, value in row._mapping.items():
                    blob = (
                        value.decode("utf-8", "replace")
                        if isinstance(value, bytes)
                        else json.dumps(value, default=str)
                    )
                    if any(n.lower() in blob.lower() for n in needles):
                        found.append(f"{table.name}.{column}")
    return found


def _config(tmp_path: Path, db_url: str) -> str:
    path = tmp_path / "sheepdog.toml"
    path.write_text(f'[storage]\nurl = "{db_url}"\n[demo]\nsmtp_sink = false\n', encoding="utf-8")
    return str(path)


def test_export_then_erase_leaves_nothing_but_a_tombstone(
    make_settings: Any, db_url: str, tmp_path: Path, capsys: Any
) -> None:
    svc = build_services(make_settings(storage={"url": db_url}), queue=InProcessQueue(periodic=False))
    try:
        receive(svc, _form())
        receive(svc, _form(message="Also, can you look at our AC while you're here?"))  # same person again
        receive(svc, _form(name="Other Person", email="other@example.com", phone="(512) 555-0111"))
        with svc.db.session() as s:
            s.add(
                RejectedPayload(
                    endpoint="/hooks/form",
                    status=422,
                    reason="x",
                    headers={},
                    body=f'{{"email": "{EMAIL}"}}'.encode(),
                )
            )
        cfg = _config(tmp_path, db_url)

        assert (
            main(["contact", "export", EMAIL.upper(), "--config", cfg, "-o", str(tmp_path / "out.json")]) == 0
        )
        exported = json.loads((tmp_path / "out.json").read_text())
        tables = exported["tables"]
        for table in (
            "contacts",
            "identities",
            "conversations",
            "messages",
            "leads",
            "drafts",
            "events",
            "rejected_payloads",
        ):
            assert tables[table], table
        assert all(NAME.encode().decode() in json.dumps(tables["messages"]) for _ in [0])
        assert "other@example.com" not in json.dumps(tables)
        assert _mentions(svc, EMAIL)

        assert main(["contact", "erase", EMAIL, "--config", cfg]) == 2  # without --yes nothing happens
        assert _mentions(svc, EMAIL)
        assert main(["contact", "erase", EMAIL, "--config", cfg, "--yes"]) == 0
        assert "erased" in capsys.readouterr().out
        assert _mentions(svc, EMAIL, NAME, "555-0199", "5125550199") == []
        assert _mentions(svc, "other@example.com")  # someone else's data stays
        with svc.db.session() as s:
            assert s.scalars(select(Tombstone)).all()

        # They write again: stored for the team, but nothing goes out to them on its own.
        again = receive(svc, _form(message="Hello again"))
        with svc.db.session() as s:
            contact = s.get(Lead, again.lead_id).contact
            assert contact.opted_out
            assert not s.scalars(select(Outbox).where(Outbox.lead_id == again.lead_id)).all()
    finally:
        svc.db.dispose()


async def test_the_owner_erases_from_the_console(make_settings: Any, aiohttp_client: Any) -> None:
    settings = make_settings()
    runtime = build_runtime(settings, services=build_services(settings, queue=InProcessQueue(periodic=False)))
    client = await aiohttp_client(runtime.app, headers={"Authorization": f"Bearer {TOKEN}"})
    try:
        # The owner's page carries the form, naming the very routes used below, and its script.
        page = await (await client.get("/")).text()
        assert 'id="contact-rights"' in page and "/static/contacts.js" in page
        assert 'data-export="/api/contacts/export"' in page and 'data-erase="/api/contacts/erase"' in page
        script = await client.get("/static/contacts.js")
        assert script.status == 200 and "confirm(" in await script.text()  # erase asks first
        resp = await client.post(
            "/hooks/form",
            data=fixture_bytes("loop", "webform__lead.json"),
            headers={"Content-Type": "application/json"},
        )
        assert resp.status == 200
        resp = await client.post("/api/contacts/export", json={"who": EMAIL})
        assert resp.status == 200 and (await resp.json())["tables"]["leads"]
        resp = await client.post("/api/contacts/erase", json={"who": EMAIL})
        assert resp.status == 422 and "confirm" in (await resp.json())["error"]
        resp = await client.post("/api/contacts/erase", json={"who": "not an address"})
        assert resp.status == 422
        resp = await client.post("/api/contacts/erase", json={"who": EMAIL, "confirm": True})
        assert resp.status == 200 and (await resp.json())["erased"]["leads"] == 1
        assert _mentions(runtime.services, EMAIL, NAME) == []
    finally:
        runtime.services.db.dispose()


def test_a_merge_with_an_opted_out_contact_withdraws_drafts_and_stops_the_cadence(
    make_settings: Any, db_url: str
) -> None:
    svc = build_services(
        make_settings(storage={"url": db_url}, policy={"first_reply": {"autonomy": "L3"}}),
        queue=InProcessQueue(periodic=False),
    )
    try:
        by_phone = receive(svc, _form(email="", phone="(512) 555-0142", name="Pat Doe"))
        by_email = receive(svc, _form(email="pat@example.com", phone="", name="Pat Doe"))
        with svc.db.session() as s:
            s.get(Lead, by_email.lead_id).contact.opted_out = True
            phone_lead = s.get(Lead, by_phone.lead_id)
            assert phone_lead.cadence_state == "active"
            assert s.get(Draft, by_phone.draft_id).state == "pending"
        # One message naming both: the two contacts are one person, who said stop.
        receive(
            svc, _form(email="pat@example.com", phone="(512) 555-0142", name="Pat Doe", message="hi again")
        )
        with svc.db.session() as s:
            phone_lead = s.get(Lead, by_phone.lead_id)
            assert phone_lead.contact.opted_out
            assert phone_lead.cadence_state == "stopped"
            assert s.get(Draft, by_phone.draft_id).state != "pending"
            assert s.scalar(select(Contact.id).where(Contact.merged_into_id.is_not(None))) is not None
            assert s.execute(text("select 1")).scalar() == 1
    finally:
        svc.db.dispose()
