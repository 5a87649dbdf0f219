"""The clocks the local cloud runs on (localcloud/clock.py)."""

from __future__ import annotations

import time

import pytest

from localcloud.clock import ManualClock, ScaledClock


def test_manual_clock_moves_only_forward_and_sleep_advances_it() -> None:
    clock = ManualClock(100.0)
    assert clock() == 100.0
    clock.sleep(2.5)
    assert clock.advance(0.5) == 103.0
    clock.set(110.0)
    with pytest.raises(ValueError, match="does not go back"):
        clock.set(109.0)
    with pytest.raises(ValueError, match="does not go back"):
        clock.advance(-1)


def test_scaled_clock_runs_faster_by_the_time_factor() -> None:
    clock = ScaledClock(0.01)
    start_clock, start_real = clock(), time.monotonic()
    clock.sleep(20.0)  # 0.2 real seconds
    real = time.monotonic() - start_real
    assert 0.2 <= real < 1.0
    assert clock() - start_clock == pytest.approx(real / 0.01, rel=0.01)
    with pytest.raises(ValueError, match="factor must be > 0"):
        ScaledClock(0)
