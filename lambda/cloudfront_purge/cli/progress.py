"""How the command-line tool shows a purge's progress.

On a terminal: one status line, rewritten in place on every event (what it waits on,
elapsed time, next check), so a ten-minute wait does not scroll hundreds of lines. Piped,
or with ``--json``: one line per event, for logs and for tools that read them.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Sequence
from typing import TextIO

from cloudfront_purge.engine import Event, Job, JobState

#: Carriage return, then "erase the whole line" (ECMA-48 EL with parameter 2).
_REWRITE = "\r\x1b[2K"
#: Engine events after which the next check's time is worth printing.
WAITING_EVENTS = frozenset(
    {
        Event.WAITING,
        Event.BLOCKED,
        Event.WAITING_FOR_CAPACITY,
        Event.WAITING_FOR_IAM,
        Event.NOT_VISIBLE_YET,
    }
)
#: Engine events whose cause (the last error) a person wants to see.
_PROBLEM_EVENTS = frozenset({Event.WAITING_FOR_IAM, Event.NOT_VISIBLE_YET})


class Progress:
    """A reporter for :func:`cloudfront_purge.engine.purge` (call it with kind and job)."""

    def __init__(
        self,
        stream: TextIO,
        jobs: Sequence[Job],
        *,
        live: bool,
        started: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._stream = stream
        self._jobs = jobs
        self._live = live
        self._started = started
        self._clock = clock
        self._shown = False

    def __call__(self, kind: str, job: Job) -> None:
        now = self._clock()
        wait = max(0.0, job.next_at - now)
        if not self._live:
            tail = f", next check in {wait:.1f} s" if kind in WAITING_EVENTS else ""
            if kind in _PROBLEM_EVENTS and job.last_problem:
                tail += f" ({job.last_problem})"
            self._stream.write(
                f"[{now - self._started:7.1f}s] {job.target} "
                f"{job.invalidation_id or '(pending)'} {kind}: {job.status}{tail}\n"
            )
            self._stream.flush()
            return
        # Cut to the terminal's width: a wrapped line could not be rewritten in place.
        width = shutil.get_terminal_size((100, 24)).columns - 1
        self._stream.write(_REWRITE + self.describe(kind, job, now)[:width])
        self._stream.flush()
        self._shown = True

    def describe(self, kind: str, job: Job, now: float) -> str:
        """The live line: what it waits on, how far along, elapsed, next check."""
        done = sum(1 for j in self._jobs if j.status == JobState.COMPLETED)
        name = f"{job.distribution_id} {job.invalidation_id or '(pending)'}"
        event = Event.of(kind)
        if event in (Event.WAITING, Event.SUBMITTED, Event.RESUMED):
            what = f"waiting on {name} ({job.status})"
        elif event is Event.BLOCKED:
            what = f"{name} waits for room under CloudFront's in-progress limit"
        elif event is Event.RETRY:
            what = f"{name}: retrying after {kind.removeprefix(Event.retry(''))}"
        else:
            what = f"{name} {kind}: {job.status}"
        parts = [
            what,
            f"{done}/{len(self._jobs)} completed",
            f"{now - self._started:.0f} s elapsed",
        ]
        if done < len(self._jobs) and event is not Event.FAILED:
            parts.append(f"next check in {max(0.0, job.next_at - now):.1f} s")
        return " · ".join(parts)

    def close(self) -> None:
        """End the live line, so what follows starts on a line of its own."""
        if self._live and self._shown:
            self._stream.write("\n")
            self._stream.flush()
            self._shown = False
