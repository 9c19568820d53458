"""One error tree, so retry and HTTP logic match on types, never on message strings."""

from __future__ import annotations


class SheepdogError(Exception):
    """Base of every error Sheepdog raises on purpose."""


class ConfigError(SheepdogError):
    """The configuration is wrong; the message names the key, the value and what is allowed."""


class MissingExtraError(SheepdogError):
    """An optional component was asked for but its package is not installed."""


class BadInputError(SheepdogError):
    """An inbound request we refuse: answered with a 4xx, its raw payload kept."""

    status = 400

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        if status is not None:
            self.status = status


class PayloadTooLargeError(BadInputError):
    status = 413


class SignatureError(BadInputError):
    """Missing, wrong or replayed signature."""

    status = 401


class ReplayError(SignatureError):
    """A correctly signed request outside the accepted time window."""


class SendError(SheepdogError):
    """Base of outbound delivery failures."""


class TransientSendError(SendError):
    """Worth retrying: timeouts, 429, 5xx, connection refused."""

    def __init__(self, message: str, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class UncertainSendError(SendError):
    """The message may have gone out: the server stopped answering after it had the whole message
    (an SMTP timeout after the data, a Twilio call that timed out). Never retried blindly: a
    person checks ("may not have gone out — check")."""


class PermanentSendError(SendError):
    """Retrying will not help: bad address, rejected recipient, opted-out number."""


class BrainError(SheepdogError):
    """A brain backend failed; callers fall back to the offline brain."""


class NotFoundError(SheepdogError):
    """A lead, draft or conversation id that does not exist."""


class ForbiddenError(SheepdogError):
    """Someone not allowed to take this action tried it."""


class QueueUnavailableError(SheepdogError):
    """The job queue (Redis) cannot take a job right now. What the job was for is already stored,
    so callers log it and go on: the sweeps queue the work again once Redis is back.
    `repeated`: refused without trying, as Redis failed a moment ago (nothing new to log)."""

    def __init__(self, message: str, *, repeated: bool = False) -> None:
        super().__init__(message)
        self.repeated = repeated
