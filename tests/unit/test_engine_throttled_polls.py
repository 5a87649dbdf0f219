"""Status calls under the account's GetInvalidation rate: a throttled poll slows the job's
pace (doubling, capped) instead of backing off exponentially, and the pace eases back."""

from __future__ import annotations

from cloudfront_purge import engine
from tests.support.engine import run, spec
from tests.support.fakes import FakeClock, FakeCloudFront, client_error

THROTTLED = client_error("Throttling", "GetInvalidation", 400, "Rate exceeded")


def test_throttled_polls_double_the_pace_up_to_the_cap_then_ease_back() -> None:
    clock = FakeClock()
    cf = FakeCloudFront(clock, duration=lambda _d, _p: 300.0)
    cf.faults["GetInvalidation"] = [THROTTLED] * 8  # the first 8 status calls
    events: list[str] = []
    result = run(cf, clock, spec(), events=events)
    assert result.status == "Completed"
    gaps = clock.sleeps
    longest_step = max(interval for _until, interval in engine.Timing().poll_steps)
    # After the first look, 8 throttled polls: never sooner than the schedule's 1 s step, at
    # least half the doubled slowdown (2, 4, 8, 8, ...) times it, never beyond the cap.
    throttled = gaps[1:9]
    for gap, slowdown in zip(throttled, (2, 4, 8, 8, 8, 8, 8, 8), strict=True):
        assert slowdown / 2 <= gap <= slowdown * longest_step, throttled
    assert max(gaps) <= engine.POLL_SLOWDOWN_MAX * longest_step * 1.25
    # Answered polls ease the pace back to the schedule's own steps.
    assert gaps[-1] <= longest_step * 1.25
    assert events.count("retry:Throttling") == 8


def test_a_completed_invalidation_is_seen_within_the_capped_pace_not_the_backoff_cap() -> None:
    clock = FakeClock()
    cf = FakeCloudFront(clock, duration=lambda _d, _p: 30.0)
    cf.faults["GetInvalidation"] = [THROTTLED] * 3
    start = clock.now
    result = run(cf, clock, spec())
    job = result.jobs[0]
    assert job.completed_at is not None
    # Three throttles (slowdown 8, the cap) early on, eased while it waits: seen within 10 s, not
    # the 20 s an exponential backoff reaches (Timing.backoff_cap).
    assert job.completed_at - (start + 30.0) <= 10.0


def test_other_transient_errors_keep_the_backoff_and_do_not_slow_the_pace() -> None:
    clock = FakeClock()
    cf = FakeCloudFront(clock, duration=lambda _d, _p: 20.0)
    cf.faults["GetInvalidation"] = [client_error("ServiceUnavailable", "GetInvalidation", 503)] * 2
    result = run(cf, clock, spec())
    assert result.status == "Completed"
    assert result.jobs[0].poll_slowdown == 1.0


def test_a_throttled_create_is_retried_within_the_throttled_cap() -> None:
    clock = FakeClock()
    cf = FakeCloudFront(clock, duration=lambda _d, _p: 5.0)
    cf.faults["CreateInvalidation"] = [client_error("Throttling", "CreateInvalidation", 400, "Rate exceeded")] * 10
    result = run(cf, clock, spec())
    assert result.status == "Completed" and len(cf.invalidations) == 1
    pauses = clock.sleeps[:10]
    assert pauses[:3] == sorted(pauses[:3])  # grows at first (exponential backoff) ...
    cap = engine.THROTTLED_RETRY_CAP_SECONDS
    assert all(p <= cap for p in pauses)  # ... but never past the cap, not backoff_cap's 20 s
    assert all(p >= cap / 2 for p in pauses[5:])  # equal jitter: never in lockstep, never 0
