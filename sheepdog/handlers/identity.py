"""Find or create the contact behind a message; merge contacts when an email or phone matches."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from sheepdog.domain.contacts import identity_keys, normalize_email, normalize_phone
from sheepdog.domain.models import InboundMessage, Stage
from sheepdog.handlers.context import Services
from sheepdog.handlers.drafting import withdraw_closed
from sheepdog.handlers.privacy import is_erased
from sheepdog.storage.tables import Contact, Conversation, Identity, Lead


def handles_of(msg: InboundMessage) -> dict[str, str]:
    """Channel-native ids: a Telegram chat, a webhook source's external id."""
    if not msg.sender_handle:
        return {}
    kind = "telegram" if msg.channel == "telegram" else f"{msg.channel}:{msg.source or 'default'}"
    return {kind: msg.sender_handle}


def resolve_contact(session: Session, services: Services, msg: InboundMessage) -> tuple[Contact, bool]:
    """(contact, created). Every identity that matches points at one contact afterwards."""
    email = normalize_email(msg.sender_email)
    phone = normalize_phone(msg.sender_phone, services.business.country)
    keys = identity_keys(email, phone, handles_of(msg))
    found: list[Contact] = []
    for kind, value in keys:
        ident = session.scalar(select(Identity).where(Identity.kind == kind, Identity.value == value))
        if ident is not None and ident.contact not in found:
            found.append(ident.contact)
    created = not found
    if created:
        contact = Contact(name=msg.sender_name, email=email, phone=phone, created_at=services.now())
        if is_erased(session, keys):
            # They asked to be erased: what they send now is kept for the team, nothing is sent back.
            contact.opted_out, contact.opted_out_at = True, services.now()
        session.add(contact)
        session.flush()
    else:
        found.sort(key=lambda c: c.id)
        contact = found[0]
        for other in found[1:]:
            merge_contacts(session, services, keep=contact, gone=other)
    if msg.sender_name and not contact.name:
        contact.name = msg.sender_name
    contact.email = contact.email or email
    contact.phone = contact.phone or phone
    if company := msg.fields.get("company"):
        contact.company = contact.company or company
    have = {(i.kind, i.value) for i in contact.identities}
    for kind, value in keys:
        if (kind, value) not in have:
            session.add(Identity(contact_id=contact.id, kind=kind, value=value))
    session.flush()
    session.refresh(contact)
    return contact, created


def merge_contacts(session: Session, services: Services, *, keep: Contact, gone: Contact) -> None:
    """Fold `gone` into `keep`: identities, conversations and leads move; the old row points on.
    One person: what they closed on either record is closed on both, and everything now under
    `keep` stops accordingly (waiting drafts, queued sends, follow-ups), as an opt-out does."""
    was_open = not keep.opted_out and not keep.opted_out_channels
    session.execute(update(Identity).where(Identity.contact_id == gone.id).values(contact_id=keep.id))
    session.execute(update(Conversation).where(Conversation.contact_id == gone.id).values(contact_id=keep.id))
    session.execute(update(Lead).where(Lead.contact_id == gone.id).values(contact_id=keep.id))
    keep.name = keep.name or gone.name
    keep.email = keep.email or gone.email
    keep.phone = keep.phone or gone.phone
    keep.opted_out = keep.opted_out or gone.opted_out
    # An opt-out on one channel (opt_out_scope = "channel") is the person's, whichever row had it.
    closed = [*(keep.opted_out_channels or []), *(gone.opted_out_channels or [])]
    keep.opted_out_channels = list(dict.fromkeys(closed))
    if gone.opted_out_at is not None and (keep.opted_out_at is None or gone.opted_out_at > keep.opted_out_at):
        keep.opted_out_at = gone.opted_out_at
    gone.merged_into_id = keep.id
    services.log(session, "contacts_merged", None, kept=keep.id, merged=gone.id)
    session.flush()
    if keep.opted_out or keep.opted_out_channels:
        if was_open:
            services.log(session, "opted_out", None, contact_id=keep.id, reason="merged", merged=gone.id)
        withdraw_closed(session, services, keep)
    session.flush()
    session.expire(keep)


def is_returning(session: Session, contact: Contact) -> bool:
    """A returning customer: someone we already won business from."""
    won = session.scalar(
        select(Lead.id).where(Lead.contact_id == contact.id, Lead.stage == Stage.WON.value).limit(1)
    )
    return won is not None
