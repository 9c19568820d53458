"""Refund and confirm: one click from the team records the refund, hands it to the owner's
payment system (a signed JSON POST to business.refund_webhook_url) or, with none configured,
adds a "refund to do" for the owner, then confirms to the customer, once."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from sheepdog.domain.models import Category, Channel, Direction, Money
from sheepdog.errors import BadInputError, NotFoundError
from sheepdog.handlers.context import Services
from sheepdog.handlers.drafting import closed, new_outbox, reply_channel, thread_subject, triage_from_dict
from sheepdog.storage.tables import Draft, Lead, Message, Refund

WEBHOOK_TIMEOUT_S = 10.0


def refund_request(services: Services, lead: Lead, session: Session) -> tuple[Message, Money] | None:
    """The customer's newest refund request on this lead with an amount within the threshold."""
    msg = session.scalar(
        select(Message)
        .where(
            Message.conversation_id == lead.conversation_id,
            Message.direction == Direction.INBOUND.value,
            Message.category == Category.REFUND_REQUEST.value,
        )
        .order_by(Message.id.desc())
        .limit(1)
    )
    if msg is None:
        return None
    amount = triage_from_dict(msg.triage).extracted.refund_amount
    limit = services.business.refund_threshold
    if amount is None or amount.currency != limit.currency or amount.amount > limit.amount:
        return None
    return msg, amount


def sign(secret: str, body: bytes, at: int) -> str:
    """X-Sheepdog-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">, Stripe's scheme."""
    mac = hmac.new(secret.encode(), f"{at}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={at},v1={mac}"


def _post(url: str, secret: str | None, payload: dict[str, object]) -> str | None:
    """None when the webhook took it (2xx); else the reason in words."""
    body = json.dumps(payload).encode()
    headers = {"Content-Type": "application/json", "Idempotency-Key": str(payload["idempotency_key"])}
    if secret:
        headers["X-Sheepdog-Signature"] = sign(secret, body, int(time.time()))
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT_S) as resp:
            return None if 200 <= resp.status < 300 else f"the refund webhook answered {resp.status}"
    except urllib.error.HTTPError as exc:
        return f"the refund webhook answered {exc.code}"
    except OSError as exc:
        return f"could not reach the refund webhook ({exc})"


def refund_and_confirm(services: Services, lead_id: int, actor: str) -> tuple[bool, str]:
    """(ok, what happened). A second click finds the refund recorded and does nothing again."""
    with services.db.session() as s:
        lead = s.get(Lead, lead_id)
        if lead is None:
            raise NotFoundError(f"no lead {lead_id}")
        found = refund_request(services, lead, s)
        if found is None:
            raise BadInputError("no refund request within your threshold on this lead")
        msg, amount = found
        done = s.scalar(select(Refund).where(Refund.lead_id == lead_id, Refund.message_id == msg.id))
        if done is not None:
            return False, f"already refunded by {done.actor}"
        refund = Refund(
            lead_id=lead_id,
            message_id=msg.id,
            amount=Decimal(amount.amount),
            currency=amount.currency,
            state="pending",
            actor=actor,
            created_at=services.now(),
        )
        s.add(refund)
        s.flush()
        refund_id = refund.id
        payload = {
            "event": "refund.requested",
            "idempotency_key": f"refund:{refund_id}",
            "refund_id": refund_id,
            "lead_id": lead_id,
            "amount": str(amount.amount),
            "currency": amount.currency,
            "customer": {"name": lead.contact.name, "email": lead.contact.email, "phone": lead.contact.phone},
            "order_ref": triage_from_dict(msg.triage).extracted.order_ref,
            "approved_by": actor,
        }
        services.log(s, "refund_recorded", lead_id, actor, refund_id=refund_id, amount=str(amount))
    url = services.settings.business.refund_webhook_url
    problem = _post(url, services.settings.business.refund_webhook_secret, payload) if url else None
    with services.db.session() as s:
        lead = s.get(Lead, lead_id)
        refund = s.get(Refund, refund_id)
        if url and problem is None:
            refund.state, refund.detail = "processed", f"sent to {url}"
            services.log(s, "refund_processed", lead_id, actor, refund_id=refund_id, webhook=url)
        else:
            refund.state = "to_do"
            refund.detail = problem or "no refund webhook configured"
            lead.needs_attention = f"refund to do: pay back {amount}" + (f" ({problem})" if problem else "")
            services.log(s, "refund_to_do", lead_id, actor, refund_id=refund_id, reason=refund.detail)
        for draft in s.scalars(select(Draft).where(Draft.lead_id == lead_id, Draft.state == "pending")):
            draft.state, draft.decided_by = "skipped", actor
            draft.reasons = [*draft.reasons, "answered by the refund confirmation"]
        channel = reply_channel(services, lead, lead.contact)
        if channel is None or closed(services, lead.contact, channel):
            return True, f"refund of {amount} recorded; no confirmation could be sent"
        name = (lead.contact.name or "").split()
        hello = f"Hi {name[0]}," if name else "Hi,"
        body = (
            f"{hello}\n\nI've refunded {amount} to you. Depending on your bank it can take a few "
            f"days to show.\n\n{services.business.signature or services.business.owner_name}"
        )
        if refund.state != "processed":
            body = body.replace("I've refunded", "I've approved a refund of").replace(" to you.", ".")
        out = new_outbox(
            s,
            services,
            lead,
            channel,
            body,
            subject=thread_subject(s, services, lead) if channel == Channel.EMAIL else None,
            author=actor,
            key=f"refund:{refund_id}",
            purpose="refund_confirmation",
        )
        services.enqueue_after_commit(s, "send_outbox", out.id)
        state = refund.state
    services.lead_changed(lead_id)
    what = "sent to your payment system" if state == "processed" else "added to your refunds to do"
    return True, f"refund of {amount} {what}; confirmation queued"
