"""Named defaults, each with its unit in the name (in the manner of rq's defaults.py)."""

FIRST_REPLY_DEADLINE_S = 60
"""An automated first reply goes out within this many seconds of the message arriving."""

PRICING_HANDOFF_S = 15 * 60
"""A pricing question reaches a human within this many seconds."""

CLAIM_SLA_S = 30 * 60
"""An unclaimed lead escalates after this many seconds."""

MAX_BODY_BYTES = 1 * 1024 * 1024
"""JSON and form hooks refuse larger bodies with 413 (kept truncated for inspection); /hooks/email
has its own limit, channels.email.max_inbound_mb, since mail carries photos."""

KEPT_REJECTED_BYTES = 64 * 1024
"""How much of a refused oversized body is kept for inspection."""

SIGNATURE_WINDOW_S = 5 * 60
"""Signed requests older (or newer) than this are replays."""

SEND_MAX_ATTEMPTS = 5
"""A transient send failure is retried up to this many attempts in all."""

SEND_BACKOFF_BASE_S = 2.0
"""Retry delay for attempt n is SEND_BACKOFF_BASE_S * 4 ** (n - 1) seconds, capped below."""

SEND_BACKOFF_MAX_S = 15 * 60

CADENCE_TICK_S = 60
"""How often the cadence clock looks for due touches."""

SMS_MAX_CHARS = 320
"""Drafts for SMS stay within two segments."""

TRIAGE_CONFIDENCE_FLOOR = 0.55
"""Below this confidence a triage is flagged for a human, never guessed silently."""

CONSOLE_HOST = "127.0.0.1"
CONSOLE_PORT = 8080
DEMO_SMTP_PORT = 2525
