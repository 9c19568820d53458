"""One-click unsubscribe (RFC 8058): every email carries a signed link to this process.

The token names the contact and the channel and is signed with a key kept in the database
(HMAC-SHA256), so it cannot be forged or pointed at another contact, and it stays valid across
restarts and on every process. A GET shows a page with one button (mail scanners follow links and
must not unsubscribe anybody); the POST, from that button or from the mail client's one-click
("List-Unsubscribe=One-Click"), records the opt-out."""

from __future__ import annotations

import base64
import hashlib
import hmac

from sheepdog.errors import BadInputError
from sheepdog.handlers import policy_store
from sheepdog.handlers.context import Services
from sheepdog.handlers.drafting import opt_out
from sheepdog.storage.tables import Contact, Lead

_KEYS: dict[int, bytes] = {}


def ensure_key(services: Services) -> None:
    """Load (or make) the signing key now, outside any open transaction of the caller's."""
    _key(services)


def _key(services: Services) -> bytes:
    key = _KEYS.get(id(services))
    if key is None:
        key = _KEYS[id(services)] = policy_store.signing_key(services)
    return key


def _sign(services: Services, payload: str) -> str:
    return hmac.new(_key(services), payload.encode(), hashlib.sha256).hexdigest()[:32]


def make_token(services: Services, contact_id: int, channel: str = "email") -> str:
    payload = base64.urlsafe_b64encode(f"{contact_id}:{channel}".encode()).decode().rstrip("=")
    return f"{payload}.{_sign(services, payload)}"


def read_token(services: Services, token: str) -> tuple[int, str]:
    """(contact id, channel) of a genuine token; BadInputError (400/403) for anything else."""
    payload, _, signature = token.partition(".")
    if not payload or not signature:
        raise BadInputError("this unsubscribe link is incomplete (copy the whole link)", status=400)
    if not hmac.compare_digest(signature, _sign(services, payload)):
        raise BadInputError("this unsubscribe link is not valid", status=403)
    try:
        text = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)).decode()
        contact, channel = text.split(":", 1)
        return int(contact), channel
    except ValueError:
        raise BadInputError("this unsubscribe link is not valid", status=400) from None


def unsubscribe(services: Services, token: str, how: str) -> str:
    """Record the opt-out the link stands for; returns the business name for the page."""
    contact_id, channel = read_token(services, token)
    with services.db.session() as s:
        contact = s.get(Contact, contact_id)
        if contact is None:
            raise BadInputError("this unsubscribe link is not valid any more", status=404)
        while contact.merged_into_id is not None:
            contact = s.get(Contact, contact.merged_into_id)
        lead_id = s.scalar(
            Lead.__table__.select()
            .with_only_columns(Lead.id)
            .where(Lead.contact_id == contact.id)
            .order_by(Lead.id.desc())
            .limit(1)
        )
        opt_out(s, services, contact, lead_id, channel=channel, via=how)
    return services.business.name
