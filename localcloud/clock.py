"""Clocks the local cloud can run on: real, scaled (a time factor) or moved by hand.

A clock is a callable returning epoch seconds (so it can stand where ``time.time`` stood)
with a ``sleep(seconds)`` in the same seconds. The local CloudFront reads invalidation
status, per-POP eviction moments and cache lifetimes from one clock, so a test that moves
a :class:`ManualClock` sees every rule at once without sleeping, and a benchmark that runs
a :class:`ScaledClock` at factor 0.1 sees a 25 s invalidation and a 10 s error-caching TTL
pass in 2.5 s and 1 s of real time.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol

__all__ = ["Clock", "ManualClock", "RealClock", "ScaledClock"]


class Clock(Protocol):
    """Epoch seconds on call; ``sleep`` waits that many of the clock's own seconds."""

    def __call__(self) -> float:
        """The clock's current time, epoch seconds."""
        ...

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of this clock's time."""
        ...


class RealClock:
    """``time.time`` and ``time.sleep``."""

    def __call__(self) -> float:
        """Now, epoch seconds."""
        return time.time()

    def sleep(self, seconds: float) -> None:
        """Sleep in real time."""
        if seconds > 0:
            time.sleep(seconds)


class ScaledClock:
    """Time that runs ``1 / factor`` times faster than real time, from the moment made.

    ``factor`` is the bench's time factor: at 0.1 one clock second lasts 0.1 real second.
    Readings start at the real epoch time of construction, so they still look like dates.
    """

    def __init__(self, factor: float) -> None:
        """``factor`` > 0: real seconds per clock second."""
        if not factor > 0:
            raise ValueError(f"ScaledClock factor must be > 0 (got {factor!r})")
        self.factor = factor
        self._epoch = time.time()
        self._start = time.monotonic()

    def __call__(self) -> float:
        """Clock time now."""
        return self._epoch + (time.monotonic() - self._start) / self.factor

    def sleep(self, seconds: float) -> None:
        """Sleep ``seconds`` of clock time (``seconds * factor`` real seconds)."""
        if seconds > 0:
            time.sleep(seconds * self.factor)


class ManualClock:
    """A clock that moves only when told to; thread-safe. For tests.

    ``sleep`` advances the clock itself, so code that sleeps between polls runs through
    at once (use it from one thread; several sleeping threads would each advance it).
    """

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        """Start at ``start`` epoch seconds (default: a fixed moment in 2027)."""
        self._now = start
        self._lock = threading.Lock()

    def __call__(self) -> float:
        """Clock time now."""
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> float:
        """Move the clock forward; return the new time."""
        if seconds < 0:
            raise ValueError(f"a clock does not go back (advance by {seconds!r})")
        with self._lock:
            self._now += seconds
            return self._now

    def set(self, when: float) -> None:
        """Move the clock to ``when`` (not backwards)."""
        with self._lock:
            if when < self._now:
                raise ValueError(f"a clock does not go back ({when!r} < {self._now!r})")
            self._now = when

    def sleep(self, seconds: float) -> None:
        """Advance by ``seconds`` instead of waiting."""
        if seconds > 0:
            self.advance(seconds)
