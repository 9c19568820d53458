"""What happened to a message after it left: a carrier's delivery report updates the outbox row,
its card and the event log; a failure is put in front of a person in words."""

from __future__ import annotations

from sqlalchemy import select

from sheepdog.channels.base import DeliveryReport
from sheepdog.handlers.context import Services
from sheepdog.storage.tables import Lead, Outbox

FINAL = {"delivered", "undelivered", "failed", "read", "canceled"}
RANK = {"accepted": 0, "scheduled": 0, "queued": 1, "sending": 2, "sent": 3}
NOT_DELIVERED = {"undelivered", "failed"}


def record(services: Services, report: DeliveryReport) -> bool:
    """Apply one report; False when no message of ours has that id (logged, nothing changes).
    Reports may arrive out of order: a late "sent" never overwrites "delivered"."""
    with services.db.session() as s:
        row = s.scalar(
            select(Outbox).where(
                Outbox.channel == report.channel.value,
                Outbox.provider_message_id == report.provider_message_id,
            )
        )
        if row is None:
            services.log(
                s, "delivery_report_unmatched", None, channel=report.channel, sid=report.provider_message_id
            )
            return False
        current = row.delivery_status
        if current in FINAL and report.status not in FINAL:
            return True  # a late intermediate report
        if current == report.status:
            return True  # a retried callback
        row.delivery_status, row.delivery_at = report.status, services.now()
        row.delivery_error = report.error_words
        services.log(
            s,
            "delivery_status",
            row.lead_id,
            outbox_id=row.id,
            channel=row.channel,
            status=report.status,
            error_code=report.error_code,
            error=report.error_words,
        )
        if report.status in NOT_DELIVERED:
            lead = s.get(Lead, row.lead_id)
            why = report.error_words or "the carrier gave no reason"
            lead.needs_attention = f"{report.channel.words} not delivered: {why}"[:200]
        services.lead_changed(row.lead_id, s)
    return True
