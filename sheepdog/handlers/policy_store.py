"""Settings the owner changes from chat (autonomy per workflow), kept in the database over the
config file, and the one key Sheepdog makes for itself (the unsubscribe-link signing key).

The config file stays the default; a change from chat wins until the owner changes it again, so
a restart or a redeploy never silently undoes what the owner decided in chat."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sheepdog.config import Settings
from sheepdog.domain.models import Autonomy
from sheepdog.handlers.context import Services
from sheepdog.storage.tables import AppSetting

WORKFLOWS = ("first_reply", "support", "cadence")
"""The workflows with their own autonomy ([policy.<workflow>] in the config)."""

_PREFIX = "autonomy."
UNSUBSCRIBE_KEY = "unsubscribe_key"


@dataclass(frozen=True)
class WorkflowAutonomy:
    workflow: str
    level: Autonomy
    source: str  # "config" or "set by Dana in chat"


def workflow_of(purpose: str) -> str:
    """Which workflow a draft belongs to: the first reply, an answer in a conversation, a touch."""
    if purpose == "first_reply":
        return "first_reply"
    if purpose in ("reply", "holding_reply", "refund_confirmation"):
        return "support"
    return "cadence"


def _configured(settings: Settings, workflow: str) -> Autonomy:
    return getattr(settings.policy, workflow).autonomy


def autonomy(session: Session, settings: Settings, workflow: str) -> WorkflowAutonomy:
    row = session.get(AppSetting, _PREFIX + workflow)
    if row is not None and row.value in Autonomy.__members__.values():
        return WorkflowAutonomy(workflow, Autonomy(row.value), f"set by {row.updated_by} in chat")
    return WorkflowAutonomy(workflow, _configured(settings, workflow), "config")


def autonomy_for(session: Session, settings: Settings, purpose: str) -> Autonomy:
    return autonomy(session, settings, workflow_of(purpose)).level


def all_autonomy(session: Session, settings: Settings) -> list[WorkflowAutonomy]:
    return [autonomy(session, settings, w) for w in WORKFLOWS]


def set_autonomy(services: Services, workflow: str, level: Autonomy, actor: str) -> Autonomy:
    """Store the owner's choice and log it; returns the level it replaced."""
    with services.db.session() as s:
        before = autonomy(s, services.settings, workflow).level
        row = s.get(AppSetting, _PREFIX + workflow)
        if row is None:
            row = AppSetting(key=_PREFIX + workflow)
            s.add(row)
        row.value, row.updated_by, row.updated_at = level.value, actor, services.now()
        services.log(
            s, "autonomy_changed", None, actor, workflow=workflow, level=level.value, before=before.value
        )
    return before


def signing_key(services: Services) -> bytes:
    """The key of the unsubscribe links: made once and shared by every process through the
    database, so a link stays valid across restarts and on any worker."""
    with services.db.session() as s:
        row = s.get(AppSetting, UNSUBSCRIBE_KEY)
        if row is not None:
            return bytes.fromhex(str(row.value))
    try:
        with services.db.session() as s:
            s.add(AppSetting(key=UNSUBSCRIBE_KEY, value=secrets.token_hex(32), updated_at=services.now()))
    except IntegrityError:
        pass  # another process made it first: use theirs
    with services.db.session() as s:
        value = s.scalar(select(AppSetting.value).where(AppSetting.key == UNSUBSCRIBE_KEY))
    return bytes.fromhex(str(value))
