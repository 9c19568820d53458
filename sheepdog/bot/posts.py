"""What chat surfaces remember, one repository each, shared by Slack and Telegram:

- `CardPosts`: where each card lives on a surface. Posting is claimed first (a row with no ref),
  so two workers syncing the same lead never post a card twice; then it is only updated in place,
  and only when what it shows changed (`place` does the whole dance for any surface).
- `seen`: platform deliveries already handled (Slack event_id, Telegram update_id), pruned.
- `ThreadMessages`: a member's message that became a reply or a note (so the bot never echoes it,
  and an edit or delete on the platform follows), and prompts the bot waits on (ForceReply).
- `TeamIdentities`: who claimed a lead on a surface, by platform user id.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sheepdog.bot.cards import Card
from sheepdog.handlers.context import Services
from sheepdog.storage.tables import CardPost, Event, Lead, SeenDelivery, TeamIdentity, ThreadMessage

log = logging.getLogger(__name__)

STALE_CLAIM_S = 120
"""A claimed card with no ref this old is assumed lost (the poster crashed) and posted again."""
SEEN_KEEP_S = 7 * 24 * 3600
"""How long a handled delivery id is remembered: Slack retries for minutes, Telegram keeps an
unconfirmed update for 24 hours; a week is ample, and the table no longer grows without bound."""
SEEN_PRUNE_EVERY_S = 600
"""How often a process prunes seen deliveries (on the next delivery after this long)."""
EXTERNAL = "external"
"""content_hash of a card whose post is managed elsewhere: never updated by a sync."""


def text_hash(author: str | None, text: str) -> str:
    return hashlib.sha256(f"{author or ''}\n{text.strip()}".encode()).hexdigest()


# ---- card posts ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Placed:
    """Where a card now lives."""

    container: str
    ref: str
    thread_ref: str | None


Post = Callable[[Card, "CardPost | None"], Awaitable[Placed]]
Update = Callable[[Card, CardPost], Awaitable[None]]


class CardPosts:
    """The card posts of one surface ("slack", "telegram", "telegram:owner")."""

    def __init__(self, surface: str) -> None:
        self.surface = surface

    def row(self, s: Session, key: str) -> CardPost | None:
        return s.scalar(select(CardPost).where(CardPost.surface == self.surface, CardPost.card_key == key))

    def get(self, services: Services, key: str) -> CardPost | None:
        with services.db.session() as s:
            row = self.row(s, key)
            if row is not None:
                s.expunge(row)
            return row

    def claim(self, services: Services, card: Card, container: str) -> tuple[str, CardPost | None]:
        """("post", row) when this caller owns posting; ("update", row); or ("busy", None)."""
        now = services.now()
        with services.db.session() as s:
            row = self.row(s, card.key)
            if row is None:
                try:
                    with s.begin_nested():
                        row = CardPost(
                            surface=self.surface,
                            card_key=card.key,
                            lead_id=card.lead_id,
                            container=container,
                            updated_at=now,
                        )
                        s.add(row)
                    s.flush()
                except IntegrityError:
                    return "busy", None
                s.expunge(row)
                return "post", row
            if row.ref:
                s.expunge(row)
                return "update", row
            cutoff = now - timedelta(seconds=STALE_CLAIM_S)
            taken = s.execute(
                update(CardPost)
                .where(CardPost.id == row.id, CardPost.ref.is_(None), CardPost.updated_at < cutoff)
                .values(updated_at=now)
            ).rowcount
            if taken == 1:
                s.expunge(row)
                return "post", row
            return "busy", None

    def store(self, services: Services, row_id: int, **values: Any) -> None:
        with services.db.session() as s:
            s.execute(
                update(CardPost).where(CardPost.id == row_id).values(updated_at=services.now(), **values)
            )

    def release(self, services: Services, row_id: int) -> None:
        """A post that failed: the claim goes, so the next sync posts it."""
        with services.db.session() as s:
            s.execute(delete(CardPost).where(CardPost.id == row_id, CardPost.ref.is_(None)))

    def lead_for(
        self, services: Services, ref: str, *, container: str | None = None, root_only: bool = False
    ) -> int | None:
        """The lead whose card is the message `ref` (in `container`); root_only: its brief."""
        with services.db.session() as s:
            q = select(CardPost.lead_id).where(CardPost.surface == self.surface, CardPost.ref == ref)
            if container is not None:
                q = q.where(CardPost.container == container)
            if root_only:
                q = q.where(CardPost.card_key.like("brief:%"))
            return s.scalar(q.limit(1))

    def lead_for_thread(self, services: Services, container: str, thread_ref: str) -> int | None:
        """The lead whose thread (a Telegram forum topic) is `thread_ref`."""
        with services.db.session() as s:
            return s.scalar(
                select(CardPost.lead_id)
                .where(
                    CardPost.surface == self.surface,
                    CardPost.container == container,
                    CardPost.thread_ref == thread_ref,
                    CardPost.card_key.like("brief:%"),
                )
                .limit(1)
            )

    def of_lead(self, services: Services, lead_id: int) -> dict[str, CardPost]:
        with services.db.session() as s:
            rows = s.scalars(
                select(CardPost).where(CardPost.surface == self.surface, CardPost.lead_id == lead_id)
            ).all()
            for row in rows:
                s.expunge(row)
            return {r.card_key: r for r in rows}


async def place(
    services: Services,
    posts: CardPosts,
    card: Card,
    container: str,
    digest: str,
    post: Post,
    edit: Update,
    root: CardPost | None = None,
) -> CardPost | None:
    """Post the card once, or update it in place if what it shows changed; the row where it lives.
    None while another worker is posting it. A failed post releases the claim and raises (the
    queue retries the sync), so a card is never lost and never doubled."""
    import asyncio

    state, row = await asyncio.to_thread(posts.claim, services, card, container)
    if row is None:
        return None
    if state == "update":
        if row.content_hash not in (digest, EXTERNAL) and row.ref:
            await edit(card, row)
            await asyncio.to_thread(posts.store, services, row.id, content_hash=digest)
            row.content_hash = digest
        return row
    try:
        placed = await post(card, root)
    except Exception:
        await asyncio.to_thread(posts.release, services, row.id)
        raise
    values = {
        "ref": placed.ref,
        "thread_ref": placed.thread_ref,
        "content_hash": digest,
        "container": placed.container,
    }
    await asyncio.to_thread(posts.store, services, row.id, **values)
    row.ref, row.thread_ref, row.content_hash, row.container = (
        placed.ref,
        placed.thread_ref,
        digest,
        placed.container,
    )
    return row


# ---- seen deliveries ----------------------------------------------------------------------

_pruned_at: dict[str, float] = {}


def first_time(services: Services, source: str, delivery_id: str, **why: Any) -> bool:
    """Record a delivery; False if it was handled before (a retry or a replay), with an event
    `<source>_retry_ignored` carrying `why`. Old rows are pruned now and then."""
    maybe_prune(services, source)
    with services.db.session() as s:
        try:
            with s.begin_nested():
                s.add(SeenDelivery(source=source, delivery_id=delivery_id[:200], at=services.now()))
        except IntegrityError:
            services.log(s, f"{source}_retry_ignored", None, **why)
            return False
    return True


def prune_seen(services: Services, keep_s: float = SEEN_KEEP_S) -> int:
    """Forget deliveries older than keep_s; returns how many rows went."""
    cutoff = services.now() - timedelta(seconds=keep_s)
    with services.db.session() as s:
        return int(s.execute(delete(SeenDelivery).where(SeenDelivery.at < cutoff)).rowcount or 0)


def maybe_prune(services: Services, source: str) -> None:
    now = time.monotonic()
    if now - _pruned_at.get(source, -SEEN_PRUNE_EVERY_S) < SEEN_PRUNE_EVERY_S:
        return
    _pruned_at[source] = now
    gone = prune_seen(services)
    if gone:
        log.info("forgot %d %s deliveries older than %d days", gone, source, SEEN_KEEP_S // 86400)


# ---- members' own messages and prompts ------------------------------------------------------


class ThreadMessages:
    def __init__(self, surface: str) -> None:
        self.surface = surface

    def remember(
        self,
        services: Services,
        key: str,
        lead_id: int,
        kind: str,
        *,
        ref: str | None = None,
        content_hash: str | None = None,
        body: str | None = None,
    ) -> None:
        with services.db.session() as s:
            s.add(
                ThreadMessage(
                    surface=self.surface,
                    message_key=key,
                    lead_id=lead_id,
                    kind=kind,
                    ref=ref,
                    content_hash=content_hash,
                    body=body,
                    created_at=services.now(),
                )
            )

    def link(self, services: Services, key: str, ref: int | str) -> None:
        """Remember what the message became (an outbox row, a note), for edits and deletes."""
        with services.db.session() as s:
            s.execute(
                update(ThreadMessage)
                .where(ThreadMessage.surface == self.surface, ThreadMessage.message_key == key)
                .values(ref=str(ref))
            )

    def get(self, services: Services, key: str) -> ThreadMessage | None:
        with services.db.session() as s:
            row = s.scalar(
                select(ThreadMessage).where(
                    ThreadMessage.surface == self.surface, ThreadMessage.message_key == key
                )
            )
            if row is not None:
                s.expunge(row)
            return row

    def take(self, services: Services, key: str) -> ThreadMessage | None:
        """Read and forget a prompt, atomically: of two answers to one prompt only one counts."""
        with services.db.session() as s:
            row = s.scalar(
                select(ThreadMessage).where(
                    ThreadMessage.surface == self.surface, ThreadMessage.message_key == key
                )
            )
            if row is None:
                return None
            gone = s.execute(delete(ThreadMessage).where(ThreadMessage.id == row.id)).rowcount
            if gone != 1:
                return None
            s.expunge(row)
            return row

    def typed_here(self, services: Services, card: Card) -> bool:
        """A note or a reply card that a member typed on this surface: it is there already."""
        return card.kind in ("note", "outbound") and self.written_here(
            services, card.lead_id, text_hash(card.author, card.text)
        )

    def written_here(self, services: Services, lead_id: int, digest: str) -> bool:
        """A note or reply a member typed on this surface is already there: never echo it."""
        with services.db.session() as s:
            return (
                s.scalar(
                    select(ThreadMessage.id)
                    .where(
                        ThreadMessage.surface == self.surface,
                        ThreadMessage.lead_id == lead_id,
                        ThreadMessage.content_hash == digest,
                    )
                    .limit(1)
                )
                is not None
            )


# ---- who claimed a lead, by platform id ------------------------------------------------------


class TeamIdentities:
    def __init__(self, surface: str) -> None:
        self.surface = surface

    def holder(self, s: Session, lead: Lead) -> str | None:
        """The platform user id of whoever holds the lead, if they claimed it on this surface."""
        if not lead.owner:
            return None
        row = s.scalar(
            select(TeamIdentity).where(TeamIdentity.surface == self.surface, TeamIdentity.lead_id == lead.id)
        )
        return row.user_id if row is not None and row.name == lead.owner else None

    def remember(self, services: Services, lead_id: int, user_id: str) -> None:
        """After a claim: Lead.owner holds the name, this row the claimer's user id."""
        with services.db.session() as s:
            lead = s.get(Lead, lead_id)
            if lead is None or not lead.owner:
                return
            row = s.scalar(
                select(TeamIdentity).where(
                    TeamIdentity.surface == self.surface, TeamIdentity.lead_id == lead_id
                )
            )
            if row is None:
                row = TeamIdentity(surface=self.surface, lead_id=lead_id, user_id=user_id)
                s.add(row)
            row.user_id, row.name, row.updated_at = user_id, lead.owner, services.now()

    def held_as(self, services: Services, lead_id: int, user_id: str) -> str | None:
        """The name the lead is held under, if this user claimed it (whatever they are called now)."""
        with services.db.session() as s:
            lead = s.get(Lead, lead_id)
            if lead is not None and self.holder(s, lead) == user_id:
                return lead.owner
            return None


# ---- what a surface cannot do (shown on the console) --------------------------------------

PROBLEMS_SHOWN_S = 7 * 24 * 3600
"""How long a surface's problem (the bot removed from its group) stays on the console's banner."""


def open_problems(services: Services) -> list[str]:
    """Surface problems not tied to one lead ("<surface>_problem" events, e.g. the Telegram bot
    removed from the team group) and not resolved since ("<surface>_restored"): the console's
    health banner shows them."""
    since = services.now() - timedelta(seconds=PROBLEMS_SHOWN_S)
    with services.db.session() as s:
        rows = s.scalars(
            select(Event)
            .where(Event.at >= since, Event.lead_id.is_(None), Event.kind.like("%\\_problem", escape="\\"))
            .order_by(Event.id)
        ).all()
        out: list[str] = []
        for event in rows:
            restored = event.kind.removesuffix("_problem") + "_restored"
            later = s.scalar(select(Event.id).where(Event.kind == restored, Event.id > event.id).limit(1))
            why = f"{event.actor or 'a chat surface'}: {(event.data or {}).get('why', event.kind)}"
            if later is None and why not in out:
                out.append(why)
        return out
