"""Subprocesses the bench starts, and what it reads about them from /proc (RSS, CPU time)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

SHEEPDOG = Path(sys.executable).parent / "sheepdog"
CLK_TCK = os.sysconf("SC_CLK_TCK")


@dataclass
class Proc:
    """One `sheepdog …` process with its log file; its own session so a kill reaches its children."""

    name: str
    popen: subprocess.Popen[bytes]
    log_path: Path
    started: float  # time.monotonic()
    rss_mb_max: float = 0.0
    child_rss_mb_max: float = 0.0  # RQ forks a work horse per job; its RSS is not the parent's
    exit_code_before_stop: int | None = field(default=None)

    @property
    def pid(self) -> int:
        return self.popen.pid


def bench_env() -> dict[str, str]:
    """The parent's environment minus any SHEEPDOG_* override, so only the bench's config counts."""
    return {k: v for k, v in os.environ.items() if not k.startswith("SHEEPDOG_")}


def run_once(args: list[str], log_path: Path, cwd: Path, config: Path, timeout: float = 300) -> int:
    """A one-shot command such as `sheepdog migrate`; output goes to its log file."""
    with log_path.open("ab") as log:
        done = subprocess.run(
            [str(SHEEPDOG), *args],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            env={**bench_env(), "SHEEPDOG_CONFIG": str(config)},
            timeout=timeout,
            check=False,
        )
    return done.returncode


def start(name: str, args: list[str], log_dir: Path, cwd: Path, config: Path) -> Proc:
    log_path = log_dir / f"{name}.log"
    log = log_path.open("ab")
    popen = subprocess.Popen(
        [str(SHEEPDOG), *args],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        cwd=cwd,
        env={**bench_env(), "SHEEPDOG_CONFIG": str(config), "PYTHONUNBUFFERED": "1"},
        start_new_session=True,
    )
    log.close()  # the child holds its own descriptor
    return Proc(name, popen, log_path, time.monotonic())


def stop(procs: list[Proc], grace_s: float = 10.0) -> None:
    """SIGTERM to each process (a clean shutdown), SIGKILL to its whole group after grace_s."""
    for p in procs:
        if p.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                p.popen.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    for p in procs:
        with contextlib.suppress(subprocess.TimeoutExpired):
            p.popen.wait(timeout=max(0.0, deadline - time.monotonic()))
    for p in procs:
        if p.popen.poll() is None:
            print(
                f"bench: {p.name} (pid {p.pid}) ignored SIGTERM for {grace_s:.0f} s: SIGKILL", file=sys.stderr
            )
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(p.pid, signal.SIGKILL)  # also any work horse left behind
        with contextlib.suppress(subprocess.TimeoutExpired):
            p.popen.wait(timeout=5)


def rss_mb(pid: int) -> float:
    """VmRSS of one process in MB (0 when it is gone)."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except (FileNotFoundError, ProcessLookupError, ValueError):
        pass
    return 0.0


def children(pid: int) -> list[int]:
    kids: list[int] = []
    with contextlib.suppress(FileNotFoundError, ProcessLookupError):
        for task in os.listdir(f"/proc/{pid}/task"):
            with contextlib.suppress(FileNotFoundError, ProcessLookupError):
                kids += [int(c) for c in Path(f"/proc/{pid}/task/{task}/children").read_text().split()]
    return kids


def cpu_s(pid: int) -> float:
    """utime+stime plus that of reaped children (RQ work horses), in seconds."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    # after the ")" field 3 (state) is index 0, so utime (14) is index 11 … cstime (17) is index 14
    return sum(int(x) for x in fields[11:15]) / CLK_TCK


class RssSampler:
    """Samples every process's VmRSS (and its children's) every interval_s in a thread; keeps the peak."""

    def __init__(self, procs: list[Proc], interval_s: float = 0.5) -> None:
        self.procs, self.interval_s = procs, interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="rss-sampler", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _loop(self) -> None:
        while not self._stop.is_set():
            for p in self.procs:
                p.rss_mb_max = max(p.rss_mb_max, rss_mb(p.pid))
                for kid in children(p.pid):
                    p.child_rss_mb_max = max(p.child_rss_mb_max, rss_mb(kid))
            self._stop.wait(self.interval_s)
