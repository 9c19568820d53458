"""Where every Sheepdog process gets "now" (Services.clock).

The real clock, plus an optional offset read from the file named by SHEEPDOG_CLOCK_OFFSET_FILE
(seconds, a float, e.g. `86400` for "one day later"). Rehearsals and the production-process tests
move every process's clock at once by rewriting that one file: a cadence's day 2 arrives in a
second, through the same code that runs in production. The file is read again only when it
changes (one stat per call; write a new file and rename it over the old); a missing or unreadable file means no offset.
"""

from __future__ import annotations

import logging
import os
import threading
from datetime import UTC, datetime, timedelta

log = logging.getLogger(__name__)

OFFSET_FILE_ENV = "SHEEPDOG_CLOCK_OFFSET_FILE"


class OffsetClock:
    """The real UTC clock moved by the offset in `path` (see the module docstring)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._seen: tuple[int, int, int] | None = None
        self._offset = timedelta(0)
        self._lock = threading.Lock()

    def offset(self) -> timedelta:
        try:
            st = os.stat(self.path)
        except OSError:
            return timedelta(0)
        # The inode too: a file replaced twice within the clock's tick keeps mtime and maybe size.
        key = (st.st_ino, st.st_mtime_ns, st.st_size)
        if key != self._seen:
            with self._lock:
                try:
                    with open(self.path, encoding="utf-8") as f:
                        seconds = float(f.read().strip() or 0)
                    self._offset = timedelta(seconds=seconds)
                    self._seen = key
                except (OSError, ValueError) as exc:
                    log.warning(
                        "clock offset file %s unreadable (%s): keeping %s", self.path, exc, self._offset
                    )
        return self._offset

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset()


def real_now() -> datetime:
    return datetime.now(UTC)


def from_env(environ: dict[str, str] | None = None) -> OffsetClock | None:
    """The offset clock when SHEEPDOG_CLOCK_OFFSET_FILE is set, else None (the real clock)."""
    path = (environ if environ is not None else os.environ).get(OFFSET_FILE_ENV)
    if not path:
        return None
    log.warning("clock moved by the offset in %s (%s): for rehearsals and tests only", path, OFFSET_FILE_ENV)
    return OffsetClock(path)
