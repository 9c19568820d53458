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

AUTO_REPLY_CONFIDENCE = 0.7
"""Triage confidence (0..1) below which nothing is answered on its own: a person sees it first."""

AUTO_REPLY_CONFIDENCE_LONG = 0.85
"""The same bar for a letter of more than `brain.rules.STORY_WORDS` words: the classifier learnt
mostly from short messages, and a long letter read as a sales inquiry at 71% was a complaint."""

CONSOLE_HOST = "127.0.0.1"
CONSOLE_PORT = 8080
DEMO_SMTP_PORT = 2525

# The engine (sheepdog/jobs): how jobs are retried, swept, leased and watched.

JOB_MAX_RETRIES = 5
"""A job that raises is retried this many times (exponential backoff, full jitter), then it lands in
the failed-job registry (RQ's, or the failed_jobs table for the in-process queue)."""

JOB_BACKOFF_BASE_S = 1.0
"""Retry n waits a random time in [0, JOB_BACKOFF_BASE_S * 2 ** n] seconds ("full jitter")."""

JOB_BACKOFF_MAX_S = 300.0
"""No retry waits longer than this."""

JOB_TIMEOUT_S = 120
"""An RQ job running longer than this is stopped (a slow Claude call retries within it)."""

JOB_GUARD_S = 120
"""A keyed job's 'already queued' marker outlives its due time by this much, so a marker left by a
killed process blocks its key for at most this long (every job is safe to run again)."""

SWEEP_S = 15
"""How often the sweeps look for work that lost its job: outbox rows nobody is sending, messages
nobody is reading, sends whose process died."""

READ_LEASE_S = 120
"""How long one reader holds a message (longer than the slowest brain call with its retries); a
reader killed mid-way frees it when this runs out."""

UNREAD_AFTER_S = 10
"""A message stored this long ago with nobody reading it is read again by the straggler sweep."""

ALIVE_TTL_S = 10
"""A process proves it is alive by renewing a key this often-ish (every ALIVE_TTL_S / 5 seconds)."""

INPROCESS_WORKERS = 4
"""Threads of the embedded queue: a slow brain call does not hold up the sends behind it."""

QUEUE_DOWN_RETRY_S = 2.0
"""After Redis refused a job, enqueues fail fast for this long (the sweeps re-queue the work)."""

DOCTOR_CHECK_TIMEOUT_S = 5.0
"""Deadline of one `sheepdog doctor` check: a service silent that long is reported as not
answering, so doctor finishes in seconds even when a host drops packets."""
REPORT_CHECK_S = 300
"""How often the weekly report job looks whether Monday 08:00 (business time) has come."""
RETRAIN_CHECK_S = 60
"""How often the scorer looks for new outcomes (won, lost, imported history) to learn from."""

# Input limits (sheepdog/safejson.py, sheepdog/bot/guard.py): checked before anything is parsed.

MAX_JSON_DEPTH = 64
"""JSON nested deeper than this many objects/arrays is refused with 400 before parsing (no
platform sends more than ~10 levels; 10,000 levels would exhaust the parser's recursion)."""

MAX_JSON_INT = 2**63 - 1
"""Integers in JSON bodies must fit a signed 64-bit column (SQLite and PostgreSQL BIGINT)."""

MAX_JSON_NUMBER_CHARS = 64
"""A JSON number literal longer than this is refused (Python would spend seconds on a 1 MB int)."""

WEBFORM_PER_IP_PER_HOUR = 10
"""Web-form posts one address (IP) may make per hour before it gets 429: the form is not a relay."""

WEBFORM_PER_ADDRESS_PER_DAY = 3
"""Web-form posts naming one email address or phone per day: more are kept but get no automatic mail."""

RETRY_AFTER_S = 30
"""Retry-After of a 503 (storage unavailable): when a platform or script should send again."""
